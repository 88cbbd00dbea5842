//! Pure domain logic: no I/O, no async.

pub mod names;
pub mod renewal;
