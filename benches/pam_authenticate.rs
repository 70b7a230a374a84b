//! Times one full `pam_authenticate` through the real libpam, for our module and Debian's C
//! module side by side: each case is a criterion group with one function per module.
//!
//! libpam is called from this process (`pam_start_confdir` with a service file in a temp dir,
//! a conversation that answers from a variable; see `in_process` in `tests/support/mod.rs`),
//! so a measurement covers loading the module, reading and checking the secret file, the
//! code check and, where the case changes the file, the locked and synced rewrite. Cases:
//!
//! 1. `success`: a plain TOTP file and the current code (computed from the real clock
//!    each iteration); nothing is written.
//! 2. `wrong_code`: a code that matches no step within a day, so both modules run their
//!    whole time-skew search (about 3000 HMACs); nothing is written.
//! 3. `scratch_code`: a scratch code is accepted and removed (a write); the file is rewritten
//!    before each iteration, outside the timing.
//! 4. `rate_limited`: `RATE_LIMIT 1 30` with a fresh timestamp: refused without a prompt, and
//!    the attempt is recorded (a write); the file is rewritten before each iteration.
//! 5. `missing_nullok`: no secret file and `nullok`: the module steps aside.
//!
//! Run with `cargo bench --bench pam_authenticate`; results and how to read them are in
//! `docs/BENCHMARKS.md`.

#[path = "../tests/support/mod.rs"]
mod support;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use support::in_process::{Attempt, Service};
use support::{Stack, TEST_SECRET, code, our_module, reference_module, totp_code, write_secret};

/// The scratch code of the `scratch_code` case.
const SCRATCH: &str = "31415926";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("the clock is after 1970")
        .as_secs()
}

/// A six-digit code that matches no TOTP step within a day of now, so that a module checks
/// the window and then its whole skew search without finding anything.
fn wrong_code() -> String {
    let step = now() / 30;
    let near: Vec<String> = (step - 3000..=step + 3000)
        .map(|s| totp_code(TEST_SECRET, s * 30))
        .collect();
    (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| !near.contains(c))
        .expect("some code is unused")
}

fn totp_file() -> String {
    format!("{TEST_SECRET}\n\" TOTP_AUTH\n")
}

fn scratch_file() -> String {
    format!("{TEST_SECRET}\n\" TOTP_AUTH\n{SCRATCH}\n87654321\n")
}

fn rate_limited_file() -> String {
    format!(
        "{TEST_SECRET}\n\" TOTP_AUTH\n\" RATE_LIMIT 1 30 {}\n",
        now()
    )
}

/// A module with a secret file of its own and a service that uses it.
struct Fixture {
    dir: tempfile::TempDir,
    secret: PathBuf,
    service: Service,
}

impl Fixture {
    /// `contents` of `None` leaves the secret file missing.
    fn new(module: &Path, contents: Option<&str>, extra_args: &[&str]) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let secret = dir.path().join("ga");
        if let Some(c) = contents {
            write_secret(dir.path(), "ga", c.as_bytes(), 0o600);
        }
        let arg = format!("secret={}", secret.display());
        let mut args = vec![arg.as_str()];
        args.extend_from_slice(extra_args);
        let service = Service::new(&Stack::new().auth("required", module, &args));
        Self {
            dir,
            secret,
            service,
        }
    }

    fn rewrite(&self, contents: &str) {
        write_secret(self.dir.path(), "ga", contents.as_bytes(), 0o600);
    }
}

/// Checks once, before timing, that the case takes the path it is meant to measure.
#[track_caller]
fn expect(name: &str, got: Attempt, result: i32, prompts: usize) {
    assert_eq!(
        got,
        Attempt { result, prompts },
        "{name}: unexpected result before timing"
    );
}

fn modules() -> [(&'static str, PathBuf); 2] {
    [("ours", our_module()), ("debian_c", reference_module())]
}

fn success(c: &mut Criterion) {
    let mut group = c.benchmark_group("success");
    for (name, module) in modules() {
        let f = Fixture::new(&module, Some(&totp_file()), &[]);
        let current = || totp_code(TEST_SECRET, now());
        expect(name, f.service.authenticate(&current()), code::SUCCESS, 1);
        group.bench_function(name, |b| b.iter(|| f.service.authenticate(&current())));
    }
    group.finish();
}

fn wrong(c: &mut Criterion) {
    let wrong = wrong_code();
    let mut group = c.benchmark_group("wrong_code");
    for (name, module) in modules() {
        let f = Fixture::new(&module, Some(&totp_file()), &[]);
        expect(name, f.service.authenticate(&wrong), code::AUTH_ERR, 1);
        assert_eq!(
            std::fs::read_to_string(&f.secret).expect("read secret"),
            totp_file(),
            "{name}: a wrong code must not change the file"
        );
        group.bench_function(name, |b| b.iter(|| f.service.authenticate(&wrong)));
    }
    group.finish();
}

fn scratch(c: &mut Criterion) {
    let mut group = c.benchmark_group("scratch_code");
    for (name, module) in modules() {
        let f = Fixture::new(&module, Some(&scratch_file()), &[]);
        expect(name, f.service.authenticate(SCRATCH), code::SUCCESS, 1);
        group.bench_function(name, |b| {
            b.iter_batched(
                || f.rewrite(&scratch_file()),
                |()| f.service.authenticate(SCRATCH),
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn rate_limited(c: &mut Criterion) {
    let mut group = c.benchmark_group("rate_limited");
    for (name, module) in modules() {
        let f = Fixture::new(&module, Some(&rate_limited_file()), &[]);
        let current = totp_code(TEST_SECRET, now());
        expect(name, f.service.authenticate(&current), code::AUTH_ERR, 0);
        group.bench_function(name, |b| {
            b.iter_batched(
                || f.rewrite(&rate_limited_file()),
                |()| f.service.authenticate(&current),
                BatchSize::PerIteration,
            );
        });
    }
    group.finish();
}

fn missing_nullok(c: &mut Criterion) {
    let mut group = c.benchmark_group("missing_nullok");
    for (name, module) in modules() {
        let f = Fixture::new(&module, None, &["nullok"]);
        // The only module of the stack ignores the request, which libpam reports as
        // PAM_PERM_DENIED.
        expect(name, f.service.authenticate("123456"), code::PERM_DENIED, 0);
        group.bench_function(name, |b| b.iter(|| f.service.authenticate("123456")));
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = success, wrong, scratch, rate_limited, missing_nullok
}
criterion_main!(benches);
