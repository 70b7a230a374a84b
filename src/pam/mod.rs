//! The PAM boundary: the exported entry points and the adapter between libpam and the
//! authentication [`flow`].
//!
//! `pam_sm_authenticate` runs the flow; `pam_sm_setcred` succeeds, as the original's does.
//! The binding exports the other four `pam_sm_*` hooks too; the original module has none of
//! them (libpam then answers PAM_MODULE_UNKNOWN), so ours give the same answer and log that
//! only the auth type is provided: such a stack line can never let anyone in. A panic
//! anywhere is caught here ([`guard`]), logged, and fails the login closed.

pub mod flow;
pub mod guard;
#[allow(unsafe_code)]
mod live;

use std::ffi::CStr;

use ::pam::constants::{PamFlag, PamResultCode};
use ::pam::module::{PamHandle, PamHooks};

use crate::core::catalogue;
use flow::{Outcome, RealSystem};

/// The module's hooks.
pub struct GoogleAuthenticator;

::pam::pam_hooks!(GoogleAuthenticator);

impl PamHooks for GoogleAuthenticator {
    fn sm_authenticate(pamh: &mut PamHandle, args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        let result = guard::catch(|| {
            let mut live = live::LivePam::new(pamh);
            let args: Vec<&[u8]> = args.iter().map(|a| a.to_bytes()).collect();
            flow::authenticate(&mut live, &mut RealSystem, &args)
        });
        match result {
            Some(outcome) => pam_code(outcome),
            None => {
                let line = catalogue::internal_error();
                live::log(pamh, line.level, &line.text);
                PamResultCode::PAM_AUTH_ERR
            }
        }
    }

    fn sm_setcred(_pamh: &mut PamHandle, _args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        PamResultCode::PAM_SUCCESS
    }

    fn acct_mgmt(pamh: &mut PamHandle, _args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        unsupported(pamh, "account")
    }

    fn sm_chauthtok(pamh: &mut PamHandle, _args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        unsupported(pamh, "password")
    }

    fn sm_open_session(pamh: &mut PamHandle, _args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        unsupported(pamh, "session")
    }

    fn sm_close_session(pamh: &mut PamHandle, _args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        unsupported(pamh, "session")
    }
}

/// The one place where outcomes become PAM return codes.
pub(crate) fn pam_code(outcome: Outcome) -> PamResultCode {
    match outcome {
        Outcome::Success => PamResultCode::PAM_SUCCESS,
        Outcome::Failure => PamResultCode::PAM_AUTH_ERR,
        Outcome::Ignore => PamResultCode::PAM_IGNORE,
    }
}

/// The answer of the hooks the original module does not have.
pub(crate) const UNSUPPORTED: PamResultCode = PamResultCode::PAM_MODULE_UNKNOWN;

fn unsupported(pamh: &mut PamHandle, kind: &str) -> PamResultCode {
    let _ = guard::catch(|| {
        let line = catalogue::wrong_stage(kind);
        live::log(pamh, line.level, &line.text);
    });
    UNSUPPORTED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_to_pam_code_table() {
        let table = [
            (Outcome::Success, PamResultCode::PAM_SUCCESS, 0),
            (Outcome::Failure, PamResultCode::PAM_AUTH_ERR, 7),
            (Outcome::Ignore, PamResultCode::PAM_IGNORE, 25),
        ];
        for (outcome, code, raw) in table {
            assert_eq!(pam_code(outcome), code);
            assert_eq!(pam_code(outcome) as i32, raw);
        }
        assert_eq!(UNSUPPORTED as i32, 28);
    }
}
