//! ACME: accounts, the issuance engine, CA problem documents.

pub mod account;
pub mod ari;
pub mod authz;
pub mod ca_client;
pub mod ca_shared;
pub mod caa_check;
pub mod caches;
pub mod challenges;
pub mod engine;
pub mod http;
mod issuance;
pub mod journal;
pub mod jws;
pub mod keys;
pub mod leftovers;
pub mod order;
pub mod problem;
pub mod recovery;
pub mod removal;
pub mod renewal_info;
pub mod run;
pub mod waiting;

pub use engine::issue;
pub use run::{IssueContext, IssueError, IssueOutcome, Progress, Step};
