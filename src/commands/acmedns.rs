//! `certpilot acme-dns ...` (being built: acme-dns issue).

use super::{Env, Failure, Outcome};
use crate::cli::AcmeDnsCommand;

pub(super) async fn run(_env: &mut Env, _cmd: AcmeDnsCommand) -> Outcome {
    Err(Failure::Failed(
        "`certpilot acme-dns` is not available yet".into(),
    ))
}
