//! DNS: seeing whether challenge records are visible, and where they are not.
//!
//! - [`zone`]: zone cut and authoritative servers of a name (every address, glue first),
//!   found through the resolvers, following referrals (`referral`).
//! - [`query`]: one question to one address (no cache, UDP then TCP, bounded waits).
//! - [`probe`]: what one address serves, classified (`match`, `missing`, `timeout`, ...).
//! - [`propagation`]: one check round over many names, CNAME paths followed, streamed.
//! - [`report`], [`hints`]: the round's report, its verdict and mistake hints.
//! - [`expect`]: what must be served where, from an order or a certificate's names.
//! - [`waiter`]: the `--propagation` modes, and waiting with backoff for issuance.
//! - [`visibility`]: the configured resolvers' view (the `recursive` mode).
//! - [`chain`]: the end of a challenge name's CNAME chain, where solvers write.
//! - [`delegation`]: the parent's referral and the zone's own NS RRset, asked directly, so
//!   parent-only, child-only and lame servers are checked and named.
//! - [`horizon`]: the cache horizon: until when a CA's resolver may still hold a previous
//!   answer for a challenge name (from the ledger of validations certpilot caused).
//! - [`parent`]: the one-time NS and glue records a self-hosted challenge zone needs in its
//!   parent zone, and their check on every parent server (the TUI's acme-dns server screen).

pub mod caa;
pub mod chain;
pub mod delegation;
pub mod expect;
pub mod hints;
pub mod horizon;
pub mod parent;
pub mod probe;
pub mod propagation;
pub mod query;
mod referral;
pub mod report;
pub mod visibility;
pub mod waiter;
pub mod zone;

pub use expect::Expectation;
pub use propagation::Prober;
pub use report::{ProbeEvent, PropagationReport};
pub use waiter::{Mode, WaitError, Waiter};
