//! SELinux labels of the secret file, without libselinux.
//!
//! On RHEL and Fedora the secret file carries the type `auth_home_t` (or `var_auth_t` outside
//! home directories), and the policy lets the login services read and write files of that
//! type only. A rewrite creates a new file, which gets the default label of its directory
//! (`user_home_t` in a home directory), so under an enforcing policy the next login is
//! refused. So the temporary file gets the label of the file it replaces before it is
//! renamed; where there is none to keep (a first enrolment) and SELinux is enabled, it gets
//! its default label with the type changed to `auth_home_t`, as upstream does.
//!
//! The label is the `security.selinux` extended attribute, read and written with
//! `fgetxattr`/`fsetxattr` on the open descriptors, so the module does not load libselinux.
//! Where the file system keeps no such attribute, there is nothing to keep and nothing is
//! done.

use std::fs::File;
use std::io;
use std::os::fd::AsRawFd;
use std::path::Path;

/// The extended attribute that holds the label.
const ATTRIBUTE: &std::ffi::CStr = c"security.selinux";

/// The type a secret file needs under the reference policy.
pub const SECRET_TYPE: &str = "auth_home_t";

/// The longest label read (the kernel's own limit is a page).
const MAX_LABEL: usize = 4096;

/// The label of `file`; `None` when it has none or the file system keeps none.
pub fn get(file: &File) -> io::Result<Option<Vec<u8>>> {
    let mut buf = vec![0u8; MAX_LABEL];
    // SAFETY: the descriptor is open for the call, the name is NUL-terminated, and `buf` is
    // writable for `buf.len()` bytes.
    let n = unsafe {
        libc::fgetxattr(
            file.as_raw_fd(),
            ATTRIBUTE.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    if n < 0 {
        let e = io::Error::last_os_error();
        return match e.raw_os_error() {
            Some(libc::ENODATA | libc::EOPNOTSUPP) => Ok(None),
            _ => Err(e),
        };
    }
    // Not negative, and at most `buf.len()`.
    buf.truncate(n as usize);
    Ok(Some(buf))
}

/// Sets the label of `file`.
pub fn set(file: &File, label: &[u8]) -> io::Result<()> {
    // SAFETY: the descriptor is open for the call, the name is NUL-terminated, and `label` is
    // readable for `label.len()` bytes.
    let rc = unsafe {
        libc::fsetxattr(
            file.as_raw_fd(),
            ATTRIBUTE.as_ptr(),
            label.as_ptr().cast(),
            label.len(),
            0,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Whether SELinux is enabled: its file system is mounted where libselinux looks first.
#[must_use]
pub(crate) fn selinux_enabled() -> bool {
    Path::new("/sys/fs/selinux/enforce").exists()
}

/// `label` (`user:role:type[:level]`, possibly NUL-terminated) with its type replaced by
/// `new_type`; `None` when it does not have that shape.
#[must_use]
pub(crate) fn with_type(label: &[u8], new_type: &str) -> Option<Vec<u8>> {
    let label = label.strip_suffix(b"\0").unwrap_or(label);
    let mut parts: Vec<&[u8]> = label.splitn(4, |&b| b == b':').collect();
    if parts.len() < 3 || parts[..3].iter().any(|p| p.is_empty()) {
        return None;
    }
    parts[2] = new_type.as_bytes();
    let mut out = parts.join(&b':');
    out.push(0);
    Some(out)
}

/// Gives `temp` the label it needs to replace a file labelled `old` (`None`: there was no
/// file, or it had no label): the old file's label when there is one, else (with SELinux
/// enabled) its own default label with the type [`SECRET_TYPE`]. Nothing to do otherwise.
pub fn prepare(temp: &File, old: Option<&[u8]>) -> io::Result<()> {
    if let Some(label) = old {
        return set(temp, label);
    }
    if !selinux_enabled() {
        return Ok(());
    }
    let Some(current) = get(temp)? else {
        return Ok(());
    };
    match with_type(&current, SECRET_TYPE) {
        Some(label) => set(temp, &label),
        None => Err(io::Error::from_raw_os_error(libc::EINVAL)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_only_the_type() {
        assert_eq!(
            with_type(b"unconfined_u:object_r:user_home_t:s0\0", SECRET_TYPE).unwrap(),
            b"unconfined_u:object_r:auth_home_t:s0\0"
        );
        assert_eq!(
            with_type(b"u:r:t:s0-s0:c0.c1023", "x_t").unwrap(),
            b"u:r:x_t:s0-s0:c0.c1023\0"
        );
        assert_eq!(with_type(b"u:r:t", "x_t").unwrap(), b"u:r:x_t\0");
        assert!(with_type(b"u:r", "x_t").is_none());
        assert!(with_type(b"u::t:s0", "x_t").is_none());
        assert!(with_type(b"", "x_t").is_none());
    }

    #[test]
    fn a_file_without_a_label_reads_as_none() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").unwrap();
        let file = File::open(&path).unwrap();
        // Without SELinux and without a label set by hand, there is none to read (or the
        // file system keeps no such attribute).
        if !selinux_enabled() {
            assert_eq!(get(&file).unwrap(), None);
        }
    }
}
