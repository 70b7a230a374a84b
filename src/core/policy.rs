//! The decision policy: what one authentication attempt does to the secret file and whether
//! it succeeds.
//!
//! The flow calls three steps, each on the file as it is *now* (read under the lock):
//! [`before_prompt`] (rate limiting, the grace period, whether the secret decodes),
//! [`check_passes`] (the candidates from PAM_AUTHTOK or the prompt, in the original's pass
//! order: scratch codes, then HOTP or TOTP with DISALLOW_REUSE and skew learning) and
//! [`finish`] (HOTP advance, the result line, the grace-period record). Each returns a
//! `#[must_use]` decision: a verdict, the explicit list of changes made to the file, and the
//! lines to log. The flow writes the file when the list of changes is not empty.
//!
//! Files may carry the fork's `ALGORITHM` (HMAC-SHA1, -SHA256 or -SHA512, for TOTP) and
//! `DIGITS` (6 to 8, for TOTP and HOTP) lines. Without them everything is as upstream: SHA-1
//! and six digits. With `DIGITS 8` a verification code looks like a scratch code; as in the
//! fork, every candidate is looked up in the scratch codes first, so a scratch code always
//! wins.
//!
//! Where the original module has a bug this policy deliberately differs (listed in
//! `docs/COMPATIBILITY.md`): the grace period needs `grace_period` and a timestamp that is
//! not in the future, no `LAST/` key is ever written, the rate-limit timestamps sort
//! correctly, a malformed DISALLOW_REUSE list is logged, and the code that completes a skew
//! resync is recorded as used.

use super::args::Options;
use super::cnum::{is_c_space, span, strtol, strtoul};
use super::file::SecretFile;
use super::input::{self, CodeKind};
use super::log::{Logs, printable};
use super::otp::{Algorithm, MAX_DIGITS, MIN_DIGITS, OtpKey, modulus};

/// Default TOTP step in seconds.
pub const DEFAULT_STEP_SIZE: u64 = 30;
/// Default number of accepted TOTP/HOTP codes.
pub const DEFAULT_WINDOW_SIZE: u64 = 3;
/// The skew search looks this many steps each way.
pub const SKEW_SEARCH_STEPS: i64 = 1500;
/// How many grace-period slots (`LAST0`..`LAST9`) exist.
pub const GRACE_SLOTS: usize = 10;

/// The facts of one attempt that the policy needs besides the file.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// Current Unix time in seconds, read once per attempt.
    pub now: i64,
    /// The secret file path, for log lines.
    pub path: &'a str,
    /// The PAM user name, for log lines (`(null)` when there is none).
    pub user: &'a str,
    /// PAM_RHOST, if the application set one.
    pub rhost: Option<&'a [u8]>,
    /// The module arguments.
    pub options: &'a Options,
}

/// A change made to the file. The flow writes the file when a decision lists any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// This attempt was recorded in RATE_LIMIT.
    RateLimit,
    /// A scratch code was used and removed.
    ScratchUsed,
    /// A TOTP step was added to DISALLOW_REUSE.
    ReuseRecorded(i64),
    /// A skewed code was recorded in RESETTING_TIME_SKEW.
    SkewAttempt,
    /// TIME_SKEW was learned from three consecutive skewed codes.
    SkewAdjusted(i64),
    /// HOTP_COUNTER moved past the matched counter.
    HotpCounter(i64),
    /// HOTP_COUNTER advanced after a wrong code.
    HotpAdvanced(i64),
    /// A LAST entry was stored for the grace period.
    GraceRecorded,
    /// The grace period could not be stored (no remote host); the file is rewritten
    /// unchanged, as the original does.
    GraceNotRecorded,
}

/// What happens before the prompt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PreVerdict {
    /// Go on and collect the code.
    Continue,
    /// The RATE_LIMIT line is malformed: fail, no prompt, nothing written.
    RateLimitInvalid,
    /// Too many attempts: fail without a prompt; the attempt is recorded.
    RateLimited,
    /// Within the grace period for this remote host: succeed, no prompt, nothing written.
    Grace,
}

/// The decision made before the prompt.
#[must_use]
#[derive(Debug)]
pub struct PreDecision {
    /// What to do.
    pub verdict: PreVerdict,
    /// Whether line 1 holds a usable secret.
    pub secret_ok: bool,
    /// Changes made to the file (write it if not empty).
    pub changes: Vec<Change>,
    /// Lines to log.
    pub logs: Logs,
}

/// Rate limiting, the grace period and the secret check, in the original's order.
pub fn before_prompt(file: &mut SecretFile, ctx: &Ctx<'_>) -> PreDecision {
    let mut logs = Logs::new(ctx.options.debug);
    let mut changes = Vec::new();
    let mut verdict = PreVerdict::Continue;
    match rate_limit(file, ctx.now) {
        RateLimit::Absent => {}
        RateLimit::Recorded => changes.push(Change::RateLimit),
        RateLimit::Exceeded => {
            changes.push(Change::RateLimit);
            logs.err(format!(
                "Too many concurrent login attempts (\"{}\"). Please try again.",
                ctx.path
            ));
            verdict = PreVerdict::RateLimited;
        }
        RateLimit::InvalidOption => {
            logs.err(format!(
                "Invalid RATE_LIMIT option. Check \"{}\".",
                ctx.path
            ));
            verdict = PreVerdict::RateLimitInvalid;
        }
        RateLimit::InvalidList => {
            logs.err(format!(
                "Invalid list of timestamps in RATE_LIMIT. Check \"{}\".",
                ctx.path
            ));
            verdict = PreVerdict::RateLimitInvalid;
        }
    }
    let mut secret_ok = false;
    if verdict == PreVerdict::Continue {
        secret_ok = file.decode_secret().is_some();
        if secret_ok {
            logs.debug(|| format!("shared secret in \"{}\" processed", ctx.path));
        } else {
            logs.err(format!(
                "Could not find a valid BASE32 encoded secret in \"{}\"",
                ctx.path
            ));
        }
    }
    logs.debug(|| {
        format!(
            "google_authenticator for host \"{}\"",
            ctx.rhost.map(printable).unwrap_or_else(|| "(null)".into())
        )
    });
    if ctx.options.grace_period > 0
        && let Some(rhost) = ctx.rhost
        && !storable_host(rhost)
    {
        logs.err(unstorable_host_line(
            rhost,
            ctx.path,
            "no grace period for it",
        ));
    }
    if within_grace_period(file, ctx) {
        logs.info(format!("within grace period: \"{}\"", ctx.user));
        return PreDecision {
            verdict: PreVerdict::Grace,
            secret_ok,
            changes: Vec::new(),
            logs,
        };
    }
    PreDecision {
        verdict,
        secret_ok,
        changes,
        logs,
    }
}

/// The line the code check would log for a malformed `STEP_SIZE`, `DIGITS`, `ALGORITHM` or
/// `WINDOW_SIZE` (in the order the check reads them), which makes every verification code
/// fail; `None` when codes can be checked. Scratch codes are not affected. For the audit.
pub fn code_option_problem(file: &SecretFile, ctx: &Ctx<'_>) -> Option<String> {
    let mut logs = Logs::new(false);
    let ok = if file.is_totp() {
        if small_option(file, "STEP_SIZE", DEFAULT_STEP_SIZE, 1..=60).is_none() {
            logs.err(format!("Invalid STEP_SIZE option in \"{}\"", ctx.path));
            false
        } else {
            digits_or_log(file_digits(file), ctx, &mut logs).is_some()
                && totp_algorithm(file, ctx, &mut logs).is_some()
                && window_size(file, ctx, &mut logs).is_some()
        }
    } else {
        digits_or_log(file_digits(file), ctx, &mut logs).is_some()
            && window_size(file, ctx, &mut logs).is_some()
    };
    if ok {
        return None;
    }
    logs.lines().first().map(|l| l.text.clone())
}

/// One pass of the original's four-pass loop: passes 0 and 2 look for a verification code
/// (six digits, or the file's `DIGITS`), 1 and 3 for a scratch code; 0 and 1 read PAM_AUTHTOK, 2 and 3 the prompted answer.
#[derive(Clone, Copy)]
pub struct Pass<'a> {
    /// 0..=3.
    pub number: u8,
    /// The text to look at, if this pass has one.
    pub candidate: Option<&'a [u8]>,
}

impl std::fmt::Debug for Pass<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pass")
            .field("number", &self.number)
            .field("candidate", &self.candidate.map(|_| "[redacted]"))
            .finish()
    }
}

/// State carried across passes (and across the two locked steps of the flow).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LoopState {
    /// An HOTP check ran on a six-digit code and missed, and none matched since.
    pub hotp_missed: bool,
}

/// Proof that a code was checked and accepted. Only this module can make one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Accepted {
    /// The pass that matched.
    pub pass: u8,
    /// Length of the password prefix in front of the code in that pass's candidate.
    pub prefix_len: usize,
}

/// The verdict of a run of passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PassVerdict {
    /// A code matched.
    Success(Accepted),
    /// The loop ended in an error (reuse, bad option, skew recorded, no secret).
    Failure,
    /// No pass matched; later passes may still run.
    Undecided,
}

/// The decision of a run of passes.
#[must_use]
#[derive(Debug)]
pub struct PassDecision {
    /// The verdict.
    pub verdict: PassVerdict,
    /// Changes made to the file.
    pub changes: Vec<Change>,
    /// Lines to log.
    pub logs: Logs,
}

/// Runs `passes` in order against `file`. `secret` is the decoded shared secret, `None`
/// when it could not be decoded; then the first syntactically valid candidate ends the loop
/// with a failure (the original's guard), without revealing that the file is unusable.
///
/// Verification passes take as many digits as the file's `DIGITS` says (six when it is
/// absent or invalid, as in the fork; an invalid value then fails the code check with its
/// log line). Every candidate is tried as a scratch code before it is tried as a TOTP/HOTP
/// code, so with `DIGITS 8` an answer that is one of the file's scratch codes is used up as
/// a scratch code (in the verification pass already), and any other eight-digit answer is
/// checked as a TOTP/HOTP code.
pub fn check_passes(
    file: &mut SecretFile,
    secret: Option<&[u8]>,
    passes: &[Pass<'_>],
    state: &mut LoopState,
    ctx: &Ctx<'_>,
) -> PassDecision {
    let mut logs = Logs::new(ctx.options.debug);
    let mut changes = Vec::new();
    let digits = file_digits(file).unwrap_or(MIN_DIGITS) as usize;
    // The last candidate checked without a match: with eight digits the scratch pass would
    // check the very same code again, with the same result (a miss changes nothing), so it
    // is skipped rather than paying for a second skew search.
    let mut missed: Option<(&[u8], usize, u32)> = None;
    for pass in passes {
        let Some(candidate) = pass.candidate else {
            continue;
        };
        let kind = if pass.number & 1 == 1 {
            CodeKind::Scratch
        } else {
            CodeKind::Verification(digits)
        };
        if input::is_dummy_password(candidate) {
            logs.info(
                "Dummy password supplied by PAM. Did OpenSSH 'PermitRootLogin <anything but yes>' or some other config block this login?",
            );
        }
        let Some(split) = input::split(candidate, kind) else {
            continue;
        };
        let prompted = pass.number >= 2;
        if prompted && !ctx.options.forward_pass && !split.prefix.is_empty() {
            continue;
        }
        let Some(secret) = secret else {
            decoy_totp_check(split.code, ctx);
            return PassDecision {
                verdict: PassVerdict::Failure,
                changes,
                logs,
            };
        };
        if missed == Some((candidate, split.prefix.len(), split.code)) {
            continue;
        }
        let outcome = check_code(
            file,
            secret,
            split.code,
            state,
            ctx,
            &mut changes,
            &mut logs,
        );
        match outcome {
            Check::Match => {
                return PassDecision {
                    verdict: PassVerdict::Success(Accepted {
                        pass: pass.number,
                        prefix_len: split.prefix.len(),
                    }),
                    changes,
                    logs,
                };
            }
            Check::Error => {
                return PassDecision {
                    verdict: PassVerdict::Failure,
                    changes,
                    logs,
                };
            }
            Check::NoMatch => missed = Some((candidate, split.prefix.len(), split.code)),
        }
    }
    PassDecision {
        verdict: PassVerdict::Undecided,
        changes,
        logs,
    }
}

/// The decision made after the loop.
#[must_use]
#[derive(Debug)]
pub struct FinishDecision {
    /// Changes made to the file.
    pub changes: Vec<Change>,
    /// Lines to log.
    pub logs: Logs,
}

/// After the loop: advance the HOTP counter after a miss, log the result line, and record
/// the grace period after a success. `success` is the result after `forward_pass` handling.
pub fn finish(
    file: &mut SecretFile,
    success: bool,
    state: &LoopState,
    ctx: &Ctx<'_>,
) -> FinishDecision {
    let mut logs = Logs::new(ctx.options.debug);
    let mut changes = Vec::new();
    if state.hotp_missed && !ctx.options.no_increment_hotp {
        let counter = hotp_counter(file);
        if counter > 0 {
            let next = counter.wrapping_add(1);
            if file
                .set("HOTP_COUNTER", next.to_string().as_bytes())
                .is_ok()
            {
                changes.push(Change::HotpAdvanced(next));
            }
        }
    }
    if success {
        logs.info(format!("Accepted google_authenticator for {}", ctx.user));
    } else {
        logs.err(format!("Invalid verification code for {}", ctx.user));
    }
    if success && ctx.options.grace_period != 0 {
        record_grace(file, ctx, &mut changes, &mut logs);
    }
    FinishDecision { changes, logs }
}

/// The counter stored in HOTP_COUNTER (garbage and absence read as 0).
pub fn hotp_counter(file: &SecretFile) -> i64 {
    file.get("HOTP_COUNTER")
        .map(|v| strtol(v, 10).value)
        .unwrap_or(0)
}

// ----------------------------------------------------------------------------------------
// Rate limiting

enum RateLimit {
    Absent,
    Recorded,
    Exceeded,
    InvalidOption,
    InvalidList,
}

/// Parses `RATE_LIMIT n m [t...]`, adds `now`, drops timestamps outside `[now-m, now]`,
/// and keeps the newest `n` when there are more (the attempt is then refused).
fn rate_limit(file: &mut SecretFile, now: i64) -> RateLimit {
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

// ----------------------------------------------------------------------------------------
// Grace period

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

fn unstorable_host_line(rhost: &[u8], path: &str, consequence: &str) -> String {
    let mut shown = printable(&rhost[..rhost.len().min(2 * MAX_HOST_LEN)]);
    if rhost.len() > 2 * MAX_HOST_LEN {
        shown.push_str("...");
    }
    format!("Remote host \"{shown}\" cannot be stored in \"{path}\"; {consequence}")
}

/// Whether a LAST entry for this remote host is younger than `grace_period` seconds.
fn within_grace_period(file: &SecretFile, ctx: &Ctx<'_>) -> bool {
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

fn record_grace(file: &mut SecretFile, ctx: &Ctx<'_>, changes: &mut Vec<Change>, logs: &mut Logs) {
    let Some(rhost) = ctx.rhost else {
        logs.err("Failed to store grace_period timestamp in config");
        changes.push(Change::GraceNotRecorded);
        return;
    };
    if !storable_host(rhost) {
        logs.err(unstorable_host_line(
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
            logs.err(format!("Malformed LAST{slot} line"));
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
        logs.warning("Failed to set cfg value for login host");
        return;
    };
    let mut value = rhost.to_vec();
    value.push(b' ');
    value.extend_from_slice(ctx.now.to_string().as_bytes());
    if file.set(&format!("LAST{slot}"), &value).is_ok() {
        changes.push(Change::GraceRecorded);
    }
}

// ----------------------------------------------------------------------------------------
// Checking one code

enum Check {
    Match,
    NoMatch,
    Error,
}

fn check_code(
    file: &mut SecretFile,
    secret: &[u8],
    code: u32,
    state: &mut LoopState,
    ctx: &Ctx<'_>,
    changes: &mut Vec<Change>,
    logs: &mut Logs,
) -> Check {
    if file.use_scratch_code(code) {
        logs.debug(|| format!("scratch code used and removed from \"{}\"", ctx.path));
        changes.push(Change::ScratchUsed);
        return Check::Match;
    }
    logs.debug(|| format!("no scratch code used from \"{}\"", ctx.path));
    let counter = hotp_counter(file);
    if counter > 0 {
        check_hotp(file, secret, code, counter, state, ctx, changes, logs)
    } else {
        check_totp(file, secret, code, ctx, changes, logs)
    }
}

/// The file of [`decoy_totp_check`]: a TOTP file with the default settings. Any secret
/// does; the results are thrown away.
const DECOY_FILE: &[u8] = b"MRSWG6JAN5TCA5DIMUQGI5LNNV4Q\n\" TOTP_AUTH\n";

/// Checks a wrong `code` against a TOTP file with the default settings (the window, then
/// the skew search unless `noskewadj`) with the very code an enrolled user's check runs,
/// on a throwaway file and secret, and forgets the result.
///
/// Run when there is no usable secret (unknown user, no file, unreadable or invalid file),
/// so a wrong code costs the same whether or not the user is enrolled: the time a login
/// takes does not tell an attacker which accounts have a second factor.
fn decoy_totp_check(code: u32, ctx: &Ctx<'_>) {
    let mut file = SecretFile::from_bytes(DECOY_FILE.to_vec());
    let Some(secret) = file.decode_secret() else {
        return;
    };
    let check = check_totp(
        &mut file,
        &secret,
        code,
        ctx,
        &mut Vec::new(),
        &mut Logs::new(false),
    );
    std::hint::black_box(matches!(check, Check::Match));
}

/// Parses STEP_SIZE, WINDOW_SIZE or DIGITS: a number in `range`, followed by nothing or by
/// a space or tab (anything after that is ignored, as in the original).
fn small_option(
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

fn window_size(file: &SecretFile, ctx: &Ctx<'_>, logs: &mut Logs) -> Option<u64> {
    let w = small_option(file, "WINDOW_SIZE", DEFAULT_WINDOW_SIZE, 1..=100);
    if w.is_none() {
        logs.err(format!("Invalid WINDOW_SIZE option in \"{}\"", ctx.path));
    }
    w
}

/// The number of digits of verification codes: the fork's `DIGITS n` (6 to 8), 6 without
/// the line; `None` when the line is invalid.
fn file_digits(file: &SecretFile) -> Option<u32> {
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
fn code_bound(digits: Option<u32>) -> u32 {
    modulus(digits.unwrap_or(MAX_DIGITS))
}

fn digits_or_log(digits: Option<u32>, ctx: &Ctx<'_>, logs: &mut Logs) -> Option<u32> {
    if digits.is_none() {
        logs.err(format!("Invalid DIGITS option in \"{}\"", ctx.path));
    }
    digits
}

/// The HMAC of TOTP codes: the fork's `ALGORITHM` (SHA1, SHA256 or SHA512 in any case),
/// SHA-1 without the line; `None` (logged) when the line names anything else.
fn totp_algorithm(file: &SecretFile, ctx: &Ctx<'_>, logs: &mut Logs) -> Option<Algorithm> {
    let Some(value) = file.get("ALGORITHM") else {
        return Some(Algorithm::Sha1);
    };
    let algorithm = Algorithm::parse(value);
    if algorithm.is_none() {
        logs.err(format!("Invalid ALGORITHM option in \"{}\"", ctx.path));
    }
    algorithm
}

/// HOTP codes always use HMAC-SHA1, as in the fork (its `ALGORITHM` is for TOTP only); their
/// length follows `DIGITS`.
#[allow(clippy::too_many_arguments)]
fn check_hotp(
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

fn check_totp(
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
        logs.err(format!("Invalid STEP_SIZE option in \"{}\"", ctx.path));
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
    let key = &key;
    // Offsets -floor((w-1)/2) ..= floor(w/2): one step further into the future for even w.
    let window = window as i64;
    let first = tm.wrapping_add(skew).wrapping_sub((window - 1) / 2);
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
fn record_reuse(
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
            logs.err(format!(
                "Invalid list of used codes in DISALLOW_REUSE. Check \"{}\".",
                ctx.path
            ));
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
        logs.err(format!(
            "Trying to reuse a previously used time-based code (\"{}\"). Retry again in {} seconds. Warning! This might mean, you are currently subject to a man-in-the-middle attack.",
            ctx.path, step
        ));
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

/// Searches ±1499 steps around the current step (without the stored skew) for `code`;
/// three consecutive skewed codes with consistent skews set TIME_SKEW. All 3000 codes are
/// computed every time, so the time taken does not tell where a match was.
#[allow(clippy::too_many_arguments)]
fn skew_resync(
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
    logs.debug(|| "time skew adjusted".into());

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

    const SECRET: &[u8] = b"2SH3V3GDW7ZNMGYE";

    fn key() -> OtpKey {
        OtpKey::new(&secret()).unwrap()
    }

    fn secret() -> Vec<u8> {
        crate::core::base32::decode(SECRET).unwrap().to_vec()
    }

    fn ctx<'a>(now: i64, options: &'a Options) -> Ctx<'a> {
        Ctx {
            now,
            path: "/f",
            user: "u",
            rhost: Some(b"10.1.2.3"),
            options,
        }
    }

    fn file(s: &str) -> SecretFile {
        SecretFile::from_bytes(s.as_bytes().to_vec())
    }

    fn texts(logs: &Logs) -> Vec<String> {
        logs.lines().iter().map(|l| l.text.clone()).collect()
    }

    /// Runs the prompted passes (2 and 3) with `answer`.
    fn prompted(f: &mut SecretFile, answer: &str, now: i64, o: &Options) -> PassDecision {
        let k = secret();
        let passes = [
            Pass {
                number: 2,
                candidate: Some(answer.as_bytes()),
            },
            Pass {
                number: 3,
                candidate: Some(answer.as_bytes()),
            },
        ];
        check_passes(
            f,
            Some(&k[..]),
            &passes,
            &mut LoopState::default(),
            &ctx(now, o),
        )
    }

    fn code(counter: u64) -> String {
        format!("{:06}", key().code(counter))
    }

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
    fn code_option_problems_are_the_code_checks_lines() {
        let o = Options::default();
        let ctx = Ctx {
            now: 1_000_000,
            path: "/f",
            user: "u",
            rhost: None,
            options: &o,
        };
        let cases = [
            ("\" TOTP_AUTH\n", None),
            (
                "\" TOTP_AUTH\n\" STEP_SIZE 0\n",
                Some("Invalid STEP_SIZE option in \"/f\""),
            ),
            (
                "\" TOTP_AUTH\n\" DIGITS 9\n",
                Some("Invalid DIGITS option in \"/f\""),
            ),
            (
                "\" TOTP_AUTH\n\" ALGORITHM MD5\n",
                Some("Invalid ALGORITHM option in \"/f\""),
            ),
            (
                "\" HOTP_COUNTER 1\n\" WINDOW_SIZE 0\n",
                Some("Invalid WINDOW_SIZE option in \"/f\""),
            ),
            ("\" HOTP_COUNTER 1\n\" STEP_SIZE 0\n", None),
        ];
        for (options, want) in cases {
            let f = file(&format!("JBSWY3DPEHPK3PXP\n{options}"));
            assert_eq!(
                code_option_problem(&f, &ctx).as_deref(),
                want,
                "{options:?}"
            );
        }
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

    #[test]
    fn hotp_window_looks_forward_only() {
        let o = Options::default();
        let mut f = file("2SH3V3GDW7ZNMGYE\n\" HOTP_COUNTER 3\n");
        let mut state = LoopState::default();
        let k = secret();
        let five = code(5);
        let passes = [Pass {
            number: 2,
            candidate: Some(five.as_bytes()),
        }];
        let d = check_passes(&mut f, Some(&k[..]), &passes, &mut state, &ctx(300_000, &o));
        assert!(matches!(d.verdict, PassVerdict::Success(_)));
        assert_eq!(d.changes, vec![Change::HotpCounter(6)]);
        assert_eq!(f.get("HOTP_COUNTER"), Some(&b"6"[..]));
        // A code behind the counter is a miss, and the counter advances once afterwards.
        let two = code(2);
        let passes = [Pass {
            number: 2,
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

    #[test]
    fn prompted_answers_must_be_bare_codes_without_forward_pass() {
        let o = Options::default();
        let mut f = file("2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n");
        let d = prompted(&mut f, &format!("pw{}", code(10000)), 300_000, &o);
        assert_eq!(d.verdict, PassVerdict::Undecided);
        let fwd = Options {
            forward_pass: true,
            ..Options::default()
        };
        let d = prompted(&mut f, &format!("pw{}", code(10000)), 300_000, &fwd);
        assert_eq!(
            d.verdict,
            PassVerdict::Success(Accepted {
                pass: 2,
                prefix_len: 2
            })
        );
    }

    #[test]
    fn no_secret_fails_at_the_first_valid_candidate() {
        let o = Options::default();
        let mut f = file("");
        let passes = [
            Pass {
                number: 2,
                candidate: Some(b"abc"),
            },
            Pass {
                number: 3,
                candidate: Some(b"12345678"),
            },
        ];
        let d = check_passes(
            &mut f,
            None,
            &passes,
            &mut LoopState::default(),
            &ctx(1, &o),
        );
        assert_eq!(d.verdict, PassVerdict::Failure);
    }

    #[test]
    fn scratch_codes_work_without_totp_or_hotp() {
        let o = Options::default();
        let mut f = file("2SH3V3GDW7ZNMGYE\n12345678\n");
        let d = prompted(&mut f, "12345678", 300_000, &o);
        assert!(matches!(
            d.verdict,
            PassVerdict::Success(Accepted { pass: 3, .. })
        ));
        assert_eq!(d.changes, vec![Change::ScratchUsed]);
        assert_eq!(f.as_bytes(), b"2SH3V3GDW7ZNMGYE\n");
    }

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

    fn code_with(algorithm: Algorithm, digits: u32, counter: u64) -> String {
        let key = OtpKey::with(&secret(), algorithm, digits).unwrap();
        format!("{:0width$}", key.code(counter), width = digits as usize)
    }

    fn totp_file(lines: &str) -> SecretFile {
        file(&format!(
            "{}\n\" TOTP_AUTH\n{lines}",
            std::str::from_utf8(SECRET).unwrap()
        ))
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

    #[test]
    fn with_eight_digits_a_scratch_code_is_told_apart_by_the_file_and_wins() {
        let o = Options::default();
        // A scratch code that happens to be the current eight-digit TOTP code, and another.
        let mut f = totp_file("\" DIGITS 8\n\" DISALLOW_REUSE\n26050548\n87654321\n");
        let d = prompted(&mut f, "87654321", 300_000, &o);
        // Found in the verification pass (2), as the fork finds it.
        assert_eq!(
            d.verdict,
            PassVerdict::Success(Accepted {
                pass: 2,
                prefix_len: 0
            })
        );
        assert_eq!(d.changes, vec![Change::ScratchUsed]);
        let d = prompted(&mut f, "26050548", 300_000, &o);
        assert_eq!(d.changes, vec![Change::ScratchUsed]);
        assert!(f.scratch_codes().is_empty());
        // Now it is no scratch code any more, so it is checked as the TOTP code it is.
        let d = prompted(&mut f, "26050548", 300_000, &o);
        assert!(matches!(d.verdict, PassVerdict::Success(_)));
        assert_eq!(d.changes, vec![Change::ReuseRecorded(10000)]);
        // A used scratch code is a wrong code: one check, the scratch pass adds nothing.
        let debug = Options {
            debug: true,
            ..Options::default()
        };
        let d = prompted(&mut f, "87654321", 300_000, &debug);
        assert_eq!(d.verdict, PassVerdict::Undecided);
        let scans = texts(&d.logs)
            .iter()
            .filter(|l| l.contains("no scratch code used"))
            .count();
        assert_eq!(scans, 1, "{:?}", texts(&d.logs));
        // With six digits (the default) an eight-digit answer is only ever a scratch code.
        let mut six = totp_file("12345678\n");
        let d = prompted(&mut six, "12345678", 300_000, &o);
        assert_eq!(
            d.verdict,
            PassVerdict::Success(Accepted {
                pass: 3,
                prefix_len: 0
            })
        );
    }

    #[test]
    fn forward_pass_splits_off_the_files_number_of_digits() {
        let fwd = Options {
            forward_pass: true,
            ..Options::default()
        };
        let mut f = totp_file("\" DIGITS 7\n\" ALGORITHM SHA256\n");
        let d = prompted(&mut f, "pw1596509", 300_000, &fwd);
        assert_eq!(
            d.verdict,
            PassVerdict::Success(Accepted {
                pass: 2,
                prefix_len: 2
            })
        );
        // With eight digits, "pw" + a scratch code is used as the scratch code.
        let mut f = totp_file("\" DIGITS 8\n12345678\n");
        let d = prompted(&mut f, "pw12345678", 300_000, &fwd);
        assert_eq!(
            d.verdict,
            PassVerdict::Success(Accepted {
                pass: 2,
                prefix_len: 2
            })
        );
        assert_eq!(d.changes, vec![Change::ScratchUsed]);
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
