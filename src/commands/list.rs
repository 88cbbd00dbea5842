//! `certpilot list [--json]`.

use super::{Env, Failure, Outcome};
use crate::inventory;

pub(super) fn run(env: &Env, json: bool) -> Outcome {
    let now = time::OffsetDateTime::now_utc();
    let rows = inventory::load(&env.paths, &env.config, now)
        .map_err(|e| Failure::Failed(e.to_string()))?;
    if json {
        let text =
            serde_json::to_string_pretty(&rows).map_err(|e| Failure::Failed(e.to_string()))?;
        outln!("{text}");
        return Ok(());
    }
    if rows.is_empty() {
        outln!("no certificates; add one with: certpilot cert add NAME --name example.com");
        return Ok(());
    }
    out!("{}", inventory::table(&rows));
    for note in super::leftovers::notes(env) {
        outln!("note: {note}");
    }
    Ok(())
}
