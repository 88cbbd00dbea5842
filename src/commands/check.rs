//! `certpilot check` (being built: propagation checker issue).

use super::{Env, Failure, Outcome};
use crate::cli::CheckArgs;

pub(super) async fn run(_env: &Env, _args: CheckArgs) -> Outcome {
    Err(Failure::Failed(
        "`certpilot check` is not available yet".into(),
    ))
}
