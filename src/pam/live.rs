//! The live PAM adapter: [`flow::Pam`](super::flow::Pam) on top of a real `pam_handle_t`.
//!
//! This file and the binding crate hold all of the module's PAM FFI. Items are copied out
//! of libpam's memory at once; answers and PAM_AUTHTOK live in buffers that are wiped.

use std::ffi::{CStr, CString};
use std::os::raw::{c_char, c_int};

use ::pam::constants::{PAM_ERROR_MSG, PAM_PROMPT_ECHO_OFF, PAM_PROMPT_ECHO_ON, PamResultCode};
use ::pam::conv::Conv;
use ::pam::items::{AuthTok, RHost, RUser, Tty};
use ::pam::module::PamHandle;
use zeroize::Zeroizing;

use super::flow::Pam;
use crate::core::log::Level;

const PAM_AUTHTOK: c_int = 6;

#[link(name = "pam")]
unsafe extern "C" {
    fn pam_syslog(pamh: *const PamHandle, priority: c_int, fmt: *const c_char, ...);
    fn pam_get_user(pamh: *mut PamHandle, user: *mut *const c_char, prompt: *const c_char)
    -> c_int;
    fn pam_set_item(pamh: *mut PamHandle, item_type: c_int, item: *const libc::c_void) -> c_int;
}

/// A live PAM handle.
pub struct LivePam<'a> {
    pamh: &'a mut PamHandle,
}

impl<'a> LivePam<'a> {
    /// Wraps the handle libpam passed to the hook.
    pub fn new(pamh: &'a mut PamHandle) -> Self {
        LivePam { pamh }
    }
}

/// Logs through `pam_syslog`, so the line carries the host's ident and the module and
/// service names, and the host's own `openlog` settings are left alone.
pub fn log(pamh: &PamHandle, level: Level, text: &str) {
    let priority = match level {
        Level::Err => libc::LOG_ERR,
        Level::Warning => libc::LOG_WARNING,
        Level::Notice => libc::LOG_NOTICE,
        Level::Info => libc::LOG_INFO,
    };
    let text = CString::new(text.replace('\0', "\\0")).unwrap_or_default();
    // SAFETY: `pamh` is the live handle libpam passed to this hook; the format is a constant
    // "%s" with exactly one matching NUL-terminated string argument, so no text from the
    // file or the user is ever interpreted as a format.
    unsafe { pam_syslog(pamh, priority, c"%s".as_ptr(), text.as_ptr()) };
}

impl Pam for LivePam<'_> {
    fn user(&mut self) -> Option<Vec<u8>> {
        let mut user: *const c_char = std::ptr::null();
        // SAFETY: the handle is live for the duration of the hook; `user` is a valid out
        // pointer; a NULL prompt asks libpam for its default prompt.
        let rc = unsafe { pam_get_user(self.pamh, &mut user, std::ptr::null()) };
        if rc != PamResultCode::PAM_SUCCESS as c_int || user.is_null() {
            return None;
        }
        // SAFETY: on success libpam returns a NUL-terminated string it owns, valid until the
        // item changes; it is copied at once.
        Some(unsafe { CStr::from_ptr(user) }.to_bytes().to_vec())
    }

    fn rhost(&mut self) -> Option<Vec<u8>> {
        match self.pamh.get_item::<RHost>() {
            Ok(Some(h)) => Some(h.0.to_bytes().to_vec()),
            _ => None,
        }
    }

    fn tty(&mut self) -> Option<Vec<u8>> {
        match self.pamh.get_item::<Tty>() {
            Ok(Some(t)) => Some(t.0.to_bytes().to_vec()),
            _ => None,
        }
    }

    fn ruser(&mut self) -> Option<Vec<u8>> {
        match self.pamh.get_item::<RUser>() {
            Ok(Some(u)) => Some(u.0.to_bytes().to_vec()),
            _ => None,
        }
    }

    fn authtok(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        match self.pamh.get_item::<AuthTok>() {
            Ok(Some(t)) => Some(Zeroizing::new(t.as_bytes().to_vec())),
            _ => None,
        }
    }

    fn set_authtok(&mut self, value: &[u8]) -> bool {
        let Ok(value) = CString::new(value.to_vec()) else {
            return false;
        };
        let value = Zeroizing::new(value.into_bytes_with_nul());
        // SAFETY: the handle is live; `value` is NUL-terminated (CString above) and outlives
        // the call; libpam copies PAM_AUTHTOK into its own memory.
        let rc = unsafe { pam_set_item(self.pamh, PAM_AUTHTOK, value.as_ptr().cast()) };
        rc == PamResultCode::PAM_SUCCESS as c_int
    }

    fn converse(&mut self, prompt: &[u8], echo: bool) -> Option<Zeroizing<Vec<u8>>> {
        let style = if echo {
            PAM_PROMPT_ECHO_ON
        } else {
            PAM_PROMPT_ECHO_OFF
        };
        let conv = match self.pamh.get_item::<Conv>() {
            Ok(Some(c)) => c,
            _ => return None,
        };
        match conv.send(style, &String::from_utf8_lossy(prompt)) {
            Ok(Some(answer)) => Some(Zeroizing::new(answer.as_bytes().to_vec())),
            _ => None,
        }
    }

    fn error_message(&mut self, text: &str) -> bool {
        match self.pamh.get_item::<Conv>() {
            Ok(Some(c)) => c.send(PAM_ERROR_MSG, text).is_ok(),
            _ => false,
        }
    }

    fn log(&mut self, level: Level, text: &str) {
        log(self.pamh, level, text);
    }
}
