//! Upstream's multi-step sequences (§6.3 items 15-27).

use super::*;
use crate::scenario::*;
use crate::support::otp::{TEST_SECRET, hotp_code};
use crate::support::{ConvMode, code};

/// The multi-step sequences of §6.3 items 15-27 (each from its own fresh file).
pub fn upstream_sequences() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, SUCCESS as OK};
    let s = TEST_SECRET;
    let mut v = vec![
        Scenario::new(
            "STEP_SIZE 60",
            "§6.3 item 15, otp_mode 0",
            &[fresh(), b"\n\" STEP_SIZE 60\n".to_vec()].concat(),
            times(
                60,
                &[9998, 9999, 10001, 10002, 10000],
                &[ERR, OK, OK, ERR, OK],
            ),
        ),
        mode_scenario(
            4,
            "STEP_SIZE 60",
            "§6.3 item 15 (failed calls find the code by the skew search: no prompt)",
            &[fresh(), b"\n\" STEP_SIZE 60\n".to_vec()].concat(),
            [9998, 9999, 10001, 10002, 10000]
                .iter()
                .zip([ERR, OK, OK, ERR, OK])
                .map(|(t, r)| mode_step(4, t * 60, GOOD, r).prompts(0))
                .collect(),
        ),
        Scenario::new(
            "default WINDOW_SIZE",
            "§6.3 item 16, otp_mode 0",
            &fresh(),
            times(
                30,
                &[9998, 9999, 10001, 10002, 10000],
                &[ERR, OK, OK, ERR, OK],
            ),
        ),
        Scenario::new(
            "WINDOW_SIZE 6",
            "§6.3 item 17, otp_mode 0",
            &[fresh(), b"\n\" WINDOW_SIZE 6\n".to_vec()].concat(),
            times(
                30,
                &[9996, 9997, 10002, 10003, 10000],
                &[ERR, OK, OK, ERR, OK],
            ),
        ),
    ];

    // §6.3 items 18 and 19: DISALLOW_REUSE, starting from the state after item 17.
    let mut reuse = vec![
        Step::new(T0, GOOD, OK).prompts(1),
        Step::new(T0, GOOD, OK)
            .prompts(1)
            .append(b"\" DISALLOW_REUSE\n")
            .file_contains(b"\" DISALLOW_REUSE 10000\n")
            .mode_after(0o400),
        Step::new(T0, GOOD, ERR).prompts(1).unchanged(),
    ];
    for i in 10001..=10007 {
        reuse.push(Step::new(i * 30, &code_at(i as u64), OK).prompts(1));
    }
    let last = reuse.len() - 1;
    reuse[last] = reuse[last]
        .clone()
        .file_contains(b"\" DISALLOW_REUSE 10002 10003 10004 10005 10006 10007\n");
    v.push(Scenario::new(
        "DISALLOW_REUSE",
        "§6.3 items 18-19, otp_mode 0",
        &[fresh(), b"\n\" WINDOW_SIZE 6\n".to_vec()].concat(),
        reuse,
    ));

    // §3.3: pruning leaves a double space when the last entry goes.
    v.push(Scenario::new(
        "DISALLOW_REUSE pruning double space",
        "§3.3 quirk",
        &with("\" DISALLOW_REUSE 10001 9000 10002 9001\n"),
        vec![
            Step::new(T0, GOOD, OK)
                .prompts(1)
                .file_after(&with("\" DISALLOW_REUSE 10001 10002  10000\n")),
        ],
    ));

    // §6.3 item 20: RATE_LIMIT 4 120.
    let mut rl: Vec<Step> = (20000..=20004)
        .chain([20006])
        .map(|t| Step::new(t * 30, &code_at(t as u64), OK).prompts(1))
        .collect();
    rl[4] = Step::new(20004 * 30, &code_at(20004), ERR)
        .prompts(0)
        .syslog("Too many concurrent login attempts");
    rl[5] = rl[5]
        .clone()
        .file_contains(b"\" RATE_LIMIT 4 120 600060 600090 600120 600180\n");
    v.push(Scenario::new(
        "RATE_LIMIT 4 120",
        "§6.3 item 20",
        &with("\" RATE_LIMIT 4 120\n"),
        rl,
    ));
    // §6.3 item 21: the RATE_LIMIT line ends in a space.
    v.push(Scenario::new(
        "RATE_LIMIT ending in a space",
        "§6.3 item 21",
        &with("\" RATE_LIMIT 4 120 600060 600090 600120 600180 "),
        vec![
            Step::new(20007 * 30, &code_at(20007), ERR)
                .prompts(0)
                .unchanged()
                .syslog("Invalid list of timestamps in RATE_LIMIT"),
        ],
    ));

    // §6.3 item 22 / §3.4: the 3-code resync, exact bytes after each step.
    let skew_steps = [
        format!("{s}\n\" RESETTING_TIME_SKEW 12000-1000\n\" TOTP_AUTH"),
        format!("{s}\n\" RESETTING_TIME_SKEW 12000-1000 12001-1000\n\" TOTP_AUTH"),
        format!("{s}\n\" TIME_SKEW -1000\n\" RESETTING_TIME_SKEW \n\" TOTP_AUTH"),
        format!("{s}\n\" TIME_SKEW -1000\n\" RESETTING_TIME_SKEW \n\" TOTP_AUTH"),
    ];
    v.push(Scenario::new(
        "TIME_SKEW resync",
        "§6.3 item 22, §3.4 verified sequence",
        &fresh(),
        (0..4)
            .zip([ERR, ERR, OK, OK])
            .map(|(i, r)| {
                Step::new((12000 + i) * 30, &code_at(11000 + i as u64), r)
                    .prompts(1)
                    .file_after(skew_steps[i as usize].as_bytes())
            })
            .collect(),
    ));
    // §3.4: a gap of 3 steps does not resync.
    v.push(Scenario::new(
        "TIME_SKEW gap too big",
        "§3.4 gaps",
        &fresh(),
        [0u64, 3, 5]
            .iter()
            .map(|i| Step::new((12000 + *i as i64) * 30, &code_at(11000 + i), ERR).prompts(1))
            .collect(),
    ));
    // §3.4 step 2: the same code as last time is an error and writes nothing.
    v.push(Scenario::new(
        "TIME_SKEW same code twice",
        "§3.4 step 2",
        &fresh(),
        vec![
            Step::new(12000 * 30, &code_at(11000), ERR).prompts(1),
            Step::new(12001 * 30, &code_at(11000), ERR)
                .prompts(1)
                .unchanged(),
        ],
    ));
    // §6.3 item 23: noskewadj.
    let skewed = format!("{s}\n\" TIME_SKEW -1000\n\" RESETTING_TIME_SKEW \n\" TOTP_AUTH");
    v.push(
        Scenario::new(
            "noskewadj",
            "§6.3 item 23",
            skewed.as_bytes(),
            vec![
                Step::new(12020 * 30, &code_at(11010), ERR)
                    .prompts(1)
                    .unchanged(),
            ],
        )
        .args(&["noskewadj"]),
    );
    v.push(Scenario::new(
        "skew search without noskewadj",
        "§6.3 item 23 contrast, §3.4",
        skewed.as_bytes(),
        vec![
            Step::new(12020 * 30, &code_at(11010), ERR)
                .prompts(1)
                .file_contains(b"\" RESETTING_TIME_SKEW 12020-1010\n"),
        ],
    ));
    // §6.3 item 24: scratch codes.
    v.push(Scenario::new(
        "scratch codes",
        "§6.3 item 24",
        &with(""),
        vec![
            Step::new(T0, "12345678", ERR).prompts(1).unchanged(),
            Step::new(T0, "12345678", OK)
                .prompts(1)
                .append(b"12345678\n")
                .file_after(&with(""))
                .mode_after(0o400),
            Step::new(T0, "12345678", ERR).prompts(1).unchanged(),
        ],
    ));
    // §6.3 items 25-27: HOTP.
    let hotp = |n: u32| format!("{s}\n\" HOTP_COUNTER {n}\n").into_bytes();
    v.push(Scenario::new(
        "HOTP counter",
        "§6.3 items 25-27, §3.5",
        &hotp(1),
        vec![
            Step::new(T0, "293240", OK).prompts(1).file_after(&hotp(2)),
            Step::new(T0, "293240", ERR).prompts(1).file_after(&hotp(3)),
            Step::new(T0, "932068", OK).prompts(1).file_after(&hotp(6)),
        ],
    ));
    v.push(
        Scenario::new(
            "HOTP no_increment_hotp",
            "§3.5, §1.2",
            &hotp(1),
            vec![
                Step::new(T0, WRONG, ERR)
                    .prompts(1)
                    .unchanged()
                    .mode_after(0o600),
                Step::new(T0, "293240", OK).prompts(1).file_after(&hotp(2)),
            ],
        )
        .args(&["no_increment_hotp"]),
    );
    v.push(Scenario::new(
        "HOTP blank and 8-digit answers do not advance",
        "§3.5",
        &hotp(1),
        vec![
            Step::new(T0, "", ERR).prompts(1).unchanged(),
            Step::new(T0, "12345678", ERR).prompts(1).unchanged(),
        ],
    ));
    v.push(Scenario::new(
        "HOTP takes precedence over TOTP_AUTH",
        "§2.4 HOTP_COUNTER",
        format!("{s}\n\" HOTP_COUNTER 1\n\" TOTP_AUTH\n").as_bytes(),
        vec![
            Step::new(T0, GOOD, ERR)
                .prompts(1)
                .file_contains(b"\" HOTP_COUNTER 2\n"),
        ],
    ));
    v.push(Scenario::new(
        "HOTP WINDOW_SIZE 1",
        "§3.5 (only forward, w=1)",
        format!("{s}\n\" HOTP_COUNTER 1\n\" WINDOW_SIZE 1\n").as_bytes(),
        vec![Step::new(T0, &hotp_code(s, 2), ERR).prompts(1)],
    ));
    // §1.10 step 2: a wrong first-pass HOTP code then a prompted scratch code.
    v.push(
        mode_scenario(
            4,
            "HOTP wrong AUTHTOK then scratch code",
            "§1.10 step 2 (verified)",
            format!("{s}\n\" HOTP_COUNTER 1\n87654321\n").as_bytes(),
            vec![
                Step::new(T0, "87654321", OK)
                    .with_authtok("111111")
                    .prompts(1)
                    .file_after(format!("{s}\n\" HOTP_COUNTER 2\n").as_bytes()),
            ],
        )
        .conv(ConvMode::Repeat),
    );
    v
}
