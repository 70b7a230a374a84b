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

mod check;
mod grace;
mod hotp;
mod passes;
mod rate_limit;
mod skew;
#[cfg(test)]
mod test_support;
mod totp;
mod values;

pub use grace::storable_host;
pub use passes::{
    Accepted, LoopState, Pass, PassDecision, PassVerdict, Source, Wanted, check_passes,
};

use super::args::Options;
use super::catalogue;
use super::cnum::strtol;
use super::file::SecretFile;
use super::log::{Logs, printable};
use super::sha1_lanes::Wide;
use grace::{record_grace, unstorable_host_line, within_grace_period};
use rate_limit::{RateLimit, rate_limit};
use values::{digits_or_log, file_digits, small_option, totp_algorithm, window_size};

/// Default TOTP step in seconds.
pub(crate) const DEFAULT_STEP_SIZE: u64 = 30;
/// Default number of accepted TOTP/HOTP codes.
pub(crate) const DEFAULT_WINDOW_SIZE: u64 = 3;
/// The first step of the TOTP window of `window` steps around step `center`: the window
/// runs from `-floor((window - 1) / 2)` to `+floor(window / 2)`, one step further into the
/// future than into the past for an even size, as upstream's. The module and the setup
/// command's confirmation both use it.
#[must_use]
pub(crate) fn window_start(center: i64, window: i64) -> i64 {
    center.wrapping_sub((window - 1) / 2)
}

/// The skew search looks this many steps each way.
pub(crate) const SKEW_SEARCH_STEPS: i64 = 1500;
/// How many grace-period slots (`LAST0`..`LAST9`) exist.
pub(crate) const GRACE_SLOTS: usize = 10;

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
    /// HMAC-SHA1 on wider registers for the TOTP window and skew search, when the module
    /// has one for the CPU it runs on (the codes are the same without).
    pub sha1_wide: Option<Wide>,
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
            logs.add(catalogue::rate_limited(ctx.path));
            verdict = PreVerdict::RateLimited;
        }
        RateLimit::InvalidOption => {
            logs.add(catalogue::rate_limit_invalid(ctx.path));
            verdict = PreVerdict::RateLimitInvalid;
        }
        RateLimit::InvalidList => {
            logs.add(catalogue::rate_limit_list_invalid(ctx.path));
            verdict = PreVerdict::RateLimitInvalid;
        }
    }
    let mut secret_ok = false;
    if verdict == PreVerdict::Continue {
        secret_ok = file.decode_secret().is_some();
        if secret_ok {
            logs.debug(|| catalogue::secret_processed(ctx.path));
        } else {
            logs.add(catalogue::no_valid_secret(ctx.path));
        }
    }
    logs.debug(|| {
        catalogue::for_host(&ctx.rhost.map(printable).unwrap_or_else(|| "(null)".into()))
    });
    if ctx.options.grace_period > 0
        && let Some(rhost) = ctx.rhost
        && !storable_host(rhost)
    {
        logs.add(unstorable_host_line(
            rhost,
            ctx.path,
            "no grace period for it",
        ));
    }
    if within_grace_period(file, ctx) {
        logs.add(catalogue::within_grace_period(ctx.user));
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
pub(crate) fn code_option_problem(file: &SecretFile, ctx: &Ctx<'_>) -> Option<String> {
    let mut logs = Logs::new(false);
    let ok = if file.is_totp() {
        if small_option(file, "STEP_SIZE", DEFAULT_STEP_SIZE, 1..=60).is_none() {
            logs.add(catalogue::invalid_option("STEP_SIZE", ctx.path));
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
        logs.add(catalogue::accepted(ctx.user));
    } else {
        logs.add(catalogue::invalid_code(ctx.user));
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::policy::test_support::*;

    #[test]
    fn code_option_problems_are_the_code_checks_lines() {
        let o = Options::default();
        let ctx = Ctx {
            now: 1_000_000,
            path: "/f",
            user: "u",
            rhost: None,
            options: &o,
            sha1_wide: None,
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
}
