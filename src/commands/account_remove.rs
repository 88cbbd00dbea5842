//! `certpilot account remove NAME [--reassign OTHER]`.
//!
//! Order, so that a crash leaves nothing dangling: the configuration first (certificates
//! moved, the account gone: from then on nothing uses the key), then the key and the public
//! facts. A crash in between leaves an unused keyring entry, never a certificate whose
//! account has no key.

use std::sync::Arc;

use super::{Env, Failure, Outcome};
use crate::ops;

pub(super) async fn remove(env: &mut Env, name: &str, reassign: Option<&str>) -> Outcome {
    let (session, owned, other) = (
        Arc::clone(&env.session),
        name.to_owned(),
        reassign.map(str::to_owned),
    );
    let moved = tokio::task::spawn_blocking(move || {
        ops::account::remove(&session, &owned, other.as_deref())
    })
    .await
    .map_err(|e| Failure::Failed(e.to_string()))??;
    outln!("account {name} removed (its key is deleted; the CA was not told)");
    if let Some(other) = reassign.filter(|_| !moved.is_empty()) {
        outln!(
            "certificate(s) {} now use account {other}",
            moved.join(", ")
        );
    }
    Ok(())
}
