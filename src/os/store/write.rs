//! The durable, atomic rewrite: a new file next to the secret, synced, renamed over it, and
//! the directory synced. `os::install` borrows its steps.

use std::fs::{File, Permissions};
use std::io::{self, Write};
use std::os::fd::IntoRawFd;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use super::REWRITTEN_MODE;
use super::lock::LockedFile;
use super::temp::create_temp;
use crate::os::dir::SecretDir;
use crate::os::label;

/// The step of [`LockedFile::replace`] that failed, for upstream's per-step log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteStep {
    /// Creating the temporary file or setting its mode (`Failed to create tempfile "%s": %s`).
    CreateTemp,
    /// Writing the new contents (`write(): %s`).
    Write,
    /// `fsync` of the temporary file (`fsync(): %s`).
    Fsync,
    /// `close` of the temporary file (`close(): %s`).
    Close,
    /// Renaming the temporary file over the secret file (`rename(): %s`).
    Rename,
    /// Opening or syncing the directory after the rename. The new contents are in place but
    /// may not survive a crash.
    SyncDir,
}

impl std::fmt::Display for WriteStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            WriteStep::CreateTemp => "creating the temporary file",
            WriteStep::Write => "write()",
            WriteStep::Fsync => "fsync()",
            WriteStep::Close => "close()",
            WriteStep::Rename => "rename()",
            WriteStep::SyncDir => "syncing the directory",
        })
    }
}

/// A failed [`LockedFile::replace`].
///
/// For every step before [`WriteStep::SyncDir`] the secret file is untouched and the temporary
/// file has been removed (or `unlink_error` says why it could not be).
#[derive(Debug, thiserror::Error)]
#[error("{step}: {error}")]
pub struct WriteError {
    /// What failed.
    pub step: WriteStep,
    /// The error from that step; its errno picks the message shown to the user.
    #[source]
    pub error: io::Error,
    /// The temporary file: the one created, or for [`WriteStep::CreateTemp`] the last name
    /// tried. `None` once it has become the secret file.
    pub temp: Option<PathBuf>,
    /// Why the temporary file could not be removed after the failure, if it could not.
    pub unlink_error: Option<io::Error>,
}

/// How durable a successful [`LockedFile::replace`] is.
#[derive(Debug)]
#[must_use = "a directory that could not be synced is worth a log line"]
pub enum Durability {
    /// The new file and the directory entry pointing to it are on stable storage.
    Synced,
    /// The new contents are in place and the file itself is synced, but the directory could
    /// not be opened for reading (EACCES: the user may write but not list it) or does not
    /// support `fsync` (EINVAL), so a crash could still bring back the old file.
    DirectoryNotSynced(io::Error),
}

/// A successful [`LockedFile::replace`]: how durable it is, and whether the new file got the
/// SELinux label it needs (see [`crate::os::label`]).
#[derive(Debug)]
#[must_use = "an unsynced directory or a lost label is worth a log line"]
pub struct Written {
    /// Whether the rename is on stable storage.
    pub durability: Durability,
    /// Why the new file could not be given the old file's label (or `auth_home_t`), if it
    /// could not. The contents are in place all the same.
    pub label_error: Option<io::Error>,
}

impl LockedFile {
    /// Replaces the secret file with `contents`, durably and atomically.
    ///
    /// Writes `<path>~` in the same directory (mode exactly 0400, owned by the current
    /// fsuid/fsgid, with the SELinux label of the file it replaces; claimed as
    /// [`TempClaim`](super::TempClaim) describes), syncs it, renames it over `path` and syncs
    /// the directory. On a failure before the rename, the secret file is untouched and the
    /// temporary file is removed.
    ///
    /// The lock is consumed and released when this returns: after the rename `path` names a
    /// new, unlocked file that another login may already have locked, so this lock guards
    /// nothing any more, and a second replace under it cannot be written.
    pub fn replace(self, contents: &[u8]) -> Result<Written, WriteError> {
        let label_error = self.write_and_rename(contents)?;
        Ok(Written {
            durability: sync(&self.opened.dir)?,
            label_error,
        })
    }

    /// Writes the temporary file and renames it over the path; cleans up on failure. Gives
    /// the reason the label could not be carried over, if it could not.
    fn write_and_rename(&self, contents: &[u8]) -> Result<Option<io::Error>, WriteError> {
        let (dir, name) = (&self.opened.dir, &self.opened.name);
        let (temp, file, claim) = create_temp(dir, name).map_err(|(error, temp)| WriteError {
            step: WriteStep::CreateTemp,
            error,
            temp,
            unlink_error: None,
        })?;
        let label_error = label::get(&self.opened.file)
            .and_then(|old| label::prepare(&file, old.as_deref()))
            .err();
        let written = fill_and_close(file, contents).and_then(|()| {
            dir.rename(&temp, name, false)
                .map_err(|e| (WriteStep::Rename, e))
        });
        let Err((step, error)) = written else {
            drop(claim);
            return Ok(label_error);
        };
        // Still claimed, so the name is ours to remove.
        let unlink_error = dir.remove(&temp).err();
        drop(claim);
        Err(WriteError {
            step,
            error,
            temp: Some(dir.display_path(&temp)),
            unlink_error,
        })
    }
}

/// Sets the new file's mode, writes `contents`, syncs and closes it, checking every step.
pub(in crate::os) fn fill_and_close(
    mut file: File,
    contents: &[u8],
) -> Result<(), (WriteStep, io::Error)> {
    // The mode given to open() was reduced by the umask; fchmod makes it exact without
    // touching the process-wide umask.
    file.set_permissions(Permissions::from_mode(REWRITTEN_MODE))
        .map_err(|e| (WriteStep::CreateTemp, e))?;
    // write_all continues after short writes and EINTR.
    file.write_all(contents)
        .map_err(|e| (WriteStep::Write, e))?;
    file.sync_all().map_err(|e| (WriteStep::Fsync, e))?;
    close(file).map_err(|e| (WriteStep::Close, e))
}

/// Closes `file`, reporting the error that dropping a `File` would ignore (NFS reports some
/// write errors only here).
fn close(file: File) -> io::Result<()> {
    let fd = file.into_raw_fd();
    // SAFETY: `fd` was just released from the `File`, so it is open and owned by nobody else;
    // it is closed exactly once, here. On Linux the descriptor is released even on error, so
    // it is never closed again.
    let rc = unsafe { libc::close(fd) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Syncs `dir`, so a rename in it survives a crash.
pub(in crate::os) fn sync(dir: &SecretDir) -> Result<Durability, WriteError> {
    match dir.sync() {
        Ok(None) => Ok(Durability::Synced),
        // Searchable but not readable, or a file system that cannot sync directories: no
        // reason to fail a login.
        Ok(Some(e)) => Ok(Durability::DirectoryNotSynced(e)),
        Err(error) => Err(WriteError {
            step: WriteStep::SyncDir,
            error,
            temp: None,
            unlink_error: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::store::test_support::*;
    use crate::os::store::{OpenedFile, PermPolicy};
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    #[test]
    fn replace_writes_a_new_read_only_file() {
        let (dir, path) = secret(0o600);
        let before = std::fs::symlink_metadata(&path).unwrap();
        let locked = open_locked(&path);
        assert_eq!(locked.path(), path);
        assert_eq!(&locked.read_contents().unwrap()[..], SECRET);
        let durability = locked.replace(b"NEW CONTENTS\n").unwrap().durability;
        assert!(matches!(durability, Durability::Synced));

        assert_eq!(std::fs::read(&path).unwrap(), b"NEW CONTENTS\n");
        let after = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!(after.mode() & 0o7777, REWRITTEN_MODE);
        assert_eq!(after.uid(), my_uid());
        assert_ne!(after.ino(), before.ino());
        assert!(leftovers(dir.path()).is_empty());

        // The rewritten file passes the default checks and can be rewritten again.
        let locked = open_locked(&path);
        assert_eq!(locked.check(PermPolicy::DEFAULT, Some(my_uid())), Ok(()));
        let _ = locked.replace(b"THIRD\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"THIRD\n");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn replace_works_through_a_relative_path() {
        // Relative to the working directory, which tests share and never change.
        let dir = tempfile::tempdir_in(".").unwrap();
        let name = dir.path().file_name().unwrap();
        let path = Path::new(name).join("secret");
        write_file(&path, SECRET, 0o600);
        let locked = open_locked(&path);
        let _ = locked.replace(b"relative\n").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"relative\n");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_failed_rename_leaves_the_original_and_no_temp_file() {
        let (dir, path) = secret(0o600);
        let locked = open_locked(&path);
        // Turn the path into a non-empty directory: the rename then fails (EISDIR).
        std::fs::remove_file(&path).unwrap();
        std::fs::create_dir(&path).unwrap();
        std::fs::write(path.join("keep"), b"x").unwrap();
        let error = locked.replace(b"new\n").unwrap_err();
        assert_eq!(error.step, WriteStep::Rename);
        assert_eq!(error.error.raw_os_error(), Some(libc::EISDIR));
        assert!(error.unlink_error.is_none());
        let temp = error.temp.unwrap();
        assert!(
            temp.as_os_str()
                .as_bytes()
                .starts_with(path.as_os_str().as_bytes())
        );
        assert!(!temp.exists());
        assert!(leftovers(dir.path()).is_empty());
        assert_eq!(std::fs::read(path.join("keep")).unwrap(), b"x");
    }

    #[test]
    fn replace_in_a_read_only_directory_leaves_the_original() {
        let (dir, path) = secret(0o600);
        std::fs::set_permissions(dir.path(), Permissions::from_mode(0o500)).unwrap();
        if modes_are_overridden(dir.path()) {
            // Running with root's file capabilities: the directory mode does not stop us. The
            // ignored root test below covers this case by dropping to another user.
            std::fs::set_permissions(dir.path(), Permissions::from_mode(0o700)).unwrap();
            return;
        }
        let before = std::fs::symlink_metadata(&path).unwrap();
        let locked = open_locked(&path);
        let error = locked.replace(b"new\n").unwrap_err();
        std::fs::set_permissions(dir.path(), Permissions::from_mode(0o700)).unwrap();

        assert_eq!(error.step, WriteStep::CreateTemp);
        assert_eq!(error.error.raw_os_error(), Some(libc::EACCES));
        assert_eq!(std::fs::read(&path).unwrap(), SECRET);
        let after = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!((after.ino(), after.mode()), (before.ino(), before.mode()));
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn an_unreadable_directory_is_written_but_not_synced() {
        let (dir, path) = secret(0o600);
        // Writable and searchable but not readable: the rename works, opening it does not.
        std::fs::set_permissions(dir.path(), Permissions::from_mode(0o300)).unwrap();
        let overridden = std::fs::read_dir(dir.path()).is_ok();
        let locked = open_locked(&path);
        let durability = locked.replace(b"new\n").unwrap().durability;
        std::fs::set_permissions(dir.path(), Permissions::from_mode(0o700)).unwrap();

        assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
        if overridden {
            // Root's file capabilities open the directory anyway; the ignored root test below
            // covers the refused case as another user.
            assert!(matches!(durability, Durability::Synced));
            return;
        }
        let Durability::DirectoryNotSynced(error) = durability else {
            panic!("the directory cannot have been synced: {durability:?}");
        };
        assert_eq!(error.raw_os_error(), Some(libc::EACCES));
    }

    #[test]
    #[ignore = "needs root: writes as the nobody user via the fsuid switch"]
    fn root_replace_as_the_user_in_an_unreadable_directory() {
        assert!(
            is_root(),
            "root-tier test: run it as root (make root-tier, or cargo test -- --ignored)"
        );
        let (uid, gid) = nobody();
        let (_outer, home, path) = nobodys_secret();
        std::fs::set_permissions(&home, Permissions::from_mode(0o300)).unwrap();

        let guard =
            crate::os::fsid::FsIdGuard::switch(crate::os::fsid::FsIds { uid, gid }).unwrap();
        let locked = OpenedFile::open(&path).unwrap().lock(LONG).unwrap();
        let replaced = locked.replace(b"new\n").map(|w| w.durability);
        guard.restore().unwrap();

        let Ok(Durability::DirectoryNotSynced(error)) = replaced else {
            panic!("expected an unsynced directory: {replaced:?}");
        };
        assert_eq!(error.raw_os_error(), Some(libc::EACCES));
        assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
    }

    #[test]
    #[ignore = "needs root: writes as the nobody user via the fsuid switch"]
    fn root_replace_in_a_read_only_directory_as_the_user() {
        assert!(
            is_root(),
            "root-tier test: run it as root (make root-tier, or cargo test -- --ignored)"
        );
        let (uid, gid) = nobody();
        let (_outer, home, path) = nobodys_secret();
        std::fs::set_permissions(&home, Permissions::from_mode(0o500)).unwrap();

        let guard =
            crate::os::fsid::FsIdGuard::switch(crate::os::fsid::FsIds { uid, gid }).unwrap();
        let file = OpenedFile::open(&path).unwrap();
        let checked = file.check(PermPolicy::DEFAULT, Some(uid));
        let locked = file.lock(LONG).unwrap();
        let error = locked.replace(b"new\n").unwrap_err();
        guard.restore().unwrap();

        assert_eq!(checked, Ok(()));
        assert_eq!(error.step, WriteStep::CreateTemp);
        assert_eq!(error.error.raw_os_error(), Some(libc::EACCES));
        assert_eq!(std::fs::read(&path).unwrap(), SECRET);
        assert!(leftovers(&home).is_empty());
    }

    #[test]
    #[ignore = "needs root: writes as the nobody user via the fsuid switch"]
    fn root_replace_as_the_user_gives_them_the_file() {
        assert!(
            is_root(),
            "root-tier test: run it as root (make root-tier, or cargo test -- --ignored)"
        );
        let (uid, gid) = nobody();
        let (_outer, home, path) = nobodys_secret();

        let guard =
            crate::os::fsid::FsIdGuard::switch(crate::os::fsid::FsIds { uid, gid }).unwrap();
        let locked = OpenedFile::open(&path).unwrap().lock(LONG).unwrap();
        let replaced = locked.replace(b"new\n").map(|w| w.durability);
        guard.restore().unwrap();

        assert!(matches!(replaced, Ok(Durability::Synced)));
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (uid, gid));
        assert_eq!(meta.mode() & 0o7777, REWRITTEN_MODE);
        assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
        assert!(leftovers(&home).is_empty());
    }
}
