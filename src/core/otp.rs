//! One-time password maths: HOTP (RFC 4226) and TOTP (RFC 6238) with HMAC-SHA1 and six
//! digits, the only variant the file format knows.
//!
//! [`OtpKey`] keys the HMAC once and clones the keyed state for every counter, which matters
//! because a wrong TOTP code costs a search over 3000 counters (see the policy).

use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use subtle::ConstantTimeEq;

/// Number of distinct six-digit codes.
pub const CODE_MODULUS: u32 = 1_000_000;

/// A keyed HMAC-SHA1 ready to compute codes. The keyed state is wiped on drop.
#[derive(Clone)]
pub struct OtpKey {
    mac: Hmac<Sha1>,
}

impl std::fmt::Debug for OtpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OtpKey([redacted])")
    }
}

impl OtpKey {
    /// Keys the HMAC with the decoded shared secret (any length; long keys are hashed as
    /// HMAC prescribes).
    ///
    /// `None` if the HMAC implementation refuses the key. HMAC takes keys of every length, so
    /// that does not happen today; should it ever, the caller fails closed (the secret counts
    /// as invalid) instead of computing codes under some other key.
    pub fn new(secret: &[u8]) -> Option<Self> {
        let mac = <Hmac<Sha1> as KeyInit>::new_from_slice(secret).ok()?;
        Some(OtpKey { mac })
    }

    /// The six-digit HOTP value for `counter` (RFC 4226 dynamic truncation, mod 10^6).
    pub fn code(&self, counter: u64) -> u32 {
        let mut mac = self.mac.clone();
        mac.update(&counter.to_be_bytes());
        let digest = mac.finalize().into_bytes();
        let offset = usize::from(digest[digest.len() - 1] & 0x0f);
        let word = u32::from_be_bytes([
            digest[offset],
            digest[offset + 1],
            digest[offset + 2],
            digest[offset + 3],
        ]) & 0x7fff_ffff;
        word % CODE_MODULUS
    }

    /// Whether `code` is the HOTP value for `counter`, compared in constant time.
    pub fn matches(&self, counter: u64, code: u32) -> bool {
        self.code(counter).ct_eq(&code).into()
    }
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
