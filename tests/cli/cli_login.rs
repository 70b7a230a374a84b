//! Files written by `google-authenticator` log in through our module AND through Debian's
//! C module (the reference implementation), via the real libpam, with codes computed
//! independently by `oathtool` from the secret the command printed.
//!
//! Files with the fork's `ALGORITHM`/`DIGITS` lines (`-a`/`-g`) log in through our module
//! with `oathtool --totp=sha256|sha512 --digits=N` codes; Debian's module, which ignores the
//! lines, refuses those codes.

use std::path::Path;

use crate::support::{PamRun, Stack, cli, code, current_user, our_module, reference_module};

/// The frozen clock of every login here (TOTP step 10000 at 30 s).
const NOW: i64 = 300_000;

struct Enrolled {
    secret: String,
    scratch: Vec<String>,
    file: Vec<u8>,
}

/// Runs the setup command with `flags`, answering its remaining questions with `answers`,
/// and returns what it printed and wrote.
fn enrol(flags: &[&str], answers: &str) -> Enrolled {
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("secret");
    let path_arg = path.to_str().expect("a UTF-8 temp path");
    let args: Vec<&str> = flags
        .iter()
        .copied()
        .chain(["-f", "-Q", "NONE", "-s", path_arg])
        .collect();
    let out = cli::run(home.path(), &args, Some(answers));
    let stdout = cli::stdout(&out);
    assert!(
        out.status.success(),
        "{flags:?}: {stdout}{}",
        cli::stderr(&out)
    );
    Enrolled {
        secret: cli::printed_secret(&stdout),
        scratch: cli::printed_scratch_codes(&stdout)
            .iter()
            .map(u32::to_string)
            .collect(),
        file: std::fs::read(&path).unwrap(),
    }
}

/// `oathtool`'s code for the secret: TOTP at NOW with `step`, or HOTP at `counter`.
fn oathtool(secret: &str, totp_step: Option<u32>, counter: u64) -> String {
    match totp_step {
        Some(step) => cli::oathtool(
            secret,
            &[
                "--totp",
                "-s",
                &format!("{step}s"),
                "-N",
                &format!("@{NOW}"),
            ],
        ),
        None => cli::oathtool(secret, &["-c", &counter.to_string()]),
    }
}

/// Logs in with `answer` through `module` using a fresh copy of the enrolled file.
fn login(module: &Path, e: &Enrolled, answer: &str) -> i32 {
    let dir = tempfile::tempdir().unwrap();
    let path = crate::support::write_secret(dir.path(), "ga", &e.file, 0o400);
    let secret_arg = format!("secret={}", path.display());
    let o = PamRun::new(Stack::new().auth("required", module, &[&secret_arg]))
        .user(&current_user().0)
        .answer(answer)
        .clock(NOW)
        .run();
    if o.result != code::SUCCESS {
        eprintln!("{}", o.transcript());
    }
    o.result
}

fn both_accept(e: &Enrolled, answer: &str, what: &str) {
    for (name, module) in [("ours", our_module()), ("Debian's", reference_module())] {
        assert_eq!(
            login(&module, e, answer),
            code::SUCCESS,
            "{what}: {name} module"
        );
    }
}

#[test]
fn default_time_based_file_logs_in_with_oathtool_code_and_scratch_code() {
    // Disallow reuse: no; window 17: no; rate limiting: yes.
    let e = enrol(&["-t", "-C"], "n\nn\ny\n");
    assert_eq!(e.secret.len(), 32, "160-bit secret");
    assert_eq!(e.scratch.len(), 5);
    assert!(String::from_utf8_lossy(&e.file).contains("\" RATE_LIMIT 3 30\n\" TOTP_AUTH\n"));
    both_accept(&e, &oathtool(&e.secret, Some(30), 0), "TOTP code");
    both_accept(&e, &e.scratch[0], "scratch code");
    for (name, module) in [("ours", our_module()), ("Debian's", reference_module())] {
        assert_eq!(
            login(&module, &e, "000000"),
            code::AUTH_ERR,
            "wrong code: {name}"
        );
    }
}

#[test]
fn provisioning_script_flags_log_in() {
    let e = enrol(&["-t", "-d", "-r", "3", "-R", "30", "-w", "17", "-C"], "");
    let text = String::from_utf8_lossy(&e.file);
    assert!(
        text.contains("\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 17\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n")
    );
    both_accept(&e, &oathtool(&e.secret, Some(30), 0), "TOTP code");
}

#[test]
fn sixty_second_steps_log_in() {
    // Window 17: yes.
    let e = enrol(&["-t", "-S", "60", "-D", "-u", "-C"], "y\n");
    assert!(String::from_utf8_lossy(&e.file).contains("\" WINDOW_SIZE 17\n\" STEP_SIZE 60\n"));
    both_accept(&e, &oathtool(&e.secret, Some(60), 0), "60 s TOTP code");
}

#[test]
fn counter_based_file_logs_in_with_the_first_counter() {
    let e = enrol(&["-c", "-u", "-w", "5"], "");
    assert!(String::from_utf8_lossy(&e.file).contains("\" HOTP_COUNTER 1\n"));
    both_accept(&e, &oathtool(&e.secret, None, 1), "HOTP code 1");
    both_accept(
        &e,
        &oathtool(&e.secret, None, 3),
        "HOTP code 3 within the window",
    );
}

#[test]
fn minimal_window_without_scratch_codes_logs_in() {
    let e = enrol(&["-t", "-W", "-u", "-D", "-e", "0", "-C"], "");
    assert!(e.scratch.is_empty());
    both_accept(&e, &oathtool(&e.secret, Some(30), 0), "TOTP code");
}

/// `oathtool`'s TOTP code at NOW (30 s steps) with `algorithm` (sha1, sha256, sha512) and
/// `digits`.
fn oathtool_totp(secret: &str, algorithm: &str, digits: u32) -> String {
    let code = cli::oathtool(
        secret,
        &[
            &format!("--totp={algorithm}"),
            &format!("--digits={digits}"),
            "-N",
            &format!("@{NOW}"),
        ],
    );
    assert_eq!(code.len(), digits as usize, "{code}");
    code
}

#[test]
fn every_algorithm_and_digit_count_written_by_the_setup_command_logs_in() {
    for algorithm in ["sha1", "sha256", "sha512"] {
        for digits in 6..=8u32 {
            let what = format!("-a {algorithm} -g {digits}");
            let g = digits.to_string();
            let e = enrol(
                &["-t", "-a", algorithm, "-g", &g, "-D", "-W", "-u", "-C"],
                "",
            );
            let text = String::from_utf8_lossy(&e.file).into_owned();
            let name = algorithm.to_ascii_uppercase();
            assert!(
                text.contains(&format!(
                    "\" WINDOW_SIZE 3\n\" ALGORITHM {name}\n\" DIGITS {digits}\n\" TOTP_AUTH\n"
                )),
                "{what}: {text}"
            );
            let code = oathtool_totp(&e.secret, algorithm, digits);
            assert_eq!(login(&our_module(), &e, &code), code::SUCCESS, "{what}");
            // Google's module ignores the lines and computes six-digit SHA-1 codes.
            if (algorithm, digits) != ("sha1", 6) {
                assert_eq!(
                    login(&reference_module(), &e, &code),
                    code::AUTH_ERR,
                    "{what}: Debian's module"
                );
            }
            // The six-digit SHA-1 code is refused by ours unless that is what was chosen.
            let sha1 = oathtool_totp(&e.secret, "sha1", 6);
            if (algorithm, digits) != ("sha1", 6) && sha1 != code[code.len() - 6..] {
                assert_eq!(login(&our_module(), &e, &sha1), code::AUTH_ERR, "{what}");
            }
        }
    }
}

#[test]
fn eight_digit_files_still_take_their_scratch_codes() {
    let e = enrol(
        &["-t", "-a", "sha256", "-g", "8", "-D", "-W", "-u", "-C"],
        "",
    );
    assert_eq!(e.scratch.len(), 5);
    assert_eq!(login(&our_module(), &e, &e.scratch[0]), code::SUCCESS);
    let code = oathtool_totp(&e.secret, "sha256", 8);
    assert_eq!(login(&our_module(), &e, &code), code::SUCCESS);
    // A code typed with a password in front is refused without forward_pass, as always.
    assert_eq!(
        login(&our_module(), &e, &format!("pw{code}")),
        code::AUTH_ERR
    );
}

#[test]
fn counter_based_files_with_eight_digits_log_in() {
    let e = enrol(&["-c", "-g", "8", "-u", "-w", "3"], "");
    assert!(String::from_utf8_lossy(&e.file).contains("\" DIGITS 8\n\" HOTP_COUNTER 1\n"));
    let code = cli::oathtool(&e.secret, &["-c", "2", "-d", "8"]);
    assert_eq!(code.len(), 8);
    assert_eq!(login(&our_module(), &e, &code), code::SUCCESS);
}

#[test]
fn the_confirmation_takes_the_code_of_the_chosen_algorithm_and_digits() {
    use std::io::{BufRead, BufReader, Write};
    let home = tempfile::tempdir().unwrap();
    let path = home.path().join("secret");
    let mut child = cli::spawn(
        home.path(),
        &[
            "-t",
            "-a",
            "SHA512",
            "-g",
            "7",
            "-D",
            "-W",
            "-u",
            "-f",
            "-Q",
            "NONE",
            "-s",
            path.to_str().expect("a UTF-8 temp path"),
        ],
    );
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut secret = None;
    let mut line = String::new();
    while secret.is_none() && stdout.read_line(&mut line).unwrap() > 0 {
        if let Some(s) = line.strip_prefix("Your new secret key is: ") {
            secret = Some(s.trim().to_string());
        } else if let Some(url) = line.strip_prefix("Your otpauth URL is: ") {
            assert!(url.trim().ends_with("&digits=7&algorithm=SHA512"), "{url}");
        }
        line.clear();
    }
    let secret = secret.expect("secret printed");
    // The six-digit SHA-1 code is wrong; the 7-digit SHA-512 code of now is right.
    let sha1 = cli::oathtool(&secret, &["--totp"]);
    let right = cli::oathtool(&secret, &["--totp=sha512", "-d", "7"]);
    let mut stdin = child.stdin.take().unwrap();
    writeln!(stdin, "{sha1}\n{right}").unwrap();
    drop(stdin);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stdout, &mut rest).unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "{rest}");
    assert!(
        rest.contains("Code incorrect. Try again.") && rest.contains("Code confirmed"),
        "{rest}"
    );
    assert!(
        String::from_utf8_lossy(&std::fs::read(&path).unwrap())
            .contains("\" ALGORITHM SHA512\n\" DIGITS 7\n")
    );
}
