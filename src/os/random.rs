//! Random bytes from the kernel.
//!
//! Used for the unguessable suffix of the temporary file that replaces the secret file (and by
//! the setup command for new secrets). It reads `getrandom(2)` directly: no file descriptor to
//! open, nothing that could fail because `/dev` is missing in a chroot, and no state kept
//! between calls.

use std::io;

/// Fills `buf` with random bytes from `getrandom(2)`.
///
/// Blocks only while the kernel's pool is not yet initialised at early boot. Interrupted and
/// partial reads are continued until the buffer is full.
pub fn fill(buf: &mut [u8]) -> io::Result<()> {
    let mut filled = 0;
    while filled < buf.len() {
        let rest = &mut buf[filled..];
        // SAFETY: `rest` is a live, writable slice; the kernel writes at most `rest.len()` bytes
        // into it and nothing else holds a reference to it during the call.
        let got = unsafe { libc::getrandom(rest.as_mut_ptr().cast(), rest.len(), 0) };
        if got < 0 {
            let error = io::Error::last_os_error();
            if error.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(error);
        }
        // `got` is non-negative here and at most `rest.len()`.
        filled += got.unsigned_abs();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fills_large_and_empty_buffers() {
        let mut empty = [];
        fill(&mut empty).unwrap();

        let mut big = vec![0u8; 1 << 20];
        fill(&mut big).unwrap();
        // 1 MiB of zeros from a working generator is not a realistic outcome.
        assert!(big.iter().any(|&b| b != 0));
    }

    #[test]
    fn two_draws_differ() {
        let mut a = [0u8; 32];
        let mut b = [0u8; 32];
        fill(&mut a).unwrap();
        fill(&mut b).unwrap();
        assert_ne!(a, b);
    }
}
