//! Pure domain logic: no I/O, no async.

pub mod caa;
pub mod names;
pub mod renewal;
