//! Upstream's eight conversation modes (§6.2) and the first-pass corners (§1.8-§1.10).

use super::*;
use crate::scenario::*;
use crate::support::otp::TEST_SECRET;
use crate::support::{ConvMode, code};

/// §6.2/§6.3 items 9-14 in each of the eight conversation modes.
pub fn modes() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, IGNORE, SUCCESS as OK};
    let mut v = Vec::new();
    for mode in 0..8 {
        let bad = MODE_BAD_PROMPTS[mode];
        v.push(mode_scenario(
            mode,
            "wrong code",
            "§6.3 item 9",
            &fresh(),
            vec![mode_step(mode, T0, WRONG, ERR).prompts(bad).unchanged()],
        ));
        v.push(mode_scenario(
            mode,
            "empty answer",
            "§6.3 item 11",
            &fresh(),
            vec![mode_step(mode, T0, "", ERR).prompts(bad).unchanged()],
        ));
        let mut missing = mode_scenario(
            mode,
            "missing file without nullok",
            "§6.3 item 12",
            &fresh(),
            vec![mode_step(mode, T0, GOOD, ERR).prompts(MODE_MISSING_PROMPTS[mode])],
        );
        missing.args[0] = "secret={dir}/NOSUCHFILE".into();
        v.push(missing);
        let mut nullok = mode_scenario(
            mode,
            "missing file with nullok",
            "§6.3 item 13",
            &fresh(),
            vec![mode_step(mode, T0, GOOD, IGNORE).prompts(0)],
        )
        .args(&["nullok"]);
        nullok.args[0] = "secret={dir}/NOSUCHFILE".into();
        v.push(nullok);
        let mut good = mode_step(mode, T0, GOOD, OK)
            .prompts(MODE_GOOD_PROMPTS[mode])
            .file_after(&fresh())
            .mode_after(0o600)
            .syslog("Accepted google_authenticator for");
        if MODE_ARGS[mode].contains(&"forward_pass") {
            // §1.10: the password part is forwarded.
            good = good.authtok_after(UPSTREAM_PW);
        }
        v.push(mode_scenario(
            mode,
            "good code",
            "§6.3 item 14",
            &fresh(),
            vec![good],
        ));
    }
    // §6.3 item 10: 5, 7 and 8 digits in the TWO_PROMPTS modes.
    for mode in [0, 6] {
        v.push(mode_scenario(
            mode,
            "5, 7 and 8 digit answers",
            "§6.3 item 10",
            &fresh(),
            ["50548", "0050548", "00050548"]
                .iter()
                .map(|r| mode_step(mode, T0, r, ERR).prompts(1).unchanged())
                .collect(),
        ));
    }
    // §1.9: a first-pass AUTHTOK may carry any prefix.
    v.push(mode_scenario(
        2,
        "AUTHTOK with a text prefix",
        "§1.9 step 5",
        &fresh(),
        vec![
            Step::new(T0, "", OK)
                .no_answers()
                .with_authtok("xyz050548")
                .prompts(0),
        ],
    ));
    // §1.9: with try_first_pass, an AUTHTOK without a valid code leads to the prompt.
    v.push(
        mode_scenario(
            4,
            "AUTHTOK without code, prompted code",
            "§1.9 table",
            &fresh(),
            vec![Step::new(T0, GOOD, OK).with_authtok("password").prompts(1)],
        )
        .conv(ConvMode::Repeat),
    );
    v
}

/// More conversation and first-pass corners (§1.8-§1.10).
pub fn corners() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, SUCCESS as OK};
    let s = TEST_SECRET;
    let scratch = format!("{s}\n\" TOTP_AUTH\n12345678\n");
    vec![
        mode_scenario(
            1,
            "password and scratch code",
            "§1.10 step 1 (the 8-digit split)",
            scratch.as_bytes(),
            vec![
                mode_step(1, T0, "12345678", OK)
                    .prompts(1)
                    .authtok_after(UPSTREAM_PW)
                    .file_after(&with("")),
            ],
        ),
        mode_scenario(
            1,
            "bare code, empty password forwarded",
            "§1.10 step 1 (prefix may be empty)",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK)
                    .with_authtok(UPSTREAM_PW)
                    .prompts(1)
                    .authtok_after(""),
            ],
        ),
        mode_scenario(
            3,
            "AUTHTOK with a scratch code",
            "§1.9 passes 0 and 1",
            scratch.as_bytes(),
            vec![
                mode_step(3, T0, "12345678", OK)
                    .prompts(0)
                    .authtok_after(UPSTREAM_PW)
                    .file_after(&with("")),
            ],
        ),
        Scenario::new(
            "use_first_pass without AUTHTOK",
            "§1.9 (verified: no prompt)",
            &fresh(),
            vec![Step::new(T0, GOOD, ERR).prompts(0)],
        )
        .preset(None)
        .args(&["use_first_pass"]),
        Scenario::new(
            "try_first_pass without AUTHTOK",
            "§1.9",
            &fresh(),
            vec![Step::new(T0, GOOD, OK).prompts(1)],
        )
        .preset(None)
        .args(&["try_first_pass"]),
        mode_scenario(
            4,
            "AUTHTOK tail matches a skewed code",
            "§1.9 (verified: error without prompt)",
            &fresh(),
            vec![
                Step::new(T0, GOOD, ERR)
                    .with_authtok(&format!("pw{}", code_at(9000)))
                    .prompts(0)
                    .file_contains(b"\" RESETTING_TIME_SKEW 10000-1000\n"),
            ],
        )
        .conv(ConvMode::Repeat),
        mode_scenario(
            4,
            "dummy password from sshd",
            "§1.9 step 1",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK)
                    .with_authtok("\x08INCORRECT")
                    .prompts(1)
                    .syslog("Dummy password supplied by PAM"),
            ],
        )
        .conv(ConvMode::Repeat),
        Scenario::new(
            "prompted code with a newline",
            "§1.9 step 3",
            &fresh(),
            vec![Step::new(T0, "050548\n", ERR).prompts(1)],
        ),
        Scenario::new(
            "prompted code with a space",
            "§1.9 step 3",
            &fresh(),
            vec![Step::new(T0, "050 548", ERR).prompts(1)],
        ),
        Scenario::new(
            "conversation returns a NULL array",
            "§1.8",
            &fresh(),
            vec![Step::new(T0, GOOD, ERR).prompts(2)],
        )
        .conv(ConvMode::NullArray),
        Scenario::new(
            "echo prompt refused by the conversation",
            "§1.8 (second prompt after a failure)",
            &fresh(),
            vec![Step::new(T0, GOOD, ERR).prompts(2)],
        )
        .args(&["echo_verification_code"]),
        Scenario::new(
            "scripted conversation runs out of answers",
            "§1.8",
            &fresh(),
            vec![Step::new(T0, "", ERR).no_answers().prompts(2)],
        )
        .conv(ConvMode::Script),
        Scenario::new(
            "debug argument",
            "§1.2, §4.2 debug lines",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .syslog("debug: start of google_authenticator for")
                    .ours_syslog("debug: end of google_authenticator for"),
            ],
        )
        .args(&["debug"]),
        Scenario::new(
            "WINDOW_SIZE 2 is asymmetric",
            "§3.2 (w=2: 0 and +1)",
            &with("\" WINDOW_SIZE 2\n"),
            vec![
                Step::new(T0, &code_at(9999), ERR).prompts(1),
                Step::new(T0, &code_at(10001), OK).prompts(1),
            ],
        ),
        Scenario::new(
            "WINDOW_SIZE 17",
            "§3.2 (w=17: -8..+8)",
            &with("\" WINDOW_SIZE 17\n\" DISALLOW_REUSE\n"),
            vec![
                Step::new(T0, &code_at(9992), OK).prompts(1),
                Step::new(T0, &code_at(10008), OK)
                    .prompts(1)
                    .file_contains(b"\" DISALLOW_REUSE 9992 10008\n"),
                Step::new(T0, &code_at(10009), ERR).prompts(1),
            ],
        ),
        Scenario::new(
            "file larger than 64 KiB",
            "§1.6 item 6",
            &[with(""), vec![b'#'; 65_536]].concat(),
            vec![Step::new(T0, GOOD, ERR).prompts(1).unchanged()],
        ),
        Scenario::new(
            "file of exactly 64 KiB",
            "§1.6 item 6",
            &[with(""), vec![b'#'; 65_536 - with("").len()]].concat(),
            vec![Step::new(T0, GOOD, OK).prompts(1).unchanged()],
        ),
    ]
}
