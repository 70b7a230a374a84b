//! The flow for the audit command: judging an account as a login would, without prompting
//! or writing ([`judge`]), and changing an account's secret file the way a login changes it
//! ([`maintain`]). Both run the login's own steps ([`Run`](super::Run)).

use std::sync::Arc;

use zeroize::Zeroizing;

use super::{Missing, Pam, Run, System, fixed_uid};
use crate::core::args::Options;
use crate::core::catalogue;
use crate::core::file::SecretFile;
use crate::core::log::{Level, printable};
use crate::core::policy::{self, PreVerdict};
use crate::os::strerror;

/// What the module would make of one account, found by running the module's own steps (user
/// lookup, path expansion, fs identity, open in the directory, the owner and permission
/// checks, the lock, size and NUL checks, rate-limit syntax and the secret) up to the point
/// where it would prompt. Nothing is written and nobody is asked anything.
#[must_use]
#[derive(Debug, Clone)]
pub struct Judgement {
    /// The verdict.
    pub verdict: Verdict,
    /// The module's error and warning lines for this account, in order: the reason for a
    /// refusal, in the words the module logs it.
    pub log: Vec<String>,
    /// The secret file as the module read it: when it is usable, and when only its
    /// verification codes are refused (a malformed `STEP_SIZE`, ...; scratch codes work).
    pub facts: Option<FileFacts>,
}

/// How the module would treat a login of one account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// A usable secret file: a login needs a valid code.
    Enrolled,
    /// No secret file and `nullok`: the module ignores the login and the rest of the stack
    /// decides (with `pam_permit` after it, the user gets in without a code).
    NoFileNullok,
    /// No secret file and no `nullok`: every login fails.
    NoFileRefused,
    /// Something exists but cannot be used (file, owner, mode, contents, user): every login
    /// fails, with or without `nullok` (with a malformed `STEP_SIZE`, `DIGITS`, `ALGORITHM`
    /// or `WINDOW_SIZE`, only scratch codes still work).
    LockedOut,
}

/// What a usable secret file holds, without its secret or codes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileFacts {
    /// The secret file's path.
    pub path: String,
    /// TOTP (`" TOTP_AUTH`), else HOTP.
    pub totp: bool,
    /// `STEP_SIZE`, as written.
    pub step: Option<String>,
    /// `WINDOW_SIZE`, as written.
    pub window: Option<String>,
    /// `DISALLOW_REUSE` is set.
    pub disallow_reuse: bool,
    /// `RATE_LIMIT`'s attempts and seconds (without the recorded timestamps).
    pub rate_limit: Option<String>,
    /// The rate limit refuses logins right now.
    pub rate_limited: bool,
    /// The number of scratch codes the module would accept.
    pub scratch_left: usize,
    /// The learned clock skew (`TIME_SKEW`, in steps), if any.
    pub skew: Option<String>,
    /// When the file last changed: the last accepted code, skew change or rate-limit record
    /// (or the enrolment).
    pub modified: Option<i64>,
    /// A leftover temporary file (`<name>~`) sits beside the secret.
    pub temp_left: bool,
}

/// Judges one account as the module with `options` would, without prompting or writing.
pub fn judge<S: System>(sys: &mut S, options: &Options, user: &[u8]) -> Judgement {
    let mut pam = Recorder {
        user: user.to_vec(),
        log: Vec::new(),
    };
    let verdict = match fixed_uid(&mut pam, sys, options) {
        None => (Verdict::LockedOut, None),
        Some(fixed) => {
            let mut run = Run::new(&mut pam, sys, options);
            let v = run.judge(fixed);
            if run.identity_failed {
                (Verdict::LockedOut, None)
            } else {
                v
            }
        }
    };
    Judgement {
        verdict: verdict.0,
        log: pam.log,
        facts: verdict.1,
    }
}

impl<P: Pam, S: System> Run<'_, P, S> {
    /// The audit's half of an attempt: as `run_attempt` up to the prompt, without writing.
    fn judge(&mut self, fixed_uid: Option<u32>) -> (Verdict, Option<FileFacts>) {
        let Some(uid) = self.prepare(fixed_uid) else {
            return (Verdict::LockedOut, None);
        };
        self.uid = uid;
        self.now = self.sys.now();
        if self.path.is_none() {
            return (Verdict::LockedOut, None);
        }
        let mut held = match self.hold(true) {
            Err(Missing) => return (Verdict::NoFileNullok, None),
            Ok(None) if self.not_found => return (Verdict::NoFileRefused, None),
            Ok(None) => return (Verdict::LockedOut, None),
            Ok(Some(held)) => held,
        };
        let pre = policy::before_prompt(&mut held.file, &self.ctx());
        self.emit(pre.logs.lines());
        if pre.verdict == PreVerdict::RateLimitInvalid || !pre.secret_ok {
            return (Verdict::LockedOut, None);
        }
        let file = &held.file;
        let text = |key: &str| file.get(key).map(printable);
        let temp_left = match self.dir.clone() {
            Some((dir, name)) => {
                let temp = crate::os::store::temp_name(&name);
                matches!(self.as_user(|| dir.entry(&temp)), Some(Ok(Some(_))))
            }
            None => false,
        };
        let facts = FileFacts {
            path: self.path_text.clone(),
            totp: file.is_totp(),
            step: text("STEP_SIZE"),
            window: text("WINDOW_SIZE"),
            disallow_reuse: file.get("DISALLOW_REUSE").is_some(),
            rate_limit: file.get("RATE_LIMIT").map(|v| {
                let v = printable(v);
                v.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
            }),
            rate_limited: pre.verdict == PreVerdict::RateLimited,
            scratch_left: file.scratch_codes().len(),
            skew: text("TIME_SKEW"),
            modified: held.locked.modified().ok(),
            temp_left,
        };
        // A malformed STEP_SIZE, DIGITS, ALGORITHM or WINDOW_SIZE fails every code (scratch
        // codes still work): refused for a login with a code.
        if let Some(line) = policy::code_option_problem(file, &self.ctx()) {
            self.err(line);
            return (Verdict::LockedOut, Some(facts));
        }
        (Verdict::Enrolled, Some(facts))
    }
}

/// What an administrator does to one account's secret file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Maintenance {
    /// Drop the rate-limit record (keep the limit itself).
    ResetRateLimit,
    /// Forget the learned clock skew (`TIME_SKEW`, `RESETTING_TIME_SKEW`).
    ClearSkew,
    /// Remove the secret file: with `nullok` the user then gets in without a code, without
    /// it they are refused.
    Disable,
}

/// Changes one account's secret file as root, the way a login changes it: found with the
/// module's path rules and checks, with the user's fs identity, under the module's lock,
/// written durably. `edit` changes the file in memory and says what it did; `Err` leaves
/// the file as it was. Returns the text of `edit`, or the module's log lines on failure.
pub fn maintain<S: System>(
    sys: &mut S,
    options: &Options,
    user: &[u8],
    edit: impl FnOnce(&mut SecretFile) -> Result<Edited, String>,
) -> Result<String, Vec<String>> {
    let mut pam = Recorder {
        user: user.to_vec(),
        log: Vec::new(),
    };
    let result = match fixed_uid(&mut pam, sys, options) {
        None => None,
        Some(fixed) => {
            let mut run = Run::new(&mut pam, sys, options);
            let done = run.maintain(fixed, edit);
            if run.identity_failed { None } else { done }
        }
    };
    match result {
        Some(text) if pam.log.is_empty() => Ok(text),
        Some(text) => Ok(format!("{text} ({})", pam.log.join("; "))),
        None => Err(pam.log),
    }
}

/// What an edit of [`maintain`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edited {
    /// What to tell the administrator.
    pub text: String,
    /// Remove the file instead of writing it.
    pub remove: bool,
}

impl Edited {
    /// A change to write back, described by `text`.
    pub fn text(text: impl Into<String>) -> Edited {
        Edited {
            text: text.into(),
            remove: false,
        }
    }
}

/// The edit of `maintain` for an operation without parameters.
pub fn edit_for(op: Maintenance) -> impl FnOnce(&mut SecretFile) -> Result<Edited, String> {
    move |file: &mut SecretFile| match op {
        Maintenance::ResetRateLimit => {
            let Some(value) = file.get("RATE_LIMIT").map(<[u8]>::to_vec) else {
                return Err("the file has no RATE_LIMIT line".into());
            };
            let limit: Vec<&[u8]> = value
                .split(|b| *b == b' ' || *b == b'\t')
                .filter(|f| !f.is_empty())
                .take(2)
                .collect();
            if limit.len() != 2 {
                return Err("the RATE_LIMIT line is malformed; fix it by hand".into());
            }
            file.set("RATE_LIMIT", &limit.join(&b' '))
                .map_err(|_| "cannot rewrite RATE_LIMIT".to_string())?;
            Ok(Edited::text("rate limit reset"))
        }
        Maintenance::ClearSkew => {
            let a = file.remove("TIME_SKEW");
            let b = file.remove("RESETTING_TIME_SKEW");
            Ok(Edited::text(if a || b {
                "learned clock skew cleared"
            } else {
                "no learned clock skew"
            }))
        }
        Maintenance::Disable => Ok(Edited {
            text: "second factor disabled (secret file removed)".into(),
            remove: true,
        }),
    }
}

impl<P: Pam, S: System> Run<'_, P, S> {
    fn maintain(
        &mut self,
        fixed_uid: Option<u32>,
        edit: impl FnOnce(&mut SecretFile) -> Result<Edited, String>,
    ) -> Option<String> {
        let uid = self.prepare(fixed_uid)?;
        self.uid = uid;
        self.now = self.sys.now();
        self.path.as_ref()?;
        let mut held = match self.hold(true) {
            Ok(Some(held)) => held,
            Ok(None) => return None,
            Err(Missing) => {
                self.say(catalogue::no_secret_file(&self.path_text));
                return None;
            }
        };
        let Edited { text, remove } = match edit(&mut held.file) {
            Ok(t) => t,
            Err(e) => {
                self.err(e);
                return None;
            }
        };
        if remove {
            let (dir, name) = held.locked.location();
            let (dir, name) = (Arc::clone(dir), name.to_owned());
            return match self.as_user(|| dir.remove(&name).and_then(|()| dir.sync())) {
                Some(Ok(_)) => Some(text),
                Some(Err(e)) => {
                    self.say(catalogue::remove_failed(&self.path_text, &strerror(&e)));
                    None
                }
                None => None,
            };
        }
        self.write_now(held).ok().map(|()| text)
    }
}

/// The PAM side of a judgement: the user is given, nobody answers, and the error and warning
/// lines are kept as the reason.
struct Recorder {
    user: Vec<u8>,
    log: Vec<String>,
}

impl Pam for Recorder {
    fn user(&mut self) -> Option<Vec<u8>> {
        Some(self.user.clone())
    }
    fn rhost(&mut self) -> Option<Vec<u8>> {
        None
    }
    fn authtok(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        None
    }
    fn set_authtok(&mut self, _: &[u8]) -> bool {
        false
    }
    fn converse(&mut self, _: &[u8], _: bool) -> Option<Zeroizing<Vec<u8>>> {
        None
    }
    fn error_message(&mut self, _: &str) -> bool {
        false
    }
    fn log(&mut self, level: Level, text: &str) {
        if matches!(level, Level::Err | Level::Warning) {
            self.log.push(text.to_owned());
        }
    }
}
