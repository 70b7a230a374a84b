//! The only part of the crate that touches the operating system.
//!
//! Everything the authentication flow needs from the system goes through here, in small typed
//! pieces: looking users up in the passwd database ([`user`]), switching the calling thread's
//! filesystem identity to the target user and back ([`fsid`]), opening, checking, locking and
//! durably rewriting the secret file ([`store`], in the directory it was first found in: [`dir`]), reading the wall clock ([`clock`]), drawing
//! random bytes ([`random`]) and asking glibc which vector instructions the CPU allows
//! ([`simd`], for the skew search). Nothing here changes process-wide state (no umask, no `openlog`,
//! no working directory, no static buffers), so the module is safe to run in many threads of
//! one host process at once. Each module has its own error type; none of them carries a secret.

#[allow(clippy::disallowed_methods)] // files or the clock: what this module is for
pub mod clock;
#[allow(clippy::disallowed_methods)] // files or the clock: what this module is for
pub mod dir;
#[allow(clippy::disallowed_methods)] // files or the clock: what this module is for
pub mod fsid;
#[allow(clippy::disallowed_methods)] // files or the clock: what this module is for
pub mod host;
#[allow(clippy::disallowed_methods)] // files or the clock: what this module is for
pub mod install;
#[allow(clippy::disallowed_methods)] // files or the clock: what this module is for
pub mod label;
pub mod random;
pub mod simd;
#[allow(clippy::disallowed_methods)] // files or the clock: what this module is for
pub mod store;
pub mod terminal;
pub mod user;

/// The C library's text for an I/O error (what `strerror`/`perror` print), without the
/// " (os error N)" suffix the standard library adds. Log lines and messages quote it so they
/// read like the original tools'.
pub(crate) fn strerror(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(at) => text[..at].to_owned(),
        None => text,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn strerror_drops_the_os_error_number() {
        let e = std::io::Error::from_raw_os_error(libc::EACCES);
        assert_eq!(super::strerror(&e), "Permission denied");
    }
}
