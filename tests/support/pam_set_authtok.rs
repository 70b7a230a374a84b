//! `pam_set_authtok.so`: a small PAM module for the tests (built as a `cdylib` example).
//!
//! It models "the password arrives from a previous module" (upstream's first-pass modes)
//! and lets the driver see PAM_AUTHTOK, which libpam hides from applications.
//!
//! Arguments of `pam_sm_authenticate`:
//! * `prompt=TEXT`: prompt once (PAM_PROMPT_ECHO_OFF) with TEXT (default `Password: `) and
//!   store the answer as PAM_AUTHTOK. A conversation error or a NULL answer leaves
//!   PAM_AUTHTOK unset; the module still returns PAM_SUCCESS.
//! * `preset=VALUE`: set PAM_AUTHTOK to VALUE without prompting.
//! * `report`: do not prompt; publish the current PAM_AUTHTOK in the PAM environment as
//!   `PAM_TEST_AUTHTOK=hex:<hex bytes>`, or `PAM_TEST_AUTHTOK=unset`, and return PAM_IGNORE
//!   (so an `optional` report line never changes the stack's result).
//! * `mark=TEXT`: do not prompt; set `PAM_TEST_MARK=TEXT` in the PAM environment and return
//!   PAM_IGNORE. The harness puts such a line right after the module under test, reached only
//!   when that module returned PAM_IGNORE (libpam itself never returns PAM_IGNORE from
//!   `pam_authenticate`; an all-ignore stack gives PAM_PERM_DENIED).
//! * `result=success|ignore|auth_err`: the return value (default `success`; `report`
//!   defaults to `ignore`).
//!
//! Every other hook returns PAM_IGNORE.

use std::ffi::{CStr, CString, c_char, c_int, c_void};

use pam::constants::{PAM_PROMPT_ECHO_OFF, PamFlag, PamResultCode};
use pam::conv::Conv;
use pam::items::AuthTok;
use pam::module::{PamHandle, PamHooks};

#[link(name = "pam")]
unsafe extern "C" {
    fn pam_set_item(pamh: *mut PamHandle, item_type: c_int, item: *const c_void) -> c_int;
    fn pam_putenv(pamh: *mut PamHandle, name_value: *const c_char) -> c_int;
}

const PAM_AUTHTOK: c_int = 6;

struct SetAuthtok;
pam::pam_hooks!(SetAuthtok);

fn code(rc: c_int) -> PamResultCode {
    PamResultCode::try_from(rc).unwrap_or(PamResultCode::PAM_SYSTEM_ERR)
}

fn set_authtok(pamh: &mut PamHandle, value: &[u8]) -> PamResultCode {
    let Ok(value) = CString::new(value) else {
        return PamResultCode::PAM_BUF_ERR;
    };
    // SAFETY: `pamh` is the live handle libpam passed to this hook; libpam copies the string.
    let rc = unsafe { pam_set_item(pamh, PAM_AUTHTOK, value.as_ptr().cast()) };
    code(rc)
}

fn report(pamh: &mut PamHandle) -> PamResultCode {
    let value = match pamh.get_item::<AuthTok>() {
        Ok(Some(tok)) => {
            let hex: String = tok.as_bytes().iter().map(|b| format!("{b:02x}")).collect();
            format!("PAM_TEST_AUTHTOK=hex:{hex}")
        }
        _ => "PAM_TEST_AUTHTOK=unset".to_string(),
    };
    let Ok(value) = CString::new(value) else {
        return PamResultCode::PAM_BUF_ERR;
    };
    // SAFETY: `pamh` is the live handle libpam passed to this hook; libpam copies the string.
    code(unsafe { pam_putenv(pamh, value.as_ptr()) })
}

impl PamHooks for SetAuthtok {
    fn sm_authenticate(pamh: &mut PamHandle, args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        let mut prompt = "Password: ".to_string();
        let mut preset: Option<Vec<u8>> = None;
        let mut do_report = false;
        let mut mark: Option<Vec<u8>> = None;
        let mut result: Option<PamResultCode> = None;
        for arg in args {
            let arg = arg.to_bytes();
            if let Some(p) = arg.strip_prefix(b"prompt=") {
                prompt = String::from_utf8_lossy(p).into_owned();
            } else if let Some(v) = arg.strip_prefix(b"preset=") {
                preset = Some(v.to_vec());
            } else if let Some(m) = arg.strip_prefix(b"mark=") {
                mark = Some(m.to_vec());
            } else if arg == b"report" {
                do_report = true;
            } else if let Some(r) = arg.strip_prefix(b"result=") {
                result = Some(match r {
                    b"success" => PamResultCode::PAM_SUCCESS,
                    b"ignore" => PamResultCode::PAM_IGNORE,
                    b"auth_err" => PamResultCode::PAM_AUTH_ERR,
                    _ => return PamResultCode::PAM_SERVICE_ERR,
                });
            } else {
                return PamResultCode::PAM_SERVICE_ERR;
            }
        }
        if let Some(mark) = mark {
            let mut value = b"PAM_TEST_MARK=".to_vec();
            value.extend_from_slice(&mark);
            let Ok(value) = CString::new(value) else {
                return PamResultCode::PAM_BUF_ERR;
            };
            // SAFETY: `pamh` is the live handle libpam passed to this hook; libpam copies it.
            let rc = code(unsafe { pam_putenv(pamh, value.as_ptr()) });
            if rc != PamResultCode::PAM_SUCCESS {
                return rc;
            }
            return result.unwrap_or(PamResultCode::PAM_IGNORE);
        }
        if do_report {
            let rc = report(pamh);
            if rc != PamResultCode::PAM_SUCCESS {
                return rc;
            }
            return result.unwrap_or(PamResultCode::PAM_IGNORE);
        }
        if let Some(value) = preset {
            let rc = set_authtok(pamh, &value);
            if rc != PamResultCode::PAM_SUCCESS {
                return rc;
            }
        } else {
            let answer = match pamh.get_item::<Conv>() {
                Ok(Some(conv)) => conv.send(PAM_PROMPT_ECHO_OFF, &prompt).ok().flatten(),
                _ => None,
            };
            if let Some(answer) = answer {
                let rc = set_authtok(pamh, answer.as_bytes());
                if rc != PamResultCode::PAM_SUCCESS {
                    return rc;
                }
            }
        }
        result.unwrap_or(PamResultCode::PAM_SUCCESS)
    }

    fn sm_setcred(_pamh: &mut PamHandle, _args: Vec<&CStr>, _flags: PamFlag) -> PamResultCode {
        PamResultCode::PAM_SUCCESS
    }
}
