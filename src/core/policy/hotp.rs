//! HOTP: the counter-based check and the window ahead of `HOTP_COUNTER`.

use super::check::Check;
use super::values::{code_bound, digits_or_log, file_digits, window_size};
use super::{Change, Ctx, LoopState};
use crate::core::file::SecretFile;
use crate::core::log::Logs;
use crate::core::otp::{Algorithm, OtpKey};

/// HOTP codes always use HMAC-SHA1, as in the fork (its `ALGORITHM` is for TOTP only); their
/// length follows `DIGITS`.
#[allow(clippy::too_many_arguments)]
pub(super) fn check_hotp(
    file: &mut SecretFile,
    secret: &[u8],
    code: u32,
    counter: i64,
    state: &mut LoopState,
    ctx: &Ctx<'_>,
    changes: &mut Vec<Change>,
    logs: &mut Logs,
) -> Check {
    let digits = file_digits(file);
    if code >= code_bound(digits) {
        return Check::NoMatch;
    }
    let Some(digits) = digits_or_log(digits, ctx, logs) else {
        return Check::Error;
    };
    let Some(window) = window_size(file, ctx, logs) else {
        return Check::Error;
    };
    let Some(key) = OtpKey::with(secret, Algorithm::Sha1, digits) else {
        return Check::Error;
    };
    let counters = (0..window as i64).map(|i| counter.wrapping_add(i) as u64);
    let matched = key
        .find(counters, code)
        .map(|i| counter.wrapping_add(i as i64));
    match matched {
        Some(c) => {
            let next = c.wrapping_add(1);
            if file
                .set("HOTP_COUNTER", next.to_string().as_bytes())
                .is_err()
            {
                return Check::Error;
            }
            changes.push(Change::HotpCounter(next));
            state.hotp_missed = false;
            Check::Match
        }
        None => {
            state.hotp_missed = true;
            Check::NoMatch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::args::Options;
    use crate::core::policy::test_support::*;
    use crate::core::policy::*;

    #[test]
    fn hotp_window_looks_forward_only() {
        let o = Options::default();
        let mut f = file("2SH3V3GDW7ZNMGYE\n\" HOTP_COUNTER 3\n");
        let mut state = LoopState::default();
        let k = secret();
        let five = code(5);
        let passes = [Pass {
            source: Source::Prompt,
            wants: Wanted::Verification,
            candidate: Some(five.as_bytes()),
        }];
        let d = check_passes(&mut f, Some(&k[..]), &passes, &mut state, &ctx(300_000, &o));
        assert!(matches!(d.verdict, PassVerdict::Success(_)));
        assert_eq!(d.changes, vec![Change::HotpCounter(6)]);
        assert_eq!(f.get("HOTP_COUNTER"), Some(&b"6"[..]));
        // A code behind the counter is a miss, and the counter advances once afterwards.
        let two = code(2);
        let passes = [Pass {
            source: Source::Prompt,
            wants: Wanted::Verification,
            candidate: Some(two.as_bytes()),
        }];
        let d = check_passes(&mut f, Some(&k[..]), &passes, &mut state, &ctx(300_000, &o));
        assert_eq!(d.verdict, PassVerdict::Undecided);
        assert!(state.hotp_missed);
        let fin = finish(&mut f, false, &state, &ctx(300_000, &o));
        assert_eq!(fin.changes, vec![Change::HotpAdvanced(7)]);
        assert_eq!(texts(&fin.logs), vec!["Invalid verification code for u"]);
    }

    #[test]
    fn hotp_uses_sha1_and_the_files_digits() {
        let o = Options::default();
        // oathtool -c 5 -d 8: 05932068. ALGORITHM is for TOTP only, as in the fork.
        let mut f = file("2SH3V3GDW7ZNMGYE\n\" HOTP_COUNTER 3\n\" DIGITS 8\n\" ALGORITHM SHA512\n");
        let d = prompted(&mut f, "05932068", 300_000, &o);
        assert!(matches!(d.verdict, PassVerdict::Success(_)));
        assert_eq!(d.changes, vec![Change::HotpCounter(6)]);
        let seven = code_with(Algorithm::Sha1, 7, 6);
        let mut f = file("2SH3V3GDW7ZNMGYE\n\" HOTP_COUNTER 6\n\" DIGITS 7\n");
        let d = prompted(&mut f, &seven, 300_000, &o);
        assert!(matches!(d.verdict, PassVerdict::Success(_)));
        let mut bad = file("2SH3V3GDW7ZNMGYE\n\" HOTP_COUNTER 3\n\" DIGITS 10\n");
        let d = prompted(&mut bad, &code(5), 300_000, &o);
        assert_eq!(d.verdict, PassVerdict::Failure);
        assert_eq!(texts(&d.logs), vec!["Invalid DIGITS option in \"/f\""]);
    }
}
