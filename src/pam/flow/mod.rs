//! One authentication, from module arguments to result.
//!
//! The flow follows the original module's order (arguments, user, path, fs identity, file
//! checks, rate limit and grace period, prompt, code checks, write-back, result) but never
//! changes the file on what it read without the lock: every decision that changes the file
//! is taken on a fresh read under an exclusive lock and written durably before the result
//! is returned (see `DESIGN.md`, "The state update protocol"). A decision that changes
//! nothing (a right TOTP code without `DISALLOW_REUSE`, a wrong code without a rate limit)
//! is taken on a read without the lock, so logins that write nothing never wait for each
//! other; what was read before the prompt is used after it only while the file's name
//! still leads to that file, unchanged (checked with one `fstatat` once the answer is in).
//! A user typing slowly holds no lock.
//!
//! The flow talks to PAM only through the [`Pam`] trait and looks users and time up only
//! through [`System`], so the whole of it runs in tests with a scripted conversation.

use std::ffi::{CString, OsStr};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use zeroize::Zeroizing;

use crate::core::args::{FixedUser, Options, PassMode};
use crate::core::catalogue;
use crate::core::file::SecretFile;
use crate::core::log::{Level, LogLine, printable};
use crate::core::path::{self, Vars};
use crate::core::policy::{
    self, Accepted, Change, Ctx, LoopState, Pass, PassVerdict, PreVerdict, Source, Wanted,
};
use crate::core::sha1_lanes::Wide;
use crate::os::dir::SecretDir;
use crate::os::fsid::{FsIdError, FsIdGuard, FsIds, RestoreError};
use crate::os::store::{
    CheckError, Durability, LOCK_TIMEOUT, LockError, LockedFile, OpenedFile, PermPolicy, ReadError,
    WriteError, WriteStep,
};
use crate::os::strerror;
use crate::os::user::{LookupError, UserInfo};

mod accounts;
pub use accounts::{Edited, FileFacts, Judgement, Maintenance, Verdict, edit_for, judge, maintain};

/// How often a login reopens a file that was replaced while it waited for the lock.
const MAX_REOPENS: usize = 1000;

/// What the PAM application offers the module.
pub trait Pam {
    /// The user being authenticated (`pam_get_user`), if any.
    fn user(&mut self) -> Option<Vec<u8>>;
    /// PAM_RHOST, if set.
    fn rhost(&mut self) -> Option<Vec<u8>>;
    /// PAM_TTY, if set (only for the failure line; none by default).
    fn tty(&mut self) -> Option<Vec<u8>> {
        None
    }
    /// PAM_RUSER, if set (only for the failure line; none by default).
    fn ruser(&mut self) -> Option<Vec<u8>> {
        None
    }
    /// PAM_AUTHTOK, if a previous module set it.
    fn authtok(&mut self) -> Option<Zeroizing<Vec<u8>>>;
    /// Sets PAM_AUTHTOK; false on failure.
    fn set_authtok(&mut self, value: &[u8]) -> bool;
    /// Asks one question. `None` when the conversation failed or gave no answer.
    fn converse(&mut self, prompt: &[u8], echo: bool) -> Option<Zeroizing<Vec<u8>>>;
    /// Shows an error message; false on failure.
    fn error_message(&mut self, text: &str) -> bool;
    /// Logs a line.
    fn log(&mut self, level: Level, text: &str);
}

/// What the module asks of the system besides files.
pub trait System {
    /// The current Unix time, read once per attempt.
    fn now(&mut self) -> i64;
    /// Looks a user up by name.
    fn user_by_name(&mut self, name: &[u8]) -> Result<UserInfo, LookupError>;
    /// Looks a user up by uid.
    fn user_by_uid(&mut self, uid: u32) -> Result<UserInfo, LookupError>;
    /// Switches the calling thread's file-system ids to `ids` for one file access
    /// ([`FsIdGuard::switch`]; a test may make it fail).
    fn switch_ids(&mut self, ids: FsIds) -> Result<FsIdGuard, FsIdError> {
        FsIdGuard::switch(ids)
    }
    /// Switches them back ([`FsIdGuard::restore`]; a test may report a failure).
    fn restore_ids(&mut self, guard: FsIdGuard) -> Result<(), RestoreError> {
        guard.restore()
    }
    /// HMAC-SHA1 on the CPU's wide registers, if it has some (none by default: the codes
    /// are the same, computed four at a time).
    fn sha1_wide(&mut self) -> Option<Wide> {
        None
    }
    /// How long a login waits for another one's lock on the file before giving up
    /// ([`LOCK_TIMEOUT`]; a test may wait less).
    fn lock_timeout(&self) -> Duration {
        LOCK_TIMEOUT
    }
}

/// The real system.
#[derive(Debug, Default, Clone, Copy)]
pub struct RealSystem;

impl System for RealSystem {
    fn now(&mut self) -> i64 {
        crate::os::clock::now()
    }
    fn user_by_name(&mut self, name: &[u8]) -> Result<UserInfo, LookupError> {
        crate::os::user::by_name(name)
    }
    fn user_by_uid(&mut self, uid: u32) -> Result<UserInfo, LookupError> {
        crate::os::user::by_uid(uid)
    }
    fn sha1_wide(&mut self) -> Option<Wide> {
        crate::os::simd::sha1_wide()
    }
}

/// The result of an authentication, before it becomes a PAM return code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The user proved possession of the second factor (or is within the grace period).
    Success,
    /// Anything else.
    Failure,
    /// `nullok` and no secret file: let the rest of the stack decide.
    Ignore,
}

impl Outcome {
    /// `pam_strerror`'s text for the matching return code, for the debug end line.
    pub fn description(self) -> &'static str {
        match self {
            Outcome::Success => "Success",
            Outcome::Failure => "Authentication failure",
            Outcome::Ignore => "The return value should be ignored by PAM dispatch",
        }
    }
}

/// Runs one authentication.
pub fn authenticate<P: Pam, S: System, A: AsRef<[u8]>>(
    pam: &mut P,
    sys: &mut S,
    args: &[A],
) -> Outcome {
    let options = match Options::parse(args) {
        Ok(o) => o,
        Err(e) => {
            pam.log(Level::Err, &e.to_string());
            return Outcome::Failure;
        }
    };
    let Some(fixed_uid) = fixed_uid(pam, sys, &options) else {
        return Outcome::Failure;
    };
    let mut run = Run::new(pam, sys, &options);
    let outcome = run.authenticate(fixed_uid);
    if outcome == Outcome::Failure {
        run.log_failure();
    }
    run.debug(|r| catalogue::end(&r.user_text, outcome.description()));
    outcome
}

/// The uid named by `user=`, looked up once; `None` (logged) when the name is unknown.
fn fixed_uid<P: Pam, S: System>(
    pam: &mut P,
    sys: &mut S,
    options: &Options,
) -> Option<Option<u32>> {
    match &options.fixed_user {
        None => Some(None),
        Some(FixedUser::Uid(uid)) => Some(Some(*uid)),
        Some(FixedUser::Name(name)) => match sys.user_by_name(name) {
            Ok(info) => Some(Some(info.uid)),
            Err(_) => {
                let line = catalogue::fixed_user_unknown(&printable(name));
                pam.log(line.level, &line.text);
                None
            }
        },
    }
}

struct Run<'a, P: Pam, S: System> {
    pam: &'a mut P,
    sys: &'a mut S,
    options: &'a Options,
    user: Option<Vec<u8>>,
    user_text: String,
    path: Option<Vec<u8>>,
    path_text: String,
    /// The fs identity in use (the target user's uid, or nobody's).
    uid: u32,
    /// The time of this attempt, read once.
    now: i64,
    rhost: Option<Vec<u8>>,
    /// Line 1 of the file held a usable secret before the prompt.
    secret_ok: bool,
    /// State carried from the first-pass checks to the prompted ones.
    state: LoopState,
    /// The first write that failed, reported once the result is known.
    failed_write: Option<FailedWrite>,
    /// The target user's fsuid and fsgid, held only around file access.
    ids: FsIds,
    /// Switching to or back from the target user's ids failed: the attempt fails.
    identity_failed: bool,
    /// The directory the secret file was first opened in, and its name there.
    dir: Option<(Arc<SecretDir>, CString)>,
    /// The secret file did not exist when it was opened (ENOENT).
    not_found: bool,
    /// The file as read without the lock, while nothing has been written since and no
    /// prompt has been answered.
    snapshot: Option<Snapshot>,
    /// HMAC-SHA1 on the CPU's wide registers, if any (for the policy's TOTP checks).
    sha1_wide: Option<Wide>,
}

/// A write that failed, kept until the result is known.
struct FailedWrite {
    errno: Option<i32>,
}

/// A secret file that passed the checks and is held under the lock.
struct Held {
    locked: LockedFile,
    file: SecretFile,
}

/// A secret file that passed the checks, read without the lock. Decisions that leave the
/// file as it is are taken on it; one that changes the file is taken again on a fresh read
/// under the lock ([`Run::lock_snapshot`]).
struct Snapshot {
    opened: OpenedFile,
    file: SecretFile,
}

/// The passes of one step, run on a file in memory.
struct Trial {
    pending: Pending,
    changes: Vec<Change>,
    logs: Vec<LogLine>,
}

/// Where the passes left the attempt.
enum Pending {
    /// Not decided yet (more passes follow).
    Undecided,
    /// A code was accepted; the attempt succeeds once the password is handed on (when
    /// `forward_pass` asks for that).
    Accepted(Accepted),
    /// The attempt fails.
    Refused,
}

impl Trial {
    /// The attempt's result, given whether handing the password on worked.
    fn success(&self, handed_on: Option<bool>) -> Option<bool> {
        match self.pending {
            Pending::Undecided => None,
            Pending::Accepted(_) => Some(handed_on.unwrap_or(true)),
            Pending::Refused => Some(false),
        }
    }
}

/// What locking an opened file gave.
enum Locking {
    Held(Held),
    /// Another login replaced the file before the lock was obtained: open it again.
    Replaced,
    /// Unusable (logged).
    Failed,
}

impl<'a, P: Pam, S: System> Run<'a, P, S> {
    fn new(pam: &'a mut P, sys: &'a mut S, options: &'a Options) -> Self {
        Run {
            pam,
            sys,
            options,
            user: None,
            user_text: String::from("(null)"),
            path: None,
            path_text: String::new(),
            uid: 0,
            now: 0,
            rhost: None,
            secret_ok: false,
            state: LoopState::default(),
            failed_write: None,
            ids: FsIds { uid: 0, gid: 0 },
            identity_failed: false,
            dir: None,
            not_found: false,
            snapshot: None,
            sha1_wide: None,
        }
    }

    fn authenticate(&mut self, fixed_uid: Option<u32>) -> Outcome {
        let Some(uid) = self.prepare(fixed_uid) else {
            return Outcome::Failure;
        };
        let outcome = self.run_attempt(uid);
        if self.identity_failed {
            return Outcome::Failure;
        }
        outcome
    }

    /// Everything before the file is read: the user, the path, the fs identity (tried once).
    /// Returns the uid whose identity is used; `None` (logged) when the attempt fails here.
    fn prepare(&mut self, fixed_uid: Option<u32>) -> Option<u32> {
        self.user = self.pam.user().filter(|u| !u.is_empty());
        match &self.user {
            Some(u) => self.user_text = printable(u),
            None => self.say(catalogue::no_user_name()),
        }
        self.debug(|r| catalogue::start(&r.user_text));

        let target_uid = self.resolve_path(fixed_uid);
        let (uid, gid) = self.identity(target_uid)?;
        self.ids = FsIds { uid, gid };
        // The original switches before it reads the file, so a host that cannot switch fails
        // before any prompt with the original's log line. The first file access is that
        // switch when there is a file to read (see `run_attempt`); without one it is tried
        // here.
        if self.path.is_none() {
            self.as_user(|| ())?;
        }
        Some(uid)
    }

    /// Runs `f` (file access only: no logging, no conversation, no other call into the host)
    /// with the target user's filesystem ids, and switches back before anything else runs.
    ///
    /// `None` when the switch failed (logged, and the attempt fails). When switching back
    /// fails, `f`'s result is returned but the attempt is marked failed: the original exits
    /// the whole host process there; failing this login closed is enough.
    fn as_user<T>(&mut self, f: impl FnOnce() -> T) -> Option<T> {
        let guard = match self.sys.switch_ids(self.ids) {
            Ok(g) => g,
            Err(FsIdError::Uid { .. }) => {
                self.identity_failed = true;
                self.say(catalogue::uid_switch_failed(&self.user_text));
                return None;
            }
            Err(FsIdError::Gid { .. } | FsIdError::Restore(_)) => {
                self.identity_failed = true;
                self.say(catalogue::gid_switch_failed(&self.user_text, self.ids.gid));
                return None;
            }
        };
        let out = f();
        if let Err(e) = self.sys.restore_ids(guard) {
            self.identity_failed = true;
            self.say(catalogue::identity_restore_failed(&e.to_string()));
        }
        Some(out)
    }

    /// Computes the secret path; returns the uid whose identity is used, if known.
    fn resolve_path(&mut self, fixed_uid: Option<u32>) -> Option<u32> {
        let user = self.user.clone()?;
        let (home, uid) = match fixed_uid {
            Some(uid) => (None, uid),
            None => {
                let info = match self.sys.user_by_name(&user) {
                    Ok(info) => info,
                    Err(LookupError::NotFound) => {
                        self.say(catalogue::user_not_found(&self.user_text));
                        return None;
                    }
                    Err(LookupError::Os(code)) => {
                        self.say(catalogue::user_lookup_failed(&self.user_text, code));
                        return None;
                    }
                };
                let Some(home) = info.home.clone() else {
                    self.say(catalogue::no_home(&self.user_text));
                    return None;
                };
                if home.first() != Some(&b'/') {
                    self.say(catalogue::home_not_absolute(&self.user_text));
                    return None;
                }
                (Some(home), info.uid)
            }
        };
        match path::expand(
            &self.options.secret,
            Vars {
                home: home.as_deref(),
                user: &user,
            },
        ) {
            Ok(p) => {
                self.path_text = printable(&p);
                self.path = Some(p);
                Some(uid)
            }
            Err(e) => {
                self.err(e.to_string());
                None
            }
        }
    }

    /// The fs identity to switch to: the target user, or `nobody` when it is unknown.
    fn identity(&mut self, uid: Option<u32>) -> Option<(u32, u32)> {
        let uid = match uid {
            Some(uid) => uid,
            None => match self.sys.user_by_name(b"nobody") {
                Ok(info) => info.uid,
                Err(_) => {
                    self.say(catalogue::nobody_unknown());
                    return None;
                }
            },
        };
        match self.sys.user_by_uid(uid) {
            Ok(info) => Some((uid, info.gid)),
            Err(_) => {
                self.say(catalogue::uid_unknown(uid));
                None
            }
        }
    }

    fn run_attempt(&mut self, uid: u32) -> Outcome {
        self.uid = uid;
        self.now = self.sys.now();
        self.sha1_wide = self.sys.sha1_wide();
        self.rhost = self.pam.rhost();

        if let Some(outcome) = self.before_prompt() {
            return outcome;
        }
        if !self.secret_ok {
            self.say(catalogue::asking_anyway(&self.user_text));
        }

        // The first two passes: the password a previous module stored.
        let authtok = match self.options.pass_mode {
            PassMode::Prompt => None,
            PassMode::TryFirstPass | PassMode::UseFirstPass => self.pam.authtok(),
        };
        let prompts_follow = self.options.pass_mode != PassMode::UseFirstPass;
        let mut result = None;
        if let Some(authtok) = authtok.as_deref() {
            let passes = [Wanted::Verification, Wanted::Scratch].map(|wants| Pass {
                source: Source::Authtok,
                wants,
                candidate: Some(authtok),
            });
            result = self.decide(&passes, !prompts_follow);
        }

        // The last two passes: the prompted answer. A failed conversation prompts once more,
        // as the original does.
        if result.is_none() && prompts_follow {
            let first = self.prompt();
            let second = if first.is_none() { self.prompt() } else { None };
            let passes = [
                Pass {
                    source: Source::Prompt,
                    wants: Wanted::Verification,
                    candidate: first.as_deref().map(|v| &v[..]),
                },
                Pass {
                    source: Source::Prompt,
                    wants: Wanted::Scratch,
                    candidate: first.as_deref().or(second.as_deref()).map(|v| &v[..]),
                },
            ];
            result = self.decide(&passes, true);
        } else if result.is_none() {
            result = self.decide(&[], true);
        }

        let mut success = result == Some(true);
        if let Some(f) = self.failed_write.take() {
            self.report_write_failure(&f);
            if !self.options.allow_readonly {
                success = false;
            }
        }
        if success {
            Outcome::Success
        } else {
            Outcome::Failure
        }
    }

    /// Reads the file and takes the decisions before the prompt (rate limit, grace period).
    /// `Some` when the attempt ends there.
    ///
    /// The read is the first file access, with the first switch of fs ids: a host that
    /// cannot switch fails here, before any prompt. The decisions are taken on the file as
    /// read without the lock when they change nothing (no rate limit); otherwise again on a
    /// fresh read under the lock, and written.
    fn before_prompt(&mut self) -> Option<Outcome> {
        self.path.as_ref()?;
        let snapshot = match self.peek(true) {
            Ok(snapshot) => snapshot,
            Err(Missing) => return Some(Outcome::Ignore),
        };
        if self.identity_failed {
            return Some(Outcome::Failure);
        }
        let mut snapshot = snapshot?;
        // The policy changes the file in memory only along with a change it lists (the fuzz
        // target `policy` checks it); the one exception, a grace login, ends the attempt.
        let pre = policy::before_prompt(&mut snapshot.file, &self.ctx());
        let (pre, held) = if pre.changes.is_empty() {
            self.snapshot = Some(snapshot);
            (pre, None)
        } else {
            // Unusable under the lock (logged): the code is asked for anyway.
            let mut held = self.lock_snapshot(snapshot)?;
            (
                policy::before_prompt(&mut held.file, &self.ctx()),
                Some(held),
            )
        };
        self.emit(pre.logs.lines());
        self.secret_ok = pre.secret_ok;
        let written = match held {
            Some(held) => self.write(held, &pre.changes),
            None => Ok(()),
        };
        match pre.verdict {
            PreVerdict::Grace => Some(Outcome::Success),
            PreVerdict::RateLimitInvalid => Some(Outcome::Failure),
            PreVerdict::RateLimited => {
                if let Err(f) = written {
                    self.report_write_failure(&f);
                }
                Some(Outcome::Failure)
            }
            PreVerdict::Continue => {
                self.failed_write = written.err();
                None
            }
        }
    }

    /// Runs `passes`; when `last`, also finishes the attempt (HOTP advance, result line,
    /// grace record). Returns `Some(success)` once the attempt is decided.
    ///
    /// A decision that changes nothing is taken on the file as read without the lock (the
    /// read before the prompt, after it only while the file is unchanged). One that
    /// changes the file is taken again on a fresh read under the lock, and written before
    /// this returns: a one-time code is always used up under the lock.
    fn decide(&mut self, passes: &[Pass<'_>], last: bool) -> Option<bool> {
        // The password could not be handed on after a trial on the unlocked read.
        let mut forwarded = None;
        let mut held = None;
        if self.secret_ok {
            if self.snapshot.is_none() {
                self.snapshot = self.peek(false).unwrap_or_default();
            }
            if let Some(mut snapshot) = self.snapshot.take() {
                // The policy changes the file in memory only along with a change it lists
                // (checked by the fuzz target `policy`), so a trial without changes leaves
                // the snapshot as read.
                let mut state = self.state;
                let mut trial = self.run_passes(&mut snapshot.file, passes, last, &mut state);
                let assumed = trial.success(Some(true));
                self.conclude(&mut snapshot.file, &state, &mut trial, assumed);
                if trial.changes.is_empty() {
                    let decided = match &trial.pending {
                        Pending::Accepted(accepted) => {
                            Some(self.forward_password(passes, accepted))
                        }
                        _ => assumed,
                    };
                    if decided == assumed {
                        self.state = state;
                        self.emit(&trial.logs);
                        self.snapshot = Some(snapshot);
                        return decided;
                    }
                    forwarded = Some(false);
                }
                held = self.lock_snapshot(snapshot);
            }
        }
        // Without a usable file the passes still run, against nothing, so the attempt looks
        // the same from outside (prompts, result) whatever is wrong with the file.
        let mut nothing = SecretFile::from_bytes(Vec::new());
        let file = match held.as_mut() {
            Some(h) => &mut h.file,
            None => &mut nothing,
        };
        let mut state = self.state;
        let mut trial = self.run_passes(file, passes, last, &mut state);
        let decided = match (&trial.pending, forwarded) {
            (Pending::Accepted(accepted), None) => Some(self.forward_password(passes, accepted)),
            _ => trial.success(forwarded),
        };
        self.conclude(file, &state, &mut trial, decided);
        self.state = state;
        self.emit(&trial.logs);
        if let Some(h) = held
            && let Err(f) = self.write(h, &trial.changes)
        {
            self.failed_write.get_or_insert(f);
        }
        decided
    }

    /// The passes on `file` (changed in memory), up to the verdict.
    fn run_passes(
        &self,
        file: &mut SecretFile,
        passes: &[Pass<'_>],
        last: bool,
        state: &mut LoopState,
    ) -> Trial {
        let secret = file.decode_secret();
        let decision = policy::check_passes(
            file,
            secret.as_deref().map(|s| &s[..]),
            passes,
            state,
            &self.ctx(),
        );
        let pending = match decision.verdict {
            PassVerdict::Undecided if !last => Pending::Undecided,
            PassVerdict::Success(accepted) => Pending::Accepted(accepted),
            PassVerdict::Undecided | PassVerdict::Failure => Pending::Refused,
        };
        Trial {
            pending,
            changes: decision.changes,
            logs: decision.logs.lines().to_vec(),
        }
    }

    /// Finishes the attempt on `file` once it is decided (`success` is `Some`).
    fn conclude(
        &self,
        file: &mut SecretFile,
        state: &LoopState,
        trial: &mut Trial,
        success: Option<bool>,
    ) {
        if let Some(success) = success {
            let fin = policy::finish(file, success, state, &self.ctx());
            trial.changes.extend(fin.changes);
            trial.logs.extend(fin.logs.lines().iter().cloned());
        }
    }

    /// With `forward_pass`, hands the password in front of the accepted code to the next
    /// module. Returns whether the attempt still succeeds.
    fn forward_password(&mut self, passes: &[Pass<'_>], accepted: &Accepted) -> bool {
        if !self.options.forward_pass {
            return true;
        }
        let candidate = passes
            .iter()
            .find(|p| p.source == accepted.source() && p.wants == accepted.wants())
            .and_then(|p| p.candidate)
            .unwrap_or(b"");
        let prefix = &candidate[..accepted.prefix_len().min(candidate.len())];
        self.pam.set_authtok(prefix)
    }

    fn ctx(&self) -> Ctx<'_> {
        Ctx {
            now: self.now,
            path: &self.path_text,
            user: &self.user_text,
            rhost: self.rhost.as_deref(),
            options: self.options,
            sha1_wide: self.sha1_wide,
        }
    }

    /// Opens, checks, locks and reads the secret file. `Ok(None)` when it is unusable (the
    /// reason is logged); `Err(Missing)` when it does not exist and `nullok` applies.
    fn hold(&mut self, first: bool) -> Result<Option<Held>, Missing> {
        for _ in 0..MAX_REOPENS {
            let Some(opened) = self.open_checked(first)? else {
                return Ok(None);
            };
            match self.lock(opened, first) {
                Locking::Held(held) => return Ok(Some(held)),
                Locking::Replaced => {}
                Locking::Failed => return Ok(None),
            }
        }
        self.say(catalogue::keeps_changing(&self.path_text));
        Ok(None)
    }

    /// Opens, checks and reads the secret file without the lock (one switch of fs ids, for
    /// the open). As [`hold`](Self::hold) otherwise.
    fn peek(&mut self, first: bool) -> Result<Option<Snapshot>, Missing> {
        let Some(opened) = self.open_checked(first)? else {
            return Ok(None);
        };
        let Some(file) = self.read(&opened, first) else {
            return Ok(None);
        };
        Ok(Some(Snapshot { opened, file }))
    }

    /// Locks the file `snapshot` was read from and reads it again; opens it again when
    /// another login replaced it meanwhile. `None` when unusable (logged).
    fn lock_snapshot(&mut self, snapshot: Snapshot) -> Option<Held> {
        match self.lock(snapshot.opened, false) {
            Locking::Held(held) => Some(held),
            Locking::Replaced => self.hold(false).unwrap_or_default(),
            Locking::Failed => None,
        }
    }

    /// Opens the secret file as the user and checks it. `Ok(None)` when it is unusable or
    /// the switch of fs ids failed (logged).
    fn open_checked(&mut self, first: bool) -> Result<Option<OpenedFile>, Missing> {
        let Some(path_bytes) = self.path.clone() else {
            return Ok(None);
        };
        let path = Path::new(OsStr::from_bytes(&path_bytes));
        // After the first open, the file is looked for in the directory it was found in,
        // never through the path again (see `os::dir`).
        let dir = self.dir.clone();
        let Some(opened) = self.as_user(|| match dir {
            Some((dir, name)) => OpenedFile::open_in(dir, name),
            None => OpenedFile::open(path),
        }) else {
            return Ok(None);
        };
        let opened = match opened {
            Ok(f) => f,
            Err(e) if e.raw_os_error() == Some(libc::ENOENT) && self.options.nullok && first => {
                return Err(Missing);
            }
            Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
                self.say(catalogue::not_regular(&self.path_text));
                return Ok(None);
            }
            Err(e) => {
                self.not_found = e.raw_os_error() == Some(libc::ENOENT);
                self.say(catalogue::read_failed(
                    &self.path_text,
                    &self.user_text,
                    &strerror(&e),
                ));
                return Ok(None);
            }
        };
        if first {
            let mode = opened.mode() & 0o3777;
            self.debug(|r| catalogue::permissions_debug(mode, r.options.allowed_perm & 0o7777));
        }
        if self.dir.is_none() {
            let (dir, name) = opened.location();
            self.dir = Some((Arc::clone(dir), name.to_owned()));
        }
        if let Err(e) = opened.check(PermPolicy::only(self.options.allowed_perm), self.owner()) {
            self.log_check_error(e, self.uid);
            return Ok(None);
        }
        Ok(Some(opened))
    }

    /// The owner the file must have (none with `no_strict_owner`).
    fn owner(&self) -> Option<u32> {
        (!self.options.no_strict_owner).then_some(self.uid)
    }

    /// Locks an opened file, checks it again as it is under the lock, and reads it.
    fn lock(&mut self, opened: OpenedFile, first: bool) -> Locking {
        // The wait for the lock runs as the user too: it looks the path up again.
        let timeout = self.sys.lock_timeout();
        let Some(locked) = self.as_user(|| opened.lock(timeout)) else {
            return Locking::Failed;
        };
        let locked = match locked {
            Ok(l) => l,
            Err(LockError::Replaced) => return Locking::Replaced,
            Err(LockError::DirectoryReplaced) => {
                self.say(catalogue::directory_replaced(&self.path_text));
                return Locking::Failed;
            }
            Err(LockError::TimedOut) => {
                self.say(catalogue::lock_timed_out(&self.path_text));
                return Locking::Failed;
            }
            Err(LockError::Io(e)) => {
                self.say(catalogue::lock_failed(&self.path_text, &strerror(&e)));
                return Locking::Failed;
            }
        };
        // The file may have changed while we waited: check what is locked now.
        if let Err(e) = locked.check(PermPolicy::only(self.options.allowed_perm), self.owner()) {
            self.log_check_error(e, self.uid);
            return Locking::Failed;
        }
        match self.read(&locked, first) {
            Some(file) => Locking::Held(Held { locked, file }),
            None => Locking::Failed,
        }
    }

    /// Reads an opened (and checked) file. `None` when that fails (logged).
    fn read(&mut self, opened: &OpenedFile, first: bool) -> Option<SecretFile> {
        let mut bytes = match opened.read_contents() {
            Ok(b) => b,
            Err(ReadError::Nul) => {
                self.say(catalogue::contents(&self.path_text));
                return None;
            }
            Err(_) => {
                self.say(catalogue::unreadable(&self.path_text));
                return None;
            }
        };
        if first {
            self.debug(|r| catalogue::read(&r.path_text));
        }
        // The buffer moves into the file model (which wipes it), leaving nothing to copy.
        Some(SecretFile::from_bytes(std::mem::take(&mut *bytes)))
    }

    fn log_check_error(&mut self, e: CheckError, uid: u32) {
        let path = &self.path_text;
        let line = match e {
            CheckError::NotRegular => catalogue::not_regular(path),
            CheckError::Permissions { mode } => {
                catalogue::permissions(path, mode, self.options.allowed_perm & 0o7777)
            }
            CheckError::Owner { .. } => {
                let who = match &self.options.fixed_user {
                    Some(_) => format!("user id {uid}"),
                    None => self.user_text.clone(),
                };
                catalogue::wrong_owner(path, &who)
            }
            CheckError::Links { links } => catalogue::links(path, links),
            CheckError::Size { .. } => catalogue::size(path),
        };
        self.say(line);
    }

    /// Writes the file when `changes` is not empty, and lets go of the lock. Logs the
    /// failure's details at once.
    fn write(&mut self, held: Held, changes: &[Change]) -> Result<(), FailedWrite> {
        if changes.is_empty() {
            return Ok(());
        }
        self.write_now(held)
    }

    /// Writes the file as it is in memory, durably, under the lock held, which the write
    /// consumes.
    fn write_now(&mut self, held: Held) -> Result<(), FailedWrite> {
        let Held { locked, file } = held;
        let Some(written) = self.as_user(|| locked.replace(file.as_bytes())) else {
            return Err(FailedWrite { errno: None });
        };
        match written {
            Ok(written) => {
                if let Some(e) = &written.label_error {
                    self.say(catalogue::label_failed(&self.path_text, &strerror(e)));
                }
                if let Durability::DirectoryNotSynced(e) = written.durability {
                    self.say(catalogue::directory_not_synced(
                        &self.path_text,
                        &strerror(&e),
                    ));
                }
                self.debug(|r| catalogue::written(&r.path_text));
                Ok(())
            }
            Err(e) => {
                self.log_write_error(&e);
                Err(FailedWrite {
                    errno: e.error.raw_os_error(),
                })
            }
        }
    }

    fn log_write_error(&mut self, e: &WriteError) {
        let temp = e
            .temp
            .as_deref()
            .map(|t| printable(t.as_os_str().as_bytes()))
            .unwrap_or_default();
        let why = strerror(&e.error);
        let line = match e.step {
            WriteStep::CreateTemp => catalogue::temp_create_failed(&temp, &why),
            WriteStep::Write => catalogue::write_step_failed("write()", &why),
            WriteStep::Fsync => catalogue::write_step_failed("fsync()", &why),
            WriteStep::Close => catalogue::write_step_failed("close()", &why),
            WriteStep::Rename => catalogue::write_step_failed("rename()", &why),
            WriteStep::SyncDir => catalogue::directory_sync_failed(&self.path_text, &why),
        };
        self.say(line);
        if e.step == WriteStep::SyncDir {
            // The rename happened: say what the file holds now instead of "Failed to update".
            self.say(catalogue::new_state_not_durable(&self.path_text, &why));
            return;
        }
        if let Some(u) = &e.unlink_error {
            self.say(catalogue::temp_delete_failed(&temp, &strerror(u)));
        }
        self.say(catalogue::update_failed(&self.path_text, &why));
    }

    /// Tells the user about a failed write when the reason is one they can act on.
    fn report_write_failure(&mut self, f: &FailedWrite) {
        let Some(errno) = f.errno else { return };
        if matches!(
            errno,
            libc::EPERM | libc::ENOSPC | libc::EROFS | libc::EIO | libc::EDQUOT
        ) {
            let text = catalogue::write_error_message(&strerror(
                &std::io::Error::from_raw_os_error(errno),
            ));
            if !self.pam.error_message(&text) {
                self.say(catalogue::inform_failed());
            }
        }
    }

    fn prompt(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        let prompt = self.options.prompt().to_vec();
        let answer = self.pam.converse(&prompt, self.options.echo_code);
        // What was read before the prompt is used after it only if the file's name still
        // leads to that very file, unchanged (an administrator may have replaced, edited or
        // removed it meanwhile); otherwise the decisions on the answer take a new read.
        self.snapshot = self.snapshot.take().filter(|s| s.opened.is_current());
        if answer.as_ref().is_none_or(|a| a.is_empty()) {
            self.say(catalogue::no_code_received());
        }
        answer
    }

    /// The refusal in the form `pam_unix` logs it, with the client's address, so fail2ban
    /// (its `pam-generic` filter, or the filter in `contrib/fail2ban`) can ban by address on
    /// every service, not only sshd. Upstream's own lines, which name no address, stay as
    /// they are.
    fn log_failure(&mut self) {
        // PAM_RHOST was read once for the attempt; a failure before that reads it now.
        let rhost = match &self.rhost {
            Some(h) => Some(h.clone()),
            None => self.pam.rhost(),
        };
        let rhost = rhost.map(|h| printable(&h)).unwrap_or_default();
        let tty = self.pam.tty().map(|t| printable(&t)).unwrap_or_default();
        let ruser = self.pam.ruser().map(|u| printable(&u)).unwrap_or_default();
        let (uid, euid) = crate::os::host::uid_and_euid();
        let user = match &self.user {
            Some(_) => format!(" user={}", self.user_text),
            None => String::new(),
        };
        self.say(catalogue::authentication_failure(
            uid, euid, &tty, &ruser, &rhost, &user,
        ));
    }

    fn emit(&mut self, lines: &[LogLine]) {
        for l in lines {
            self.pam.log(l.level, &l.text);
        }
    }

    fn err(&mut self, text: impl AsRef<str>) {
        self.pam.log(Level::Err, text.as_ref());
    }

    /// Logs a line of the catalogue.
    fn say(&mut self, line: LogLine) {
        self.pam.log(line.level, &line.text);
    }

    /// Logs `debug: <text>` when `debug` is on; the text is only formatted then.
    fn debug(&mut self, text: impl FnOnce(&Self) -> String) {
        if self.options.debug {
            let line = format!("debug: {}", text(self));
            self.pam.log(Level::Info, &line);
        }
    }
}

/// `nullok` applies: the secret file does not exist.
struct Missing;
