//! Module arguments (§1.2, §1.4-§1.6, §1.12).

use super::*;
use crate::scenario::*;
use crate::support::otp::TEST_SECRET;
use crate::support::{ConvMode, EchoStyle, code};

/// Module arguments (§1.2, §1.4-§1.6, §1.12).
pub fn module_arguments() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, IGNORE, SUCCESS as OK};
    let s = TEST_SECRET;
    let good = || vec![Step::new(T0, GOOD, OK).prompts(1)];
    let bad_no_prompt = || vec![Step::new(T0, GOOD, ERR).prompts(0).unchanged()];
    let bad_prompt = || vec![Step::new(T0, GOOD, ERR).prompts(1).unchanged()];
    let hotp1 = format!("{s}\n\" HOTP_COUNTER 1\n").into_bytes();
    let hotp2 = format!("{s}\n\" HOTP_COUNTER 2\n").into_bytes();
    let mut v = vec![
        Scenario::new("secret= with ~ after /", "§1.4", &fresh(), good())
            .path("{home}/google_authenticator")
            .only_args(&["secret={dir}/~/google_authenticator"]),
        Scenario::new(
            "secret= with ~ glued to a name",
            "§1.4 (~foo is <home>foo)",
            &fresh(),
            good(),
        )
        .path("{home}foo")
        .only_args(&["secret={dir}/~foo"]),
        Scenario::new("secret= with ${HOME}", "§1.4", &fresh(), good())
            .path("{home}/ga")
            .only_args(&["secret={dir}${HOME}/ga"]),
        Scenario::new("secret= with ${USER}", "§1.4", &fresh(), good())
            .path("{user}/ga")
            .only_args(&["secret={dir}/${USER}/ga"]),
        Scenario::new(
            "secret= with $HOME and ${FOO} kept literally",
            "§1.4",
            &fresh(),
            good(),
        )
        .path("$HOME/${FOO}/%u")
        .only_args(&["secret={dir}/$HOME/${FOO}/%u"]),
        Scenario::new(
            "empty secret= with nullok",
            "§1.2 secret=",
            &fresh(),
            vec![Step::new(T0, GOOD, IGNORE).prompts(0)],
        )
        .only_args(&["secret=", "nullok"]),
        Scenario::new("nullok with an existing file", "§1.11", &fresh(), good()).args(&["nullok"]),
        Scenario::new(
            "nullok with a missing directory",
            "§1.11 (ENOENT on a parent)",
            &fresh(),
            vec![Step::new(T0, GOOD, IGNORE).prompts(0)],
        )
        .only_args(&["secret={dir}/nodir/ga", "nullok"]),
        Scenario::new(
            "nullok does not help a bad mode",
            "§1.11",
            &fresh(),
            bad_prompt(),
        )
        .mode(0o644)
        .args(&["nullok"]),
        Scenario::new(
            "authtok_prompt with spaces",
            "§1.2, §1.8",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompt_texts(&[(EchoStyle::EchoOff, "Your secret token: ")]),
            ],
        )
        .args(&["authtok_prompt=Your secret token: "]),
        Scenario::new(
            "default prompt",
            "§1.8",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompt_texts(&[(EchoStyle::EchoOff, "Verification code: ")]),
            ],
        ),
        mode_scenario(
            1,
            "forward_pass prompt text",
            "§1.8",
            &fresh(),
            vec![
                mode_step(1, T0, GOOD, OK)
                    .prompt_texts(&[(EchoStyle::EchoOff, "Password & verification code: ")]),
            ],
        ),
        Scenario::new(
            "echo_verification_code",
            "§1.2, §1.8",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK).prompt_texts(&[(EchoStyle::EchoOn, "Verification code: ")]),
            ],
        )
        .args(&["echo_verification_code"])
        .conv(ConvMode::Script),
        Scenario::new(
            "echo-verification-code",
            "§1.2, §1.8",
            &fresh(),
            vec![
                Step::new(T0, WRONG, ERR)
                    .prompt_texts(&[(EchoStyle::EchoOn, "Verification code: ")]),
            ],
        )
        .args(&["echo-verification-code"])
        .conv(ConvMode::Script),
        Scenario::new(
            "conversation answers NULL: second prompt",
            "§1.8, §8 item 14",
            &fresh(),
            vec![
                Step::new(T0, GOOD, ERR)
                    .prompts(2)
                    .syslog("Did not receive verification code from user"),
            ],
        )
        .conv(ConvMode::Null),
        Scenario::new(
            "allowed_perm=0640 accepts a 0640 file",
            "§1.2, §1.6",
            &fresh(),
            good(),
        )
        .mode(0o640)
        .args(&["allowed_perm=0640"]),
        Scenario::new("allowed_perm=640 (no leading 0)", "§1.2", &fresh(), good())
            .mode(0o640)
            .args(&["allowed_perm=640"]),
        Scenario::new(
            "0640 file refused by default",
            "§1.6 item 4",
            &fresh(),
            vec![
                Step::new(T0, GOOD, ERR)
                    .prompts(1)
                    .unchanged()
                    .syslog("are more permissive than 0600"),
            ],
        )
        .mode(0o640),
        Scenario::new("0400 file accepted", "§1.6 item 4", &fresh(), good()).mode(0o400),
        Scenario::new("setuid bit ignored", "§1.6 item 4", &fresh(), good()).mode(0o4600),
        Scenario::new("setgid bit refused", "§1.6 item 4", &fresh(), bad_prompt()).mode(0o2600),
        Scenario::new(
            "allowed_perm=-1 accepts 0666",
            "§1.2 allowed_perm",
            &fresh(),
            good(),
        )
        .mode(0o666)
        .args(&["allowed_perm=-1"]),
        Scenario::new(
            "allowed_perm=0648 rejected",
            "§1.2",
            &fresh(),
            bad_no_prompt(),
        )
        .args(&["allowed_perm=0648"]),
        Scenario::new("allowed_perm=0 rejected", "§1.2", &fresh(), bad_no_prompt())
            .args(&["allowed_perm=0"]),
        Scenario::new(
            "file owned by nobody refused",
            "§1.6 item 5",
            &fresh(),
            vec![
                Step::new(T0, GOOD, ERR)
                    .prompts(1)
                    .unchanged()
                    .syslog("must be owned by"),
            ],
        )
        .setup(Setup::OwnedByNobody),
        Scenario::new(
            "no_strict_owner with a file owned by nobody",
            "§1.2, §1.6 item 5",
            &with("\" DISALLOW_REUSE\n"),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .file_contains(b"\" DISALLOW_REUSE 10000\n")
                    .mode_after(0o400),
            ],
        )
        .setup(Setup::OwnedByNobody)
        .args(&["no_strict_owner"]),
        Scenario::new(
            "unknown argument",
            "§1.2",
            &fresh(),
            vec![
                Step::new(T0, GOOD, ERR)
                    .prompts(0)
                    .unchanged()
                    .syslog("Unrecognized option \"frobnicate\""),
            ],
        )
        .args(&["frobnicate"]),
        Scenario::new(
            "flag arguments are case-sensitive",
            "§1.2",
            &fresh(),
            bad_no_prompt(),
        )
        .args(&["NULLOK"]),
        Scenario::new(
            "grace_period=-1 rejected",
            "§1.2",
            &fresh(),
            bad_no_prompt(),
        )
        .args(&["grace_period=-1"]),
        Scenario::new(
            "grace_period=10x rejected",
            "§1.2",
            &fresh(),
            bad_no_prompt(),
        )
        .args(&["grace_period=10x"]),
        Scenario::new(
            "empty grace_period= accepted",
            "§1.2",
            &fresh(),
            vec![Step::new(T0, GOOD, OK).prompts(1).unchanged()],
        )
        .args(&["grace_period="])
        .rhost("10.0.0.1"),
        Scenario::new("user= numeric uid", "§1.2 user=", &fresh(), good()).args(&["user=0"]),
        Scenario::new("user= name", "§1.2 user=", &fresh(), good()).args(&["user=root"]),
        Scenario::new(
            "user= uid with junk",
            "§1.2 (user=0x is uid 0)",
            &fresh(),
            good(),
        )
        .args(&["user=0x"]),
        Scenario::new(
            "user= unknown name",
            "§1.2",
            &fresh(),
            vec![
                Step::new(T0, GOOD, ERR)
                    .prompts(0)
                    .unchanged()
                    .syslog("Failed to look up user \"no-such-user-ga\""),
            ],
        )
        .args(&["user=no-such-user-ga"]),
        Scenario::new(
            "user= uid without passwd entry",
            "§1.5",
            &fresh(),
            bad_no_prompt(),
        )
        .args(&["user=4242"]),
        Scenario::new(
            "user= with a PAM user that does not exist",
            "§1.4 (PAM user not looked up)",
            &fresh(),
            good(),
        )
        .user("ghost-ga")
        .path("ghost-ga/ga")
        .only_args(&["secret={dir}/${USER}/ga", "user=0"]),
        Scenario::new(
            "user= with ~ in secret=",
            "§1.4",
            &fresh(),
            vec![
                Step::new(T0, GOOD, ERR)
                    .prompts(1)
                    .syslog("Home dir in 'secret' not implemented when 'user' set"),
            ],
        )
        .path("{home}/google_authenticator")
        .only_args(&["secret={dir}/~/google_authenticator", "user=0"]),
        Scenario::new(
            "unknown PAM user, even with nullok",
            "§1.11",
            &fresh(),
            vec![Step::new(T0, GOOD, ERR).prompts(1).syslog("not found")],
        )
        .user("ghost-ga")
        .args(&["nullok"]),
        Scenario::new(
            "later argument wins",
            "§1.2 (try_first_pass then use_first_pass)",
            &fresh(),
            vec![
                Step::new(T0, "", ERR)
                    .no_answers()
                    .with_authtok("nothing")
                    .prompts(0),
            ],
        )
        .args(&["try_first_pass", "use_first_pass"]),
        Scenario::new(
            "symlink secret with a plain TOTP file",
            "§1.6 item 1; COMPATIBILITY.md #4",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .ours_result(ERR)
                    .ours_prompts(1)
                    .ours_syslog("is not a regular file"),
            ],
        )
        .setup(Setup::Symlink)
        .differs(Difference::NotRegularFile),
        Scenario::new(
            "directory as secret file",
            "§1.6 item 3",
            &fresh(),
            vec![Step::new(T0, GOOD, ERR).prompts(1)],
        )
        .only_args(&["secret={dir}"]),
    ];
    // allow_readonly with a write failure: the directory is immutable (EPERM even for root).
    let eperm = "Error \"Operation not permitted\" while writing config";
    v.push(
        Scenario::new(
            "write failure without allow_readonly",
            "§1.12",
            &hotp1,
            vec![
                Step::new(T0, "293240", ERR)
                    .prompts(1)
                    .errors(&[eperm])
                    .file_after(&hotp1),
            ],
        )
        .path("ro/google_authenticator")
        .setup(Setup::ImmutableDir),
    );
    v.push(
        Scenario::new(
            "write failure with allow_readonly",
            "§1.12",
            &hotp1,
            vec![
                Step::new(T0, "293240", OK)
                    .prompts(1)
                    .errors(&[eperm])
                    .file_after(&hotp1),
                Step::new(T0, "293240", OK)
                    .prompts(1)
                    .errors(&[eperm])
                    .file_after(&hotp1),
            ],
        )
        .path("ro/google_authenticator")
        .setup(Setup::ImmutableDir)
        .args(&["allow_readonly"]),
    );
    v.push(
        Scenario::new(
            "read-only directory, nothing to write",
            "§1.12 (plain TOTP works)",
            &fresh(),
            vec![Step::new(T0, GOOD, OK).prompts(1).errors(&[]).unchanged()],
        )
        .path("ro/google_authenticator")
        .setup(Setup::ImmutableDir),
    );
    let _ = hotp2;
    v
}
