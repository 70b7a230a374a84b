//! Skew learning: the search around the current step, `RESETTING_TIME_SKEW` and
//! `TIME_SKEW`.

use super::check::Check;
use super::totp::record_reuse;
use super::{Change, Ctx, SKEW_SEARCH_STEPS};
use crate::core::catalogue;
use crate::core::cnum::strtol;
use crate::core::file::SecretFile;
use crate::core::log::Logs;
use crate::core::otp::OtpKey;

/// Searches ±1499 steps around the current step (without the stored skew) for `code`;
/// three consecutive skewed codes with consistent skews set TIME_SKEW. All 3000 codes are
/// computed every time, so the time taken does not tell where a match was.
#[allow(clippy::too_many_arguments)]
pub(super) fn skew_resync(
    file: &mut SecretFile,
    key: &OtpKey,
    code: u32,
    tm: i64,
    window: i64,
    step: u64,
    ctx: &Ctx<'_>,
    changes: &mut Vec<Change>,
    logs: &mut Logs,
) -> Check {
    // Offsets 0, 0, -1, 1, -2, 2, ...: the first match in this order wins, as upstream's.
    let offset = |k: usize| {
        let i = (k / 2) as i64;
        if k.is_multiple_of(2) { -i } else { i }
    };
    let counters = (0..2 * SKEW_SEARCH_STEPS as usize).map(|k| tm.wrapping_add(offset(k)) as u64);
    let Some(skew) = key.find(counters, code).map(offset) else {
        return Check::NoMatch;
    };
    logs.debug(catalogue::skew_adjusted);

    // The original keeps steps and skews in C ints.
    let (tm, skew) = (c_int(tm), c_int(skew));
    let mut entries = parse_resetting(file.get("RESETTING_TIME_SKEW").unwrap_or(b""));
    // The same code as last time (even at a later time) is not new evidence.
    if let Some(&(t, s)) = entries.last()
        && c_int(t + s) == c_int(tm + skew)
    {
        return Check::Error;
    }
    entries.push((tm, skew));
    if entries.len() > 3 {
        entries.remove(0);
    }
    // Stored entries come from the file: compare in i128 so no value can overflow.
    let consistent = entries.len() == 3
        && entries.windows(2).all(|w| {
            let gap = i128::from(w[1].0) - i128::from(w[0].0);
            (1..=2).contains(&gap)
        })
        && entries[..2]
            .iter()
            .all(|e| (i128::from(e.1) - i128::from(skew)).abs() <= 1);
    if consistent {
        let average = (entries[0].1 + entries[1].1 + entries[2].1) / 3;
        if file
            .set("TIME_SKEW", average.to_string().as_bytes())
            .and_then(|()| file.set("RESETTING_TIME_SKEW", b""))
            .is_err()
        {
            return Check::Error;
        }
        changes.push(Change::SkewAdjusted(average));
        // The original never records this code as used, so it could be replayed once
        // within the window; record it like any other accepted TOTP code.
        return match record_reuse(
            file,
            tm.wrapping_add(skew),
            window,
            step,
            ctx,
            changes,
            logs,
        ) {
            true => Check::Match,
            false => Check::Error,
        };
    }
    let text = entries
        .iter()
        .map(|(t, s)| format!("{t}{s:+}"))
        .collect::<Vec<_>>()
        .join(" ");
    if file.set("RESETTING_TIME_SKEW", text.as_bytes()).is_ok() {
        changes.push(Change::SkewAttempt);
    }
    Check::Error
}

/// Reads `T±S` tokens, keeping the last three, as the original does (checked against
/// Debian's module): T is a number directly followed by a sign; S is read together with its
/// sign and must be followed by the end of the value, a space or a tab; a sign with nothing
/// but blanks after it reads as 0. Both are kept as 32-bit C `int`s, so larger values
/// wrap. Parsing stops quietly at the first token that breaks these rules, without keeping it.
fn parse_resetting(value: &[u8]) -> Vec<(i64, i64)> {
    let mut out: Vec<(i64, i64)> = Vec::new();
    let mut rest = value;
    while !rest.is_empty() {
        let t = strtol(rest, 10);
        let from_sign = &rest[t.end..];
        if !t.converted() || t.overflow || !matches!(from_sign.first(), Some(b'+' | b'-')) {
            break;
        }
        let s = strtol(from_sign, 10);
        let (skew, next) = if s.converted() {
            if s.overflow {
                break;
            }
            (s.value, &from_sign[s.end..])
        } else {
            let after = &from_sign[1..];
            if !after.iter().all(|b| matches!(b, b' ' | b'\t')) {
                break;
            }
            (0, &after[after.len()..])
        };
        if !matches!(next.first(), None | Some(b' ' | b'\t')) {
            break;
        }
        out.push((c_int(t.value), c_int(skew)));
        if out.len() > 3 {
            out.remove(0);
        }
        rest = next;
    }
    out
}

/// The value a C `int` holds after assigning `v` (two's-complement wrap).
fn c_int(v: i64) -> i64 {
    i64::from(v as i32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::args::Options;
    use crate::core::policy::test_support::*;
    use crate::core::policy::*;

    #[test]
    fn skew_resync_sequence_and_gaps() {
        let o = Options::default();
        let mut f = file("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH");
        let expect = [
            (
                PassVerdict::Failure,
                "2SH3V3GDW7ZNMGYE\n\" RESETTING_TIME_SKEW 12000-1000\n\" TOTP_AUTH",
            ),
            (
                PassVerdict::Failure,
                "2SH3V3GDW7ZNMGYE\n\" RESETTING_TIME_SKEW 12000-1000 12001-1000\n\" TOTP_AUTH",
            ),
        ];
        for (i, (verdict, bytes)) in expect.iter().enumerate() {
            let d = prompted(&mut f, &code(11000 + i as u64), (12000 + i as i64) * 30, &o);
            assert_eq!(d.verdict, *verdict);
            assert_eq!(std::str::from_utf8(f.as_bytes()).unwrap(), *bytes);
        }
        let d = prompted(&mut f, &code(11002), 12002 * 30, &o);
        assert!(matches!(d.verdict, PassVerdict::Success(_)));
        assert_eq!(
            f.as_bytes(),
            b"2SH3V3GDW7ZNMGYE\n\" TIME_SKEW -1000\n\" RESETTING_TIME_SKEW \n\" TOTP_AUTH"
        );
        let d = prompted(&mut f, &code(11003), 12003 * 30, &o);
        assert!(matches!(d.verdict, PassVerdict::Success(_)));
        assert!(d.changes.is_empty());

        // Steps 12000, 12003, 12005: gaps of 3 are too big.
        let mut g = file("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n");
        for step in [12000u64, 12003, 12005] {
            let d = prompted(&mut g, &code(step - 1000), step as i64 * 30, &o);
            assert_eq!(d.verdict, PassVerdict::Failure, "step {step}");
        }
        assert_eq!(g.get("TIME_SKEW"), None);
    }

    #[test]
    fn resetting_tokens_with_a_bare_sign_read_as_zero_skew() {
        // What Debian's module makes of these, as found by the randomised differential test.
        assert_eq!(parse_resetting(b"5+"), vec![(5, 0)]);
        assert_eq!(parse_resetting(b"5-"), vec![(5, 0)]);
        assert_eq!(parse_resetting(b"5+\t"), vec![(5, 0)]);
        assert_eq!(parse_resetting(b"5+1 6+"), vec![(5, 1), (6, 0)]);
        assert_eq!(parse_resetting(b"5+x"), vec![]);
        assert_eq!(parse_resetting(b"5+ 9999+1"), vec![]);
        assert_eq!(
            parse_resetting(b"9998-9223372036854775808"),
            vec![(9998, 0)]
        );
        assert_eq!(parse_resetting(b"4294977294+5"), vec![(9998, 5)]);
        assert_eq!(parse_resetting(b"5+4294967301"), vec![(5, 5)]);
        assert_eq!(parse_resetting(b"9998-99999999999999999999"), vec![]);
        assert_eq!(parse_resetting(b"+"), vec![]);
        assert_eq!(parse_resetting(b"x5+"), vec![]);
        assert_eq!(parse_resetting(b"1-2 3+4"), vec![(1, -2), (3, 4)]);
        assert_eq!(
            parse_resetting(b"1+1 2+2 3+3 4+4"),
            vec![(2, 2), (3, 3), (4, 4)]
        );
        let o = Options::default();
        let mut f = file("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" RESETTING_TIME_SKEW 5+\n");
        let _ = prompted(&mut f, &code(10002), 300_000 - 30 * 2, &o);
        assert_eq!(f.get("RESETTING_TIME_SKEW"), Some(&b"5+0 9998+4"[..]));
    }

    #[test]
    fn skew_resync_code_is_recorded_when_reuse_is_disallowed() {
        let o = Options::default();
        let mut f = file("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n");
        for i in 0..3u64 {
            let _ = prompted(&mut f, &code(11000 + i), (12000 + i as i64) * 30, &o);
        }
        assert_eq!(f.get("TIME_SKEW"), Some(&b"-1000"[..]));
        assert_eq!(f.get("DISALLOW_REUSE"), Some(&b"11002"[..]));
        // The same code again within its window is now refused.
        let d = prompted(&mut f, &code(11002), 12002 * 30, &o);
        assert_eq!(d.verdict, PassVerdict::Failure);
    }
}
