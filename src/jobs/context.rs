//! What jobs work with: the [`Session`] both front ends share (paths, the command-line
//! overrides folded into the config by [`Session::config`], the keyring). Jobs fold nothing
//! themselves.

pub use crate::session::Session as Context;

/// Run a blocking closure on tokio's blocking pool, keeping the caller's tracing dispatcher
/// (so its events reach the log pane too). A panic becomes an error message.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, String> + Send + 'static,
) -> Result<T, String> {
    let dispatch = tracing::dispatcher::get_default(Clone::clone);
    tokio::task::spawn_blocking(move || tracing::dispatcher::with_default(&dispatch, f))
        .await
        .unwrap_or_else(|e| Err(format!("background task failed: {e}")))
}
