//! Other documented differences (docs/COMPATIBILITY.md).

use super::*;
use crate::scenario::*;
use crate::support::code;
use crate::support::otp::TEST_SECRET;

/// Other documented differences (COMPATIBILITY.md).
pub fn other_differences() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, SUCCESS as OK};
    let s = TEST_SECRET;
    // COMPATIBILITY.md #9: the resync code is recorded in DISALLOW_REUSE, so it cannot be
    // replayed; Debian accepts the replay.
    let dr = format!("{s}\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n");
    let mut steps: Vec<Step> = (0..3)
        .zip([ERR, ERR, OK])
        .map(|(i, r)| Step::new((12000 + i) * 30, &code_at(11000 + i as u64), r).prompts(1))
        .collect();
    steps[2] = steps[2]
        .clone()
        .file_after(&sf(&[
            "\" TIME_SKEW -1000",
            "\" RESETTING_TIME_SKEW ",
            "\" TOTP_AUTH",
            "\" DISALLOW_REUSE",
        ]))
        .ours_file(&sf(&[
            "\" TIME_SKEW -1000",
            "\" RESETTING_TIME_SKEW ",
            "\" TOTP_AUTH",
            "\" DISALLOW_REUSE 11002",
        ]));
    steps.push(
        // The replay: 1.08 accepts it (and only now records it), ours refuses it.
        Step::new(12002 * 30, &code_at(11002), OK)
            .prompts(1)
            .file_contains(b"\" DISALLOW_REUSE 11002\n")
            .ours_result(ERR)
            .ours_file(&sf(&[
                "\" TIME_SKEW -1000",
                "\" RESETTING_TIME_SKEW ",
                "\" TOTP_AUTH",
                "\" DISALLOW_REUSE 11002",
            ])),
    );
    vec![
        Scenario::new(
            "resync code recorded in DISALLOW_REUSE",
            "§3.3, §8 item 9; COMPATIBILITY.md #9",
            dr.as_bytes(),
            steps,
        )
        .differs(Difference::ResyncCodeRecorded),
        Scenario::new(
            "RATE_LIMIT with a crafted -5 timestamp",
            "§3.6, §8 item 8; COMPATIBILITY.md #7",
            &with("\" RATE_LIMIT 3 30 -5\n"),
            vec![
                // 1.08 sorts -5 (as unsigned) after now, drops both and records nothing.
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .file_after(&with("\" RATE_LIMIT 3 30\n"))
                    .ours_file(&with("\" RATE_LIMIT 3 30 300000\n")),
            ],
        )
        .differs(Difference::RateLimitSort),
    ]
}
