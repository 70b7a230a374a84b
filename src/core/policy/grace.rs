//! The grace period: looking up and recording `LAST0`..`LAST9` for a remote host.

use super::{Change, Ctx, GRACE_SLOTS};
use crate::core::catalogue;
use crate::core::cnum::{is_c_space, span, strtoul};
use crate::core::file::SecretFile;
use crate::core::log::{LogLine, Logs, printable};

/// The longest remote host a LAST line holds (what the original reads back).
const MAX_HOST_LEN: usize = 255;

/// Whether PAM_RHOST can be stored in a LAST line as one token and read back as the same
/// host: 1 to 255 bytes with no white space, control character or NUL. Such a host could
/// add, split or change a line or a token of the file, so it is never recorded and never
/// gets a grace period. (Hosts with other characters, such as `_`, are kept as upstream
/// keeps them.)
#[must_use]
pub fn storable_host(rhost: &[u8]) -> bool {
    (1..=MAX_HOST_LEN).contains(&rhost.len()) && rhost.iter().all(|&b| b > b' ' && b != 0x7f)
}

fn is_host_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b':' | b'%' | b'.' | b'-')
}

pub(super) fn unstorable_host_line(rhost: &[u8], path: &str, consequence: &str) -> LogLine {
    let mut shown = printable(&rhost[..rhost.len().min(2 * MAX_HOST_LEN)]);
    if rhost.len() > 2 * MAX_HOST_LEN {
        shown.push_str("...");
    }
    catalogue::host_not_storable(&shown, path, consequence)
}

/// Whether a LAST entry for this remote host is younger than `grace_period` seconds.
pub(super) fn within_grace_period(file: &SecretFile, ctx: &Ctx<'_>) -> bool {
    if ctx.options.grace_period <= 0 {
        return false;
    }
    let Some(rhost) = ctx.rhost.filter(|h| storable_host(h)) else {
        return false;
    };
    for slot in 0..GRACE_SLOTS {
        let Some(value) = file.get(&format!("LAST{slot}")) else {
            continue;
        };
        let Some((host, when)) = parse_last_lookup(value) else {
            continue;
        };
        if host == rhost {
            let when = i128::from(when);
            let now = i128::from(ctx.now);
            return when <= now && when + i128::from(ctx.options.grace_period) > now;
        }
    }
    false
}

/// A LAST value read for lookup: a white-space delimited host, then a number.
fn parse_last_lookup(value: &[u8]) -> Option<(&[u8], u64)> {
    let start = value.iter().position(|b| !is_c_space(*b))?;
    let host_len = value[start..]
        .iter()
        .take_while(|b| !is_c_space(**b))
        .count();
    let host = &value[start..start + host_len];
    let when = strtoul(&value[start + host_len..], 10);
    when.converted().then_some((host, when.value))
}

/// A LAST value read for recording: up to 255 characters of `[0-9A-Za-z:%.-]`, then a
/// number.
fn parse_last_record(value: &[u8]) -> Option<(&[u8], u64)> {
    let host_len = value
        .iter()
        .take(MAX_HOST_LEN)
        .take_while(|&&b| is_host_char(b))
        .count();
    if host_len == 0 {
        return None;
    }
    let rest = &value[host_len..];
    let rest = &rest[span(rest, b" \t\n\r\x0b\x0c")..];
    let when = strtoul(rest, 10);
    when.converted().then_some((&value[..host_len], when.value))
}

pub(super) fn record_grace(
    file: &mut SecretFile,
    ctx: &Ctx<'_>,
    changes: &mut Vec<Change>,
    logs: &mut Logs,
) {
    let Some(rhost) = ctx.rhost else {
        logs.add(catalogue::grace_not_stored());
        changes.push(Change::GraceNotRecorded);
        return;
    };
    if !storable_host(rhost) {
        logs.add(unstorable_host_line(
            rhost,
            ctx.path,
            "grace period not recorded",
        ));
        return;
    }
    let now = i128::from(ctx.now);
    let mut matched = None;
    let mut free = None;
    let mut oldest_past: Option<(usize, u64)> = None;
    let mut oldest_any: Option<(usize, u64)> = None;
    for slot in 0..GRACE_SLOTS {
        let Some(value) = file.get(&format!("LAST{slot}")) else {
            free = free.or(Some(slot));
            continue;
        };
        let Some((host, when)) = parse_last_record(value) else {
            logs.add(catalogue::malformed_last(slot));
            continue;
        };
        if host == rhost {
            matched = Some(slot);
            break;
        }
        if oldest_any.is_none_or(|(_, t)| when < t) {
            oldest_any = Some((slot, when));
        }
        if i128::from(when) < now && oldest_past.is_none_or(|(_, t)| when < t) {
            oldest_past = Some((slot, when));
        }
    }
    // The original falls through to a bogus "LAST/" key when every slot is in use with a
    // timestamp >= now; reusing the oldest well-formed slot keeps the file clean.
    let slot = matched
        .or(free)
        .or(oldest_past.map(|(s, _)| s))
        .or(oldest_any.map(|(s, _)| s));
    let Some(slot) = slot else {
        logs.add(catalogue::last_not_set());
        return;
    };
    let mut value = rhost.to_vec();
    value.push(b' ');
    value.extend_from_slice(ctx.now.to_string().as_bytes());
    if file.set(&format!("LAST{slot}"), &value).is_ok() {
        changes.push(Change::GraceRecorded);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::args::Options;
    use crate::core::policy::test_support::*;
    use crate::core::policy::*;

    #[test]
    fn grace_period_needs_the_option_and_a_past_timestamp() {
        let with = Options {
            grace_period: 60,
            ..Options::default()
        };
        let without = Options::default();
        let mut f = file("S\n\" LAST0 10.1.2.3 299990\n");
        assert_eq!(
            before_prompt(&mut f, &ctx(300_000, &with)).verdict,
            PreVerdict::Grace
        );
        assert_eq!(
            before_prompt(&mut f, &ctx(300_050, &with)).verdict,
            PreVerdict::Continue
        );
        assert_eq!(
            before_prompt(&mut f, &ctx(300_000, &without)).verdict,
            PreVerdict::Continue
        );
        let mut future = file("S\n\" LAST0 10.1.2.3 400000\n");
        assert_eq!(
            before_prompt(&mut future, &ctx(300_000, &with)).verdict,
            PreVerdict::Continue
        );
        // Another host gets no grace.
        let mut other = file("S\n\" LAST0 10.9.9.9 299990\n");
        assert_eq!(
            before_prompt(&mut other, &ctx(300_000, &with)).verdict,
            PreVerdict::Continue
        );
    }

    #[test]
    fn grace_success_overrides_the_rate_limit_and_writes_nothing() {
        let o = Options {
            grace_period: 60,
            ..Options::default()
        };
        let mut f = file("S\n\" RATE_LIMIT 1 30 299999\n\" LAST0 10.1.2.3 299990\n");
        let d = before_prompt(&mut f, &ctx(300_000, &o));
        assert_eq!(d.verdict, PreVerdict::Grace);
        assert!(d.changes.is_empty());
        assert_eq!(
            texts(&d.logs),
            vec![
                "Too many concurrent login attempts (\"/f\"). Please try again.",
                "within grace period: \"u\""
            ]
        );
    }

    #[test]
    fn grace_record_slots() {
        let o = Options {
            grace_period: 60,
            ..Options::default()
        };
        let c = ctx(300_000, &o);
        // New entries go into the lowest free slot, inserted after line 1.
        let mut f = file("S\n\" TOTP_AUTH\n");
        let d = finish(&mut f, true, &LoopState::default(), &c);
        assert_eq!(d.changes, vec![Change::GraceRecorded]);
        assert_eq!(f.as_bytes(), b"S\n\" LAST0 10.1.2.3 300000\n\" TOTP_AUTH\n");
        // The same host reuses its slot.
        let d = finish(&mut f, true, &LoopState::default(), &ctx(300_100, &o));
        assert_eq!(d.changes, vec![Change::GraceRecorded]);
        assert_eq!(f.get("LAST0"), Some(&b"10.1.2.3 300100"[..]));
        // All ten slots taken by other hosts: the oldest one in the past is replaced.
        let mut full = String::from("S\n");
        for i in 0..10 {
            full.push_str(&format!(
                "\" LAST{i} 10.0.0.{i} {}\n",
                299_000 + (i * 7) % 10
            ));
        }
        let mut f = file(&full);
        let _ = finish(&mut f, true, &LoopState::default(), &c);
        assert_eq!(f.get("LAST0"), Some(&b"10.1.2.3 300000"[..]));
        // All in the future: no bogus LAST/ key; the oldest well-formed slot is reused.
        let mut future = String::from("S\n");
        for i in 0..10 {
            future.push_str(&format!("\" LAST{i} 10.0.0.{i} {}\n", 400_000 - i));
        }
        let mut f = file(&future);
        let _ = finish(&mut f, true, &LoopState::default(), &c);
        assert!(!String::from_utf8_lossy(f.as_bytes()).contains("LAST/"));
        assert_eq!(f.get("LAST9"), Some(&b"10.1.2.3 300000"[..]));
        // No remote host: logged, and the file is rewritten unchanged.
        let no_rhost = Ctx { rhost: None, ..c };
        let mut f = file("S\n");
        let d = finish(&mut f, true, &LoopState::default(), &no_rhost);
        assert_eq!(d.changes, vec![Change::GraceNotRecorded]);
        assert_eq!(f.as_bytes(), b"S\n");
        assert!(
            texts(&d.logs)
                .contains(&"Failed to store grace_period timestamp in config".to_string())
        );
    }

    #[test]
    fn a_remote_host_that_could_change_the_file_is_never_recorded_nor_granted_grace() {
        let o = Options {
            grace_period: 60,
            ..Options::default()
        };
        let hostile: [&[u8]; 9] = [
            b"10.0.0.1\n87654321",
            b"10.0.0.1\n\" WINDOW_SIZE 17",
            b"10.0.0.1\r\" DISALLOW_REUSE",
            b"10.0.0.1 99",
            b"10.0.0.1\t99",
            b"a\0b",
            b"a\x7fb",
            b"",
            &[b'a'; 256],
        ];
        for rhost in hostile {
            let c = Ctx {
                rhost: Some(rhost),
                ..ctx(300_000, &o)
            };
            let original = b"S\n\" TOTP_AUTH\n12345678\n".to_vec();
            let mut f = file(std::str::from_utf8(&original).unwrap());
            let d = finish(&mut f, true, &LoopState::default(), &c);
            assert!(d.changes.is_empty(), "{rhost:?}: {:?}", d.changes);
            assert_eq!(f.as_bytes(), original.as_slice(), "{rhost:?}");
            let logged = texts(&d.logs).join("\n");
            assert!(
                logged.contains("cannot be stored in") && logged.contains("not recorded"),
                "{rhost:?}: {logged}"
            );
            for line in texts(&d.logs) {
                assert!(!line.contains(['\n', '\r', '\0']), "{line:?}");
            }

            // A LAST line planted for a host with blanks never grants grace either.
            let mut planted = file("S\n\" LAST0 10.0.0.1 299990\n");
            let pre = before_prompt(&mut planted, &c);
            assert_ne!(pre.verdict, PreVerdict::Grace, "{rhost:?}");
            assert!(
                texts(&pre.logs)
                    .iter()
                    .any(|l| l.contains("no grace period for it")),
                "{rhost:?}"
            );
        }
        // Every host that is one token is still recorded, as before.
        for rhost in [
            &b"10.1.2.3"[..],
            b"fe80::1%eth0",
            b"host-1.example.org",
            b"bad_host",
            &[b'a'; 255],
        ] {
            let c = Ctx {
                rhost: Some(rhost),
                ..ctx(300_000, &o)
            };
            let mut f = file("S\n");
            let d = finish(&mut f, true, &LoopState::default(), &c);
            assert_eq!(d.changes, vec![Change::GraceRecorded]);
            assert!(storable_host(rhost));
        }
    }

    #[test]
    fn malformed_last_lines_are_logged_and_skipped() {
        let o = Options {
            grace_period: 60,
            ..Options::default()
        };
        let mut f = file("S\n\" LAST0 bad_host 1\n");
        let d = finish(&mut f, true, &LoopState::default(), &ctx(300_000, &o));
        assert!(texts(&d.logs).contains(&"Malformed LAST0 line".to_string()));
        assert_eq!(f.get("LAST1"), Some(&b"10.1.2.3 300000"[..]));
        assert_eq!(f.get("LAST0"), Some(&b"bad_host 1"[..]));
    }
}
