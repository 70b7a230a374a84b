//! `pam_driver`: a scripted PAM application for tests.
//!
//! It drives a PAM stack through the real Linux-PAM library (`pam_start` or
//! `pam_start_confdir`, `pam_authenticate`, optionally `pam_acct_mgmt`, `pam_end`)
//! and prints one event per line on stdout.
//!
//! ```text
//! pam_driver --service NAME [--confdir DIR] --user NAME [--rhost HOST] [--ruser NAME]
//!            [--tty NAME] [--flags N] [--conv MODE] [--answer STR]... [--answer-hex HEX]...
//!            [--answer-file PATH]... [--acct] [--setcred] [--session] [--chauthtok]
//!            [--wait-stdin-eof] [--threads N] [--show-clock] [--show-fsid] [--show-time]
//!            [--lookup-user] [--pause-at-prompt]
//! ```
//!
//! `--answer-file PATH` adds the contents of a file as one answer (for answers longer than
//! the kernel's limit on one command-line argument).
//!
//! Conversation modes (`--conv`):
//! * `script` (default): every PAM_PROMPT_ECHO_OFF/ECHO_ON prompt takes the next answer, in
//!   order; once the answers are used up the conversation returns PAM_CONV_ERR.
//! * `repeat`: every PAM_PROMPT_ECHO_OFF prompt gets the first answer (like sshd's
//!   password conversation); PAM_PROMPT_ECHO_ON returns PAM_CONV_ERR.
//! * `conv-error`: every call is recorded and returns PAM_CONV_ERR.
//! * `null`: every prompt gets a NULL `resp`; the call succeeds.
//! * `null-array`: the call succeeds with a NULL response array.
//!
//! PAM_ERROR_MSG and PAM_TEXT_INFO are recorded and answered with a NULL `resp`.
//!
//! Output lines (strings are quoted, see "Escaping" below):
//! ```text
//! conv_call <n> <num_msg>        each call of the conversation function, n counts from 1
//! prompt echo_off "<text>"       a PAM_PROMPT_ECHO_OFF message
//! prompt echo_on "<text>"        a PAM_PROMPT_ECHO_ON message
//! error "<text>"                 a PAM_ERROR_MSG message
//! info "<text>"                  a PAM_TEXT_INFO message
//! other <style> "<text>"         any other message style (answered with PAM_CONV_ERR)
//! conv_exhausted                 `script` mode ran out of answers (PAM_CONV_ERR returned)
//! result <NAME> <number>         the return value of pam_authenticate
//! authtok "<value>"              PAM_AUTHTOK after pam_authenticate, when known (see below)
//! mark "<text>"                 the PAM environment variable `PAM_TEST_MARK`, when set (the
//!                                harness's marker that the module under test returned
//!                                PAM_IGNORE, which libpam never returns itself)
//! acct <NAME> <number>           with --acct: the return value of pam_acct_mgmt
//! setcred <NAME> <number>        with --setcred: pam_setcred(PAM_ESTABLISH_CRED)
//! open_session <NAME> <number>   with --session: pam_open_session, then
//! close_session <NAME> <number>  pam_close_session
//! chauthtok <NAME> <number>      with --chauthtok: pam_chauthtok
//! conv_fsid <fsuid> <fsgid>      with --show-fsid, after each conv_call: the calling thread's
//!                                filesystem ids while the conversation function runs
//! elapsed_ns <n>                 with --show-time, after the result: the wall time
//!                                pam_authenticate took, in nanoseconds
//!
//! `--pause-at-prompt`: at each prompt the driver prints `paused` and waits for a line on
//! stdin before it answers, so a test can change the secret file while the user "types".
//!
//! `--lookup-user` looks the user up in the passwd database before `pam_start`, as sshd
//! does, so the name service modules are loaded before anything is timed.
//! clock <time> <sec>.<nsec>      with --show-clock, before pam_authenticate: what time() and
//!                                clock_gettime(CLOCK_REALTIME) return in this process
//! waiting                        with --wait-stdin-eof (no --threads): pam_start is done and
//!                                the driver now waits for EOF on stdin
//! end                            the sequence finished (pam_end was called)
//! ```
//! A failing `pam_start` prints `pam_start <NAME> <number>` and exits with status 2.
//! With `--threads N` every line starts with `t<i> ` (the thread index, from 0).
//!
//! PAM_AUTHTOK: Linux-PAM refuses PAM_AUTHTOK to applications (`pam_get_item` returns
//! PAM_BAD_ITEM outside modules). The driver tries `pam_get_item` anyway, then falls back to
//! the PAM environment variable `PAM_TEST_AUTHTOK`, which the test module
//! `pam_set_authtok.so report` publishes as `hex:<hex bytes>` (or `unset`).
//!
//! Escaping: a string is printed between double quotes. Bytes 0x20..=0x7e are printed as
//! they are, except `"` and `\`, which are printed as `\"` and `\\`. `\n`, `\r` and `\t`
//! stand for themselves; every other byte is printed as `\xHH` (two lower-case hex digits).
//! So each line is unambiguous and any byte string round-trips.
//!
//! Exit status: 0 when the driver itself worked (whatever PAM returned), 2 on a usage error
//! or a failing `pam_start`.

use std::ffi::{CStr, CString, c_int, c_void};
use std::io::{Read, Write};
use std::process::ExitCode;
use std::sync::{Arc, Barrier, Mutex};

#[path = "../tests/support/pam_client.rs"]
mod pam_client;
use pam_client::*;

/// Linux-PAM return codes by number (`_pam_types.h`), independent of `pam_strerror`.
const PAM_NAMES: [&str; 32] = [
    "PAM_SUCCESS",
    "PAM_OPEN_ERR",
    "PAM_SYMBOL_ERR",
    "PAM_SERVICE_ERR",
    "PAM_SYSTEM_ERR",
    "PAM_BUF_ERR",
    "PAM_PERM_DENIED",
    "PAM_AUTH_ERR",
    "PAM_CRED_INSUFFICIENT",
    "PAM_AUTHINFO_UNAVAIL",
    "PAM_USER_UNKNOWN",
    "PAM_MAXTRIES",
    "PAM_NEW_AUTHTOK_REQD",
    "PAM_ACCT_EXPIRED",
    "PAM_SESSION_ERR",
    "PAM_CRED_UNAVAIL",
    "PAM_CRED_EXPIRED",
    "PAM_CRED_ERR",
    "PAM_NO_MODULE_DATA",
    "PAM_CONV_ERR",
    "PAM_AUTHTOK_ERR",
    "PAM_AUTHTOK_RECOVERY_ERR",
    "PAM_AUTHTOK_LOCK_BUSY",
    "PAM_AUTHTOK_DISABLE_AGING",
    "PAM_TRY_AGAIN",
    "PAM_IGNORE",
    "PAM_ABORT",
    "PAM_AUTHTOK_EXPIRED",
    "PAM_MODULE_UNKNOWN",
    "PAM_BAD_ITEM",
    "PAM_CONV_AGAIN",
    "PAM_INCOMPLETE",
];

fn pam_name(code: c_int) -> String {
    usize::try_from(code)
        .ok()
        .and_then(|i| PAM_NAMES.get(i))
        .map_or_else(|| format!("PAM_UNKNOWN_{code}"), |s| (*s).to_string())
}

/// Quotes a byte string as described in the module documentation.
fn quote(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() + 2);
    out.push('"');
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    out.push('"');
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum ConvMode {
    Script,
    Repeat,
    ConvError,
    Null,
    NullArray,
}

struct Options {
    service: CString,
    confdir: Option<CString>,
    user: CString,
    rhost: Option<CString>,
    ruser: Option<CString>,
    tty: Option<CString>,
    flags: c_int,
    conv: ConvMode,
    answers: Vec<CString>,
    acct: bool,
    setcred: bool,
    session: bool,
    chauthtok: bool,
    wait_stdin_eof: bool,
    threads: Option<usize>,
    show_clock: bool,
    show_fsid: bool,
    show_time: bool,
    lookup_user: bool,
    pause_at_prompt: bool,
}

const USAGE: &str = "usage: pam_driver --service NAME [--confdir DIR] --user NAME [--rhost HOST] \
[--ruser NAME] [--tty NAME] [--flags N] [--conv script|repeat|conv-error|null|null-array] \
[--answer STR]... [--answer-hex HEX]... [--answer-file PATH]... [--acct] [--setcred] [--session] \
[--chauthtok] [--wait-stdin-eof] [--threads N] [--show-clock] [--show-fsid] [--show-time] \
[--lookup-user] [--pause-at-prompt]";

fn cstring(value: Vec<u8>, what: &str) -> Result<CString, String> {
    CString::new(value).map_err(|_| format!("{what} must not contain a NUL byte"))
}

fn decode_hex(hex: &str) -> Result<Vec<u8>, String> {
    if !hex.len().is_multiple_of(2) {
        return Err(format!("--answer-hex {hex:?}: odd number of digits"));
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            hex.get(i..i + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("--answer-hex {hex:?}: not hexadecimal"))
        })
        .collect()
}

fn parse_args() -> Result<Options, String> {
    use std::os::unix::ffi::OsStringExt;
    let mut args = std::env::args_os().skip(1).map(OsStringExt::into_vec);
    let mut service = None;
    let mut user = None;
    let mut opts = Options {
        service: CString::default(),
        confdir: None,
        user: CString::default(),
        rhost: None,
        ruser: None,
        tty: None,
        flags: 0,
        conv: ConvMode::Script,
        answers: Vec::new(),
        acct: false,
        setcred: false,
        session: false,
        chauthtok: false,
        wait_stdin_eof: false,
        threads: None,
        show_clock: false,
        show_fsid: false,
        show_time: false,
        lookup_user: false,
        pause_at_prompt: false,
    };
    while let Some(arg) = args.next() {
        let name = String::from_utf8_lossy(&arg).into_owned();
        let mut value = || args.next().ok_or_else(|| format!("{name} needs a value"));
        match name.as_str() {
            "--service" => service = Some(cstring(value()?, "--service")?),
            "--confdir" => opts.confdir = Some(cstring(value()?, "--confdir")?),
            "--user" => user = Some(cstring(value()?, "--user")?),
            "--rhost" => opts.rhost = Some(cstring(value()?, "--rhost")?),
            "--ruser" => opts.ruser = Some(cstring(value()?, "--ruser")?),
            "--tty" => opts.tty = Some(cstring(value()?, "--tty")?),
            "--flags" => {
                let v = value()?;
                opts.flags = String::from_utf8_lossy(&v)
                    .parse()
                    .map_err(|_| "--flags needs a number".to_string())?;
            }
            "--conv" => {
                opts.conv = match value()?.as_slice() {
                    b"script" => ConvMode::Script,
                    b"repeat" => ConvMode::Repeat,
                    b"conv-error" => ConvMode::ConvError,
                    b"null" => ConvMode::Null,
                    b"null-array" => ConvMode::NullArray,
                    other => {
                        return Err(format!(
                            "unknown --conv mode {}",
                            String::from_utf8_lossy(other)
                        ));
                    }
                }
            }
            "--answer" => opts.answers.push(cstring(value()?, "--answer")?),
            "--answer-hex" => {
                let v = value()?;
                let bytes = decode_hex(&String::from_utf8_lossy(&v))?;
                opts.answers.push(cstring(bytes, "--answer-hex")?);
            }
            "--answer-file" => {
                let v = value()?;
                let path = std::path::PathBuf::from(std::ffi::OsString::from_vec(v));
                let bytes = std::fs::read(&path)
                    .map_err(|e| format!("--answer-file {}: {e}", path.display()))?;
                opts.answers.push(cstring(bytes, "--answer-file")?);
            }
            "--acct" => opts.acct = true,
            "--setcred" => opts.setcred = true,
            "--session" => opts.session = true,
            "--chauthtok" => opts.chauthtok = true,
            "--show-clock" => opts.show_clock = true,
            "--show-fsid" => opts.show_fsid = true,
            "--show-time" => opts.show_time = true,
            "--lookup-user" => opts.lookup_user = true,
            "--pause-at-prompt" => opts.pause_at_prompt = true,
            "--wait-stdin-eof" => opts.wait_stdin_eof = true,
            "--threads" => {
                let v = value()?;
                let n: usize = String::from_utf8_lossy(&v)
                    .parse()
                    .map_err(|_| "--threads needs a number".to_string())?;
                if n == 0 {
                    return Err("--threads needs at least 1".into());
                }
                opts.threads = Some(n);
            }
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    opts.service = service.ok_or("--service is required")?;
    opts.user = user.ok_or("--user is required")?;
    Ok(opts)
}

/// Where one PAM sequence prints its lines.
struct Out {
    prefix: String,
}

impl Out {
    fn line(&self, text: &str) {
        let stdout = std::io::stdout();
        let mut lock = stdout.lock();
        // A closed stdout is no reason to change PAM's behaviour; ignore write errors.
        let _ = writeln!(lock, "{}{}", self.prefix, text);
        let _ = lock.flush();
    }
}

/// Conversation state, passed to libpam as `appdata_ptr`.
struct ConvState {
    mode: ConvMode,
    answers: Vec<CString>,
    next: usize,
    calls: usize,
    show_fsid: bool,
    pause_at_prompt: bool,
    out: Out,
}

/// Frees a response array built by [`conversation`] (and the strings in it).
///
/// # Safety
/// `resp` must come from `calloc(n, size_of::<PamResponse>())` with `n` entries whose `resp`
/// fields are NULL or `malloc`ed.
unsafe fn free_responses(resp: *mut PamResponse, n: usize) {
    for i in 0..n {
        // SAFETY: the caller guarantees `resp` has `n` initialised entries.
        let entry = unsafe { &mut *resp.add(i) };
        if !entry.resp.is_null() {
            // SAFETY: non-NULL `resp` strings were allocated with `strdup`.
            unsafe { libc::free(entry.resp.cast()) };
        }
    }
    // SAFETY: the array itself was allocated with `calloc`.
    unsafe { libc::free(resp.cast()) };
}

unsafe extern "C" fn conversation(
    num_msg: c_int,
    msg: *mut *const PamMessage,
    resp: *mut *mut PamResponse,
    appdata_ptr: *mut c_void,
) -> c_int {
    // SAFETY: `appdata_ptr` is the `ConvState` that `run_sequence` registered; it outlives
    // the PAM handle and is only used by the thread that owns the handle.
    let state = unsafe { &mut *appdata_ptr.cast::<ConvState>() };
    state.calls += 1;
    state
        .out
        .line(&format!("conv_call {} {}", state.calls, num_msg));
    if state.show_fsid {
        // An id of -1 is never valid, so these calls change nothing and give the current ids.
        // SAFETY: setfsuid/setfsgid take a plain integer and touch only this thread.
        let (uid, gid) = unsafe { (libc::setfsuid(u32::MAX), libc::setfsgid(u32::MAX)) };
        state.out.line(&format!("conv_fsid {uid} {gid}"));
    }
    let n = usize::try_from(num_msg).unwrap_or(0);
    if resp.is_null() || msg.is_null() || n == 0 {
        return PAM_CONV_ERR;
    }
    // SAFETY: `resp` was checked to be non-NULL; libpam passes a writable out-pointer.
    unsafe { *resp = std::ptr::null_mut() };

    let mut messages = Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: Linux-PAM passes an array of `num_msg` pointers to messages.
        let m = unsafe { &**msg.add(i) };
        let text = if m.msg.is_null() {
            Vec::new()
        } else {
            // SAFETY: message texts are NUL-terminated strings owned by the caller.
            unsafe { CStr::from_ptr(m.msg) }.to_bytes().to_vec()
        };
        let line = match m.msg_style {
            PAM_PROMPT_ECHO_OFF => format!("prompt echo_off {}", quote(&text)),
            PAM_PROMPT_ECHO_ON => format!("prompt echo_on {}", quote(&text)),
            PAM_ERROR_MSG => format!("error {}", quote(&text)),
            PAM_TEXT_INFO => format!("info {}", quote(&text)),
            other => format!("other {other} {}", quote(&text)),
        };
        state.out.line(&line);
        messages.push(m.msg_style);
    }

    if state.pause_at_prompt
        && messages
            .iter()
            .any(|s| matches!(*s, PAM_PROMPT_ECHO_OFF | PAM_PROMPT_ECHO_ON))
    {
        state.out.line("paused");
        let mut line = String::new();
        let _ = std::io::stdin().read_line(&mut line);
    }

    match state.mode {
        ConvMode::ConvError => return PAM_CONV_ERR,
        ConvMode::NullArray => return PAM_SUCCESS,
        _ => {}
    }

    // SAFETY: plain allocation; libpam (or the module) frees it with `free`.
    let array =
        unsafe { libc::calloc(n, std::mem::size_of::<PamResponse>()) }.cast::<PamResponse>();
    if array.is_null() {
        return PAM_BUF_ERR;
    }
    for (i, style) in messages.into_iter().enumerate() {
        let answer: Option<&CStr> = match (state.mode, style) {
            (_, PAM_ERROR_MSG | PAM_TEXT_INFO) | (ConvMode::Null, _) => None,
            (ConvMode::Script, PAM_PROMPT_ECHO_OFF | PAM_PROMPT_ECHO_ON) => {
                if let Some(a) = state.answers.get(state.next) {
                    state.next += 1;
                    Some(a.as_c_str())
                } else {
                    state.out.line("conv_exhausted");
                    // SAFETY: `array` has `n` entries, all NULL or strdup'ed so far.
                    unsafe { free_responses(array, n) };
                    return PAM_CONV_ERR;
                }
            }
            (ConvMode::Repeat, PAM_PROMPT_ECHO_OFF) if !state.answers.is_empty() => {
                Some(state.answers[0].as_c_str())
            }
            _ => {
                // SAFETY: as above.
                unsafe { free_responses(array, n) };
                return PAM_CONV_ERR;
            }
        };
        if let Some(a) = answer {
            // SAFETY: `a` is a valid C string; `strdup` copies it with malloc.
            let copy = unsafe { libc::strdup(a.as_ptr()) };
            if copy.is_null() {
                // SAFETY: as above.
                unsafe { free_responses(array, n) };
                return PAM_BUF_ERR;
            }
            // SAFETY: `i < n`, inside the calloc'ed array.
            unsafe { (*array.add(i)).resp = copy };
        }
    }
    // SAFETY: `resp` is a valid out-pointer (checked above).
    unsafe { *resp = array };
    PAM_SUCCESS
}

fn set_item(pamh: *mut PamHandle, item: c_int, value: Option<&CString>, out: &Out, name: &str) {
    if let Some(v) = value {
        // SAFETY: `pamh` is a live handle from pam_start; libpam copies the string.
        let rc = unsafe { pam_set_item(pamh, item, v.as_ptr().cast()) };
        if rc != PAM_SUCCESS {
            out.line(&format!("set_item {name} {} {rc}", pam_name(rc)));
        }
    }
}

/// Reads PAM_AUTHTOK after pam_authenticate (see the module documentation).
fn authtok(pamh: *mut PamHandle) -> Option<Vec<u8>> {
    let mut item: *const c_void = std::ptr::null();
    // SAFETY: `pamh` is a live handle; `item` is a valid out-pointer.
    let rc = unsafe { pam_get_item(pamh, PAM_AUTHTOK, &raw mut item) };
    if rc == PAM_SUCCESS && !item.is_null() {
        // SAFETY: PAM_AUTHTOK is a NUL-terminated string owned by libpam.
        return Some(unsafe { CStr::from_ptr(item.cast()) }.to_bytes().to_vec());
    }
    // SAFETY: `pamh` is live and the name is a valid C string.
    let env = unsafe { pam_getenv(pamh, c"PAM_TEST_AUTHTOK".as_ptr()) };
    if env.is_null() {
        return None;
    }
    // SAFETY: pam_getenv returns a NUL-terminated string owned by libpam.
    let value = unsafe { CStr::from_ptr(env) }.to_bytes();
    let hex = value.strip_prefix(b"hex:")?;
    decode_hex(&String::from_utf8_lossy(hex)).ok()
}

/// Runs one pam_start / pam_authenticate / [pam_acct_mgmt] / pam_end sequence.
/// `ready` is called between pam_start and pam_authenticate (the start barrier).
fn run_sequence(opts: &Options, out: Out, ready: &dyn Fn()) -> Result<(), ()> {
    if opts.lookup_user {
        let mut pwd = std::mem::MaybeUninit::<libc::passwd>::uninit();
        let mut buf = vec![0 as libc::c_char; 16 * 1024];
        let mut found: *mut libc::passwd = std::ptr::null_mut();
        // SAFETY: every pointer is valid for the call and `buf` is as long as said; the result
        // is not used (only the lookup's side effect of loading the NSS modules is wanted).
        unsafe {
            libc::getpwnam_r(
                opts.user.as_ptr(),
                pwd.as_mut_ptr(),
                buf.as_mut_ptr(),
                buf.len(),
                &raw mut found,
            )
        };
    }
    let mut state = Box::new(ConvState {
        mode: opts.conv,
        answers: opts.answers.clone(),
        next: 0,
        calls: 0,
        show_fsid: opts.show_fsid,
        pause_at_prompt: opts.pause_at_prompt,
        out,
    });
    let conv = PamConv {
        conv: Some(conversation),
        appdata_ptr: std::ptr::from_mut::<ConvState>(&mut state).cast(),
    };
    let mut pamh: *mut PamHandle = std::ptr::null_mut();
    let rc = match &opts.confdir {
        // SAFETY: all strings are valid C strings; `conv` outlives the handle (pam_end is
        // called below, before `conv` and `state` go out of scope).
        Some(dir) => unsafe {
            pam_start_confdir(
                opts.service.as_ptr(),
                opts.user.as_ptr(),
                &raw const conv,
                dir.as_ptr(),
                &raw mut pamh,
            )
        },
        // SAFETY: as above.
        None => unsafe {
            pam_start(
                opts.service.as_ptr(),
                opts.user.as_ptr(),
                &raw const conv,
                &raw mut pamh,
            )
        },
    };
    if rc != PAM_SUCCESS || pamh.is_null() {
        state.out.line(&format!("pam_start {} {rc}", pam_name(rc)));
        ready();
        return Err(());
    }
    set_item(
        pamh,
        PAM_RHOST,
        opts.rhost.as_ref(),
        &state.out,
        "PAM_RHOST",
    );
    set_item(
        pamh,
        PAM_RUSER,
        opts.ruser.as_ref(),
        &state.out,
        "PAM_RUSER",
    );
    set_item(pamh, PAM_TTY, opts.tty.as_ref(), &state.out, "PAM_TTY");

    if opts.show_clock {
        // SAFETY: time(NULL) has no preconditions.
        let t = unsafe { libc::time(std::ptr::null_mut()) };
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid out-parameter.
        unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &raw mut ts) };
        state
            .out
            .line(&format!("clock {t} {}.{:09}", ts.tv_sec, ts.tv_nsec));
    }
    ready();

    let started = std::time::Instant::now();
    // SAFETY: `pamh` is the live handle from pam_start.
    let rc = unsafe { pam_authenticate(pamh, opts.flags) };
    let elapsed = started.elapsed();
    // The conversation is finished; `state` is only read from here on.
    let state_ref = &state;
    state_ref.out.line(&format!("result {} {rc}", pam_name(rc)));
    if opts.show_time {
        state_ref
            .out
            .line(&format!("elapsed_ns {}", elapsed.as_nanos()));
    }
    if let Some(tok) = authtok(pamh) {
        state_ref.out.line(&format!("authtok {}", quote(&tok)));
    }
    // SAFETY: `pamh` is live and the name is a valid C string.
    let mark = unsafe { pam_getenv(pamh, c"PAM_TEST_MARK".as_ptr()) };
    if !mark.is_null() {
        // SAFETY: pam_getenv returns a NUL-terminated string owned by libpam.
        let text = unsafe { CStr::from_ptr(mark) }.to_bytes();
        state_ref.out.line(&format!("mark {}", quote(text)));
    }
    let mut last = rc;
    if opts.acct {
        // SAFETY: `pamh` is still live.
        let arc = unsafe { pam_acct_mgmt(pamh, opts.flags) };
        state_ref.out.line(&format!("acct {} {arc}", pam_name(arc)));
        last = arc;
    }
    let hooks: [(
        bool,
        &str,
        unsafe extern "C" fn(*mut PamHandle, c_int) -> c_int,
        c_int,
    ); 4] = [
        (opts.setcred, "setcred", pam_setcred, PAM_ESTABLISH_CRED),
        (opts.session, "open_session", pam_open_session, 0),
        (opts.session, "close_session", pam_close_session, 0),
        (opts.chauthtok, "chauthtok", pam_chauthtok, 0),
    ];
    for (wanted, name, hook, flags) in hooks {
        if wanted {
            // SAFETY: `pamh` is still live; every hook takes the handle and flags.
            let hrc = unsafe { hook(pamh, flags) };
            state_ref
                .out
                .line(&format!("{name} {} {hrc}", pam_name(hrc)));
        }
    }
    // SAFETY: `pamh` is live and not used after this call.
    unsafe { pam_end(pamh, last) };
    state_ref.out.line("end");
    Ok(())
}

fn wait_stdin_eof() {
    let mut sink = Vec::new();
    // An error reading stdin also releases the barrier.
    let _ = std::io::stdin().lock().read_to_end(&mut sink);
}

fn main() -> ExitCode {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(msg) => {
            if !msg.is_empty() {
                eprintln!("pam_driver: {msg}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let Some(threads) = opts.threads else {
        let out = Out {
            prefix: String::new(),
        };
        let ready = || {
            if opts.wait_stdin_eof {
                Out {
                    prefix: String::new(),
                }
                .line("waiting");
                wait_stdin_eof();
            }
        };
        return match run_sequence(&opts, out, &ready) {
            Ok(()) => ExitCode::SUCCESS,
            Err(()) => ExitCode::from(2),
        };
    };

    // Every thread runs pam_start, then waits at the barrier; the main thread joins the
    // barrier once stdin is closed (or at once), so all pam_authenticate calls start together.
    let barrier = Arc::new(Barrier::new(threads + 1));
    let failed = Arc::new(Mutex::new(false));
    let opts = Arc::new(opts);
    let handles: Vec<_> = (0..threads)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let failed = Arc::clone(&failed);
            let opts = Arc::clone(&opts);
            std::thread::spawn(move || {
                let out = Out {
                    prefix: format!("t{i} "),
                };
                let ready = || {
                    barrier.wait();
                };
                if run_sequence(&opts, out, &ready).is_err() {
                    *failed
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
                }
            })
        })
        .collect();
    if opts.wait_stdin_eof {
        wait_stdin_eof();
    }
    barrier.wait();
    for h in handles {
        if h.join().is_err() {
            *failed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = true;
        }
    }
    let failed = *failed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if failed {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}
