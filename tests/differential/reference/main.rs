//! The reference scenarios: every scenario runs through the real Linux-PAM library against
//! Debian's `pam_google_authenticator.so` (upstream 1.08, the reference) and against ours,
//! and the two outcomes are compared step by step: the module's return code (PAM_IGNORE
//! included), the prompts (count, text, echo style), error/info messages, PAM_AUTHTOK after
//! the call, and the secret file's bytes and mode after every step. Syslog is not compared
//! (the idents and some texts differ, §7), but a scenario may assert lines of our own log.
//!
//! Where the spec gives them, the reference's results, prompt counts and exact file bytes
//! are also asserted on the reference's outcome, so a scenario both pins down
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
//! | §6.2 conversation modes 0-7 (`conversation_modes`) | good code (with the forwarded AUTHTOK for `forward_pass`), wrong code, empty answer, missing file with and without `nullok`, for each mode; short/long codes (§6.3 item 10) |
//! | §6.3 sequences (`sequences`) | STEP_SIZE 60 (modes 0 and 4), WINDOW_SIZE default and 6, DISALLOW_REUSE and its pruning, RATE_LIMIT 4 120, RATE_LIMIT ending in a space, the TIME_SKEW 3-code resync, `noskewadj`, scratch codes, HOTP counters |
//! | File format (`file_format`) | CRLF (§2.3 example), no final newline, blank lines, duplicate/unknown option lines, comments, options on line 1, TOTP_AUTH as a substring, scratch codes with spaces/`+`/leading zero, scratch scan stopped by a bad line, duplicate scratch codes, lower-case and `0 1 8` mistyped secrets, `=` padding, one-character secret, long lines, STEP_SIZE/WINDOW_SIZE out of range or with junk, HOTP_COUNTER/TIME_SKEW/DISALLOW_REUSE garbage, RATE_LIMIT variants |
//! | Module arguments (`module_arguments`) | `secret=` with `~`, `${HOME}`, `${USER}`; `authtok_prompt=` with spaces; both echo spellings; `allowed_perm=` (good and bad); `no_strict_owner`; `no_increment_hotp`; `noskewadj`; `nullok`; `allow_readonly` (immutable directory); `grace_period=` (good and bad); unknown argument; `user=` by uid, by name, with junk, unknown |
//! | Grace period (`grace_period`) | LAST entry within/outside the period, with and without PAM_RHOST, ten-slot bookkeeping, all slots in the future, rate limit exceeded within grace, `%` in the host |
//! | Deliberate differences (`differences`) | symlinked secret file, grace without the option / with a future timestamp, `LAST/`, rate-limit sort overflow, resync code recorded in DISALLOW_REUSE |
//! | Conversation and first-pass corners, §1.8-§1.10 (`conversation_corners`) | NULL answers, refused echo prompts, answers with spaces or newlines, sshd's dummy password, large files, WINDOW_SIZE 2 and 17 |
//!
//! Not covered here: FIFOs and devices (Debian's module blocks forever on a FIFO) and
//! overlapping logins (EAGAIN vs waiting for the lock); other suites cover those.
//!
//! Each scenario is a test of its own, named `<table>::<scenario>`: `cargo test --test
//! reference` runs them all, `cargo test --test reference -- file_format::` one table, and
//! `cargo test --test reference -- 'mode 0: good code'` one scenario. A scenario runs
//! against the reference, is checked against the spec's expectations, then runs against
//! ours and is compared step by step. `GA_REFERENCE_REPORT=1` (with `--nocapture`) also
//! prints what each module did at each step. Four `harness::` tests check the table and the
//! checker themselves.
//!
//! This binary has its own test runner (`harness = false`, libtest-mimic), since the
//! scenarios are data; it takes the usual arguments (`--list`, `--exact`, `--skip`, ...).

// The shared harness, of which this binary uses a part.
#[allow(dead_code)]
#[path = "../../support/mod.rs"]
mod support;

mod run;
mod scenario;
mod tables;

use libtest_mimic::{Arguments, Failed, Trial};

use run::{check_expectations, compare_outcomes, run_scenario};
use scenario::{Difference, Scenario, ScenarioOutcome};
use support::code;

fn main() {
    let arguments = Arguments::from_args();
    let mut trials = vec![
        harness(
            "scenario_names_are_unique_and_enough",
            scenario_names_are_unique_and_enough,
        ),
        harness(
            "scenario_runs_are_deterministic",
            scenario_runs_are_deterministic,
        ),
        harness(
            "wrong_expectations_are_reported",
            wrong_expectations_are_reported,
        ),
        harness("every_table_is_run", every_table_is_run),
    ];
    for (table, list) in tables::all() {
        for s in list {
            trials.push(Trial::test(format!("{table}::{}", s.name), move || {
                scenario(&s)
            }));
        }
    }
    libtest_mimic::run(&arguments, trials).exit();
}

/// A check of the table or the checker, which fails by panicking.
fn harness(name: &str, check: fn()) -> Trial {
    Trial::test(format!("harness::{name}"), move || {
        check();
        Ok(())
    })
}

/// Every scenario, without its table's name.
fn scenarios() -> Vec<Scenario> {
    tables::all()
        .into_iter()
        .flat_map(|(_, list)| list)
        .collect()
}

/// One scenario: the reference against the spec's expectations, then ours against the
/// reference.
fn scenario(s: &Scenario) -> Result<(), Failed> {
    let reference = run_scenario(&support::reference_module(), s);
    let ours = run_scenario(&support::our_module(), s);
    if std::env::var_os("GA_REFERENCE_REPORT").is_some() {
        report(s, "reference", &reference);
        report(s, "ours", &ours);
    }
    let mut fails = check_expectations(s, &reference);
    fails.extend(compare_outcomes(s, &reference, &ours));
    if fails.is_empty() {
        Ok(())
    } else {
        Err(fails.join("\n\n").into())
    }
}

/// What `module` did at each step of `s`, for reading.
fn report(s: &Scenario, module: &str, out: &ScenarioOutcome) {
    for (step, o) in s.steps.iter().zip(&out.steps) {
        eprintln!(
            "{} [{}] {module} t={} answer={:?}: result {} ({} prompts), mode {}, file {}, syslog {:?}",
            s.name,
            s.spec,
            step.time,
            step.answers
                .first()
                .map(|a| String::from_utf8_lossy(a).into_owned()),
            o.module_result,
            o.prompts.len(),
            run::oct(o.mode_after),
            run::show(&o.file_after.clone().unwrap_or_default()),
            o.syslog
        );
    }
}

fn every_table_is_run() {
    for (table, list) in tables::all() {
        assert!(!list.is_empty(), "table {table} is empty");
    }
}

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
