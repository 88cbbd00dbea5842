//! `certpilot sandbox`: the whole product on loopback, no domain and no Internet needed.
//!
//! - [`world`]: the servers (Pebble, two knot servers, unbound, certpilot's acme-dns server)
//!   and where they listen.
//! - [`procs`]: starting them as child processes, killed on drop.
//! - [`flow`]: the working directory (account, domains, certificates), the headless check,
//!   and removing the sandbox's keyring entries.
//! - [`faults`]: lag, silence, stale values, a broken CNAME, switched on demand.
//! - [`tls`]: Pebble's HTTPS certificate.
//!
//! Nothing touches the user's own configuration: everything lives in a temporary directory,
//! keyring entries are under a service of their own and deleted at exit, and every process is
//! stopped at exit (also on Ctrl-C, SIGTERM and when the dashboard crashes).

pub mod faults;
pub mod flow;
pub mod procs;
pub mod tls;
pub mod world;

use std::path::Path;

pub use faults::Fault;
pub use flow::Runner;
pub use world::{Layout, World};

/// Why the sandbox could not run.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A program the sandbox needs is not installed.
    #[error("{0} is not installed: the sandbox needs pebble, knot (knotd, knotc), unbound and flock; `bash scripts/run.sh sandbox` installs them")]
    Missing(String),
    /// A server did not start.
    #[error("{0}")]
    Start(String),
    /// A file could not be written or read.
    #[error("{path}: {detail}")]
    Io {
        /// The file.
        path: String,
        /// The OS error.
        detail: String,
    },
    /// A step of the flow failed.
    #[error("{step} failed:\n{output}")]
    Step {
        /// The step.
        step: String,
        /// What it printed.
        output: String,
    },
}

impl SandboxError {
    pub(crate) fn io(path: &Path, error: &std::io::Error) -> Self {
        Self::Io {
            path: path.display().to_string(),
            detail: error.to_string(),
        }
    }
}

/// `127.77.N`: a network of this process's own, so that two sandboxes do not meet.
#[must_use]
pub fn network() -> u8 {
    u8::try_from(std::process::id() % 200).unwrap_or(0) + 20
}
