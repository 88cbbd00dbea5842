//! What jobs work with: the [`Session`] both front ends share (paths, the command-line
//! overrides folded into the config by [`Session::config`], the keyring). Jobs fold nothing
//! themselves.

pub use crate::session::Session as Context;
