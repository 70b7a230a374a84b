//! `pam_panics.so`: a PAM module for the tests (built as a `cdylib` example) whose
//! authenticate hook panics inside the module's panic boundary, `src/pam/guard.rs`, built in
//! from its source. It shows what a panic in the real module would leave in the host: the
//! host tests load it with `RUST_BACKTRACE=1` in the environment and check that nothing is
//! printed, nothing stays mapped after `pam_end` and no memory is left behind.
//!
//! `pam_sm_authenticate` returns PAM_AUTH_ERR after the caught panic; `pam_sm_setcred`
//! returns PAM_SUCCESS.

use std::ffi::{c_char, c_int, c_void};

#[path = "../../src/pam/guard.rs"]
mod guard;

const PAM_SUCCESS: c_int = 0;
const PAM_AUTH_ERR: c_int = 7;

/// The authenticate hook: panics (with an allocated message) inside the boundary.
#[unsafe(no_mangle)]
pub extern "C" fn pam_sm_authenticate(
    _pamh: *mut c_void,
    _flags: c_int,
    argc: c_int,
    _argv: *const *const c_char,
) -> c_int {
    guard::catch(|| -> c_int { panic!("a deliberate panic with {argc} arguments") })
        .unwrap_or(PAM_AUTH_ERR)
}

/// The credential hook.
#[unsafe(no_mangle)]
pub extern "C" fn pam_sm_setcred(
    _pamh: *mut c_void,
    _flags: c_int,
    _argc: c_int,
    _argv: *const *const c_char,
) -> c_int {
    PAM_SUCCESS
}
