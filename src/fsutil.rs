//! Atomic file writes and private permissions.
//!
//! Every file certpilot writes goes through [`write_atomic`]: a crash leaves either the old
//! content or the new one, never half of either.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::Path;

#[cfg(unix)]
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};

/// How visible a written file may be to other local users.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// 0600: anything that could help an attacker (keys on export, metadata we consider private).
    Private,
    /// 0644: certificates and other public material.
    Public,
}

impl Mode {
    #[cfg(unix)]
    fn bits(self) -> u32 {
        match self {
            Mode::Private => 0o600,
            Mode::Public => 0o644,
        }
    }
}

/// Create `dir` and its parents with mode 0700 (existing directories are left as they are).
///
/// # Errors
///
/// When a directory cannot be created or its mode cannot be set.
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    builder.mode(0o700);
    builder.create(dir)
}

/// Write `data` to `path` atomically: a temp file in the same directory, fsync, rename, then
/// fsync of the directory so the rename itself survives a power cut.
///
/// # Errors
///
/// When the temp file cannot be created, written or synced, or the rename fails.
pub fn write_atomic(path: &Path, data: &[u8], mode: Mode) -> io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or_else(|| Path::new("."));
    create_private_dir(dir)?;
    let file_name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}-{}",
        file_name.to_string_lossy(),
        std::process::id(),
        unique_suffix()
    ));
    let result = write_then_rename(&tmp, path, data, mode);
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_dir(dir)
}

/// Run blocking file work (reads, [`write_atomic`]'s fsyncs) on tokio's blocking pool, so an
/// async caller does not stall a worker thread that other jobs (parallel renewals, the TUI)
/// share. `f` keeps its own error type: this only changes the thread it runs on.
///
/// # Panics
/// Re-raises a panic of `f`, as calling it inline would; panics if the runtime shut down
/// before `f` could run (nothing awaits the result then).
pub async fn blocking_io<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    match tokio::task::spawn_blocking(f).await {
        Ok(value) => value,
        Err(e) => match e.try_into_panic() {
            Ok(payload) => std::panic::resume_unwind(payload),
            Err(e) => panic!("blocking file work did not run: {e}"),
        },
    }
}

fn write_then_rename(tmp: &Path, path: &Path, data: &[u8], mode: Mode) -> io::Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(mode.bits());
    let mut file = options.open(tmp)?;
    file.write_all(data)?;
    #[cfg(unix)]
    file.set_permissions(fs::Permissions::from_mode(mode.bits()))?;
    file.sync_all()?;
    drop(file);
    fs::rename(tmp, path)
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        File::open(dir)?.sync_all()?;
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

fn unique_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos()));
    nanos ^ (COUNTER.fetch_add(1, Ordering::Relaxed) << 32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_replace_content_and_leave_no_temp_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/file.txt");
        write_atomic(&path, b"one", Mode::Public).unwrap();
        write_atomic(&path, b"two", Mode::Private).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let names: Vec<_> = fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("file.txt")]);
    }

    #[cfg(unix)]
    #[test]
    fn private_files_and_dirs_get_owner_only_modes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p/key.pem");
        write_atomic(&path, b"k", Mode::Private).unwrap();
        let file_mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        let dir_mode = fs::metadata(path.parent().unwrap())
            .unwrap()
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(file_mode, 0o600);
        assert_eq!(dir_mode, 0o700);
    }
}
