//! Reading and writing the config file.
//!
//! A malformed file is reported with its path, line and column and is never overwritten:
//! [`save`] is only reachable with a `Config` that was parsed (or built) successfully.

use std::io;
use std::path::{Path, PathBuf};

use super::Config;
use crate::fsutil::{self, Mode};

/// Why the config could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file is not valid TOML or does not match the model.
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A value is well-formed TOML but makes no sense (unknown account, invalid name, ...).
    #[error("{path}: {message}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The file is there but is no config the operator can have meant: not UTF-8, a
    /// directory, a path through a file, or not readable by this user (bad input, exit 2).
    #[error("{path}: {reason}")]
    Unreadable {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        reason: String,
    },
    /// The file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// Load the config; a missing file is an empty config.
///
/// # Errors
///
/// When the file exists but cannot be read, or does not parse (see [`parse`]).
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Config::default()),
        Err(source) => return Err(read_error(path, source)),
    };
    parse(path, &text)
}

/// A read error: the operator's doing (exit 2) when the path itself is wrong, else I/O.
fn read_error(path: &Path, source: io::Error) -> ConfigError {
    let reason = match source.kind() {
        io::ErrorKind::InvalidData => {
            "not UTF-8 text; save the config as UTF-8 (TOML requires it)".to_owned()
        }
        io::ErrorKind::IsADirectory => "is a directory, not a config file".to_owned(),
        io::ErrorKind::NotADirectory => {
            "a part of this path is a file, not a directory (check --dir / CERTPILOT_DIR)"
                .to_owned()
        }
        io::ErrorKind::PermissionDenied => {
            format!("cannot be read ({source}); check its owner and permissions")
        }
        _ => {
            return ConfigError::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    };
    ConfigError::Unreadable {
        path: path.to_path_buf(),
        reason,
    }
}

/// Parse config text; `path` is only used in messages.
///
/// # Errors
///
/// When the text is not valid TOML or does not match the config's schema; the error
/// carries the line and column.
pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
    let config: Config = toml::from_str(text).map_err(|e| {
        let (line, column) = e.span().map_or((1, 1), |span| line_col(text, span.start));
        ConfigError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message: e.message().trim().to_owned(),
        }
    })?;
    validate(&config).map_err(|message| ConfigError::Invalid {
        path: path.to_path_buf(),
        message,
    })?;
    Ok(config)
}

/// Save atomically (0600: the file names accounts and hooks, which is nobody else's business).
///
/// # Errors
///
/// When the config cannot be serialized or the file cannot be written.
pub fn save(path: &Path, config: &Config) -> Result<(), ConfigError> {
    let text = toml::to_string_pretty(config).map_err(|e| ConfigError::Invalid {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    fsutil::write_atomic(path, text.as_bytes(), Mode::Private).map_err(|source| ConfigError::Io {
        path: path.to_path_buf(),
        source,
    })
}

/// Cross-references serde cannot check.
fn validate(config: &Config) -> Result<(), String> {
    for (name, cert) in &config.certificates {
        crate::domain::names::validate_cert_name(name).map_err(|e| e.to_string())?;
        if let Some(account) = &cert.account {
            if !config.accounts.contains_key(account) {
                return Err(format!(
                    "certificate {name:?} uses account {account:?}, which is not configured"
                ));
            }
        }
        crate::domain::names::normalize_set(&cert.names)
            .map_err(|e| format!("certificate {name:?}: {e}"))?;
    }
    for domain in config.domains.keys() {
        crate::domain::names::normalize(domain)
            .map_err(|e| format!("[domains.{domain:?}]: {e}"))?;
    }
    for (name, account) in &config.accounts {
        crate::domain::names::validate_cert_name(name).map_err(|e| e.to_string())?;
        if !account.directory.starts_with("https://") {
            return Err(format!(
                "account {name:?}: directory {:?} must be an https:// URL",
                account.directory
            ));
        }
    }
    Ok(())
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before
        .rfind('\n')
        .map_or(before.len(), |nl| before.len() - nl - 1)
        + 1;
    (line, column)
}
