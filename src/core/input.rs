//! What the user typed: splitting a candidate into a password prefix and a code.
//!
//! The code is always the *end* of the input: the last six characters for a verification
//! code (seven or eight when the file says `DIGITS 7` or `DIGITS 8`), the last eight for a
//! scratch code (which never starts with 0). All of them must be digits, so spaces, signs
//! and trailing newlines make the candidate invalid.
//!
//! With `DIGITS 8` a verification code and a scratch code have the same shape; the text
//! does not tell them apart. The policy does, as the fork of the C module does: every
//! candidate is first looked up in the file's scratch codes, and only then checked as a
//! TOTP/HOTP code.

/// Which kind of code a pass looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// A TOTP/HOTP code with this many digits (6 to 8; the file's `DIGITS`, 6 without one).
    Verification(usize),
    /// An eight-digit scratch code.
    Scratch,
}

impl CodeKind {
    /// Number of digits.
    pub fn digits(self) -> usize {
        match self {
            CodeKind::Verification(digits) => digits,
            CodeKind::Scratch => 8,
        }
    }
}

/// A syntactically valid candidate.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Split<'a> {
    /// The text before the code (the password with `forward_pass`), possibly empty.
    pub prefix: &'a [u8],
    /// The code's value.
    pub code: u32,
}

impl std::fmt::Debug for Split<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Split([redacted])")
    }
}

/// Splits `input` for `kind`, or `None` if its tail is not a code of that kind.
pub fn split(input: &[u8], kind: CodeKind) -> Option<Split<'_>> {
    let n = kind.digits();
    // Nine digits still fit a u32; no kind asks for more, or for none.
    if !(1..=9).contains(&n) || input.len() < n {
        return None;
    }
    let (prefix, digits) = input.split_at(input.len() - n);
    let first_ok = match kind {
        CodeKind::Verification(_) => digits[0].is_ascii_digit(),
        CodeKind::Scratch => (b'1'..=b'9').contains(&digits[0]),
    };
    if !first_ok || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let code = digits
        .iter()
        .fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    Some(Split { prefix, code })
}

/// Whether the input is the junk password OpenSSH substitutes when it has already decided
/// to refuse the login (it starts with a backspace).
pub(crate) fn is_dummy_password(input: &[u8]) -> bool {
    input.first() == Some(&0x08)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn verification_codes() {
        let s = split(b"050548", CodeKind::Verification(6)).unwrap();
        assert_eq!((s.prefix, s.code), (&b""[..], 50548));
        let s = split(b"xyz050548", CodeKind::Verification(6)).unwrap();
        assert_eq!((s.prefix, s.code), (&b"xyz"[..], 50548));
        for bad in [
            &b"50548"[..],
            b"050 548",
            b"050548\n",
            b"+50548",
            b" 50548",
            b"",
        ] {
            assert!(split(bad, CodeKind::Verification(6)).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn scratch_codes() {
        let s = split(b"pw12345678", CodeKind::Scratch).unwrap();
        assert_eq!((s.prefix, s.code), (&b"pw"[..], 12345678));
        assert!(split(b"02345678", CodeKind::Scratch).is_none());
        assert!(split(b"1234567", CodeKind::Scratch).is_none());
        // "00050548" is a valid 6-digit tail with a prefix, and not a scratch code.
        assert!(split(b"00050548", CodeKind::Scratch).is_none());
        assert_eq!(
            split(b"00050548", CodeKind::Verification(6))
                .unwrap()
                .prefix,
            b"00"
        );
    }

    #[test]
    fn seven_and_eight_digit_codes() {
        let s = split(b"pw0123456", CodeKind::Verification(7)).unwrap();
        assert_eq!((s.prefix, s.code), (&b"pw"[..], 123456));
        let s = split(b"26050548", CodeKind::Verification(8)).unwrap();
        assert_eq!((s.prefix, s.code), (&b""[..], 26050548));
        // Unlike a scratch code, an eight-digit verification code may start with 0.
        let s = split(b"05932068", CodeKind::Verification(8)).unwrap();
        assert_eq!((s.prefix, s.code), (&b""[..], 5932068));
        assert!(split(b"05932068", CodeKind::Scratch).is_none());
        // Six digits are too few for seven; with six, the same text has a prefix.
        assert!(split(b"050548", CodeKind::Verification(7)).is_none());
        assert_eq!(
            split(b"26050548", CodeKind::Verification(6))
                .unwrap()
                .prefix,
            b"26"
        );
    }

    #[test]
    fn dummy_password() {
        assert!(is_dummy_password(b"\x08\n\rINCORRECT"));
        assert!(!is_dummy_password(b"123456"));
    }

    proptest! {
        #[test]
        fn split_never_panics_and_code_is_in_range(input in prop::collection::vec(any::<u8>(), 0..20)) {
            for digits in 6..=8usize {
                if let Some(s) = split(&input, CodeKind::Verification(digits)) {
                    prop_assert!(s.code < 10u32.pow(digits as u32));
                    prop_assert_eq!(s.prefix.len() + digits, input.len());
                }
            }
            if let Some(s) = split(&input, CodeKind::Scratch) {
                prop_assert!((10_000_000..100_000_000).contains(&s.code));
            }
        }
    }
}
