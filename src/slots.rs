//! Process-wide bounds on concurrent work: one semaphore per key (a hook bound), shared by
//! every caller that names the same key. (A CA's bounds live in `acme::ca_shared`, with the
//! rest of what is shared per CA.)

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::sync::Semaphore;

/// Semaphores by key, created on first use; meant for a `static`.
pub struct Slots<K> {
    map: OnceLock<Mutex<HashMap<K, Arc<Semaphore>>>>,
}

impl<K: Eq + Hash> Slots<K> {
    /// No semaphores yet.
    #[must_use]
    pub const fn new() -> Self {
        Self {
            map: OnceLock::new(),
        }
    }

    /// The semaphore of `key`; the first caller sets its size (at least one permit).
    pub fn get(&self, key: K, size: usize) -> Arc<Semaphore> {
        let mut map = self
            .map
            .get_or_init(Mutex::default)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        Arc::clone(
            map.entry(key)
                .or_insert_with(|| Arc::new(Semaphore::new(size.max(1)))),
        )
    }
}

impl<K: Eq + Hash> Default for Slots<K> {
    fn default() -> Self {
        Self::new()
    }
}
