//! Helpers shared by the policy's unit tests: a known secret, its codes, and a run of the
//! prompted passes.

use super::{Ctx, LoopState, Pass, PassDecision, Source, Wanted, check_passes};
use crate::core::args::Options;
use crate::core::file::SecretFile;
use crate::core::log::Logs;
use crate::core::otp::{Algorithm, OtpKey};

pub(super) const SECRET: &[u8] = b"2SH3V3GDW7ZNMGYE";

pub(super) fn key() -> OtpKey {
    OtpKey::new(&secret()).unwrap()
}

pub(super) fn secret() -> Vec<u8> {
    crate::core::base32::decode(SECRET).unwrap().to_vec()
}

pub(super) fn ctx<'a>(now: i64, options: &'a Options) -> Ctx<'a> {
    Ctx {
        now,
        path: "/f",
        user: "u",
        rhost: Some(b"10.1.2.3"),
        options,
        sha1_wide: None,
    }
}

pub(super) fn file(s: &str) -> SecretFile {
    SecretFile::from_bytes(s.as_bytes().to_vec())
}

pub(super) fn texts(logs: &Logs) -> Vec<String> {
    logs.lines().iter().map(|l| l.text.clone()).collect()
}

/// Runs the two passes on a prompted `answer`.
pub(super) fn prompted(f: &mut SecretFile, answer: &str, now: i64, o: &Options) -> PassDecision {
    let k = secret();
    let passes = [
        Pass {
            source: Source::Prompt,
            wants: Wanted::Verification,
            candidate: Some(answer.as_bytes()),
        },
        Pass {
            source: Source::Prompt,
            wants: Wanted::Scratch,
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

pub(super) fn code(counter: u64) -> String {
    format!("{:06}", key().code(counter))
}

pub(super) fn code_with(algorithm: Algorithm, digits: u32, counter: u64) -> String {
    let key = OtpKey::with(&secret(), algorithm, digits).unwrap();
    format!("{:0width$}", key.code(counter), width = digits as usize)
}

pub(super) fn totp_file(lines: &str) -> SecretFile {
    file(&format!(
        "{}\n\" TOTP_AUTH\n{lines}",
        std::str::from_utf8(SECRET).unwrap()
    ))
}
