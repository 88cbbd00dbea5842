//! `certpilot.toml`: model, loading with precise errors, validation, atomic saving.

mod accounts;
pub mod certs_json;
mod model;
mod store;

pub use model::{
    AccountConfig, AcmeDnsRegistration, CertConfig, Config, DomainConfig, ExportConfig,
    ExportLayout, KeyType, Settings,
};
pub use store::{load, parse, save, ConfigError};
