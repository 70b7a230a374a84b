//! Bad secret files, bad module arguments, bad answers and failing conversations, through the
//! real libpam and the built module. Each case must end within a second (the whole driver
//! process, start-up included), give the documented PAM result, log one clear line naming
//! the problem, and leave the secret file exactly as it was (bytes, inode, mode, mtime).

use pam_google_authenticator::core::catalogue;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::otp::{T, TEST_SECRET, frozen_code};
use crate::support::{
    ConvMode, FileState, Outcome, PamRun, code, current_user, file_state, secret_arg, stack,
    write_secret,
};

const LIMIT: Duration = Duration::from_secs(1);

fn valid_file() -> Vec<u8> {
    format!("{TEST_SECRET}\n\" TOTP_AUTH\n").into_bytes()
}

/// Runs once with the code of `T` as the answer and checks the time limit.
fn timed(run: PamRun, extra: &[&OsStr]) -> Outcome {
    let (o, took) = run.run_with(extra, None);
    o.check(
        took < LIMIT,
        &format!("ended within a second (took {took:?})"),
    );
    o.check(o.ended, "the driver finished the PAM sequence");
    o
}

/// One run of the module with `args` on a file that must not change; returns the outcome.
fn run_on(path: &Path, args: &[&str]) -> Outcome {
    let before = file_state(path);
    let o = timed(PamRun::new(stack(args)).clock(T).answer(frozen_code()), &[]);
    check_unchanged(&o, path, &before);
    o
}

fn check_unchanged(o: &Outcome, path: &Path, before: &FileState) {
    o.check(
        file_state(path) == *before,
        &format!("{} unchanged (bytes, inode, mode, mtime)", path.display()),
    );
    if let Some(dir) = path.parent() {
        o.check(
            crate::support::temp_leftovers(dir).is_empty(),
            "no temp file left",
        );
    }
}

/// The prompt-then-fail pattern with exactly one `reason` line.
fn check_prompt_then_fail(o: &Outcome, reason: &str) {
    o.assert_result(code::AUTH_ERR);
    o.check(o.prompts.len() == 1, "one prompt");
    o.check(o.errors.is_empty(), "no message to the user");
    o.check(o.log_count(reason) == 1, &format!("one line {reason:?}"));
}

/// The fail-before-prompt pattern with exactly one `reason` line.
fn check_fail_without_prompt(o: &Outcome, reason: &str) {
    o.assert_result(code::AUTH_ERR);
    o.check(o.prompts.is_empty() && o.conv_calls == 0, "no prompt");
    o.check(o.log_count(reason) == 1, &format!("one line {reason:?}"));
}

fn user() -> String {
    current_user().0
}

#[test]
fn missing_file_with_nullok_is_ignored_at_once_without_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent");
    let o = timed(
        PamRun::new(stack(&[&secret_arg(&missing), "nullok"])).clock(T),
        &[],
    );
    o.check(o.module_result() == code::IGNORE, "PAM_IGNORE");
    o.check(o.prompts.is_empty() && o.module_log().is_empty(), "silent");
    o.check(!missing.exists(), "no file created");
}

#[test]
fn missing_file_without_nullok_prompts_then_fails() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent");
    let o = timed(
        PamRun::new(stack(&[&secret_arg(&missing)]))
            .clock(T)
            .answer(frozen_code()),
        &[],
    );
    check_prompt_then_fail(
        &o,
        &format!(
            "Failed to read \"{}\" for \"{}\": No such file or directory",
            missing.display(),
            user()
        ),
    );
    o.check(!missing.exists(), "no file created");
}

#[test]
fn empty_file_is_refused_with_invalid_file_size() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_secret(dir.path(), "ga", b"", 0o600);
    let o = run_on(&f, &[&secret_arg(&f), "nullok"]);
    check_prompt_then_fail(&o, &format!("Invalid file size for \"{}\"", f.display()));
}

/// A valid TOTP file padded with an unknown option line to exactly `size` bytes.
fn padded_file(size: usize) -> Vec<u8> {
    let mut b = valid_file();
    b.extend_from_slice(b"\" PADDING ");
    let fill = size - b.len() - 1;
    b.extend(std::iter::repeat_n(b'x', fill));
    b.push(b'\n');
    assert_eq!(b.len(), size);
    b
}

#[test]
fn file_of_64_kib_plus_one_byte_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_secret(dir.path(), "ga", &padded_file(65_537), 0o600);
    let o = run_on(&f, &[&secret_arg(&f)]);
    check_prompt_then_fail(&o, &format!("Invalid file size for \"{}\"", f.display()));
}

#[test]
fn file_of_exactly_64_kib_is_accepted() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_secret(dir.path(), "ga", &padded_file(65_536), 0o600);
    let o = run_on(&f, &[&secret_arg(&f)]);
    o.assert_result(code::SUCCESS);
    o.check(o.prompts.len() == 1, "one prompt");
}

#[test]
fn nul_byte_in_the_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = valid_file();
    bytes.extend_from_slice(b"\" X\0\n");
    let f = write_secret(dir.path(), "ga", &bytes, 0o600);
    let o = run_on(&f, &[&secret_arg(&f)]);
    check_prompt_then_fail(&o, &format!("Invalid file contents in \"{}\"", f.display()));
}

#[test]
fn bad_base32_secret_prompts_then_fails() {
    let dir = tempfile::tempdir().unwrap();
    for line1 in ["2SH3V3GDW7ZNMGYE=", "NOT*BASE32", "A"] {
        let f = write_secret(
            dir.path(),
            "ga",
            format!("{line1}\n\" TOTP_AUTH\n").as_bytes(),
            0o600,
        );
        let o = run_on(&f, &[&secret_arg(&f)]);
        check_prompt_then_fail(
            &o,
            &catalogue::no_valid_secret(&f.display().to_string()).text,
        );
    }
}

#[test]
fn garbage_rate_limit_line_fails_without_prompt() {
    let dir = tempfile::tempdir().unwrap();
    for line in [
        "\" RATE_LIMIT garbage",
        "\" RATE_LIMIT 3 30 ",
        "\" RATE_LIMIT 0 30",
    ] {
        let mut bytes = valid_file();
        bytes.extend_from_slice(format!("{line}\n").as_bytes());
        let f = write_secret(dir.path(), "ga", &bytes, 0o600);
        let o = run_on(&f, &[&secret_arg(&f)]);
        let path = f.display().to_string();
        let reason = if line.ends_with(' ') {
            catalogue::rate_limit_list_invalid(&path).text
        } else {
            catalogue::rate_limit_invalid(&path).text
        };
        check_fail_without_prompt(&o, &reason);
        o.check(
            !o.module_log()
                .iter()
                .any(|l| l.starts_with("Invalid verification code")),
            "no Invalid verification code line",
        );
    }
}

#[test]
fn garbage_step_size_and_window_size_fail_after_the_prompt() {
    let dir = tempfile::tempdir().unwrap();
    for (line, what) in [
        ("\" STEP_SIZE x", "STEP_SIZE"),
        ("\" STEP_SIZE 61", "STEP_SIZE"),
        ("\" WINDOW_SIZE x", "WINDOW_SIZE"),
    ] {
        let mut bytes = valid_file();
        bytes.extend_from_slice(format!("{line}\n").as_bytes());
        let f = write_secret(dir.path(), "ga", &bytes, 0o600);
        let o = run_on(&f, &[&secret_arg(&f)]);
        check_prompt_then_fail(&o, &format!("Invalid {what} option in \"{}\"", f.display()));
    }
}

#[test]
fn symlink_to_a_valid_secret_is_refused_and_stays_a_symlink() {
    let dir = tempfile::tempdir().unwrap();
    let target = write_secret(dir.path(), "real", &valid_file(), 0o600);
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let target_before = file_state(&target);
    let o = run_on(&link, &[&secret_arg(&link)]);
    check_prompt_then_fail(
        &o,
        &format!("Secret file \"{}\" is not a regular file", link.display()),
    );
    o.check(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink(),
        "still a symlink",
    );
    o.check(file_state(&target) == target_before, "target unchanged");
}

#[test]
fn fifo_is_refused_at_once_instead_of_hanging() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
    // SAFETY: `c` is a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    let o = run_on(&fifo, &[&secret_arg(&fifo)]);
    check_prompt_then_fail(
        &o,
        &format!("Secret file \"{}\" is not a regular file", fifo.display()),
    );
}

#[test]
fn directory_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("sub");
    std::fs::create_dir(&sub).unwrap();
    std::fs::set_permissions(&sub, std::os::unix::fs::PermissionsExt::from_mode(0o700)).unwrap();
    let o = run_on(&sub, &[&secret_arg(&sub)]);
    check_prompt_then_fail(
        &o,
        &format!("Secret file \"{}\" is not a regular file", sub.display()),
    );
}

#[test]
fn character_device_dev_null_is_refused() {
    let null = PathBuf::from("/dev/null");
    let o = run_on(&null, &["secret=/dev/null", "no_strict_owner"]);
    check_prompt_then_fail(&o, "Secret file \"/dev/null\" is not a regular file");
}

#[test]
fn group_or_world_readable_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    for mode in [0o640, 0o604, 0o2600] {
        let f = write_secret(dir.path(), "ga", &valid_file(), mode);
        let o = run_on(&f, &[&secret_arg(&f)]);
        check_prompt_then_fail(
            &o,
            &catalogue::permissions(&f.display().to_string(), mode, 0o600).text,
        );
    }
}

#[test]
fn unknown_module_argument_fails_without_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_secret(dir.path(), "ga", &valid_file(), 0o600);
    for bad in ["bogus", "Debug", "nullok=1", "secret"] {
        let o = run_on(&f, &[&secret_arg(&f), bad]);
        check_fail_without_prompt(&o, &format!("Unrecognized option \"{bad}\""));
        o.check(o.module_log().len() == 1, "only that line");
    }
}

#[test]
fn bad_allowed_perm_and_grace_period_values_fail_without_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_secret(dir.path(), "ga", &valid_file(), 0o600);
    for bad in [
        "allowed_perm=0648",
        "allowed_perm=0",
        "allowed_perm=",
        "allowed_perm=x",
    ] {
        let o = run_on(&f, &[&secret_arg(&f), bad]);
        check_fail_without_prompt(
            &o,
            &format!(
                "Invalid permissions in setting \"{bad}\". allowed_perm setting must be a positive octal integer."
            ),
        );
    }
    for bad in ["grace_period=-1", "grace_period=10s", "grace_period=x"] {
        let o = run_on(&f, &[&secret_arg(&f), bad]);
        check_fail_without_prompt(
            &o,
            &format!(
                "Invalid value in setting \"{bad}\".grace_period must be a positive number of seconds."
            ),
        );
    }
}

#[test]
fn one_mebibyte_answer_fails_without_crash() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_secret(dir.path(), "ga", &valid_file(), 0o600);
    let answer = dir.path().join("answer");
    // Ends in the right code: only the length makes it wrong.
    let mut big = vec![b'7'; 1 << 20];
    let n = big.len();
    big[n - 6..].copy_from_slice(frozen_code().as_bytes());
    std::fs::write(&answer, &big).unwrap();
    let before = file_state(&f);
    let o = timed(
        PamRun::new(stack(&[&secret_arg(&f)])).clock(T),
        &[OsStr::new("--answer-file"), answer.as_os_str()],
    );
    check_unchanged(&o, &f, &before);
    o.assert_result(code::AUTH_ERR);
    o.check(o.exit_code == Some(0), "the driver exited normally");
    o.check(o.prompts.len() == 1, "one prompt");
    o.check(
        o.log_count(&catalogue::invalid_code(&user()).text) == 1,
        "the Invalid line",
    );
}

#[test]
fn non_digit_answers_fail_after_one_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_secret(dir.path(), "ga", &valid_file(), 0o600);
    let code = frozen_code();
    let answers = [
        "abcdef".to_string(),
        format!("{}a", &code[..5]),
        format!(" {code}"),
        format!("{code}\n"),
        format!("{} {}", &code[..3], &code[3..]),
        format!("+{}", &code[1..]),
        "\u{e9}\u{e9}\u{e9}".to_string(),
    ];
    for a in answers {
        let before = file_state(&f);
        let o = timed(
            PamRun::new(stack(&[&secret_arg(&f)])).clock(T).answer(&a),
            &[],
        );
        check_unchanged(&o, &f, &before);
        check_prompt_then_fail(&o, &catalogue::invalid_code(&user()).text);
    }
    // The empty answer: logged as missing, but no second prompt.
    let o = timed(
        PamRun::new(stack(&[&secret_arg(&f)])).clock(T).answer(""),
        &[],
    );
    check_prompt_then_fail(&o, &catalogue::no_code_received().text);
}

#[test]
fn failing_or_empty_conversation_prompts_twice_then_fails() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_secret(dir.path(), "ga", &valid_file(), 0o600);
    for conv in [ConvMode::ConvError, ConvMode::Null, ConvMode::NullArray] {
        let before = file_state(&f);
        let o = timed(
            PamRun::new(stack(&[&secret_arg(&f)]))
                .clock(T)
                .conv(conv)
                .answer(frozen_code()),
            &[],
        );
        check_unchanged(&o, &f, &before);
        o.assert_result(code::AUTH_ERR);
        o.check(
            o.prompts.len() == 2 && o.conv_calls == 2,
            &format!("{conv:?}: two prompts"),
        );
        o.check(
            o.log_count(&catalogue::no_code_received().text) == 2,
            "logged twice",
        );
    }
}

// ---------------------------------------------------------------------------------------
// Hostile changes while the user types: the file (or its directory) is replaced after the
// prompt went out and before the answer comes back.
// ---------------------------------------------------------------------------------------

/// A valid secret with a scratch code whose use would need a write.
fn scratch_file() -> Vec<u8> {
    format!("{TEST_SECRET}\n\" TOTP_AUTH\n12345678\n").into_bytes()
}

/// Runs a scratch-code login on `dir/ga`, calling `swap` while the module waits for the
/// answer; the login must fail within a second of the answer with one line naming the
/// problem (`reason` is a part of it). Returns the outcome.
fn swapped_during_prompt(dir: &Path, reason: &str, swap: impl FnOnce()) -> Outcome {
    let path = dir.join("ga");
    let s = secret_arg(&path);
    let (o, took) = PamRun::new(stack(&[&s]))
        .clock(T)
        .answer("12345678")
        .run_pausing_at_prompt(swap);
    o.check(
        took < LIMIT,
        &format!("ended within a second (took {took:?})"),
    );
    o.assert_result(code::AUTH_ERR);
    o.check(
        o.module_log().iter().any(|l| l.contains(reason)),
        &format!("a line saying {reason:?}"),
    );
    o
}

#[test]
fn a_secret_swapped_for_a_symlink_during_the_prompt_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_secret(dir.path(), "ga", &scratch_file(), 0o600);
    let target = write_secret(dir.path(), "elsewhere", &scratch_file(), 0o600);
    let before = file_state(&target);
    let o = swapped_during_prompt(dir.path(), "is not a regular file", || {
        std::fs::remove_file(&path).unwrap();
        std::os::unix::fs::symlink(&target, &path).unwrap();
    });
    check_unchanged(&o, &target, &before);
    o.check(
        std::fs::symlink_metadata(&path).unwrap().is_symlink(),
        "the symlink stays",
    );
}

#[test]
fn a_secret_swapped_for_a_hard_link_during_the_prompt_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_secret(dir.path(), "ga", &scratch_file(), 0o600);
    let other = write_secret(dir.path(), "other", &scratch_file(), 0o600);
    let o = swapped_during_prompt(dir.path(), "has more than one link", || {
        std::fs::remove_file(&path).unwrap();
        std::fs::hard_link(&other, &path).unwrap();
    });
    let after = file_state(&other);
    o.check(
        after.bytes.as_deref() == Some(scratch_file().as_slice()),
        "the other file keeps its scratch code",
    );
    o.check(
        crate::support::temp_leftovers(dir.path()).is_empty(),
        "no temp file left",
    );
}

#[test]
fn a_secret_swapped_for_a_fifo_or_socket_during_the_prompt_is_refused_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_secret(dir.path(), "ga", &scratch_file(), 0o600);
    let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
    swapped_during_prompt(dir.path(), "is not a regular file", || {
        std::fs::remove_file(&path).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    });
    std::fs::remove_file(&path).unwrap();
    write_secret(dir.path(), "ga", &scratch_file(), 0o600);
    let mut listener = None;
    swapped_during_prompt(dir.path(), "Failed to read", || {
        std::fs::remove_file(&path).unwrap();
        listener = Some(std::os::unix::net::UnixListener::bind(&path).unwrap());
    });
}

#[test]
fn a_secret_grown_past_64_kib_during_the_prompt_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = write_secret(dir.path(), "ga", &scratch_file(), 0o600);
    let o = swapped_during_prompt(dir.path(), "Invalid file size", || {
        crate::support::append_to(&path, &vec![b'\n'; 64 * 1024]);
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o600))
            .unwrap();
    });
    o.check(
        crate::support::temp_leftovers(dir.path()).is_empty(),
        "no temp file left",
    );
}

#[test]
fn a_directory_swapped_for_a_symlink_during_the_prompt_is_refused() {
    let base = tempfile::tempdir().unwrap();
    let dir = base.path().join("secrets");
    std::fs::create_dir(&dir).unwrap();
    write_secret(&dir, "ga", &scratch_file(), 0o600);
    // Another directory with a file the attacker chose (the same scratch code).
    let decoy = base.path().join("decoy");
    std::fs::create_dir(&decoy).unwrap();
    let planted = write_secret(&decoy, "ga", &scratch_file(), 0o600);
    let before = file_state(&planted);
    let o = swapped_during_prompt(&dir, "changed while", || {
        std::fs::rename(&dir, base.path().join("old")).unwrap();
        std::os::unix::fs::symlink(&decoy, &dir).unwrap();
    });
    check_unchanged(&o, &planted, &before);
    let old = base.path().join("old/ga");
    o.check(
        std::fs::read(&old).unwrap() == scratch_file(),
        "the original file is untouched",
    );
}

// ---------------------------------------------------------------------------------------
// Large and extreme files: each ends within a second, with no crash and no temp file left.
// ---------------------------------------------------------------------------------------

#[test]
fn a_64_kib_file_of_scratch_codes_uses_its_last_code_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = format!("{TEST_SECRET}\n\" TOTP_AUTH\n").into_bytes();
    let mut code = 10_000_000u32;
    while bytes.len() + 9 <= 64 * 1024 {
        bytes.extend_from_slice(format!("{code}\n").as_bytes());
        code += 1;
    }
    let last = (code - 1).to_string();
    let path = write_secret(dir.path(), "ga", &bytes, 0o600);
    let s = secret_arg(&path);
    let o = timed(PamRun::new(stack(&[&s])).clock(T).answer(&last), &[]);
    o.assert_result(code::SUCCESS);
    let after = std::fs::read(&path).unwrap();
    o.check(
        after.len() == bytes.len() - 9 && !String::from_utf8_lossy(&after).contains(&last),
        "the last code is used up",
    );
    o.check(
        crate::support::temp_leftovers(dir.path()).is_empty(),
        "no temp file left",
    );
}

#[test]
fn ten_thousand_disallow_reuse_entries_are_pruned_within_a_second() {
    let dir = tempfile::tempdir().unwrap();
    let list: Vec<String> = (0..10_000).map(|n| n.to_string()).collect();
    let bytes = format!(
        "{TEST_SECRET}\n\" TOTP_AUTH\n\" DISALLOW_REUSE {}\n",
        list.join(" ")
    );
    assert!(bytes.len() <= 64 * 1024);
    let path = write_secret(dir.path(), "ga", bytes.as_bytes(), 0o600);
    let s = secret_arg(&path);
    let o = timed(
        PamRun::new(stack(&[&s])).clock(T).answer(frozen_code()),
        &[],
    );
    o.assert_result(code::SUCCESS);
    let after = String::from_utf8(std::fs::read(&path).unwrap()).unwrap();
    o.check(
        after.len() < 100 && after.trim_end().ends_with(" 9999 10000"),
        &format!("only the entries within the window are kept, then the new one: {after:?}"),
    );
}

#[test]
fn extreme_numbers_in_every_option_end_within_a_second_without_a_crash() {
    let values = [
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "-1",
        "-9223372036854775808",
        "-9223372036854775809",
    ];
    let mut cases = 0;
    for v in values {
        let lines = [
            format!("\" STEP_SIZE {v}\n\" TOTP_AUTH\n"),
            format!("\" WINDOW_SIZE {v}\n\" TOTP_AUTH\n"),
            format!("\" RATE_LIMIT {v} 30\n\" TOTP_AUTH\n"),
            format!("\" RATE_LIMIT 3 {v}\n\" TOTP_AUTH\n"),
            format!("\" RATE_LIMIT 3 30 {v}\n\" TOTP_AUTH\n"),
            format!("\" HOTP_COUNTER {v}\n"),
            format!("\" TIME_SKEW {v}\n\" TOTP_AUTH\n"),
            format!("\" RESETTING_TIME_SKEW {v}+{v} {v}-{v}\n\" TOTP_AUTH\n"),
            format!("\" DISALLOW_REUSE {v} {v}\n\" TOTP_AUTH\n"),
            format!("\" LAST0 10.0.0.1 {v}\n\" TOTP_AUTH\n"),
        ];
        for extra in lines {
            let dir = tempfile::tempdir().unwrap();
            let bytes = format!("{TEST_SECRET}\n{extra}12345678\n");
            let path = write_secret(dir.path(), "ga", bytes.as_bytes(), 0o600);
            let s = secret_arg(&path);
            for answer in [frozen_code(), "000000".to_string(), "12345678".to_string()] {
                let o = timed(
                    PamRun::new(stack(&[&s, "grace_period=60"]))
                        .rhost("10.0.0.1")
                        .clock(T)
                        .answer(&answer),
                    &[],
                );
                o.check(
                    o.exit_code == Some(0),
                    &format!("{extra:?}: the driver did not crash"),
                );
                o.check(
                    [code::SUCCESS, code::AUTH_ERR].contains(&o.module_result()),
                    &format!("{extra:?}: success or a plain failure"),
                );
                o.check(
                    crate::support::temp_leftovers(dir.path()).is_empty(),
                    &format!("{extra:?}: no temp file left"),
                );
                cases += 1;
            }
        }
    }
    assert_eq!(cases, 180);
}
