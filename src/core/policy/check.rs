//! Checking one code: scratch codes first, then HOTP or TOTP, and the decoy check run when
//! there is no usable secret.

use super::hotp::check_hotp;
use super::totp::check_totp;
use super::{Change, Ctx, LoopState, hotp_counter};
use crate::core::catalogue;
use crate::core::file::SecretFile;
use crate::core::log::Logs;

pub(super) enum Check {
    Match,
    NoMatch,
    Error,
}

pub(super) fn check_code(
    file: &mut SecretFile,
    secret: &[u8],
    code: u32,
    state: &mut LoopState,
    ctx: &Ctx<'_>,
    changes: &mut Vec<Change>,
    logs: &mut Logs,
) -> Check {
    if file.use_scratch_code(code) {
        logs.debug(|| catalogue::scratch_used(ctx.path));
        changes.push(Change::ScratchUsed);
        return Check::Match;
    }
    logs.debug(|| catalogue::no_scratch_used(ctx.path));
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
pub(super) fn decoy_totp_check(code: u32, ctx: &Ctx<'_>) {
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

#[cfg(test)]
mod tests {
    use crate::core::args::Options;
    use crate::core::policy::test_support::*;
    use crate::core::policy::*;

    #[test]
    fn scratch_codes_work_without_totp_or_hotp() {
        let o = Options::default();
        let mut f = file("2SH3V3GDW7ZNMGYE\n12345678\n");
        let d = prompted(&mut f, "12345678", 300_000, &o);
        let PassVerdict::Success(accepted) = &d.verdict else {
            panic!("not accepted: {:?}", d.verdict);
        };
        assert_eq!(
            (accepted.source(), accepted.wants()),
            (Source::Prompt, Wanted::Scratch)
        );
        assert_eq!(d.changes, vec![Change::ScratchUsed]);
        assert_eq!(f.as_bytes(), b"2SH3V3GDW7ZNMGYE\n");
    }
}
