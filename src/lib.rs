//! A drop-in replacement for Google's `pam_google_authenticator.so`.
//!
//! The crate builds two things from one package: the PAM module (this library, built as a
//! `cdylib` and installed as `pam_google_authenticator.so`) and the `google-authenticator`
//! setup command (`src/bin`, a thin main over [`cli`]). Inside, the layers only import
//! downwards:
//!
//! * `cli`: the setup and audit commands (flags, questions, QR code, enrolment), behind
//!   the default feature `cli`, which the module does not need;
//! * [`pam`]: the PAM boundary (entry points, conversation, items, `pam_syslog`) and the
//!   authentication flow that ties the layers together;
//! * [`os`]: everything that touches the system (users, fs identity, the secret-file store,
//!   the clock, randomness);
//! * [`core`]: pure logic with no I/O, no clock and no `unsafe` (OTP maths, the secret-file
//!   model, module arguments, the decision policy).
//!
//! Unit tests live next to the code; the integration tests (the module through the real
//! libpam, the setup command, the root tier, end to end behind sshd and JupyterHub, the
//! differential tests against Debian's C module, one test per reference scenario) are
//! eight binaries under `tests/`, sharing one harness, `tests/support/`, and needing what
//! `make test-prereqs` makes; `tests/README.md` says where each kind of test goes.

// `unsafe` is allowed only in the boundary with the system: `os`, and the PAM glue in
// `pam::live` (with the entry points `pam_hooks!` generates in `pam`).
#![deny(unsafe_code)]
// A panic is caught at the PAM boundary and fails the login, but it is still a bug: the
// library says why an impossible case cannot happen instead of unwrapping it (tests may).
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// What the module must not call (clippy.toml): files, clock and environment outside src/os.
#![deny(clippy::disallowed_methods)]

// The setup and audit commands read their arguments, the environment and files.
#[cfg(feature = "cli")]
#[allow(clippy::disallowed_methods)]
pub mod cli;
pub mod core;
#[allow(unsafe_code)]
pub mod os;
pub mod pam;
