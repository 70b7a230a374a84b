//! An independent model of the parts of the secret file format and of the algorithms that
//! the allowances of `tests/reference_random.rs` need (spec §2.3, §3.3, §3.6, §3.7): reading
//! and setting option lines, lenient base32, HOTP, the grace lookup, the LAST slot choice,
//! rate limiting and DISALLOW_REUSE pruning. Written from the specification, not from
//! `src/`, so that our module's side of an allowed difference is checked against something
//! other than itself.

/// Whether `b` ends a line.
fn eol(b: u8) -> bool {
    b == b'\r' || b == b'\n'
}

/// Start offsets of all lines (a new line starts after every run of CR/LF).
fn line_starts(buf: &[u8]) -> Vec<usize> {
    let mut v = vec![0];
    let mut i = 0;
    while i < buf.len() {
        if eol(buf[i]) {
            while i < buf.len() && eol(buf[i]) {
                i += 1;
            }
            if i < buf.len() {
                v.push(i);
            }
        } else {
            i += 1;
        }
    }
    v
}

/// Whether the line at `start` is the option line `" KEY`.
fn is_key_line(buf: &[u8], start: usize, key: &str) -> bool {
    let rest = &buf[start..];
    let head = format!("\" {key}");
    rest.starts_with(head.as_bytes())
        && rest
            .get(head.len())
            .is_none_or(|b| matches!(b, b' ' | b'\t' | b'\r' | b'\n'))
}

fn line_end(buf: &[u8], start: usize) -> usize {
    buf[start..]
        .iter()
        .position(|b| eol(*b))
        .map_or(buf.len(), |p| start + p)
}

fn skip_eol_run(buf: &[u8], mut i: usize) -> usize {
    while i < buf.len() && eol(buf[i]) {
        i += 1;
    }
    i
}

/// The value of the first `" KEY` line (spec §2.1).
pub fn get_cfg(buf: &[u8], key: &str) -> Option<Vec<u8>> {
    let start = line_starts(buf)
        .into_iter()
        .find(|&s| is_key_line(buf, s, key))?;
    let mut i = start + 2 + key.len();
    while i < buf.len() && matches!(buf[i], b' ' | b'\t') {
        i += 1;
    }
    Some(buf[i..line_end(buf, start)].to_vec())
}

/// Sets `" KEY VALUE` by the "set" rule (spec §2.3).
pub fn set_cfg(buf: &[u8], key: &str, value: &[u8]) -> Vec<u8> {
    let mut line = format!("\" {key} ").into_bytes();
    line.extend_from_slice(value);
    line.push(b'\n');
    let starts = line_starts(buf);
    let first = starts
        .iter()
        .copied()
        .find(|&s| s > 0 && is_key_line(buf, s, key));
    let (mut out, resume) = match first {
        Some(s) => {
            let end = skip_eol_run(buf, line_end(buf, s));
            let mut out = buf[..s].to_vec();
            out.extend_from_slice(&line);
            (out, end)
        }
        None => {
            let at = skip_eol_run(buf, line_end(buf, 0));
            let mut out = buf[..at].to_vec();
            out.extend_from_slice(&line);
            (out, at)
        }
    };
    // Later lines with the same key go, with the CR/LF run after them.
    let rest = &buf[resume..];
    let mut i = 0;
    while i < rest.len() {
        let end = line_end(rest, i);
        let next = skip_eol_run(rest, end);
        if !is_key_line(rest, i, key) {
            out.extend_from_slice(&rest[i..next]);
        }
        i = next;
    }
    out
}

/// The key of line 1 with the module's lenient base32 (spec §2.2), or `None` if invalid.
pub fn decode_secret(buf: &[u8]) -> Option<Vec<u8>> {
    let line = &buf[..buf.iter().position(|b| *b == b'\n').unwrap_or(buf.len())];
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut out = Vec::new();
    for &b in line {
        let c = match b.to_ascii_uppercase() {
            b' ' | b'\t' | b'\r' | b'\n' | b'-' => continue,
            b'0' => b'O',
            b'1' => b'L',
            b'8' => b'B',
            other => other,
        };
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'2'..=b'7' => c - b'2' + 26,
            _ => return None,
        };
        acc = (acc << 5) | u32::from(v);
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    (!out.is_empty()).then_some(out)
}

/// The 6-digit HOTP value of `key` at `counter`.
pub use crate::support::otp::hotp_raw as hotp;

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

/// C `strtoul` base 10: (value, bytes consumed); `None` when no digits were read or the
/// value overflowed.
pub fn strtoul(s: &[u8]) -> Option<(u64, usize)> {
    let mut i = 0;
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let start = i;
    let mut v: u64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = v.checked_mul(10)?.checked_add(u64::from(s[i] - b'0'))?;
        i += 1;
    }
    if i == start {
        return None;
    }
    Some((if neg { v.wrapping_neg() } else { v }, i))
}

/// C `strtol` base 10 as `atoi`-like reading (garbage = 0).
pub fn strtol_or_zero(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && is_space(s[i]) {
        i += 1;
    }
    let neg = s.get(i) == Some(&b'-');
    if matches!(s.get(i), Some(b'-' | b'+')) {
        i += 1;
    }
    let mut v: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        v = v.saturating_mul(10).saturating_add(i64::from(s[i] - b'0'));
        i += 1;
    }
    if neg { -v } else { v }
}

/// A LAST value read for the lookup: a whitespace-delimited host, then a number.
fn last_lookup(value: &[u8]) -> Option<(Vec<u8>, u64)> {
    let start = value.iter().position(|b| !is_space(*b))?;
    let len = value[start..].iter().take_while(|b| !is_space(**b)).count();
    let (when, _) = strtoul(&value[start + len..])?;
    Some((value[start..start + len].to_vec(), when))
}

/// A LAST value read for recording: `[0-9A-Za-z:.-]` (and `%` when `percent`), at most
/// 255 characters, then a number.
fn last_record(value: &[u8], percent: bool) -> Option<(Vec<u8>, u64)> {
    let len = value
        .iter()
        .take(255)
        .take_while(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'-') || (percent && **b == b'%')
        })
        .count();
    if len == 0 {
        return None;
    }
    let (when, _) = strtoul(&value[len..])?;
    Some((value[..len].to_vec(), when))
}

/// The LAST lines of a file, by slot, as the module's "get" sees them.
fn last_values(buf: &[u8]) -> Vec<Option<Vec<u8>>> {
    (0..10).map(|i| get_cfg(buf, &format!("LAST{i}"))).collect()
}

/// Debian 1.08's grace lookup (§3.7): `None` when it cannot be predicted (1.08 builds a
/// sscanf format out of an RHOST containing `%`).
pub fn grace_reference(buf: &[u8], rhost: Option<&str>, grace: i64, now: i64) -> Option<bool> {
    let Some(rhost) = rhost else {
        return Some(false);
    };
    let values = last_values(buf);
    if rhost.contains('%') && values.iter().any(Option::is_some) {
        return None;
    }
    for v in values.into_iter().flatten() {
        if let Some((host, when)) = last_lookup(&v)
            && host == rhost.as_bytes()
        {
            return Some(i128::from(when) + i128::from(grace) > i128::from(now));
        }
    }
    Some(false)
}

/// Our grace lookup (COMPATIBILITY.md #5): needs `grace_period` and a timestamp that is
/// not in the future.
pub fn grace_ours(buf: &[u8], rhost: Option<&str>, grace: i64, now: i64) -> bool {
    let Some(rhost) = rhost else { return false };
    if grace <= 0 {
        return false;
    }
    for v in last_values(buf).into_iter().flatten() {
        if let Some((host, when)) = last_lookup(&v)
            && host == rhost.as_bytes()
        {
            let when = i128::from(when);
            return when <= i128::from(now) && when + i128::from(grace) > i128::from(now);
        }
    }
    false
}

/// Which `LAST` key a recording writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    Key(usize),
    /// Debian's bogus `LAST/` key.
    Slash,
    /// Nothing is recorded (ours, when every slot is malformed).
    None,
}

/// The slot a recording for `rhost` at `now` uses (§3.7). `ours`: `%` allowed in hosts,
/// and the oldest well-formed slot instead of `LAST/` (COMPATIBILITY.md #6).
pub fn record_slot(buf: &[u8], rhost: &str, now: i64, ours: bool) -> Slot {
    let mut free = None;
    let mut oldest_past: Option<(usize, u64)> = None;
    let mut oldest_any: Option<(usize, u64)> = None;
    for (slot, v) in last_values(buf).into_iter().enumerate() {
        let Some(v) = v else {
            free = free.or(Some(slot));
            continue;
        };
        let Some((host, when)) = last_record(&v, ours) else {
            continue;
        };
        if host == rhost.as_bytes() {
            return Slot::Key(slot);
        }
        if oldest_any.is_none_or(|(_, t)| when < t) {
            oldest_any = Some((slot, when));
        }
        if i128::from(when) < i128::from(now) && oldest_past.is_none_or(|(_, t)| when < t) {
            oldest_past = Some((slot, when));
        }
    }
    if let Some(s) = free.or(oldest_past.map(|(s, _)| s)) {
        return Slot::Key(s);
    }
    match (ours, oldest_any) {
        (true, Some((s, _))) => Slot::Key(s),
        (true, None) => Slot::None,
        (false, _) => Slot::Slash,
    }
}

/// `buf` with the grace recording for `rhost` at `now` applied at `slot`.
pub fn record_last(buf: &[u8], slot: Slot, rhost: &str, now: i64) -> Vec<u8> {
    let value = format!("{rhost} {now}");
    match slot {
        Slot::Key(s) => set_cfg(buf, &format!("LAST{s}"), value.as_bytes()),
        Slot::Slash => set_cfg(buf, "LAST/", value.as_bytes()),
        Slot::None => buf.to_vec(),
    }
}

/// Rate limiting with a correct sort (§3.6, COMPATIBILITY.md #7): the new `RATE_LIMIT`
/// value and whether the attempt exceeded the limit; `None` for a malformed line.
pub fn rate_limit(value: &[u8], now: i64) -> Option<(Vec<u8>, bool)> {
    let (n, used) = strtoul(value)?;
    if !(1..=100).contains(&n) || !matches!(value.get(used), Some(b' ' | b'\t')) {
        return None;
    }
    let rest = &value[used..];
    let (m, used) = strtoul(rest)?;
    if !(1..=3600).contains(&m) {
        return None;
    }
    let mut rest = &rest[used..];
    let now = now as u32;
    let mut stamps = vec![now];
    while !rest.is_empty() {
        if !matches!(rest[0], b' ' | b'\t') {
            return None;
        }
        let (t, used) = strtoul(rest)?;
        stamps.push(t as u32);
        rest = &rest[used..];
    }
    stamps.sort_unstable();
    let oldest = now.saturating_sub(m as u32);
    stamps.retain(|&t| t >= oldest && t <= now);
    let exceeded = stamps.len() > n as usize;
    if exceeded {
        stamps.drain(..stamps.len() - n as usize);
    }
    let mut line = format!("{n} {m}");
    for t in stamps {
        line.push_str(&format!(" {t}"));
    }
    Some((line.into_bytes(), exceeded))
}

/// The stored rate-limit timestamps of a well-formed value (as the module's 32-bit values).
pub fn rate_limit_stamps(value: &[u8]) -> Vec<u32> {
    let mut out = Vec::new();
    let Some((_, used)) = strtoul(value) else {
        return out;
    };
    let mut rest = &value[used..];
    let Some((_, used)) = strtoul(rest) else {
        return out;
    };
    rest = &rest[used..];
    while let Some((t, used)) = strtoul(rest) {
        out.push(t as u32);
        rest = &rest[used..];
    }
    out
}

/// What accepting TOTP counter `c` does to a DISALLOW_REUSE list (§3.3): `Err(())` when the
/// list is malformed, `Ok(None)` when `c` is already in it, else the new list.
#[allow(clippy::result_unit_err)]
pub fn disallow_reuse(list: &[u8], c: i64, window: i64) -> Result<Option<Vec<u8>>, ()> {
    let mut entries: Vec<(u64, &[u8])> = Vec::new();
    let mut pos = 0;
    while pos < list.len() {
        let (v, used) = strtoul(&list[pos..]).ok_or(())?;
        let end = pos + used;
        if !matches!(list.get(end), None | Some(b' ' | b'\t')) {
            return Err(());
        }
        let mut stop = end;
        while stop < list.len() && matches!(list[stop], b' ' | b'\t') {
            stop += 1;
        }
        entries.push((v, &list[pos..stop]));
        pos = stop;
    }
    if entries.iter().any(|(v, _)| *v == c as u64) {
        return Ok(None);
    }
    let mut kept = Vec::new();
    for (v, text) in entries {
        if (i128::from(v as i64) - i128::from(c)).abs() < i128::from(window) {
            kept.extend_from_slice(text);
        }
    }
    if !kept.is_empty() {
        kept.push(b' ');
    }
    kept.extend_from_slice(c.to_string().as_bytes());
    Ok(Some(kept))
}

/// The skew-search offset (§3.4) at which `code` matches around step `tm`, if any.
pub fn skew_offset(key: &[u8], code: u32, tm: i64) -> Option<i64> {
    (0..1500i64)
        .flat_map(|i| [-i, i])
        .find(|&o| hotp(key, (tm + o) as u64) == code)
}
