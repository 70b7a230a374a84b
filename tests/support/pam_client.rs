//! The application side of libpam: the raw FFI a PAM client needs (start a transaction,
//! converse, read results) and [`authenticate_once`], one `pam_authenticate` answering every
//! prompt with the same text. Shared by the test driver, the in-process harness, the benchmark
//! and the demo through `#[path]` inclusion, so there is one copy of these declarations.
#![allow(dead_code)]

use std::ffi::{CStr, CString, c_char, c_int, c_void};

/// `PAM_SUCCESS`.
pub const PAM_SUCCESS: c_int = 0;
/// `PAM_BUF_ERR`.
pub const PAM_BUF_ERR: c_int = 5;
/// `PAM_CONV_ERR`.
pub const PAM_CONV_ERR: c_int = 19;
/// Message styles.
pub const PAM_PROMPT_ECHO_OFF: c_int = 1;
/// Message styles.
pub const PAM_PROMPT_ECHO_ON: c_int = 2;
/// Message styles.
pub const PAM_ERROR_MSG: c_int = 3;
/// Message styles.
pub const PAM_TEXT_INFO: c_int = 4;
/// Item types.
pub const PAM_AUTHTOK: c_int = 6;
/// Item types.
pub const PAM_RHOST: c_int = 4;
/// Item types.
pub const PAM_TTY: c_int = 3;
/// Item types.
pub const PAM_RUSER: c_int = 8;
/// `pam_setcred` flag.
pub const PAM_ESTABLISH_CRED: c_int = 0x0002;

/// An opaque `pam_handle_t`.
#[repr(C)]
pub struct PamHandle {
    _private: [u8; 0],
}

/// `struct pam_message`.
#[repr(C)]
pub struct PamMessage {
    pub msg_style: c_int,
    pub msg: *const c_char,
}

/// `struct pam_response`.
#[repr(C)]
pub struct PamResponse {
    pub resp: *mut c_char,
    pub resp_retcode: c_int,
}

/// The conversation callback.
pub type ConvFn = unsafe extern "C" fn(
    c_int,
    *mut *const PamMessage,
    *mut *mut PamResponse,
    *mut c_void,
) -> c_int;

/// `struct pam_conv`.
#[repr(C)]
pub struct PamConv {
    pub conv: Option<ConvFn>,
    pub appdata_ptr: *mut c_void,
}

#[link(name = "pam")]
unsafe extern "C" {
    pub fn pam_start(
        service: *const c_char,
        user: *const c_char,
        conv: *const PamConv,
        pamh: *mut *mut PamHandle,
    ) -> c_int;
    pub fn pam_start_confdir(
        service: *const c_char,
        user: *const c_char,
        conv: *const PamConv,
        confdir: *const c_char,
        pamh: *mut *mut PamHandle,
    ) -> c_int;
    pub fn pam_end(pamh: *mut PamHandle, status: c_int) -> c_int;
    pub fn pam_authenticate(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_acct_mgmt(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_setcred(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_open_session(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_close_session(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_chauthtok(pamh: *mut PamHandle, flags: c_int) -> c_int;
    pub fn pam_set_item(pamh: *mut PamHandle, item_type: c_int, item: *const c_void) -> c_int;
    pub fn pam_get_item(
        pamh: *const PamHandle,
        item_type: c_int,
        item: *mut *const c_void,
    ) -> c_int;
    pub fn pam_getenv(pamh: *mut PamHandle, name: *const c_char) -> *const c_char;
    pub fn pam_strerror(pamh: *mut PamHandle, errnum: c_int) -> *const c_char;
}

/// What [`authenticate_once`] saw.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Login {
    /// `pam_authenticate`'s return code.
    pub result: c_int,
    /// The prompts, in order.
    pub prompts: Vec<String>,
    /// `pam_strerror` of the result.
    pub message: String,
}

/// The user at the keyboard: the same answer to every prompt.
struct Typist {
    answer: CString,
    prompts: Vec<String>,
}

unsafe extern "C" fn conversation(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata_ptr: *mut c_void,
) -> c_int {
    let n = usize::try_from(num_msg).unwrap_or(0);
    if n == 0 || msg.is_null() || resp.is_null() {
        return PAM_CONV_ERR;
    }
    // SAFETY: `appdata_ptr` is the `Typist` of `authenticate_once`, alive for the whole
    // transaction and used only by the thread that runs it.
    let typist = unsafe { &mut *appdata_ptr.cast::<Typist>() };
    // SAFETY: libpam frees the array and every `resp` with free(), so they come from calloc
    // and strdup.
    let out = unsafe { libc::calloc(n, std::mem::size_of::<PamResponse>()) }.cast::<PamResponse>();
    if out.is_null() {
        return PAM_BUF_ERR;
    }
    for i in 0..n {
        // SAFETY: Linux-PAM passes an array of `num_msg` valid message pointers, each with a
        // NUL-terminated text owned by the module.
        let (style, text) = unsafe {
            let m = &**msg.add(i);
            (
                m.msg_style,
                CStr::from_ptr(m.msg).to_string_lossy().into_owned(),
            )
        };
        if style == PAM_PROMPT_ECHO_OFF || style == PAM_PROMPT_ECHO_ON {
            typist.prompts.push(text);
            // SAFETY: `i < n`, inside the calloc'ed array; strdup copies a valid C string.
            unsafe { (*out.add(i)).resp = libc::strdup(typist.answer.as_ptr()) };
        }
    }
    // SAFETY: `resp` is libpam's valid out-pointer.
    unsafe { *resp = out };
    PAM_SUCCESS
}

/// One `pam_start_confdir` / `pam_authenticate` / `pam_end` for `user` with the service
/// file `service` in `confdir`, answering every prompt with `answer`. Safe to call from many
/// threads at once. `None` when `pam_start_confdir` fails.
pub fn authenticate_once(
    confdir: &CStr,
    service: &CStr,
    user: &CStr,
    answer: &str,
) -> Option<Login> {
    let mut typist = Box::new(Typist {
        answer: CString::new(answer).unwrap_or_default(),
        prompts: Vec::new(),
    });
    let conv = PamConv {
        conv: Some(conversation),
        appdata_ptr: std::ptr::from_mut::<Typist>(&mut typist).cast(),
    };
    let mut pamh: *mut PamHandle = std::ptr::null_mut();
    // SAFETY: valid C strings; `conv` and `typist` outlive the handle (pam_end below).
    let rc = unsafe {
        pam_start_confdir(
            service.as_ptr(),
            user.as_ptr(),
            &raw const conv,
            confdir.as_ptr(),
            &raw mut pamh,
        )
    };
    if rc != PAM_SUCCESS || pamh.is_null() {
        return None;
    }
    // SAFETY: `pamh` is the live handle from pam_start_confdir.
    let result = unsafe { pam_authenticate(pamh, 0) };
    // SAFETY: pam_strerror returns a static string; it is copied before pam_end.
    let message = unsafe { CStr::from_ptr(pam_strerror(pamh, result)) }
        .to_string_lossy()
        .into_owned();
    // SAFETY: `pamh` is live and not used after this call.
    unsafe { pam_end(pamh, result) };
    Some(Login {
        result,
        prompts: typist.prompts,
        message,
    })
}
