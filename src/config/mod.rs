//! `certpilot.toml`: model, loading with precise errors, validation, atomic saving.

mod accounts;
pub mod certs_json;
mod model;
mod store;

pub use model::{
    AccountConfig, AcmeDnsRegistration, CertConfig, Config, DomainConfig, ExportConfig,
    ExportLayout, KeyType, Settings,
};
pub use model::{DEFAULT_CA_MAX_RATE, DEFAULT_CA_MAX_REQUESTS, DEFAULT_HOOK_PROCESSES};
pub use store::{load, parse, save, ConfigError};
