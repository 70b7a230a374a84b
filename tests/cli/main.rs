//! The setup command `google-authenticator`: files, terminal, QR codes, logins with what it
//! wrote, and (root tier) other users, packages and `make install`.
//!
//! One test binary: each module below was a test binary of its own; `cargo test NAME`
//! still finds a test by name, `cargo test --test cli MODULE::` runs one module.

// Every binary includes the whole shared harness and uses a part of it. The modules
// below are public, as their items were when each was a crate of its own.
#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

pub mod cli_file;
pub mod cli_login;
pub mod cli_pty;
pub mod cli_qr;
pub mod cli_root;
pub mod deb_install;
