//! What a reference scenario is: its steps, what each must produce, and the documented
//! differences a scenario may name.

use crate::support::{ConvMode, EchoStyle};

/// Upstream's unit-test password (the PAM_AUTHTOK of its TWO_PROMPTS mode).
pub const UPSTREAM_PW: &str = "0123456789";

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
