//! What a run did: the [`Outcome`] parsed from the driver's output, its transcript and
//! assertions, and the harness errors it can show.

use super::*;

/// The first words of the lines `pam_driver` prints (see `examples/pam_driver.rs`); any
/// other line means the output was not understood.
const DRIVER_WORDS: &[&str] = &[
    "conv_call",
    "prompt",
    "error",
    "info",
    "other",
    "conv_exhausted",
    "result",
    "authtok",
    "mark",
    "acct",
    "setcred",
    "open_session",
    "close_session",
    "chauthtok",
    "clock",
    "waiting",
    "end",
    // --show-fsid, --show-time and --pause-at-prompt.
    "conv_fsid",
    "elapsed_ns",
    "paused",
];

impl Outcome {
    /// Why this run says nothing about the modules, if it does not: the driver was killed
    /// or exited with a failure status (a failing `pam_start` among them), libfaketime or
    /// the dynamic loader complained on stderr, pam_set_item failed, the driver printed a
    /// line the harness does not understand, or it never got to pam_authenticate's result
    /// and the end of the sequence.
    pub fn harness_error(&self) -> Option<String> {
        if let Some(line) = self
            .stderr
            .lines()
            .find(|l| l.contains("libfaketime") || l.contains("ld.so"))
        {
            return Some(format!("the driver's stderr says: {line}"));
        }
        match self.exit_code {
            None => return Some("pam_driver was killed by a signal".into()),
            Some(0) => {}
            Some(c) => return Some(format!("pam_driver exited with status {c}")),
        }
        for event in &self.events {
            if let Event::Other(line) = event {
                let word = line.split(' ').next().unwrap_or_default();
                if word == "set_item" {
                    return Some(format!("pam_set_item failed: {line}"));
                }
                if !DRIVER_WORDS.contains(&word) {
                    return Some(format!("unparseable driver output: {line:?}"));
                }
            }
        }
        if self.result_name.is_empty() || self.result < 0 {
            return Some("pam_driver printed no pam_authenticate result".into());
        }
        if !self.ended {
            return Some("pam_driver did not finish the PAM sequence (no `end` line)".into());
        }
        None
    }

    /// The outcome, or the harness error it shows.
    pub fn checked(self) -> Result<Outcome, HarnessError> {
        match self.harness_error() {
            None => Ok(self),
            Some(what) => Err(HarnessError {
                what,
                transcript: self.transcript(),
            }),
        }
    }

    /// The outcome; panics with "harness error: ..." if it shows one.
    #[track_caller]
    pub fn unwrap_checked(self) -> Outcome {
        self.checked().unwrap_or_else(|e| panic!("{e}"))
    }
}

/// One event of the transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    ConvCall(usize),
    Prompt(EchoStyle, Vec<u8>),
    Error(Vec<u8>),
    Info(Vec<u8>),
    Other(String),
}

/// What one PAM sequence did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// pam_authenticate's return value (`-1` if the driver printed none).
    pub result: i32,
    pub result_name: String,
    pub events: Vec<Event>,
    pub prompts: Vec<(EchoStyle, String)>,
    pub errors: Vec<String>,
    pub infos: Vec<String>,
    pub conv_calls: usize,
    pub authtok: Option<String>,
    pub authtok_bytes: Option<Vec<u8>>,
    /// `PAM_TEST_MARK` (see [`Stack::probe`]).
    pub mark: Option<String>,
    pub acct: Option<i32>,
    /// With `show_clock`: (time(), clock_gettime(CLOCK_REALTIME) as "sec.nsec").
    pub clock: Option<(i64, String)>,
    pub ended: bool,
    pub thread: Option<usize>,
    pub exit_code: Option<i32>,
    /// Lines of the syslog capture (format: see `syslog_capture.c`).
    pub syslog: Vec<String>,
    pub stdout: String,
    pub stderr: String,
    pub service_text: String,
    pub command_line: String,
}

/// Undoes the driver's quoting (see `examples/pam_driver.rs`).
pub fn unquote(s: &str) -> Vec<u8> {
    let b = s.trim().as_bytes();
    let b = b.strip_prefix(b"\"").unwrap_or(b);
    let b = b.strip_suffix(b"\"").unwrap_or(b);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'x' if i + 3 < b.len() => {
                    let h = std::str::from_utf8(&b[i + 2..i + 4]).unwrap_or("3f");
                    out.push(u8::from_str_radix(h, 16).unwrap_or(b'?'));
                    i += 4;
                    continue;
                }
                other => out.push(other),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Outcome {
    pub(super) fn parse(lines: &[String]) -> Self {
        let mut o = Outcome {
            result: -1,
            ..Outcome::default()
        };
        for line in lines {
            let (word, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            match word {
                "conv_call" => {
                    o.conv_calls += 1;
                    o.events.push(Event::ConvCall(o.conv_calls));
                }
                "prompt" => {
                    let (style, text) = rest.split_once(' ').unwrap_or((rest, ""));
                    let style = if style == "echo_on" {
                        EchoStyle::EchoOn
                    } else {
                        EchoStyle::EchoOff
                    };
                    let text = unquote(text);
                    o.prompts.push((style, lossy(&text)));
                    o.events.push(Event::Prompt(style, text));
                }
                "error" => {
                    let t = unquote(rest);
                    o.errors.push(lossy(&t));
                    o.events.push(Event::Error(t));
                }
                "info" => {
                    let t = unquote(rest);
                    o.infos.push(lossy(&t));
                    o.events.push(Event::Info(t));
                }
                "result" => {
                    let mut it = rest.split(' ');
                    o.result_name = it.next().unwrap_or_default().to_string();
                    o.result = it.next().and_then(|n| n.parse().ok()).unwrap_or(-1);
                }
                "authtok" => {
                    let t = unquote(rest);
                    o.authtok = Some(lossy(&t));
                    o.authtok_bytes = Some(t);
                }
                "mark" => o.mark = Some(lossy(&unquote(rest))),
                "acct" => o.acct = rest.split(' ').nth(1).and_then(|n| n.parse().ok()),
                "end" => o.ended = true,
                "waiting" => {}
                "clock" => {
                    let mut it = rest.split(' ');
                    let t = it.next().and_then(|n| n.parse().ok()).unwrap_or(-1);
                    o.clock = Some((t, it.next().unwrap_or_default().to_string()));
                }
                _ => o.events.push(Event::Other(line.clone())),
            }
        }
        o
    }

    /// The return value of the module added with [`Stack::probe`]: PAM_IGNORE when the
    /// marker says so, else pam_authenticate's result.
    pub fn module_result(&self) -> i32 {
        if self.mark.as_deref() == Some("ignored") {
            code::IGNORE
        } else {
            self.result
        }
    }

    /// Syslog messages (the last field of each captured line).
    pub fn syslog_messages(&self) -> Vec<String> {
        self.syslog
            .iter()
            .map(|l| l.splitn(4, '\t').nth(3).unwrap_or("").to_string())
            .collect()
    }

    pub fn syslog_contains(&self, needle: &str) -> bool {
        self.syslog.iter().any(|l| l.contains(needle))
    }

    /// Everything about the run, for failure messages.
    pub fn transcript(&self) -> String {
        format!(
            "--- command\n{}\n--- service file\n{}--- stdout{}\n{}--- stderr\n{}--- syslog\n{}\n---",
            self.command_line,
            self.service_text,
            self.thread
                .map(|t| format!(" (thread {t})"))
                .unwrap_or_default(),
            self.stdout,
            self.stderr,
            self.syslog.join("\n")
        )
    }

    /// Asserts pam_authenticate's result, printing the transcript on failure.
    #[track_caller]
    pub fn assert_result(&self, expected: i32) {
        assert_eq!(
            self.result,
            expected,
            "unexpected PAM result\n{}",
            self.transcript()
        );
    }

    /// Asserts a condition, printing the transcript on failure.
    #[track_caller]
    pub fn check(&self, ok: bool, what: &str) {
        assert!(ok, "{what}\n{}", self.transcript());
    }
}
