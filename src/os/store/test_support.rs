//! Helpers shared by the store's unit tests: secret files in temporary directories, and
//! the `nobody` user for the root tests.

use std::fs::Permissions;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{CheckError, LockedFile, OpenedFile, PermPolicy};

pub(super) const SECRET: &[u8] = b"ABCDEFGHIJKLMNOP\n\" TOTP_AUTH\n";

pub(super) const LONG: Duration = Duration::from_secs(10);

pub(super) fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() == 0 }
}

pub(super) fn my_uid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

pub(super) fn write_file(path: &Path, contents: &[u8], mode: u32) {
    std::fs::write(path, contents).unwrap();
    std::fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
}

/// A temp dir with a secret file of the given mode.
pub(super) fn secret(mode: u32) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(".google_authenticator");
    write_file(&path, SECRET, mode);
    (dir, path)
}

pub(super) fn check_mode(mode: u32, policy: PermPolicy) -> Result<(), CheckError> {
    let (_dir, path) = secret(mode);
    OpenedFile::open(&path).unwrap().check(policy, None)
}

pub(super) fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.as_os_str().as_bytes().contains(&b'~'))
        .collect()
}

pub(super) fn open_locked(path: &Path) -> LockedFile {
    OpenedFile::open(path).unwrap().lock(LONG).unwrap()
}

/// The temp file's path next to `path`.
pub(super) fn temp_path(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}~", path.display()))
}

/// Whether this process can create files in a directory whose mode forbids it (root with
/// CAP_DAC_OVERRIDE can).
pub(super) fn modes_are_overridden(dir: &Path) -> bool {
    let probe = dir.join("probe");
    let created = std::fs::write(&probe, b"").is_ok();
    let _ = std::fs::remove_file(&probe);
    created
}

pub(super) fn nobody() -> (u32, u32) {
    crate::os::user::by_name(b"nobody").map_or((65534, 65534), |u| (u.uid, u.gid))
}

/// A directory (inside a traversable temp dir) and secret file, both owned by nobody.
pub(super) fn nobodys_secret() -> (tempfile::TempDir, PathBuf, PathBuf) {
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
