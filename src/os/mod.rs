//! The only part of the crate that touches the operating system.
//!
//! Everything the authentication flow needs from the system goes through here, in small typed
//! pieces: looking users up in the passwd database ([`user`]), switching the calling thread's
//! filesystem identity to the target user and back ([`fsid`]), opening, checking, locking and
//! durably rewriting the secret file ([`store`]), reading the wall clock ([`clock`]) and drawing
//! random bytes ([`random`]). Nothing here changes process-wide state (no umask, no `openlog`,
//! no working directory, no static buffers), so the module is safe to run in many threads of
//! one host process at once. Each module has its own error type; none of them carries a secret.

pub mod clock;
pub mod fsid;
pub mod host;
pub mod install;
pub mod random;
pub mod store;
pub mod terminal;
pub mod user;
