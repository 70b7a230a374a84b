//! The directory that holds a secret file, opened once and used for every later step.
//!
//! The module reads the secret file before the prompt and again, locked, after it; a user
//! may take seconds to type. If every step looked the path up again, a directory renamed and
//! replaced by a symlink (or by another directory) in between would redirect the locked read,
//! the temporary file and the rename to wherever the new entry points. So the directory is
//! opened once and every step works relative to that descriptor (`openat`, `fstatat`,
//! `renameat`, `unlinkat`, `fsync`), and [`SecretDir::still_at_path`] tells whether the path
//! still leads to it, so the caller can refuse a swap instead of following it.
//!
//! A directory the user may search but not read is opened with `O_PATH`: every step still
//! works, except the `fsync` of the directory, which is then reported as not possible.

use std::ffi::{CStr, CString, OsStr};
use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// An open directory and the path it was opened by.
#[derive(Debug)]
pub struct SecretDir {
    fd: OwnedFd,
    path: PathBuf,
    /// Opened for reading (so it can be synced), not only with `O_PATH`.
    readable: bool,
}

impl SecretDir {
    /// Splits `path` into its directory, opened, and the name inside it.
    ///
    /// A path that ends in `/` or names no file of its own (`.`, `..`, `/`) is opened as a
    /// directory with the name `.`, so it is then refused as "not a regular file", as a
    /// plain `open` of it would be. An empty path fails with ENOENT.
    pub fn of(path: &Path) -> io::Result<(SecretDir, CString)> {
        let bytes = path.as_os_str().as_bytes();
        if bytes.is_empty() {
            return Err(io::Error::from_raw_os_error(libc::ENOENT));
        }
        let (dir, name): (&Path, &OsStr) = match path.file_name() {
            Some(name) if !bytes.ends_with(b"/") => {
                let parent = match path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p,
                    _ => Path::new("."),
                };
                (parent, name)
            }
            _ => (path, OsStr::new(".")),
        };
        let name = CString::new(name.as_bytes())?;
        Ok((SecretDir::open(dir)?, name))
    }

    /// Opens the directory `dir` (following symlinks, as any path lookup does).
    pub fn open(dir: &Path) -> io::Result<SecretDir> {
        let readable = OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY | libc::O_NOCTTY)
            .open(dir);
        let (file, readable) = match readable {
            Ok(f) => (f, true),
            Err(e) if e.raw_os_error() == Some(libc::EACCES) => {
                let f = OpenOptions::new()
                    .read(true)
                    .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
                    .open(dir)?;
                (f, false)
            }
            Err(e) => return Err(e),
        };
        Ok(SecretDir {
            fd: OwnedFd::from(file),
            path: dir.to_path_buf(),
            readable,
        })
    }

    /// The path the directory was opened by.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The full path of `name` in this directory, for messages.
    #[must_use]
    pub fn display_path(&self, name: &CStr) -> PathBuf {
        self.path.join(OsStr::from_bytes(name.to_bytes()))
    }

    /// `openat(dir, name, flags | O_CLOEXEC, mode)`.
    pub fn open_file(
        &self,
        name: &CStr,
        flags: libc::c_int,
        mode: libc::mode_t,
    ) -> io::Result<File> {
        loop {
            // SAFETY: `self.fd` is an open directory descriptor and `name` a NUL-terminated
            // string, both alive for the call; the mode is passed as the variadic argument
            // openat expects (promoted to an unsigned int).
            let fd = unsafe {
                libc::openat(
                    self.fd.as_raw_fd(),
                    name.as_ptr(),
                    flags | libc::O_CLOEXEC,
                    libc::c_uint::from(mode),
                )
            };
            if fd >= 0 {
                // SAFETY: `fd` was just returned by openat and is owned by nobody else.
                return Ok(unsafe { File::from_raw_fd(fd) });
            }
            let e = io::Error::last_os_error();
            if e.kind() != io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
    }

    /// The device and inode of the entry `name` (a symlink is not followed); `None` when
    /// there is none.
    pub fn entry(&self, name: &CStr) -> io::Result<Option<(u64, u64)>> {
        Ok(self.stat(name)?.map(|st| (st.st_dev, st.st_ino)))
    }

    /// `fstatat` of the entry `name` (a symlink is not followed, an automount point is not
    /// mounted); `None` when there is none.
    pub fn stat(&self, name: &CStr) -> io::Result<Option<libc::stat>> {
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: the descriptor and the name are valid for the call, and `st` is a writable
        // `struct stat` that fstatat fills on success.
        let rc = unsafe {
            libc::fstatat(
                self.fd.as_raw_fd(),
                name.as_ptr(),
                st.as_mut_ptr(),
                libc::AT_SYMLINK_NOFOLLOW | libc::AT_NO_AUTOMOUNT,
            )
        };
        if rc != 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::NotFound => Ok(None),
                _ => Err(e),
            };
        }
        // SAFETY: fstatat succeeded, so `st` is initialised.
        Ok(Some(unsafe { st.assume_init() }))
    }

    /// `renameat(dir, from, dir, to)`; with `no_replace`, fails with `AlreadyExists` when
    /// `to` exists (`RENAME_NOREPLACE`, or a check and a plain rename on file systems
    /// without it).
    pub fn rename(&self, from: &CStr, to: &CStr, no_replace: bool) -> io::Result<()> {
        let fd = self.fd.as_raw_fd();
        let flags = if no_replace {
            libc::RENAME_NOREPLACE
        } else {
            0
        };
        // SAFETY: the descriptor and both NUL-terminated names are valid for the call.
        let rc = unsafe { libc::renameat2(fd, from.as_ptr(), fd, to.as_ptr(), flags) };
        if rc == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        if !no_replace || !matches!(error.raw_os_error(), Some(libc::EINVAL | libc::ENOSYS)) {
            return Err(error);
        }
        if self.entry(to)?.is_some() {
            return Err(io::Error::from(io::ErrorKind::AlreadyExists));
        }
        // SAFETY: as above.
        if unsafe { libc::renameat(fd, from.as_ptr(), fd, to.as_ptr()) } == 0 {
            Ok(())
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// Removes the entry `name` (never a directory); an entry that is already gone is fine.
    pub fn remove(&self, name: &CStr) -> io::Result<()> {
        // SAFETY: the descriptor and the NUL-terminated name are valid for the call.
        let rc = unsafe { libc::unlinkat(self.fd.as_raw_fd(), name.as_ptr(), 0) };
        if rc == 0 {
            return Ok(());
        }
        let e = io::Error::last_os_error();
        match e.kind() {
            io::ErrorKind::NotFound => Ok(()),
            _ => Err(e),
        }
    }

    /// Syncs the directory. `Ok(Some(e))` when it cannot be synced for a reason that is no
    /// failure of the write: it could only be opened with `O_PATH` (EACCES: searchable, not
    /// readable) or the file system cannot sync directories (EINVAL).
    pub fn sync(&self) -> io::Result<Option<io::Error>> {
        if !self.readable {
            return Ok(Some(io::Error::from_raw_os_error(libc::EACCES)));
        }
        // SAFETY: fsync takes any open descriptor; this one stays open for the call.
        if unsafe { libc::fsync(self.fd.as_raw_fd()) } == 0 {
            return Ok(None);
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EINVAL) => Ok(Some(e)),
            _ => Err(e),
        }
    }

    /// Whether the path this directory was opened by still leads to it (a rename of the
    /// directory, or its replacement by a symlink or another directory, says no).
    pub fn still_at_path(&self) -> io::Result<bool> {
        let now = match std::fs::metadata(&self.path) {
            Ok(m) => (m.dev(), m.ino()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        };
        let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
        // SAFETY: the descriptor is open (O_PATH descriptors may be fstat'ed) and `st` is a
        // writable `struct stat`.
        if unsafe { libc::fstat(self.fd.as_raw_fd(), st.as_mut_ptr()) } != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: fstat succeeded, so `st` is initialised.
        let st = unsafe { st.assume_init() };
        Ok(now == (st.st_dev, st.st_ino))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_paths_as_open_would_see_them() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("ga");
        std::fs::write(&file, b"x").unwrap();
        let (d, name) = SecretDir::of(&file).unwrap();
        assert_eq!(d.path(), dir.path());
        assert_eq!(name.as_c_str(), c"ga");
        assert_eq!(d.display_path(&name), file);
        // A trailing slash or a bare directory names the directory itself.
        let slash = PathBuf::from(format!("{}/", dir.path().display()));
        let (d, name) = SecretDir::of(&slash).unwrap();
        assert_eq!(name.as_c_str(), c".");
        assert_eq!(d.path(), slash.as_path());
        assert_eq!(
            SecretDir::of(Path::new("")).unwrap_err().raw_os_error(),
            Some(libc::ENOENT)
        );
        let (d, name) = SecretDir::of(Path::new("relative")).unwrap();
        assert_eq!(d.path(), Path::new("."));
        assert_eq!(name.as_c_str(), c"relative");
        // A file with a trailing slash is not a directory.
        let not_dir = PathBuf::from(format!("{}/", file.display()));
        assert_eq!(
            SecretDir::of(&not_dir).unwrap_err().raw_os_error(),
            Some(libc::ENOTDIR)
        );
    }

    #[test]
    fn notices_a_directory_swapped_for_a_symlink() {
        let base = tempfile::tempdir().unwrap();
        let dir = base.path().join("d");
        std::fs::create_dir(&dir).unwrap();
        let d = SecretDir::open(&dir).unwrap();
        assert!(d.still_at_path().unwrap());
        std::fs::rename(&dir, base.path().join("old")).unwrap();
        assert!(!d.still_at_path().unwrap());
        std::os::unix::fs::symlink(base.path().join("old"), &dir).unwrap();
        // The symlink leads back to the same directory: that is still it.
        assert!(d.still_at_path().unwrap());
        std::fs::remove_file(&dir).unwrap();
        std::fs::create_dir(base.path().join("other")).unwrap();
        std::os::unix::fs::symlink(base.path().join("other"), &dir).unwrap();
        assert!(!d.still_at_path().unwrap());
    }

    #[test]
    fn renames_and_removes_inside_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let d = SecretDir::open(dir.path()).unwrap();
        std::fs::write(dir.path().join("a"), b"1").unwrap();
        std::fs::write(dir.path().join("b"), b"2").unwrap();
        assert_eq!(
            d.rename(c"a", c"b", true).unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        d.rename(c"a", c"b", false).unwrap();
        assert_eq!(std::fs::read(dir.path().join("b")).unwrap(), b"1");
        assert!(d.entry(c"a").unwrap().is_none());
        assert!(d.entry(c"b").unwrap().is_some());
        d.remove(c"b").unwrap();
        d.remove(c"b").unwrap();
        assert!(d.sync().unwrap().is_none());
    }
}
