//! Rate limiting: the `RATE_LIMIT n m [t...]` line and the attempt it records.

use crate::core::cnum::strtoul;
use crate::core::file::SecretFile;

pub(super) enum RateLimit {
    Absent,
    Recorded,
    Exceeded,
    InvalidOption,
    InvalidList,
}

/// Parses `RATE_LIMIT n m [t...]`, adds `now`, drops timestamps outside `[now-m, now]`,
/// and keeps the newest `n` when there are more (the attempt is then refused).
pub(super) fn rate_limit(file: &mut SecretFile, now: i64) -> RateLimit {
    let Some(value) = file.get("RATE_LIMIT") else {
        return RateLimit::Absent;
    };
    let attempts = strtoul(value, 10);
    if !attempts.converted()
        || attempts.overflow
        || !(1..=100).contains(&attempts.value)
        || !matches!(value.get(attempts.end), Some(b' ' | b'\t'))
    {
        return RateLimit::InvalidOption;
    }
    let rest = &value[attempts.end..];
    let interval = strtoul(rest, 10);
    if !interval.converted() || interval.overflow || !(1..=3600).contains(&interval.value) {
        return RateLimit::InvalidOption;
    }
    let mut rest = &rest[interval.end..];
    // Timestamps are 32-bit unsigned, as the original stores them.
    let now = now as u32;
    let mut stamps = vec![now];
    while !rest.is_empty() {
        if !matches!(rest[0], b' ' | b'\t') {
            return RateLimit::InvalidList;
        }
        let t = strtoul(rest, 10);
        if !t.converted() || t.overflow {
            return RateLimit::InvalidList;
        }
        stamps.push(t.value as u32);
        rest = &rest[t.end..];
    }
    stamps.sort_unstable();
    let oldest = now.saturating_sub(interval.value as u32);
    stamps.retain(|&t| t >= oldest && t <= now);
    let n = attempts.value as usize;
    let exceeded = stamps.len() > n;
    if exceeded {
        stamps.drain(..stamps.len() - n);
    }
    let mut line = format!("{} {}", attempts.value, interval.value);
    for t in &stamps {
        line.push(' ');
        line.push_str(&t.to_string());
    }
    if file.set("RATE_LIMIT", line.as_bytes()).is_err() {
        return RateLimit::InvalidList;
    }
    if exceeded {
        RateLimit::Exceeded
    } else {
        RateLimit::Recorded
    }
}

#[cfg(test)]
mod tests {
    use crate::core::args::Options;
    use crate::core::policy::test_support::*;
    use crate::core::policy::*;

    #[test]
    fn rate_limit_examples_from_the_spec() {
        let o = Options::default();
        let mut f = file("S\n\" RATE_LIMIT 2 30 299990 299995\n");
        let d = before_prompt(&mut f, &ctx(300_000, &o));
        assert_eq!(d.verdict, PreVerdict::RateLimited);
        assert_eq!(f.get("RATE_LIMIT"), Some(&b"2 30 299995 300000"[..]));
        let d = before_prompt(&mut f, &ctx(300_001, &o));
        assert_eq!(d.verdict, PreVerdict::RateLimited);
        assert_eq!(f.get("RATE_LIMIT"), Some(&b"2 30 300000 300001"[..]));
        assert_eq!(
            texts(&d.logs)[0],
            "Too many concurrent login attempts (\"/f\"). Please try again."
        );
    }

    #[test]
    fn rate_limit_drops_old_and_future_timestamps_and_sorts_correctly() {
        let o = Options::default();
        // 4294967291 is "-5" as stored by the original; it is in the future and dropped
        // instead of breaking the sort.
        let mut f = file("S\n\" RATE_LIMIT 3 30 100 299999 4294967291 299990\n");
        let d = before_prompt(&mut f, &ctx(300_000, &o));
        assert_eq!(d.verdict, PreVerdict::Continue);
        assert_eq!(f.get("RATE_LIMIT"), Some(&b"3 30 299990 299999 300000"[..]));
    }

    #[test]
    fn rate_limit_syntax_errors() {
        let o = Options::default();
        for (value, message) in [
            ("0 30", "Invalid RATE_LIMIT option. Check \"/f\"."),
            ("101 30", "Invalid RATE_LIMIT option. Check \"/f\"."),
            ("3 3601", "Invalid RATE_LIMIT option. Check \"/f\"."),
            ("3", "Invalid RATE_LIMIT option. Check \"/f\"."),
            (
                "3 30x",
                "Invalid list of timestamps in RATE_LIMIT. Check \"/f\".",
            ),
            (
                "3 30 ",
                "Invalid list of timestamps in RATE_LIMIT. Check \"/f\".",
            ),
            (
                "3 30 1 x",
                "Invalid list of timestamps in RATE_LIMIT. Check \"/f\".",
            ),
        ] {
            let mut f = file(&format!("S\n\" RATE_LIMIT {value}\n"));
            let before = f.clone();
            let d = before_prompt(&mut f, &ctx(300_000, &o));
            assert_eq!(d.verdict, PreVerdict::RateLimitInvalid, "{value:?}");
            assert!(d.changes.is_empty());
            assert_eq!(f, before);
            assert_eq!(texts(&d.logs), vec![message.to_string()], "{value:?}");
        }
    }
}
