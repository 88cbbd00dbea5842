//! The certificate profiles each account's CA offers, for the certificate editor: read by
//! [`crate::ops::profiles::load_all`], the same reading `cert add --profile` checks against.

pub use crate::ops::profiles::Offered;
