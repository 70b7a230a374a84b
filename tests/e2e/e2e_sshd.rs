//! End-to-end: the shipped `pam.d/` recipes behind a real OpenSSH server (Debian's
//! `openssh-server`), driven by the real `ssh` client through a pseudo-terminal.
//!
//! Each test starts a private sshd on 127.0.0.1 (own host key, config, log and PAM
//! service `/etc/pam.d/sshd-gatest-<pid>x<n>`, the name of a symlink to `/usr/sbin/sshd`,
//! since OpenSSH 9.2 takes the PAM service name from its binary name), creates throwaway
//! users, and removes all of it afterwards. Needs root and the packages of `make deps`.
//! Run: `sudo make e2e` or `cargo test --test e2e -- --ignored e2e_sshd::`.

use crate::support::otp::wrong_code;
use crate::support::sshd::{Sshd, SshdOptions};
use crate::support::system::{Answer, TempUser, recipe_service, require_root, secret_file};

const CODE_PROMPT: &str = "Verification code: ";
const PASSWORD_PROMPT: &str = "Password: ";

fn key_and_code(users: &[&TempUser]) -> SshdOptions {
    SshdOptions {
        methods: "publickey,keyboard-interactive",
        kbd_interactive: true,
        password: false,
        users: users.iter().map(|u| u.name.clone()).collect(),
    }
}

/// A user with the server's client key authorized and (optionally) a secret file.
fn key_user(server: &Sshd, user: &TempUser, secret: Option<&str>) {
    user.authorize_key(&server.client_pub);
    if let Some(s) = secret {
        user.write_secret(s);
    }
}

fn code_answers(code: Answer) -> Vec<(&'static str, Answer)> {
    vec![(CODE_PROMPT, code)]
}

#[test]
#[ignore = "root tier: real sshd, users and /etc/pam.d"]
fn publickey_otp_right_code_logs_in_wrong_code_is_refused() {
    require_root("users, /etc/pam.d, sshd");
    let user = TempUser::with_password("k");
    let server = Sshd::start(
        recipe_service("sshd-publickey-otp", &[]),
        &key_and_code(&[&user]),
    );
    key_user(&server, &user, Some(&secret_file(&[], &[])));

    let o = server.ssh(
        &user.name,
        "publickey,keyboard-interactive",
        true,
        &code_answers(Answer::totp()),
    );
    server.assert_logged_in(&o, "key + right code");
    if o.prompt_texts() != [CODE_PROMPT] || o.prompts[0].echoed {
        server.fail("one hidden `Verification code: ` prompt expected", &o);
    }

    let o = server.ssh(
        &user.name,
        "publickey,keyboard-interactive",
        true,
        &code_answers(Answer::Text(wrong_code())),
    );
    server.assert_refused(&o, "key + wrong code");
    if o.prompt_texts() != [CODE_PROMPT] {
        server.fail("the wrong code should be typed at the code prompt", &o);
    }
    stock_sshd_filter_catches(&server, &user.name);

    // Without the key, the code alone is not enough (AuthenticationMethods needs both).
    let o = server.ssh(
        &user.name,
        "keyboard-interactive",
        false,
        &code_answers(Answer::totp()),
    );
    server.assert_refused(&o, "code without the key");
}

#[test]
#[ignore = "root tier: real sshd, users and /etc/pam.d"]
fn echo_verification_code_shows_the_digits_in_the_client() {
    require_root("users, /etc/pam.d, sshd");
    let user = TempUser::with_password("e");
    let server = Sshd::start(
        recipe_service("sshd-publickey-otp", &["echo_verification_code"]),
        &key_and_code(&[&user]),
    );
    key_user(&server, &user, Some(&secret_file(&[], &[])));
    let o = server.ssh(
        &user.name,
        "publickey,keyboard-interactive",
        true,
        &code_answers(Answer::totp()),
    );
    server.assert_logged_in(&o, "key + right code, echo on");
    if o.prompt_texts() != [CODE_PROMPT] || !o.prompts[0].echoed {
        server.fail("the typed code should be echoed by the client", &o);
    }
}

#[test]
#[ignore = "root tier: real sshd, users and /etc/pam.d"]
fn password_otp_asks_password_then_code() {
    require_root("users, /etc/pam.d, sshd");
    let user = TempUser::with_password("p");
    user.write_secret(secret_file(&[], &[]));
    let server = Sshd::start(
        recipe_service("sshd-password-otp", &[]),
        &SshdOptions {
            methods: "keyboard-interactive",
            kbd_interactive: true,
            password: false,
            users: vec![user.name.clone()],
        },
    );
    let answers =
        |pw: &str, code: Answer| vec![(PASSWORD_PROMPT, Answer::text(pw)), (CODE_PROMPT, code)];
    let o = server.ssh(
        &user.name,
        "keyboard-interactive",
        false,
        &answers(&user.password, Answer::totp()),
    );
    server.assert_logged_in(&o, "password + right code");
    if o.prompt_texts() != [PASSWORD_PROMPT, CODE_PROMPT] || o.prompts.iter().any(|p| p.echoed) {
        server.fail(
            "two hidden prompts expected: `Password: ` then the code",
            &o,
        );
    }

    let o = server.ssh(
        &user.name,
        "keyboard-interactive",
        false,
        &answers(&user.password, Answer::Text(wrong_code())),
    );
    server.assert_refused(&o, "password + wrong code");

    let o = server.ssh(
        &user.name,
        "keyboard-interactive",
        false,
        &answers("not-the-password", Answer::totp()),
    );
    server.assert_refused(&o, "wrong password + right code");
    if o.prompt_texts() != [PASSWORD_PROMPT, CODE_PROMPT] {
        server.fail(
            "with `required` the code is asked even after a wrong password",
            &o,
        );
    }
}

#[test]
#[ignore = "root tier: real sshd, users and /etc/pam.d"]
fn disallow_reuse_refuses_the_same_code_on_a_second_connection() {
    require_root("users, /etc/pam.d, sshd");
    let user = TempUser::with_password("r");
    let server = Sshd::start(
        recipe_service("sshd-publickey-otp", &[]),
        &key_and_code(&[&user]),
    );
    key_user(
        &server,
        &user,
        Some(&secret_file(&["\" DISALLOW_REUSE"], &[])),
    );
    let o = server.ssh(
        &user.name,
        "publickey,keyboard-interactive",
        true,
        &code_answers(Answer::totp()),
    );
    server.assert_logged_in(&o, "first use of the code");
    let code = o.prompts[0].sent.clone();
    let file = std::fs::read_to_string(user.secret_path()).unwrap_or_default();
    let step: Option<u64> = file
        .lines()
        .find_map(|l| l.strip_prefix("\" DISALLOW_REUSE "))
        .and_then(|rest| rest.split_whitespace().next()?.parse().ok());
    let Some(step) = step else {
        server.fail(
            &format!("the used time step should be recorded in the file:\n{file}"),
            &o,
        );
    };
    if crate::support::otp::totp_code(crate::support::otp::TEST_SECRET, step * 30) != code {
        server.fail(
            &format!("the recorded step {step} is not the one of code {code}:\n{file}"),
            &o,
        );
    }
    let o = server.ssh(
        &user.name,
        "publickey,keyboard-interactive",
        true,
        &code_answers(Answer::Text(code.clone())),
    );
    // While the code's step is at most one step old it is inside the default window
    // (3 steps), so only DISALLOW_REUSE can refuse it.
    assert!(
        crate::support::otp::now() / 30 <= step + 1,
        "the second login came too late to prove reuse (step {step}, now {})",
        crate::support::otp::now() / 30
    );
    server.assert_refused(&o, &format!("second use of code {code}"));
}

#[test]
#[ignore = "root tier: real sshd, users and /etc/pam.d"]
fn scratch_code_works_once_and_leaves_the_file() {
    require_root("users, /etc/pam.d, sshd");
    let user = TempUser::with_password("s");
    let server = Sshd::start(
        recipe_service("sshd-publickey-otp", &[]),
        &key_and_code(&[&user]),
    );
    key_user(
        &server,
        &user,
        Some(&secret_file(&[], &["31415926", "27182818"])),
    );
    let o = server.ssh(
        &user.name,
        "publickey,keyboard-interactive",
        true,
        &code_answers(Answer::text("31415926")),
    );
    server.assert_logged_in(&o, "first use of a scratch code");
    let file = std::fs::read_to_string(user.secret_path()).unwrap_or_default();
    if file.lines().any(|l| l == "31415926") || !file.lines().any(|l| l == "27182818") {
        server.fail(
            &format!("the used scratch code (only) should be gone from the file:\n{file}"),
            &o,
        );
    }
    let o = server.ssh(
        &user.name,
        "publickey,keyboard-interactive",
        true,
        &code_answers(Answer::text("31415926")),
    );
    server.assert_refused(&o, "second use of a scratch code");
}

#[test]
#[ignore = "root tier: real sshd, users and /etc/pam.d"]
fn forward_pass_through_password_authentication() {
    require_root("users, /etc/pam.d, sshd");
    let user = TempUser::with_password("f");
    user.write_secret(secret_file(&[], &[]));
    let server = Sshd::start(
        recipe_service("sshd-forward-pass", &[]),
        &SshdOptions {
            methods: "password",
            kbd_interactive: false,
            password: true,
            users: vec![user.name.clone()],
        },
    );
    let prompt = r"\S+'s password: ";
    let o = server.ssh(
        &user.name,
        "password",
        false,
        &[(prompt, Answer::password_then_totp(&user.password))],
    );
    server.assert_logged_in(&o, "password immediately followed by the code");
    if o.prompts.len() != 1 || o.prompts[0].echoed {
        server.fail("one hidden password prompt expected", &o);
    }

    let wrong = format!("{}{}", user.password, wrong_code());
    let o = server.ssh(
        &user.name,
        "password",
        false,
        &[(prompt, Answer::text(&wrong))],
    );
    server.assert_refused(&o, "password + wrong code");

    let o = server.ssh(
        &user.name,
        "password",
        false,
        &[(prompt, Answer::password_then_totp("not-the-password"))],
    );
    server.assert_refused(&o, "wrong password + right code");

    let o = server.ssh(
        &user.name,
        "password",
        false,
        &[(prompt, Answer::text(&user.password))],
    );
    server.assert_refused(&o, "password without a code");
}

#[test]
#[ignore = "root tier: real sshd, users and /etc/pam.d"]
fn nullok_rollout_key_alone_until_enrolled_fail_closed_on_bad_files() {
    require_root("users, /etc/pam.d, sshd");
    let fresh = TempUser::with_password("n");
    let enrolled = TempUser::with_password("n");
    let unreadable = TempUser::with_password("n");
    let foreign = TempUser::with_password("n");
    let users = [&fresh, &enrolled, &unreadable, &foreign];
    let server = Sshd::start(recipe_service("nullok-rollout", &[]), &key_and_code(&users));
    let secret = secret_file(&[], &[]);
    key_user(&server, &fresh, None);
    key_user(&server, &enrolled, Some(&secret));
    key_user(&server, &unreadable, None);
    unreadable.write_secret_as(&secret, 0o000, (unreadable.uid, unreadable.gid));
    key_user(&server, &foreign, None);
    foreign.write_secret_as(&secret, 0o600, (fresh.uid, fresh.gid));
    let kbd = "publickey,keyboard-interactive";

    let o = server.ssh(&fresh.name, kbd, true, &code_answers(Answer::totp()));
    server.assert_logged_in(&o, "not enrolled: the key alone");
    if !o.prompts.is_empty() {
        server.fail("a user without a secret file should see no prompt", &o);
    }

    let o = server.ssh(&enrolled.name, kbd, true, &code_answers(Answer::totp()));
    server.assert_logged_in(&o, "enrolled: key + right code");
    if o.prompt_texts() != [CODE_PROMPT] {
        server.fail("an enrolled user should be asked for the code", &o);
    }
    let o = server.ssh(
        &enrolled.name,
        kbd,
        true,
        &code_answers(Answer::Text(wrong_code())),
    );
    server.assert_refused(&o, "enrolled: key + wrong code");

    let o = server.ssh(&unreadable.name, kbd, true, &code_answers(Answer::totp()));
    server.assert_refused(&o, "secret file with mode 0000");

    let o = server.ssh(&foreign.name, kbd, true, &code_answers(Answer::totp()));
    server.assert_refused(&o, "secret file owned by another user");
}

/// Debian's stock fail2ban `sshd` filter still catches sshd's own line for a login that the
/// module refused (sshd's log is written with `-E`, without the syslog prefix, which is
/// added here as rsyslog would). fail2ban-regex comes from Debian's package, unpacked under
/// target/, never installed.
fn stock_sshd_filter_catches(server: &Sshd, user: &str) {
    let failed: Vec<String> = server
        .log_text()
        .lines()
        .filter(|l| l.starts_with("Failed ") && l.contains(&format!(" for {user} ")))
        .map(|l| format!("Dec  2 07:00:00 testhost sshd[4242]: {}", l.trim_end()))
        .collect();
    if failed.is_empty() {
        panic!(
            "sshd logged no failure for {user}:\n{}",
            server.log_tail(40)
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("auth.log");
    std::fs::write(&log, failed.join("\n") + "\n").unwrap();
    let text = crate::support::fail2ban_regex(&log, "sshd", None, &[]);
    assert!(
        text.contains(&format!(", {} matched, 0 missed", failed.len())),
        "the stock sshd filter should match every failure line:\n{}\n{text}",
        failed.join("\n")
    );
}
