//! Every module argument, through the real libpam and the built module: each test pins the
//! observable effect of one argument (PAM result, prompts, PAM_AUTHTOK, file bytes, log
//! lines) as the behaviour specification (§1.2 to §1.12, §4) describes it.

use pam_google_authenticator::core::catalogue;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::support::otp::{T, TEST_SECRET, frozen_code};
use crate::support::{
    EchoStyle, PamRun, Stack, code, current_user, file_state, our_module, secret_arg,
    set_authtok_module, stack, temp_leftovers, write_secret,
};

/// A plain TOTP secret file plus `extra` lines, mode 0600.
fn totp_file(dir: &Path, name: &str, extra: &str) -> PathBuf {
    write_secret(
        dir,
        name,
        format!("{TEST_SECRET}\n\" TOTP_AUTH\n{extra}").as_bytes(),
        0o600,
    )
}

/// A previous module that stores `authtok` as PAM_AUTHTOK, then the module under test.
fn stack_after_password(authtok: &str, args: &[&str]) -> Stack {
    let preset = format!("preset={authtok}");
    Stack::new()
        .auth("required", set_authtok_module(), &[&preset])
        .probe(our_module(), args)
}

fn prompt_texts(o: &crate::support::Outcome) -> Vec<String> {
    o.prompts.iter().map(|(_, t)| t.clone()).collect()
}

/// The passwd home directory of `user`.
fn home_of(user: &str) -> String {
    let out = std::process::Command::new("getent")
        .args(["passwd", user])
        .output()
        .expect("run getent");
    let line = String::from_utf8_lossy(&out.stdout).into_owned();
    line.trim_end()
        .split(':')
        .nth(5)
        .unwrap_or_else(|| panic!("no home for {user} in {line:?}"))
        .to_string()
}

#[test]
fn secret_with_user_variable_opens_the_file_named_after_the_pam_user() {
    let dir = tempfile::tempdir().unwrap();
    let (user, _) = current_user();
    totp_file(dir.path(), &user, "");
    let arg = format!("secret={}/${{USER}}", dir.path().display());
    let o = PamRun::new(stack(&[&arg]))
        .clock(T)
        .answer(frozen_code())
        .run();
    o.assert_result(code::SUCCESS);
    o.check(
        o.module_log() == [catalogue::accepted(&user).text],
        "only the Accepted line",
    );
}

#[test]
fn secret_with_tilde_and_home_variable_expands_to_the_passwd_home() {
    let (user, _) = current_user();
    let home = home_of(&user);
    let name = format!(".ga-missing-{}", std::process::id());
    let cases = [
        (format!("secret=~/{name}"), format!("{home}/{name}")),
        (format!("secret=${{HOME}}/{name}"), format!("{home}/{name}")),
        // `~` is not `~user`: it is the home directory followed by the rest.
        (format!("secret=~{name}"), format!("{home}{name}")),
        // After a `/`, `~` expands too; `$HOME` without braces stays literal.
        (
            format!("secret=/nonexistent/~/{name}"),
            format!("/nonexistent/{home}/{name}"),
        ),
        (
            format!("secret=/nonexistent/$HOME/{name}"),
            format!("/nonexistent/$HOME/{name}"),
        ),
    ];
    for (arg, path) in cases {
        let o = PamRun::new(stack(&[&arg])).clock(T).answer("123456").run();
        o.assert_result(code::AUTH_ERR);
        o.check(o.prompts.len() == 1, "one prompt");
        o.check(
            o.log_count(&format!(
                "Failed to read \"{path}\" for \"{user}\": No such file or directory"
            )) == 1,
            &format!("{arg} expands to {path}"),
        );
    }
}

#[test]
fn relative_secret_path_is_opened_from_the_working_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("rel")).unwrap();
    totp_file(&dir.path().join("rel"), "ga", "");
    let run = PamRun::new(stack(&["secret=rel/ga"]))
        .clock(T)
        .answer(frozen_code());
    let (o, _) = run.run_with(&[], Some(dir.path()));
    o.assert_result(code::SUCCESS);
    let (o, _) = run.run_with(&[], None);
    o.assert_result(code::AUTH_ERR);
    o.check(
        o.module_log()
            .iter()
            .any(|l| l.starts_with("Failed to read \"rel/ga\" for ")),
        "the relative path is used as given",
    );
}

#[test]
fn empty_secret_with_nullok_is_ignored_and_without_nullok_prompts_then_fails() {
    let o = PamRun::new(stack(&["secret=", "nullok"])).clock(T).run();
    o.check(o.module_result() == code::IGNORE, "PAM_IGNORE");
    o.check(o.prompts.is_empty(), "no prompt");
    o.check(o.module_log().is_empty(), "nothing logged");

    let (user, _) = current_user();
    let o = PamRun::new(stack(&["secret="]))
        .clock(T)
        .answer("050548")
        .run();
    o.assert_result(code::AUTH_ERR);
    o.check(o.prompts.len() == 1, "one prompt");
    o.check(
        o.log_count(&format!(
            "Failed to read \"\" for \"{user}\": No such file or directory"
        )) == 1,
        "open(\"\") fails with ENOENT",
    );
}

#[test]
fn authtok_prompt_with_spaces_is_the_exact_prompt_text() {
    let dir = tempfile::tempdir().unwrap();
    let f = totp_file(dir.path(), "ga", "");
    let s = secret_arg(&f);
    let o = PamRun::new(stack(&[&s, "authtok_prompt=Your secret token: "]))
        .clock(T)
        .answer(frozen_code())
        .run();
    o.assert_result(code::SUCCESS);
    o.check(
        o.service_text
            .contains("[authtok_prompt=Your secret token: ]"),
        "bracket syntax in the service file",
    );
    o.check(
        o.prompts == [(EchoStyle::EchoOff, "Your secret token: ".to_string())],
        "the prompt is the argument, trailing space kept, echo off",
    );
    // Without it, the default prompt.
    let o = PamRun::new(stack(&[&s]))
        .clock(T)
        .answer(frozen_code())
        .run();
    o.check(
        prompt_texts(&o) == ["Verification code: "],
        "default prompt",
    );
}

#[test]
fn user_by_name_or_uid_uses_that_account_and_never_looks_up_the_pam_user() {
    let dir = tempfile::tempdir().unwrap();
    let f = totp_file(dir.path(), "ga", "");
    let s = secret_arg(&f);
    let (name, uid) = current_user();
    let ghost = format!("ga-no-such-user-{}", std::process::id());
    for fixed in [format!("user={name}"), format!("user={uid}")] {
        let o = PamRun::new(stack(&[&s, &fixed]))
            .user(&ghost)
            .clock(T)
            .answer(frozen_code())
            .run();
        o.assert_result(code::SUCCESS);
        o.check(
            o.module_log() == [catalogue::accepted(&ghost).text],
            "the PAM user need not exist",
        );
    }
}

/// Regression: `${USER}` was substituted raw, so the PAM user `../victim` made the module read,
/// accept and rewrite a file outside the secret directory.
#[test]
fn a_user_name_cannot_climb_out_of_the_secret_directory() {
    let dir = tempfile::tempdir().unwrap();
    let secrets = dir.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    // A valid secret file one level up, which the traversal would reach.
    let victim = write_secret(
        dir.path(),
        "victim",
        format!("{TEST_SECRET}\n\" TOTP_AUTH\n12345678\n").as_bytes(),
        0o600,
    );
    let before = file_state(&victim);
    let template = format!("secret={}/${{USER}}", secrets.display());
    let (name, _) = current_user();
    let fixed = format!("user={name}");
    for user in ["../victim", "..", ".", "a/../../victim"] {
        let o = PamRun::new(stack(&[&template, &fixed]))
            .user(user)
            .clock(T)
            .answer("12345678")
            .run();
        o.assert_result(code::AUTH_ERR);
        o.check(
            o.log_count(&format!(
                "User name \"{user}\" cannot be part of the secret file path"
            )) == 1,
            "the refusal is logged",
        );
        o.check(
            file_state(&victim) == before,
            "the file outside is untouched",
        );
    }
    // An ordinary name still works.
    let own = write_secret(
        &secrets,
        &name,
        format!("{TEST_SECRET}\n\" TOTP_AUTH\n").as_bytes(),
        0o600,
    );
    let o = PamRun::new(stack(&[&template, &fixed]))
        .user(&name)
        .clock(T)
        .answer(frozen_code())
        .run();
    o.assert_result(code::SUCCESS);
    assert!(own.exists());
}

#[test]
fn user_with_home_in_secret_prompts_then_fails_with_the_not_implemented_line() {
    let (name, _) = current_user();
    let fixed = format!("user={name}");
    for secret in ["secret=~/.google_authenticator", "secret=${HOME}/.ga"] {
        let o = PamRun::new(stack(&[secret, &fixed]))
            .clock(T)
            .answer(frozen_code())
            .run();
        o.assert_result(code::AUTH_ERR);
        o.check(o.prompts.len() == 1, "one prompt");
        o.check(
            o.log_count("Home dir in 'secret' not implemented when 'user' set") == 1,
            "the not-implemented line",
        );
    }
}

#[test]
fn allowed_perm_lets_a_group_readable_file_through() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_secret(
        dir.path(),
        "ga",
        format!("{TEST_SECRET}\n\" TOTP_AUTH\n").as_bytes(),
        0o640,
    );
    let s = secret_arg(&f);
    let o = PamRun::new(stack(&[&s]))
        .clock(T)
        .answer(frozen_code())
        .run();
    o.assert_result(code::AUTH_ERR);
    o.check(
        o.log_count(&catalogue::permissions(&f.display().to_string(), 0o640, 0o600).text) == 1,
        "refused by default",
    );
    for perm in ["allowed_perm=0640", "allowed_perm=640"] {
        let o = PamRun::new(stack(&[&s, perm]))
            .clock(T)
            .answer(frozen_code())
            .run();
        o.assert_result(code::SUCCESS);
    }
    // A narrower mask refuses even the default 0600.
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    let o = PamRun::new(stack(&[&s, "allowed_perm=0400"]))
        .clock(T)
        .answer(frozen_code())
        .run();
    o.assert_result(code::AUTH_ERR);
    o.check(
        o.log_count(&catalogue::permissions(&f.display().to_string(), 0o600, 0o400).text) == 1,
        "allowed_perm=0400 refuses 0600",
    );
}

#[test]
fn debug_logs_the_documented_lines_in_order_and_never_the_code_or_secret() {
    let dir = tempfile::tempdir().unwrap();
    let f = totp_file(dir.path(), "ga", "");
    let p = f.display().to_string();
    let s = secret_arg(&f);
    let (user, _) = current_user();
    let code = frozen_code();
    let o = PamRun::new(stack(&[&s, "debug"]))
        .clock(T)
        .answer(&code)
        .run();
    o.assert_result(code::SUCCESS);
    let expected = [
        format!("debug: start of google_authenticator for \"{user}\""),
        "debug: Secret file permissions are 0600. Allowed permissions are 0600".to_string(),
        format!("debug: \"{p}\" read"),
        format!("debug: shared secret in \"{p}\" processed"),
        "debug: google_authenticator for host \"(null)\"".to_string(),
        format!("debug: no scratch code used from \"{p}\""),
        catalogue::accepted(&user).text,
        format!("debug: end of google_authenticator for \"{user}\". Result: Success"),
    ];
    o.check(
        o.module_log() == expected,
        "debug lines in the documented order",
    );
    for line in &o.syslog {
        o.check(
            !line.contains(code.as_str()) && !line.contains(TEST_SECRET),
            "no log line holds the code or the secret",
        );
    }

    // A scratch code: the removal line names the file, not the code.
    let scratch = "12345678";
    let f = totp_file(dir.path(), "ga2", &format!("{scratch}\n"));
    let p = f.display().to_string();
    let s = secret_arg(&f);
    let o = PamRun::new(stack(&[&s, "debug"]))
        .clock(T)
        .answer(scratch)
        .run();
    o.assert_result(code::SUCCESS);
    let log = o.module_log();
    o.check(
        log.contains(&format!(
            "debug: scratch code used and removed from \"{p}\""
        )) && log.contains(&format!("debug: \"{p}\" written")),
        "scratch-code and written lines",
    );
    for line in &o.syslog {
        o.check(
            !line.contains(scratch),
            "no log line holds the scratch code",
        );
    }

    // Without debug, no debug line.
    let f = totp_file(dir.path(), "ga3", "");
    let o = PamRun::new(stack(&[&secret_arg(&f)]))
        .clock(T)
        .answer(frozen_code())
        .run();
    o.check(
        o.module_log() == [catalogue::accepted(&user).text],
        "only the Accepted line without debug",
    );
}

#[test]
fn try_first_pass_uses_the_stored_password_and_prompts_only_when_it_holds_no_code() {
    let dir = tempfile::tempdir().unwrap();
    let f = totp_file(dir.path(), "ga", "");
    let s = secret_arg(&f);
    let code = frozen_code();
    for authtok in [code.clone(), format!("xyz{code}")] {
        let o = PamRun::new(stack_after_password(&authtok, &[&s, "try_first_pass"]))
            .clock(T)
            .run();
        o.assert_result(code::SUCCESS);
        o.check(
            o.prompts.is_empty(),
            "no prompt when PAM_AUTHTOK ends in the code",
        );
    }
    let o = PamRun::new(stack_after_password("password", &[&s, "try_first_pass"]))
        .clock(T)
        .answer(&code)
        .run();
    o.assert_result(code::SUCCESS);
    o.check(
        prompt_texts(&o) == ["Verification code: "],
        "one prompt when PAM_AUTHTOK holds no code",
    );
}

#[test]
fn use_first_pass_never_prompts() {
    let dir = tempfile::tempdir().unwrap();
    let f = totp_file(dir.path(), "ga", "");
    let s = secret_arg(&f);
    let code = frozen_code();
    let o = PamRun::new(stack_after_password(
        &format!("pw{code}"),
        &[&s, "use_first_pass"],
    ))
    .clock(T)
    .run();
    o.assert_result(code::SUCCESS);
    o.check(o.prompts.is_empty(), "no prompt");
    o.check(
        o.authtok.as_deref() == Some(format!("pw{code}").as_str()),
        "PAM_AUTHTOK untouched without forward_pass",
    );
    // No PAM_AUTHTOK at all: failure, still no prompt.
    let o = PamRun::new(stack(&[&s, "use_first_pass"]))
        .clock(T)
        .answer(&code)
        .run();
    o.assert_result(code::AUTH_ERR);
    o.check(o.prompts.is_empty(), "no prompt without PAM_AUTHTOK");
}

#[test]
fn forward_pass_prompts_for_both_and_forwards_the_password_part() {
    let dir = tempfile::tempdir().unwrap();
    let f = totp_file(dir.path(), "ga", "");
    let s = secret_arg(&f);
    let code = frozen_code();
    let o = PamRun::new(stack(&[&s, "forward_pass"]))
        .clock(T)
        .answer(format!("hunter2{code}"))
        .run();
    o.assert_result(code::SUCCESS);
    o.check(
        o.prompts
            == [(
                EchoStyle::EchoOff,
                "Password & verification code: ".to_string(),
            )],
        "forward_pass prompt",
    );
    o.check(
        o.authtok.as_deref() == Some("hunter2"),
        "PAM_AUTHTOK = password part",
    );

    // Only the code: the forwarded password is empty.
    let o = PamRun::new(stack(&[&s, "forward_pass"]))
        .clock(T)
        .answer(&code)
        .run();
    o.assert_result(code::SUCCESS);
    o.check(o.authtok.as_deref() == Some(""), "empty password forwarded");

    // With use_first_pass: the stored password is split the same way.
    let o = PamRun::new(stack_after_password(
        &format!("pw{code}"),
        &[&s, "use_first_pass", "forward_pass"],
    ))
    .clock(T)
    .run();
    o.assert_result(code::SUCCESS);
    o.check(
        o.authtok.as_deref() == Some("pw"),
        "password part of PAM_AUTHTOK",
    );

    // Without forward_pass, a prompted answer with a prefix is refused.
    let o = PamRun::new(stack(&[&s]))
        .clock(T)
        .answer(format!("hunter2{code}"))
        .run();
    o.assert_result(code::AUTH_ERR);
}

/// The fork's DIGITS/ALGORITHM lines: forward_pass splits off the file's number of digits,
/// and with eight digits a scratch code behind the password is still a scratch code.
#[test]
fn forward_pass_with_the_files_digits_and_algorithm() {
    let dir = tempfile::tempdir().unwrap();
    // oathtool --totp -d 8 / --totp=sha256 -d 7 at step 10000 of the test secret.
    for (extra, code) in [
        ("\" DIGITS 8\n", "26050548"),
        ("\" ALGORITHM SHA256\n\" DIGITS 7\n", "1596509"),
        ("\" ALGORITHM sha512\n", "346407"),
    ] {
        let f = totp_file(dir.path(), "ga", extra);
        let s = secret_arg(&f);
        let o = PamRun::new(stack(&[&s, "forward_pass"]))
            .clock(T)
            .answer(format!("hunter2{code}"))
            .run();
        o.assert_result(code::SUCCESS);
        o.check(o.authtok.as_deref() == Some("hunter2"), extra);
        let o = PamRun::new(stack_after_password(
            &format!("pw{code}"),
            &[&s, "use_first_pass", "forward_pass"],
        ))
        .clock(T)
        .run();
        o.assert_result(code::SUCCESS);
        o.check(o.authtok.as_deref() == Some("pw"), extra);
        // The six-digit SHA-1 code is not the file's code.
        let o = PamRun::new(stack(&[&s]))
            .clock(T)
            .answer(frozen_code())
            .run();
        o.assert_result(code::AUTH_ERR);
    }
    let f = totp_file(dir.path(), "scratch", "\" DIGITS 8\n12345678\n");
    let s = secret_arg(&f);
    let o = PamRun::new(stack(&[&s, "forward_pass"]))
        .clock(T)
        .answer("hunter212345678")
        .run();
    o.assert_result(code::SUCCESS);
    o.check(o.authtok.as_deref() == Some("hunter2"), "scratch code");
    o.check(
        !String::from_utf8_lossy(&std::fs::read(&f).unwrap()).contains("12345678"),
        "the scratch code is used up",
    );
    // An invalid line fails with the fork's log line.
    let f = totp_file(dir.path(), "bad", "\" ALGORITHM SHA3\n");
    let s = secret_arg(&f);
    let o = PamRun::new(stack(&[&s]))
        .clock(T)
        .answer(frozen_code())
        .run();
    o.assert_result(code::AUTH_ERR);
    o.check(
        o.module_log()
            .contains(&format!("Invalid ALGORITHM option in \"{}\"", f.display())),
        "Invalid ALGORITHM log line",
    );
}

#[test]
fn noskewadj_does_not_record_a_skewed_code() {
    let dir = tempfile::tempdir().unwrap();
    // The code of step 9900: 100 steps behind.
    let skewed = crate::support::otp::hotp_code(TEST_SECRET, 9900);
    let f = totp_file(dir.path(), "ga", "");
    let o = PamRun::new(stack(&[&secret_arg(&f)]))
        .clock(T)
        .answer(&skewed)
        .run();
    o.assert_result(code::AUTH_ERR);
    o.check(
        std::fs::read(&f).unwrap()
            == format!("{TEST_SECRET}\n\" RESETTING_TIME_SKEW 10000-100\n\" TOTP_AUTH\n")
                .as_bytes(),
        "the skew attempt is recorded without noskewadj",
    );

    let f = totp_file(dir.path(), "ga2", "");
    let before = file_state(&f);
    let o = PamRun::new(stack(&[&secret_arg(&f), "noskewadj"]))
        .clock(T)
        .answer(&skewed)
        .run();
    o.assert_result(code::AUTH_ERR);
    o.check(
        file_state(&f) == before,
        "noskewadj leaves the file untouched",
    );
}

#[test]
fn no_increment_hotp_keeps_the_counter_after_a_wrong_code() {
    let dir = tempfile::tempdir().unwrap();
    let content = format!("{TEST_SECRET}\n\" HOTP_COUNTER 1\n");
    let wrong = "000000";
    assert!((1..4).all(|c| crate::support::otp::hotp_code(TEST_SECRET, c) != wrong));

    let f = write_secret(dir.path(), "ga", content.as_bytes(), 0o600);
    let o = PamRun::new(stack(&[&secret_arg(&f)]))
        .clock(T)
        .answer(wrong)
        .run();
    o.assert_result(code::AUTH_ERR);
    o.check(
        std::fs::read(&f).unwrap() == format!("{TEST_SECRET}\n\" HOTP_COUNTER 2\n").as_bytes(),
        "the counter advances by default",
    );

    let f = write_secret(dir.path(), "ga2", content.as_bytes(), 0o600);
    let before = file_state(&f);
    let o = PamRun::new(stack(&[&secret_arg(&f), "no_increment_hotp"]))
        .clock(T)
        .answer(wrong)
        .run();
    o.assert_result(code::AUTH_ERR);
    o.check(file_state(&f) == before, "no_increment_hotp keeps the file");
}

#[test]
fn nullok_ignores_a_missing_file_without_prompt() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent");
    let s = secret_arg(&missing);
    let o = PamRun::new(stack(&[&s, "nullok"])).clock(T).run();
    o.check(o.module_result() == code::IGNORE, "PAM_IGNORE");
    o.check(o.prompts.is_empty() && o.module_log().is_empty(), "silent");

    let (user, _) = current_user();
    let o = PamRun::new(stack(&[&s])).clock(T).answer("050548").run();
    o.assert_result(code::AUTH_ERR);
    o.check(o.prompts.len() == 1, "one prompt without nullok");
    o.check(
        o.log_count(&format!(
            "Failed to read \"{}\" for \"{user}\": No such file or directory",
            missing.display()
        )) == 1,
        "the read failure is logged",
    );
}

#[test]
fn allow_readonly_keeps_a_success_whose_state_cannot_be_written() {
    let dir = tempfile::tempdir().unwrap();
    // 255 bytes is a valid name; the temp name `<name>~` (256) is not: ENAMETOOLONG.
    let name = "g".repeat(255);
    let content = format!("{TEST_SECRET}\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n");
    let f = write_secret(dir.path(), &name, content.as_bytes(), 0o600);
    let s = secret_arg(&f);
    let (user, _) = current_user();
    let before = file_state(&f);

    let o = PamRun::new(stack(&[&s]))
        .clock(T)
        .answer(frozen_code())
        .run();
    o.assert_result(code::AUTH_ERR);
    let log = o.module_log();
    o.check(
        log.contains(&catalogue::accepted(&user).text),
        "the code itself was accepted",
    );
    o.check(
        log.contains(
            &catalogue::update_failed(&f.display().to_string(), "File name too long").text,
        ),
        "the write failure is logged",
    );
    o.check(o.errors.is_empty(), "ENAMETOOLONG is not shown to the user");
    o.check(file_state(&f) == before, "file untouched");
    o.check(temp_leftovers(dir.path()).is_empty(), "no temp file");

    let o = PamRun::new(stack(&[&s, "allow_readonly"]))
        .clock(T)
        .answer(frozen_code())
        .run();
    o.assert_result(code::SUCCESS);
    o.check(file_state(&f) == before, "still untouched");
    // The code was not recorded, so it works again (the documented cost of allow_readonly).
    let o = PamRun::new(stack(&[&s, "allow_readonly"]))
        .clock(T)
        .answer(frozen_code())
        .run();
    o.assert_result(code::SUCCESS);
}

#[test]
fn echo_verification_code_in_both_spellings_prompts_with_echo_on() {
    let dir = tempfile::tempdir().unwrap();
    let f = totp_file(dir.path(), "ga", "");
    let s = secret_arg(&f);
    for flag in ["echo_verification_code", "echo-verification-code"] {
        let o = PamRun::new(stack(&[&s, flag]))
            .clock(T)
            .answer(frozen_code())
            .run();
        o.assert_result(code::SUCCESS);
        o.check(
            o.prompts == [(EchoStyle::EchoOn, "Verification code: ".to_string())],
            "echo on",
        );
    }
    let o = PamRun::new(stack(&[&s]))
        .clock(T)
        .answer(frozen_code())
        .run();
    o.check(o.prompts[0].0 == EchoStyle::EchoOff, "echo off by default");
}

#[test]
fn grace_period_skips_the_code_for_the_same_host_until_it_expires() {
    let dir = tempfile::tempdir().unwrap();
    let f = totp_file(dir.path(), "ga", "");
    let s = secret_arg(&f);
    let (user, _) = current_user();
    let args = [s.as_str(), "grace_period=3600"];
    let o = PamRun::new(stack(&args))
        .rhost("10.1.2.3")
        .clock(T)
        .answer(frozen_code())
        .run();
    o.assert_result(code::SUCCESS);
    o.check(
        std::fs::read(&f).unwrap()
            == format!("{TEST_SECRET}\n\" LAST0 10.1.2.3 {T}\n\" TOTP_AUTH\n").as_bytes(),
        "LAST0 recorded after line 1",
    );
    let recorded = file_state(&f);

    let o = PamRun::new(stack(&args))
        .rhost("10.1.2.3")
        .clock(T + 3599)
        .run();
    o.assert_result(code::SUCCESS);
    o.check(o.prompts.is_empty(), "no prompt within the grace period");
    o.check(
        o.log_count(&format!("within grace period: \"{user}\"")) == 1,
        "grace line",
    );
    o.check(file_state(&f) == recorded, "a grace login writes nothing");

    // Another host, or the period over: the code is asked for.
    for (host, t) in [("10.9.9.9", T + 10), ("10.1.2.3", T + 3600)] {
        let o = PamRun::new(stack(&args))
            .rhost(host)
            .clock(t)
            .answer("000000")
            .run();
        o.assert_result(code::AUTH_ERR);
        o.check(o.prompts.len() == 1, "prompted");
    }
}

#[test]
fn grace_period_without_rhost_logs_that_the_timestamp_cannot_be_stored() {
    let dir = tempfile::tempdir().unwrap();
    let f = totp_file(dir.path(), "ga", "");
    let before = std::fs::read(&f).unwrap();
    let o = PamRun::new(stack(&[&secret_arg(&f), "grace_period=3600"]))
        .clock(T)
        .answer(frozen_code())
        .run();
    o.assert_result(code::SUCCESS);
    o.check(
        o.log_count("Failed to store grace_period timestamp in config") == 1,
        "the store failure line",
    );
    o.check(std::fs::read(&f).unwrap() == before, "same bytes");
}

/// fail2ban: every refusal (wrong code, rate-limited attempt, unusable secret file) on
/// sshd, JupyterHub and RStudio services, captured from real runs through libpam, is matched
/// by the shipped filter (`contrib/fail2ban`) with the client address, and nothing else is.
/// fail2ban-regex comes from Debian's package, unpacked, never installed.
#[test]
fn the_shipped_fail2ban_filter_catches_every_refusal_with_the_client_address() {
    let f2b = crate::support::unpacked_debian_package("fail2ban", "fail2ban");
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("fail2ban");
    let copied = std::process::Command::new("cp")
        .arg("-r")
        .arg(f2b.join("etc/fail2ban"))
        .arg(&config)
        .status()
        .expect("harness error: cp");
    assert!(
        copied.success(),
        "harness error: copying fail2ban's configuration"
    );
    let filter = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("contrib/fail2ban/filter.d/pam-google-authenticator.conf");
    std::fs::copy(
        &filter,
        config.join("filter.d/pam-google-authenticator.conf"),
    )
    .unwrap();

    // Installed under its usual name, as libpam's log prefix names the module by file name.
    let module = dir.path().join("pam_google_authenticator.so");
    std::fs::copy(our_module(), &module).unwrap();
    let good = totp_file(dir.path(), "good", "");
    let limited = totp_file(dir.path(), "limited", &format!("\" RATE_LIMIT 1 30 {T}\n"));
    let invalid = write_secret(dir.path(), "invalid", b"not base32!\n\" TOTP_AUTH\n", 0o600);
    let cases = [
        ("sshd", &good, "000000", "192.0.2.1"),
        (
            "jupyterhub",
            &limited,
            frozen_code().leak() as &str,
            "192.0.2.2",
        ),
        (
            "rstudio",
            &invalid,
            frozen_code().leak() as &str,
            "2001:db8::3",
        ),
        // A success logs no failure line.
        ("rstudio", &good, frozen_code().leak() as &str, "192.0.2.99"),
    ];
    let mut log = String::new();
    let mut expected_hosts = Vec::new();
    for (service, file, answer, host) in cases {
        let s = secret_arg(file);
        let o = PamRun::new(Stack::new().probe(&module, &[&s]))
            .service(service)
            .rhost(host)
            .clock(T)
            .answer(answer)
            .run();
        if o.module_result() != code::SUCCESS {
            expected_hosts.push(host);
        }
        for line in o.syslog_messages() {
            log.push_str(&format!(
                "Dec  2 07:00:00 testhost {service}[4242]: {line}\n"
            ));
        }
    }
    assert_eq!(expected_hosts.len(), 3, "three refusals:\n{log}");
    let log_file = dir.path().join("auth.log");
    std::fs::write(&log_file, &log).unwrap();
    let text = crate::support::fail2ban_regex(
        &log_file,
        "pam-google-authenticator",
        Some(&config),
        &["--print-all-matched"],
    );
    assert!(
        text.contains(&format!(", {} matched,", expected_hosts.len())),
        "one match per refusal:\n{text}\nlog:\n{log}"
    );
    for host in expected_hosts {
        assert!(
            text.lines()
                .any(|l| l.contains("authentication failure;")
                    && l.contains(&format!("rhost={host} "))),
            "{host} is matched:\n{text}"
        );
    }
}
