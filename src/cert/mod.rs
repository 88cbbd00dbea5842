//! Certificates on disk: x509 inspection and the `certificates/<name>/` store.

pub mod inspect;
pub mod store;
