//! Differential scaffold: scenarios from the upstream specification, run against Debian's
//! `pam_google_authenticator.so` (the reference) through the real Linux-PAM library.
//!
//! A [`Scenario`] is a secret file, module arguments, a PAM user/rhost, a conversation and a
//! list of [`Step`]s (clock, answers, edits of the file, expectations). [`run_scenario`] runs
//! it against any module and returns a [`ScenarioOutcome`] (module return code, prompts,
//! file bytes after each step), so the same scenario can run against Debian's module and
//! ours and the outcomes can be compared with [`compare_outcomes`].
//!
//! The spec expectations come from `upstream-behaviour.md` (§ numbers below). Upstream's unit
//! test runs its items one after the other on one file; here every scenario starts from its
//! own fresh file, set up as the spec describes the state at that item.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use support::{ConvMode, EchoStyle, PamRun, Stack, TEST_SECRET, code, hotp_code};

/// Upstream's unit-test password (the PAM_AUTHTOK of its TWO_PROMPTS mode).
const UPSTREAM_PW: &str = "0123456789";

/// What a step must produce (checked against the reference module).
#[derive(Clone, Debug, Default)]
pub struct Expect {
    /// The module's return code (PAM_IGNORE included, see `Stack::probe`).
    pub result: i32,
    /// Number of prompts (conversation messages asking for input), if checked.
    pub prompts: Option<usize>,
    /// Exact file bytes after the step, if checked.
    pub file_after: Option<Vec<u8>>,
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
    /// Bytes appended to the secret file before the step (after a chmod 0600).
    pub append: Option<Vec<u8>>,
    /// Replace the secret file before the step (mode 0600).
    pub replace: Option<Vec<u8>>,
    pub expect: Expect,
}

impl Step {
    pub fn new(time: i64, answer: &str, result: i32) -> Self {
        Self {
            time,
            answers: vec![answer.as_bytes().to_vec()],
            append: None,
            replace: None,
            expect: Expect {
                result,
                ..Expect::default()
            },
        }
    }
    pub fn prompts(mut self, n: usize) -> Self {
        self.expect.prompts = Some(n);
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
    pub fn file_contains(mut self, bytes: &[u8]) -> Self {
        self.expect.file_contains.push(bytes.to_vec());
        self
    }
    pub fn syslog(mut self, needle: &str) -> Self {
        self.expect.syslog_contains.push(needle.to_string());
        self
    }
}

/// A scenario: the same data runs against any module.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: &'static str,
    /// Where the expectations come from.
    pub spec: &'static str,
    /// Initial secret file bytes (written as `<tmp>/google_authenticator`, mode 0600, owned
    /// by the running user).
    pub file: Vec<u8>,
    /// Module arguments; `{secret}` is replaced by the secret file's path and `{dir}` by its
    /// directory.
    pub args: Vec<String>,
    /// PAM user; `None` = the running user.
    pub user: Option<String>,
    pub rhost: Option<String>,
    pub conv: ConvMode,
    /// PAM_AUTHTOK set by a previous module (`pam_set_authtok.so preset=...`).
    pub preset_authtok: Option<String>,
    pub steps: Vec<Step>,
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
    pub file_after: Option<Vec<u8>>,
    pub mode_after: Option<u32>,
    pub syslog: Vec<String>,
    pub transcript: String,
}

#[derive(Clone, Debug)]
pub struct ScenarioOutcome {
    pub steps: Vec<StepOutcome>,
}

fn mode0(name: &'static str, spec: &'static str, file: &[u8], steps: Vec<Step>) -> Scenario {
    Scenario {
        name,
        spec,
        file: file.to_vec(),
        args: vec!["secret={secret}".into()],
        user: None,
        rhost: None,
        conv: ConvMode::Repeat,
        preset_authtok: Some(UPSTREAM_PW.into()),
        steps,
    }
}

/// Runs `s` against `module` (a path to a PAM module).
pub fn run_scenario(module: &Path, s: &Scenario) -> ScenarioOutcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let secret = support::write_secret(dir.path(), "google_authenticator", &s.file, 0o600);
    let args: Vec<String> = s
        .args
        .iter()
        .map(|a| {
            a.replace("{secret}", &secret.display().to_string())
                .replace("{dir}", &dir.path().display().to_string())
        })
        .collect();
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut stack = Stack::new();
    if let Some(pw) = &s.preset_authtok {
        let preset = format!("preset={pw}");
        stack = stack.auth("required", support::set_authtok_module(), &[&preset]);
    }
    let stack = stack.probe(module, &arg_refs);
    let user = s.user.clone().unwrap_or_else(|| support::current_user().0);

    let mut steps = Vec::new();
    for step in &s.steps {
        if let Some(bytes) = &step.replace {
            support::write_secret(dir.path(), "google_authenticator", bytes, 0o600);
        }
        if let Some(bytes) = &step.append {
            support::append_to(&secret, bytes);
        }
        let mut run = PamRun::new(stack.clone())
            .user(&user)
            .conv(s.conv)
            .clock(step.time);
        if let Some(h) = &s.rhost {
            run = run.rhost(h);
        }
        for a in &step.answers {
            run = run.answer(a);
        }
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
            file_after,
            mode_after,
            syslog: o.syslog_messages(),
            transcript: o.transcript(),
        });
    }
    ScenarioOutcome { steps }
}

fn show(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

/// Checks an outcome against the scenario's spec expectations; returns the failures.
pub fn check_expectations(s: &Scenario, out: &ScenarioOutcome) -> Vec<String> {
    let mut fails = Vec::new();
    for (i, (step, o)) in s.steps.iter().zip(&out.steps).enumerate() {
        let mut f = Vec::new();
        if o.module_result != step.expect.result {
            f.push(format!(
                "result {} (expected {})",
                o.module_result, step.expect.result
            ));
        }
        if let Some(n) = step.expect.prompts
            && o.prompts.len() != n
        {
            f.push(format!("{} prompts (expected {n})", o.prompts.len()));
        }
        let file = o.file_after.clone().unwrap_or_default();
        if let Some(want) = &step.expect.file_after
            && &file != want
        {
            f.push(format!("file {} (expected {})", show(&file), show(want)));
        }
        for want in &step.expect.file_contains {
            if !file.windows(want.len()).any(|w| w == want.as_slice()) {
                f.push(format!("file {} lacks {}", show(&file), show(want)));
            }
        }
        for needle in &step.expect.syslog_contains {
            if !o.syslog.iter().any(|l| l.contains(needle.as_str())) {
                f.push(format!("syslog lacks {needle:?}"));
            }
        }
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

/// Compares two outcomes of the same scenario on what a drop-in must reproduce: return
/// code, prompts (style and text), error/info messages, PAM_AUTHTOK and the file bytes and
/// mode after every step. Syslog is not compared (the ident differs on purpose: §7 item 3).
pub fn compare_outcomes(
    s: &Scenario,
    reference: &ScenarioOutcome,
    ours: &ScenarioOutcome,
) -> Vec<String> {
    let mut diffs = Vec::new();
    for (i, (r, o)) in reference.steps.iter().zip(&ours.steps).enumerate() {
        let mut d = Vec::new();
        if r.module_result != o.module_result {
            d.push(format!(
                "result: reference {} ours {}",
                r.module_result, o.module_result
            ));
        }
        if r.prompts != o.prompts {
            d.push(format!(
                "prompts: reference {:?} ours {:?}",
                r.prompts, o.prompts
            ));
        }
        if r.errors != o.errors || r.infos != o.infos {
            d.push(format!(
                "messages: reference {:?}/{:?} ours {:?}/{:?}",
                r.errors, r.infos, o.errors, o.infos
            ));
        }
        if r.authtok != o.authtok {
            d.push(format!(
                "authtok: reference {:?} ours {:?}",
                r.authtok, o.authtok
            ));
        }
        if r.file_after != o.file_after {
            d.push(format!(
                "file: reference {} ours {}",
                show(&r.file_after.clone().unwrap_or_default()),
                show(&o.file_after.clone().unwrap_or_default())
            ));
        }
        if r.mode_after != o.mode_after {
            d.push(format!(
                "mode: reference {:?} ours {:?}",
                r.mode_after, o.mode_after
            ));
        }
        if !d.is_empty() {
            diffs.push(format!(
                "{} [{}] step {i}: {}\n--- reference\n{}\n--- ours\n{}",
                s.name,
                s.spec,
                d.join("; "),
                r.transcript,
                o.transcript
            ));
        }
    }
    if reference.steps.len() != ours.steps.len() {
        diffs.push(format!("{}: step counts differ", s.name));
    }
    diffs
}

/// Runs `s` against Debian's module and ours and returns the differences.
pub fn compare_with_reference(s: &Scenario) -> Vec<String> {
    let reference = run_scenario(&support::reference_module(), s);
    let ours = run_scenario(&support::our_module(), s);
    compare_outcomes(s, &reference, &ours)
}

fn fresh() -> Vec<u8> {
    // §6.1: the unit test's file, with no final newline.
    format!("{TEST_SECRET}\n\" TOTP_AUTH").into_bytes()
}

fn times(step_size: i64, ts: &[i64], results: &[i32]) -> Vec<Step> {
    ts.iter()
        .zip(results)
        .map(|(t, r)| Step::new(t * step_size, "050548", *r).prompts(1))
        .collect()
}

/// The scenario table.
pub fn scenarios() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, IGNORE, SUCCESS as OK};
    let mut v = vec![
        mode0(
            "wrong code",
            "§6.3 item 9, otp_mode 0",
            &fresh(),
            vec![Step::new(300_000, "123456", ERR).prompts(1)],
        ),
        mode0(
            "empty answer",
            "§6.3 item 11, otp_mode 0",
            &fresh(),
            vec![
                Step::new(300_000, "", ERR)
                    .prompts(1)
                    .syslog("Did not receive verification code from user"),
            ],
        ),
        Scenario {
            args: vec!["secret={dir}/NOSUCHFILE".into()],
            ..mode0(
                "missing file without nullok",
                "§6.3 item 12, otp_mode 0",
                &fresh(),
                vec![Step::new(300_000, "050548", ERR).prompts(1)],
            )
        },
        Scenario {
            args: vec!["secret={dir}/NOSUCHFILE".into(), "nullok".into()],
            ..mode0(
                "missing file with nullok",
                "§6.3 item 13, otp_mode 0",
                &fresh(),
                vec![Step::new(300_000, "050548", IGNORE).prompts(0)],
            )
        },
        mode0(
            "good code",
            "§6.3 item 14, otp_mode 0",
            &fresh(),
            vec![
                Step::new(300_000, "050548", OK)
                    .prompts(1)
                    .file_after(&fresh())
                    .syslog("Accepted google_authenticator for"),
            ],
        ),
        mode0(
            "STEP_SIZE 60",
            "§6.3 item 15, otp_mode 0",
            &[fresh(), b"\n\" STEP_SIZE 60\n".to_vec()].concat(),
            times(
                60,
                &[9998, 9999, 10001, 10002, 10000],
                &[ERR, OK, OK, ERR, OK],
            ),
        ),
        mode0(
            "default WINDOW_SIZE",
            "§6.3 item 16, otp_mode 0",
            &fresh(),
            times(
                30,
                &[9998, 9999, 10001, 10002, 10000],
                &[ERR, OK, OK, ERR, OK],
            ),
        ),
        mode0(
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
        Step::new(300_000, "050548", OK).prompts(1),
        Step::new(300_000, "050548", OK)
            .prompts(1)
            .append(b"\" DISALLOW_REUSE\n")
            .file_contains(b"\" DISALLOW_REUSE 10000\n"),
        Step::new(300_000, "050548", ERR).prompts(1),
    ];
    for i in 10001..=10007 {
        reuse.push(Step::new(i * 30, &hotp_code(TEST_SECRET, i as u64), OK).prompts(1));
    }
    let last = reuse.len() - 1;
    reuse[last] = reuse[last]
        .clone()
        .file_contains(b"\" DISALLOW_REUSE 10002 10003 10004 10005 10006 10007\n");
    v.push(mode0(
        "DISALLOW_REUSE",
        "§6.3 items 18-19, otp_mode 0",
        &[fresh(), b"\n\" WINDOW_SIZE 6\n".to_vec()].concat(),
        reuse,
    ));

    // §2.3: the CRLF example (one TOTP login at 300000).
    let s = TEST_SECRET;
    let crlf = format!(
        "{s}\r\n\" TOTP_AUTH\r\n\" DISALLOW_REUSE\r\n\r\n\" RATE_LIMIT 3 30\r\n12345678\r\n\" DISALLOW_REUSE 5\n\n\n87654321\n"
    );
    let crlf_after = format!(
        "{s}\r\n\" TOTP_AUTH\r\n\" DISALLOW_REUSE 10000\n\" RATE_LIMIT 3 30 300000\n12345678\r\n87654321\n"
    );
    v.push(mode0(
        "CRLF file rewrite",
        "§2.3 example",
        crlf.as_bytes(),
        vec![
            Step::new(300_000, "050548", OK)
                .prompts(1)
                .file_after(crlf_after.as_bytes()),
        ],
    ));

    // §3.6: RATE_LIMIT 2 30 299990 299995 at 300000, then again at 300001.
    let rl = format!("{s}\n\" RATE_LIMIT 2 30 299990 299995\n\" TOTP_AUTH\n");
    v.push(mode0(
        "RATE_LIMIT exceeded",
        "§3.6 (verified example)",
        rl.as_bytes(),
        vec![
            Step::new(300_000, "050548", ERR)
                .prompts(0)
                .file_contains(b"\" RATE_LIMIT 2 30 299995 300000\n")
                .syslog("Too many concurrent login attempts"),
            Step::new(300_001, "050548", ERR)
                .prompts(0)
                .file_contains(b"\" RATE_LIMIT 2 30 300000 300001\n"),
        ],
    ));

    // §6.3 items 25-27: HOTP.
    let hotp = format!("{s}\n\" HOTP_COUNTER 1\n");
    v.push(mode0(
        "HOTP counter",
        "§6.3 items 25-27, §3.5",
        hotp.as_bytes(),
        vec![
            Step::new(300_000, "293240", OK)
                .prompts(1)
                .file_after(format!("{s}\n\" HOTP_COUNTER 2\n").as_bytes()),
            Step::new(300_000, "293240", ERR)
                .prompts(1)
                .file_after(format!("{s}\n\" HOTP_COUNTER 3\n").as_bytes()),
            Step::new(300_000, "932068", OK)
                .prompts(1)
                .file_after(format!("{s}\n\" HOTP_COUNTER 6\n").as_bytes()),
        ],
    ));
    v
}

#[test]
fn reference_module_matches_the_spec() {
    let module = support::reference_module();
    let mut fails = Vec::new();
    for s in scenarios() {
        let out = run_scenario(&module, &s);
        if std::env::var_os("GA_REFERENCE_REPORT").is_some() {
            // A summary of what the reference did, for reading (run with --nocapture).
            for (step, o) in s.steps.iter().zip(&out.steps) {
                eprintln!(
                    "{} [{}] t={} answer={:?}: result {} ({} prompts), mode {:o}, file {}, syslog {:?}",
                    s.name,
                    s.spec,
                    step.time,
                    step.answers
                        .first()
                        .map(|a| String::from_utf8_lossy(a).into_owned()),
                    o.module_result,
                    o.prompts.len(),
                    o.mode_after.unwrap_or(0),
                    show(&o.file_after.clone().unwrap_or_default()),
                    o.syslog
                );
            }
        }
        fails.extend(check_expectations(&s, &out));
    }
    assert!(fails.is_empty(), "{}", fails.join("\n\n"));
}

#[test]
fn scenario_runs_are_deterministic() {
    // The same scenario twice against the reference gives identical outcomes, so any
    // difference found by compare_with_reference comes from the module, not the harness.
    let module = support::reference_module();
    for s in scenarios()
        .into_iter()
        .filter(|s| s.name.starts_with("RATE") || s.name.starts_with("CRLF"))
    {
        let a = run_scenario(&module, &s);
        let b = run_scenario(&module, &s);
        let diffs = compare_outcomes(&s, &a, &b);
        assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
    }
}

#[test]
fn our_module_matches_the_reference() {
    let mut diffs = Vec::new();
    for s in scenarios() {
        diffs.extend(compare_with_reference(&s));
    }
    assert!(diffs.is_empty(), "{}", diffs.join("\n\n"));
}

#[test]
fn wrong_expectations_are_reported() {
    // The checker itself: a scenario with a deliberately wrong expectation must fail.
    let module = support::reference_module();
    let mut s = scenarios()
        .into_iter()
        .find(|s| s.name == "good code")
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
}
