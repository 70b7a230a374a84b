//! The size of the terminal the setup command prints to.
//!
//! The QR code needs a fixed number of columns; when the terminal is narrower the code would
//! wrap into something no camera can read, so the setup command asks the kernel how wide the
//! terminal is (`TIOCGWINSZ`) before drawing it.

use std::io::IsTerminal;
use std::os::fd::AsRawFd;

/// The number of columns of the terminal behind `stream`.
///
/// `None` when `stream` is not a terminal, or when the terminal does not know its size (a
/// pseudo-terminal whose size was never set reports 0 columns).
pub fn columns<S: AsRawFd + IsTerminal>(stream: &S) -> Option<u16> {
    if !stream.is_terminal() {
        return None;
    }
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one `struct winsize` through the pointer, which points to a
    // live, writable local of exactly that type; the descriptor is borrowed from `stream`,
    // which stays open for the call.
    let rc = unsafe { libc::ioctl(stream.as_raw_fd(), libc::TIOCGWINSZ, &mut size) };
    if rc != 0 || size.ws_col == 0 {
        return None;
    }
    Some(size.ws_col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_regular_file_has_no_columns() {
        let file = tempfile::tempfile().unwrap();
        assert_eq!(columns(&file), None);
    }
}
