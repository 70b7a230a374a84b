//! End-to-end: `google-authenticator-audit` gives the verdict the real stack gives.
//!
//! Throwaway accounts are put in every state the audit knows (enrolled; no file;
//! unreadable, wrong owner, too-open mode, symlink, bad secret, malformed RATE_LIMIT or
//! STEP_SIZE; unknown user). The shipped `pam.d/nullok-rollout` recipe is installed as an
//! `/etc/pam.d` service twice, as shipped and with `nullok` removed from the module line.
//! For each service the audit runs on the accounts, then each account logs in through
//! pamtester, typing the current code at the prompt. The test fails unless, for every
//! account and both services, the audit's verdict is the real outcome: `enrolled` and
//! `no-file-nullok` get in, `no-file-refused` and `locked-out` are refused; and the audit's
//! reason is a line the module logged. A second test checks the maintenance operations
//! through real logins.
//!
//! Needs root. Run: `cargo test --test e2e -- --ignored e2e_audit::`.

use std::os::unix::fs::symlink;
use std::process::Command;

use crate::support::otp::now;
use crate::support::system::{
    PamService, PamtesterRun, TempUser, pamtester, recipe_service, require_root, secret_file,
    unique,
};

#[derive(Clone, Copy, PartialEq, Debug)]
enum State {
    Enrolled,
    NotEnrolled,
    Unreadable,
    WrongOwner,
    WrongMode,
    Symlink,
    BadSecret,
    BadRateLimit,
    BadStepSize,
    UnknownUser,
}

const STATES: &[State] = &[
    State::Enrolled,
    State::NotEnrolled,
    State::Unreadable,
    State::WrongOwner,
    State::WrongMode,
    State::Symlink,
    State::BadSecret,
    State::BadRateLimit,
    State::BadStepSize,
    State::UnknownUser,
];

/// One account in one state; the users are dropped (removed) with it.
struct Case {
    state: State,
    name: String,
    _user: Option<TempUser>,
}

fn make(state: State, owner: &TempUser) -> Case {
    if state == State::UnknownUser {
        return Case {
            state,
            name: unique("ganobody"),
            _user: None,
        };
    }
    let user = TempUser::with_password("a");
    let good = secret_file(&[], &[]);
    let own = (user.uid, user.gid);
    match state {
        State::Enrolled => {
            user.write_secret(&good);
        }
        State::NotEnrolled | State::UnknownUser => {}
        State::Unreadable => {
            user.write_secret_as(&good, 0o000, own);
        }
        State::WrongOwner => {
            user.write_secret_as(&good, 0o600, (owner.uid, owner.gid));
        }
        State::WrongMode => {
            user.write_secret_as(&good, 0o644, own);
        }
        State::Symlink => {
            let target = user.home.join("real");
            std::fs::write(&target, &good).expect("write");
            std::os::unix::fs::chown(&target, Some(user.uid), Some(user.gid)).expect("chown");
            symlink(&target, user.secret_path()).expect("symlink");
        }
        State::BadSecret => {
            user.write_secret("!!not base32!!\n\" TOTP_AUTH\n");
        }
        State::BadRateLimit => {
            user.write_secret(secret_file(&["\" RATE_LIMIT 0 30"], &[]));
        }
        State::BadStepSize => {
            user.write_secret(secret_file(&["\" STEP_SIZE 0"], &[]));
        }
    }
    Case {
        state,
        name: user.name.clone(),
        _user: Some(user),
    }
}

/// One account in the audit's JSON: name, verdict, reason lines.
type AuditRow = (String, String, Vec<String>);

/// The audit's verdict and reason lines per account, from its JSON output.
fn audit(service: &str, names: &[&str]) -> (Vec<AuditRow>, i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_google-authenticator-audit"))
        .args(["--service", service, "--json", "--module"])
        .arg(crate::support::our_module().file_name().expect("file name"))
        .args(names)
        .output()
        .expect("run the audit");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        text.starts_with("{\"module_line\":"),
        "audit output: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rows = Vec::new();
    for part in text.split("{\"user\":\"").skip(1) {
        let name = part.split('"').next().unwrap_or_default().to_string();
        let verdict = field(part, "\"verdict\":\"", "\"");
        let reasons = strings(&part[part.find("\"reason\":[").map_or(0, |i| i + 10)..]);
        rows.push((name, verdict, reasons));
    }
    (rows, out.status.code().unwrap_or(-1), text)
}

/// The JSON strings of the array starting at `text`, up to its `]`.
fn strings(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = text.chars();
    let mut current: Option<String> = None;
    while let Some(c) = chars.next() {
        match (&mut current, c) {
            (None, ']') => break,
            (None, '"') => current = Some(String::new()),
            (None, _) => {}
            (Some(s), '\\') => {
                if let Some(n) = chars.next() {
                    s.push(n);
                }
            }
            (Some(_), '"') => out.extend(current.take()),
            (Some(s), c) => s.push(c),
        }
    }
    out
}

fn field(text: &str, start: &str, end: &str) -> String {
    let Some(at) = text.find(start) else {
        return String::new();
    };
    let rest = &text[at + start.len()..];
    rest[..rest.find(end).unwrap_or(rest.len())].to_string()
}

fn login(service: &str, name: &str) -> PamtesterRun {
    let code = crate::support::otp::totp_code(crate::support::otp::TEST_SECRET, now());
    pamtester(service, name, &[code])
}

fn without_nullok(text: &str) -> String {
    text.lines()
        .map(|l| {
            if !l.trim_start().starts_with('#') && l.contains("pam_google_authenticator.so") {
                l.replace(" nullok", "")
            } else {
                l.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

#[test]
#[ignore = "root tier: pamtester, users and /etc/pam.d"]
fn the_audit_verdict_is_the_real_login_outcome_for_every_account() {
    require_root("users, /etc/pam.d, sshd");
    let owner = TempUser::with_password("o");
    let cases: Vec<Case> = STATES.iter().map(|&s| make(s, &owner)).collect();
    let names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    let shipped = recipe_service("nullok-rollout", &[]);
    assert!(shipped.contains(" nullok"), "the recipe has nullok");
    let mut failures = Vec::new();
    for (label, text, nullok) in [
        ("nullok-rollout as shipped", shipped.clone(), true),
        (
            "nullok-rollout without nullok",
            without_nullok(&shipped),
            false,
        ),
    ] {
        let service = PamService::install(&unique("gatest-"), text);
        let (rows, status, raw) = audit(&service.name, &names);
        assert_eq!(rows.len(), cases.len(), "{label}: audit output {raw}");
        let mut any_refused = false;
        for (case, (name, verdict, reasons)) in cases.iter().zip(&rows) {
            assert_eq!(name, &case.name);
            let expect_in = match verdict.as_str() {
                "enrolled" | "no-file-nullok" => true,
                "no-file-refused" | "locked-out" => false,
                other => panic!("{label}: unknown verdict {other:?} for {name}"),
            };
            any_refused |= !expect_in;
            let run = login(&service.name, name);
            if run.ok != expect_in {
                failures.push(format!(
                    "{label}: {:?} ({name}): audit says {verdict}, the login {}\n{}\n{}\n{}",
                    case.state,
                    if run.ok { "got in" } else { "was refused" },
                    run.stdout,
                    run.stderr,
                    run.syslog
                ));
            }
            if !expect_in {
                for r in reasons {
                    if !run.syslog.contains(r.as_str()) {
                        failures.push(format!(
                            "{label}: {:?} ({name}): the audit's reason {r:?} is not in the module's log:\n{}",
                            case.state, run.syslog
                        ));
                    }
                }
                if reasons.is_empty() {
                    failures.push(format!(
                        "{label}: {:?}: refused without a reason",
                        case.state
                    ));
                }
            }
            // The states the test builds must land where they are meant to.
            let want = match case.state {
                State::Enrolled => "enrolled",
                State::NotEnrolled if nullok => "no-file-nullok",
                State::NotEnrolled => "no-file-refused",
                _ => "locked-out",
            };
            if verdict != want {
                failures.push(format!(
                    "{label}: {:?} ({name}): audit says {verdict}, the state is {want}",
                    case.state
                ));
            }
        }
        assert_eq!(status, i32::from(any_refused), "{label}: exit status");
    }
    assert!(
        failures.is_empty(),
        "the audit differs from the real stack:\n\n{}",
        failures.join("\n\n")
    );
}

/// Runs the audit command with `args`; gives stdout and whether it succeeded.
fn command(service: &str, args: &[&str]) -> (String, bool) {
    let out = Command::new(env!("CARGO_BIN_EXE_google-authenticator-audit"))
        .args(["--service", service, "--module"])
        .arg(crate::support::our_module().file_name().expect("file name"))
        .args(args)
        .output()
        .expect("run the audit");
    (
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
        out.status.success(),
    )
}

#[test]
#[ignore = "root tier: pamtester, users and /etc/pam.d"]
fn maintenance_is_checked_through_real_logins() {
    require_root("users, /etc/pam.d, sshd");
    let service = PamService::install(&unique("gatest-"), recipe_service("nullok-rollout", &[]));
    let s = service.name.as_str();
    let t = now();

    // New scratch codes: the old ones stop working, a new one works once, the secret stays.
    let user = TempUser::with_password("m");
    user.write_secret(secret_file(&[], &["11111111", "22222222"]));
    let (out, ok) = command(s, &["--new-scratch-codes", "2", &user.name]);
    assert!(ok, "{out}");
    let codes: Vec<&str> = out
        .rsplit(':')
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert_eq!(codes.len(), 2, "{out}");
    assert!(
        !pamtester(s, &user.name, &["11111111".into()]).ok,
        "an old scratch code"
    );
    assert!(
        pamtester(s, &user.name, &[codes[0].into()]).ok,
        "a new scratch code"
    );
    assert!(
        !pamtester(s, &user.name, &[codes[0].into()]).ok,
        "a new scratch code twice"
    );
    assert!(login(s, &user.name).ok, "the secret is unchanged");
    let (audit_out, _) = command(s, &[&user.name]);
    assert!(audit_out.contains(" enrolled "), "{audit_out}");

    // Rate limit: refused while the record is full, in after the reset.
    let user = TempUser::with_password("m");
    user.write_secret(secret_file(&[&format!("\" RATE_LIMIT 1 30 {t}")], &[]));
    assert!(!login(s, &user.name).ok, "rate limited");
    let (out, ok) = command(s, &["--reset-rate-limit", &user.name]);
    assert!(ok, "{out}");
    assert!(login(s, &user.name).ok, "after --reset-rate-limit: {out}");

    // Clock skew: a learned skew of 100 steps refuses the current code until cleared.
    let user = TempUser::with_password("m");
    user.write_secret(secret_file(&["\" TIME_SKEW 100"], &[]));
    assert!(!login(s, &user.name).ok, "with a skew of 100 steps");
    let (out, ok) = command(s, &["--clear-skew", &user.name]);
    assert!(ok, "{out}");
    assert!(login(s, &user.name).ok, "after --clear-skew: {out}");

    // Disable: with nullok the user gets in without a code; the file is gone.
    let user = TempUser::with_password("m");
    user.write_secret(secret_file(&[], &[]));
    let (out, ok) = command(s, &["--disable", &user.name]);
    assert!(ok, "{out}");
    assert!(!user.secret_path().exists());
    assert!(
        pamtester(s, &user.name, &[]).ok,
        "after --disable, with nullok"
    );
    let (audit_out, _) = command(s, &[&user.name]);
    assert!(audit_out.contains("no-file-nullok"), "{audit_out}");

    // Nothing is created for an account without a file.
    let (out, ok) = command(s, &["--clear-skew", &user.name]);
    assert!(!ok && out.contains("nothing changed"), "{out}");
}
