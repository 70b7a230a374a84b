//! What the user typed: splitting a candidate into a password prefix and a code.
//!
//! The code is always the *end* of the input: the last six characters for a verification
//! code, the last eight for a scratch code (which never starts with 0). All of them must be
//! digits, so spaces, signs and trailing newlines make the candidate invalid.

/// Which kind of code a pass looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeKind {
    /// A six-digit TOTP/HOTP code.
    Verification,
    /// An eight-digit scratch code.
    Scratch,
}

impl CodeKind {
    /// Number of digits.
    pub fn digits(self) -> usize {
        match self {
            CodeKind::Verification => 6,
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
    if input.len() < n {
        return None;
    }
    let (prefix, digits) = input.split_at(input.len() - n);
    let first_ok = match kind {
        CodeKind::Verification => digits[0].is_ascii_digit(),
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
pub fn is_dummy_password(input: &[u8]) -> bool {
    input.first() == Some(&0x08)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn verification_codes() {
        let s = split(b"050548", CodeKind::Verification).unwrap();
        assert_eq!((s.prefix, s.code), (&b""[..], 50548));
        let s = split(b"xyz050548", CodeKind::Verification).unwrap();
        assert_eq!((s.prefix, s.code), (&b"xyz"[..], 50548));
        for bad in [
            &b"50548"[..],
            b"050 548",
            b"050548\n",
            b"+50548",
            b" 50548",
            b"",
        ] {
            assert!(split(bad, CodeKind::Verification).is_none(), "{bad:?}");
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
            split(b"00050548", CodeKind::Verification).unwrap().prefix,
            b"00"
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
            if let Some(s) = split(&input, CodeKind::Verification) {
                prop_assert!(s.code < 1_000_000);
                prop_assert_eq!(s.prefix.len() + 6, input.len());
            }
            if let Some(s) = split(&input, CodeKind::Scratch) {
                prop_assert!((10_000_000..100_000_000).contains(&s.code));
            }
        }
    }
}
