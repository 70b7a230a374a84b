//! Installing a freshly generated secret file: the setup command's writer.
//!
//! The setup command writes a whole new file, possibly where none existed, so it cannot use
//! [`LockedFile::replace`](crate::os::store::LockedFile::replace) alone, which needs a locked
//! existing file. [`install`] handles both cases with the same guarantees as the module's
//! writer: the new contents go to `<path>~` (claimed as the store describes, so a leftover of
//! a crashed run is removed and never blocks a later one, and a live writer's file is never
//! touched), which gets mode 0400 exactly, is synced and renamed over the path, and the
//! directory is synced.
//! On any failure before the rename the old file is untouched and the temporary file removed.
//!
//! An existing secret file is replaced under the module's exclusive `flock` on it, so a login
//! that is updating the file at the same moment finishes first and is not lost. A symlink, a
//! directory or any other non-regular file at the path is refused, never followed or replaced.
//! When there was no file, the rename refuses to replace one that appeared meanwhile
//! (`RENAME_NOREPLACE`), and the install starts over with the locked path instead.
//!
//! Everything runs with the calling thread's filesystem ids: callers who write for another
//! user switch to that user first (see [`crate::os::fsid`]), so the file belongs to them.

use std::io;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use crate::os::dir::SecretDir;
use crate::os::label;
use crate::os::store::{
    LOCK_TIMEOUT, LockError, OpenedFile, WriteError, WriteStep, Written, create_temp,
    fill_and_close, sync,
};

/// How often an install starts over because the file was replaced or created meanwhile.
const RETRIES: usize = 5;

/// What is at the path before the install.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Existing {
    /// Nothing: a new file will be created.
    Nothing,
    /// A regular file, which will be replaced.
    File,
}

/// Why [`inspect`] or [`install`] refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum InstallError {
    /// The path is a symbolic link; it is neither followed nor replaced.
    #[error("is a symbolic link")]
    Symlink,
    /// The path is a directory.
    #[error("is a directory")]
    Directory,
    /// The path is a FIFO, socket or device.
    #[error("is not a regular file")]
    NotRegular,
    /// Examining the path failed (for example, a missing or unreadable directory).
    #[error("{0}")]
    Inspect(#[source] io::Error),
    /// Another process held the lock on the existing file for the whole wait.
    #[error("timed out waiting for the lock on the existing file")]
    LockTimedOut,
    /// Locking the existing file failed.
    #[error("locking the existing file failed: {0}")]
    Lock(#[source] io::Error),
    /// The file kept being replaced by others while this install tried to take it over.
    #[error("the file kept changing while it was being replaced")]
    Busy,
    /// The directory was moved or replaced (for example by a symlink) during the install.
    #[error("its directory changed while the file was being replaced")]
    DirectoryChanged,
    /// Writing failed; see [`WriteError`] for the step. Before [`WriteStep::SyncDir`] the old
    /// file (if any) is untouched and the temporary file is removed.
    #[error("{0}")]
    Write(#[from] WriteError),
}

/// Says what is at `path` without following a symlink, refusing anything but a regular file
/// or nothing at all.
pub fn inspect(path: &Path) -> Result<Existing, InstallError> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) => {
            let kind = meta.file_type();
            if kind.is_symlink() {
                Err(InstallError::Symlink)
            } else if kind.is_dir() {
                Err(InstallError::Directory)
            } else if kind.is_file() {
                Ok(Existing::File)
            } else {
                debug_assert!(
                    kind.is_fifo()
                        || kind.is_socket()
                        || kind.is_block_device()
                        || kind.is_char_device()
                );
                Err(InstallError::NotRegular)
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Existing::Nothing),
        Err(e) => Err(InstallError::Inspect(e)),
    }
}

/// Writes `contents` as the new file at `path`, durably and atomically (see the module
/// documentation).
pub fn install(path: &Path, contents: &[u8]) -> Result<Written, InstallError> {
    for _ in 0..RETRIES {
        match inspect(path)? {
            Existing::File => match replace_existing(path, contents) {
                Err(InstallError::Lock(e)) if e.kind() == io::ErrorKind::NotFound => {}
                Ok(None) => {}
                Ok(Some(done)) => return Ok(done),
                Err(e) => return Err(e),
            },
            Existing::Nothing => {
                if let Some(done) = create_new(path, contents)? {
                    return Ok(done);
                }
            }
        }
    }
    Err(InstallError::Busy)
}

/// Replaces the regular file at `path` under its lock; `None` when it was replaced or removed
/// meanwhile and the caller should start over.
fn replace_existing(path: &Path, contents: &[u8]) -> Result<Option<Written>, InstallError> {
    let opened = match OpenedFile::open(path) {
        Ok(opened) => opened,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return Err(InstallError::Symlink),
        Err(e) => return Err(InstallError::Lock(e)),
    };
    if !opened.is_regular() {
        return Err(InstallError::NotRegular);
    }
    let locked = match opened.lock(LOCK_TIMEOUT) {
        Ok(locked) => locked,
        Err(LockError::Replaced) => return Ok(None),
        Err(LockError::DirectoryReplaced) => return Err(InstallError::DirectoryChanged),
        Err(LockError::TimedOut) => return Err(InstallError::LockTimedOut),
        Err(LockError::Io(e)) => return Err(InstallError::Lock(e)),
    };
    Ok(Some(locked.replace(contents)?))
}

/// Creates the file at `path`, where there was none; `None` when one appeared meanwhile.
fn create_new(path: &Path, contents: &[u8]) -> Result<Option<Written>, InstallError> {
    // A missing directory is reported as the original reports it: at the temporary file.
    let (dir, name) = SecretDir::of(path).map_err(|error| WriteError {
        step: WriteStep::CreateTemp,
        error,
        temp: Some(PathBuf::from(format!("{}~", path.display()))),
        unlink_error: None,
    })?;
    let (temp, file, claim) = create_temp(&dir, &name).map_err(|(error, temp)| WriteError {
        step: WriteStep::CreateTemp,
        error,
        temp,
        unlink_error: None,
    })?;
    // A first file gets auth_home_t where SELinux is enabled.
    let label_error = label::prepare(&file, None).err();
    let written = fill_and_close(file, contents).and_then(|()| {
        dir.rename(&temp, &name, true)
            .map_err(|e| (WriteStep::Rename, e))
    });
    match written {
        Ok(()) => {
            drop(claim);
            let durability = sync(&dir).map_err(InstallError::Write)?;
            Ok(Some(Written {
                durability,
                label_error,
            }))
        }
        Err((step, error)) => {
            // Still claimed, so the name is ours to remove.
            let unlink_error = dir.remove(&temp).err();
            drop(claim);
            if step == WriteStep::Rename
                && error.kind() == io::ErrorKind::AlreadyExists
                && unlink_error.is_none()
            {
                return Ok(None);
            }
            Err(InstallError::Write(WriteError {
                step,
                error,
                temp: Some(dir.display_path(&temp)),
                unlink_error,
            }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::CString;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    use std::time::Duration;

    fn listing(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn creates_a_new_file_with_mode_0400() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        let _ = install(&path, b"NEW\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"NEW\n");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o400);
        assert_eq!(listing(dir.path()), ["secret"]);
    }

    #[test]
    fn replaces_an_existing_file_and_removes_a_stale_temp() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, b"OLD\n").unwrap();
        std::fs::write(dir.path().join("secret~"), b"stale").unwrap();
        let _ = install(&path, b"NEW\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"NEW\n");
        assert_eq!(listing(dir.path()), ["secret"]);
        // Also when there was no file yet.
        std::fs::remove_file(&path).unwrap();
        std::fs::write(dir.path().join("secret~"), b"stale").unwrap();
        let _ = install(&path, b"FIRST\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"FIRST\n");
        assert_eq!(listing(dir.path()), ["secret"]);
    }

    #[test]
    fn refuses_symlinks_directories_and_fifos() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("target");
        std::fs::write(&target, b"OLD\n").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        assert!(matches!(install(&link, b"X"), Err(InstallError::Symlink)));
        assert_eq!(std::fs::read(&target).unwrap(), b"OLD\n");
        assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());

        assert!(matches!(
            install(dir.path(), b"X"),
            Err(InstallError::Directory)
        ));

        let fifo = dir.path().join("fifo");
        let c = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: a test helper: `c` is a valid NUL-terminated path for the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        assert!(matches!(
            install(&fifo, b"X"),
            Err(InstallError::NotRegular)
        ));
        assert_eq!(listing(dir.path()), ["fifo", "link", "target"]);
    }

    #[test]
    fn a_missing_directory_fails_at_creating_the_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("missing").join("secret");
        match install(&path, b"X") {
            Err(InstallError::Write(e)) => {
                assert_eq!(e.step, WriteStep::CreateTemp);
                assert_eq!(e.error.kind(), io::ErrorKind::NotFound);
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn waits_for_the_modules_lock() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, b"OLD\n").unwrap();
        let held = OpenedFile::open(&path)
            .unwrap()
            .lock(Duration::from_secs(1))
            .unwrap();
        let writer = {
            let path = path.clone();
            std::thread::spawn(move || install(&path, b"NEW\n").map(|_| ()))
        };
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(std::fs::read(&path).unwrap(), b"OLD\n");
        drop(held);
        writer.join().unwrap().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"NEW\n");
    }
}
