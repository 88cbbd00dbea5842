//! Where certpilot keeps its state.
//!
//! Two layouts: the XDG config/data directories (the default), or one self-contained working
//! directory chosen with `--dir` / `CERTPILOT_DIR` (dnscontrol's `get-certs` style).

use std::path::{Path, PathBuf};

/// Resolved locations of every file certpilot reads or writes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `certpilot.toml`
    pub config_file: PathBuf,
    /// `certificates/`, one folder per certificate
    pub certificates: PathBuf,
    /// `accounts/`, public account metadata
    pub accounts: PathBuf,
    /// Where the log file and locks go.
    pub state: PathBuf,
    /// The config directory (user theme overrides live here).
    pub config_dir: PathBuf,
}

/// No home directory could be found and no `--dir` was given.
#[derive(Debug, thiserror::Error)]
#[error("cannot find a home directory for certpilot's state; pass --dir DIR or set CERTPILOT_DIR")]
pub struct NoHomeError;

impl Paths {
    /// The working-directory layout: everything below `dir`.
    #[must_use]
    pub fn working_dir(dir: &Path) -> Self {
        Self {
            config_file: dir.join("certpilot.toml"),
            certificates: dir.join("certificates"),
            accounts: dir.join("accounts"),
            state: dir.join("state"),
            config_dir: dir.to_path_buf(),
        }
    }

    /// The XDG layout from `directories`.
    ///
    /// # Errors
    ///
    /// When no home directory can be found.
    pub fn xdg() -> Result<Self, NoHomeError> {
        let dirs = directories::ProjectDirs::from("", "", "certpilot").ok_or(NoHomeError)?;
        let data = dirs.data_dir();
        Ok(Self {
            config_file: dirs.config_dir().join("certpilot.toml"),
            certificates: data.join("certificates"),
            accounts: data.join("accounts"),
            state: dirs.state_dir().unwrap_or(data).to_path_buf(),
            config_dir: dirs.config_dir().to_path_buf(),
        })
    }

    /// `--dir` wins; otherwise XDG.
    ///
    /// # Errors
    ///
    /// When no `--dir` is given and no home directory can be found.
    pub fn resolve(dir: Option<&Path>) -> Result<Self, NoHomeError> {
        match dir {
            Some(dir) => Ok(Self::working_dir(dir)),
            None => Self::xdg(),
        }
    }

    /// The log file.
    #[must_use]
    pub fn log_file(&self) -> PathBuf {
        self.state.join("certpilot.log")
    }

    /// `certificates/<name>/`
    #[must_use]
    pub fn cert_dir(&self, name: &str) -> PathBuf {
        self.certificates.join(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn working_dir_layout_matches_dnscontrol() {
        let p = Paths::working_dir(Path::new("/w"));
        assert_eq!(p.config_file, Path::new("/w/certpilot.toml"));
        assert_eq!(p.cert_dir("web"), Path::new("/w/certificates/web"));
        assert_eq!(p.accounts, Path::new("/w/accounts"));
    }
}
