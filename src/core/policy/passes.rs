//! The passes: the candidates from PAM_AUTHTOK or the prompt, checked in the original's
//! order, and what a run of them decides.

use super::check::{Check, check_code, decoy_totp_check};
use super::values::file_digits;
use super::{Change, Ctx};
use crate::core::catalogue;
use crate::core::file::SecretFile;
use crate::core::input::{self, CodeKind};
use crate::core::log::Logs;
use crate::core::otp::MIN_DIGITS;

/// One pass of the original's four-pass loop. The original runs them in this order: on
/// PAM_AUTHTOK a verification code, then a scratch code; then the same on the prompted answer.
#[derive(Clone, Copy)]
pub struct Pass<'a> {
    /// Where the candidate comes from.
    pub source: Source,
    /// What kind of code this pass looks for at the end of the candidate.
    pub wants: Wanted,
    /// The text to look at, if this pass has one.
    pub candidate: Option<&'a [u8]>,
}

/// Where a pass's candidate comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// PAM_AUTHTOK, the password a previous module stored (`try_first_pass`,
    /// `use_first_pass`).
    Authtok,
    /// The answer to the module's own prompt. Without `forward_pass` it must be the code
    /// alone.
    Prompt,
}

/// What kind of code a pass looks for at the end of its candidate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// A verification code: six digits, or the file's `DIGITS`.
    Verification,
    /// An eight-digit scratch code.
    Scratch,
}

impl std::fmt::Debug for Pass<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pass")
            .field("source", &self.source)
            .field("wants", &self.wants)
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

/// Proof that a code was checked and accepted. Only the policy can make one (its fields are
/// private), and it is neither `Clone` nor `Copy`: one accepted code, one proof.
#[derive(Debug, PartialEq, Eq)]
pub struct Accepted {
    source: Source,
    wants: Wanted,
    prefix_len: usize,
}

impl Accepted {
    /// Where the matching pass's candidate came from.
    #[must_use]
    pub fn source(&self) -> Source {
        self.source
    }

    /// What the matching pass looked for.
    #[must_use]
    pub fn wants(&self) -> Wanted {
        self.wants
    }

    /// Length of the password prefix in front of the code in that pass's candidate.
    #[must_use]
    pub fn prefix_len(&self) -> usize {
        self.prefix_len
    }
}

/// The verdict of a run of passes.
#[derive(Debug, PartialEq, Eq)]
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
        let kind = match pass.wants {
            Wanted::Verification => CodeKind::Verification(digits),
            Wanted::Scratch => CodeKind::Scratch,
        };
        if input::is_dummy_password(candidate) {
            logs.add(catalogue::dummy_password());
        }
        let Some(split) = input::split(candidate, kind) else {
            continue;
        };
        if pass.source == Source::Prompt && !ctx.options.forward_pass && !split.prefix.is_empty() {
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
                        source: pass.source,
                        wants: pass.wants,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::args::Options;
    use crate::core::policy::test_support::*;
    use crate::core::policy::*;

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
                source: Source::Prompt,
                wants: Wanted::Verification,
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
                source: Source::Prompt,
                wants: Wanted::Verification,
                candidate: Some(b"abc"),
            },
            Pass {
                source: Source::Prompt,
                wants: Wanted::Scratch,
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
    fn with_eight_digits_a_scratch_code_is_told_apart_by_the_file_and_wins() {
        let o = Options::default();
        // A scratch code that happens to be the current eight-digit TOTP code, and another.
        let mut f = totp_file("\" DIGITS 8\n\" DISALLOW_REUSE\n26050548\n87654321\n");
        let d = prompted(&mut f, "87654321", 300_000, &o);
        // Found in the verification pass, as the fork finds it.
        assert_eq!(
            d.verdict,
            PassVerdict::Success(Accepted {
                source: Source::Prompt,
                wants: Wanted::Verification,
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
                source: Source::Prompt,
                wants: Wanted::Scratch,
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
                source: Source::Prompt,
                wants: Wanted::Verification,
                prefix_len: 2
            })
        );
        // With eight digits, "pw" + a scratch code is used as the scratch code.
        let mut f = totp_file("\" DIGITS 8\n12345678\n");
        let d = prompted(&mut f, "pw12345678", 300_000, &fwd);
        assert_eq!(
            d.verdict,
            PassVerdict::Success(Accepted {
                source: Source::Prompt,
                wants: Wanted::Verification,
                prefix_len: 2
            })
        );
        assert_eq!(d.changes, vec![Change::ScratchUsed]);
    }
}
