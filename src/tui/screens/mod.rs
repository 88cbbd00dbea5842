//! Per-screen state and pure handlers, one file per screen; `update` dispatches to them.

pub mod account;
pub mod accounts;
pub mod acmedns;
pub mod dashboard;
pub mod detail;
pub mod domains;
pub mod editor;
pub mod issuance;
pub mod jobs;
pub mod palette;
pub mod profiles;
pub mod propagation;
pub mod provider;
pub mod sandbox;
pub mod server;
pub mod sort;
pub mod urgency;
