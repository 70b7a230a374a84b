//! The login flow (`flow::authenticate`) in-process, against a script of every call it makes.
//!
//! Each test writes down, in order, every question the flow asks the PAM application and
//! the system (user, remote host, PAM_AUTHTOK, each prompt with its answer, the clock, the
//! passwd lookups) and every line it logs, with the answer each call gets. The fakes take
//! the calls off the front of the one script: a call that is not the next step fails the
//! test at once, naming both, and a script not used up exactly fails it at the end. The
//! secret file is a real file in a private directory, owned by the process's own account
//! (the fake passwd entry), so the switch of fs ids needs no privileges. Log lines come
//! from the catalogue (`core::catalogue`), the texts admins match.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::{Duration, Instant};

use pam_google_authenticator::core::catalogue;
use pam_google_authenticator::core::log::{Level, LogLine};
use pam_google_authenticator::os::fsid::{FsIdError, FsIdGuard, FsIds, RestoreError, Stuck};
use pam_google_authenticator::os::user::{LookupError, UserInfo};
use pam_google_authenticator::pam::flow::{self, Outcome, Pam, System};
use zeroize::Zeroizing;

use crate::support::otp::{T, TEST_SECRET, totp_code, wrong_code_near};

const USER: &str = "gauth-script";

/// One call the flow is expected to make, with the answer it gets.
#[derive(Debug)]
enum Step {
    /// `pam_get_user`.
    User(Option<&'static str>),
    /// PAM_RHOST.
    Rhost(Option<&'static str>),
    /// PAM_TTY (the failure line).
    Tty,
    /// PAM_RUSER (the failure line).
    Ruser,
    /// PAM_AUTHTOK.
    Authtok(Option<String>),
    /// Setting PAM_AUTHTOK to this value; the answer says whether it worked.
    SetAuthtok(String, bool),
    /// A prompt with this text, answered with this (`None`: the conversation fails); the
    /// hook runs while the prompt is open.
    Converse(&'static str, Option<String>, Option<Hook>),
    /// A line logged.
    Log(LogLine),
    /// The clock.
    Now(i64),
    /// The passwd lookup of the PAM user by name.
    UserByName(&'static str),
    /// The passwd lookup of the account's uid.
    UserByUid,
    /// The question for a wide HMAC-SHA1 (the script answers none).
    Wide,
}

/// Something done to the secret file while the prompt is open.
struct Hook(Box<dyn FnOnce()>);

impl std::fmt::Debug for Hook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hook")
    }
}

/// One switch of the file-system ids, or one switch back, and how it ends. Scripts that
/// give none of these let every switch happen for real; one that gives some must use them
/// up, in order (a switch that succeeds happens for real).
#[derive(Debug)]
enum Ids {
    /// The switch to the user's ids: done, or refused with this error (nothing switched).
    Switch(Result<(), FsIdError>),
    /// The switch back: done, and then reported as failed with this error when given.
    Restore(Option<RestoreError>),
}

/// The script both fakes share, and the account they describe.
#[derive(Clone)]
struct Script {
    steps: Rc<RefCell<VecDeque<Step>>>,
    ids: Rc<RefCell<VecDeque<Ids>>>,
    /// Run before every switch of fs ids (every file access of the flow), with its count
    /// from 1: something another process does to the file at that moment.
    on_switch: Rc<RefCell<Option<OnSwitch>>>,
    switches: Rc<std::cell::Cell<usize>>,
    home: PathBuf,
}

type OnSwitch = Box<dyn FnMut(usize)>;

impl Script {
    fn next(&self, call: &str) -> Step {
        self.steps
            .borrow_mut()
            .pop_front()
            .unwrap_or_else(|| panic!("the flow called {call} after the end of the script"))
    }

    fn unexpected(call: &str, step: &Step) -> ! {
        panic!("the flow called {call}; the script expected {step:?}")
    }

    fn info(&self) -> UserInfo {
        // SAFETY: getuid and getgid take no arguments, cannot fail and touch no memory of ours.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        UserInfo {
            name: USER.as_bytes().to_vec(),
            uid,
            gid,
            home: Some(self.home.as_os_str().as_encoded_bytes().to_vec()),
        }
    }
}

struct ScriptPam(Script);
struct ScriptSystem(Script);

impl Pam for ScriptPam {
    fn user(&mut self) -> Option<Vec<u8>> {
        match self.0.next("user()") {
            Step::User(u) => u.map(|u| u.as_bytes().to_vec()),
            s => Script::unexpected("user()", &s),
        }
    }
    fn rhost(&mut self) -> Option<Vec<u8>> {
        match self.0.next("rhost()") {
            Step::Rhost(h) => h.map(|h| h.as_bytes().to_vec()),
            s => Script::unexpected("rhost()", &s),
        }
    }
    fn tty(&mut self) -> Option<Vec<u8>> {
        match self.0.next("tty()") {
            Step::Tty => None,
            s => Script::unexpected("tty()", &s),
        }
    }
    fn ruser(&mut self) -> Option<Vec<u8>> {
        match self.0.next("ruser()") {
            Step::Ruser => None,
            s => Script::unexpected("ruser()", &s),
        }
    }
    fn authtok(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        match self.0.next("authtok()") {
            Step::Authtok(t) => t.map(|t| Zeroizing::new(t.into_bytes())),
            s => Script::unexpected("authtok()", &s),
        }
    }
    fn set_authtok(&mut self, value: &[u8]) -> bool {
        let call = format!("set_authtok({:?})", String::from_utf8_lossy(value));
        match self.0.next(&call) {
            Step::SetAuthtok(want, ok) if want.as_bytes() == value => ok,
            s => Script::unexpected(&call, &s),
        }
    }
    fn converse(&mut self, prompt: &[u8], _echo: bool) -> Option<Zeroizing<Vec<u8>>> {
        let call = format!("converse({:?})", String::from_utf8_lossy(prompt));
        match self.0.next(&call) {
            Step::Converse(want, answer, hook) if want.as_bytes() == prompt => {
                if let Some(Hook(hook)) = hook {
                    hook();
                }
                answer.map(|a| Zeroizing::new(a.into_bytes()))
            }
            s => Script::unexpected(&call, &s),
        }
    }
    fn error_message(&mut self, text: &str) -> bool {
        panic!("the flow showed the user {text:?}; no script here expects a message")
    }
    fn log(&mut self, level: Level, text: &str) {
        let call = format!("log({level:?}, {text:?})");
        match self.0.next(&call) {
            Step::Log(want) if want.level == level && want.text == text => {}
            s => Script::unexpected(&call, &s),
        }
    }
}

impl System for ScriptSystem {
    fn now(&mut self) -> i64 {
        match self.0.next("now()") {
            Step::Now(t) => t,
            s => Script::unexpected("now()", &s),
        }
    }
    fn user_by_name(&mut self, name: &[u8]) -> Result<UserInfo, LookupError> {
        let call = format!("user_by_name({:?})", String::from_utf8_lossy(name));
        match self.0.next(&call) {
            Step::UserByName(want) if want.as_bytes() == name => Ok(self.0.info()),
            s => Script::unexpected(&call, &s),
        }
    }
    fn user_by_uid(&mut self, _uid: u32) -> Result<UserInfo, LookupError> {
        match self.0.next("user_by_uid()") {
            Step::UserByUid => Ok(self.0.info()),
            s => Script::unexpected("user_by_uid()", &s),
        }
    }
    fn switch_ids(&mut self, ids: FsIds) -> Result<FsIdGuard, FsIdError> {
        if let Some(f) = self.0.on_switch.borrow_mut().as_mut() {
            let n = self.0.switches.get() + 1;
            self.0.switches.set(n);
            f(n);
        }
        let planned = self.0.ids.borrow_mut().pop_front();
        match planned {
            None | Some(Ids::Switch(Ok(()))) => FsIdGuard::switch(ids),
            Some(Ids::Switch(Err(e))) => Err(e),
            Some(other) => panic!("the flow switched the fs ids; the plan expected {other:?}"),
        }
    }
    fn restore_ids(&mut self, guard: FsIdGuard) -> Result<(), RestoreError> {
        let planned = self.0.ids.borrow_mut().pop_front();
        let restored = guard.restore();
        match planned {
            None | Some(Ids::Restore(None)) => restored,
            Some(Ids::Restore(Some(e))) => Err(e),
            Some(other) => panic!("the flow switched the fs ids back; the plan expected {other:?}"),
        }
    }
    fn sha1_wide(&mut self) -> Option<pam_google_authenticator::core::sha1_lanes::Wide> {
        match self.0.next("sha1_wide()") {
            Step::Wide => None,
            s => Script::unexpected("sha1_wide()", &s),
        }
    }
    fn lock_timeout(&self) -> Duration {
        LOCK_WAIT
    }
}

/// How long the flow waits for a lock held by another login (10 s in the module).
const LOCK_WAIT: Duration = Duration::from_millis(200);

/// A private home with a secret file holding `contents` (mode 0600).
struct Home {
    dir: tempfile::TempDir,
}

impl Home {
    fn with(contents: &str) -> Home {
        let dir = tempfile::tempdir().expect("a private home");
        let home = Home { dir };
        home.write(contents);
        home
    }

    fn without_file() -> Home {
        Home {
            dir: tempfile::tempdir().expect("a private home"),
        }
    }

    fn file(&self) -> PathBuf {
        self.dir.path().join(".google_authenticator")
    }

    fn path_text(&self) -> String {
        self.file().display().to_string()
    }

    fn write(&self, contents: &str) {
        write_secret(&self.file(), contents);
    }

    fn contents(&self) -> String {
        fs::read_to_string(self.file()).expect("read the secret file")
    }

    /// Runs one login with `args` against `steps`; returns its outcome once the script is
    /// used up exactly.
    fn login(&self, args: &[&str], steps: Vec<Step>) -> Outcome {
        self.login_with_ids(args, steps, Vec::new())
    }

    /// [`login`](Self::login) with a plan for the switches of fs ids, used up as well.
    fn login_with_ids(&self, args: &[&str], steps: Vec<Step>, ids: Vec<Ids>) -> Outcome {
        self.run(args, steps, ids, None)
    }

    /// [`login`](Self::login) with `on_switch` run before every switch of fs ids.
    fn login_while(&self, args: &[&str], steps: Vec<Step>, on_switch: OnSwitch) -> Outcome {
        self.run(args, steps, Vec::new(), Some(on_switch))
    }

    fn run(
        &self,
        args: &[&str],
        steps: Vec<Step>,
        ids: Vec<Ids>,
        on_switch: Option<OnSwitch>,
    ) -> Outcome {
        let script = Script {
            steps: Rc::new(RefCell::new(steps.into())),
            ids: Rc::new(RefCell::new(ids.into())),
            on_switch: Rc::new(RefCell::new(on_switch)),
            switches: Rc::new(std::cell::Cell::new(0)),
            home: self.dir.path().to_owned(),
        };
        let outcome = flow::authenticate(
            &mut ScriptPam(script.clone()),
            &mut ScriptSystem(script.clone()),
            args,
        );
        let left: Vec<String> = script
            .steps
            .borrow()
            .iter()
            .map(|s| format!("{s:?}"))
            .collect();
        assert!(
            left.is_empty(),
            "the flow ended before these steps: {left:?}"
        );
        let ids: Vec<String> = script
            .ids
            .borrow()
            .iter()
            .map(|s| format!("{s:?}"))
            .collect();
        assert!(
            ids.is_empty(),
            "the flow ended before these switches: {ids:?}"
        );
        outcome
    }
}

fn write_secret(path: &Path, contents: &str) {
    fs::write(path, contents).expect("write the secret file");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod 0600");
}

/// The steps every login with a PAM user and a file in the home takes first: the user,
/// the passwd lookups, the clock, the wide-hash question and the remote host.
fn opening(rhost: Option<&'static str>) -> Vec<Step> {
    vec![
        Step::User(Some(USER)),
        Step::UserByName(USER),
        Step::UserByUid,
        Step::Now(T),
        Step::Wide,
        Step::Rhost(rhost),
    ]
}

/// The refusal line in `pam_unix`'s form, and the PAM items it reads.
/// Without a PAM_RHOST for the attempt, the line asks for it again.
fn failure_line() -> Vec<Step> {
    let mut steps = vec![Step::Rhost(None)];
    steps.extend(failure_line_from(""));
    steps
}

/// [`failure_line`] for an attempt from `rhost`.
fn failure_line_from(rhost: &str) -> Vec<Step> {
    // SAFETY: getuid and geteuid take no arguments, cannot fail and touch no memory of ours.
    let (uid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
    vec![
        Step::Tty,
        Step::Ruser,
        Step::Log(catalogue::authentication_failure(
            uid,
            euid,
            "",
            "",
            rhost,
            &format!(" user={USER}"),
        )),
    ]
}

fn code() -> String {
    totp_code(TEST_SECRET, T as u64)
}

fn wrong() -> String {
    wrong_code_near(T as u64, 100_000, 100_000)
}

const TOTP: &str = "2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n";
const PROMPT: &str = "Verification code: ";

fn steps(parts: Vec<Vec<Step>>) -> Vec<Step> {
    parts.into_iter().flatten().collect()
}

#[test]
fn a_right_code_at_the_prompt_is_accepted_and_nothing_is_written() {
    let home = Home::with(TOTP);
    let outcome = home.login(
        &[],
        steps(vec![
            opening(None),
            vec![
                Step::Converse(PROMPT, Some(code()), None),
                Step::Log(catalogue::accepted(USER)),
            ],
        ]),
    );
    assert_eq!(outcome, Outcome::Success);
    assert_eq!(home.contents(), TOTP, "a read-only login writes nothing");
}

#[test]
fn a_wrong_code_is_refused_with_upstreams_line_and_the_failure_line() {
    let home = Home::with(TOTP);
    let outcome = home.login(
        &["noskewadj"],
        steps(vec![
            opening(Some("192.0.2.7")),
            vec![
                Step::Converse(PROMPT, Some(wrong()), None),
                Step::Log(catalogue::invalid_code(USER)),
            ],
            failure_line_from("192.0.2.7"),
        ]),
    );
    assert_eq!(outcome, Outcome::Failure);
}

#[test]
fn after_a_failed_conversation_the_second_answer_counts_only_as_a_scratch_code() {
    // Upstream's double prompt: the second answer goes only to the scratch-code pass.
    let file = format!(
        "{TOTP}12345678
"
    );
    let home = Home::with(&file);
    let outcome = home.login(
        &[],
        steps(vec![
            opening(None),
            vec![
                Step::Converse(PROMPT, None, None),
                Step::Log(catalogue::no_code_received()),
                Step::Converse(PROMPT, Some(code()), None),
                Step::Log(catalogue::invalid_code(USER)),
            ],
            failure_line(),
        ]),
    );
    assert_eq!(outcome, Outcome::Failure);
    let outcome = home.login(
        &[],
        steps(vec![
            opening(None),
            vec![
                Step::Converse(PROMPT, None, None),
                Step::Log(catalogue::no_code_received()),
                Step::Converse(PROMPT, Some("12345678".into()), None),
                Step::Log(catalogue::accepted(USER)),
            ],
        ]),
    );
    assert_eq!(outcome, Outcome::Success);
    assert_eq!(home.contents(), TOTP, "the scratch code is used up");
}

#[test]
fn the_rate_limit_refuses_before_the_prompt_and_records_the_attempt() {
    let file = format!("{TOTP}\" RATE_LIMIT 2 30 {} {}\n", T - 2, T - 1);
    let home = Home::with(&file);
    let outcome = home.login(
        &[],
        steps(vec![
            opening(None),
            vec![Step::Log(catalogue::rate_limited(&home.path_text()))],
            failure_line(),
        ]),
    );
    assert_eq!(outcome, Outcome::Failure);
    assert!(
        home.contents()
            .contains(&format!("RATE_LIMIT 2 30 {} {T}", T - 1)),
        "the refused attempt is recorded: {}",
        home.contents()
    );
}

#[test]
fn a_malformed_rate_limit_refuses_without_a_prompt_or_a_write() {
    let file = format!("{TOTP}\" RATE_LIMIT 0 30\n");
    let home = Home::with(&file);
    let outcome = home.login(
        &[],
        steps(vec![
            opening(None),
            vec![Step::Log(catalogue::rate_limit_invalid(&home.path_text()))],
            failure_line(),
        ]),
    );
    assert_eq!(outcome, Outcome::Failure);
    assert_eq!(home.contents(), file);
}

#[test]
fn a_missing_file_with_nullok_is_ignored_without_a_prompt() {
    let home = Home::without_file();
    let outcome = home.login(
        &["nullok"],
        steps(vec![vec![
            Step::User(Some(USER)),
            Step::UserByName(USER),
            Step::UserByUid,
            Step::Now(T),
            Step::Wide,
            Step::Rhost(None),
        ]]),
    );
    assert_eq!(outcome, Outcome::Ignore);
}

#[test]
fn a_missing_file_without_nullok_is_refused_after_a_decoy_prompt() {
    let home = Home::without_file();
    let why = "No such file or directory";
    let outcome = home.login(
        &[],
        steps(vec![
            opening(None),
            vec![
                Step::Log(catalogue::read_failed(&home.path_text(), USER, why)),
                Step::Log(catalogue::asking_anyway(USER)),
                Step::Converse(PROMPT, Some(code()), None),
                Step::Log(catalogue::invalid_code(USER)),
            ],
            failure_line(),
        ]),
    );
    assert_eq!(outcome, Outcome::Failure);
}

#[test]
fn without_a_user_name_the_code_is_asked_for_and_refused() {
    // As upstream: the identity is nobody's, and the prompt still comes.
    // SAFETY: getuid and geteuid take no arguments, cannot fail and touch no memory of ours.
    let (uid, euid) = unsafe { (libc::getuid(), libc::geteuid()) };
    let home = Home::with(TOTP);
    let outcome = home.login(
        &[],
        vec![
            Step::User(None),
            Step::Log(catalogue::no_user_name()),
            Step::UserByName("nobody"),
            Step::UserByUid,
            Step::Now(T),
            Step::Wide,
            Step::Rhost(None),
            Step::Log(catalogue::asking_anyway("(null)")),
            Step::Converse(PROMPT, Some(code()), None),
            Step::Log(catalogue::invalid_code("(null)")),
            Step::Rhost(None),
            Step::Tty,
            Step::Ruser,
            Step::Log(catalogue::authentication_failure(uid, euid, "", "", "", "")),
        ],
    );
    assert_eq!(outcome, Outcome::Failure);
}

#[test]
fn try_first_pass_takes_the_code_from_pam_authtok_without_a_prompt() {
    let home = Home::with(TOTP);
    let outcome = home.login(
        &["try_first_pass"],
        steps(vec![
            opening(None),
            vec![
                Step::Authtok(Some(code())),
                Step::Log(catalogue::accepted(USER)),
            ],
        ]),
    );
    assert_eq!(outcome, Outcome::Success);
}

#[test]
fn try_first_pass_prompts_when_pam_authtok_holds_no_code() {
    let home = Home::with(TOTP);
    let outcome = home.login(
        &["try_first_pass"],
        steps(vec![
            opening(None),
            vec![
                Step::Authtok(Some("a password".into())),
                Step::Converse(PROMPT, Some(code()), None),
                Step::Log(catalogue::accepted(USER)),
            ],
        ]),
    );
    assert_eq!(outcome, Outcome::Success);
}

#[test]
fn forward_pass_hands_the_password_in_front_of_the_code_on() {
    let home = Home::with(TOTP);
    let outcome = home.login(
        &["forward_pass"],
        steps(vec![
            opening(None),
            vec![
                Step::Converse(
                    "Password & verification code: ",
                    Some(format!("hunter2{}", code())),
                    None,
                ),
                Step::SetAuthtok("hunter2".into(), true),
                Step::Log(catalogue::accepted(USER)),
            ],
        ]),
    );
    assert_eq!(outcome, Outcome::Success);
}

#[test]
fn a_scratch_code_is_used_up_under_the_lock() {
    let file = format!("{TOTP}12345678\n87654321\n");
    let home = Home::with(&file);
    let outcome = home.login(
        &[],
        steps(vec![
            opening(None),
            vec![
                Step::Converse(PROMPT, Some("12345678".into()), None),
                Step::Log(catalogue::accepted(USER)),
            ],
        ]),
    );
    assert_eq!(outcome, Outcome::Success);
    assert_eq!(home.contents(), format!("{TOTP}87654321\n"));
}

#[test]
fn a_file_replaced_during_the_prompt_is_opened_again_before_its_scratch_code_is_used() {
    let file = format!("{TOTP}12345678\n");
    let home = Home::with(&file);
    let path = home.file();
    let replacement = format!("{TOTP}12345678\n11111111\n");
    let hook = Hook(Box::new({
        let replacement = replacement.clone();
        move || {
            let temp = path.with_extension("new");
            write_secret(&temp, &replacement);
            fs::rename(&temp, &path).expect("rename the replacement into place");
        }
    }));
    let outcome = home.login(
        &[],
        steps(vec![
            opening(None),
            vec![
                Step::Converse(PROMPT, Some("12345678".into()), Some(hook)),
                Step::Log(catalogue::accepted(USER)),
            ],
        ]),
    );
    assert_eq!(outcome, Outcome::Success);
    assert_eq!(
        home.contents(),
        format!("{TOTP}11111111\n"),
        "the code is used up in the file now at the path, which keeps its other code"
    );
}

#[test]
fn debug_adds_its_lines_around_the_attempt() {
    let home = Home::with(TOTP);
    let path = home.path_text();
    let debug = |text: String| {
        Step::Log(LogLine {
            level: Level::Info,
            text: format!("debug: {text}"),
        })
    };
    let outcome = home.login(
        &["debug"],
        steps(vec![vec![
            Step::User(Some(USER)),
            debug(catalogue::start(USER)),
            Step::UserByName(USER),
            Step::UserByUid,
            Step::Now(T),
            Step::Wide,
            Step::Rhost(None),
            debug(catalogue::permissions_debug(0o600, 0o600)),
            debug(catalogue::read(&path)),
            debug(catalogue::secret_processed(&path)),
            debug(catalogue::for_host("(null)")),
            Step::Converse(PROMPT, Some(code()), None),
            debug(catalogue::no_scratch_used(&path)),
            Step::Log(catalogue::accepted(USER)),
            debug(catalogue::end(USER, "Success")),
        ]]),
    );
    assert_eq!(outcome, Outcome::Success);
}

#[test]
fn disallow_reuse_records_the_step_and_refuses_it_the_second_time() {
    let file = format!("{TOTP}\" DISALLOW_REUSE\n");
    let home = Home::with(&file);
    let accepted = steps(vec![
        opening(None),
        vec![
            Step::Converse(PROMPT, Some(code()), None),
            Step::Log(catalogue::accepted(USER)),
        ],
    ]);
    assert_eq!(home.login(&[], accepted), Outcome::Success);
    assert_eq!(
        home.contents(),
        format!("{TOTP}\" DISALLOW_REUSE {}\n", T / 30)
    );
    let refused = steps(vec![
        opening(None),
        vec![
            Step::Converse(PROMPT, Some(code()), None),
            Step::Log(catalogue::code_reused(&home.path_text(), 30)),
            Step::Log(catalogue::invalid_code(USER)),
        ],
        failure_line(),
    ]);
    assert_eq!(home.login(&[], refused), Outcome::Failure);
}

#[test]
fn a_hotp_code_advances_the_counter() {
    let file = "2SH3V3GDW7ZNMGYE\n\" HOTP_COUNTER 1\n";
    let home = Home::with(file);
    let outcome = home.login(
        &[],
        steps(vec![
            opening(None),
            vec![
                Step::Converse(
                    PROMPT,
                    Some(crate::support::otp::hotp_code(TEST_SECRET, 1)),
                    None,
                ),
                Step::Log(catalogue::accepted(USER)),
            ],
        ]),
    );
    assert_eq!(outcome, Outcome::Success);
    assert_eq!(home.contents(), "2SH3V3GDW7ZNMGYE\n\" HOTP_COUNTER 2\n");
}

#[test]
fn within_the_grace_period_no_code_is_asked() {
    let file = format!("{TOTP}\" LAST0 192.0.2.7 {}\n", T - 60);
    let home = Home::with(&file);
    let outcome = home.login(
        &["grace_period=3600"],
        steps(vec![
            opening(Some("192.0.2.7")),
            vec![Step::Log(catalogue::within_grace_period(USER))],
        ]),
    );
    assert_eq!(outcome, Outcome::Success);
    assert_eq!(
        home.contents(),
        file,
        "nothing written within the grace period"
    );
}

/// A directory where the write's temporary file goes (`<file>~`): the write fails whoever
/// runs the test, root included.
fn block_the_write(home: &Home) -> PathBuf {
    let mut temp = home.file().into_os_string();
    temp.push("~");
    let temp = PathBuf::from(temp);
    fs::create_dir(&temp).expect("a directory in the temporary file's place");
    temp
}

/// The lines of a write that could not create its temporary file.
fn failed_write(home: &Home, temp: &Path) -> Vec<Step> {
    let why = "File exists";
    vec![
        Step::Log(catalogue::temp_create_failed(
            &temp.display().to_string(),
            why,
        )),
        Step::Log(catalogue::update_failed(&home.path_text(), why)),
    ]
}

#[test]
fn a_failed_write_fails_the_login_that_used_a_scratch_code() {
    let file = format!("{TOTP}12345678\n");
    let home = Home::with(&file);
    let temp = block_the_write(&home);
    let outcome = home.login(
        &[],
        steps(vec![
            opening(None),
            vec![
                Step::Converse(PROMPT, Some("12345678".into()), None),
                Step::Log(catalogue::accepted(USER)),
            ],
            failed_write(&home, &temp),
            failure_line(),
        ]),
    );
    assert_eq!(outcome, Outcome::Failure);
    assert_eq!(home.contents(), file, "the scratch code is still there");
}

#[test]
fn with_allow_readonly_a_failed_write_lets_the_login_through() {
    let file = format!("{TOTP}\" DISALLOW_REUSE\n");
    let home = Home::with(&file);
    let temp = block_the_write(&home);
    let outcome = home.login(
        &["allow_readonly"],
        steps(vec![
            opening(None),
            vec![
                Step::Converse(PROMPT, Some(code()), None),
                Step::Log(catalogue::accepted(USER)),
            ],
            failed_write(&home, &temp),
        ]),
    );
    assert_eq!(outcome, Outcome::Success);
    assert_eq!(home.contents(), file, "nothing recorded");
}

// ----------------------------------------------------------------------------------------
// The file changed while the prompt is open: what was read before the prompt is used after
// it only while the file is unchanged.

const OTHER_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY";

/// The steps of one prompted login in which `hook` changes the file while the prompt is
/// open and the typed `answer` is then judged with `then`.
fn prompted_with(answer: String, hook: impl FnOnce() + 'static, then: Vec<Step>) -> Vec<Step> {
    steps(vec![
        opening(None),
        vec![Step::Converse(
            PROMPT,
            Some(answer),
            Some(Hook(Box::new(hook))),
        )],
        then,
    ])
}

fn refused() -> Vec<Step> {
    steps(vec![
        vec![Step::Log(catalogue::invalid_code(USER))],
        failure_line(),
    ])
}

fn replace_by_rename(path: &Path, contents: &str) {
    let temp = path.with_extension("new");
    write_secret(&temp, contents);
    fs::rename(&temp, path).expect("rename the new secret file into place");
}

/// The same number of bytes written over the file in place, after a pause longer than the
/// file system's clock tick (kernels before 6.13 stamp changes with a tick of a few
/// milliseconds), so the change shows in the file's times.
fn edit_in_place(path: &Path, contents: &str) {
    std::thread::sleep(std::time::Duration::from_millis(30));
    let before = fs::metadata(path).expect("stat the secret file").len();
    assert_eq!(contents.len() as u64, before, "the edit keeps the size");
    fs::write(path, contents).expect("rewrite the secret file in place");
}

#[test]
fn a_secret_renamed_over_the_file_during_the_prompt_counts_for_the_answer() {
    let new = format!("{OTHER_SECRET}\n\" TOTP_AUTH\n");
    for (typed, then) in [
        (code(), refused()),
        (
            totp_code(OTHER_SECRET, T as u64),
            vec![Step::Log(catalogue::accepted(USER))],
        ),
    ] {
        let home = Home::with(TOTP);
        let (path, new) = (home.file(), new.clone());
        let script = prompted_with(typed, move || replace_by_rename(&path, &new), then);
        home.login(&[], script);
    }
}

#[test]
fn a_secret_edited_in_place_during_the_prompt_counts_for_the_answer() {
    let new = "ABCDEFGHIJKLMNOP\n\" TOTP_AUTH\n";
    for (typed, then) in [
        (code(), refused()),
        (
            totp_code("ABCDEFGHIJKLMNOP", T as u64),
            vec![Step::Log(catalogue::accepted(USER))],
        ),
    ] {
        let home = Home::with(TOTP);
        let path = home.file();
        let script = prompted_with(typed, move || edit_in_place(&path, new), then);
        home.login(&[], script);
    }
}

#[test]
fn a_file_opened_to_others_during_the_prompt_is_refused() {
    let home = Home::with(TOTP);
    let path = home.file();
    let chmod = move || {
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).expect("chmod 0644");
    };
    let then = steps(vec![
        vec![Step::Log(catalogue::permissions(
            &home.path_text(),
            0o644,
            0o600,
        ))],
        refused(),
    ]);
    assert_eq!(
        home.login(&[], prompted_with(code(), chmod, then)),
        Outcome::Failure
    );
}

#[test]
fn a_file_removed_during_the_prompt_is_refused() {
    let home = Home::with(TOTP);
    let path = home.file();
    let remove = move || fs::remove_file(&path).expect("remove the secret file");
    let why = "No such file or directory";
    let then = steps(vec![
        vec![Step::Log(catalogue::read_failed(
            &home.path_text(),
            USER,
            why,
        ))],
        refused(),
    ]);
    assert_eq!(
        home.login(&[], prompted_with(code(), remove, then)),
        Outcome::Failure
    );
}

// ----------------------------------------------------------------------------------------
// The switch of fs ids fails

fn stuck() -> RestoreError {
    RestoreError {
        uid: Some(Stuck {
            original: 0,
            current: 4242,
        }),
        gid: None,
    }
}

fn own_gid() -> u32 {
    // SAFETY: getgid takes no arguments, cannot fail and touches no memory of ours.
    unsafe { libc::getgid() }
}

#[test]
fn a_refused_switch_to_the_users_uid_fails_before_the_prompt() {
    let home = Home::with(TOTP);
    let outcome = home.login_with_ids(
        &[],
        steps(vec![
            opening(None),
            vec![Step::Log(catalogue::uid_switch_failed(USER))],
            failure_line(),
        ]),
        vec![Ids::Switch(Err(FsIdError::Uid { uid: 4242 }))],
    );
    assert_eq!(outcome, Outcome::Failure);
}

#[test]
fn a_refused_switch_to_the_users_gid_fails_before_the_prompt() {
    let home = Home::with(TOTP);
    let outcome = home.login_with_ids(
        &[],
        steps(vec![
            opening(None),
            vec![Step::Log(catalogue::gid_switch_failed(USER, own_gid()))],
            failure_line(),
        ]),
        vec![Ids::Switch(Err(FsIdError::Gid { gid: 4242 }))],
    );
    assert_eq!(outcome, Outcome::Failure);
}

#[test]
fn a_failed_switch_back_fails_the_login_before_the_prompt() {
    let home = Home::with(TOTP);
    let outcome = home.login_with_ids(
        &[],
        steps(vec![
            opening(None),
            vec![Step::Log(catalogue::identity_restore_failed(
                &stuck().to_string(),
            ))],
            failure_line(),
        ]),
        vec![Ids::Switch(Ok(())), Ids::Restore(Some(stuck()))],
    );
    assert_eq!(outcome, Outcome::Failure);
}

#[test]
fn a_failed_switch_back_after_the_write_fails_a_login_with_a_right_scratch_code() {
    let file = format!("{TOTP}12345678\n");
    let home = Home::with(&file);
    let outcome = home.login_with_ids(
        &[],
        steps(vec![
            opening(None),
            vec![
                Step::Converse(PROMPT, Some("12345678".into()), None),
                Step::Log(catalogue::accepted(USER)),
                Step::Log(catalogue::identity_restore_failed(&stuck().to_string())),
            ],
            failure_line(),
        ]),
        vec![
            Ids::Switch(Ok(())),
            Ids::Restore(None),
            Ids::Switch(Ok(())),
            Ids::Restore(None),
            Ids::Switch(Ok(())),
            Ids::Restore(Some(stuck())),
        ],
    );
    assert_eq!(outcome, Outcome::Failure);
    assert_eq!(home.contents(), TOTP, "the code is used up all the same");
}

// ----------------------------------------------------------------------------------------
// Another login replaces the file between the flow's steps

#[test]
fn a_file_replaced_just_before_the_lock_is_opened_again_and_used() {
    // The second file access is the lock that records the used step: another login renames
    // a file with another scratch code over the name just before it.
    let file = format!("{TOTP}\" DISALLOW_REUSE\n");
    let home = Home::with(&file);
    let path = home.file();
    let replacement = format!("{TOTP}\" DISALLOW_REUSE\n55555555\n");
    let new = replacement.clone();
    let outcome = home.login_while(
        &[],
        steps(vec![
            opening(None),
            vec![
                Step::Converse(PROMPT, Some(code()), None),
                Step::Log(catalogue::accepted(USER)),
            ],
        ]),
        Box::new(move |n| {
            if n == 2 {
                replace_by_rename(&path, &new);
            }
        }),
    );
    assert_eq!(outcome, Outcome::Success);
    assert_eq!(
        home.contents(),
        format!("{TOTP}\" DISALLOW_REUSE {}\n55555555\n", T / 30),
        "the step is recorded in the file now at the path, which keeps its scratch code"
    );
}

#[test]
fn a_file_replaced_before_every_lock_is_given_up_on() {
    let file = format!("{TOTP}\" DISALLOW_REUSE\n");
    let home = Home::with(&file);
    let path = home.file();
    let again = file.clone();
    let outcome = home.login_while(
        &[],
        steps(vec![
            opening(None),
            vec![
                Step::Converse(PROMPT, Some(code()), None),
                Step::Log(catalogue::keeps_changing(&home.path_text())),
                Step::Log(catalogue::invalid_code(USER)),
            ],
            failure_line(),
        ]),
        Box::new(move |n| {
            if n >= 2 {
                replace_by_rename(&path, &again);
            }
        }),
    );
    assert_eq!(outcome, Outcome::Failure);
}

/// The script of a login that answers the scratch code 12345678 and is refused after
/// `why` is logged.
fn scratch_code_refused(why: LogLine) -> Vec<Step> {
    steps(vec![
        opening(None),
        vec![
            Step::Converse(PROMPT, Some("12345678".into()), None),
            Step::Log(why),
            Step::Log(catalogue::invalid_code(USER)),
        ],
        failure_line(),
    ])
}

#[test]
fn a_lock_held_past_the_timeout_leaves_the_scratch_code_unused() {
    // Another login holds the lock from just before the flow's lock and never lets go.
    let file = format!("{TOTP}12345678\n");
    let home = Home::with(&file);
    let path = home.file();
    let holder = Rc::new(RefCell::new(None));
    let held = Rc::clone(&holder);
    let started = Instant::now();
    let outcome = home.login_while(
        &[],
        scratch_code_refused(catalogue::lock_timed_out(&home.path_text())),
        Box::new(move |n| {
            if n == 2 {
                let other = fs::File::open(&path).expect("open the file as another login");
                other.lock().expect("take the lock as another login");
                *held.borrow_mut() = Some(other);
            }
        }),
    );
    assert_eq!(outcome, Outcome::Failure);
    assert!(
        started.elapsed() >= LOCK_WAIT,
        "the flow did not wait for the lock"
    );
    assert_eq!(home.contents(), file, "nothing was written");
    drop(holder);
}

#[test]
fn a_directory_swapped_before_the_lock_leaves_the_scratch_code_unused() {
    // Another process moves the home away and puts a new one with a copy of the file at its
    // path: the lock sees that the directory opened is no longer at the path.
    let file = format!("{TOTP}12345678\n");
    let home = Home::with(&file);
    let dir = home.dir.path().to_owned();
    let moved = dir.with_extension("moved");
    let swap = {
        let (dir, moved, file) = (dir.clone(), moved.clone(), file.clone());
        move |n| {
            if n == 2 {
                fs::rename(&dir, &moved).expect("move the home away");
                fs::create_dir(&dir).expect("make a new home");
                write_secret(&dir.join(".google_authenticator"), &file);
            }
        }
    };
    let outcome = home.login_while(
        &[],
        scratch_code_refused(catalogue::directory_replaced(&home.path_text())),
        Box::new(swap),
    );
    let old = fs::read_to_string(moved.join(".google_authenticator"));
    fs::remove_dir_all(&moved).expect("remove the moved home");
    assert_eq!(outcome, Outcome::Failure);
    assert_eq!(
        old.expect("read the moved file"),
        file,
        "nothing was written there"
    );
    assert_eq!(home.contents(), file, "nor at the path");
}
