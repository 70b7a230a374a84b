//! One-time codes under concurrent logins, through the real libpam.
//!
//! Every state-changing decision of our module is taken under an exclusive `flock` on a fresh
//! read after the prompt (`DESIGN.md`, "The state update protocol"), so a code that may be used
//! once is accepted exactly once however many logins race for it, and a rate limit admits
//! exactly as many attempts as it allows. These tests release many logins at the same moment
//! (separate driver processes behind a stdin-EOF barrier, or threads of one process) and
//! assert the exact number of successes and the exact file left behind. Each scenario runs
//! [`REPETITIONS`] times on a fresh file and prints a table of what every repetition did
//! (visible with `--nocapture` and on failure).
//!
//! Debian's C module (upstream) is run through the same races once, and what it does is only
//! printed: it guards its write with an inode/size/mtime comparison and no lock, so it accepts
//! one code several times (`upstream_races_are_recorded`).

// The shared harness, of which this binary uses a part.
#[allow(dead_code)]
mod support;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Barrier, Mutex, PoisonError};

use pam_google_authenticator::core::file::SecretFile;
use support::in_process::{Attempt, Service};
use support::otp::{TEST_SECRET, totp_code};
use support::{Outcome, PamRun, Stack, code, our_module, reference_module, run_many, write_secret};

/// How often each scenario runs, each time on a fresh secret file.
const REPETITIONS: usize = 5;
/// Driver processes released at once.
const PROCESSES: usize = 200;
/// Threads of one process released at once.
const THREADS: usize = 64;
/// Attempts in the rate-limit scenario.
const RATE_LIMIT_ATTEMPTS: usize = 100;
/// The frozen clock of every driver (libfaketime).
const NOW: i64 = 1_700_000_010;
/// The TOTP step of [`NOW`].
const STEP: i64 = NOW / 30;

/// The scenarios each start hundreds of logins: run them one at a time, or they would
/// compete for the two cores and for the lock wait of each other's logins.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

// ---------------------------------------------------------------------------------------
// Secret files
// ---------------------------------------------------------------------------------------

/// Distinct scratch codes (eight digits, not starting with 0).
fn scratch_codes(n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{}", 31_415_926 + 7 * i)).collect()
}

fn totp_reuse_file() -> String {
    format!("{TEST_SECRET}\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n")
}

fn scratch_file(codes: &[String]) -> String {
    let mut s = format!("{TEST_SECRET}\n\" TOTP_AUTH\n");
    for c in codes {
        s.push_str(c);
        s.push('\n');
    }
    s
}

fn rate_limit_file() -> String {
    format!("{TEST_SECRET}\n\" TOTP_AUTH\n\" RATE_LIMIT 3 30\n")
}

/// A fresh secret file in its own temp dir.
struct Secret {
    _dir: tempfile::TempDir,
    path: PathBuf,
}

impl Secret {
    fn new(contents: &str) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write_secret(dir.path(), "ga", contents.as_bytes(), 0o600);
        Self { _dir: dir, path }
    }

    fn read(&self) -> String {
        String::from_utf8(std::fs::read(&self.path).expect("read the secret file"))
            .expect("the secret file is UTF-8")
    }
}

fn stack(module: &Path, secret: &Path) -> Stack {
    let arg = format!("secret={}", secret.display());
    Stack::new().auth("required", module, &[&arg])
}

// ---------------------------------------------------------------------------------------
// What the logins did
// ---------------------------------------------------------------------------------------

/// The results of one repetition.
#[derive(Default, Clone)]
struct Tally {
    attempts: usize,
    successes: usize,
    auth_errs: usize,
    /// Any other return value of pam_authenticate, or a driver that printed none.
    others: Vec<i32>,
    /// Attempts that were shown the code prompt (exactly once).
    prompted: usize,
    /// Attempts that ended without a prompt.
    unprompted: usize,
    /// Attempts with more than one prompt, or whose driver did not finish cleanly.
    broken: usize,
    /// Our module's lock wait ran out.
    lock_timeouts: usize,
    /// Upstream's write guard fired (EAGAIN: "changed while trying to use scratch code").
    eagain: usize,
}

impl Tally {
    fn from_outcomes(outs: &[Outcome]) -> Self {
        let mut t = Self {
            attempts: outs.len(),
            ..Self::default()
        };
        for o in outs {
            t.count(o.result, o.prompts.len());
            if !o.ended || o.exit_code != Some(0) {
                t.broken += 1;
            }
            if o.syslog_contains("Timed out waiting for the lock") {
                t.lock_timeouts += 1;
            }
            if o.syslog_contains("changed while trying to use scratch code")
                || o.syslog_contains("Resource temporarily unavailable")
            {
                t.eagain += 1;
            }
        }
        t
    }

    fn from_attempts(attempts: &[Attempt]) -> Self {
        let mut t = Self {
            attempts: attempts.len(),
            ..Self::default()
        };
        for a in attempts {
            t.count(a.result, a.prompts);
        }
        t
    }

    fn count(&mut self, result: i32, prompts: usize) {
        match result {
            code::SUCCESS => self.successes += 1,
            code::AUTH_ERR => self.auth_errs += 1,
            other => self.others.push(other),
        }
        match prompts {
            0 => self.unprompted += 1,
            1 => self.prompted += 1,
            _ => self.broken += 1,
        }
    }
}

/// Prints one row per repetition.
fn print_table(title: &str, rows: &[Tally]) {
    let mut s = format!(
        "\n{title}\n  rep  attempts  success  auth_err  other  prompted  unprompted  broken  \
         lock_timeout  eagain\n"
    );
    for (i, t) in rows.iter().enumerate() {
        let _ = writeln!(
            s,
            "  {:>3}  {:>8}  {:>7}  {:>8}  {:>5}  {:>8}  {:>10}  {:>6}  {:>12}  {:>6}",
            i + 1,
            t.attempts,
            t.successes,
            t.auth_errs,
            t.others.len(),
            t.prompted,
            t.unprompted,
            t.broken,
            t.lock_timeouts,
            t.eagain
        );
    }
    eprint!("{s}");
}

/// The transcript of the first outcome that matches `pred`, for failure messages.
fn first_with(outs: &[Outcome], pred: impl Fn(&Outcome) -> bool) -> String {
    outs.iter()
        .find(|o| pred(o))
        .map_or_else(|| "(none)".to_string(), Outcome::transcript)
}

/// Runs `rep` [`REPETITIONS`] times, prints the table, then fails with every problem found.
/// `rep` returns the tally and the problems of one repetition.
fn repeat(title: &str, mut rep: impl FnMut() -> (Tally, Vec<String>)) {
    let _serial = serial();
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for i in 0..REPETITIONS {
        let (tally, found) = rep();
        rows.push(tally);
        problems.extend(
            found
                .into_iter()
                .map(|p| format!("repetition {}: {p}", i + 1)),
        );
    }
    print_table(title, &rows);
    assert!(problems.is_empty(), "{title}:\n{}", problems.join("\n"));
}

/// Collects failed expectations of one repetition.
#[derive(Default)]
struct Problems(Vec<String>);

impl Problems {
    fn expect(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }

    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, what: &str, got: T, want: T) {
        if got != want {
            self.0
                .push(format!("{what}: got {got:?}, expected {want:?}"));
        }
    }
}

// ---------------------------------------------------------------------------------------
// File checks
// ---------------------------------------------------------------------------------------

/// The file parses, its secret line is intact, and it holds exactly `expected`.
fn check_file(p: &mut Problems, secret: &Secret, expected: &str) {
    let text = secret.read();
    let file = SecretFile::from_bytes(text.clone().into_bytes());
    p.eq(
        "secret line",
        String::from_utf8_lossy(file.secret_line()).into_owned(),
        TEST_SECRET.to_string(),
    );
    p.expect(file.decode_secret().is_some(), || {
        "the secret no longer decodes".into()
    });
    p.expect(file.is_totp(), || "TOTP_AUTH is gone".into());
    p.eq("file contents", text, expected.to_string());
}

/// `DISALLOW_REUSE` holds exactly one entry, [`STEP`].
fn check_reuse_list(p: &mut Problems, secret: &Secret) {
    let file = SecretFile::from_bytes(secret.read().into_bytes());
    let list: Vec<String> = file
        .get("DISALLOW_REUSE")
        .map(|v| {
            String::from_utf8_lossy(v)
                .split_whitespace()
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    p.eq("DISALLOW_REUSE list", list, vec![STEP.to_string()]);
}

/// The whole file after one successful login with a DISALLOW_REUSE TOTP code.
fn reuse_file_after() -> String {
    format!("{TEST_SECRET}\n\" TOTP_AUTH\n\" DISALLOW_REUSE {STEP}\n")
}

/// What a launcher returns: the tally, and the driver outcomes when there is a driver.
type Launched = (Tally, Vec<Outcome>);
/// Starts logins on a secret file; one login per answer, or `n` with a single answer.
type Launch = dyn Fn(&Secret, &[String]) -> Launched;

// ---------------------------------------------------------------------------------------
// Scenario bodies (shared by the process and thread launchers)
// ---------------------------------------------------------------------------------------

/// `n` logins with the same DISALLOW_REUSE TOTP code: exactly one may succeed.
fn same_totp_code(launch: &Launch) -> (Tally, Vec<String>) {
    let secret = Secret::new(&totp_reuse_file());
    let answers = vec![totp_code(TEST_SECRET, NOW as u64)];
    let (tally, outs) = launch(&secret, &answers);
    let mut p = Problems::default();
    p.eq("successes", tally.successes, 1);
    p.eq("AUTH_ERR", tally.auth_errs, tally.attempts - 1);
    p.eq("other results", tally.others.clone(), Vec::new());
    p.eq("prompted once", tally.prompted, tally.attempts);
    p.eq("broken runs", tally.broken, 0);
    p.expect(tally.successes <= 1, || {
        format!(
            "a second success:\n{}",
            first_with(&outs, |o| o.result == code::SUCCESS)
        )
    });
    check_reuse_list(&mut p, &secret);
    check_file(&mut p, &secret, &reuse_file_after());
    if !p.0.is_empty() && !outs.is_empty() {
        p.0.push(format!(
            "first unexpected result:\n{}",
            first_with(&outs, |o| o.result != code::AUTH_ERR
                && o.result != code::SUCCESS)
        ));
    }
    (tally, p.0)
}

/// `n` logins with the same scratch code: exactly one may succeed, the code is removed and
/// the other scratch codes stay.
fn same_scratch_code(launch: &Launch) -> (Tally, Vec<String>) {
    let codes = scratch_codes(5);
    let secret = Secret::new(&scratch_file(&codes));
    let used = codes[2].clone();
    let (tally, outs) = launch(&secret, std::slice::from_ref(&used));
    let mut p = Problems::default();
    p.eq("successes", tally.successes, 1);
    p.eq("AUTH_ERR", tally.auth_errs, tally.attempts - 1);
    p.eq("other results", tally.others.clone(), Vec::new());
    p.eq("prompted once", tally.prompted, tally.attempts);
    p.eq("broken runs", tally.broken, 0);
    p.expect(tally.successes <= 1, || {
        format!(
            "a second success:\n{}",
            first_with(&outs, |o| o.result == code::SUCCESS)
        )
    });
    let left: Vec<String> = codes.iter().filter(|c| **c != used).cloned().collect();
    check_file(&mut p, &secret, &scratch_file(&left));
    (tally, p.0)
}

/// `n` logins, each with its own scratch code: all succeed and no code is left.
fn own_scratch_codes(n: usize, launch: &Launch) -> (Tally, Vec<String>) {
    let codes = scratch_codes(n);
    let secret = Secret::new(&scratch_file(&codes));
    let (tally, outs) = launch(&secret, &codes);
    let mut p = Problems::default();
    p.eq("successes", tally.successes, n);
    p.eq("other results", tally.others.clone(), Vec::new());
    p.eq("prompted once", tally.prompted, n);
    p.eq("broken runs", tally.broken, 0);
    p.eq("lock timeouts", tally.lock_timeouts, 0);
    if tally.successes != n {
        p.0.push(format!(
            "first failure:\n{}",
            first_with(&outs, |o| o.result != code::SUCCESS)
        ));
    }
    check_file(&mut p, &secret, &scratch_file(&[]));
    (tally, p.0)
}

// ---------------------------------------------------------------------------------------
// Launchers
// ---------------------------------------------------------------------------------------

/// One driver process per answer (a single answer is used `n` times), all released at once,
/// with the clock frozen at [`NOW`].
fn processes(module: PathBuf, n: usize) -> impl Fn(&Secret, &[String]) -> Launched {
    move |secret, answers| {
        let base = PamRun::new(stack(&module, &secret.path)).clock(NOW);
        let runs: Vec<PamRun> = (0..n)
            .map(|i| base.clone().answer(&answers[i % answers.len()]))
            .collect();
        let outs = run_many(&runs);
        (Tally::from_outcomes(&outs), outs)
    }
}

/// One driver process with `n` threads that all type the single answer, released at once by
/// the driver's barrier, with the clock frozen at [`NOW`].
fn driver_threads(n: usize) -> impl Fn(&Secret, &[String]) -> Launched {
    move |secret, answers| {
        assert_eq!(answers.len(), 1, "the driver's threads share one answer");
        let outs = PamRun::new(stack(&our_module(), &secret.path))
            .clock(NOW)
            .answer(&answers[0])
            .run_threads(n);
        let mut tally = Tally::from_outcomes(&outs);
        // A thread that printed nothing is missing from `outs`.
        tally.broken += n.saturating_sub(outs.len());
        (tally, outs)
    }
}

/// Threads of this test process, one per answer, released at once by a barrier. The driver
/// gives all its threads the same answer, so this is how threads get their own codes. The
/// real clock is used: only scratch codes are typed here, and they do not depend on time.
fn own_threads(secret: &Secret, answers: &[String]) -> Launched {
    let service = Service::new(&stack(&our_module(), &secret.path));
    let barrier = Barrier::new(answers.len());
    let attempts: Vec<Attempt> = std::thread::scope(|s| {
        let handles: Vec<_> = answers
            .iter()
            .map(|a| {
                let (service, barrier) = (&service, &barrier);
                s.spawn(move || {
                    barrier.wait();
                    service.authenticate(a)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("login thread panicked"))
            .collect()
    });
    (Tally::from_attempts(&attempts), Vec::new())
}

// ---------------------------------------------------------------------------------------
// Our module: separate processes
// ---------------------------------------------------------------------------------------

#[test]
fn processes_same_totp_code_with_disallow_reuse_succeed_once() {
    let launch = processes(our_module(), PROCESSES);
    repeat(
        "our module, 200 processes, one DISALLOW_REUSE TOTP code",
        || same_totp_code(&launch),
    );
}

#[test]
fn processes_same_scratch_code_succeed_once() {
    let launch = processes(our_module(), PROCESSES);
    repeat("our module, 200 processes, one scratch code", || {
        same_scratch_code(&launch)
    });
}

#[test]
fn processes_with_own_scratch_codes_all_succeed() {
    let launch = processes(our_module(), PROCESSES);
    repeat(
        "our module, 200 processes, 200 different scratch codes",
        || own_scratch_codes(PROCESSES, &launch),
    );
}

// ---------------------------------------------------------------------------------------
// Our module: threads of one process (JupyterHub's model)
// ---------------------------------------------------------------------------------------

#[test]
fn threads_same_totp_code_with_disallow_reuse_succeed_once() {
    let launch = driver_threads(THREADS);
    repeat(
        "our module, 64 threads of the driver, one DISALLOW_REUSE TOTP code",
        || same_totp_code(&launch),
    );
}

#[test]
fn threads_same_scratch_code_succeed_once() {
    let launch = driver_threads(THREADS);
    repeat(
        "our module, 64 threads of the driver, one scratch code",
        || same_scratch_code(&launch),
    );
}

#[test]
fn threads_with_own_scratch_codes_all_succeed() {
    repeat(
        "our module, 64 threads of the test process, 64 different scratch codes",
        || own_scratch_codes(THREADS, &own_threads),
    );
}

// ---------------------------------------------------------------------------------------
// Our module: rate limiting
// ---------------------------------------------------------------------------------------

/// `RATE_LIMIT 3 30` admits exactly three of 100 simultaneous attempts with the right code:
/// those three are prompted and succeed, the 97 others are refused without a prompt, and the
/// limiter records exactly three attempts (the refused ones push out older entries, all of
/// which carry the frozen time).
#[test]
fn rate_limit_admits_exactly_its_attempts() {
    let launch = processes(our_module(), RATE_LIMIT_ATTEMPTS);
    repeat(
        "our module, 100 processes, RATE_LIMIT 3 30, right TOTP code",
        || {
            let secret = Secret::new(&rate_limit_file());
            let answers = vec![totp_code(TEST_SECRET, NOW as u64)];
            let (tally, outs) = launch(&secret, &answers);
            let mut p = Problems::default();
            p.expect(tally.prompted <= 3, || {
                format!("{} attempts were prompted", tally.prompted)
            });
            p.expect(tally.successes <= 3, || {
                format!("{} attempts succeeded", tally.successes)
            });
            p.eq("prompted", tally.prompted, 3);
            p.eq("successes", tally.successes, 3);
            p.eq(
                "prompted + refused without a prompt",
                tally.prompted + tally.unprompted,
                RATE_LIMIT_ATTEMPTS,
            );
            p.eq("other results", tally.others.clone(), Vec::new());
            p.eq("broken runs", tally.broken, 0);
            let limited = outs
                .iter()
                .filter(|o| o.syslog_contains("Too many concurrent login attempts"))
                .count();
            p.eq(
                "refusals logged as rate-limited",
                limited,
                RATE_LIMIT_ATTEMPTS - 3,
            );
            for o in &outs {
                if o.prompts.is_empty() && o.result != code::AUTH_ERR {
                    p.0.push(format!(
                        "a refusal without a prompt returned {}:\n{}",
                        o.result,
                        o.transcript()
                    ));
                    break;
                }
                if !o.prompts.is_empty() && o.result != code::SUCCESS {
                    p.0.push(format!(
                        "an admitted attempt with the right code failed:\n{}",
                        o.transcript()
                    ));
                    break;
                }
            }
            check_file(
                &mut p,
                &secret,
                &format!("{TEST_SECRET}\n\" TOTP_AUTH\n\" RATE_LIMIT 3 30 {NOW} {NOW} {NOW}\n"),
            );
            (tally, p.0)
        },
    );
}

// ---------------------------------------------------------------------------------------
// Upstream, for the record
// ---------------------------------------------------------------------------------------

/// Debian's C module through the 200-process races of the first two scenarios, once each.
/// Only printed: upstream accepts one code several times, and how often varies from run to
/// run (see `DESIGN.md`). A write that its guard refuses (EAGAIN) fails a valid login too.
#[test]
fn upstream_races_are_recorded() {
    let _serial = serial();
    eprintln!(
        "\n(eagain: logins whose write was refused by upstream's inode/size/mtime guard, \
         which fails the login with EAGAIN even when the code was accepted)"
    );
    let module = reference_module();
    let launch = processes(module, PROCESSES);

    let secret = Secret::new(&totp_reuse_file());
    let (totp, outs) = launch(&secret, &[totp_code(TEST_SECRET, NOW as u64)]);
    assert_eq!(outs.len(), PROCESSES, "every driver reported");
    print_table(
        "Debian's C module, 200 processes, one DISALLOW_REUSE TOTP code (recorded, not asserted)",
        std::slice::from_ref(&totp),
    );
    eprintln!("  file afterwards: {:?}", secret.read());

    let codes = scratch_codes(5);
    let secret = Secret::new(&scratch_file(&codes));
    let (scratch, outs) = launch(&secret, std::slice::from_ref(&codes[2]));
    assert_eq!(outs.len(), PROCESSES, "every driver reported");
    print_table(
        "Debian's C module, 200 processes, one scratch code (recorded, not asserted)",
        std::slice::from_ref(&scratch),
    );
    eprintln!("  file afterwards: {:?}", secret.read());

    assert_eq!(totp.attempts + scratch.attempts, 2 * PROCESSES);
}
