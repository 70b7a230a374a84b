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

use std::ffi::{CStr, CString};
use std::fs::{File, Permissions, TryLockError};
use std::io::{self, Write};
use std::ops::Deref;
use std::os::fd::IntoRawFd;
use std::os::unix::fs::{FileExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use zeroize::Zeroizing;

use super::dir::SecretDir;
use super::label;

/// The largest secret file accepted, in bytes (upstream's 64 KiB limit, inclusive).
pub const MAX_SIZE: u64 = 64 * 1024;

/// The mode every rewritten secret file gets, as upstream.
pub const REWRITTEN_MODE: u32 = 0o400;

/// Which permission bits a secret file may have (the `allowed_perm` module argument).
///
/// A file fails the check when `(mode & 0o3777) & !allowed` is non-zero. The setuid bit
/// (0o4000) is deliberately outside the mask, as upstream: a 04600 file passes with the
/// default policy while a 02600 (setgid) or 01600 (sticky) file fails. A negative configured
/// value turns the check off; that is [`PermPolicy::any`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermPolicy {
    /// `None` allows every mode.
    allowed: Option<u32>,
}

/// The bits the permission check looks at.
const CHECKED_BITS: u32 = 0o3777;

impl PermPolicy {
    /// Upstream's default: owner read and write only (0600).
    pub const DEFAULT: PermPolicy = PermPolicy {
        allowed: Some(0o600),
    };

    /// Allows exactly the bits in `allowed`, plus setuid, which is never checked.
    #[must_use]
    pub const fn only(allowed: u32) -> PermPolicy {
        PermPolicy {
            allowed: Some(allowed),
        }
    }

    /// Allows every mode.
    #[must_use]
    pub const fn any() -> PermPolicy {
        PermPolicy { allowed: None }
    }

    /// The policy for a configured `allowed_perm` value: negative means any mode.
    #[must_use]
    pub fn from_config(allowed_perm: i64) -> PermPolicy {
        match u32::try_from(allowed_perm) {
            Ok(allowed) => PermPolicy::only(allowed),
            Err(_) if allowed_perm < 0 => PermPolicy::any(),
            // Too large to be a mode: every bit is allowed anyway.
            Err(_) => PermPolicy::only(u32::MAX),
        }
    }

    /// The allowed bits, or `None` when every mode is allowed.
    #[must_use]
    pub const fn allowed(self) -> Option<u32> {
        self.allowed
    }

    /// Whether a file with `mode` (any `st_mode` value) passes.
    #[must_use]
    pub const fn permits(self, mode: u32) -> bool {
        match self.allowed {
            None => true,
            Some(allowed) => mode & CHECKED_BITS & !allowed == 0,
        }
    }
}

impl Default for PermPolicy {
    fn default() -> PermPolicy {
        PermPolicy::DEFAULT
    }
}

/// Why [`OpenedFile::check`] refused a file. The messages leave the path to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// A directory, FIFO, device or socket.
    #[error("not a regular file")]
    NotRegular,
    /// Bits outside the allowed permissions are set.
    #[error("permissions ({mode:04o}) are more permissive than allowed")]
    Permissions {
        /// The file's `mode & 0o3777`, as upstream logs it.
        mode: u32,
    },
    /// The file belongs to someone else.
    #[error("owned by uid {uid}")]
    Owner {
        /// The file's owner.
        uid: u32,
    },
    /// The file has other names (hard links) besides the secret path.
    #[error("{links} links")]
    Links {
        /// The file's link count.
        links: u64,
    },
    /// Empty, or larger than [`MAX_SIZE`].
    #[error("invalid file size {size}")]
    Size {
        /// The file's size in bytes.
        size: u64,
    },
}

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

    /// Checks, in upstream's order: a regular file, permissions within `allowed`, owned by
    /// `owner` (skipped when `None`, for `no_strict_owner`), and 1 to [`MAX_SIZE`] bytes;
    /// before the size, that the file has no other name (one link), so a hard link planted
    /// at the path never makes the module read or use up another file.
    pub fn check(&self, allowed: PermPolicy, owner: Option<u32>) -> Result<(), CheckError> {
        if !self.is_regular() {
            return Err(CheckError::NotRegular);
        }
        if !allowed.permits(self.meta.mode) {
            return Err(CheckError::Permissions {
                mode: self.meta.mode & CHECKED_BITS,
            });
        }
        if let Some(owner) = owner
            && self.meta.uid != owner
        {
            return Err(CheckError::Owner { uid: self.meta.uid });
        }
        if self.meta.links > 1 {
            return Err(CheckError::Links {
                links: self.meta.links,
            });
        }
        if !(1..=MAX_SIZE).contains(&self.meta.size) {
            return Err(CheckError::Size {
                size: self.meta.size,
            });
        }
        Ok(())
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
        Ok(LockedFile {
            opened: self,
            replaced: AtomicBool::new(false),
        })
    }
}

/// A secret file under an exclusive lock, which is released when this is dropped.
///
/// It derefs to [`OpenedFile`] for the accessors, [`check`](OpenedFile::check) and
/// [`read_contents`](OpenedFile::read_contents).
#[derive(Debug)]
pub struct LockedFile {
    opened: OpenedFile,
    replaced: AtomicBool,
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

/// How often the temporary file is created again after another writer got in the way.
const TEMP_ATTEMPTS: usize = 100;

impl LockedFile {
    /// The path this file was locked under.
    #[must_use]
    pub fn path(&self) -> PathBuf {
        self.opened.dir.display_path(&self.opened.name)
    }

    /// Replaces the secret file with `contents`, durably and atomically.
    ///
    /// Writes `<path>~` in the same directory (mode exactly 0400, owned by the current
    /// fsuid/fsgid, with the SELinux label of the file it replaces; claimed as [`TempClaim`]
    /// describes),
    /// syncs it, renames it over `path` and syncs the directory. On a failure before the rename, the secret file is untouched and the
    /// temporary file is removed.
    ///
    /// Call it at most once: after the rename `path` names a new, unlocked file that another
    /// login may already have locked, so a second call fails (at [`WriteStep::CreateTemp`],
    /// without touching anything) and the caller should drop this lock.
    pub fn replace(&self, contents: &[u8]) -> Result<Written, WriteError> {
        if self.replaced.swap(true, Ordering::SeqCst) {
            return Err(WriteError {
                step: WriteStep::CreateTemp,
                error: io::Error::other("the secret file was already replaced under this lock"),
                temp: None,
                unlink_error: None,
            });
        }
        let result = self.write_and_rename(contents);
        if result.is_err() {
            // Nothing was renamed, so this lock still guards the path.
            self.replaced.store(false, Ordering::SeqCst);
        }
        let label_error = result?;
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
pub(super) fn fill_and_close(
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
pub(super) fn create_temp(
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

fn lock_error_to_io(e: LockError) -> io::Error {
    match e {
        LockError::TimedOut => io::Error::from_raw_os_error(libc::EAGAIN),
        LockError::Replaced | LockError::DirectoryReplaced => {
            io::Error::from_raw_os_error(libc::EEXIST)
        }
        LockError::Io(e) => e,
    }
}

/// Syncs `dir`, so a rename in it survives a crash.
pub(super) fn sync(dir: &SecretDir) -> Result<Durability, WriteError> {
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

/// Takes an exclusive `flock`, polling until `timeout`.
fn acquire(file: &File, timeout: Duration) -> Result<(), LockError> {
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
    use std::ffi::CString;
    use std::ffi::OsStr;
    use std::fs::OpenOptions;
    use std::os::unix::ffi::OsStrExt;
    use std::sync::mpsc;
    use std::thread;

    const SECRET: &[u8] = b"ABCDEFGHIJKLMNOP\n\" TOTP_AUTH\n";
    const LONG: Duration = Duration::from_secs(10);

    fn is_root() -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    fn my_uid() -> u32 {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() }
    }

    fn write_file(path: &Path, contents: &[u8], mode: u32) {
        std::fs::write(path, contents).unwrap();
        std::fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
    }

    /// A temp dir with a secret file of the given mode.
    fn secret(mode: u32) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(".google_authenticator");
        write_file(&path, SECRET, mode);
        (dir, path)
    }

    fn check_mode(mode: u32, policy: PermPolicy) -> Result<(), CheckError> {
        let (_dir, path) = secret(mode);
        OpenedFile::open(&path).unwrap().check(policy, None)
    }

    fn leftovers(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.as_os_str().as_bytes().contains(&b'~'))
            .collect()
    }

    fn open_locked(path: &Path) -> LockedFile {
        OpenedFile::open(path).unwrap().lock(LONG).unwrap()
    }

    #[test]
    fn permission_policy_follows_upstream_mask() {
        let default = PermPolicy::default();
        assert_eq!(default, PermPolicy::DEFAULT);
        assert_eq!(check_mode(0o600, default), Ok(()));
        assert_eq!(check_mode(0o400, default), Ok(()));
        // A 0000 file cannot be opened without root's file capabilities; check the mask alone.
        assert!(default.permits(0o100_000));
        assert_eq!(
            check_mode(0o640, default),
            Err(CheckError::Permissions { mode: 0o640 })
        );
        assert_eq!(
            check_mode(0o2600, default),
            Err(CheckError::Permissions { mode: 0o2600 })
        );
        assert_eq!(
            check_mode(0o1600, default),
            Err(CheckError::Permissions { mode: 0o1600 })
        );
        // Setuid is outside the mask, as upstream.
        assert_eq!(check_mode(0o4600, default), Ok(()));
        assert_eq!(
            check_mode(0o4640, default),
            Err(CheckError::Permissions { mode: 0o640 })
        );
        assert_eq!(check_mode(0o640, PermPolicy::only(0o640)), Ok(()));
        assert_eq!(check_mode(0o7777, PermPolicy::any()), Ok(()));
        assert_eq!(check_mode(0o7777, PermPolicy::from_config(-1)), Ok(()));
        assert_eq!(PermPolicy::from_config(-1).allowed(), None);
        assert_eq!(PermPolicy::from_config(0o600), PermPolicy::DEFAULT);
    }

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

    #[test]
    fn replace_writes_a_new_read_only_file() {
        let (dir, path) = secret(0o600);
        let before = std::fs::symlink_metadata(&path).unwrap();
        let locked = open_locked(&path);
        assert_eq!(locked.path(), path);
        assert_eq!(&locked.read_contents().unwrap()[..], SECRET);
        let durability = locked.replace(b"NEW CONTENTS\n").unwrap().durability;
        assert!(matches!(durability, Durability::Synced));
        drop(locked);

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
        drop(locked);
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
        drop(locked);
        assert_eq!(std::fs::read(&path).unwrap(), b"relative\n");
        assert!(leftovers(dir.path()).is_empty());
    }

    #[test]
    fn replace_only_once_per_lock() {
        let (_dir, path) = secret(0o600);
        let locked = open_locked(&path);
        let _ = locked.replace(b"one\n").unwrap();
        let error = locked.replace(b"two\n").unwrap_err();
        assert_eq!(error.step, WriteStep::CreateTemp);
        assert!(error.temp.is_none());
        drop(locked);
        assert_eq!(std::fs::read(&path).unwrap(), b"one\n");
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
    fn the_temp_file_is_the_secret_path_with_a_tilde() {
        let (dir, path) = secret(0o600);
        let (d, name) = SecretDir::of(&path).unwrap();
        let (temp, _file, _claim) = create_temp(&d, &name).unwrap();
        assert_eq!(temp.as_c_str(), c".google_authenticator~");
        assert_eq!(temp, temp_name(&name));
        assert!(dir.path().join(".google_authenticator~").exists());
    }

    /// The temp file's path next to `path`.
    fn temp_path(path: &Path) -> PathBuf {
        PathBuf::from(format!("{}~", path.display()))
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

    /// Whether this process can create files in a directory whose mode forbids it (root with
    /// CAP_DAC_OVERRIDE can).
    fn modes_are_overridden(dir: &Path) -> bool {
        let probe = dir.join("probe");
        let created = std::fs::write(&probe, b"").is_ok();
        let _ = std::fs::remove_file(&probe);
        created
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
        drop(locked);
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
        drop(locked);
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

        let guard = crate::os::fsid::FsIdGuard::switch(uid, gid).unwrap();
        let locked = OpenedFile::open(&path).unwrap().lock(LONG).unwrap();
        let replaced = locked.replace(b"new\n").map(|w| w.durability);
        drop(locked);
        guard.restore().unwrap();

        let Ok(Durability::DirectoryNotSynced(error)) = replaced else {
            panic!("expected an unsynced directory: {replaced:?}");
        };
        assert_eq!(error.raw_os_error(), Some(libc::EACCES));
        assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
    }

    fn nobody() -> (u32, u32) {
        crate::os::user::by_name(b"nobody").map_or((65534, 65534), |u| (u.uid, u.gid))
    }

    /// A directory (inside a traversable temp dir) and secret file, both owned by nobody.
    fn nobodys_secret() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let (uid, gid) = nobody();
        let outer = tempfile::tempdir().unwrap();
        std::fs::set_permissions(outer.path(), Permissions::from_mode(0o711)).unwrap();
        let home = outer.path().join("home");
        std::fs::create_dir(&home).unwrap();
        let path = home.join(".google_authenticator");
        write_file(&path, SECRET, 0o600);
        std::os::unix::fs::chown(&home, Some(uid), Some(gid)).unwrap();
        std::os::unix::fs::chown(&path, Some(uid), Some(gid)).unwrap();
        (outer, home, path)
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

        let guard = crate::os::fsid::FsIdGuard::switch(uid, gid).unwrap();
        let file = OpenedFile::open(&path).unwrap();
        let checked = file.check(PermPolicy::DEFAULT, Some(uid));
        let locked = file.lock(LONG).unwrap();
        let error = locked.replace(b"new\n").unwrap_err();
        drop(locked);
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

        let guard = crate::os::fsid::FsIdGuard::switch(uid, gid).unwrap();
        let locked = OpenedFile::open(&path).unwrap().lock(LONG).unwrap();
        let replaced = locked.replace(b"new\n").map(|w| w.durability);
        drop(locked);
        guard.restore().unwrap();

        assert!(matches!(replaced, Ok(Durability::Synced)));
        let meta = std::fs::symlink_metadata(&path).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (uid, gid));
        assert_eq!(meta.mode() & 0o7777, REWRITTEN_MODE);
        assert_eq!(std::fs::read(&path).unwrap(), b"new\n");
        assert!(leftovers(&home).is_empty());
    }

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
        drop(first);
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
