//! The setup command run without a terminal: the files it writes for each combination of
//! flags, its messages and exit codes, and what happens to existing files when it fails.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use crate::support::cli::*;
use crate::support::system::is_root;
use pam_google_authenticator::core::file::SecretFile;

/// 2020-01-01T00:00:00Z, a fixed time for comparing with oathtool.
const FIXED_TIME: u64 = 1_577_836_800;

/// Runs with `args` and `answers`, and checks the file byte for byte: the secret, then the
/// `option_lines`, then the printed scratch codes.
fn enrol(args: &[&str], answers: &str, option_lines: &[&str], scratch: usize) -> String {
    let home = tempfile::tempdir().unwrap();
    let output = run(home.path(), args, Some(answers));
    assert!(output.status.success(), "{args:?}: {output:?}");
    let text = stdout(&output);
    let secret = printed_secret(&text);
    assert_eq!(secret.len(), 32, "160-bit secrets are 32 base32 characters");
    assert!(
        secret
            .bytes()
            .all(|b| b.is_ascii_uppercase() || (b'2'..=b'7').contains(&b))
    );
    let codes = printed_scratch_codes(&text);
    assert_eq!(codes.len(), scratch, "{text}");

    let path = home.path().join(".google_authenticator");
    let bytes = std::fs::read(&path).unwrap();
    let mut expected = format!("{secret}\n");
    for line in option_lines {
        expected.push_str(line);
        expected.push('\n');
    }
    for code in &codes {
        assert!((10_000_000..100_000_000).contains(code));
        expected.push_str(&format!("{code:08}\n"));
    }
    assert_eq!(
        String::from_utf8(bytes.clone()).unwrap(),
        expected,
        "{args:?}"
    );
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o400);
    assert_eq!(listing(home.path()), [".google_authenticator"]);

    let file = SecretFile::from_bytes(bytes);
    assert_eq!(file.scratch_codes(), codes);
    assert_eq!(
        file.is_totp(),
        option_lines.contains(&"\" TOTP_AUTH"),
        "{args:?}"
    );
    text
}

fn check_totp(text: &str, step: u64) {
    let secret = printed_secret(text);
    let at = "2020-01-01 00:00:00 UTC";
    let expected: u32 = oathtool(
        &secret,
        &["--totp", "--now", at, &format!("--time-step-size={step}s")],
    )
    .parse()
    .unwrap();
    assert_eq!(key(&secret).code(FIXED_TIME / step), expected);
}

fn check_hotp(text: &str) {
    let secret = printed_secret(text);
    let expected: u32 = oathtool(&secret, &["-c", "1"]).parse().unwrap();
    assert_eq!(key(&secret).code(1), expected);
    assert!(
        text.contains(&format!(
            "Your verification code for code 1 is {expected:06}\n"
        )),
        "{text}"
    );
}

#[test]
fn upstream_example_layout() {
    let text = enrol(
        &[
            "-t", "-d", "-f", "-r", "3", "-R", "30", "-w", "3", "-Q", "none", "-C",
        ],
        "",
        &[
            "\" RATE_LIMIT 3 30",
            "\" WINDOW_SIZE 3",
            "\" DISALLOW_REUSE",
            "\" TOTP_AUTH",
        ],
        5,
    );
    check_totp(&text, 30);
    let url = printed_url(&text);
    assert!(url.starts_with("otpauth://totp/"), "{url}");
    assert!(url.contains(&format!("?secret={}&issuer=", printed_secret(&text))));
    assert!(
        !url.contains("period=") && !url.contains("counter="),
        "{url}"
    );
}

#[test]
fn totp_flag_combinations() {
    let text = enrol(
        &["-t", "-D", "-f", "-u", "-W", "-C", "-Q", "none", "-e", "0"],
        "",
        &["\" WINDOW_SIZE 3", "\" TOTP_AUTH"],
        0,
    );
    assert!(text.contains("Your emergency scratch codes are:\n"));
    check_totp(&text, 30);

    let text = enrol(
        &[
            "--time-based",
            "--allow-reuse",
            "--force",
            "--no-rate-limit",
            "--step-size=60",
            "--window-size",
            "17",
            "--no-confirm",
            "--qr-mode=NONE",
            "--emergency-codes=10",
            "--label=alice",
            "--issuer=Example Org",
        ],
        "",
        &["\" WINDOW_SIZE 17", "\" STEP_SIZE 60", "\" TOTP_AUTH"],
        10,
    );
    check_totp(&text, 60);
    let secret = printed_secret(&text);
    assert_eq!(
        printed_url(&text),
        format!("otpauth://totp/alice?secret={secret}&issuer=Example%20Org&period=60")
    );
    // -t -C prints no meaningless "code for code 1".
    assert!(!text.contains("verification code"), "{text}");
}

#[test]
fn hotp_flag_combinations() {
    let text = enrol(
        &["-c", "-f", "-u", "-W", "-Q", "none", "-e", "10"],
        "",
        &["\" WINDOW_SIZE 1", "\" HOTP_COUNTER 1"],
        10,
    );
    check_hotp(&text);
    let url = printed_url(&text);
    assert!(
        url.starts_with("otpauth://hotp/") && url.ends_with("&counter=1"),
        "{url}"
    );

    // -S means nothing for HOTP: upstream ignores it, and so does the file here.
    let home = tempfile::tempdir().unwrap();
    let output = run(
        home.path(),
        &[
            "-c", "-f", "-S", "60", "-w", "5", "-r", "10", "-R", "600", "-Q", "none", "-i", "",
        ],
        Some(""),
    );
    assert!(output.status.success(), "{output:?}");
    assert!(stderr(&output).contains("-S has no effect in counter-based mode"));
    let text = stdout(&output);
    assert!(!printed_url(&text).contains("issuer="));
    let bytes = std::fs::read_to_string(home.path().join(".google_authenticator")).unwrap();
    let lines: Vec<&str> = bytes.lines().skip(1).take(3).collect();
    assert_eq!(
        lines,
        [
            "\" RATE_LIMIT 10 600",
            "\" WINDOW_SIZE 5",
            "\" HOTP_COUNTER 1"
        ]
    );
    check_hotp(&text);
}

#[test]
fn questions_answered_yes_and_no() {
    // time-based, update, disallow reuse, window, rate limit.
    let text = enrol(
        &["-Q", "none", "-C"],
        "y\ny\nY\nyes\ny\n",
        &[
            "\" RATE_LIMIT 3 30",
            "\" WINDOW_SIZE 17",
            "\" DISALLOW_REUSE",
            "\" TOTP_AUTH",
        ],
        5,
    );
    assert!(text.contains("\nDo you want authentication tokens to be time-based (y/n) "));
    assert!(text.contains(
        "\nDo you want to disallow multiple uses of the same authentication\n\
        token? This restricts you to one login about every 30s, but it increases\n\
        your chances to notice or even prevent man-in-the-middle attacks (y/n) "
    ));
    assert!(text.contains("between client and server.\nDo you want to do so? (y/n) "));
    assert!(text.contains("\nDo you want to enable rate-limiting? (y/n) "));

    enrol(
        &["-Q", "none", "-C"],
        "y\ny\nn\nN\nno\n",
        &["\" TOTP_AUTH"],
        5,
    );

    // HOTP, with an answer that is neither y nor n first: the question comes again on the
    // same line.
    let text = enrol(
        &["-Q", "none"],
        "maybe\nn\ny\ny\nn\n",
        &["\" WINDOW_SIZE 17", "\" HOTP_COUNTER 1"],
        5,
    );
    assert!(text.contains(
        "Do you want authentication tokens to be time-based (y/n) \
         Do you want authentication tokens to be time-based (y/n) "
    ));
    assert!(
        text.contains("By default, three tokens are valid at any one time.  This accounts for\n")
    );
    check_hotp(&text);
}

#[test]
fn quiet_mode_prints_no_secret_but_still_asks() {
    let home = tempfile::tempdir().unwrap();
    let output = run(home.path(), &["-q", "-t", "-D", "-W"], Some("y\nn\n"));
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(
        !text.contains("secret") && !text.contains("otpauth"),
        "{text}"
    );
    assert!(text.contains("Do you want me to update your"));
    assert!(text.contains("rate-limiting? (y/n) "));
    let file = std::fs::read_to_string(home.path().join(".google_authenticator")).unwrap();
    assert!(file.contains("\" WINDOW_SIZE 3\n\" TOTP_AUTH\n"));
}

#[test]
fn option_errors_exit_1_and_write_nothing() {
    let cases: &[(&[&str], &str)] = &[
        (&["-w", "0"], "-w requires an argument in the range 1..21"),
        (&["-w", "101"], "-w requires an argument in the range 1..21"),
        (
            &["-r", "0", "-R", "30"],
            "-r requires an argument in the range 1..10",
        ),
        (&["-S", "61"], "-S requires an argument in the range 1..60"),
        (&["-e", "11"], "-e requires an argument in the range 0..10"),
        (
            &["-R", "10"],
            "-R requires an argument in the range 15..600",
        ),
        (&["-c", "-t"], "Duplicate -c and/or -t option detected"),
        (
            &["-c", "-d"],
            "Reuse of tokens is not a meaningful parameter in counter-based mode",
        ),
        (&["-D"], "Must select time-based mode, when using -d or -D"),
        (&["-r", "3"], "Must set -r when setting -R, and vice versa"),
        (&["-u", "-r", "3"], "-u is mutually exclusive with -r"),
        (&["-s", ""], "-s must be followed by a filename"),
        (&["-Q", "sixel"], "Invalid qr-mode \"sixel\""),
        (&["-W", "-w", "3"], "Duplicate -w/-W option detected"),
    ];
    let home = tempfile::tempdir().unwrap();
    for (args, message) in cases {
        let output = run(home.path(), args, Some("y\ny\ny\ny\ny\n"));
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert_eq!(stderr(&output), format!("{message}\n"), "{args:?}");
        assert_eq!(stdout(&output), "", "{args:?}");
    }
    assert!(listing(home.path()).is_empty());
}

#[test]
fn help_version_unknown_and_extra_arguments() {
    let home = tempfile::tempdir().unwrap();
    let usage_start = "google-authenticator 1.11\ngoogle-authenticator [<options>]\n";

    let output = run(home.path(), &["-h"], None);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).starts_with(usage_start));
    assert!(stdout(&output).contains("\n     --user=<name>  "));

    let output = run(home.path(), &["--version"], None);
    assert_eq!(output.status.code(), Some(0));
    assert_eq!(stdout(&output), "google-authenticator 1.11\n");

    let output = run(home.path(), &["-t", "extra"], None);
    assert_eq!(output.status.code(), Some(0));
    assert!(stdout(&output).starts_with(usage_start));

    let output = run(home.path(), &["-x"], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).starts_with(usage_start));
    assert_eq!(
        stderr(&output),
        "google-authenticator: invalid option -- 'x'\nFailed to parse command line\n"
    );

    let output = run(home.path(), &["--frobnicate"], None);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with("google-authenticator: unrecognized option '--frobnicate'\n")
    );
    assert!(listing(home.path()).is_empty());
}

#[test]
fn no_to_the_update_question_keeps_the_old_file() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join(".google_authenticator");
    std::fs::write(&path, b"OLDSECRET\n\" TOTP_AUTH\n12345678\n").unwrap();
    let output = run(home.path(), &["-t", "-Q", "none", "-C"], Some("n\n"));
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert!(stdout(&output).contains(&format!(
        "Do you want me to update your \"{}\" file? (y/n) ",
        path.display()
    )));
    assert_eq!(
        std::fs::read(&path).unwrap(),
        b"OLDSECRET\n\" TOTP_AUTH\n12345678\n"
    );
    assert_eq!(listing(home.path()), [".google_authenticator"]);
}

#[test]
fn closed_stdin_exits_1_and_writes_nothing() {
    let home = tempfile::tempdir().unwrap();
    for args in [
        &["-Q", "none"][..],
        &["-t", "-Q", "none", "-C"],
        &["-t", "-f", "-Q", "none", "-D", "-W"],
    ] {
        let output = run(home.path(), args, None);
        assert_eq!(output.status.code(), Some(1), "{args:?}: {output:?}");
        assert!(
            stderr(&output).contains("Nothing was written"),
            "{output:?}"
        );
        assert!(listing(home.path()).is_empty(), "{args:?}");
    }
}

#[test]
fn replaces_an_existing_file_with_force() {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join(".google_authenticator");
    std::fs::write(&path, b"OLDSECRET\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    let output = run(
        home.path(),
        &["-t", "-f", "-D", "-W", "-u", "-C", "-Q", "none"],
        None,
    );
    assert!(output.status.success(), "{output:?}");
    let secret = printed_secret(&stdout(&output));
    assert!(
        std::fs::read_to_string(&path)
            .unwrap()
            .starts_with(&format!("{secret}\n"))
    );
    assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o7777, 0o400);
}

#[test]
fn a_stale_temp_file_does_not_block_and_is_removed() {
    let home = tempfile::tempdir().unwrap();
    let stale = home.path().join(".google_authenticator~");
    std::fs::write(&stale, b"left behind by a crash").unwrap();
    let output = run(
        home.path(),
        &["-t", "-f", "-D", "-W", "-u", "-C", "-Q", "none"],
        None,
    );
    assert!(output.status.success(), "{output:?}");
    assert_eq!(listing(home.path()), [".google_authenticator"]);
    assert!(!stale.exists());
}

const WRITE_ARGS: &[&str] = &["-t", "-f", "-D", "-W", "-u", "-C", "-Q", "none", "-s"];

fn run_to(path: &Path) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let mut args = WRITE_ARGS.to_vec();
    let path = path.to_str().unwrap();
    args.push(path);
    run(home.path(), &args, None)
}

#[test]
fn symlinks_and_directories_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("target");
    std::fs::write(&target, b"OLD\n").unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let dangling = dir.path().join("dangling");
    std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();

    for (path, what) in [
        (&link, "it is a symbolic link"),
        (&dangling, "it is a symbolic link"),
        (&dir.path().to_path_buf(), "it is a directory"),
    ] {
        let output = run_to(path);
        assert_eq!(output.status.code(), Some(1), "{output:?}");
        assert_eq!(
            stderr(&output),
            format!("Refusing to write \"{}\": {what}\n", path.display())
        );
        // Refused before anything secret is shown.
        assert!(!stdout(&output).contains("secret key"));
    }
    assert_eq!(std::fs::read(&target).unwrap(), b"OLD\n");
    assert!(std::fs::symlink_metadata(&link).unwrap().is_symlink());
    assert_eq!(listing(dir.path()), ["dangling", "link", "target"]);
}

#[test]
fn missing_and_non_directory_parents_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing").join("secret");
    let output = run_to(&missing);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("No such file or directory"),
        "{output:?}"
    );

    let file = dir.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let output = run_to(&file.join("secret"));
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("Not a directory"), "{output:?}");
    assert_eq!(listing(dir.path()), ["file"]);
}

#[test]
fn an_unwritable_directory_keeps_the_old_file() {
    if is_root() {
        // Root ignores the mode bits; tests/cli/cli_root.rs covers this with --user.
        eprintln!("skipped as root: covered by cli_root::an_unwritable_directory_as_another_user");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("secret");
    std::fs::write(&path, b"OLD\n").unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o500)).unwrap();
    let output = run_to(&path);
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with(&format!(
            "Failed to create \"{}\" temp file \"",
            path.display()
        )),
        "{output:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), b"OLD\n");
    assert_eq!(listing(dir.path()), ["secret"]);
}

#[test]
fn an_unreasonably_large_label_is_refused() {
    let home = tempfile::tempdir().unwrap();
    let label = "x".repeat(3334);
    let output = run(home.path(), &["-t", "-f", "-C", "-l", &label], None);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output),
        "Error: Generated URL would be unreasonably large.\n"
    );
    assert!(listing(home.path()).is_empty());
}

#[test]
fn no_home_directory() {
    let output = std::process::Command::new(BIN)
        .args(["-t", "-f", "-C"])
        .env_remove("HOME")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(stderr(&output), "Cannot determine home directory\n");
    let output = std::process::Command::new(BIN)
        .args(["-t", "-f", "-C"])
        .env("HOME", "relative")
        .output()
        .unwrap();
    assert_eq!(stderr(&output), "Cannot determine home directory\n");
}

#[test]
fn the_default_label_is_user_at_host() {
    let home = tempfile::tempdir().unwrap();
    let output = run(
        home.path(),
        &["-t", "-f", "-C", "-D", "-W", "-u", "-Q", "none"],
        None,
    );
    let url = printed_url(&stdout(&output));
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    let host = host.trim();
    let user = String::from_utf8(
        std::process::Command::new("id")
            .arg("-un")
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    assert!(
        url.starts_with(&format!("otpauth://totp/{}@{host}?secret=", user.trim())),
        "{url}"
    );
    assert!(url.ends_with(&format!("&issuer={host}")), "{url}");
}

#[test]
fn scratch_codes_are_distinct_enough() {
    // Not a statistical test: just that ten codes from one run are not all the same.
    let home = tempfile::tempdir().unwrap();
    let output = run(
        home.path(),
        &["-t", "-f", "-C", "-D", "-W", "-u", "-Q", "none", "-e", "10"],
        None,
    );
    let mut codes = printed_scratch_codes(&stdout(&output));
    codes.sort_unstable();
    codes.dedup();
    assert!(codes.len() > 5);
}

/// Storage faults at every write step of the setup command (strace injects the error at
/// exactly that system call): EIO, ENOSPC, EDQUOT and EROFS at the create, write, fsync and
/// rename of `<file>~` and at the directory fsync, both over an existing file and where none
/// was. Before the rename the old file (or its absence) stays and the command exits 1 with
/// upstream's message; after it the new file is in place and a warning says the directory
/// could not be synced; never a temp file left.
#[test]
fn storage_faults_at_every_write_step_keep_the_old_file() {
    let errors = ["EIO", "ENOSPC", "EDQUOT", "EROFS"];
    let steps = [
        ("create", false, "openat"),
        ("write", false, "write"),
        ("fsync", false, "fsync"),
        ("rename", false, "rename,renameat,renameat2"),
        ("directory fsync", true, "fsync"),
    ];
    for errno in errors {
        for (step, on_dir, calls) in steps {
            for existing in [true, false] {
                let home = tempfile::tempdir().unwrap();
                let path = home.path().join(".google_authenticator");
                if existing {
                    std::fs::write(&path, b"OLD\n").unwrap();
                }
                let dir = home.path().display().to_string();
                let temp = format!("{}~", path.display());
                let filter: Vec<&str> = if on_dir {
                    vec!["-P", &dir]
                } else {
                    vec!["-P", &temp, "-P", ".google_authenticator~"]
                };
                let inject = format!("inject={calls}:error={errno}");
                let mut args = vec!["-f", "-qq", "-o", "/dev/null"];
                args.extend_from_slice(&filter);
                args.extend_from_slice(&["-e", &inject, "--", BIN]);
                args.extend_from_slice(&["-t", "-f", "-D", "-W", "-u", "-C", "-Q", "none"]);
                let output = std::process::Command::new("strace")
                    .args(&args)
                    .env("HOME", home.path())
                    .stdin(std::process::Stdio::null())
                    .output()
                    .expect("harness error: strace could not be started (apt-get install strace)");
                let what = format!("{errno} at {step} (existing file: {existing})");
                let err = stderr(&output);
                let left: Vec<String> = listing(home.path())
                    .into_iter()
                    .filter(|n| n.contains('~'))
                    .collect();
                assert!(left.is_empty(), "{what}: temp files left {left:?}");
                if on_dir {
                    let file = std::fs::read(&path).unwrap();
                    assert_ne!(file, b"OLD\n", "{what}: the new file is in place");
                    // The enrolment stands (the user has scanned the secret); a warning says
                    // that only its survival of a crash is in doubt.
                    assert_eq!(output.status.code(), Some(0), "{what}: {err}");
                    assert!(
                        err.contains("was written, but its directory could not be synced"),
                        "{what}: {err}"
                    );
                } else {
                    assert_eq!(output.status.code(), Some(1), "{what}: {err}");
                    match existing {
                        true => assert_eq!(std::fs::read(&path).unwrap(), b"OLD\n", "{what}"),
                        false => assert!(!path.exists(), "{what}: no file appeared"),
                    }
                    assert!(
                        err.contains("Failed to create")
                            || err.contains("Failed to write new secret"),
                        "{what}: upstream's message: {err}"
                    );
                }
            }
        }
    }
}
