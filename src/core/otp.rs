//! One-time password maths: HOTP (RFC 4226) and TOTP (RFC 6238) with HMAC-SHA1, HMAC-SHA256
//! or HMAC-SHA512 and six to eight digits.
//!
//! Upstream's file format knows only HMAC-SHA1 and six digits, which is what [`OtpKey::new`]
//! makes. The `ALGORITHM` and `DIGITS` lines of the maintained fork
//! (google-authenticator-libpam-hardened) choose the others through [`OtpKey::with`].
//!
//! [`OtpKey`] keys the HMAC once, which matters because a wrong TOTP code costs a search over
//! 3000 counters (see the policy): HMAC-SHA1 keeps the two pad states and computes four
//! counters at a time ([`super::sha1_lanes`]), or sixteen with the [`Wide`] function the
//! module supplies for its CPU ([`OtpKey::widened`]); the SHA-2 variants clone the keyed
//! state of the `hmac` crate for every counter. [`OtpKey::find`] runs a whole window or
//! search.

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::ConstantTimeEq;

use super::sha1_lanes::{KeyedSha1, LANES, WIDE, Wide};

/// Number of distinct six-digit codes.
pub(crate) const CODE_MODULUS: u32 = 1_000_000;

/// The fewest digits a code may have.
pub(crate) const MIN_DIGITS: u32 = 6;
/// The most digits a code may have.
pub(crate) const MAX_DIGITS: u32 = 8;

/// The hash under the HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Algorithm {
    /// HMAC-SHA1, the default and the only one upstream knows.
    #[default]
    Sha1,
    /// HMAC-SHA256.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl Algorithm {
    /// Reads an `ALGORITHM` value (or a setup-command argument): `SHA1`, `SHA256` or
    /// `SHA512`, in any case, and nothing else (no blanks around it), as the fork reads it.
    #[must_use]
    pub fn parse(value: &[u8]) -> Option<Algorithm> {
        [Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512]
            .into_iter()
            .find(|a| value.eq_ignore_ascii_case(a.name().as_bytes()))
    }

    /// The name as written in the file and in the `algorithm=` URL parameter.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Algorithm::Sha1 => "SHA1",
            Algorithm::Sha256 => "SHA256",
            Algorithm::Sha512 => "SHA512",
        }
    }
}

/// 10^`digits`: the number of distinct codes with that many digits.
#[must_use]
pub(crate) fn modulus(digits: u32) -> u32 {
    10u32.pow(digits)
}

#[derive(Clone)]
enum Keyed {
    Sha1(KeyedSha1),
    Sha256(Hmac<Sha256>),
    Sha512(Hmac<Sha512>),
}

/// A keyed HMAC ready to compute codes of a fixed number of digits. The keyed state is wiped
/// on drop.
#[derive(Clone)]
pub struct OtpKey {
    mac: Keyed,
    modulus: u32,
    /// HMAC-SHA1 on sixteen counters at once, when the caller has one for its CPU.
    wide: Option<Wide>,
}

impl std::fmt::Debug for OtpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpKey([redacted])")
    }
}

impl OtpKey {
    /// Keys HMAC-SHA1 for six-digit codes with the decoded shared secret (any length; long
    /// keys are hashed as HMAC prescribes).
    ///
    /// `None` if the HMAC implementation refuses the key. HMAC takes keys of every length, so
    /// that does not happen today; should it ever, the caller fails closed (the secret counts
    /// as invalid) instead of computing codes under some other key.
    pub fn new(secret: &[u8]) -> Option<Self> {
        Self::with(secret, Algorithm::Sha1, MIN_DIGITS)
    }

    /// Keys `algorithm` for codes of `digits` digits (6 to 8; `None` for any other number,
    /// or when the key is refused as in [`OtpKey::new`]).
    pub fn with(secret: &[u8], algorithm: Algorithm, digits: u32) -> Option<Self> {
        if !(MIN_DIGITS..=MAX_DIGITS).contains(&digits) {
            return None;
        }
        let mac = match algorithm {
            Algorithm::Sha1 => Keyed::Sha1(KeyedSha1::new(secret)),
            Algorithm::Sha256 => {
                Keyed::Sha256(<Hmac<Sha256> as KeyInit>::new_from_slice(secret).ok()?)
            }
            Algorithm::Sha512 => {
                Keyed::Sha512(<Hmac<Sha512> as KeyInit>::new_from_slice(secret).ok()?)
            }
        };
        Some(OtpKey {
            mac,
            modulus: modulus(digits),
            wide: None,
        })
    }

    /// The same key, with `wide` (when given) computing HMAC-SHA1 sixteen counters at a
    /// time in [`find`](Self::find). The codes are the same either way.
    #[must_use]
    pub fn widened(mut self, wide: Option<Wide>) -> Self {
        self.wide = wide;
        self
    }

    /// One more than the largest code this key computes (10^digits).
    #[must_use]
    pub fn modulus(&self) -> u32 {
        self.modulus
    }

    /// The HOTP value for `counter` (RFC 4226 dynamic truncation, mod 10^digits).
    ///
    /// Inlined into the skew search, with constant divisors, so the SHA-1 six-digit path
    /// costs what it cost before the other hashes and lengths existed.
    #[inline(always)]
    pub fn code(&self, counter: u64) -> u32 {
        let word = match &self.mac {
            Keyed::Sha1(keyed) => keyed.truncated(&[counter; LANES])[0],
            Keyed::Sha256(mac) => truncate(mac, counter),
            Keyed::Sha512(mac) => truncate(mac, counter),
        };
        self.reduce(word)
    }

    #[inline(always)]
    fn reduce(&self, word: u32) -> u32 {
        match self.modulus {
            CODE_MODULUS => word % CODE_MODULUS,
            10_000_000 => word % 10_000_000,
            _ => word % 100_000_000,
        }
    }

    /// Whether `code` is the HOTP value for `counter`, compared in constant time.
    pub fn matches(&self, counter: u64, code: u32) -> bool {
        self.code(counter).ct_eq(&code).into()
    }

    /// The position of the first of `counters` whose code is `code`. Every code is computed
    /// and compared (in constant time) whatever matched, so the time taken does not tell
    /// where a match was. HMAC-SHA1 computes [`LANES`] counters at a time.
    pub fn find(&self, counters: impl IntoIterator<Item = u64>, code: u32) -> Option<usize> {
        let mut found = None;
        let mut note = |index: usize, word: u32| {
            let hit = self.reduce(word).ct_eq(&code);
            if bool::from(hit) && found.is_none() {
                found = Some(index);
            }
        };
        match &self.mac {
            Keyed::Sha1(keyed) => match self.wide {
                Some(wide) => in_batches(counters, |batch: &[u64; WIDE]| {
                    keyed.truncated_wide(wide, batch)
                })
                .for_each(|(i, word)| note(i, word)),
                None => in_batches(counters, |batch: &[u64; LANES]| keyed.truncated(batch))
                    .for_each(|(i, word)| note(i, word)),
            },
            Keyed::Sha256(mac) => {
                for (i, counter) in counters.into_iter().enumerate() {
                    note(i, truncate(mac, counter));
                }
            }
            Keyed::Sha512(mac) => {
                for (i, counter) in counters.into_iter().enumerate() {
                    note(i, truncate(mac, counter));
                }
            }
        }
        found
    }
}

/// The words `compute` gives for `counters`, computed `N` at a time, with their positions.
/// The last batch is filled up with copies of its first counter, whose words are dropped.
fn in_batches<const N: usize>(
    counters: impl IntoIterator<Item = u64>,
    mut compute: impl FnMut(&[u64; N]) -> [u32; N],
) -> impl Iterator<Item = (usize, u32)> {
    let mut counters = counters.into_iter().peekable();
    let mut start = 0;
    std::iter::from_fn(move || {
        let first = *counters.peek()?;
        let mut batch = [first; N];
        let mut filled = 0;
        for (slot, counter) in batch.iter_mut().zip(counters.by_ref()) {
            *slot = counter;
            filled += 1;
        }
        let words = compute(&batch);
        let at = start;
        start += filled;
        Some(
            words
                .into_iter()
                .take(filled)
                .enumerate()
                .map(move |(i, w)| (at + i, w)),
        )
    })
    .flatten()
}

/// The 31-bit word RFC 4226 picks from the HMAC of `counter` (dynamic truncation; the offset
/// comes from the last byte, so it works for every digest length from 20 bytes up).
#[inline(always)]
fn truncate<M: Mac + Clone>(mac: &M, counter: u64) -> u32 {
    let mut mac = mac.clone();
    mac.update(&counter.to_be_bytes());
    dynamic_truncation(&mac.finalize().into_bytes())
}

/// RFC 4226's dynamic truncation: the 31-bit word at the offset the digest's last nibble
/// names (works for every digest length from 20 bytes up).
#[inline(always)]
pub(crate) fn dynamic_truncation(digest: &[u8]) -> u32 {
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    u32::from_be_bytes([
        digest[offset],
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]) & 0x7fff_ffff
}

/// HMAC-SHA1 of `message` under `key`, for known-answer tests and tools; `None` when the
/// key is refused (see [`OtpKey::new`]).
pub fn hmac_sha1(key: &[u8], message: &[u8]) -> Option<[u8; 20]> {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key).ok()?;
    mac.update(message);
    Some(mac.finalize().into_bytes().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02X}")).collect()
    }

    #[test]
    fn rfc4226_appendix_d() {
        let key = OtpKey::new(b"12345678901234567890").unwrap();
        let expected = [
            755224, 287082, 359152, 969429, 338314, 254676, 287922, 162583, 399871, 520489,
        ];
        for (counter, want) in expected.iter().enumerate() {
            assert_eq!(key.code(counter as u64), *want, "counter {counter}");
        }
    }

    #[test]
    fn rfc6238_sha1_vectors_truncated_to_six_digits() {
        // RFC 6238 appendix B lists 8-digit values; the module uses the last six.
        let key = OtpKey::new(b"12345678901234567890").unwrap();
        let cases: [(u64, u32); 6] = [
            (59, 94287082),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ];
        for (time, eight) in cases {
            assert_eq!(key.code(time / 30), eight % 1_000_000, "time {time}");
        }
    }

    #[test]
    fn rfc6238_appendix_b_all_algorithms_eight_digits() {
        // RFC 6238 appendix B: each algorithm has its own seed, the ASCII digits repeated to
        // the hash's output length.
        let seeds: [(Algorithm, &[u8]); 3] = [
            (Algorithm::Sha1, b"12345678901234567890"),
            (Algorithm::Sha256, b"12345678901234567890123456789012"),
            (
                Algorithm::Sha512,
                b"1234567890123456789012345678901234567890123456789012345678901234",
            ),
        ];
        let cases: [(u64, [u32; 3]); 6] = [
            (59, [94287082, 46119246, 90693936]),
            (1111111109, [7081804, 68084774, 25091201]),
            (1111111111, [14050471, 67062674, 99943326]),
            (1234567890, [89005924, 91819424, 93441116]),
            (2000000000, [69279037, 90698825, 38618901]),
            (20000000000, [65353130, 77737706, 47863826]),
        ];
        for (i, (algorithm, seed)) in seeds.into_iter().enumerate() {
            let key = OtpKey::with(seed, algorithm, 8).unwrap();
            assert_eq!(key.modulus(), 100_000_000);
            for (time, want) in cases {
                assert_eq!(key.code(time / 30), want[i], "{algorithm:?} time {time}");
                assert!(key.matches(time / 30, want[i]));
                // Seven and six digits are the same value with fewer digits.
                let seven = OtpKey::with(seed, algorithm, 7).unwrap();
                assert_eq!(seven.code(time / 30), want[i] % 10_000_000);
                let six = OtpKey::with(seed, algorithm, 6).unwrap();
                assert_eq!(six.code(time / 30), want[i] % 1_000_000);
            }
        }
    }

    #[test]
    fn the_forks_vectors_for_the_upstream_test_secret() {
        // google-authenticator-libpam-hardened's unit test: step 10000 of 2SH3V3GDW7ZNMGYE.
        let secret = crate::core::base32::decode(b"2SH3V3GDW7ZNMGYE").expect("valid");
        let code = |algorithm, digits| {
            OtpKey::with(&secret, algorithm, digits)
                .unwrap()
                .code(10000)
        };
        assert_eq!(code(Algorithm::Sha256, 6), 596509);
        assert_eq!(code(Algorithm::Sha512, 6), 346407);
        assert_eq!(code(Algorithm::Sha1, 8), 26050548);
        assert_eq!(code(Algorithm::Sha1, 6), 50548);
        // HOTP counter 5 with eight digits (oathtool -c 5 -d 8).
        assert_eq!(
            OtpKey::with(&secret, Algorithm::Sha1, 8).unwrap().code(5),
            5932068
        );
    }

    #[test]
    fn new_is_sha1_with_six_digits_and_other_digit_counts_are_refused() {
        let secret = b"12345678901234567890";
        let a = OtpKey::new(secret).unwrap();
        let b = OtpKey::with(secret, Algorithm::Sha1, 6).unwrap();
        assert_eq!(a.modulus(), CODE_MODULUS);
        for c in 0..50 {
            assert_eq!(a.code(c), b.code(c));
        }
        for digits in [0, 5, 9, 10] {
            assert!(OtpKey::with(secret, Algorithm::Sha256, digits).is_none());
        }
    }

    #[test]
    fn algorithm_names_are_read_in_any_case_and_nothing_else() {
        assert_eq!(Algorithm::parse(b"sha1"), Some(Algorithm::Sha1));
        assert_eq!(Algorithm::parse(b"SHA256"), Some(Algorithm::Sha256));
        assert_eq!(Algorithm::parse(b"Sha512"), Some(Algorithm::Sha512));
        for bad in [
            &b""[..],
            b"SHA-256",
            b"sha256 ",
            b" sha1",
            b"SHA384",
            b"md5",
        ] {
            assert_eq!(Algorithm::parse(bad), None, "{bad:?}");
        }
        assert_eq!(Algorithm::default(), Algorithm::Sha1);
    }

    #[test]
    fn spec_vectors_for_upstream_test_secret() {
        // 2SH3V3GDW7ZNMGYE decoded.
        let secret = crate::core::base32::decode(b"2SH3V3GDW7ZNMGYE").expect("valid");
        let key = OtpKey::new(&secret).unwrap();
        for (counter, code) in [
            (1, 293240),
            (5, 932068),
            (10000, 50548),
            (9998, 374875),
            (9999, 692344),
            (10001, 478726),
            (10002, 646986),
            (11000, 229713),
            (20000, 178844),
        ] {
            assert_eq!(key.code(counter), code, "counter {counter}");
            assert!(key.matches(counter, code));
            assert!(!key.matches(counter, (code + 1) % CODE_MODULUS));
        }
    }

    #[test]
    fn upstream_hmac_known_answers() {
        let key1: Vec<u8> = (0x00..=0x3f).collect();
        assert_eq!(
            hex(&hmac_sha1(&key1, b"Sample #1").unwrap()),
            "4F4CA3D5D68BA7CC0A1208C9C61E9C5DA0403C0A"
        );
        let key2: Vec<u8> = (0x30..=0x43).collect();
        assert_eq!(
            hex(&hmac_sha1(&key2, b"Sample #2").unwrap()),
            "0922D3405FAA3D194F82A45830737D5CC6C75D24"
        );
        let key3: Vec<u8> = (0x50..=0xb3).collect();
        assert_eq!(
            hex(&hmac_sha1(&key3, b"Sample #3").unwrap()),
            "BCF41EAB8BB2D802F3D05CAF7CB092ECF8D1A3AA"
        );
        let key4: Vec<u8> = (0x70..=0xa0).collect();
        assert_eq!(
            hex(&hmac_sha1(&key4, b"Sample #4").unwrap()),
            "9EA886EFE268DBECCE420C7524DF32E0751A2A26"
        );
    }

    #[test]
    fn debug_is_redacted() {
        assert_eq!(
            format!("{:?}", OtpKey::new(b"k").unwrap()),
            "OtpKey([redacted])"
        );
    }
}
