//! ACME: accounts, the issuance engine, CA problem documents.

pub mod account;
pub mod engine;
pub mod http;
pub mod keys;
pub mod order;
pub mod problem;

pub use engine::{issue, IssueContext, IssueError, IssueOutcome, Progress, Step};
