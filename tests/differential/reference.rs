//! Differential suite: every scenario runs through the real Linux-PAM library against
//! Debian's `pam_google_authenticator.so` (upstream 1.08, the reference) and against ours,
//! and the two outcomes are compared step by step: the module's return code (PAM_IGNORE
//! included), the prompts (count, text, echo style), error/info messages, PAM_AUTHTOK after
//! the call, and the secret file's bytes and mode after every step. Syslog is not compared
//! (the idents and some texts differ, §7), but a scenario may assert lines of our own log.
//!
//! Where the spec gives them, the reference's results, prompt counts and exact file bytes
//! are also asserted (`reference_module_matches_the_spec`), so a scenario both pins down
//! the reference and checks that ours matches it.
//!
//! A difference between the modules is accepted only when the scenario names it in
//! `expect_difference` (see [`Difference`]: each variant is one of our documented deliberate
//! differences, docs/COMPATIBILITY.md, or a HEAD-vs-1.08 difference, spec §7); the steps of
//! such a scenario then state what OUR module must do instead (`Step::ours_*`), and every
//! field the difference does not cover is still compared. A named difference that no longer
//! shows up is reported too.
//!
//! | Area | Scenarios |
//! |---|---|
//! | §6.2 conversation modes 0-7 | good code (with the forwarded AUTHTOK for `forward_pass`), wrong code, empty answer, missing file with and without `nullok`, for each mode; short/long codes (§6.3 item 10) |
//! | §6.3 sequences | STEP_SIZE 60 (modes 0 and 4), WINDOW_SIZE default and 6, DISALLOW_REUSE and its pruning, RATE_LIMIT 4 120, RATE_LIMIT ending in a space, the TIME_SKEW 3-code resync, `noskewadj`, scratch codes, HOTP counters |
//! | File format | CRLF (§2.3 example), no final newline, blank lines, duplicate/unknown option lines, comments, options on line 1, TOTP_AUTH as a substring, scratch codes with spaces/`+`/leading zero, scratch scan stopped by a bad line, duplicate scratch codes, lower-case and `0 1 8` mistyped secrets, `=` padding, one-character secret, long lines, STEP_SIZE/WINDOW_SIZE out of range or with junk, HOTP_COUNTER/TIME_SKEW/DISALLOW_REUSE garbage, RATE_LIMIT variants |
//! | Module arguments | `secret=` with `~`, `${HOME}`, `${USER}`; `authtok_prompt=` with spaces; both echo spellings; `allowed_perm=` (good and bad); `no_strict_owner`; `no_increment_hotp`; `noskewadj`; `nullok`; `allow_readonly` (immutable directory); `grace_period=` (good and bad); unknown argument; `user=` by uid, by name, with junk, unknown |
//! | Grace period | LAST entry within/outside the period, with and without PAM_RHOST, ten-slot bookkeeping, all slots in the future, rate limit exceeded within grace, `%` in the host |
//! | Deliberate differences | symlinked secret file, grace without the option / with a future timestamp, `LAST/`, rate-limit sort overflow, resync code recorded in DISALLOW_REUSE |
//!
//! Not covered here: FIFOs and devices (Debian's module blocks forever on a FIFO) and
//! overlapping logins (EAGAIN vs waiting for the lock); other suites cover those.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::otp::{TEST_SECRET, hotp_code};
use crate::support::{ConvMode, EchoStyle, PamRun, Stack, code};

/// Upstream's unit-test password (the PAM_AUTHTOK of its TWO_PROMPTS mode).
const UPSTREAM_PW: &str = "0123456789";
/// Time 300000 is step 10000, whose code for [`TEST_SECRET`] is `050548` (§3.1).
const T0: i64 = 300_000;
const GOOD: &str = "050548";
/// A 6-digit code that matches no step within ±1500 of step 10000.
const WRONG: &str = "123456";

/// What a step must produce.
#[derive(Clone, Debug, Default)]
pub struct Expect {
    /// The module's return code (PAM_IGNORE included, see `Stack::probe`).
    pub result: i32,
    /// Number of prompts (conversation messages asking for input), if checked.
    pub prompts: Option<usize>,
    /// Exact prompts (style and text), if checked.
    pub prompt_texts: Option<Vec<(EchoStyle, String)>>,
    /// Exact PAM_ERROR_MSG texts, if checked.
    pub errors: Option<Vec<String>>,
    /// PAM_AUTHTOK after the call, if checked.
    pub authtok: Option<String>,
    /// Exact file bytes after the step, if checked.
    pub file_after: Option<Vec<u8>>,
    /// The file is byte for byte what it was before the step.
    pub file_unchanged: bool,
    /// File mode after the step, if checked.
    pub mode_after: Option<u32>,
    /// Byte strings the file must contain after the step.
    pub file_contains: Vec<Vec<u8>>,
    /// Substrings of captured syslog lines that must appear.
    pub syslog_contains: Vec<String>,
}

/// One call of `pam_authenticate`.
#[derive(Clone, Debug)]
pub struct Step {
    /// Frozen clock, Unix seconds.
    pub time: i64,
    /// Conversation answers (`repeat` mode uses the first for every echo-off prompt).
    pub answers: Vec<Vec<u8>>,
    /// PAM_AUTHTOK preset for this step (overrides the scenario's).
    pub authtok: Option<String>,
    /// PAM_RHOST for this step (overrides the scenario's).
    pub rhost: Option<String>,
    /// Bytes appended to the secret file before the step (after a chmod 0600).
    pub append: Option<Vec<u8>>,
    /// Replace the secret file before the step (mode 0600).
    pub replace: Option<Vec<u8>>,
    /// What the reference must do (from the spec).
    pub expect: Expect,
    /// With `expect_difference`: what OUR module must do instead. Fields left unset here are
    /// compared with the reference as usual.
    pub ours: Option<Expect>,
    /// Log lines our module must write (never compared with the reference).
    pub ours_syslog: Vec<String>,
}

impl Step {
    pub fn new(time: i64, answer: &str, result: i32) -> Self {
        Self {
            time,
            answers: vec![answer.as_bytes().to_vec()],
            authtok: None,
            rhost: None,
            append: None,
            replace: None,
            expect: Expect {
                result,
                ..Expect::default()
            },
            ours: None,
            ours_syslog: Vec::new(),
        }
    }
    pub fn prompts(mut self, n: usize) -> Self {
        self.expect.prompts = Some(n);
        self
    }
    pub fn prompt_texts(mut self, p: &[(EchoStyle, &str)]) -> Self {
        self.expect.prompt_texts = Some(p.iter().map(|(s, t)| (*s, (*t).to_string())).collect());
        self
    }
    pub fn errors(mut self, e: &[&str]) -> Self {
        self.expect.errors = Some(e.iter().map(|s| (*s).to_string()).collect());
        self
    }
    pub fn authtok_after(mut self, a: &str) -> Self {
        self.expect.authtok = Some(a.to_string());
        self
    }
    pub fn with_authtok(mut self, a: &str) -> Self {
        self.authtok = Some(a.to_string());
        self
    }
    pub fn with_rhost(mut self, h: &str) -> Self {
        self.rhost = Some(h.to_string());
        self
    }
    pub fn no_answers(mut self) -> Self {
        self.answers.clear();
        self
    }
    pub fn append(mut self, bytes: &[u8]) -> Self {
        self.append = Some(bytes.to_vec());
        self
    }
    pub fn replace(mut self, bytes: &[u8]) -> Self {
        self.replace = Some(bytes.to_vec());
        self
    }
    pub fn file_after(mut self, bytes: &[u8]) -> Self {
        self.expect.file_after = Some(bytes.to_vec());
        self
    }
    pub fn unchanged(mut self) -> Self {
        self.expect.file_unchanged = true;
        self
    }
    pub fn mode_after(mut self, m: u32) -> Self {
        self.expect.mode_after = Some(m);
        self
    }
    pub fn file_contains(mut self, bytes: &[u8]) -> Self {
        self.expect.file_contains.push(bytes.to_vec());
        self
    }
    pub fn syslog(mut self, needle: &str) -> Self {
        self.expect.syslog_contains.push(needle.to_string());
        self
    }
    fn ours_mut(&mut self) -> &mut Expect {
        let result = self.expect.result;
        self.ours.get_or_insert_with(|| Expect {
            result,
            ..Expect::default()
        })
    }
    /// Our module's return code (see [`Difference`]).
    pub fn ours_result(mut self, r: i32) -> Self {
        self.ours_mut().result = r;
        self
    }
    pub fn ours_prompts(mut self, n: usize) -> Self {
        self.ours_mut().prompts = Some(n);
        self
    }
    pub fn ours_file(mut self, bytes: &[u8]) -> Self {
        self.ours_mut().file_after = Some(bytes.to_vec());
        self
    }
    pub fn ours_mode(mut self, m: u32) -> Self {
        self.ours_mut().mode_after = Some(m);
        self
    }
    /// A log line our module must write.
    pub fn ours_syslog(mut self, needle: &str) -> Self {
        self.ours_syslog.push(needle.to_string());
        self
    }
}

/// The compared fields of a step outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    Result,
    Prompts,
    Messages,
    Authtok,
    File,
    Mode,
}

/// An accepted difference between Debian's module (1.08) and ours. Each names where it is
/// documented, and which fields may differ; the scenario's steps say what ours must do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Difference {
    /// COMPATIBILITY.md #4: a symlink (or FIFO, device) is refused without being followed;
    /// the login prompts and fails. Debian follows the symlink.
    NotRegularFile,
    /// COMPATIBILITY.md #5: a `LAST` entry grants a login only with `grace_period=` set and
    /// a timestamp that is not in the future. Debian grants a future entry even without the
    /// option.
    GraceNeedsOption,
    /// Spec §7 item 5 (we follow HEAD): a success with `grace_period` always rewrites the
    /// file to store `LAST` (mode 0400 afterwards), so the grace period then takes effect.
    /// 1.08 stores it only if something else changed too.
    GraceAlwaysRecorded,
    /// COMPATIBILITY.md #6: with all ten slots taken by timestamps at or after now, we reuse
    /// the slot with the oldest timestamp; Debian writes a bogus `LAST/` key.
    NoLastSlashKey,
    /// COMPATIBILITY.md #7: rate-limit timestamps are sorted correctly; Debian's comparator
    /// overflows for values more than 2^31 apart.
    RateLimitSort,
    /// COMPATIBILITY.md #9: the code completing a skew resync is recorded in
    /// DISALLOW_REUSE (and cannot be replayed); Debian does not record it.
    ResyncCodeRecorded,
    /// Spec §7 item 7 (we follow HEAD): `%` is allowed in `LAST` host names (IPv6 zone ids).
    PercentInLastHost,
}

impl Difference {
    /// The fields that may differ between the modules in a step that states ours.
    pub fn fields(self) -> &'static [Field] {
        use Field::{File, Mode, Prompts, Result};
        match self {
            Self::NotRegularFile => &[Result],
            Self::GraceNeedsOption | Self::GraceAlwaysRecorded | Self::PercentInLastHost => {
                &[Result, Prompts, File, Mode]
            }
            Self::NoLastSlashKey | Self::RateLimitSort | Self::ResyncCodeRecorded => {
                &[Result, File]
            }
        }
    }
}

/// Special preparation of the secret file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    Plain,
    /// The file is owned by `nobody` (uid 65534).
    OwnedByNobody,
    /// The file's directory is made immutable (`chattr +i`), so no rewrite can succeed.
    ImmutableDir,
    /// The secret path is a symlink to the real file.
    Symlink,
}

/// A scenario: the same data runs against any module.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: String,
    /// Where the expectations come from.
    pub spec: &'static str,
    /// Initial secret file bytes (`None`: no file).
    pub file: Option<Vec<u8>>,
    /// Path of the secret file relative to the scenario's temp dir; `{home}` is the running
    /// user's home directory (without its leading `/`), `{user}` the PAM user.
    pub file_path: String,
    /// Initial file mode.
    pub mode: u32,
    pub setup: Setup,
    /// Module arguments; `{secret}` is replaced by the secret file's path and `{dir}` by the
    /// temp dir.
    pub args: Vec<String>,
    /// PAM user; `None` = the running user.
    pub user: Option<String>,
    pub rhost: Option<String>,
    pub conv: ConvMode,
    /// PAM_AUTHTOK set by a previous module (`pam_set_authtok.so preset=...`).
    pub preset_authtok: Option<String>,
    /// A documented difference between the modules, see [`Difference`].
    pub expect_difference: Option<Difference>,
    pub steps: Vec<Step>,
}

impl Scenario {
    /// Upstream's TWO_PROMPTS mode (otp_mode 0): the prompt gets the code, AUTHTOK is the
    /// upstream password.
    pub fn new(name: impl Into<String>, spec: &'static str, file: &[u8], steps: Vec<Step>) -> Self {
        Self {
            name: name.into(),
            spec,
            file: Some(file.to_vec()),
            file_path: "google_authenticator".into(),
            mode: 0o600,
            setup: Setup::Plain,
            args: vec!["secret={secret}".into()],
            user: None,
            rhost: None,
            conv: ConvMode::Repeat,
            preset_authtok: Some(UPSTREAM_PW.into()),
            expect_difference: None,
            steps,
        }
    }
    /// Adds module arguments after `secret={secret}`.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|a| (*a).to_string()));
        self
    }
    /// Replaces all module arguments.
    pub fn only_args(mut self, args: &[&str]) -> Self {
        self.args = args.iter().map(|a| (*a).to_string()).collect();
        self
    }
    pub fn conv(mut self, c: ConvMode) -> Self {
        self.conv = c;
        self
    }
    pub fn rhost(mut self, h: &str) -> Self {
        self.rhost = Some(h.into());
        self
    }
    pub fn user(mut self, u: &str) -> Self {
        self.user = Some(u.into());
        self
    }
    pub fn no_file(mut self) -> Self {
        self.file = None;
        self
    }
    pub fn path(mut self, p: &str) -> Self {
        self.file_path = p.into();
        self
    }
    pub fn mode(mut self, m: u32) -> Self {
        self.mode = m;
        self
    }
    pub fn setup(mut self, s: Setup) -> Self {
        self.setup = s;
        self
    }
    pub fn preset(mut self, p: Option<&str>) -> Self {
        self.preset_authtok = p.map(str::to_string);
        self
    }
    pub fn differs(mut self, d: Difference) -> Self {
        self.expect_difference = Some(d);
        self
    }
}

/// What one step did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepOutcome {
    pub module_result: i32,
    pub pam_result: i32,
    pub prompts: Vec<(EchoStyle, String)>,
    pub errors: Vec<String>,
    pub infos: Vec<String>,
    pub authtok: Option<String>,
    pub file_before: Option<Vec<u8>>,
    pub file_after: Option<Vec<u8>>,
    pub mode_after: Option<u32>,
    pub syslog: Vec<String>,
    pub transcript: String,
}

#[derive(Clone, Debug)]
pub struct ScenarioOutcome {
    pub steps: Vec<StepOutcome>,
}

/// The running user's home directory, from the passwd database (as the module sees it).
fn home_dir() -> String {
    let (name, _) = crate::support::current_user();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 5 && f[0] == name)
        .map_or_else(|| "/root".to_string(), |f| f[5].to_string())
}

fn chattr(path: &Path, flag: &str) {
    let status = std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .expect("run chattr");
    assert!(status.success(), "chattr {flag} {} failed", path.display());
}

/// Writes the secret file as the scenario's setup says.
fn place_file(s: &Scenario, dir: &Path, secret: &Path, bytes: &[u8], mode: u32) {
    let parent = secret.parent().expect("secret has a parent");
    std::fs::create_dir_all(parent).expect("mkdir secret dir");
    if s.setup == Setup::ImmutableDir && parent.exists() {
        chattr(parent, "-i");
    }
    let target = if s.setup == Setup::Symlink {
        dir.join("real_secret")
    } else {
        secret.to_path_buf()
    };
    let name = target.file_name().expect("file name").to_string_lossy();
    crate::support::write_secret(target.parent().expect("parent"), &name, bytes, mode);
    if s.setup == Setup::Symlink && std::fs::symlink_metadata(secret).is_err() {
        std::os::unix::fs::symlink(&target, secret).expect("symlink");
    }
    if s.setup == Setup::OwnedByNobody {
        std::os::unix::fs::chown(&target, Some(65534), Some(65534)).expect("chown nobody");
    }
    if s.setup == Setup::ImmutableDir {
        chattr(parent, "+i");
    }
}

/// Runs `s` against `module` (a path to a PAM module).
pub fn run_scenario(module: &Path, s: &Scenario) -> ScenarioOutcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let user = s
        .user
        .clone()
        .unwrap_or_else(|| crate::support::current_user().0);
    let rel = s
        .file_path
        .replace("{home}", home_dir().trim_start_matches('/'))
        .replace("{user}", &user);
    let secret: PathBuf = dir.path().join(rel);
    if let Some(bytes) = &s.file {
        place_file(s, dir.path(), &secret, bytes, s.mode);
    }
    let args: Vec<String> = s
        .args
        .iter()
        .map(|a| {
            a.replace("{secret}", &secret.display().to_string())
                .replace("{dir}", &dir.path().display().to_string())
        })
        .collect();
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();

    let mut steps = Vec::new();
    for step in &s.steps {
        if let Some(bytes) = &step.replace {
            place_file(s, dir.path(), &secret, bytes, 0o600);
        }
        if let Some(bytes) = &step.append {
            let mut now = std::fs::read(&secret).unwrap_or_default();
            now.extend_from_slice(bytes);
            place_file(s, dir.path(), &secret, &now, 0o600);
        }
        let mut stack = Stack::new();
        if let Some(pw) = step.authtok.as_ref().or(s.preset_authtok.as_ref()) {
            let preset = format!("preset={pw}");
            stack = stack.auth("required", crate::support::set_authtok_module(), &[&preset]);
        }
        let stack = stack.probe(module, &arg_refs);
        let mut run = PamRun::new(stack).user(&user).conv(s.conv).clock(step.time);
        if let Some(h) = step.rhost.as_ref().or(s.rhost.as_ref()) {
            run = run.rhost(h);
        }
        for a in &step.answers {
            run = run.answer(a);
        }
        let file_before = std::fs::read(&secret).ok();
        let o = run.run();
        let file_after = std::fs::read(&secret).ok();
        let mode_after = std::fs::metadata(&secret)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777);
        steps.push(StepOutcome {
            module_result: o.module_result(),
            pam_result: o.result,
            prompts: o.prompts.clone(),
            errors: o.errors.clone(),
            infos: o.infos.clone(),
            authtok: o.authtok.clone(),
            file_before,
            file_after,
            mode_after,
            syslog: o.syslog_messages(),
            transcript: o.transcript(),
        });
    }
    if s.setup == Setup::ImmutableDir
        && let Some(parent) = secret.parent()
    {
        chattr(parent, "-i");
    }
    ScenarioOutcome { steps }
}

fn oct(m: Option<u32>) -> String {
    m.map_or_else(|| "none".into(), |m| format!("{m:o}"))
}

fn show(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

/// Checks one step outcome against an expectation; returns the failures.
fn check_expect(e: &Expect, o: &StepOutcome) -> Vec<String> {
    let mut f = Vec::new();
    if o.module_result != e.result {
        f.push(format!(
            "result {} (expected {})",
            o.module_result, e.result
        ));
    }
    if let Some(n) = e.prompts
        && o.prompts.len() != n
    {
        f.push(format!("{} prompts (expected {n})", o.prompts.len()));
    }
    if let Some(p) = &e.prompt_texts
        && &o.prompts != p
    {
        f.push(format!("prompts {:?} (expected {p:?})", o.prompts));
    }
    if let Some(m) = &e.errors
        && &o.errors != m
    {
        f.push(format!("error messages {:?} (expected {m:?})", o.errors));
    }
    if let Some(a) = &e.authtok
        && o.authtok.as_ref() != Some(a)
    {
        f.push(format!("authtok {:?} (expected {a:?})", o.authtok));
    }
    let file = o.file_after.clone().unwrap_or_default();
    if let Some(want) = &e.file_after
        && &file != want
    {
        f.push(format!("file {} (expected {})", show(&file), show(want)));
    }
    if e.file_unchanged && o.file_after != o.file_before {
        f.push(format!(
            "file changed from {} to {}",
            show(&o.file_before.clone().unwrap_or_default()),
            show(&file)
        ));
    }
    if let Some(m) = e.mode_after
        && o.mode_after != Some(m)
    {
        f.push(format!("mode {} (expected {m:o})", oct(o.mode_after)));
    }
    for want in &e.file_contains {
        if !file.windows(want.len()).any(|w| w == want.as_slice()) {
            f.push(format!("file {} lacks {}", show(&file), show(want)));
        }
    }
    for needle in &e.syslog_contains {
        if !o.syslog.iter().any(|l| l.contains(needle.as_str())) {
            f.push(format!("syslog lacks {needle:?}"));
        }
    }
    f
}

/// Checks the reference's outcome against the scenario's spec expectations.
pub fn check_expectations(s: &Scenario, out: &ScenarioOutcome) -> Vec<String> {
    let mut fails = Vec::new();
    for (i, (step, o)) in s.steps.iter().zip(&out.steps).enumerate() {
        let f = check_expect(&step.expect, o);
        if !f.is_empty() {
            fails.push(format!(
                "{} [{}] step {i} (time {}): {}\n{}",
                s.name,
                s.spec,
                step.time,
                f.join("; "),
                o.transcript
            ));
        }
    }
    fails
}

fn field_diff(field: Field, r: &StepOutcome, o: &StepOutcome) -> Option<String> {
    let opt = |b: &Option<Vec<u8>>| show(&b.clone().unwrap_or_default());
    match field {
        Field::Result => (r.module_result != o.module_result).then(|| {
            format!(
                "result: reference {} ours {}",
                r.module_result, o.module_result
            )
        }),
        Field::Prompts => (r.prompts != o.prompts)
            .then(|| format!("prompts: reference {:?} ours {:?}", r.prompts, o.prompts)),
        Field::Messages => (r.errors != o.errors || r.infos != o.infos).then(|| {
            format!(
                "messages: reference {:?}/{:?} ours {:?}/{:?}",
                r.errors, r.infos, o.errors, o.infos
            )
        }),
        Field::Authtok => (r.authtok != o.authtok)
            .then(|| format!("authtok: reference {:?} ours {:?}", r.authtok, o.authtok)),
        Field::File => (r.file_after != o.file_after).then(|| {
            format!(
                "file: reference {} ours {}",
                opt(&r.file_after),
                opt(&o.file_after)
            )
        }),
        Field::Mode => (r.mode_after != o.mode_after).then(|| {
            format!(
                "mode: reference {} ours {}",
                oct(r.mode_after),
                oct(o.mode_after)
            )
        }),
    }
}

const ALL_FIELDS: [Field; 6] = [
    Field::Result,
    Field::Prompts,
    Field::Messages,
    Field::Authtok,
    Field::File,
    Field::Mode,
];

/// Whether an `ours` expectation states a field (so the field is checked against it
/// instead of the reference).
fn states(e: &Expect, f: Field) -> bool {
    match f {
        Field::Result => true,
        Field::Prompts => e.prompts.is_some() || e.prompt_texts.is_some(),
        Field::Messages => e.errors.is_some(),
        Field::Authtok => e.authtok.is_some(),
        Field::File => e.file_after.is_some() || e.file_unchanged,
        Field::Mode => e.mode_after.is_some(),
    }
}

/// Compares two outcomes of the same scenario on what a drop-in must reproduce: return
/// code, prompts (style and text), error/info messages, PAM_AUTHTOK and the file bytes and
/// mode after every step. A field is exempt only where the scenario's
/// [`Difference`] covers it and the step states what ours must do instead. Syslog is not
/// compared (the ident differs on purpose: §7 item 3), except our own required lines.
pub fn compare_outcomes(
    s: &Scenario,
    reference: &ScenarioOutcome,
    ours: &ScenarioOutcome,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut differed = false;
    for (i, ((step, r), o)) in s
        .steps
        .iter()
        .zip(&reference.steps)
        .zip(&ours.steps)
        .enumerate()
    {
        let mut d = Vec::new();
        let exempt: &[Field] = match (s.expect_difference, &step.ours) {
            (Some(diff), Some(_)) => diff.fields(),
            _ => &[],
        };
        for f in ALL_FIELDS {
            let stated = step.ours.as_ref().is_some_and(|e| states(e, f));
            if exempt.contains(&f) && stated {
                if field_diff(f, r, o).is_some() {
                    differed = true;
                }
            } else if let Some(text) = field_diff(f, r, o) {
                d.push(text);
            }
        }
        if let (Some(_), Some(e)) = (s.expect_difference, &step.ours) {
            for f in check_expect(e, o) {
                d.push(format!("ours: {f}"));
            }
        }
        for needle in &step.ours_syslog {
            if !o.syslog.iter().any(|l| l.contains(needle.as_str())) {
                d.push(format!("our syslog lacks {needle:?}"));
            }
        }
        if !d.is_empty() {
            diffs.push(format!(
                "{} [{}] step {i} (time {}): {}\n--- reference\n{}\n--- ours\n{}",
                s.name,
                s.spec,
                step.time,
                d.join("; "),
                r.transcript,
                o.transcript
            ));
        }
    }
    if let Some(diff) = s.expect_difference
        && !differed
    {
        diffs.push(format!(
            "{}: the documented difference {diff:?} did not show up (no step differed in {:?})",
            s.name,
            diff.fields()
        ));
    }
    if reference.steps.len() != ours.steps.len() {
        diffs.push(format!("{}: step counts differ", s.name));
    }
    diffs
}

/// Runs `s` against Debian's module and ours and returns the differences.
pub fn compare_with_reference(s: &Scenario) -> Vec<String> {
    let reference = run_scenario(&crate::support::reference_module(), s);
    let ours = run_scenario(&crate::support::our_module(), s);
    compare_outcomes(s, &reference, &ours)
}

// ---------------------------------------------------------------------------------------
// The scenario table
// ---------------------------------------------------------------------------------------

fn fresh() -> Vec<u8> {
    // §6.1: the unit test's file, with no final newline.
    format!("{TEST_SECRET}\n\" TOTP_AUTH").into_bytes()
}

/// `fresh()` followed by more lines.
fn with(extra: &str) -> Vec<u8> {
    format!("{TEST_SECRET}\n\" TOTP_AUTH\n{extra}").into_bytes()
}

/// A file made of [`TEST_SECRET`] and `lines`, each ending in LF.
fn sf(lines: &[&str]) -> Vec<u8> {
    let mut f = format!("{TEST_SECRET}\n");
    for l in lines {
        f.push_str(l);
        f.push('\n');
    }
    f.into_bytes()
}

fn code_at(step: u64) -> String {
    hotp_code(TEST_SECRET, step)
}

fn times(step_size: i64, ts: &[i64], results: &[i32]) -> Vec<Step> {
    ts.iter()
        .zip(results)
        .map(|(t, r)| Step::new(t * step_size, GOOD, *r).prompts(1))
        .collect()
}

/// The extra module arguments of upstream's otp_mode 0..7 (§6.2).
const MODE_ARGS: [&[&str]; 8] = [
    &[],
    &["forward_pass"],
    &["use_first_pass"],
    &["use_first_pass", "forward_pass"],
    &["try_first_pass"],
    &["try_first_pass", "forward_pass"],
    &["try_first_pass"],
    &["try_first_pass", "forward_pass"],
];
/// Prompts for a good code, a bad code, and a missing file without nullok (§6.2, §6.3 item 12).
const MODE_GOOD_PROMPTS: [usize; 8] = [1, 1, 0, 0, 0, 0, 1, 1];
const MODE_BAD_PROMPTS: [usize; 8] = [1, 1, 0, 0, 2, 2, 1, 1];
const MODE_MISSING_PROMPTS: [usize; 8] = [1, 1, 0, 0, 0, 0, 0, 0];

/// One step in upstream's conversation mode `mode`: TWO_PROMPTS answers the prompt with
/// the response (AUTHTOK = password), COMBINED_PROMPT answers with password + response,
/// COMBINED_PASSWORD fails the conversation and presets AUTHTOK = password + response.
fn mode_step(mode: usize, time: i64, response: &str, result: i32) -> Step {
    match mode {
        0 | 6 => Step::new(time, response, result).with_authtok(UPSTREAM_PW),
        1 | 7 => {
            Step::new(time, &format!("{UPSTREAM_PW}{response}"), result).with_authtok(UPSTREAM_PW)
        }
        _ => Step::new(time, response, result)
            .no_answers()
            .with_authtok(&format!("{UPSTREAM_PW}{response}")),
    }
}

fn mode_scenario(
    mode: usize,
    what: &str,
    spec: &'static str,
    file: &[u8],
    steps: Vec<Step>,
) -> Scenario {
    let conv = if (2..=5).contains(&mode) {
        ConvMode::ConvError
    } else {
        ConvMode::Repeat
    };
    Scenario::new(format!("mode {mode}: {what}"), spec, file, steps)
        .args(MODE_ARGS[mode])
        .conv(conv)
}

/// §6.2/§6.3 items 9-14 in each of the eight conversation modes.
fn conversation_modes() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, IGNORE, SUCCESS as OK};
    let mut v = Vec::new();
    for mode in 0..8 {
        let bad = MODE_BAD_PROMPTS[mode];
        v.push(mode_scenario(
            mode,
            "wrong code",
            "§6.3 item 9",
            &fresh(),
            vec![mode_step(mode, T0, WRONG, ERR).prompts(bad).unchanged()],
        ));
        v.push(mode_scenario(
            mode,
            "empty answer",
            "§6.3 item 11",
            &fresh(),
            vec![mode_step(mode, T0, "", ERR).prompts(bad).unchanged()],
        ));
        let mut missing = mode_scenario(
            mode,
            "missing file without nullok",
            "§6.3 item 12",
            &fresh(),
            vec![mode_step(mode, T0, GOOD, ERR).prompts(MODE_MISSING_PROMPTS[mode])],
        );
        missing.args[0] = "secret={dir}/NOSUCHFILE".into();
        v.push(missing);
        let mut nullok = mode_scenario(
            mode,
            "missing file with nullok",
            "§6.3 item 13",
            &fresh(),
            vec![mode_step(mode, T0, GOOD, IGNORE).prompts(0)],
        )
        .args(&["nullok"]);
        nullok.args[0] = "secret={dir}/NOSUCHFILE".into();
        v.push(nullok);
        let mut good = mode_step(mode, T0, GOOD, OK)
            .prompts(MODE_GOOD_PROMPTS[mode])
            .file_after(&fresh())
            .mode_after(0o600)
            .syslog("Accepted google_authenticator for");
        if MODE_ARGS[mode].contains(&"forward_pass") {
            // §1.10: the password part is forwarded.
            good = good.authtok_after(UPSTREAM_PW);
        }
        v.push(mode_scenario(
            mode,
            "good code",
            "§6.3 item 14",
            &fresh(),
            vec![good],
        ));
    }
    // §6.3 item 10: 5, 7 and 8 digits in the TWO_PROMPTS modes.
    for mode in [0, 6] {
        v.push(mode_scenario(
            mode,
            "5, 7 and 8 digit answers",
            "§6.3 item 10",
            &fresh(),
            ["50548", "0050548", "00050548"]
                .iter()
                .map(|r| mode_step(mode, T0, r, ERR).prompts(1).unchanged())
                .collect(),
        ));
    }
    // §1.9: a first-pass AUTHTOK may carry any prefix.
    v.push(mode_scenario(
        2,
        "AUTHTOK with a text prefix",
        "§1.9 step 5",
        &fresh(),
        vec![
            Step::new(T0, "", OK)
                .no_answers()
                .with_authtok("xyz050548")
                .prompts(0),
        ],
    ));
    // §1.9: with try_first_pass, an AUTHTOK without a valid code leads to the prompt.
    v.push(
        mode_scenario(
            4,
            "AUTHTOK without code, prompted code",
            "§1.9 table",
            &fresh(),
            vec![Step::new(T0, GOOD, OK).with_authtok("password").prompts(1)],
        )
        .conv(ConvMode::Repeat),
    );
    v
}

/// The multi-step sequences of §6.3 items 15-27 (each from its own fresh file).
fn upstream_sequences() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, SUCCESS as OK};
    let s = TEST_SECRET;
    let mut v = vec![
        Scenario::new(
            "STEP_SIZE 60",
            "§6.3 item 15, otp_mode 0",
            &[fresh(), b"\n\" STEP_SIZE 60\n".to_vec()].concat(),
            times(
                60,
                &[9998, 9999, 10001, 10002, 10000],
                &[ERR, OK, OK, ERR, OK],
            ),
        ),
        mode_scenario(
            4,
            "STEP_SIZE 60",
            "§6.3 item 15 (failed calls find the code by the skew search: no prompt)",
            &[fresh(), b"\n\" STEP_SIZE 60\n".to_vec()].concat(),
            [9998, 9999, 10001, 10002, 10000]
                .iter()
                .zip([ERR, OK, OK, ERR, OK])
                .map(|(t, r)| mode_step(4, t * 60, GOOD, r).prompts(0))
                .collect(),
        ),
        Scenario::new(
            "default WINDOW_SIZE",
            "§6.3 item 16, otp_mode 0",
            &fresh(),
            times(
                30,
                &[9998, 9999, 10001, 10002, 10000],
                &[ERR, OK, OK, ERR, OK],
            ),
        ),
        Scenario::new(
            "WINDOW_SIZE 6",
            "§6.3 item 17, otp_mode 0",
            &[fresh(), b"\n\" WINDOW_SIZE 6\n".to_vec()].concat(),
            times(
                30,
                &[9996, 9997, 10002, 10003, 10000],
                &[ERR, OK, OK, ERR, OK],
            ),
        ),
    ];

    // §6.3 items 18 and 19: DISALLOW_REUSE, starting from the state after item 17.
    let mut reuse = vec![
        Step::new(T0, GOOD, OK).prompts(1),
        Step::new(T0, GOOD, OK)
            .prompts(1)
            .append(b"\" DISALLOW_REUSE\n")
            .file_contains(b"\" DISALLOW_REUSE 10000\n")
            .mode_after(0o400),
        Step::new(T0, GOOD, ERR).prompts(1).unchanged(),
    ];
    for i in 10001..=10007 {
        reuse.push(Step::new(i * 30, &code_at(i as u64), OK).prompts(1));
    }
    let last = reuse.len() - 1;
    reuse[last] = reuse[last]
        .clone()
        .file_contains(b"\" DISALLOW_REUSE 10002 10003 10004 10005 10006 10007\n");
    v.push(Scenario::new(
        "DISALLOW_REUSE",
        "§6.3 items 18-19, otp_mode 0",
        &[fresh(), b"\n\" WINDOW_SIZE 6\n".to_vec()].concat(),
        reuse,
    ));

    // §3.3: pruning leaves a double space when the last entry goes.
    v.push(Scenario::new(
        "DISALLOW_REUSE pruning double space",
        "§3.3 quirk",
        &with("\" DISALLOW_REUSE 10001 9000 10002 9001\n"),
        vec![
            Step::new(T0, GOOD, OK)
                .prompts(1)
                .file_after(&with("\" DISALLOW_REUSE 10001 10002  10000\n")),
        ],
    ));

    // §6.3 item 20: RATE_LIMIT 4 120.
    let mut rl: Vec<Step> = (20000..=20004)
        .chain([20006])
        .map(|t| Step::new(t * 30, &code_at(t as u64), OK).prompts(1))
        .collect();
    rl[4] = Step::new(20004 * 30, &code_at(20004), ERR)
        .prompts(0)
        .syslog("Too many concurrent login attempts");
    rl[5] = rl[5]
        .clone()
        .file_contains(b"\" RATE_LIMIT 4 120 600060 600090 600120 600180\n");
    v.push(Scenario::new(
        "RATE_LIMIT 4 120",
        "§6.3 item 20",
        &with("\" RATE_LIMIT 4 120\n"),
        rl,
    ));
    // §6.3 item 21: the RATE_LIMIT line ends in a space.
    v.push(Scenario::new(
        "RATE_LIMIT ending in a space",
        "§6.3 item 21",
        &with("\" RATE_LIMIT 4 120 600060 600090 600120 600180 "),
        vec![
            Step::new(20007 * 30, &code_at(20007), ERR)
                .prompts(0)
                .unchanged()
                .syslog("Invalid list of timestamps in RATE_LIMIT"),
        ],
    ));

    // §6.3 item 22 / §3.4: the 3-code resync, exact bytes after each step.
    let skew_steps = [
        format!("{s}\n\" RESETTING_TIME_SKEW 12000-1000\n\" TOTP_AUTH"),
        format!("{s}\n\" RESETTING_TIME_SKEW 12000-1000 12001-1000\n\" TOTP_AUTH"),
        format!("{s}\n\" TIME_SKEW -1000\n\" RESETTING_TIME_SKEW \n\" TOTP_AUTH"),
        format!("{s}\n\" TIME_SKEW -1000\n\" RESETTING_TIME_SKEW \n\" TOTP_AUTH"),
    ];
    v.push(Scenario::new(
        "TIME_SKEW resync",
        "§6.3 item 22, §3.4 verified sequence",
        &fresh(),
        (0..4)
            .zip([ERR, ERR, OK, OK])
            .map(|(i, r)| {
                Step::new((12000 + i) * 30, &code_at(11000 + i as u64), r)
                    .prompts(1)
                    .file_after(skew_steps[i as usize].as_bytes())
            })
            .collect(),
    ));
    // §3.4: a gap of 3 steps does not resync.
    v.push(Scenario::new(
        "TIME_SKEW gap too big",
        "§3.4 gaps",
        &fresh(),
        [0u64, 3, 5]
            .iter()
            .map(|i| Step::new((12000 + *i as i64) * 30, &code_at(11000 + i), ERR).prompts(1))
            .collect(),
    ));
    // §3.4 step 2: the same code as last time is an error and writes nothing.
    v.push(Scenario::new(
        "TIME_SKEW same code twice",
        "§3.4 step 2",
        &fresh(),
        vec![
            Step::new(12000 * 30, &code_at(11000), ERR).prompts(1),
            Step::new(12001 * 30, &code_at(11000), ERR)
                .prompts(1)
                .unchanged(),
        ],
    ));
    // §6.3 item 23: noskewadj.
    let skewed = format!("{s}\n\" TIME_SKEW -1000\n\" RESETTING_TIME_SKEW \n\" TOTP_AUTH");
    v.push(
        Scenario::new(
            "noskewadj",
            "§6.3 item 23",
            skewed.as_bytes(),
            vec![
                Step::new(12020 * 30, &code_at(11010), ERR)
                    .prompts(1)
                    .unchanged(),
            ],
        )
        .args(&["noskewadj"]),
    );
    v.push(Scenario::new(
        "skew search without noskewadj",
        "§6.3 item 23 contrast, §3.4",
        skewed.as_bytes(),
        vec![
            Step::new(12020 * 30, &code_at(11010), ERR)
                .prompts(1)
                .file_contains(b"\" RESETTING_TIME_SKEW 12020-1010\n"),
        ],
    ));
    // §6.3 item 24: scratch codes.
    v.push(Scenario::new(
        "scratch codes",
        "§6.3 item 24",
        &with(""),
        vec![
            Step::new(T0, "12345678", ERR).prompts(1).unchanged(),
            Step::new(T0, "12345678", OK)
                .prompts(1)
                .append(b"12345678\n")
                .file_after(&with(""))
                .mode_after(0o400),
            Step::new(T0, "12345678", ERR).prompts(1).unchanged(),
        ],
    ));
    // §6.3 items 25-27: HOTP.
    let hotp = |n: u32| format!("{s}\n\" HOTP_COUNTER {n}\n").into_bytes();
    v.push(Scenario::new(
        "HOTP counter",
        "§6.3 items 25-27, §3.5",
        &hotp(1),
        vec![
            Step::new(T0, "293240", OK).prompts(1).file_after(&hotp(2)),
            Step::new(T0, "293240", ERR).prompts(1).file_after(&hotp(3)),
            Step::new(T0, "932068", OK).prompts(1).file_after(&hotp(6)),
        ],
    ));
    v.push(
        Scenario::new(
            "HOTP no_increment_hotp",
            "§3.5, §1.2",
            &hotp(1),
            vec![
                Step::new(T0, WRONG, ERR)
                    .prompts(1)
                    .unchanged()
                    .mode_after(0o600),
                Step::new(T0, "293240", OK).prompts(1).file_after(&hotp(2)),
            ],
        )
        .args(&["no_increment_hotp"]),
    );
    v.push(Scenario::new(
        "HOTP blank and 8-digit answers do not advance",
        "§3.5",
        &hotp(1),
        vec![
            Step::new(T0, "", ERR).prompts(1).unchanged(),
            Step::new(T0, "12345678", ERR).prompts(1).unchanged(),
        ],
    ));
    v.push(Scenario::new(
        "HOTP takes precedence over TOTP_AUTH",
        "§2.4 HOTP_COUNTER",
        format!("{s}\n\" HOTP_COUNTER 1\n\" TOTP_AUTH\n").as_bytes(),
        vec![
            Step::new(T0, GOOD, ERR)
                .prompts(1)
                .file_contains(b"\" HOTP_COUNTER 2\n"),
        ],
    ));
    v.push(Scenario::new(
        "HOTP WINDOW_SIZE 1",
        "§3.5 (only forward, w=1)",
        format!("{s}\n\" HOTP_COUNTER 1\n\" WINDOW_SIZE 1\n").as_bytes(),
        vec![Step::new(T0, &hotp_code(s, 2), ERR).prompts(1)],
    ));
    // §1.10 step 2: a wrong first-pass HOTP code then a prompted scratch code.
    v.push(
        mode_scenario(
            4,
            "HOTP wrong AUTHTOK then scratch code",
            "§1.10 step 2 (verified)",
            format!("{s}\n\" HOTP_COUNTER 1\n87654321\n").as_bytes(),
            vec![
                Step::new(T0, "87654321", OK)
                    .with_authtok("111111")
                    .prompts(1)
                    .file_after(format!("{s}\n\" HOTP_COUNTER 2\n").as_bytes()),
            ],
        )
        .conv(ConvMode::Repeat),
    );
    v
}

/// File-format edge cases (§2).
fn file_format() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, SUCCESS as OK};
    let s = TEST_SECRET;
    let ok = |f: &str| {
        vec![Step::new(T0, GOOD, OK).prompts(1)]
            .into_iter()
            .map(|st| st.file_contains(f.as_bytes()))
            .collect::<Vec<_>>()
    };
    let mut v = Vec::new();

    // §2.3: the CRLF example (one TOTP login at 300000).
    let crlf = format!(
        "{s}\r\n\" TOTP_AUTH\r\n\" DISALLOW_REUSE\r\n\r\n\" RATE_LIMIT 3 30\r\n12345678\r\n\" DISALLOW_REUSE 5\n\n\n87654321\n"
    );
    let crlf_after = format!(
        "{s}\r\n\" TOTP_AUTH\r\n\" DISALLOW_REUSE 10000\n\" RATE_LIMIT 3 30 300000\n12345678\r\n87654321\n"
    );
    v.push(Scenario::new(
        "CRLF file rewrite",
        "§2.3 example",
        crlf.as_bytes(),
        vec![
            Step::new(T0, GOOD, OK)
                .prompts(1)
                .file_after(crlf_after.as_bytes())
                .mode_after(0o400),
        ],
    ));
    v.push(Scenario::new(
        "CRLF scratch code removal",
        "§2.5 (removal eats the CR/LF run)",
        crlf.as_bytes(),
        vec![Step::new(T0, "12345678", OK).prompts(1).file_after(
            format!("{s}\r\n\" TOTP_AUTH\r\n\" DISALLOW_REUSE\r\n\r\n\" RATE_LIMIT 3 30 300000\n\" DISALLOW_REUSE 5\n\n\n87654321\n").as_bytes(),
        )],
    ));
    v.push(Scenario::new(
        "no final newline, option replaced at the end",
        "§2.3",
        format!("{s}\n\" TOTP_AUTH\n\" DISALLOW_REUSE").as_bytes(),
        vec![
            Step::new(T0, GOOD, OK)
                .prompts(1)
                .file_after(format!("{s}\n\" TOTP_AUTH\n\" DISALLOW_REUSE 10000\n").as_bytes()),
        ],
    ));
    v.push(Scenario::new(
        "scratch code as last line without newline",
        "§2.5 (the LF before it stays)",
        format!("{s}\n\" TOTP_AUTH\n12345678").as_bytes(),
        vec![
            Step::new(T0, "12345678", OK)
                .prompts(1)
                .file_after(format!("{s}\n\" TOTP_AUTH\n").as_bytes()),
        ],
    ));
    v.push(Scenario::new(
        "blank lines after line 1, key inserted after them",
        "§2.3 insertion rule",
        format!("{s}\n\n\n\" TOTP_AUTH\n").as_bytes(),
        vec![Step::new(T0, &code_at(9000), ERR).prompts(1).file_after(
            format!("{s}\n\n\n\" RESETTING_TIME_SKEW 10000-1000\n\" TOTP_AUTH\n").as_bytes(),
        )],
    ));
    v.push(Scenario::new(
        "duplicate option lines",
        "§2.3 (first replaced, later deleted)",
        format!("{s}\n\" DISALLOW_REUSE 5\n\" TOTP_AUTH\n\" DISALLOW_REUSE 7\n# end\n").as_bytes(),
        vec![
            Step::new(T0, GOOD, OK).prompts(1).file_after(
                format!("{s}\n\" DISALLOW_REUSE 10000\n\" TOTP_AUTH\n# end\n").as_bytes(),
            ),
        ],
    ));
    v.push(Scenario::new(
        "duplicate WINDOW_SIZE: the first counts",
        "§2.1 getting",
        &with("\" WINDOW_SIZE 1\n\" WINDOW_SIZE 17\n"),
        vec![
            Step::new(T0, &code_at(10001), ERR).prompts(1),
            Step::new(T0, GOOD, OK).prompts(1),
        ],
    ));
    v.push(Scenario::new(
        "unknown option lines and comments are kept",
        "§2.1, §2.6",
        format!("{s}\n\" FOO bar\n# comment\n\"  DISALLOW_REUSE\n\"\tRATE_LIMIT x\n\" disallow_reuse\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n").as_bytes(),
        ok("\" FOO bar\n# comment\n\"  DISALLOW_REUSE\n\"\tRATE_LIMIT x\n\" disallow_reuse\n\" TOTP_AUTH\n\" DISALLOW_REUSE 10000\n"),
    ));
    v.push(Scenario::new(
        "option text on line 1 (invalid secret)",
        "§2.1, §2.2",
        format!("\" TOTP_AUTH\n{s}\n").as_bytes(),
        vec![
            Step::new(T0, GOOD, ERR)
                .prompts(1)
                .unchanged()
                .syslog("Could not find a valid BASE32 encoded secret"),
        ],
    ));
    v.push(Scenario::new(
        "RATE_LIMIT read from line 1",
        "§2.1 (getting searches line 1 too), §3.6",
        b"\" RATE_LIMIT 1 30 299999\n\" TOTP_AUTH\n",
        vec![
            Step::new(T0, GOOD, ERR)
                .prompts(0)
                .file_after(b"\" RATE_LIMIT 1 30 300000\n\" TOTP_AUTH\n"),
        ],
    ));
    v.push(Scenario::new(
        "TOTP_AUTH found as a substring",
        "§2.1 TOTP_AUTH",
        format!("{s}\n# see \" TOTP_AUTHX here\n").as_bytes(),
        vec![Step::new(T0, GOOD, OK).prompts(1).unchanged()],
    ));
    v.push(Scenario::new(
        "no TOTP_AUTH: no TOTP check",
        "§1.9",
        format!("{s}\n\" TOTP_OFF\n").as_bytes(),
        vec![Step::new(T0, GOOD, ERR).prompts(1).unchanged()],
    ));
    let sc = format!("{s}\n\" TOTP_AUTH\n  12345678\n+23456789\n034567890\n");
    v.push(Scenario::new(
        "scratch codes with spaces, + and a leading zero",
        "§2.5 (verified)",
        sc.as_bytes(),
        vec![
            Step::new(T0, "34567890", OK)
                .prompts(1)
                .file_after(format!("{s}\n\" TOTP_AUTH\n  12345678\n+23456789\n").as_bytes()),
            Step::new(T0, "12345678", OK)
                .prompts(1)
                .file_after(format!("{s}\n\" TOTP_AUTH\n+23456789\n").as_bytes()),
            Step::new(T0, "23456789", OK)
                .prompts(1)
                .file_after(format!("{s}\n\" TOTP_AUTH\n").as_bytes()),
        ],
    ));
    v.push(Scenario::new(
        "scratch scan stopped by a bad line",
        "§2.5",
        format!("{s}\n\" TOTP_AUTH\n12345678\n1234567\n23456789\n").as_bytes(),
        vec![
            Step::new(T0, "23456789", ERR).prompts(1).unchanged(),
            Step::new(T0, "12345678", OK)
                .prompts(1)
                .file_after(format!("{s}\n\" TOTP_AUTH\n1234567\n23456789\n").as_bytes()),
        ],
    ));
    v.push(Scenario::new(
        "scratch scan stopped by a trailing space",
        "§2.5",
        format!("{s}\n12345678 \n23456789\n").as_bytes(),
        vec![Step::new(T0, "23456789", ERR).prompts(1).unchanged()],
    ));
    v.push(Scenario::new(
        "duplicate scratch codes",
        "§2.5 (only the first copy is removed)",
        format!("{s}\n12345678\n\n12345678\n").as_bytes(),
        vec![
            Step::new(T0, "12345678", OK)
                .prompts(1)
                .file_after(format!("{s}\n12345678\n").as_bytes()),
            Step::new(T0, "12345678", OK)
                .prompts(1)
                .file_after(format!("{s}\n").as_bytes()),
            Step::new(T0, "12345678", ERR).prompts(1).unchanged(),
        ],
    ));
    v.push(Scenario::new(
        "scratch code starting with 0 refused",
        "§1.9 step 3",
        format!("{s}\n01234567\n").as_bytes(),
        vec![Step::new(T0, "01234567", ERR).prompts(1).unchanged()],
    ));
    v.push(Scenario::new(
        "lower-case secret",
        "§2.2",
        format!("{}\n\" TOTP_AUTH\n", s.to_lowercase()).as_bytes(),
        vec![Step::new(T0, GOOD, OK).prompts(1)],
    ));
    let rfc = "GEZDGNBVGY3TQOJQ";
    v.push(Scenario::new(
        "mistyped 0 and 8 in the secret, spaces and dashes",
        "§2.2",
        b"GEZD-GN8V GY3T\tQ0JQ\n\" TOTP_AUTH\n",
        vec![Step::new(T0, &hotp_code(rfc, 10000), OK).prompts(1)],
    ));
    v.push(Scenario::new(
        "mistyped 1 in the secret",
        "§2.2",
        b"1111111111111111\n\" TOTP_AUTH\n",
        vec![Step::new(T0, &hotp_code("LLLLLLLLLLLLLLLL", 10000), OK).prompts(1)],
    ));
    v.push(Scenario::new(
        "= padding makes the secret invalid",
        "§2.2",
        format!("{s}====\n\" TOTP_AUTH\n").as_bytes(),
        vec![
            Step::new(T0, GOOD, ERR)
                .prompts(1)
                .syslog("Could not find a valid BASE32 encoded secret"),
        ],
    ));
    v.push(Scenario::new(
        "one-character secret",
        "§2.2",
        b"A\n\" TOTP_AUTH\n",
        vec![Step::new(T0, GOOD, ERR).prompts(1)],
    ));
    v.push(Scenario::new(
        "invalid secret with RATE_LIMIT still records the attempt",
        "§1.13",
        b"A\n\" RATE_LIMIT 3 30\n\" TOTP_AUTH\n",
        vec![
            Step::new(T0, GOOD, ERR)
                .prompts(1)
                .file_contains(b"\" RATE_LIMIT 3 30 300000\n"),
        ],
    ));
    let long_secret = s.repeat(6);
    v.push(Scenario::new(
        "96-character secret and a 100-character line",
        "§2.2 (any key length)",
        format!(
            "{long_secret}\n\" TOTP_AUTH\n{}\n\" DISALLOW_REUSE\n",
            "x".repeat(100)
        )
        .as_bytes(),
        vec![
            Step::new(T0, &hotp_code(&long_secret, 10000), OK)
                .prompts(1)
                .file_contains(b"\" DISALLOW_REUSE 10000\n"),
        ],
    ));
    v.push(Scenario::new(
        "100-character scratch-like line",
        "§2.5",
        format!("{s}\n\" TOTP_AUTH\n{}\n12345678\n", "1".repeat(100)).as_bytes(),
        vec![Step::new(T0, "12345678", ERR).prompts(1).unchanged()],
    ));
    for (what, line, good) in [
        ("STEP_SIZE 61", "\" STEP_SIZE 61", false),
        ("STEP_SIZE 0", "\" STEP_SIZE 0", false),
        ("STEP_SIZE 30 junk", "\" STEP_SIZE 30 junk", true),
        ("STEP_SIZE 30junk", "\" STEP_SIZE 30junk", false),
        ("STEP_SIZE -30", "\" STEP_SIZE -30", false),
        ("WINDOW_SIZE 101", "\" WINDOW_SIZE 101", false),
        ("WINDOW_SIZE 0", "\" WINDOW_SIZE 0", false),
        ("WINDOW_SIZE 3 junk", "\" WINDOW_SIZE 3 junk", true),
        ("WINDOW_SIZE 3x", "\" WINDOW_SIZE 3x", false),
        ("HOTP_COUNTER garbage", "\" HOTP_COUNTER abc", true),
        ("HOTP_COUNTER negative", "\" HOTP_COUNTER -4", true),
        ("TIME_SKEW garbage", "\" TIME_SKEW xyz", true),
        (
            "RESETTING_TIME_SKEW garbage",
            "\" RESETTING_TIME_SKEW 12x",
            true,
        ),
    ] {
        let result = if good { OK } else { ERR };
        let mut st = Step::new(T0, GOOD, result).prompts(1);
        if !good {
            st = st.unchanged();
        }
        v.push(Scenario::new(
            format!("option value: {what}"),
            "§2.4",
            &with(&format!("{line}\n")),
            vec![st],
        ));
    }
    v.push(Scenario::new(
        "option value: DISALLOW_REUSE garbage",
        "§2.4, §8 item 9; COMPATIBILITY.md #8 (ours logs it, same result)",
        &with("\" DISALLOW_REUSE 9999 abc\n"),
        vec![
            Step::new(T0, GOOD, ERR)
                .prompts(1)
                .unchanged()
                .ours_syslog("Invalid list of used codes in DISALLOW_REUSE"),
        ],
    ));
    // RATE_LIMIT variants (§3.6).
    for (what, line, result, after) in [
        ("3 30x", "3 30x", ERR, None),
        ("n out of range", "0 30", ERR, None),
        ("n 101", "101 30", ERR, None),
        ("m out of range", "3 3601", ERR, None),
        ("missing m", "3", ERR, None),
        ("garbage timestamp", "3 30 299990 abc", ERR, None),
        (
            "future timestamps dropped",
            "3 30 400000 400001 400002",
            OK,
            Some("3 30 300000"),
        ),
        (
            "far past dropped",
            "3 30 100 200 300",
            OK,
            Some("3 30 300000"),
        ),
        (
            "not exceeded",
            "3 30 299990 299995",
            OK,
            Some("3 30 299990 299995 300000"),
        ),
        (
            "tab separated",
            "3\t30\t299990",
            OK,
            Some("3 30 299990 300000"),
        ),
        (
            "exceeded",
            "2 30 299990 299995",
            ERR,
            Some("2 30 299995 300000"),
        ),
    ] {
        let mut st = Step::new(T0, GOOD, result);
        st = match after {
            None => st.prompts(0).unchanged(),
            Some(a) => st
                .prompts(usize::from(result == OK))
                .file_contains(format!("\" RATE_LIMIT {a}\n").as_bytes()),
        };
        v.push(Scenario::new(
            format!("RATE_LIMIT {what}"),
            "§3.6",
            &with(&format!("\" RATE_LIMIT {line}\n")),
            vec![st],
        ));
    }
    v.push(Scenario::new(
        "RATE_LIMIT exceeded twice",
        "§3.6 (verified example)",
        format!("{s}\n\" RATE_LIMIT 2 30 299990 299995\n\" TOTP_AUTH\n").as_bytes(),
        vec![
            Step::new(T0, GOOD, ERR)
                .prompts(0)
                .file_contains(b"\" RATE_LIMIT 2 30 299995 300000\n")
                .syslog("Too many concurrent login attempts"),
            Step::new(T0 + 1, GOOD, ERR)
                .prompts(0)
                .file_contains(b"\" RATE_LIMIT 2 30 300000 300001\n"),
        ],
    ));
    v.push(Scenario::new(
        "RATE_LIMIT on a wrong code",
        "§3.6 (every attempt counts)",
        &with("\" RATE_LIMIT 3 30\n"),
        vec![
            Step::new(T0, WRONG, ERR)
                .prompts(1)
                .file_contains(b"\" RATE_LIMIT 3 30 300000\n"),
        ],
    ));
    v.push(Scenario::new(
        "NUL byte in the file",
        "§1.7",
        format!("{s}\n\" TOTP_AUTH\n\0\n").as_bytes(),
        vec![Step::new(T0, GOOD, ERR).prompts(1).unchanged()],
    ));
    v.push(Scenario::new(
        "empty file",
        "§1.6 item 6",
        b"",
        vec![Step::new(T0, GOOD, ERR).prompts(1).unchanged()],
    ));
    v.push(Scenario::new(
        "time below STEP_SIZE",
        "§3.1, §8 item 19",
        &fresh(),
        vec![Step::new(20, &code_at(0), ERR).prompts(1)],
    ));
    v
}

/// Module arguments (§1.2, §1.4-§1.6, §1.12).
fn module_arguments() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, IGNORE, SUCCESS as OK};
    let s = TEST_SECRET;
    let good = || vec![Step::new(T0, GOOD, OK).prompts(1)];
    let bad_no_prompt = || vec![Step::new(T0, GOOD, ERR).prompts(0).unchanged()];
    let bad_prompt = || vec![Step::new(T0, GOOD, ERR).prompts(1).unchanged()];
    let hotp1 = format!("{s}\n\" HOTP_COUNTER 1\n").into_bytes();
    let hotp2 = format!("{s}\n\" HOTP_COUNTER 2\n").into_bytes();
    let mut v = vec![
        Scenario::new("secret= with ~ after /", "§1.4", &fresh(), good())
            .path("{home}/google_authenticator")
            .only_args(&["secret={dir}/~/google_authenticator"]),
        Scenario::new(
            "secret= with ~ glued to a name",
            "§1.4 (~foo is <home>foo)",
            &fresh(),
            good(),
        )
        .path("{home}foo")
        .only_args(&["secret={dir}/~foo"]),
        Scenario::new("secret= with ${HOME}", "§1.4", &fresh(), good())
            .path("{home}/ga")
            .only_args(&["secret={dir}${HOME}/ga"]),
        Scenario::new("secret= with ${USER}", "§1.4", &fresh(), good())
            .path("{user}/ga")
            .only_args(&["secret={dir}/${USER}/ga"]),
        Scenario::new(
            "secret= with $HOME and ${FOO} kept literally",
            "§1.4",
            &fresh(),
            good(),
        )
        .path("$HOME/${FOO}/%u")
        .only_args(&["secret={dir}/$HOME/${FOO}/%u"]),
        Scenario::new(
            "empty secret= with nullok",
            "§1.2 secret=",
            &fresh(),
            vec![Step::new(T0, GOOD, IGNORE).prompts(0)],
        )
        .only_args(&["secret=", "nullok"]),
        Scenario::new("nullok with an existing file", "§1.11", &fresh(), good()).args(&["nullok"]),
        Scenario::new(
            "nullok with a missing directory",
            "§1.11 (ENOENT on a parent)",
            &fresh(),
            vec![Step::new(T0, GOOD, IGNORE).prompts(0)],
        )
        .only_args(&["secret={dir}/nodir/ga", "nullok"]),
        Scenario::new(
            "nullok does not help a bad mode",
            "§1.11",
            &fresh(),
            bad_prompt(),
        )
        .mode(0o644)
        .args(&["nullok"]),
        Scenario::new(
            "authtok_prompt with spaces",
            "§1.2, §1.8",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompt_texts(&[(EchoStyle::EchoOff, "Your secret token: ")]),
            ],
        )
        .args(&["authtok_prompt=Your secret token: "]),
        Scenario::new(
            "default prompt",
            "§1.8",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompt_texts(&[(EchoStyle::EchoOff, "Verification code: ")]),
            ],
        ),
        mode_scenario(
            1,
            "forward_pass prompt text",
            "§1.8",
            &fresh(),
            vec![
                mode_step(1, T0, GOOD, OK)
                    .prompt_texts(&[(EchoStyle::EchoOff, "Password & verification code: ")]),
            ],
        ),
        Scenario::new(
            "echo_verification_code",
            "§1.2, §1.8",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK).prompt_texts(&[(EchoStyle::EchoOn, "Verification code: ")]),
            ],
        )
        .args(&["echo_verification_code"])
        .conv(ConvMode::Script),
        Scenario::new(
            "echo-verification-code",
            "§1.2, §1.8",
            &fresh(),
            vec![
                Step::new(T0, WRONG, ERR)
                    .prompt_texts(&[(EchoStyle::EchoOn, "Verification code: ")]),
            ],
        )
        .args(&["echo-verification-code"])
        .conv(ConvMode::Script),
        Scenario::new(
            "conversation answers NULL: second prompt",
            "§1.8, §8 item 14",
            &fresh(),
            vec![
                Step::new(T0, GOOD, ERR)
                    .prompts(2)
                    .syslog("Did not receive verification code from user"),
            ],
        )
        .conv(ConvMode::Null),
        Scenario::new(
            "allowed_perm=0640 accepts a 0640 file",
            "§1.2, §1.6",
            &fresh(),
            good(),
        )
        .mode(0o640)
        .args(&["allowed_perm=0640"]),
        Scenario::new("allowed_perm=640 (no leading 0)", "§1.2", &fresh(), good())
            .mode(0o640)
            .args(&["allowed_perm=640"]),
        Scenario::new(
            "0640 file refused by default",
            "§1.6 item 4",
            &fresh(),
            vec![
                Step::new(T0, GOOD, ERR)
                    .prompts(1)
                    .unchanged()
                    .syslog("are more permissive than 0600"),
            ],
        )
        .mode(0o640),
        Scenario::new("0400 file accepted", "§1.6 item 4", &fresh(), good()).mode(0o400),
        Scenario::new("setuid bit ignored", "§1.6 item 4", &fresh(), good()).mode(0o4600),
        Scenario::new("setgid bit refused", "§1.6 item 4", &fresh(), bad_prompt()).mode(0o2600),
        Scenario::new(
            "allowed_perm=-1 accepts 0666",
            "§1.2 allowed_perm",
            &fresh(),
            good(),
        )
        .mode(0o666)
        .args(&["allowed_perm=-1"]),
        Scenario::new(
            "allowed_perm=0648 rejected",
            "§1.2",
            &fresh(),
            bad_no_prompt(),
        )
        .args(&["allowed_perm=0648"]),
        Scenario::new("allowed_perm=0 rejected", "§1.2", &fresh(), bad_no_prompt())
            .args(&["allowed_perm=0"]),
        Scenario::new(
            "file owned by nobody refused",
            "§1.6 item 5",
            &fresh(),
            vec![
                Step::new(T0, GOOD, ERR)
                    .prompts(1)
                    .unchanged()
                    .syslog("must be owned by"),
            ],
        )
        .setup(Setup::OwnedByNobody),
        Scenario::new(
            "no_strict_owner with a file owned by nobody",
            "§1.2, §1.6 item 5",
            &with("\" DISALLOW_REUSE\n"),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .file_contains(b"\" DISALLOW_REUSE 10000\n")
                    .mode_after(0o400),
            ],
        )
        .setup(Setup::OwnedByNobody)
        .args(&["no_strict_owner"]),
        Scenario::new(
            "unknown argument",
            "§1.2",
            &fresh(),
            vec![
                Step::new(T0, GOOD, ERR)
                    .prompts(0)
                    .unchanged()
                    .syslog("Unrecognized option \"frobnicate\""),
            ],
        )
        .args(&["frobnicate"]),
        Scenario::new(
            "flag arguments are case-sensitive",
            "§1.2",
            &fresh(),
            bad_no_prompt(),
        )
        .args(&["NULLOK"]),
        Scenario::new(
            "grace_period=-1 rejected",
            "§1.2",
            &fresh(),
            bad_no_prompt(),
        )
        .args(&["grace_period=-1"]),
        Scenario::new(
            "grace_period=10x rejected",
            "§1.2",
            &fresh(),
            bad_no_prompt(),
        )
        .args(&["grace_period=10x"]),
        Scenario::new(
            "empty grace_period= accepted",
            "§1.2",
            &fresh(),
            vec![Step::new(T0, GOOD, OK).prompts(1).unchanged()],
        )
        .args(&["grace_period="])
        .rhost("10.0.0.1"),
        Scenario::new("user= numeric uid", "§1.2 user=", &fresh(), good()).args(&["user=0"]),
        Scenario::new("user= name", "§1.2 user=", &fresh(), good()).args(&["user=root"]),
        Scenario::new(
            "user= uid with junk",
            "§1.2 (user=0x is uid 0)",
            &fresh(),
            good(),
        )
        .args(&["user=0x"]),
        Scenario::new(
            "user= unknown name",
            "§1.2",
            &fresh(),
            vec![
                Step::new(T0, GOOD, ERR)
                    .prompts(0)
                    .unchanged()
                    .syslog("Failed to look up user \"no-such-user-ga\""),
            ],
        )
        .args(&["user=no-such-user-ga"]),
        Scenario::new(
            "user= uid without passwd entry",
            "§1.5",
            &fresh(),
            bad_no_prompt(),
        )
        .args(&["user=4242"]),
        Scenario::new(
            "user= with a PAM user that does not exist",
            "§1.4 (PAM user not looked up)",
            &fresh(),
            good(),
        )
        .user("ghost-ga")
        .path("ghost-ga/ga")
        .only_args(&["secret={dir}/${USER}/ga", "user=0"]),
        Scenario::new(
            "user= with ~ in secret=",
            "§1.4",
            &fresh(),
            vec![
                Step::new(T0, GOOD, ERR)
                    .prompts(1)
                    .syslog("Home dir in 'secret' not implemented when 'user' set"),
            ],
        )
        .path("{home}/google_authenticator")
        .only_args(&["secret={dir}/~/google_authenticator", "user=0"]),
        Scenario::new(
            "unknown PAM user, even with nullok",
            "§1.11",
            &fresh(),
            vec![Step::new(T0, GOOD, ERR).prompts(1).syslog("not found")],
        )
        .user("ghost-ga")
        .args(&["nullok"]),
        Scenario::new(
            "later argument wins",
            "§1.2 (try_first_pass then use_first_pass)",
            &fresh(),
            vec![
                Step::new(T0, "", ERR)
                    .no_answers()
                    .with_authtok("nothing")
                    .prompts(0),
            ],
        )
        .args(&["try_first_pass", "use_first_pass"]),
        Scenario::new(
            "symlink secret with a plain TOTP file",
            "§1.6 item 1; COMPATIBILITY.md #4",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .ours_result(ERR)
                    .ours_prompts(1)
                    .ours_syslog("is not a regular file"),
            ],
        )
        .setup(Setup::Symlink)
        .differs(Difference::NotRegularFile),
        Scenario::new(
            "directory as secret file",
            "§1.6 item 3",
            &fresh(),
            vec![Step::new(T0, GOOD, ERR).prompts(1)],
        )
        .only_args(&["secret={dir}"]),
    ];
    // allow_readonly with a write failure: the directory is immutable (EPERM even for root).
    let eperm = "Error \"Operation not permitted\" while writing config";
    v.push(
        Scenario::new(
            "write failure without allow_readonly",
            "§1.12",
            &hotp1,
            vec![
                Step::new(T0, "293240", ERR)
                    .prompts(1)
                    .errors(&[eperm])
                    .file_after(&hotp1),
            ],
        )
        .path("ro/google_authenticator")
        .setup(Setup::ImmutableDir),
    );
    v.push(
        Scenario::new(
            "write failure with allow_readonly",
            "§1.12",
            &hotp1,
            vec![
                Step::new(T0, "293240", OK)
                    .prompts(1)
                    .errors(&[eperm])
                    .file_after(&hotp1),
                Step::new(T0, "293240", OK)
                    .prompts(1)
                    .errors(&[eperm])
                    .file_after(&hotp1),
            ],
        )
        .path("ro/google_authenticator")
        .setup(Setup::ImmutableDir)
        .args(&["allow_readonly"]),
    );
    v.push(
        Scenario::new(
            "read-only directory, nothing to write",
            "§1.12 (plain TOTP works)",
            &fresh(),
            vec![Step::new(T0, GOOD, OK).prompts(1).errors(&[]).unchanged()],
        )
        .path("ro/google_authenticator")
        .setup(Setup::ImmutableDir),
    );
    let _ = hotp2;
    v
}

/// Grace period (§3.7) and the documented differences around it.
fn grace_period() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, SUCCESS as OK};
    let s = TEST_SECRET;
    let h = "10.0.0.1";
    let gp = "grace_period=3600";
    let last =
        |extra: &str| format!("{s}\n\" LAST0 {h} 299000\n\" TOTP_AUTH\n{extra}").into_bytes();
    let mut v = vec![
        Scenario::new(
            "grace: LAST within the period",
            "§3.7",
            &last(""),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(0)
                    .unchanged()
                    .syslog("within grace period"),
            ],
        )
        .args(&[gp])
        .rhost(h),
        Scenario::new(
            "grace: other rhost",
            "§3.7",
            &last("\" DISALLOW_REUSE\n"),
            vec![Step::new(T0, GOOD, OK).prompts(1).file_after(&sf(&[
                "\" LAST1 10.0.0.2 300000",
                "\" LAST0 10.0.0.1 299000",
                "\" TOTP_AUTH",
                "\" DISALLOW_REUSE 10000",
            ]))],
        )
        .args(&[gp])
        .rhost("10.0.0.2"),
        Scenario::new(
            "grace: LAST outside the period",
            "§3.7",
            &last("\" DISALLOW_REUSE\n"),
            vec![
                Step::new(T0 + 4000, &code_at(10133), OK)
                    .prompts(1)
                    .file_after(&sf(&[
                        "\" LAST0 10.0.0.1 304000",
                        "\" TOTP_AUTH",
                        "\" DISALLOW_REUSE 10133",
                    ])),
                Step::new(T0 + 4030, &code_at(10134), OK)
                    .prompts(0)
                    .unchanged(),
            ],
        )
        .args(&[gp])
        .rhost(h),
        Scenario::new(
            "grace: exactly at the end of the period",
            "§3.7 (strict)",
            &last("\" DISALLOW_REUSE\n"),
            vec![Step::new(299_000 + 3600, &code_at(10086), OK).prompts(1)],
        )
        .args(&[gp])
        .rhost(h),
        Scenario::new(
            "grace: within grace but rate limit exceeded",
            "§3.6, §3.7",
            &last("\" RATE_LIMIT 1 30 299990\n"),
            vec![Step::new(T0, GOOD, OK).prompts(0).unchanged()],
        )
        .args(&[gp])
        .rhost(h),
        Scenario::new(
            "grace: within grace with an invalid secret",
            "§1.3 step 8",
            format!("A\n\" LAST0 {h} 299000\n").as_bytes(),
            vec![Step::new(T0, GOOD, OK).prompts(0).unchanged()],
        )
        .args(&[gp])
        .rhost(h),
        Scenario::new(
            "grace: duplicate LAST0 hides the later line",
            "§3.7 (verified)",
            &sf(&[
                "\" LAST0 10.9.9.9 299000",
                "\" LAST0 10.0.0.1 299000",
                "\" TOTP_AUTH",
                "\" DISALLOW_REUSE",
            ]),
            vec![Step::new(T0, GOOD, OK).prompts(1)],
        )
        .args(&[gp])
        .rhost(h),
    ];
    // Ten-slot bookkeeping: nine slots taken, then three successes (DISALLOW_REUSE makes
    // 1.08 write the file too, so both modules record LAST).
    let mut nine = format!("{s}\n");
    for i in 0..9 {
        nine.push_str(&format!("\" LAST{i} 10.1.0.{i} {}\n", 100 * (i + 1)));
    }
    nine.push_str("\" TOTP_AUTH\n\" DISALLOW_REUSE\n");
    v.push(
        Scenario::new(
            "grace: ten-slot bookkeeping",
            "§3.7 record",
            nine.as_bytes(),
            vec![
                Step::new(T0, GOOD, OK)
                    .with_rhost("10.2.0.1")
                    .prompts(1)
                    .file_contains(b"\" LAST9 10.2.0.1 300000\n"),
                Step::new(T0 + 30, &code_at(10001), OK)
                    .with_rhost("10.2.0.2")
                    .prompts(1)
                    .file_contains(b"\" LAST0 10.2.0.2 300030\n"),
                Step::new(T0 + 60, &code_at(10002), OK)
                    .with_rhost("10.2.0.3")
                    .prompts(1)
                    .file_contains(b"\" LAST1 10.2.0.3 300060\n"),
                Step::new(T0 + 90, "", OK)
                    .with_rhost("10.2.0.2")
                    .prompts(0)
                    .unchanged(),
                Step::new(T0 + 3700, &code_at(10123), OK)
                    .with_rhost("10.2.0.2")
                    .prompts(1)
                    .file_contains(b"\" LAST0 10.2.0.2 303700\n"),
            ],
        )
        .args(&[gp]),
    );
    v.push(
        Scenario::new(
            "grace: new slots go right after line 1",
            "§3.7 (reverse order)",
            &with("\" DISALLOW_REUSE\n"),
            vec![
                Step::new(T0, GOOD, OK).with_rhost("a.example").prompts(1),
                Step::new(T0 + 30, &code_at(10001), OK)
                    .with_rhost("b.example")
                    .prompts(1),
                Step::new(T0 + 60, &code_at(10002), OK)
                    .with_rhost("c.example")
                    .prompts(1)
                    .file_after(&sf(&[
                        "\" LAST2 c.example 300060",
                        "\" LAST1 b.example 300030",
                        "\" LAST0 a.example 300000",
                        "\" TOTP_AUTH",
                        "\" DISALLOW_REUSE 10000 10001 10002",
                    ])),
            ],
        )
        .args(&[gp]),
    );
    v.push(
        Scenario::new(
            "grace: malformed LAST slot is skipped",
            "§3.7 record",
            &sf(&["\" LAST0 bad_host 100", "\" TOTP_AUTH", "\" DISALLOW_REUSE"]),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .file_contains(b"\" LAST1 10.0.0.1 300000\n")
                    .file_contains(b"\" LAST0 bad_host 100\n")
                    .syslog("Malformed LAST0 line"),
            ],
        )
        .args(&[gp])
        .rhost(h),
    );

    // Documented differences.
    v.push(
        Scenario::new(
            "grace: plain TOTP success records LAST (HEAD)",
            "§1.10 step 4, §7 item 5",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .unchanged()
                    .mode_after(0o600)
                    .ours_file(format!("{s}\n\" LAST0 {h} 300000\n\" TOTP_AUTH").as_bytes())
                    .ours_mode(0o400),
                Step::new(T0 + 30, "", ERR)
                    .prompts(1)
                    .unchanged()
                    .ours_result(OK)
                    .ours_prompts(0)
                    .ours_file(format!("{s}\n\" LAST0 {h} 300000\n\" TOTP_AUTH").as_bytes())
                    .ours_mode(0o400),
            ],
        )
        .args(&[gp])
        .rhost(h)
        .differs(Difference::GraceAlwaysRecorded),
    );
    v.push(
        Scenario::new(
            "grace: success without PAM_RHOST",
            "§1.10 step 4, §7 item 5",
            &last(""),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .unchanged()
                    .mode_after(0o600)
                    .ours_file(&last(""))
                    .ours_mode(0o400)
                    .ours_syslog("Failed to store grace_period timestamp in config"),
            ],
        )
        .args(&[gp])
        .differs(Difference::GraceAlwaysRecorded),
    );
    v.push(
        Scenario::new(
            "grace: future LAST without grace_period",
            "§3.7, §8 item 6; COMPATIBILITY.md #5",
            &sf(&["\" LAST0 10.0.0.1 400000", "\" TOTP_AUTH"]),
            vec![
                Step::new(T0, WRONG, OK)
                    .prompts(0)
                    .unchanged()
                    .ours_result(ERR)
                    .ours_prompts(1),
            ],
        )
        .rhost(h)
        .differs(Difference::GraceNeedsOption),
    );
    v.push(
        Scenario::new(
            "grace: future LAST with grace_period",
            "§3.7; COMPATIBILITY.md #5",
            &sf(&[
                "\" LAST0 10.0.0.1 400000",
                "\" TOTP_AUTH",
                "\" DISALLOW_REUSE",
            ]),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(0)
                    .unchanged()
                    .ours_prompts(1)
                    .ours_file(&sf(&[
                        "\" LAST0 10.0.0.1 300000",
                        "\" TOTP_AUTH",
                        "\" DISALLOW_REUSE 10000",
                    ]))
                    .ours_mode(0o400),
            ],
        )
        .args(&[gp])
        .rhost(h)
        .differs(Difference::GraceNeedsOption),
    );
    let mut future = format!("{s}\n");
    for i in 0..10 {
        future.push_str(&format!("\" LAST{i} 10.1.0.{i} {}\n", 400_000 - i));
    }
    future.push_str("\" TOTP_AUTH\n\" DISALLOW_REUSE\n");
    v.push(
        Scenario::new(
            "grace: all ten slots in the future",
            "§3.7 LAST/ bug; COMPATIBILITY.md #6",
            future.as_bytes(),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .file_contains(b"\" LAST/ 10.2.0.1 300000\n")
                    .ours_file(
                        future
                            .replace("\" LAST9 10.1.0.9 399991\n", "\" LAST9 10.2.0.1 300000\n")
                            .replace("DISALLOW_REUSE\n", "DISALLOW_REUSE 10000\n")
                            .as_bytes(),
                    ),
            ],
        )
        .args(&[gp])
        .rhost("10.2.0.1")
        .differs(Difference::NoLastSlashKey),
    );
    v.push(
        Scenario::new(
            "grace: % in the rhost",
            "§7 item 7",
            &with("\" DISALLOW_REUSE\n"),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .file_contains(b"\" LAST0 fe80::1%eth0 300000\n"),
                // 1.08 finds its own entry malformed: no grace, and a new slot each time.
                Step::new(T0 + 30, &code_at(10001), OK)
                    .prompts(1)
                    .file_contains(b"\" LAST1 fe80::1%eth0 300030\n\" LAST0 fe80::1%eth0 300000\n")
                    .syslog("Malformed LAST0 line")
                    .ours_prompts(0)
                    .ours_file(&sf(&[
                        "\" LAST0 fe80::1%eth0 300000",
                        "\" TOTP_AUTH",
                        "\" DISALLOW_REUSE 10000",
                    ])),
                Step::new(T0 + 3700, &code_at(10123), OK)
                    .prompts(1)
                    .file_contains(b"\" LAST2 fe80::1%eth0 303700\n")
                    .ours_prompts(1)
                    .ours_file(&sf(&[
                        "\" LAST0 fe80::1%eth0 303700",
                        "\" TOTP_AUTH",
                        "\" DISALLOW_REUSE 10123",
                    ])),
            ],
        )
        .args(&[gp])
        .rhost("fe80::1%eth0")
        .differs(Difference::PercentInLastHost),
    );
    v
}

/// Other documented differences (COMPATIBILITY.md).
fn other_differences() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, SUCCESS as OK};
    let s = TEST_SECRET;
    // COMPATIBILITY.md #9: the resync code is recorded in DISALLOW_REUSE, so it cannot be
    // replayed; Debian accepts the replay.
    let dr = format!("{s}\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n");
    let mut steps: Vec<Step> = (0..3)
        .zip([ERR, ERR, OK])
        .map(|(i, r)| Step::new((12000 + i) * 30, &code_at(11000 + i as u64), r).prompts(1))
        .collect();
    steps[2] = steps[2]
        .clone()
        .file_after(&sf(&[
            "\" TIME_SKEW -1000",
            "\" RESETTING_TIME_SKEW ",
            "\" TOTP_AUTH",
            "\" DISALLOW_REUSE",
        ]))
        .ours_file(&sf(&[
            "\" TIME_SKEW -1000",
            "\" RESETTING_TIME_SKEW ",
            "\" TOTP_AUTH",
            "\" DISALLOW_REUSE 11002",
        ]));
    steps.push(
        // The replay: 1.08 accepts it (and only now records it), ours refuses it.
        Step::new(12002 * 30, &code_at(11002), OK)
            .prompts(1)
            .file_contains(b"\" DISALLOW_REUSE 11002\n")
            .ours_result(ERR)
            .ours_file(&sf(&[
                "\" TIME_SKEW -1000",
                "\" RESETTING_TIME_SKEW ",
                "\" TOTP_AUTH",
                "\" DISALLOW_REUSE 11002",
            ])),
    );
    vec![
        Scenario::new(
            "resync code recorded in DISALLOW_REUSE",
            "§3.3, §8 item 9; COMPATIBILITY.md #9",
            dr.as_bytes(),
            steps,
        )
        .differs(Difference::ResyncCodeRecorded),
        Scenario::new(
            "RATE_LIMIT with a crafted -5 timestamp",
            "§3.6, §8 item 8; COMPATIBILITY.md #7",
            &with("\" RATE_LIMIT 3 30 -5\n"),
            vec![
                // 1.08 sorts -5 (as unsigned) after now, drops both and records nothing.
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .file_after(&with("\" RATE_LIMIT 3 30\n"))
                    .ours_file(&with("\" RATE_LIMIT 3 30 300000\n")),
            ],
        )
        .differs(Difference::RateLimitSort),
    ]
}

/// More conversation and first-pass corners (§1.8-§1.10).
fn conversation_corners() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, SUCCESS as OK};
    let s = TEST_SECRET;
    let scratch = format!("{s}\n\" TOTP_AUTH\n12345678\n");
    vec![
        mode_scenario(
            1,
            "password and scratch code",
            "§1.10 step 1 (the 8-digit split)",
            scratch.as_bytes(),
            vec![
                mode_step(1, T0, "12345678", OK)
                    .prompts(1)
                    .authtok_after(UPSTREAM_PW)
                    .file_after(&with("")),
            ],
        ),
        mode_scenario(
            1,
            "bare code, empty password forwarded",
            "§1.10 step 1 (prefix may be empty)",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK)
                    .with_authtok(UPSTREAM_PW)
                    .prompts(1)
                    .authtok_after(""),
            ],
        ),
        mode_scenario(
            3,
            "AUTHTOK with a scratch code",
            "§1.9 passes 0 and 1",
            scratch.as_bytes(),
            vec![
                mode_step(3, T0, "12345678", OK)
                    .prompts(0)
                    .authtok_after(UPSTREAM_PW)
                    .file_after(&with("")),
            ],
        ),
        Scenario::new(
            "use_first_pass without AUTHTOK",
            "§1.9 (verified: no prompt)",
            &fresh(),
            vec![Step::new(T0, GOOD, ERR).prompts(0)],
        )
        .preset(None)
        .args(&["use_first_pass"]),
        Scenario::new(
            "try_first_pass without AUTHTOK",
            "§1.9",
            &fresh(),
            vec![Step::new(T0, GOOD, OK).prompts(1)],
        )
        .preset(None)
        .args(&["try_first_pass"]),
        mode_scenario(
            4,
            "AUTHTOK tail matches a skewed code",
            "§1.9 (verified: error without prompt)",
            &fresh(),
            vec![
                Step::new(T0, GOOD, ERR)
                    .with_authtok(&format!("pw{}", code_at(9000)))
                    .prompts(0)
                    .file_contains(b"\" RESETTING_TIME_SKEW 10000-1000\n"),
            ],
        )
        .conv(ConvMode::Repeat),
        mode_scenario(
            4,
            "dummy password from sshd",
            "§1.9 step 1",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK)
                    .with_authtok("\x08INCORRECT")
                    .prompts(1)
                    .syslog("Dummy password supplied by PAM"),
            ],
        )
        .conv(ConvMode::Repeat),
        Scenario::new(
            "prompted code with a newline",
            "§1.9 step 3",
            &fresh(),
            vec![Step::new(T0, "050548\n", ERR).prompts(1)],
        ),
        Scenario::new(
            "prompted code with a space",
            "§1.9 step 3",
            &fresh(),
            vec![Step::new(T0, "050 548", ERR).prompts(1)],
        ),
        Scenario::new(
            "conversation returns a NULL array",
            "§1.8",
            &fresh(),
            vec![Step::new(T0, GOOD, ERR).prompts(2)],
        )
        .conv(ConvMode::NullArray),
        Scenario::new(
            "echo prompt refused by the conversation",
            "§1.8 (second prompt after a failure)",
            &fresh(),
            vec![Step::new(T0, GOOD, ERR).prompts(2)],
        )
        .args(&["echo_verification_code"]),
        Scenario::new(
            "scripted conversation runs out of answers",
            "§1.8",
            &fresh(),
            vec![Step::new(T0, "", ERR).no_answers().prompts(2)],
        )
        .conv(ConvMode::Script),
        Scenario::new(
            "debug argument",
            "§1.2, §4.2 debug lines",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .syslog("debug: start of google_authenticator for")
                    .ours_syslog("debug: end of google_authenticator for"),
            ],
        )
        .args(&["debug"]),
        Scenario::new(
            "WINDOW_SIZE 2 is asymmetric",
            "§3.2 (w=2: 0 and +1)",
            &with("\" WINDOW_SIZE 2\n"),
            vec![
                Step::new(T0, &code_at(9999), ERR).prompts(1),
                Step::new(T0, &code_at(10001), OK).prompts(1),
            ],
        ),
        Scenario::new(
            "WINDOW_SIZE 17",
            "§3.2 (w=17: -8..+8)",
            &with("\" WINDOW_SIZE 17\n\" DISALLOW_REUSE\n"),
            vec![
                Step::new(T0, &code_at(9992), OK).prompts(1),
                Step::new(T0, &code_at(10008), OK)
                    .prompts(1)
                    .file_contains(b"\" DISALLOW_REUSE 9992 10008\n"),
                Step::new(T0, &code_at(10009), ERR).prompts(1),
            ],
        ),
        Scenario::new(
            "file larger than 64 KiB",
            "§1.6 item 6",
            &[with(""), vec![b'#'; 65_536]].concat(),
            vec![Step::new(T0, GOOD, ERR).prompts(1).unchanged()],
        ),
        Scenario::new(
            "file of exactly 64 KiB",
            "§1.6 item 6",
            &[with(""), vec![b'#'; 65_536 - with("").len()]].concat(),
            vec![Step::new(T0, GOOD, OK).prompts(1).unchanged()],
        ),
    ]
}

/// The scenario table.
pub fn scenarios() -> Vec<Scenario> {
    let mut v = conversation_modes();
    v.extend(upstream_sequences());
    v.extend(file_format());
    v.extend(module_arguments());
    v.extend(grace_period());
    v.extend(other_differences());
    v.extend(conversation_corners());
    v
}

/// Runs `f` over the scenarios on two worker threads and collects the failures.
fn for_all(list: Vec<Scenario>, f: impl Fn(&Scenario) -> Vec<String> + Sync) -> Vec<String> {
    let list = std::sync::Mutex::new(list.into_iter());
    let fails = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for _ in 0..2 {
            scope.spawn(|| {
                loop {
                    let next = list.lock().expect("lock").next();
                    let Some(s) = next else { break };
                    let out = f(&s);
                    fails.lock().expect("lock").extend(out);
                }
            });
        }
    });
    fails.into_inner().expect("lock")
}

#[test]
fn scenario_names_are_unique_and_enough() {
    let list = scenarios();
    let mut names: Vec<&str> = list.iter().map(|s| s.name.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(before, names.len(), "duplicate scenario names");
    assert!(before >= 60, "only {before} scenarios");
    for s in &list {
        if s.expect_difference.is_some() {
            assert!(
                s.steps.iter().any(|st| st.ours.is_some()),
                "{}: a difference without any statement of what ours does",
                s.name
            );
        } else {
            assert!(
                s.steps.iter().all(|st| st.ours.is_none()),
                "{}: ours_* expectations without a named difference",
                s.name
            );
        }
    }
}

#[test]
fn reference_module_matches_the_spec() {
    // GA_REFERENCE_REPORT=1 prints what the reference did; GA_REFERENCE_REPORT=ours prints
    // what our module did instead (for reading, with --nocapture; checks are then skipped).
    let report = std::env::var("GA_REFERENCE_REPORT").ok();
    let module = if report.as_deref() == Some("ours") {
        crate::support::our_module()
    } else {
        crate::support::reference_module()
    };
    let fails = for_all(scenarios(), |s| {
        let out = run_scenario(&module, s);
        if report.is_some() {
            // A summary of what the reference did, for reading (run with --nocapture).
            for (step, o) in s.steps.iter().zip(&out.steps) {
                eprintln!(
                    "{} [{}] t={} answer={:?}: result {} ({} prompts), mode {}, file {}, syslog {:?}",
                    s.name,
                    s.spec,
                    step.time,
                    step.answers
                        .first()
                        .map(|a| String::from_utf8_lossy(a).into_owned()),
                    o.module_result,
                    o.prompts.len(),
                    oct(o.mode_after),
                    show(&o.file_after.clone().unwrap_or_default()),
                    o.syslog
                );
            }
        }
        if report.as_deref() == Some("ours") {
            return Vec::new();
        }
        check_expectations(s, &out)
    });
    assert!(fails.is_empty(), "{}", fails.join("\n\n"));
}

#[test]
fn scenario_runs_are_deterministic() {
    // The same scenario twice against the reference gives identical outcomes, so any
    // difference found by compare_with_reference comes from the module, not the harness.
    let module = crate::support::reference_module();
    for s in scenarios()
        .into_iter()
        .filter(|s| s.name.starts_with("RATE") || s.name.starts_with("CRLF"))
    {
        let a = run_scenario(&module, &s);
        let b = run_scenario(&module, &s);
        let plain = Scenario {
            expect_difference: None,
            ..s.clone()
        };
        let diffs = compare_outcomes(&plain, &a, &b);
        assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
    }
}

#[test]
fn our_module_matches_the_reference() {
    let diffs = for_all(scenarios(), compare_with_reference);
    assert!(
        diffs.is_empty(),
        "{} difference(s):\n\n{}",
        diffs.len(),
        diffs.join("\n\n")
    );
}

#[test]
fn wrong_expectations_are_reported() {
    // The checker itself: a scenario with a deliberately wrong expectation must fail.
    let module = crate::support::reference_module();
    let mut s = scenarios()
        .into_iter()
        .find(|s| s.name == "mode 0: good code")
        .unwrap();
    s.steps[0].expect.result = code::AUTH_ERR;
    s.steps[0].expect.prompts = Some(2);
    let out = run_scenario(&module, &s);
    let fails = check_expectations(&s, &out);
    assert_eq!(fails.len(), 1, "{fails:?}");
    assert!(
        fails[0].contains("result 0 (expected 7)") && fails[0].contains("1 prompts (expected 2)")
    );
    let mut changed = out.clone();
    changed.steps[0].module_result = code::AUTH_ERR;
    assert_eq!(compare_outcomes(&s, &out, &changed).len(), 1);
    // A named difference that does not show up is reported, and a difference in a field
    // the named difference does not cover is still reported.
    let mut named = s.clone();
    named.expect_difference = Some(Difference::NotRegularFile);
    named.steps[0] = named.steps[0].clone().ours_result(code::SUCCESS);
    let same = compare_outcomes(&named, &out, &out);
    assert_eq!(same.len(), 1, "{same:?}");
    assert!(same[0].contains("did not show up"), "{same:?}");
    let mut other = out.clone();
    other.steps[0].file_after = Some(b"changed".to_vec());
    assert!(!compare_outcomes(&named, &out, &other).is_empty());
}
