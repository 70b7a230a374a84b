//! The new secret, its scratch codes and the file that holds them.
//!
//! The randomness comes from the caller, so everything here is deterministic and tested with
//! fixed bytes; the command feeds it from the kernel's random source.

use zeroize::Zeroizing;

use crate::core::base32;
use crate::core::file::{SCRATCH_END, SCRATCH_MIN, SecretFile, UnwritableValue};
use crate::core::otp::Algorithm;

use super::options::Mode;

/// Bytes in a new secret: 160 bits, as upstream 1.11 (32 base32 characters).
pub(crate) const SECRET_BYTES: usize = 20;

/// The number of distinct scratch codes (eight digits, not starting with 0).
const SCRATCH_RANGE: u32 = (SCRATCH_END - SCRATCH_MIN) as u32;

/// The largest multiple of [`SCRATCH_RANGE`] that fits in a `u32`; draws at or above it are
/// rejected, so every scratch code is equally likely.
const SCRATCH_LIMIT: u32 = (u32::MAX / SCRATCH_RANGE) * SCRATCH_RANGE;

/// Turns random 32-bit words into one scratch code, drawing until a word is below the
/// rejection limit. `draw` gives fresh random words.
pub fn scratch_code<E>(mut draw: impl FnMut() -> Result<u32, E>) -> Result<u32, E> {
    loop {
        let word = draw()?;
        if word < SCRATCH_LIMIT {
            // SCRATCH_MIN < 10^8 fits in u32.
            return Ok(SCRATCH_MIN as u32 + word % SCRATCH_RANGE);
        }
    }
}

/// What the file will say, beyond the secret and the scratch codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileOptions {
    /// TOTP or HOTP.
    pub mode: Mode,
    /// `DISALLOW_REUSE` (TOTP only).
    pub disallow_reuse: bool,
    /// `STEP_SIZE` (TOTP only; `None` for the default of 30, which is not written).
    pub step_size: Option<u32>,
    /// `DIGITS` (TOTP and HOTP), when chosen with `-g`.
    pub digits: Option<u32>,
    /// `ALGORITHM` (TOTP only), when chosen with `-a`.
    pub algorithm: Option<Algorithm>,
    /// `WINDOW_SIZE`, when chosen.
    pub window_size: Option<u32>,
    /// `RATE_LIMIT n m`, when chosen.
    pub rate_limit: Option<(u32, u32)>,
}

/// Builds the file exactly as upstream lays it out: the secret, then the options (each added
/// right after line 1, so the last one added comes first), the mode line, and the scratch
/// codes, every line ending in LF. The fork's `DIGITS` and `ALGORITHM` lines are added after
/// `STEP_SIZE` and before `WINDOW_SIZE`, in the fork's order. The values are numbers, which [`SecretFile::set`] always
/// takes; its refusal is passed on rather than assumed away.
pub(crate) fn build_file(
    secret: &str,
    scratch: &[u32],
    options: &FileOptions,
) -> Result<SecretFile, UnwritableValue> {
    let mut bytes = Zeroizing::new(Vec::with_capacity(256));
    bytes.extend_from_slice(secret.as_bytes());
    bytes.push(b'\n');
    // The mode line is there from the start, so every option lands above it.
    match options.mode {
        Mode::Totp => bytes.extend_from_slice(b"\" TOTP_AUTH\n"),
        Mode::Hotp => bytes.extend_from_slice(b"\" HOTP_COUNTER 1\n"),
    }
    for code in scratch {
        bytes.extend_from_slice(format!("{code:08}\n").as_bytes());
    }
    let mut file = SecretFile::from_bytes(bytes.to_vec());
    if options.mode == Mode::Totp {
        if options.disallow_reuse {
            // `set` writes "KEY VALUE", so a key without a value would get a trailing space;
            // upstream writes the bare key. It is the first option, so it goes right after
            // line 1 either way.
            insert_after_line_1(&mut file, b"\" DISALLOW_REUSE\n");
        }
        if let Some(step) = options.step_size {
            file.set("STEP_SIZE", step.to_string().as_bytes())?;
        }
    }
    if let Some(digits) = options.digits {
        file.set("DIGITS", digits.to_string().as_bytes())?;
    }
    if options.mode == Mode::Totp
        && let Some(algorithm) = options.algorithm
    {
        file.set("ALGORITHM", algorithm.name().as_bytes())?;
    }
    if let Some(window) = options.window_size {
        file.set("WINDOW_SIZE", window.to_string().as_bytes())?;
    }
    if let Some((n, m)) = options.rate_limit {
        file.set("RATE_LIMIT", format!("{n} {m}").as_bytes())?;
    }
    Ok(file)
}

/// Encodes a new secret.
#[must_use]
pub(crate) fn encode_secret(bytes: &[u8; SECRET_BYTES]) -> Zeroizing<String> {
    Zeroizing::new(base32::encode(bytes))
}

fn insert_after_line_1(file: &mut SecretFile, line: &[u8]) {
    let bytes = file.as_bytes();
    let at = bytes
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| p + 1);
    let mut new = Vec::with_capacity(bytes.len() + line.len());
    new.extend_from_slice(&bytes[..at]);
    new.extend_from_slice(line);
    new.extend_from_slice(&bytes[at..]);
    *file = SecretFile::from_bytes(new);
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    #[test]
    fn upstream_layout_with_every_option() {
        let file = build_file(
            SECRET,
            &[12345678, 99999999],
            &FileOptions {
                mode: Mode::Totp,
                disallow_reuse: true,
                step_size: Some(60),
                digits: None,
                algorithm: None,
                window_size: Some(17),
                rate_limit: Some((3, 30)),
            },
        )
        .unwrap();
        assert_eq!(
            file.as_bytes(),
            format!(
                "{SECRET}\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 17\n\" STEP_SIZE 60\n\
                 \" DISALLOW_REUSE\n\" TOTP_AUTH\n12345678\n99999999\n"
            )
            .as_bytes()
        );
        assert_eq!(file.scratch_codes(), [12345678, 99999999]);
        assert!(file.is_totp());
        assert_eq!(file.get("WINDOW_SIZE"), Some(&b"17"[..]));
    }

    #[test]
    fn hotp_ignores_totp_options() {
        let file = build_file(
            SECRET,
            &[],
            &FileOptions {
                mode: Mode::Hotp,
                disallow_reuse: true,
                step_size: Some(60),
                digits: None,
                algorithm: Some(Algorithm::Sha256),
                window_size: Some(1),
                rate_limit: None,
            },
        )
        .unwrap();
        assert_eq!(
            file.as_bytes(),
            format!("{SECRET}\n\" WINDOW_SIZE 1\n\" HOTP_COUNTER 1\n").as_bytes()
        );
    }

    #[test]
    fn digits_and_algorithm_lines_sit_between_step_size_and_window_size() {
        let file = build_file(
            SECRET,
            &[12345678],
            &FileOptions {
                mode: Mode::Totp,
                disallow_reuse: true,
                step_size: Some(60),
                digits: Some(8),
                algorithm: Some(Algorithm::Sha512),
                window_size: Some(17),
                rate_limit: Some((3, 30)),
            },
        )
        .unwrap();
        assert_eq!(
            file.as_bytes(),
            format!(
                "{SECRET}\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 17\n\" ALGORITHM SHA512\n\
                 \" DIGITS 8\n\" STEP_SIZE 60\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n12345678\n"
            )
            .as_bytes()
        );
        assert_eq!(file.scratch_codes(), [12345678]);
        // HOTP takes DIGITS but never ALGORITHM.
        let hotp = build_file(
            SECRET,
            &[],
            &FileOptions {
                mode: Mode::Hotp,
                disallow_reuse: false,
                step_size: None,
                digits: Some(7),
                algorithm: Some(Algorithm::Sha256),
                window_size: None,
                rate_limit: None,
            },
        )
        .unwrap();
        assert_eq!(
            hotp.as_bytes(),
            format!("{SECRET}\n\" DIGITS 7\n\" HOTP_COUNTER 1\n").as_bytes()
        );
    }

    #[test]
    fn scratch_codes_reject_the_biased_tail() {
        let mut words = vec![u32::MAX, SCRATCH_LIMIT, SCRATCH_LIMIT - 1, 0].into_iter();
        let code = scratch_code(|| words.next().ok_or(())).unwrap();
        assert_eq!(code, 10_000_000 + (SCRATCH_LIMIT - 1) % SCRATCH_RANGE);
        assert_eq!(scratch_code(|| Ok::<_, ()>(0)).unwrap(), 10_000_000);
        assert_eq!(
            scratch_code(|| Ok::<_, ()>(SCRATCH_RANGE - 1)).unwrap(),
            99_999_999
        );
    }

    #[test]
    fn secrets_are_32_characters() {
        assert_eq!(encode_secret(&[0xff; SECRET_BYTES]).len(), 32);
    }
}
