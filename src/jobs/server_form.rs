//! What the acme-dns server form held when a server was last started, kept in the state
//! directory so the form opens with it next time (written atomically, read once when the UI
//! starts). Nothing secret is in it.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::server::ServerRequest;
use crate::fsutil::{write_atomic, Mode};

/// The file in the state directory.
pub const FILE_NAME: &str = "acme-dns-server-form.json";

#[derive(Debug, Serialize, Deserialize)]
struct Saved {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    config_file: Option<PathBuf>,
    zone: String,
    nameserver: String,
    address: String,
    dns_listen: String,
    http_listen: String,
}

/// The settings saved in `state_dir`, if any (an unreadable file counts as none, logged).
#[must_use]
pub fn load(state_dir: &Path) -> Option<ServerRequest> {
    let path = state_dir.join(FILE_NAME);
    let text = std::fs::read_to_string(&path).ok()?;
    match serde_json::from_str::<Saved>(&text) {
        Ok(saved) => Some(ServerRequest {
            config_file: saved.config_file,
            zone: saved.zone,
            nameserver: saved.nameserver,
            address: saved.address,
            dns_listen: saved.dns_listen,
            http_listen: saved.http_listen,
        }),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "acme-dns server form not restored");
            None
        }
    }
}

/// Save `request` in `state_dir`.
///
/// # Errors
/// The directory or the file could not be written.
pub fn save(state_dir: &Path, request: &ServerRequest) -> std::io::Result<()> {
    let saved = Saved {
        config_file: request.config_file.clone(),
        zone: request.zone.clone(),
        nameserver: request.nameserver.clone(),
        address: request.address.clone(),
        dns_listen: request.dns_listen.clone(),
        http_listen: request.http_listen.clone(),
    };
    let text = serde_json::to_string_pretty(&saved).map_err(std::io::Error::other)?;
    std::fs::create_dir_all(state_dir)?;
    write_atomic(&state_dir.join(FILE_NAME), text.as_bytes(), Mode::Private)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_round_trip_and_a_bad_file_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(load(dir.path()), None);
        let request = ServerRequest {
            config_file: None,
            zone: "acme.example.com".into(),
            nameserver: "ns1.acme.example.com".into(),
            address: "192.0.2.53".into(),
            dns_listen: "0.0.0.0:53".into(),
            http_listen: "127.0.0.1:8053".into(),
        };
        save(&dir.path().join("state"), &request).unwrap();
        assert_eq!(load(&dir.path().join("state")), Some(request));
        std::fs::write(dir.path().join(FILE_NAME), "{not json").unwrap();
        assert_eq!(load(dir.path()), None);
    }
}
