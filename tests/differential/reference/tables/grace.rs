//! The grace period (§3.7) and the documented differences around it.

use super::*;
use crate::scenario::*;
use crate::support::code;
use crate::support::otp::TEST_SECRET;

/// Grace period (§3.7) and the documented differences around it.
pub fn grace_period() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, SUCCESS as OK};
    let s = TEST_SECRET;
    let h = "10.0.0.1";
    let gp = "grace_period=3600";
    let last =
        |extra: &str| format!("{s}\n\" LAST0 {h} 299000\n\" TOTP_AUTH\n{extra}").into_bytes();
    let mut v = vec![
        Scenario::new(
            "grace: LAST within the period",
            "§3.7",
            &last(""),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(0)
                    .unchanged()
                    .syslog("within grace period"),
            ],
        )
        .args(&[gp])
        .rhost(h),
        Scenario::new(
            "grace: other rhost",
            "§3.7",
            &last("\" DISALLOW_REUSE\n"),
            vec![Step::new(T0, GOOD, OK).prompts(1).file_after(&sf(&[
                "\" LAST1 10.0.0.2 300000",
                "\" LAST0 10.0.0.1 299000",
                "\" TOTP_AUTH",
                "\" DISALLOW_REUSE 10000",
            ]))],
        )
        .args(&[gp])
        .rhost("10.0.0.2"),
        Scenario::new(
            "grace: LAST outside the period",
            "§3.7",
            &last("\" DISALLOW_REUSE\n"),
            vec![
                Step::new(T0 + 4000, &code_at(10133), OK)
                    .prompts(1)
                    .file_after(&sf(&[
                        "\" LAST0 10.0.0.1 304000",
                        "\" TOTP_AUTH",
                        "\" DISALLOW_REUSE 10133",
                    ])),
                Step::new(T0 + 4030, &code_at(10134), OK)
                    .prompts(0)
                    .unchanged(),
            ],
        )
        .args(&[gp])
        .rhost(h),
        Scenario::new(
            "grace: exactly at the end of the period",
            "§3.7 (strict)",
            &last("\" DISALLOW_REUSE\n"),
            vec![Step::new(299_000 + 3600, &code_at(10086), OK).prompts(1)],
        )
        .args(&[gp])
        .rhost(h),
        Scenario::new(
            "grace: within grace but rate limit exceeded",
            "§3.6, §3.7",
            &last("\" RATE_LIMIT 1 30 299990\n"),
            vec![Step::new(T0, GOOD, OK).prompts(0).unchanged()],
        )
        .args(&[gp])
        .rhost(h),
        Scenario::new(
            "grace: within grace with an invalid secret",
            "§1.3 step 8",
            format!("A\n\" LAST0 {h} 299000\n").as_bytes(),
            vec![Step::new(T0, GOOD, OK).prompts(0).unchanged()],
        )
        .args(&[gp])
        .rhost(h),
        Scenario::new(
            "grace: duplicate LAST0 hides the later line",
            "§3.7 (verified)",
            &sf(&[
                "\" LAST0 10.9.9.9 299000",
                "\" LAST0 10.0.0.1 299000",
                "\" TOTP_AUTH",
                "\" DISALLOW_REUSE",
            ]),
            vec![Step::new(T0, GOOD, OK).prompts(1)],
        )
        .args(&[gp])
        .rhost(h),
    ];
    // Ten-slot bookkeeping: nine slots taken, then three successes (DISALLOW_REUSE makes
    // 1.08 write the file too, so both modules record LAST).
    let mut nine = format!("{s}\n");
    for i in 0..9 {
        nine.push_str(&format!("\" LAST{i} 10.1.0.{i} {}\n", 100 * (i + 1)));
    }
    nine.push_str("\" TOTP_AUTH\n\" DISALLOW_REUSE\n");
    v.push(
        Scenario::new(
            "grace: ten-slot bookkeeping",
            "§3.7 record",
            nine.as_bytes(),
            vec![
                Step::new(T0, GOOD, OK)
                    .with_rhost("10.2.0.1")
                    .prompts(1)
                    .file_contains(b"\" LAST9 10.2.0.1 300000\n"),
                Step::new(T0 + 30, &code_at(10001), OK)
                    .with_rhost("10.2.0.2")
                    .prompts(1)
                    .file_contains(b"\" LAST0 10.2.0.2 300030\n"),
                Step::new(T0 + 60, &code_at(10002), OK)
                    .with_rhost("10.2.0.3")
                    .prompts(1)
                    .file_contains(b"\" LAST1 10.2.0.3 300060\n"),
                Step::new(T0 + 90, "", OK)
                    .with_rhost("10.2.0.2")
                    .prompts(0)
                    .unchanged(),
                Step::new(T0 + 3700, &code_at(10123), OK)
                    .with_rhost("10.2.0.2")
                    .prompts(1)
                    .file_contains(b"\" LAST0 10.2.0.2 303700\n"),
            ],
        )
        .args(&[gp]),
    );
    v.push(
        Scenario::new(
            "grace: new slots go right after line 1",
            "§3.7 (reverse order)",
            &with("\" DISALLOW_REUSE\n"),
            vec![
                Step::new(T0, GOOD, OK).with_rhost("a.example").prompts(1),
                Step::new(T0 + 30, &code_at(10001), OK)
                    .with_rhost("b.example")
                    .prompts(1),
                Step::new(T0 + 60, &code_at(10002), OK)
                    .with_rhost("c.example")
                    .prompts(1)
                    .file_after(&sf(&[
                        "\" LAST2 c.example 300060",
                        "\" LAST1 b.example 300030",
                        "\" LAST0 a.example 300000",
                        "\" TOTP_AUTH",
                        "\" DISALLOW_REUSE 10000 10001 10002",
                    ])),
            ],
        )
        .args(&[gp]),
    );
    v.push(
        Scenario::new(
            "grace: malformed LAST slot is skipped",
            "§3.7 record",
            &sf(&["\" LAST0 bad_host 100", "\" TOTP_AUTH", "\" DISALLOW_REUSE"]),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .file_contains(b"\" LAST1 10.0.0.1 300000\n")
                    .file_contains(b"\" LAST0 bad_host 100\n")
                    .syslog("Malformed LAST0 line"),
            ],
        )
        .args(&[gp])
        .rhost(h),
    );

    // Documented differences.
    v.push(
        Scenario::new(
            "grace: plain TOTP success records LAST (HEAD)",
            "§1.10 step 4, §7 item 5",
            &fresh(),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .unchanged()
                    .mode_after(0o600)
                    .ours_file(format!("{s}\n\" LAST0 {h} 300000\n\" TOTP_AUTH").as_bytes())
                    .ours_mode(0o400),
                Step::new(T0 + 30, "", ERR)
                    .prompts(1)
                    .unchanged()
                    .ours_result(OK)
                    .ours_prompts(0)
                    .ours_file(format!("{s}\n\" LAST0 {h} 300000\n\" TOTP_AUTH").as_bytes())
                    .ours_mode(0o400),
            ],
        )
        .args(&[gp])
        .rhost(h)
        .differs(Difference::GraceAlwaysRecorded),
    );
    v.push(
        Scenario::new(
            "grace: success without PAM_RHOST",
            "§1.10 step 4, §7 item 5",
            &last(""),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .unchanged()
                    .mode_after(0o600)
                    .ours_file(&last(""))
                    .ours_mode(0o400)
                    .ours_syslog("Failed to store grace_period timestamp in config"),
            ],
        )
        .args(&[gp])
        .differs(Difference::GraceAlwaysRecorded),
    );
    v.push(
        Scenario::new(
            "grace: future LAST without grace_period",
            "§3.7, §8 item 6; COMPATIBILITY.md #5",
            &sf(&["\" LAST0 10.0.0.1 400000", "\" TOTP_AUTH"]),
            vec![
                Step::new(T0, WRONG, OK)
                    .prompts(0)
                    .unchanged()
                    .ours_result(ERR)
                    .ours_prompts(1),
            ],
        )
        .rhost(h)
        .differs(Difference::GraceNeedsOption),
    );
    v.push(
        Scenario::new(
            "grace: future LAST with grace_period",
            "§3.7; COMPATIBILITY.md #5",
            &sf(&[
                "\" LAST0 10.0.0.1 400000",
                "\" TOTP_AUTH",
                "\" DISALLOW_REUSE",
            ]),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(0)
                    .unchanged()
                    .ours_prompts(1)
                    .ours_file(&sf(&[
                        "\" LAST0 10.0.0.1 300000",
                        "\" TOTP_AUTH",
                        "\" DISALLOW_REUSE 10000",
                    ]))
                    .ours_mode(0o400),
            ],
        )
        .args(&[gp])
        .rhost(h)
        .differs(Difference::GraceNeedsOption),
    );
    let mut future = format!("{s}\n");
    for i in 0..10 {
        future.push_str(&format!("\" LAST{i} 10.1.0.{i} {}\n", 400_000 - i));
    }
    future.push_str("\" TOTP_AUTH\n\" DISALLOW_REUSE\n");
    v.push(
        Scenario::new(
            "grace: all ten slots in the future",
            "§3.7 LAST/ bug; COMPATIBILITY.md #6",
            future.as_bytes(),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .file_contains(b"\" LAST/ 10.2.0.1 300000\n")
                    .ours_file(
                        future
                            .replace("\" LAST9 10.1.0.9 399991\n", "\" LAST9 10.2.0.1 300000\n")
                            .replace("DISALLOW_REUSE\n", "DISALLOW_REUSE 10000\n")
                            .as_bytes(),
                    ),
            ],
        )
        .args(&[gp])
        .rhost("10.2.0.1")
        .differs(Difference::NoLastSlashKey),
    );
    v.push(
        Scenario::new(
            "grace: % in the rhost",
            "§7 item 7",
            &with("\" DISALLOW_REUSE\n"),
            vec![
                Step::new(T0, GOOD, OK)
                    .prompts(1)
                    .file_contains(b"\" LAST0 fe80::1%eth0 300000\n"),
                // 1.08 finds its own entry malformed: no grace, and a new slot each time.
                Step::new(T0 + 30, &code_at(10001), OK)
                    .prompts(1)
                    .file_contains(b"\" LAST1 fe80::1%eth0 300030\n\" LAST0 fe80::1%eth0 300000\n")
                    .syslog("Malformed LAST0 line")
                    .ours_prompts(0)
                    .ours_file(&sf(&[
                        "\" LAST0 fe80::1%eth0 300000",
                        "\" TOTP_AUTH",
                        "\" DISALLOW_REUSE 10000",
                    ])),
                Step::new(T0 + 3700, &code_at(10123), OK)
                    .prompts(1)
                    .file_contains(b"\" LAST2 fe80::1%eth0 303700\n")
                    .ours_prompts(1)
                    .ours_file(&sf(&[
                        "\" LAST0 fe80::1%eth0 303700",
                        "\" TOTP_AUTH",
                        "\" DISALLOW_REUSE 10123",
                    ])),
            ],
        )
        .args(&[gp])
        .rhost("fe80::1%eth0")
        .differs(Difference::PercentInLastHost),
    );
    v
}
