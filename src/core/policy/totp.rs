//! TOTP: the time-based check within the window, and `DISALLOW_REUSE`.

use super::check::Check;
use super::skew::skew_resync;
use super::values::{
    code_bound, digits_or_log, file_digits, small_option, totp_algorithm, window_size,
};
use super::{Change, Ctx, DEFAULT_STEP_SIZE, window_start};
use crate::core::catalogue;
use crate::core::cnum::{span, strtol, strtoul};
use crate::core::file::SecretFile;
use crate::core::log::Logs;
use crate::core::otp::OtpKey;

pub(super) fn check_totp(
    file: &mut SecretFile,
    secret: &[u8],
    code: u32,
    ctx: &Ctx<'_>,
    changes: &mut Vec<Change>,
    logs: &mut Logs,
) -> Check {
    if !file.is_totp() {
        return Check::NoMatch;
    }
    let digits = file_digits(file);
    if code >= code_bound(digits) {
        return Check::NoMatch;
    }
    let Some(step) = small_option(file, "STEP_SIZE", DEFAULT_STEP_SIZE, 1..=60) else {
        logs.add(catalogue::invalid_option("STEP_SIZE", ctx.path));
        return Check::Error;
    };
    let tm = ctx.now / step as i64;
    if tm == 0 {
        return Check::Error;
    }
    let skew = file
        .get("TIME_SKEW")
        .map(|v| strtol(v, 10).value)
        .unwrap_or(0);
    // The fork's order of checks: DIGITS, then ALGORITHM, then WINDOW_SIZE.
    let Some(digits) = digits_or_log(digits, ctx, logs) else {
        return Check::Error;
    };
    let Some(algorithm) = totp_algorithm(file, ctx, logs) else {
        return Check::Error;
    };
    let Some(window) = window_size(file, ctx, logs) else {
        return Check::Error;
    };
    let Some(key) = OtpKey::with(secret, algorithm, digits) else {
        return Check::Error;
    };
    let key = &key.widened(ctx.sha1_wide);
    let window = window as i64;
    let first = window_start(tm.wrapping_add(skew), window);
    let counters = (0..window).map(|i| first.wrapping_add(i) as u64);
    if let Some(c) = key
        .find(counters, code)
        .map(|i| first.wrapping_add(i as i64))
    {
        return match record_reuse(file, c, window, step, ctx, changes, logs) {
            true => Check::Match,
            false => Check::Error,
        };
    }
    if ctx.options.no_skew_adjust {
        return Check::NoMatch;
    }
    skew_resync(file, key, code, tm, window, step, ctx, changes, logs)
}

/// DISALLOW_REUSE: refuse a step already in the list, else prune entries at least `window`
/// steps away from `c` and append `c`. Returns whether the code may be accepted.
pub(super) fn record_reuse(
    file: &mut SecretFile,
    c: i64,
    window: i64,
    step: u64,
    ctx: &Ctx<'_>,
    changes: &mut Vec<Change>,
    logs: &mut Logs,
) -> bool {
    let Some(list) = file.get("DISALLOW_REUSE") else {
        return true;
    };
    // Each entry keeps the spaces/tabs after it; a removed entry takes them along, which is
    // where the original's double space after a removed last entry comes from.
    let mut entries: Vec<(u64, &[u8])> = Vec::new();
    let mut pos = 0;
    while pos < list.len() {
        let p = strtoul(&list[pos..], 10);
        let end = pos + p.end;
        if !p.converted() || p.overflow || !matches!(list.get(end), None | Some(b' ' | b'\t')) {
            logs.add(catalogue::reuse_list_invalid(ctx.path));
            return false;
        }
        let stop = end + span(&list[end..], b" \t");
        entries.push((p.value, &list[pos..stop]));
        pos = stop;
    }
    // The original compares the step as an unsigned number, so a negative step (a clock
    // before 1970) matches its wrapped-around stored form.
    let c_stored = c as u64;
    if entries.iter().any(|(v, _)| *v == c_stored) {
        logs.add(catalogue::code_reused(ctx.path, step));
        return false;
    }
    let mut kept = Vec::with_capacity(list.len() + 24);
    for (v, text) in &entries {
        if (i128::from(*v as i64) - i128::from(c)).abs() < i128::from(window) {
            kept.extend_from_slice(text);
        }
    }
    if !kept.is_empty() {
        kept.push(b' ');
    }
    kept.extend_from_slice(c.to_string().as_bytes());
    // A used code that cannot be recorded must not be accepted.
    if file.set("DISALLOW_REUSE", &kept).is_err() {
        return false;
    }
    changes.push(Change::ReuseRecorded(c));
    true
}

#[cfg(test)]
mod tests {
    use crate::core::args::Options;
    use crate::core::otp::Algorithm;
    use crate::core::policy::test_support::*;
    use crate::core::policy::*;

    #[test]
    fn disallow_reuse_pruning_keeps_the_original_spacing() {
        let o = Options::default();
        for (before, after) in [
            ("10001 9000 10002 9001", "10001 10002  10000"),
            ("9000 10001", "10001 10000"),
            ("9000", "10000"),
            ("", "10000"),
        ] {
            let mut f = file(&format!(
                "{}\n\" TOTP_AUTH\n\" DISALLOW_REUSE {before}\n",
                std::str::from_utf8(SECRET).unwrap()
            ));
            let d = prompted(&mut f, &code(10000), 300_000, &o);
            assert!(matches!(d.verdict, PassVerdict::Success(_)), "{before}");
            assert_eq!(d.changes, vec![Change::ReuseRecorded(10000)]);
            assert_eq!(f.get("DISALLOW_REUSE"), Some(after.as_bytes()), "{before}");
        }
    }

    #[test]
    fn disallow_reuse_refuses_a_used_step_and_logs_it() {
        let o = Options::default();
        let mut f = file("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" DISALLOW_REUSE 10000\n");
        let before = f.clone();
        let d = prompted(&mut f, &code(10000), 300_000, &o);
        assert_eq!(d.verdict, PassVerdict::Failure);
        assert!(d.changes.is_empty());
        assert_eq!(f, before);
        assert!(texts(&d.logs)[0].starts_with(
            "Trying to reuse a previously used time-based code (\"/f\"). Retry again in 30 seconds."
        ));
    }

    #[test]
    fn malformed_disallow_reuse_list_fails_with_a_log_line() {
        let o = Options::default();
        let mut f = file("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" DISALLOW_REUSE 9999 abc\n");
        let d = prompted(&mut f, &code(10000), 300_000, &o);
        assert_eq!(d.verdict, PassVerdict::Failure);
        assert_eq!(
            texts(&d.logs),
            vec!["Invalid list of used codes in DISALLOW_REUSE. Check \"/f\"."]
        );
    }

    #[test]
    fn totp_window_is_asymmetric_for_even_sizes() {
        let o = Options::default();
        for (w, accepted) in [
            (1, vec![0]),
            (2, vec![0, 1]),
            (3, vec![-1, 0, 1]),
            (4, vec![-1, 0, 1, 2]),
            (6, vec![-2, -1, 0, 1, 2, 3]),
        ] {
            for offset in -4i64..=4 {
                let mut f = file(&format!(
                    "2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" WINDOW_SIZE {w}\n"
                ));
                let o2 = Options {
                    no_skew_adjust: true,
                    ..o.clone()
                };
                let d = prompted(&mut f, &code((10000 + offset) as u64), 300_000, &o2);
                let ok = matches!(d.verdict, PassVerdict::Success(_));
                assert_eq!(ok, accepted.contains(&offset), "w={w} offset={offset}");
            }
        }
    }

    #[test]
    fn algorithm_and_digits_lines_choose_the_totp_code() {
        let o = Options::default();
        // The fork's unit-test codes for step 10000.
        for (lines, good, other) in [
            ("\" ALGORITHM SHA256\n", "596509", "050548"),
            ("\" ALGORITHM sha512\n", "346407", "596509"),
            ("\" DIGITS 8\n", "26050548", "050548"),
            ("\" DIGITS 7\n\" ALGORITHM Sha256\n", "1596509", "596509"),
            ("\" ALGORITHM SHA1\n\" DIGITS 6\n", "050548", "26050548"),
        ] {
            let mut f = totp_file(lines);
            let d = prompted(&mut f, good, 300_000, &o);
            assert!(matches!(d.verdict, PassVerdict::Success(_)), "{lines:?}");
            let mut f = totp_file(lines);
            let d = prompted(&mut f, other, 300_000, &o);
            assert!(
                !matches!(d.verdict, PassVerdict::Success(_)),
                "{lines:?} {other}"
            );
        }
        // Skew learning, the window and DISALLOW_REUSE work the same with SHA-2 codes.
        let lines = "\" ALGORITHM SHA512\n\" DIGITS 8\n\" DISALLOW_REUSE\n";
        let mut f = totp_file(lines);
        for i in 0..3u64 {
            let c = code_with(Algorithm::Sha512, 8, 11000 + i);
            let _ = prompted(&mut f, &c, (12000 + i as i64) * 30, &o);
        }
        assert_eq!(f.get("TIME_SKEW"), Some(&b"-1000"[..]));
        let next = code_with(Algorithm::Sha512, 8, 11004);
        let d = prompted(&mut f, &next, 12003 * 30, &o);
        assert!(matches!(d.verdict, PassVerdict::Success(_)));
        assert_eq!(d.changes, vec![Change::ReuseRecorded(11004)]);
        let d = prompted(&mut f, &next, 12003 * 30, &o);
        assert_eq!(d.verdict, PassVerdict::Failure);
    }
}
