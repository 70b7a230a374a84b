//! File-format edge cases (§2).

use super::*;
use crate::scenario::*;
use crate::support::code;
use crate::support::otp::{TEST_SECRET, hotp_code};

/// File-format edge cases (§2).
pub fn file_format() -> Vec<Scenario> {
    use code::{AUTH_ERR as ERR, SUCCESS as OK};
    let s = TEST_SECRET;
    let ok = |f: &str| {
        vec![Step::new(T0, GOOD, OK).prompts(1)]
            .into_iter()
            .map(|st| st.file_contains(f.as_bytes()))
            .collect::<Vec<_>>()
    };
    let mut v = Vec::new();

    // §2.3: the CRLF example (one TOTP login at 300000).
    let crlf = format!(
        "{s}\r\n\" TOTP_AUTH\r\n\" DISALLOW_REUSE\r\n\r\n\" RATE_LIMIT 3 30\r\n12345678\r\n\" DISALLOW_REUSE 5\n\n\n87654321\n"
    );
    let crlf_after = format!(
        "{s}\r\n\" TOTP_AUTH\r\n\" DISALLOW_REUSE 10000\n\" RATE_LIMIT 3 30 300000\n12345678\r\n87654321\n"
    );
    v.push(Scenario::new(
        "CRLF file rewrite",
        "§2.3 example",
        crlf.as_bytes(),
        vec![
            Step::new(T0, GOOD, OK)
                .prompts(1)
                .file_after(crlf_after.as_bytes())
                .mode_after(0o400),
        ],
    ));
    v.push(Scenario::new(
        "CRLF scratch code removal",
        "§2.5 (removal eats the CR/LF run)",
        crlf.as_bytes(),
        vec![Step::new(T0, "12345678", OK).prompts(1).file_after(
            format!("{s}\r\n\" TOTP_AUTH\r\n\" DISALLOW_REUSE\r\n\r\n\" RATE_LIMIT 3 30 300000\n\" DISALLOW_REUSE 5\n\n\n87654321\n").as_bytes(),
        )],
    ));
    v.push(Scenario::new(
        "no final newline, option replaced at the end",
        "§2.3",
        format!("{s}\n\" TOTP_AUTH\n\" DISALLOW_REUSE").as_bytes(),
        vec![
            Step::new(T0, GOOD, OK)
                .prompts(1)
                .file_after(format!("{s}\n\" TOTP_AUTH\n\" DISALLOW_REUSE 10000\n").as_bytes()),
        ],
    ));
    v.push(Scenario::new(
        "scratch code as last line without newline",
        "§2.5 (the LF before it stays)",
        format!("{s}\n\" TOTP_AUTH\n12345678").as_bytes(),
        vec![
            Step::new(T0, "12345678", OK)
                .prompts(1)
                .file_after(format!("{s}\n\" TOTP_AUTH\n").as_bytes()),
        ],
    ));
    v.push(Scenario::new(
        "blank lines after line 1, key inserted after them",
        "§2.3 insertion rule",
        format!("{s}\n\n\n\" TOTP_AUTH\n").as_bytes(),
        vec![Step::new(T0, &code_at(9000), ERR).prompts(1).file_after(
            format!("{s}\n\n\n\" RESETTING_TIME_SKEW 10000-1000\n\" TOTP_AUTH\n").as_bytes(),
        )],
    ));
    v.push(Scenario::new(
        "duplicate option lines",
        "§2.3 (first replaced, later deleted)",
        format!("{s}\n\" DISALLOW_REUSE 5\n\" TOTP_AUTH\n\" DISALLOW_REUSE 7\n# end\n").as_bytes(),
        vec![
            Step::new(T0, GOOD, OK).prompts(1).file_after(
                format!("{s}\n\" DISALLOW_REUSE 10000\n\" TOTP_AUTH\n# end\n").as_bytes(),
            ),
        ],
    ));
    v.push(Scenario::new(
        "duplicate WINDOW_SIZE: the first counts",
        "§2.1 getting",
        &with("\" WINDOW_SIZE 1\n\" WINDOW_SIZE 17\n"),
        vec![
            Step::new(T0, &code_at(10001), ERR).prompts(1),
            Step::new(T0, GOOD, OK).prompts(1),
        ],
    ));
    v.push(Scenario::new(
        "unknown option lines and comments are kept",
        "§2.1, §2.6",
        format!("{s}\n\" FOO bar\n# comment\n\"  DISALLOW_REUSE\n\"\tRATE_LIMIT x\n\" disallow_reuse\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n").as_bytes(),
        ok("\" FOO bar\n# comment\n\"  DISALLOW_REUSE\n\"\tRATE_LIMIT x\n\" disallow_reuse\n\" TOTP_AUTH\n\" DISALLOW_REUSE 10000\n"),
    ));
    v.push(Scenario::new(
        "option text on line 1 (invalid secret)",
        "§2.1, §2.2",
        format!("\" TOTP_AUTH\n{s}\n").as_bytes(),
        vec![
            Step::new(T0, GOOD, ERR)
                .prompts(1)
                .unchanged()
                .syslog("Could not find a valid BASE32 encoded secret"),
        ],
    ));
    v.push(Scenario::new(
        "RATE_LIMIT read from line 1",
        "§2.1 (getting searches line 1 too), §3.6",
        b"\" RATE_LIMIT 1 30 299999\n\" TOTP_AUTH\n",
        vec![
            Step::new(T0, GOOD, ERR)
                .prompts(0)
                .file_after(b"\" RATE_LIMIT 1 30 300000\n\" TOTP_AUTH\n"),
        ],
    ));
    v.push(Scenario::new(
        "TOTP_AUTH found as a substring",
        "§2.1 TOTP_AUTH",
        format!("{s}\n# see \" TOTP_AUTHX here\n").as_bytes(),
        vec![Step::new(T0, GOOD, OK).prompts(1).unchanged()],
    ));
    v.push(Scenario::new(
        "no TOTP_AUTH: no TOTP check",
        "§1.9",
        format!("{s}\n\" TOTP_OFF\n").as_bytes(),
        vec![Step::new(T0, GOOD, ERR).prompts(1).unchanged()],
    ));
    let sc = format!("{s}\n\" TOTP_AUTH\n  12345678\n+23456789\n034567890\n");
    v.push(Scenario::new(
        "scratch codes with spaces, + and a leading zero",
        "§2.5 (verified)",
        sc.as_bytes(),
        vec![
            Step::new(T0, "34567890", OK)
                .prompts(1)
                .file_after(format!("{s}\n\" TOTP_AUTH\n  12345678\n+23456789\n").as_bytes()),
            Step::new(T0, "12345678", OK)
                .prompts(1)
                .file_after(format!("{s}\n\" TOTP_AUTH\n+23456789\n").as_bytes()),
            Step::new(T0, "23456789", OK)
                .prompts(1)
                .file_after(format!("{s}\n\" TOTP_AUTH\n").as_bytes()),
        ],
    ));
    v.push(Scenario::new(
        "scratch scan stopped by a bad line",
        "§2.5",
        format!("{s}\n\" TOTP_AUTH\n12345678\n1234567\n23456789\n").as_bytes(),
        vec![
            Step::new(T0, "23456789", ERR).prompts(1).unchanged(),
            Step::new(T0, "12345678", OK)
                .prompts(1)
                .file_after(format!("{s}\n\" TOTP_AUTH\n1234567\n23456789\n").as_bytes()),
        ],
    ));
    v.push(Scenario::new(
        "scratch scan stopped by a trailing space",
        "§2.5",
        format!("{s}\n12345678 \n23456789\n").as_bytes(),
        vec![Step::new(T0, "23456789", ERR).prompts(1).unchanged()],
    ));
    v.push(Scenario::new(
        "duplicate scratch codes",
        "§2.5 (only the first copy is removed)",
        format!("{s}\n12345678\n\n12345678\n").as_bytes(),
        vec![
            Step::new(T0, "12345678", OK)
                .prompts(1)
                .file_after(format!("{s}\n12345678\n").as_bytes()),
            Step::new(T0, "12345678", OK)
                .prompts(1)
                .file_after(format!("{s}\n").as_bytes()),
            Step::new(T0, "12345678", ERR).prompts(1).unchanged(),
        ],
    ));
    v.push(Scenario::new(
        "scratch code starting with 0 refused",
        "§1.9 step 3",
        format!("{s}\n01234567\n").as_bytes(),
        vec![Step::new(T0, "01234567", ERR).prompts(1).unchanged()],
    ));
    v.push(Scenario::new(
        "lower-case secret",
        "§2.2",
        format!("{}\n\" TOTP_AUTH\n", s.to_lowercase()).as_bytes(),
        vec![Step::new(T0, GOOD, OK).prompts(1)],
    ));
    let rfc = "GEZDGNBVGY3TQOJQ";
    v.push(Scenario::new(
        "mistyped 0 and 8 in the secret, spaces and dashes",
        "§2.2",
        b"GEZD-GN8V GY3T\tQ0JQ\n\" TOTP_AUTH\n",
        vec![Step::new(T0, &hotp_code(rfc, 10000), OK).prompts(1)],
    ));
    v.push(Scenario::new(
        "mistyped 1 in the secret",
        "§2.2",
        b"1111111111111111\n\" TOTP_AUTH\n",
        vec![Step::new(T0, &hotp_code("LLLLLLLLLLLLLLLL", 10000), OK).prompts(1)],
    ));
    v.push(Scenario::new(
        "= padding makes the secret invalid",
        "§2.2",
        format!("{s}====\n\" TOTP_AUTH\n").as_bytes(),
        vec![
            Step::new(T0, GOOD, ERR)
                .prompts(1)
                .syslog("Could not find a valid BASE32 encoded secret"),
        ],
    ));
    v.push(Scenario::new(
        "one-character secret",
        "§2.2",
        b"A\n\" TOTP_AUTH\n",
        vec![Step::new(T0, GOOD, ERR).prompts(1)],
    ));
    v.push(Scenario::new(
        "invalid secret with RATE_LIMIT still records the attempt",
        "§1.13",
        b"A\n\" RATE_LIMIT 3 30\n\" TOTP_AUTH\n",
        vec![
            Step::new(T0, GOOD, ERR)
                .prompts(1)
                .file_contains(b"\" RATE_LIMIT 3 30 300000\n"),
        ],
    ));
    let long_secret = s.repeat(6);
    v.push(Scenario::new(
        "96-character secret and a 100-character line",
        "§2.2 (any key length)",
        format!(
            "{long_secret}\n\" TOTP_AUTH\n{}\n\" DISALLOW_REUSE\n",
            "x".repeat(100)
        )
        .as_bytes(),
        vec![
            Step::new(T0, &hotp_code(&long_secret, 10000), OK)
                .prompts(1)
                .file_contains(b"\" DISALLOW_REUSE 10000\n"),
        ],
    ));
    v.push(Scenario::new(
        "100-character scratch-like line",
        "§2.5",
        format!("{s}\n\" TOTP_AUTH\n{}\n12345678\n", "1".repeat(100)).as_bytes(),
        vec![Step::new(T0, "12345678", ERR).prompts(1).unchanged()],
    ));
    for (what, line, good) in [
        ("STEP_SIZE 61", "\" STEP_SIZE 61", false),
        ("STEP_SIZE 0", "\" STEP_SIZE 0", false),
        ("STEP_SIZE 30 junk", "\" STEP_SIZE 30 junk", true),
        ("STEP_SIZE 30junk", "\" STEP_SIZE 30junk", false),
        ("STEP_SIZE -30", "\" STEP_SIZE -30", false),
        ("WINDOW_SIZE 101", "\" WINDOW_SIZE 101", false),
        ("WINDOW_SIZE 0", "\" WINDOW_SIZE 0", false),
        ("WINDOW_SIZE 3 junk", "\" WINDOW_SIZE 3 junk", true),
        ("WINDOW_SIZE 3x", "\" WINDOW_SIZE 3x", false),
        ("HOTP_COUNTER garbage", "\" HOTP_COUNTER abc", true),
        ("HOTP_COUNTER negative", "\" HOTP_COUNTER -4", true),
        ("TIME_SKEW garbage", "\" TIME_SKEW xyz", true),
        (
            "RESETTING_TIME_SKEW garbage",
            "\" RESETTING_TIME_SKEW 12x",
            true,
        ),
    ] {
        let result = if good { OK } else { ERR };
        let mut st = Step::new(T0, GOOD, result).prompts(1);
        if !good {
            st = st.unchanged();
        }
        v.push(Scenario::new(
            format!("option value: {what}"),
            "§2.4",
            &with(&format!("{line}\n")),
            vec![st],
        ));
    }
    v.push(Scenario::new(
        "option value: DISALLOW_REUSE garbage",
        "§2.4, §8 item 9; COMPATIBILITY.md #8 (ours logs it, same result)",
        &with("\" DISALLOW_REUSE 9999 abc\n"),
        vec![
            Step::new(T0, GOOD, ERR)
                .prompts(1)
                .unchanged()
                .ours_syslog("Invalid list of used codes in DISALLOW_REUSE"),
        ],
    ));
    // RATE_LIMIT variants (§3.6).
    for (what, line, result, after) in [
        ("3 30x", "3 30x", ERR, None),
        ("n out of range", "0 30", ERR, None),
        ("n 101", "101 30", ERR, None),
        ("m out of range", "3 3601", ERR, None),
        ("missing m", "3", ERR, None),
        ("garbage timestamp", "3 30 299990 abc", ERR, None),
        (
            "future timestamps dropped",
            "3 30 400000 400001 400002",
            OK,
            Some("3 30 300000"),
        ),
        (
            "far past dropped",
            "3 30 100 200 300",
            OK,
            Some("3 30 300000"),
        ),
        (
            "not exceeded",
            "3 30 299990 299995",
            OK,
            Some("3 30 299990 299995 300000"),
        ),
        (
            "tab separated",
            "3\t30\t299990",
            OK,
            Some("3 30 299990 300000"),
        ),
        (
            "exceeded",
            "2 30 299990 299995",
            ERR,
            Some("2 30 299995 300000"),
        ),
    ] {
        let mut st = Step::new(T0, GOOD, result);
        st = match after {
            None => st.prompts(0).unchanged(),
            Some(a) => st
                .prompts(usize::from(result == OK))
                .file_contains(format!("\" RATE_LIMIT {a}\n").as_bytes()),
        };
        v.push(Scenario::new(
            format!("RATE_LIMIT {what}"),
            "§3.6",
            &with(&format!("\" RATE_LIMIT {line}\n")),
            vec![st],
        ));
    }
    v.push(Scenario::new(
        "RATE_LIMIT exceeded twice",
        "§3.6 (verified example)",
        format!("{s}\n\" RATE_LIMIT 2 30 299990 299995\n\" TOTP_AUTH\n").as_bytes(),
        vec![
            Step::new(T0, GOOD, ERR)
                .prompts(0)
                .file_contains(b"\" RATE_LIMIT 2 30 299995 300000\n")
                .syslog("Too many concurrent login attempts"),
            Step::new(T0 + 1, GOOD, ERR)
                .prompts(0)
                .file_contains(b"\" RATE_LIMIT 2 30 300000 300001\n"),
        ],
    ));
    v.push(Scenario::new(
        "RATE_LIMIT on a wrong code",
        "§3.6 (every attempt counts)",
        &with("\" RATE_LIMIT 3 30\n"),
        vec![
            Step::new(T0, WRONG, ERR)
                .prompts(1)
                .file_contains(b"\" RATE_LIMIT 3 30 300000\n"),
        ],
    ));
    v.push(Scenario::new(
        "NUL byte in the file",
        "§1.7",
        format!("{s}\n\" TOTP_AUTH\n\0\n").as_bytes(),
        vec![Step::new(T0, GOOD, ERR).prompts(1).unchanged()],
    ));
    v.push(Scenario::new(
        "empty file",
        "§1.6 item 6",
        b"",
        vec![Step::new(T0, GOOD, ERR).prompts(1).unchanged()],
    ));
    v.push(Scenario::new(
        "time below STEP_SIZE",
        "§3.1, §8 item 19",
        &fresh(),
        vec![Step::new(20, &code_at(0), ERR).prompts(1)],
    ));
    v
}
