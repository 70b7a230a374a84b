//! Test harness: drives PAM modules through the real Linux-PAM library.
//!
//! * [`reference_module`], [`our_module`], [`driver`], [`set_authtok_module`]: the binaries.
//! * [`Stack`]: the lines of a PAM service file; [`Stack::probe`] adds the module under test.
//! * [`PamRun`]: a builder for one run of `pam_driver` (confdir, service, user, rhost,
//!   conversation, frozen clock, syslog capture); [`PamRun::run`] returns an [`Outcome`].
//! * [`run_many`]: N drivers started together behind a stdin-EOF barrier.
//! * Secret files and codes: [`write_secret`], [`current_user`], [`otp::totp_code`], [`otp::hotp_code`].
//!
//! Environment overrides: `GA_REFERENCE_MODULE` (path of Debian's module), `GA_LIBFAKETIME`
//! (path of `libfaketime.so.1`).

pub mod cli;
pub mod otp;
pub mod random;
pub mod sshd;
pub mod system;

/// Linux-PAM return codes used by the tests.
pub mod code {
    pub const SUCCESS: i32 = 0;
    pub const SERVICE_ERR: i32 = 3;
    pub const PERM_DENIED: i32 = 6;
    pub const AUTH_ERR: i32 = 7;
    pub const CONV_ERR: i32 = 19;
    pub const IGNORE: i32 = 25;
}

mod binaries;
mod faketime;
mod observe;
mod outcome;
mod run;
mod stack;
mod users;
mod wrapped;

// The harness's items keep the paths they had when all of them lived in this file. Each
// binary uses a part of them, so a re-export may go unused in one binary.
#[allow(unused_imports)]
pub use binaries::*;
#[allow(unused_imports)]
pub use faketime::*;
#[allow(unused_imports)]
pub use observe::*;
#[allow(unused_imports)]
pub use outcome::*;
#[allow(unused_imports)]
pub use run::*;
#[allow(unused_imports)]
pub use stack::*;
#[allow(unused_imports)]
pub use users::*;

/// Calls libpam from the calling process instead of through the driver: for the benchmark,
/// and for threads of one process that each type their own answer. No libfaketime here, so
/// modules see the real clock, and syslog is not captured.
pub mod pam_client;

pub mod in_process;
