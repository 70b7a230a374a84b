//! The secret-file store: open, check, read, lock and durably replace the secret file.
//!
//! This is where the state update protocol meets the file system. The file is opened without
//! following symlinks and without blocking (a FIFO or device at the path is refused, never
//! waited on), and every check runs on the open descriptor, so the checked file is the one that
//! is read. Changes are made under an exclusive `flock` on the secret file itself: `flock` locks
//! belong to the open file description, so they exclude other processes and other threads of
//! the same process alike. A change is written to a new file next to the secret, made durable
//! and renamed over it, and the directory is synced, so a crash leaves either the old or the new
//! contents, never a mix, and never forgets a used one-time code. Nothing here touches
//! process-wide state: the new file's mode is made exact with `fchmod`, not with the umask.
//!
//! All paths are used as given, relative ones against the process's working directory, with
//! the calling thread's filesystem ids (see [`crate::os::fsid`]).

mod check;
mod lock;
mod temp;
#[cfg(test)]
mod test_support;
mod write;

pub use check::{CheckError, PermPolicy};
pub use lock::{LOCK_TIMEOUT, LockError, LockedFile};
pub(super) use temp::create_temp;
pub use temp::{TempClaim, temp_name};
pub use write::{Durability, WriteError, WriteStep, Written};
pub(super) use write::{fill_and_close, sync};

use std::ffi::{CStr, CString};
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::Path;
use std::sync::Arc;

use zeroize::Zeroizing;

use super::dir::SecretDir;

/// The largest secret file accepted, in bytes (upstream's 64 KiB limit, inclusive).
pub const MAX_SIZE: u64 = 64 * 1024;

/// The mode every rewritten secret file gets, as upstream.
pub(crate) const REWRITTEN_MODE: u32 = 0o400;

/// Why [`OpenedFile::read_contents`] gave no contents.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// The file ended before its recorded size (it shrank since it was examined).
    #[error("short read")]
    Short,
    /// The file is larger than [`MAX_SIZE`]; nothing was read.
    #[error("file too large ({size} bytes)")]
    TooLarge {
        /// The file's size in bytes.
        size: u64,
    },
    /// The contents hold a NUL byte.
    #[error("invalid file contents (NUL byte)")]
    Nul,
    /// The read failed.
    #[error("read failed: {0}")]
    Io(#[source] io::Error),
}

/// An open secret file and what `fstat` said about it.
#[derive(Debug)]
pub struct OpenedFile {
    file: File,
    meta: Meta,
    dir: Arc<SecretDir>,
    name: CString,
}

/// The `fstat` fields the checks use.
#[derive(Debug, Clone, Copy)]
struct Meta {
    mode: u32,
    uid: u32,
    size: u64,
    dev: u64,
    ino: u64,
    links: u64,
    /// `st_mtime` and `st_ctime`, seconds and nanoseconds.
    times: [(i64, i64); 2],
}

impl Meta {
    fn of(file: &File) -> io::Result<Meta> {
        let m = file.metadata()?;
        Ok(Meta {
            mode: m.mode(),
            uid: m.uid(),
            size: m.size(),
            dev: m.dev(),
            ino: m.ino(),
            links: m.nlink(),
            times: [(m.mtime(), m.mtime_nsec()), (m.ctime(), m.ctime_nsec())],
        })
    }

    /// Whether `st` describes the same file, unchanged: same inode, type, permissions,
    /// owner, links and size, contents and inode last changed at the same times.
    // `nlink_t` and `time_t` differ between architectures; the casts never truncate.
    #[allow(clippy::unnecessary_cast)]
    fn matches(&self, st: &libc::stat) -> bool {
        self.dev == st.st_dev as u64
            && self.ino == st.st_ino as u64
            && self.mode == st.st_mode
            && self.uid == st.st_uid
            && self.links == st.st_nlink as u64
            && self.size == st.st_size as u64
            && self.times
                == [
                    (st.st_mtime as i64, st.st_mtime_nsec as i64),
                    (st.st_ctime as i64, st.st_ctime_nsec as i64),
                ]
    }
}

impl OpenedFile {
    /// Opens `path` read-only without following a final symlink and without blocking, then
    /// examines the descriptor. The directory is opened first and kept (see
    /// [`SecretDir`]); [`location`](Self::location) gives it for later opens of the same file.
    ///
    /// A symlink at `path` fails with ELOOP; a FIFO or device opens (without waiting for a
    /// writer) and is then refused by [`check`](Self::check). The descriptor is close-on-exec
    /// and never becomes a controlling terminal.
    pub fn open(path: &Path) -> io::Result<OpenedFile> {
        let (dir, name) = SecretDir::of(path)?;
        OpenedFile::open_in(Arc::new(dir), name)
    }

    /// Like [`open`](Self::open), for the entry `name` of a directory opened before.
    pub fn open_in(dir: Arc<SecretDir>, name: CString) -> io::Result<OpenedFile> {
        let file = dir.open_file(
            &name,
            libc::O_RDONLY | libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY,
            0,
        )?;
        let meta = Meta::of(&file)?;
        Ok(OpenedFile {
            file,
            meta,
            dir,
            name,
        })
    }

    /// The directory the file was opened in, and its name there.
    #[must_use]
    pub fn location(&self) -> (&Arc<SecretDir>, &CStr) {
        (&self.dir, &self.name)
    }

    /// The permission bits (`st_mode & 0o7777`).
    #[must_use]
    pub fn mode(&self) -> u32 {
        self.meta.mode & 0o7777
    }

    /// Whether this is a regular file.
    #[must_use]
    pub fn is_regular(&self) -> bool {
        self.meta.mode & libc::S_IFMT == libc::S_IFREG
    }

    /// The owner's uid.
    #[must_use]
    pub fn uid(&self) -> u32 {
        self.meta.uid
    }

    /// When the file's contents last changed (`st_mtime`, seconds since the epoch), from a
    /// fresh `fstat`: every accepted code, skew change or rate-limit record rewrites it.
    pub fn modified(&self) -> io::Result<i64> {
        Ok(self.file.metadata()?.mtime())
    }

    /// The size in bytes.
    #[must_use]
    pub fn size(&self) -> u64 {
        self.meta.size
    }

    /// The device and inode numbers, which identify the file.
    #[must_use]
    pub fn dev_ino(&self) -> (u64, u64) {
        (self.meta.dev, self.meta.ino)
    }

    /// Whether the file's name in its directory still leads to this file, unchanged since it
    /// was opened (same inode, type, permissions, owner, links, size, and modification and
    /// change times): then what was read from it is what a new read would give. False when
    /// in doubt (the entry cannot be examined).
    ///
    /// One `fstatat` in the directory opened before, with the caller's identity: it only
    /// compares the entry with a file already opened as the user, and never opens or follows
    /// anything.
    #[must_use]
    pub fn is_current(&self) -> bool {
        matches!(self.dir.stat(&self.name), Ok(Some(st)) if self.meta.matches(&st))
    }

    /// Reads the whole file (its recorded [`size`](Self::size)) from the start.
    ///
    /// The buffer is wiped when dropped, also on the error paths.
    pub fn read_contents(&self) -> Result<Zeroizing<Vec<u8>>, ReadError> {
        let size = self.meta.size;
        if size > MAX_SIZE {
            return Err(ReadError::TooLarge { size });
        }
        // Cannot truncate: at most MAX_SIZE.
        let mut buf = Zeroizing::new(vec![0u8; size as usize]);
        let mut done = 0;
        while done < buf.len() {
            match self.file.read_at(&mut buf[done..], done as u64) {
                Ok(0) => return Err(ReadError::Short),
                Ok(n) => done += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ReadError::Io(e)),
            }
        }
        if buf.contains(&0) {
            return Err(ReadError::Nul);
        }
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::store::test_support::*;
    use std::fs::OpenOptions;
    use std::os::unix::ffi::OsStrExt;
    use std::sync::mpsc;
    use std::thread;
    use std::time::Duration;

    #[test]
    fn accessors_describe_the_file() {
        let (_dir, path) = secret(0o4640);
        let file = OpenedFile::open(&path).unwrap();
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!(file.mode(), 0o4640);
        assert!(file.is_regular());
        assert_eq!(file.uid(), my_uid());
        assert_eq!(file.size(), SECRET.len() as u64);
        assert_eq!(file.dev_ino(), (meta.dev(), meta.ino()));
    }

    #[test]
    fn owner_is_checked_only_when_asked() {
        let (_dir, path) = secret(0o600);
        let file = OpenedFile::open(&path).unwrap();
        let me = my_uid();
        let other = me.wrapping_add(1);
        assert_eq!(file.check(PermPolicy::DEFAULT, Some(me)), Ok(()));
        assert_eq!(file.check(PermPolicy::DEFAULT, None), Ok(()));
        assert_eq!(
            file.check(PermPolicy::DEFAULT, Some(other)),
            Err(CheckError::Owner { uid: me })
        );
    }

    #[test]
    fn checks_run_in_upstream_order() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        write_file(&empty, b"", 0o644);
        let file = OpenedFile::open(&empty).unwrap();
        // Permissions before owner before size.
        assert_eq!(
            file.check(PermPolicy::DEFAULT, Some(my_uid().wrapping_add(1))),
            Err(CheckError::Permissions { mode: 0o644 })
        );
        assert_eq!(
            file.check(PermPolicy::any(), Some(my_uid().wrapping_add(1))),
            Err(CheckError::Owner { uid: my_uid() })
        );
        assert_eq!(
            file.check(PermPolicy::any(), None),
            Err(CheckError::Size { size: 0 })
        );
    }

    #[test]
    fn size_limits_are_inclusive() {
        let dir = tempfile::tempdir().unwrap();
        let at_limit = dir.path().join("at-limit");
        write_file(&at_limit, &vec![b'a'; 65536], 0o600);
        let file = OpenedFile::open(&at_limit).unwrap();
        assert_eq!(file.check(PermPolicy::DEFAULT, None), Ok(()));
        assert_eq!(file.read_contents().unwrap().len(), 65536);

        let over = dir.path().join("over");
        write_file(&over, &vec![b'a'; 65537], 0o600);
        let file = OpenedFile::open(&over).unwrap();
        assert_eq!(
            file.check(PermPolicy::DEFAULT, None),
            Err(CheckError::Size { size: 65537 })
        );
        assert!(matches!(
            file.read_contents(),
            Err(ReadError::TooLarge { size: 65537 })
        ));

        let one = dir.path().join("one");
        write_file(&one, b"x", 0o600);
        let file = OpenedFile::open(&one).unwrap();
        assert_eq!(file.check(PermPolicy::DEFAULT, None), Ok(()));
    }

    #[test]
    fn contents_are_read_whole_and_nul_is_refused() {
        let (dir, path) = secret(0o600);
        let file = OpenedFile::open(&path).unwrap();
        assert_eq!(&file.read_contents().unwrap()[..], SECRET);
        // Reading twice reads from the start again.
        assert_eq!(&file.read_contents().unwrap()[..], SECRET);

        let nul = dir.path().join("nul");
        write_file(&nul, b"ABC\0DEF\n", 0o600);
        let file = OpenedFile::open(&nul).unwrap();
        assert_eq!(file.check(PermPolicy::DEFAULT, None), Ok(()));
        assert!(matches!(file.read_contents(), Err(ReadError::Nul)));
    }

    #[test]
    fn a_file_that_shrank_gives_a_short_read() {
        let (_dir, path) = secret(0o600);
        let file = OpenedFile::open(&path).unwrap();
        OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(3)
            .unwrap();
        assert!(matches!(file.read_contents(), Err(ReadError::Short)));
    }

    #[test]
    fn symlinks_are_not_followed() {
        let (dir, path) = secret(0o600);
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&path, &link).unwrap();
        let error = OpenedFile::open(&link).unwrap_err();
        assert_eq!(error.raw_os_error(), Some(libc::ELOOP));
    }

    #[test]
    fn a_fifo_opens_without_blocking_and_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        let c_path = CString::new(fifo.as_os_str().as_bytes()).unwrap();
        // SAFETY: `c_path` is a valid NUL-terminated path that outlives the call.
        assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);

        // Open on another thread so that a regression fails this test instead of hanging it.
        let (tx, rx) = mpsc::channel();
        let opener = fifo.clone();
        thread::spawn(move || {
            let outcome = OpenedFile::open(&opener)
                .map(|file| (file.is_regular(), file.check(PermPolicy::any(), None)));
            let _ = tx.send(outcome);
        });
        let (regular, check) = rx
            .recv_timeout(Duration::from_secs(5))
            .expect("opening a FIFO must not block")
            .unwrap();
        assert!(!regular);
        assert_eq!(check, Err(CheckError::NotRegular));
    }

    #[test]
    fn directories_and_devices_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = OpenedFile::open(dir.path()).unwrap();
        assert_eq!(
            file.check(PermPolicy::any(), None),
            Err(CheckError::NotRegular)
        );
        let null = OpenedFile::open(Path::new("/dev/null")).unwrap();
        assert_eq!(
            null.check(PermPolicy::any(), None),
            Err(CheckError::NotRegular)
        );
    }

    #[test]
    fn missing_files_report_enoent() {
        let dir = tempfile::tempdir().unwrap();
        let error = OpenedFile::open(&dir.path().join("absent")).unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
    }
}
