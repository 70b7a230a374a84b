//! Random cases for `tests/reference_random.rs`: an abstract description (what proptest
//! generates and shrinks) and its rendering into concrete bytes, arguments and answers.

use proptest::prelude::*;

use super::model;

/// Step 10000 of the test secret: the "old" clock of upstream's unit test.
pub const OLD_BASE: i64 = 300_000;
/// A fixed "now" (November 2026), so a seed always renders the same case.
pub const NOW_BASE: i64 = 1_795_000_000;

/// PAM_RHOST values. None is a prefix of another (1.08 matches hosts with sscanf).
pub const RHOSTS: [&str; 5] = [
    "10.0.0.1",
    "192.168.1.7",
    "host.example",
    "fe80::1%eth0",
    "bad_host",
];
/// Hosts of LAST lines: the RHOSTS and one that is never the RHOST.
pub const LAST_HOSTS: [&str; 6] = [
    "10.0.0.1",
    "192.168.1.7",
    "host.example",
    "fe80::1%eth0",
    "bad_host",
    "10.9.9.9",
];
const SCRATCH: [&str; 5] = ["12345678", "87654321", "10000000", "99999999", "55555555"];
const BAD_SCRATCH: [&str; 8] = [
    "1234567",
    " 23456789",
    "+34567890",
    "045678901",
    "56789012 ",
    "123456789",
    "09999999",
    "6789o123",
];
const UNKNOWN: [&str; 10] = [
    "\" FOO bar",
    "random text",
    "\"  TOTP_AUTH",
    "\" totp_auth",
    "# comment",
    "\"\tSTEP_SIZE 60",
    "\" TOTP_AUTHX",
    "x\" TOTP_AUTH",
    "\" LAST10 10.0.0.1 1",
    "a\0b",
];
const SECRETS_VALID: [&str; 6] = [
    "2SH3V3GDW7ZNMGYE",
    "2sh3v3gdw7znmgye",
    "2SH3 V3GD-W7ZN\tMGYE",
    "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ",
    "0018ABCDEFGHIJKL",
    "AB",
];
const SECRETS_INVALID: [&str; 5] = ["2SH3V3GDW7ZNMGY=", "2SH3V3GD9W7ZNMGY", "A", "", "@@@@"];
const STEP_SIZES: [&str; 8] = ["30", "60", "1", "15", "0", "61", "30 junk", "abc"];
const WINDOW_SIZES: [&str; 9] = ["1", "2", "3", "4", "5", "17", "0", "101", "x"];
const TIME_SKEWS: [&str; 7] = ["0", "1", "-1", "2", "-3", "garbage", "1000"];
const RATE_N: [&str; 8] = ["1", "2", "3", "4", "100", "0", "101", "x"];
const RATE_M: [&str; 7] = ["1", "30", "120", "3600", "0", "3601", "30x"];
const RATE_RAW: [&str; 6] = ["-5", "4294967295", "2147483648", "0", "12x", "4294967296"];
const MODES: [u32; 5] = [0o600, 0o400, 0o640, 0o644, 0o200];

#[derive(Clone, Copy, Debug)]
pub enum Eol {
    Lf,
    Crlf,
    /// Per line, from a bit mask.
    Mixed(u32),
}

#[derive(Clone, Debug)]
pub enum Secret {
    Valid(usize),
    /// 16, 26 or 32 random base32 characters.
    Random(String),
    Invalid(usize),
}

#[derive(Clone, Debug)]
pub enum Stamp {
    /// Relative to the clock (negative: in the past).
    Rel(i64),
    Raw(&'static str),
}

#[derive(Clone, Debug)]
pub enum Line {
    TotpAuth,
    Hotp(&'static str),
    StepSize(&'static str),
    WindowSize(&'static str),
    /// Entries relative to the step of the right code, or raw text.
    DisallowReuse(Vec<Result<i64, &'static str>>),
    RateLimit {
        n: &'static str,
        m: &'static str,
        stamps: Vec<Stamp>,
        trailing_space: bool,
    },
    TimeSkew(&'static str),
    /// Tokens `T±S`: T relative to the current step, S relative to the case's skew; or a
    /// raw token.
    Resetting(Vec<Result<(i64, i64), &'static str>>),
    Last {
        slot: u8,
        host: usize,
        when: Stamp,
    },
    /// `RESETTING_TIME_SKEW` with two entries, one and two steps ago, at the case's skew:
    /// a far code at that skew completes the resync.
    ResyncPrimed,
    /// All ten slots LAST0..LAST9 for hosts that are never the RHOST, with timestamps
    /// after the clock (`true`) or before it.
    LastAll(bool),
    Unknown(usize),
    Scratch(usize),
    BadScratch(usize),
    Blank,
}

#[derive(Clone, Debug)]
pub enum Answer {
    /// The code of the window's centre.
    Right,
    /// A neighbouring step of the window's centre.
    Window(i64),
    /// A far step (relative to the step without TIME_SKEW): the skew search finds it. `None`
    /// uses the case's skew (so RESETTING_TIME_SKEW lines can complete a resync).
    Far(Option<i64>),
    /// HOTP_COUNTER + i.
    Hotp(i64),
    /// The text of a scratch-code line of the file (by index among them), or a pool code.
    Scratch(usize),
    Digits(String),
    Garbage(String),
    Empty,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conv {
    Answer,
    Error,
    Null,
}

#[derive(Clone, Debug)]
pub struct Case {
    pub secret: Secret,
    pub eol: Eol,
    pub final_newline: bool,
    pub lines: Vec<Line>,
    pub mode: u32,
    pub missing: bool,
    pub args: Vec<&'static str>,
    pub rhost: Option<usize>,
    pub conv: Conv,
    pub answers: Vec<Answer>,
    /// forward_pass: a password in front of every prompted answer.
    pub password: &'static str,
    /// PAM_AUTHTOK set by an earlier module: (password prefix, answer).
    pub preset: Option<(&'static str, Answer)>,
    /// true: around [`NOW_BASE`], false: around [`OLD_BASE`].
    pub now: bool,
    pub clock_offset: i64,
    pub skew: i64,
}

/// What a case renders to.
#[derive(Clone, Debug)]
pub struct Concrete {
    pub file: Option<Vec<u8>>,
    pub mode: u32,
    /// Module arguments after `secret=`.
    pub args: Vec<String>,
    pub rhost: Option<String>,
    pub conv: Conv,
    pub answers: Vec<Vec<u8>>,
    pub preset: Option<String>,
    pub clock: i64,
    pub grace: i64,
    pub allowed_perm: u32,
}

pub const ARGS: [&str; 17] = [
    "nullok",
    "forward_pass",
    "try_first_pass",
    "use_first_pass",
    "noskewadj",
    "no_increment_hotp",
    "echo_verification_code",
    "allowed_perm=0600",
    "allowed_perm=0640",
    "grace_period=0",
    "grace_period=60",
    "grace_period=3600",
    "grace_period=3600",
    "debug",
    "no_strict_owner",
    "allow_readonly",
    "try_first_pass",
];

fn stamp() -> impl Strategy<Value = Stamp> {
    prop_oneof![
        6 => prop::sample::select(vec![0i64, -1, -30, -59, -60, -61, -3599, -3600, -3601, -86400])
            .prop_map(Stamp::Rel),
        2 => prop::sample::select(vec![1i64, 100, 100_000]).prop_map(Stamp::Rel),
        1 => prop::sample::select(vec!["garbage", "0", "-5"]).prop_map(Stamp::Raw),
    ]
}

fn rate_stamp() -> impl Strategy<Value = Stamp> {
    prop_oneof![
        8 => (-200i64..=0).prop_map(Stamp::Rel),
        2 => (1i64..50).prop_map(Stamp::Rel),
        1 => prop::sample::select(RATE_RAW.to_vec()).prop_map(Stamp::Raw),
    ]
}

fn line() -> impl Strategy<Value = Line> {
    prop_oneof![
        8 => Just(Line::TotpAuth),
        2 => prop::sample::select(vec!["1", "2", "5", "17", "0", "-3", "junk"]).prop_map(Line::Hotp),
        2 => prop::sample::select(STEP_SIZES.to_vec()).prop_map(Line::StepSize),
        2 => prop::sample::select(WINDOW_SIZES.to_vec()).prop_map(Line::WindowSize),
        4 => prop::collection::vec(
            prop_oneof![
                6 => (-6i64..=6).prop_map(Ok),
                1 => prop::sample::select(vec!["abc", "10000x", "1,2", "-1"]).prop_map(Err),
            ],
            0..4,
        )
        .prop_map(Line::DisallowReuse),
        3 => (
            prop::sample::select(RATE_N.to_vec()),
            prop::sample::select(RATE_M.to_vec()),
            prop::collection::vec(rate_stamp(), 0..5),
            prop::bool::weighted(0.05),
        )
            .prop_map(|(n, m, stamps, trailing_space)| Line::RateLimit {
                n,
                m,
                stamps,
                trailing_space
            }),
        2 => prop::sample::select(TIME_SKEWS.to_vec()).prop_map(Line::TimeSkew),
        2 => prop::collection::vec(
            prop_oneof![
                6 => ((-3i64..=0), (-2i64..=2)).prop_map(Ok),
                4 => (-1i64..=1).prop_map(|ds| Ok((-1, ds))),
                1 => prop::sample::select(vec!["x", "12000", "5+"])
                    .prop_map(Err),
            ],
            0..3,
        )
        .prop_map(Line::Resetting),
        5 => ((0u8..10), (0..LAST_HOSTS.len()), stamp())
            .prop_map(|(slot, host, when)| Line::Last { slot, host, when }),
        2 => any::<bool>().prop_map(Line::LastAll),
        2 => Just(Line::ResyncPrimed),
        2 => (0..UNKNOWN.len()).prop_map(Line::Unknown),
        4 => (0..SCRATCH.len()).prop_map(Line::Scratch),
        1 => (0..BAD_SCRATCH.len()).prop_map(Line::BadScratch),
        1 => Just(Line::Blank),
    ]
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        4 => Just(Answer::Right),
        2 => (-3i64..=3).prop_map(Answer::Window),
        3 => prop_oneof![2 => Just(None), 1 => (-1499i64..=1499).prop_map(Some)]
            .prop_map(Answer::Far),
        1 => (-1i64..=4).prop_map(Answer::Hotp),
        2 => (0usize..6).prop_map(Answer::Scratch),
        1 => "[0-9]{0,10}".prop_map(Answer::Digits),
        1 => "[ -~\\x08]{0,10}".prop_map(Answer::Garbage),
        1 => Just(Answer::Empty),
    ]
}

/// A preset AUTHTOK must survive a PAM service file line: digits and letters only.
fn preset_answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        4 => Just(Answer::Right),
        1 => (-3i64..=3).prop_map(Answer::Window),
        1 => Just(Answer::Far(None)),
        1 => (-1i64..=4).prop_map(Answer::Hotp),
        2 => (0usize..6).prop_map(Answer::Scratch),
        1 => "[0-9]{1,10}".prop_map(Answer::Digits),
        1 => "[a-zA-Z0-9]{1,10}".prop_map(Answer::Garbage),
    ]
}

fn secret() -> impl Strategy<Value = Secret> {
    prop_oneof![
        6 => (0..SECRETS_VALID.len()).prop_map(Secret::Valid),
        2 => prop::sample::select(vec![16usize, 26, 32])
            .prop_flat_map(|n| prop::collection::vec(prop::sample::select(
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567".to_vec()), n))
            .prop_map(|v| Secret::Random(String::from_utf8(v).expect("ascii"))),
        1 => (0..SECRETS_INVALID.len()).prop_map(Secret::Invalid),
    ]
}

/// A random case.
pub fn case() -> impl Strategy<Value = Case> {
    let file = (
        secret(),
        prop_oneof![
            3 => Just(Eol::Lf),
            1 => Just(Eol::Crlf),
            1 => any::<u32>().prop_map(Eol::Mixed)
        ],
        any::<bool>(),
        prop::collection::vec(line(), 0..9),
        prop_oneof![6 => Just(0o600u32), 1 => prop::sample::select(MODES.to_vec())],
        prop::bool::weighted(0.03),
    );
    let call = (
        prop::collection::vec(prop::sample::select(ARGS.to_vec()), 0..6),
        prop::option::weighted(0.7, 0..RHOSTS.len()),
        prop_oneof![8 => Just(Conv::Answer), 1 => Just(Conv::Error), 1 => Just(Conv::Null)],
        prop::collection::vec(answer(), 1..3),
        prop::sample::select(vec!["", "pw", "hunter2", "0123456789"]),
        prop::option::weighted(
            0.5,
            (
                prop::sample::select(vec!["", "pw", "0123456789"]),
                preset_answer(),
            ),
        ),
    );
    let clock = (
        any::<bool>(),
        -200i64..=200,
        prop_oneof![(-1499i64..=-3), (4i64..=1499)],
    );
    (file, call, clock).prop_map(
        |(
            (secret, eol, final_newline, lines, mode, missing),
            (args, rhost, conv, answers, password, preset),
            (now, clock_offset, skew),
        )| Case {
            secret,
            eol,
            final_newline,
            lines,
            mode,
            missing,
            args,
            rhost,
            conv,
            answers,
            password,
            preset,
            now,
            clock_offset,
            skew,
        },
    )
}

impl Case {
    pub fn clock(&self) -> i64 {
        (if self.now { NOW_BASE } else { OLD_BASE }) + self.clock_offset
    }

    fn has_arg(&self, a: &str) -> bool {
        self.args.contains(&a)
    }

    /// The value of the last `key=` argument (later ones win).
    fn last_arg(&self, prefix: &str) -> Option<&'static str> {
        self.args.iter().rev().find_map(|a| a.strip_prefix(prefix))
    }

    fn secret_text(&self) -> String {
        match &self.secret {
            Secret::Valid(i) => SECRETS_VALID[*i].to_string(),
            Secret::Random(s) => s.clone(),
            Secret::Invalid(i) => SECRETS_INVALID[*i].to_string(),
        }
    }

    /// Renders the case.
    pub fn render(&self) -> Concrete {
        let now = self.clock();
        let secret = self.secret_text();
        let key = model::decode_secret(secret.as_bytes())
            .unwrap_or_else(|| model::decode_secret(b"2SH3V3GDW7ZNMGYE").expect("valid"));
        // The parameters the module reads (first line of each key wins).
        let step = self
            .lines
            .iter()
            .find_map(|l| match l {
                Line::StepSize(s) => Some(model::strtol_or_zero(s.as_bytes())),
                _ => None,
            })
            .filter(|s| (1..=60).contains(s))
            .unwrap_or(30);
        let time_skew = self
            .lines
            .iter()
            .find_map(|l| match l {
                Line::TimeSkew(s) => Some(model::strtol_or_zero(s.as_bytes())),
                _ => None,
            })
            .unwrap_or(0);
        let counter = self
            .lines
            .iter()
            .find_map(|l| match l {
                Line::Hotp(s) => Some(model::strtol_or_zero(s.as_bytes())),
                _ => None,
            })
            .unwrap_or(0);
        let tm = now / step;
        let centre = tm + time_skew;

        let crlf_all = matches!(self.eol, Eol::Crlf);
        let mut texts: Vec<String> = vec![secret];
        let mut scratch_lines: Vec<String> = Vec::new();
        for l in &self.lines {
            let t = match l {
                Line::TotpAuth => "\" TOTP_AUTH".to_string(),
                Line::Hotp(v) => format!("\" HOTP_COUNTER {v}"),
                Line::StepSize(v) => format!("\" STEP_SIZE {v}"),
                Line::WindowSize(v) => format!("\" WINDOW_SIZE {v}"),
                Line::DisallowReuse(list) => {
                    let items: Vec<String> = list
                        .iter()
                        .map(|e| match e {
                            Ok(i) => (centre + i).to_string(),
                            Err(raw) => (*raw).to_string(),
                        })
                        .collect();
                    format!("\" DISALLOW_REUSE {}", items.join(" "))
                        .trim_end()
                        .to_string()
                }
                Line::RateLimit {
                    n,
                    m,
                    stamps,
                    trailing_space,
                } => {
                    let mut s = format!("\" RATE_LIMIT {n} {m}");
                    for st in stamps {
                        s.push(' ');
                        s.push_str(&render_stamp(st, now));
                    }
                    if *trailing_space {
                        s.push(' ');
                    }
                    s
                }
                Line::TimeSkew(v) => format!("\" TIME_SKEW {v}"),
                Line::Resetting(tokens) => {
                    let items: Vec<String> = tokens
                        .iter()
                        .map(|t| match t {
                            Ok((dt, ds)) => format!("{}{:+}", tm + dt, self.skew + ds),
                            Err(raw) => (*raw).to_string(),
                        })
                        .collect();
                    format!("\" RESETTING_TIME_SKEW {}", items.join(" "))
                        .trim_end()
                        .to_string()
                }
                Line::Last { slot, host, when } => format!(
                    "\" LAST{slot} {} {}",
                    LAST_HOSTS[*host],
                    render_stamp(when, now)
                ),
                Line::ResyncPrimed => format!(
                    "\" RESETTING_TIME_SKEW {}{:+} {}{:+}",
                    tm - 2,
                    self.skew,
                    tm - 1,
                    self.skew
                ),
                Line::LastAll(future) => (0..10)
                    .map(|i| {
                        let when = if *future { now + 10 - i } else { now - 100 - i };
                        format!("\" LAST{i} 10.1.0.{i} {when}")
                    })
                    .collect::<Vec<_>>()
                    .join(if crlf_all { "\r\n" } else { "\n" }),
                Line::Unknown(i) => UNKNOWN[*i].to_string(),
                Line::Scratch(i) => {
                    scratch_lines.push(SCRATCH[*i].to_string());
                    SCRATCH[*i].to_string()
                }
                Line::BadScratch(i) => {
                    scratch_lines.push(BAD_SCRATCH[*i].to_string());
                    BAD_SCRATCH[*i].to_string()
                }
                Line::Blank => String::new(),
            };
            texts.push(t);
        }
        let mut file = Vec::new();
        let n = texts.len();
        for (i, t) in texts.iter().enumerate() {
            file.extend_from_slice(t.as_bytes());
            if i + 1 == n && !self.final_newline {
                break;
            }
            let crlf = match self.eol {
                Eol::Lf => false,
                Eol::Crlf => true,
                Eol::Mixed(mask) => mask & (1 << (i % 32)) != 0,
            };
            file.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
        }

        let code = |a: &Answer| -> String {
            let totp = |c: i64| format!("{:06}", model::hotp(&key, c as u64));
            match a {
                Answer::Right => totp(centre),
                Answer::Window(i) => totp(centre + i),
                Answer::Far(o) => totp(tm + o.unwrap_or(self.skew)),
                Answer::Hotp(i) => totp(counter + i),
                Answer::Scratch(i) => scratch_lines
                    .get(*i)
                    .cloned()
                    .unwrap_or_else(|| SCRATCH[i % SCRATCH.len()].to_string()),
                Answer::Digits(s) | Answer::Garbage(s) => s.clone(),
                Answer::Empty => String::new(),
            }
        };
        let forward_pass = self.has_arg("forward_pass");
        let answers = self
            .answers
            .iter()
            .map(|a| {
                let c = code(a);
                if forward_pass && !matches!(a, Answer::Empty) {
                    format!("{}{c}", self.password).into_bytes()
                } else {
                    c.into_bytes()
                }
            })
            .collect();
        // A scratch "code" from the file may hold a space: keep the preset to one word.
        let preset = self.preset.as_ref().map(|(p, a)| {
            let c: String = code(a)
                .chars()
                .filter(char::is_ascii_alphanumeric)
                .collect();
            format!("{p}{c}")
        });
        let preset = preset.filter(|p| !p.is_empty());
        Concrete {
            file: (!self.missing).then_some(file),
            mode: self.mode,
            args: self.args.iter().map(|a| (*a).to_string()).collect(),
            rhost: self.rhost.map(|i| RHOSTS[i].to_string()),
            conv: self.conv,
            answers,
            preset,
            clock: now,
            grace: self
                .last_arg("grace_period=")
                .map_or(0, |g| g.parse().expect("grace_period value")),
            allowed_perm: self
                .last_arg("allowed_perm=")
                .map_or(0o600, |p| u32::from_str_radix(p, 8).expect("octal")),
        }
    }
}

fn render_stamp(s: &Stamp, now: i64) -> String {
    match s {
        Stamp::Rel(d) => (now + d).to_string(),
        Stamp::Raw(r) => (*r).to_string(),
    }
}
