//! TOTP and HOTP codes for the tests: the test secret, codes at a frozen time or at the real
//! clock, codes that are certainly wrong, and the library's own key type for the unit-level
//! suites.

use pam_google_authenticator::core::base32;
use pam_google_authenticator::core::otp::OtpKey;

/// The secret of upstream's unit test (and of many examples in the spec).
pub const TEST_SECRET: &str = "2SH3V3GDW7ZNMGYE";

/// Frozen time of the module tests that run the driver under libfaketime: TOTP step 10000,
/// where the test secret's code is `050548`.
pub const T: i64 = 300_000;

/// The raw 6-digit HOTP value of a binary key at `counter` (RFC 4226), computed
/// independently of the crate under test.
pub fn hotp_raw(key: &[u8], counter: u64) -> u32 {
    use hmac::{KeyInit, Mac};
    let mut mac = hmac::Hmac::<sha1::Sha1>::new_from_slice(key).expect("any key length");
    mac.update(&counter.to_be_bytes());
    let h = mac.finalize().into_bytes();
    let off = usize::from(h[19] & 0x0f);
    let bin = u32::from_be_bytes([h[off] & 0x7f, h[off + 1], h[off + 2], h[off + 3]]);
    bin % 1_000_000
}

/// The 6-digit HOTP code of a base32 secret at `counter`, as a zero-padded string.
pub fn hotp_code(secret_b32: &str, counter: u64) -> String {
    let key = data_encoding::BASE32_NOPAD
        .decode(secret_b32.as_bytes())
        .expect("test secrets are unpadded base32 of whole bytes");
    format!("{:06}", hotp_raw(&key, counter))
}

/// The TOTP code (30-second steps) of a base32 secret at Unix time `t`.
pub fn totp_code(secret_b32: &str, t: u64) -> String {
    hotp_code(secret_b32, t / 30)
}

/// The code of [`TEST_SECRET`] at the frozen time [`T`].
pub fn frozen_code() -> String {
    totp_code(TEST_SECRET, T as u64)
}

/// Seconds since the epoch, from the real clock.
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The code of [`TEST_SECRET`] for the real clock, to be computed right before a login (the
/// module's default window of 3 steps covers a step boundary in between).
pub fn code_now() -> String {
    totp_code(TEST_SECRET, now())
}

/// A well-formed 6-digit code that is no TOTP code of [`TEST_SECRET`] from `before`
/// seconds before `t` to `after` seconds after it.
pub fn wrong_code_near(t: u64, before: u64, after: u64) -> String {
    let valid: Vec<String> = (0..=(before + after) / 30)
        .map(|k| totp_code(TEST_SECRET, t - before + 30 * k))
        .collect();
    (0u64..)
        .map(|n| format!("{:06}", (424_242 + n * 137_911) % 1_000_000))
        .find(|c| !valid.contains(c))
        .expect("some code is wrong")
}

/// A code that is wrong for the real clock: no code of [`TEST_SECRET`] within 10 steps
/// of now (the default window is three).
pub fn wrong_code() -> String {
    wrong_code_near(now(), 300, 300)
}

/// The keyed HMAC of the crate under test for a base32 secret.
pub fn key_for(secret: &str) -> OtpKey {
    let bytes = base32::decode(secret.as_bytes()).expect("test secret decodes");
    OtpKey::new(&bytes).expect("HMAC takes any key")
}

/// The six-digit code for `counter`, zero-padded, as a user would type it.
pub fn code_text(key: &OtpKey, counter: u64) -> String {
    format!("{:06}", key.code(counter))
}
