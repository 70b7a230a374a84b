//! Parsing the values of the file's options that the code check reads: `STEP_SIZE`,
//! `WINDOW_SIZE`, `DIGITS` and `ALGORITHM`.

use super::{Ctx, DEFAULT_WINDOW_SIZE};
use crate::core::catalogue;
use crate::core::cnum::strtoul;
use crate::core::file::SecretFile;
use crate::core::log::Logs;
use crate::core::otp::{Algorithm, MAX_DIGITS, MIN_DIGITS, modulus};

/// Parses STEP_SIZE, WINDOW_SIZE or DIGITS: a number in `range`, followed by nothing or by
/// a space or tab (anything after that is ignored, as in the original).
pub(super) fn small_option(
    file: &SecretFile,
    key: &str,
    default: u64,
    range: std::ops::RangeInclusive<u64>,
) -> Option<u64> {
    let Some(value) = file.get(key) else {
        return Some(default);
    };
    let p = strtoul(value, 10);
    let ok = p.converted()
        && !p.overflow
        && range.contains(&p.value)
        && matches!(value.get(p.end), None | Some(b' ' | b'\t' | b'\r' | b'\n'));
    ok.then_some(p.value)
}

pub(super) fn window_size(file: &SecretFile, ctx: &Ctx<'_>, logs: &mut Logs) -> Option<u64> {
    let w = small_option(file, "WINDOW_SIZE", DEFAULT_WINDOW_SIZE, 1..=100);
    if w.is_none() {
        logs.add(catalogue::invalid_option("WINDOW_SIZE", ctx.path));
    }
    w
}

/// The number of digits of verification codes: the fork's `DIGITS n` (6 to 8), 6 without
/// the line; `None` when the line is invalid.
pub(super) fn file_digits(file: &SecretFile) -> Option<u32> {
    small_option(
        file,
        "DIGITS",
        u64::from(MIN_DIGITS),
        u64::from(MIN_DIGITS)..=u64::from(MAX_DIGITS),
    )
    .map(|d| d as u32)
}

/// The largest code (plus one) worth checking for `digits`: with an invalid `DIGITS` line
/// every code of up to eight digits goes on to the check that reports the line, as in the
/// fork.
pub(super) fn code_bound(digits: Option<u32>) -> u32 {
    modulus(digits.unwrap_or(MAX_DIGITS))
}

pub(super) fn digits_or_log(digits: Option<u32>, ctx: &Ctx<'_>, logs: &mut Logs) -> Option<u32> {
    if digits.is_none() {
        logs.add(catalogue::invalid_option("DIGITS", ctx.path));
    }
    digits
}

/// The HMAC of TOTP codes: the fork's `ALGORITHM` (SHA1, SHA256 or SHA512 in any case),
/// SHA-1 without the line; `None` (logged) when the line names anything else.
pub(super) fn totp_algorithm(
    file: &SecretFile,
    ctx: &Ctx<'_>,
    logs: &mut Logs,
) -> Option<Algorithm> {
    let Some(value) = file.get("ALGORITHM") else {
        return Some(Algorithm::Sha1);
    };
    let algorithm = Algorithm::parse(value);
    if algorithm.is_none() {
        logs.add(catalogue::invalid_option("ALGORITHM", ctx.path));
    }
    algorithm
}

#[cfg(test)]
mod tests {
    use crate::core::args::Options;
    use crate::core::policy::test_support::*;
    use crate::core::policy::*;

    #[test]
    fn invalid_step_and_window_sizes_fail_with_their_log_lines() {
        let o = Options::default();
        for (line, message) in [
            ("STEP_SIZE 61", "Invalid STEP_SIZE option in \"/f\""),
            ("STEP_SIZE 0", "Invalid STEP_SIZE option in \"/f\""),
            ("WINDOW_SIZE 101", "Invalid WINDOW_SIZE option in \"/f\""),
            ("WINDOW_SIZE 3x", "Invalid WINDOW_SIZE option in \"/f\""),
        ] {
            let mut f = file(&format!("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" {line}\n"));
            let d = prompted(&mut f, &code(10000), 300_000, &o);
            assert_eq!(d.verdict, PassVerdict::Failure, "{line}");
            assert_eq!(texts(&d.logs), vec![message.to_string()], "{line}");
        }
        let mut junk = file("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" STEP_SIZE 30 junk\n");
        let d = prompted(&mut junk, &code(10000), 300_000, &o);
        assert!(matches!(d.verdict, PassVerdict::Success(_)));
    }

    #[test]
    fn invalid_algorithm_and_digits_lines_fail_with_their_log_lines() {
        let o = Options::default();
        for (line, message) in [
            ("DIGITS 5", "Invalid DIGITS option in \"/f\""),
            ("DIGITS 9", "Invalid DIGITS option in \"/f\""),
            ("DIGITS 8x", "Invalid DIGITS option in \"/f\""),
            ("DIGITS", "Invalid DIGITS option in \"/f\""),
            ("ALGORITHM SHA384", "Invalid ALGORITHM option in \"/f\""),
            ("ALGORITHM SHA-256", "Invalid ALGORITHM option in \"/f\""),
            ("ALGORITHM sha256 ", "Invalid ALGORITHM option in \"/f\""),
            ("ALGORITHM", "Invalid ALGORITHM option in \"/f\""),
        ] {
            let mut f = totp_file(&format!("\" {line}\n12345678\n"));
            let d = prompted(&mut f, "050548", 300_000, &o);
            assert_eq!(d.verdict, PassVerdict::Failure, "{line}");
            assert_eq!(texts(&d.logs), vec![message.to_string()], "{line}");
            // Scratch codes are looked at first and still work.
            let d = prompted(&mut f, "12345678", 300_000, &o);
            assert!(matches!(d.verdict, PassVerdict::Success(_)), "{line}");
        }
        // DIGITS 8 with a trailing blank and comment is read as the fork reads it.
        let mut f = totp_file("\" DIGITS 8 x\n");
        assert!(matches!(
            prompted(&mut f, "26050548", 300_000, &o).verdict,
            PassVerdict::Success(_)
        ));
    }
}
