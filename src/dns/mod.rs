//! DNS: seeing whether challenge records are visible.

pub mod visibility;
