//! Test vectors and code formatting shared by the integration tests.

#![allow(dead_code)]

use pam_google_authenticator::core::base32;
use pam_google_authenticator::core::otp::OtpKey;

/// The secret of the upstream unit test.
pub const SECRET: &str = "2SH3V3GDW7ZNMGYE";

/// The keyed HMAC for a base32 secret.
pub fn key_for(secret: &str) -> OtpKey {
    let bytes = base32::decode(secret.as_bytes()).expect("test secret decodes");
    OtpKey::new(&bytes).expect("HMAC takes any key")
}

/// The six-digit code for `counter`, zero-padded, as a user would type it.
pub fn code_text(key: &OtpKey, counter: u64) -> String {
    format!("{:06}", key.code(counter))
}
