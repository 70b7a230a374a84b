//! The temporary file `<name>~`: its name, the claim on it, and the removal of a leftover
//! from a writer that died.

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use super::REWRITTEN_MODE;
use super::lock::{LOCK_TIMEOUT, acquire, lock_error_to_io};
use crate::os::dir::SecretDir;

/// How often the temporary file is created again after another writer got in the way.
const TEMP_ATTEMPTS: usize = 100;

/// The name of the temporary file for `name`: `<name>~`.
///
/// One fixed name, so a writer that dies between creating it and the rename leaves at most
/// one copy of the secret behind, which the next writer removes. It is also the name that
/// RHEL/Fedora's SELinux policy labels like the secret file itself.
#[must_use]
pub fn temp_name(name: &CStr) -> CString {
    let mut bytes = name.to_bytes().to_vec();
    bytes.push(b'~');
    // `name` held no NUL, and `~` is none.
    CString::new(bytes).unwrap_or_default()
}

/// A claim on the temporary file: an exclusive `flock` on it, held until dropped.
///
/// Every writer claims `<name>~` before it writes to it, renames it or removes it, and checks
/// after locking that the name still leads to the file it locked. A file at the name that
/// nobody has claimed is a leftover of a writer that died (its lock died with it). So two
/// writers never share the temporary file, and a leftover is removed only when no live
/// writer uses it, whether or not the writers also hold the secret file's lock (the setup
/// command creating a first file holds none).
#[derive(Debug)]
#[must_use = "the temporary file is claimed only while this lives"]
pub struct TempClaim {
    _lock: File,
}

/// Creates a new, empty `<name>~` in `dir` with mode 0400 and claims it, after removing a
/// leftover from a writer that died. Gives the temporary file's name, the open file and the
/// claim.
///
/// A live writer's temporary file is never touched: a leftover is locked (waiting up to
/// [`LOCK_TIMEOUT`] for a writer still at work) and removed only if the name still leads to
/// it. A symlink at the name is removed, never followed. On failure, gives the error and the
/// full path of the temporary file, for the log.
pub(in crate::os) fn create_temp(
    dir: &SecretDir,
    name: &CStr,
) -> Result<(CString, File, TempClaim), (io::Error, Option<PathBuf>)> {
    let temp = temp_name(name);
    let fail = |e| (e, Some(dir.display_path(&temp)));
    for _ in 0..TEMP_ATTEMPTS {
        // O_EXCL also refuses a symlink at the name.
        let opened = dir.open_file(
            &temp,
            libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW | libc::O_NOCTTY,
            REWRITTEN_MODE,
        );
        let file = match opened {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                remove_leftover(dir, &temp).map_err(fail)?;
                continue;
            }
            Err(e) => return Err(fail(e)),
        };
        // The lock goes on a second descriptor of the same open file, so it outlives the
        // close that reports write errors and lasts until after the rename.
        let lock = match file.try_clone() {
            Ok(lock) => lock,
            Err(e) => {
                // Not claimed yet, but nobody else has had a reason to touch it.
                let _ = dir.remove(&temp);
                return Err(fail(e));
            }
        };
        acquire(&lock, LOCK_TIMEOUT).map_err(|e| fail(lock_error_to_io(e)))?;
        // Someone removing what they took for a leftover may have got in between the
        // creation and the lock: then the name no longer leads here, and we start over.
        if names(dir, &temp, &lock).map_err(fail)? {
            return Ok((temp, file, TempClaim { _lock: lock }));
        }
    }
    Err(fail(io::Error::from_raw_os_error(libc::EEXIST)))
}

/// Removes the entry `temp` once no live writer holds it; nothing to do when the name is
/// free (again).
fn remove_leftover(dir: &SecretDir, temp: &CStr) -> io::Result<()> {
    let opened = dir.open_file(
        temp,
        libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY,
        0,
    );
    let file = match opened {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        // A symlink: removing it removes the link only.
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => return dir.remove(temp),
        Err(e) => return Err(e),
    };
    if !file.metadata()?.file_type().is_file() {
        return Err(io::Error::from_raw_os_error(libc::EEXIST));
    }
    acquire(&file, LOCK_TIMEOUT).map_err(lock_error_to_io)?;
    if names(dir, temp, &file)? {
        dir.remove(temp)?;
    }
    Ok(())
}

/// Whether the entry `name` of `dir` (not followed) still leads to the open `file`.
fn names(dir: &SecretDir, name: &CStr, file: &File) -> io::Result<bool> {
    let held = file.metadata()?;
    Ok(dir.entry(name)? == Some((held.dev(), held.ino())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::store::Durability;
    use crate::os::store::test_support::*;
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::sync::mpsc;
    use std::thread;
    use std::time::Duration;

    #[test]
    fn the_temp_file_is_the_secret_path_with_a_tilde() {
        let (dir, path) = secret(0o600);
        let (d, name) = SecretDir::of(&path).unwrap();
        let (temp, _file, _claim) = create_temp(&d, &name).unwrap();
        assert_eq!(temp.as_c_str(), c".google_authenticator~");
        assert_eq!(temp, temp_name(&name));
        assert!(dir.path().join(".google_authenticator~").exists());
    }

    #[test]
    fn a_leftover_temp_file_is_removed_by_the_next_write() {
        let (dir, path) = secret(0o600);
        let temp = temp_path(&path);
        // What a writer killed before its rename leaves: a full copy, mode 0400.
        write_file(&temp, b"OLDSECRET\n12345678\n", 0o400);
        let locked = open_locked(&path);
        assert!(matches!(
            locked.replace(b"new\n").map(|w| w.durability),
            Ok(Durability::Synced)
        ));
        assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
        assert!(leftovers(dir.path()).is_empty());
        // A symlink at the name is removed, not followed.
        let target = dir.path().join("target");
        write_file(&target, b"keep", 0o600);
        std::os::unix::fs::symlink(&target, &temp).unwrap();
        let locked = open_locked(&path);
        assert!(locked.replace(b"newer\n").is_ok());
        assert_eq!(std::fs::read(&path).unwrap(), b"newer\n");
        assert_eq!(std::fs::read(&target).unwrap(), b"keep");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn a_temp_file_claimed_by_a_live_writer_is_left_alone() {
        let (_dir, path) = secret(0o600);
        let (d, name) = SecretDir::of(&path).unwrap();
        let (temp, file, claim) = create_temp(&d, &name).unwrap();
        let temp = path
            .parent()
            .unwrap()
            .join(OsStr::from_bytes(temp.to_bytes()));
        let (tx, rx) = mpsc::channel();
        let other = path.clone();
        let waiter = thread::spawn(move || {
            let (d, name) = SecretDir::of(&other).unwrap();
            let result = create_temp(&d, &name).map(|(t, _, _)| t);
            tx.send(()).unwrap();
            result
        });
        // The second writer waits for the claim instead of removing a live file.
        assert!(rx.recv_timeout(Duration::from_millis(300)).is_err());
        assert!(temp.exists());
        // The first writer finishes (here: gives up and removes its file) and lets go.
        std::fs::remove_file(&temp).unwrap();
        drop(file);
        drop(claim);
        rx.recv_timeout(LONG).unwrap();
        assert_eq!(
            waiter.join().unwrap().unwrap().as_c_str(),
            c".google_authenticator~"
        );
    }
}
