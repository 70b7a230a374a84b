//! Facts about the running process and machine that the setup command shows the user: who
//! runs it and the host name, which make the default label of the authenticator account.

use std::ffi::CStr;

/// The real user id of the process (the user who ran the command, also under setuid).
#[cfg(feature = "cli")]
#[must_use]
pub(crate) fn real_uid() -> u32 {
    // SAFETY: getuid takes no arguments, cannot fail and only reads the process credentials.
    unsafe { libc::getuid() }
}

/// The real and effective user ids of the process (for the failure log line, as `pam_unix`
/// writes them).
#[must_use]
pub(crate) fn uid_and_euid() -> (u32, u32) {
    // SAFETY: getuid and geteuid take no arguments, cannot fail and only read the process
    // credentials.
    unsafe { (libc::getuid(), libc::geteuid()) }
}

/// The host name from `gethostname(2)`, or `None` when it cannot be read or is empty.
///
/// The bytes are returned as they are; the kernel limits them to 64 bytes.
#[must_use]
pub fn hostname() -> Option<Vec<u8>> {
    // HOST_NAME_MAX is 64 on Linux; one more byte keeps room for the terminating NUL.
    let mut buf = [0u8; 256];
    // SAFETY: the pointer and length describe a live, writable local buffer; gethostname
    // writes at most `len` bytes into it.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len() - 1) };
    if rc != 0 {
        return None;
    }
    // The last byte was never handed to gethostname, so a NUL is always found.
    let name = CStr::from_bytes_until_nul(&buf).ok()?.to_bytes();
    if name.is_empty() {
        return None;
    }
    Some(name.to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_name_matches_the_kernel() {
        let expected = std::fs::read("/proc/sys/kernel/hostname").unwrap();
        let expected = expected.strip_suffix(b"\n").unwrap_or(&expected);
        assert_eq!(hostname().as_deref(), Some(expected));
    }

    #[test]
    fn the_real_uid_owns_a_new_file() {
        use std::os::unix::fs::MetadataExt;
        let file = tempfile::NamedTempFile::new().unwrap();
        // fsuid equals the real uid in a test process that never switched.
        assert_eq!(file.as_file().metadata().unwrap().uid(), real_uid());
    }
}
