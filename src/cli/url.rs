//! The `otpauth://` URL that authenticator apps and password managers import.
//!
//! The label and issuer are escaped as upstream does: `%`, `&`, `?`, `=`, control bytes,
//! space and bytes from 0x7F up become `%XX`; everything else (including `/ : @ # +`) stays.
//! Unlike upstream, the URL carries `period` when the step is not 30 seconds and `counter=1`
//! for HOTP, and `digits`/`algorithm` when they were chosen (`-g`/`-a`, as the fork does),
//! so an app scanning it computes the same codes the module expects.

use crate::core::otp::Algorithm;

/// What goes into the URL.
#[derive(Debug, Clone, Copy)]
pub struct Account<'a> {
    /// HOTP instead of TOTP.
    pub hotp: bool,
    /// The label (usually `user@host`).
    pub label: &'a [u8],
    /// The issuer; left out when empty.
    pub issuer: &'a [u8],
    /// The base32 secret.
    pub secret: &'a str,
    /// The TOTP step in seconds.
    pub step: u32,
    /// The number of digits, when chosen (written even when it is the default 6).
    pub digits: Option<u32>,
    /// The HMAC's hash, when chosen (written even when it is the default SHA1).
    pub algorithm: Option<Algorithm>,
}

/// The URL is refused when an escaped field could exceed this many bytes (upstream's limit).
const MAX_FIELD: usize = 10_000;

/// Why no URL was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("Error: Generated URL would be unreasonably large.")]
pub struct TooLarge;

/// Builds the URL.
pub fn otpauth(account: &Account<'_>) -> Result<String, TooLarge> {
    if 3 * account.label.len() + 1 > MAX_FIELD || 3 * account.issuer.len() + 1 > MAX_FIELD {
        return Err(TooLarge);
    }
    let kind = if account.hotp { "hotp" } else { "totp" };
    let mut url = format!(
        "otpauth://{kind}/{}?secret={}",
        escape(account.label),
        account.secret
    );
    if !account.issuer.is_empty() {
        url.push_str("&issuer=");
        url.push_str(&escape(account.issuer));
    }
    if account.hotp {
        url.push_str("&counter=1");
    } else if account.step != 30 {
        url.push_str(&format!("&period={}", account.step));
    }
    if let Some(digits) = account.digits {
        url.push_str(&format!("&digits={digits}"));
    }
    if let Some(algorithm) = account.algorithm {
        url.push_str("&algorithm=");
        url.push_str(algorithm.name());
    }
    Ok(url)
}

/// Upstream's escaping.
#[must_use]
pub(crate) fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b <= b' ' || b >= 0x7f || matches!(b, b'%' | b'&' | b'?' | b'=') {
            out.push_str(&format!("%{b:02X}"));
        } else {
            out.push(char::from(b));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    fn account<'a>(label: &'a [u8], issuer: &'a [u8]) -> Account<'a> {
        Account {
            hotp: false,
            label,
            issuer,
            secret: SECRET,
            step: 30,
            digits: None,
            algorithm: None,
        }
    }

    #[test]
    fn upstream_example() {
        let url = otpauth(&account("my label&x=1?%/ü".as_bytes(), b"Iss uer")).unwrap();
        assert_eq!(
            url,
            format!(
                "otpauth://totp/my%20label%26x%3D1%3F%25/%C3%BC?secret={SECRET}&issuer=Iss%20uer"
            )
        );
    }

    #[test]
    fn empty_issuer_period_and_counter() {
        assert_eq!(
            otpauth(&account(b"u@h", b"")).unwrap(),
            format!("otpauth://totp/u@h?secret={SECRET}")
        );
        let mut a = account(b"u@h", b"h");
        a.step = 60;
        assert_eq!(
            otpauth(&a).unwrap(),
            format!("otpauth://totp/u@h?secret={SECRET}&issuer=h&period=60")
        );
        a.hotp = true;
        assert_eq!(
            otpauth(&a).unwrap(),
            format!("otpauth://hotp/u@h?secret={SECRET}&issuer=h&counter=1")
        );
    }

    #[test]
    fn digits_and_algorithm() {
        let mut a = account(b"u@h", b"h");
        a.digits = Some(8);
        a.algorithm = Some(Algorithm::Sha256);
        a.step = 60;
        assert_eq!(
            otpauth(&a).unwrap(),
            format!(
                "otpauth://totp/u@h?secret={SECRET}&issuer=h&period=60&digits=8&algorithm=SHA256"
            )
        );
        a.hotp = true;
        a.algorithm = None;
        a.digits = Some(7);
        assert_eq!(
            otpauth(&a).unwrap(),
            format!("otpauth://hotp/u@h?secret={SECRET}&issuer=h&counter=1&digits=7")
        );
    }

    #[test]
    fn unreasonably_large() {
        let ok = vec![b'a'; 3333];
        let big = vec![b'a'; 3334];
        assert!(otpauth(&account(&ok, &ok)).is_ok());
        assert_eq!(otpauth(&account(&big, b"")), Err(TooLarge));
        assert_eq!(otpauth(&account(b"", &big)), Err(TooLarge));
    }
}
