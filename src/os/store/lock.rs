//! Locking: the exclusive `flock` on a secret file, the wait for it, and the locked file.

use std::fs::{File, TryLockError};
use std::io;
use std::ops::Deref;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{Meta, OpenedFile};

/// Why [`OpenedFile::lock`] did not give a [`LockedFile`].
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another holder kept the lock for the whole wait.
    #[error("timed out waiting for the lock")]
    TimedOut,
    /// The path no longer names the locked file: another login replaced (or removed) it while
    /// this one waited. Open the path again and retry.
    #[error("the file was replaced while waiting for the lock")]
    Replaced,
    /// The path no longer leads to the directory the file was opened in: it was renamed, or
    /// replaced by a symlink or another directory. Nothing there is followed.
    #[error("the directory changed while the file was in use")]
    DirectoryReplaced,
    /// Locking or examining the path failed.
    #[error("locking failed: {0}")]
    Io(#[source] io::Error),
}

impl OpenedFile {
    /// Takes an exclusive lock on this file, waiting at most about `timeout`, and makes sure
    /// its name still leads to it, in a directory the path still leads to.
    ///
    /// The wait polls with short, growing sleeps (1 ms up to 20 ms), so a slow holder delays
    /// the caller by at most one sleep after it lets go. Once locked, the file is examined
    /// again, so the accessors and [`check`](Self::check) describe the file as it is under the
    /// lock. [`LockError::Replaced`] means another login renamed a new file over the name (or
    /// removed it) before the lock was obtained: the caller opens it again (with
    /// [`open_in`](Self::open_in)) and retries. [`LockError::DirectoryReplaced`] means the
    /// directory itself was moved or swapped: the caller gives up.
    pub fn lock(mut self, timeout: Duration) -> Result<LockedFile, LockError> {
        acquire(&self.file, timeout)?;
        match self.dir.entry(&self.name) {
            Ok(Some(current)) if current == self.dev_ino() => {}
            Ok(_) => return Err(LockError::Replaced),
            Err(e) => return Err(LockError::Io(e)),
        }
        if !self.dir.still_at_path().map_err(LockError::Io)? {
            return Err(LockError::DirectoryReplaced);
        }
        self.meta = Meta::of(&self.file).map_err(LockError::Io)?;
        Ok(LockedFile { opened: self })
    }
}

/// A secret file under an exclusive lock, which is released when this is dropped.
///
/// It derefs to [`OpenedFile`] for the accessors, [`check`](OpenedFile::check) and
/// [`read_contents`](OpenedFile::read_contents).
#[derive(Debug)]
pub struct LockedFile {
    pub(super) opened: OpenedFile,
}

impl Deref for LockedFile {
    type Target = OpenedFile;

    fn deref(&self) -> &OpenedFile {
        &self.opened
    }
}

/// How long a process waits for another one's lock on the same secret file (logins and the
/// setup command alike) before giving up.
pub const LOCK_TIMEOUT: Duration = Duration::from_secs(10);

impl LockedFile {
    /// The path this file was locked under.
    #[must_use]
    pub fn path(&self) -> PathBuf {
        self.opened.dir.display_path(&self.opened.name)
    }
}

pub(super) fn lock_error_to_io(e: LockError) -> io::Error {
    match e {
        LockError::TimedOut => io::Error::from_raw_os_error(libc::EAGAIN),
        LockError::Replaced | LockError::DirectoryReplaced => {
            io::Error::from_raw_os_error(libc::EEXIST)
        }
        LockError::Io(e) => e,
    }
}

/// Takes an exclusive `flock`, polling until `timeout`.
pub(super) fn acquire(file: &File, timeout: Duration) -> Result<(), LockError> {
    const FIRST_SLEEP: Duration = Duration::from_millis(1);
    const MAX_SLEEP: Duration = Duration::from_millis(20);
    let start = Instant::now();
    // The sleeps are counted too, so the wait ends even if the monotonic clock stands still
    // (as it can under libfaketime in tests).
    let mut slept = Duration::ZERO;
    let mut sleep = FIRST_SLEEP;
    loop {
        match try_flock(file) {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(e) => return Err(LockError::Io(e)),
        }
        let waited = start.elapsed().max(slept);
        if waited >= timeout {
            return Err(LockError::TimedOut);
        }
        let nap = sleep.min(timeout - waited);
        std::thread::sleep(nap);
        slept += nap;
        sleep = (sleep * 2).min(MAX_SLEEP);
    }
}

/// One non-blocking attempt at an exclusive `flock`; `Ok(false)` when someone else holds it.
fn try_flock(file: &File) -> io::Result<bool> {
    loop {
        // std's try_lock is flock(LOCK_EX | LOCK_NB) on Linux.
        match file.try_lock() {
            Ok(()) => return Ok(true),
            Err(TryLockError::WouldBlock) => return Ok(false),
            Err(TryLockError::Error(e)) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(TryLockError::Error(e)) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::store::test_support::*;
    use std::io::Write;
    use std::sync::mpsc;
    use std::thread;

    #[test]
    fn a_second_locker_waits_for_the_first() {
        let (_dir, path) = secret(0o600);
        let first = open_locked(&path);
        let (tx, rx) = mpsc::channel();
        let waiter_path = path.clone();
        let waiter = thread::spawn(move || {
            let file = OpenedFile::open(&waiter_path).unwrap();
            tx.send(()).unwrap();
            let started = Instant::now();
            let locked = file.lock(LONG);
            (locked.map(|_| ()), started.elapsed())
        });
        rx.recv().unwrap();
        thread::sleep(Duration::from_millis(200));
        drop(first);
        let (locked, waited) = waiter.join().unwrap();
        locked.unwrap();
        assert!(waited >= Duration::from_millis(150), "waited {waited:?}");
    }

    #[test]
    fn a_file_replaced_while_waiting_is_reported() {
        let (_dir, path) = secret(0o600);
        let first = open_locked(&path);
        let second = OpenedFile::open(&path).unwrap();
        let waiter = thread::spawn(move || second.lock(LONG));
        thread::sleep(Duration::from_millis(50));
        let _ = first.replace(b"newer\n").unwrap();
        assert!(matches!(waiter.join().unwrap(), Err(LockError::Replaced)));

        // Reopening finds the new file, which locks fine.
        let again = open_locked(&path);
        assert_eq!(&again.read_contents().unwrap()[..], b"newer\n");
    }

    #[test]
    fn a_removed_file_is_reported_as_replaced() {
        let (_dir, path) = secret(0o600);
        let file = OpenedFile::open(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(file.lock(LONG), Err(LockError::Replaced)));
    }

    #[test]
    fn the_lock_times_out_while_held() {
        let (_dir, path) = secret(0o600);
        let _held = open_locked(&path);
        let other = OpenedFile::open(&path).unwrap();
        let started = Instant::now();
        let result = other.lock(Duration::from_millis(30));
        assert!(matches!(result, Err(LockError::TimedOut)));
        assert!(started.elapsed() < Duration::from_secs(2));

        let other = OpenedFile::open(&path).unwrap();
        assert!(matches!(
            other.lock(Duration::ZERO),
            Err(LockError::TimedOut)
        ));
    }

    #[test]
    fn the_lock_sees_changes_made_before_it_was_taken() {
        let (_dir, path) = secret(0o600);
        let file = OpenedFile::open(&path).unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap()
            .write_all(b"more\n")
            .unwrap();
        let locked = file.lock(LONG).unwrap();
        assert_eq!(locked.size(), SECRET.len() as u64 + 5);
        assert!(locked.read_contents().unwrap().ends_with(b"more\n"));
    }
}
