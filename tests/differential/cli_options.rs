//! The setup command's command line against Debian's `google-authenticator`: for command
//! lines that end before any question, both commands print the same complaint on stderr,
//! exit with the same status, and print the usage or not alike. Both parse with getopt's
//! rules (Debian's with glibc's `getopt_long`), so abbreviations, clusters, `-w=3` and every
//! message of glibc's must agree.
//!
//! Left out on purpose: `--version` (Debian's 20191231 build predates it; the usage text
//! differs for the same reason) and abbreviations that meet this command's additions
//! (`--d`, `--a`, `--u`, `--g`, an empty name), which are ambiguous or valid here.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use crate::support::cli::BIN;
use crate::support::reference_command;

/// Runs `command` as `argv0` with `args`, in an empty home and with stdin closed, and
/// checks that it left the home empty.
fn run(command: &Path, argv0: &str, args: &[&str]) -> Output {
    let args: Vec<OsString> = args.iter().map(OsString::from).collect();
    run_bytes(command, argv0, &args)
}

/// [`run`] with arguments that need not be UTF-8.
fn run_bytes(command: &Path, argv0: &str, args: &[OsString]) -> Output {
    let home = tempfile::tempdir().expect("harness error: temp dir");
    let output = Command::new(command)
        .arg0(argv0)
        .args(args)
        .env_clear()
        .env("HOME", home.path())
        .env("PATH", "/usr/bin:/bin")
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("harness error: cannot run {}: {e}", command.display()));
    let left: Vec<_> = std::fs::read_dir(home.path())
        .expect("harness error: read the home")
        .collect();
    assert!(
        left.is_empty(),
        "{} {args:?} wrote into the home",
        command.display()
    );
    output
}

/// What is compared: the exit status, stderr, and whether stdout holds the usage when the
/// status is 0. After a getopt complaint Debian's command prints the usage into stdout's
/// buffer and leaves by `_exit(1)`, so a pipe never gets it; ours prints it (see
/// docs/COMPATIBILITY.md, C14, and `the_usage_follows_a_complaint_into_a_pipe`).
fn seen(output: &Output) -> (Option<i32>, String, bool) {
    let stdout = String::from_utf8_lossy(&output.stdout);
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
        output.status.success() && stdout.contains("google-authenticator [<options>]"),
    )
}

fn same_as_debian_as(argv0: &str, args: &[&str]) {
    let ours = seen(&run(Path::new(BIN), argv0, args));
    let debian = seen(&run(&reference_command(), argv0, args));
    assert_eq!(
        ours, debian,
        "google-authenticator {args:?}: ours, then Debian's"
    );
    // Every case ends before the questions: with a complaint, or with the usage.
    assert!(
        ours.0 == Some(1) || ours.2,
        "{args:?} reached the questions: {ours:?}"
    );
}

fn same_as_debian(args: &[&str]) {
    same_as_debian_as("google-authenticator", args);
}

macro_rules! cases {
    ($($name:ident: [$($arg:expr),*];)*) => {
        $(
            #[test]
            fn $name() {
                same_as_debian(&[$($arg),*]);
            }
        )*
    };
}

cases! {
    unknown_short_option: ["-x"];
    unknown_letter_after_a_good_one: ["-tx"];
    colon_is_no_option: ["-:"];
    unknown_long_option_with_value: ["--bogus=1"];
    ambiguous_abbreviation: ["--s"];
    ambiguous_abbreviation_with_value: ["--rate=3"];
    unique_abbreviation_lacking_its_value: ["--se"];
    long_option_lacking_its_value: ["-t", "--rate-limit"];
    abbreviation_lacking_its_value: ["--rate-l"];
    short_option_lacking_its_value: ["-t", "-r"];
    cluster_ending_in_an_option_lacking_its_value: ["-tfr"];
    flag_given_a_value: ["--force=x"];
    help_given_a_value: ["--help=1"];
    short_value_keeps_its_equals_sign: ["-w=3"];
    short_value_in_the_cluster: ["-tw22"];
    value_taken_from_the_next_argument_whatever_it_is: ["-t", "-w", "-h"];
    help_ends_parsing: ["-h", "-w", "0"];
    first_problem_wins: ["-w", "0", "-h"];
    getopt_complaint_after_a_checked_error: ["-q", "-q", "-x"];
    checked_error_after_a_getopt_complaint: ["-x", "-q", "-q"];
    extra_argument_prints_the_usage: ["-t", "extra", "-x"];
    double_dash_ends_the_options: ["--", "-x"];
    lone_dash_is_an_argument: ["-", "-x"];
    counter_and_time: ["-c", "--time"];
    reuse_in_counter_mode: ["--counter", "-d"];
    reuse_before_counter_mode: ["-D", "-c"];
    reuse_twice: ["-d", "-D"];
    no_rate_limit_then_rate: ["-u", "-r", "3"];
    rate_then_no_rate_limit: ["-R", "30", "-u"];
    rate_limit_out_of_range: ["-r", "11"];
    rate_time_out_of_range: ["--rate-time=14"];
    step_out_of_range: ["-S", "61"];
    window_with_trailing_text: ["-w", "3x"];
    emergency_codes_negative: ["-e", "-1"];
    empty_secret_path: ["-s", ""];
    unknown_qr_mode: ["-Q", "qr"];
    reuse_without_time_based: ["-d"];
    rate_without_time: ["-r", "3"];
}

#[test]
fn complaints_name_the_program_as_invoked() {
    same_as_debian_as("/usr/bin/google-authenticator", &["-x"]);
    same_as_debian_as("./ga", &["--secret"]);
}

/// Where the comparison above leaves stdout out: ours prints the usage after a complaint,
/// whatever stdout is (Debian's prints it only to a terminal).
#[test]
fn the_usage_follows_a_complaint_into_a_pipe() {
    for args in [&["-x"][..], &["--s"], &["-t", "-r"]] {
        let ours = run(Path::new(BIN), "google-authenticator", args);
        assert_eq!(ours.status.code(), Some(1));
        let stdout = String::from_utf8_lossy(&ours.stdout);
        assert!(
            stdout.contains("google-authenticator [<options>]"),
            "{args:?}: {stdout}"
        );
    }
}

#[test]
fn complaints_keep_the_bytes_of_arguments_that_are_not_utf8() {
    for bytes in [&b"-\xe9"[..], b"--\xffx", b"--rate\xff=1", b"-t\xe9"] {
        let args = [OsString::from_vec(bytes.to_vec())];
        let ours = run_bytes(Path::new(BIN), "google-authenticator", &args);
        let debian = run_bytes(&reference_command(), "google-authenticator", &args);
        assert_eq!(
            (ours.status.code(), &ours.stderr),
            (debian.status.code(), &debian.stderr),
            "{bytes:?}: ours, then Debian's"
        );
    }
}
