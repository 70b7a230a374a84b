//! C-compatible number parsing.
//!
//! The file format and the module arguments were defined by a C implementation that reads
//! numbers with `strtol`/`strtoul`. Their quirks are part of the format (leading white space
//! and a sign are accepted, a leading zero is fine, parsing stops at the first non-digit), so
//! the core reproduces them exactly here instead of using `str::parse`.

/// The result of parsing a number at the start of a byte string, like C's `strto*l`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed<T> {
    /// The value, clamped like C does on overflow.
    pub value: T,
    /// How many bytes were consumed; 0 when no digits were found (C's `endptr == ptr`).
    pub end: usize,
    /// The value did not fit (C's `errno == ERANGE`).
    pub overflow: bool,
}

impl<T> Parsed<T> {
    /// Whether any digits were converted.
    pub fn converted(&self) -> bool {
        self.end != 0
    }
}

/// C's `isspace` in the "C" locale.
pub(crate) fn is_c_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r')
}

/// Splits off white space and an optional sign, then accumulates digits in `radix` as an
/// unsigned magnitude. Returns (negative, magnitude, magnitude overflowed u64, end).
fn scan(s: &[u8], radix: u32) -> (bool, u64, bool, usize) {
    let mut i = 0;
    while i < s.len() && is_c_space(s[i]) {
        i += 1;
    }
    let mut negative = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        negative = s[i] == b'-';
        i += 1;
    }
    let digits_start = i;
    let mut magnitude: u64 = 0;
    let mut overflow = false;
    while i < s.len() {
        let Some(d) = (s[i] as char).to_digit(radix) else {
            break;
        };
        match magnitude
            .checked_mul(u64::from(radix))
            .and_then(|m| m.checked_add(u64::from(d)))
        {
            Some(m) => magnitude = m,
            None => overflow = true,
        }
        i += 1;
    }
    if i == digits_start {
        return (false, 0, false, 0);
    }
    (negative, magnitude, overflow, i)
}

/// C's `strtoul(s, &end, radix)` for an `unsigned long` of 64 bits.
pub fn strtoul(s: &[u8], radix: u32) -> Parsed<u64> {
    let (negative, magnitude, overflow, end) = scan(s, radix);
    if overflow {
        return Parsed {
            value: u64::MAX,
            end,
            overflow: true,
        };
    }
    let value = if negative {
        magnitude.wrapping_neg()
    } else {
        magnitude
    };
    Parsed {
        value,
        end,
        overflow: false,
    }
}

/// C's `strtol(s, &end, radix)` for a `long` of 64 bits.
pub fn strtol(s: &[u8], radix: u32) -> Parsed<i64> {
    let (negative, magnitude, overflow, end) = scan(s, radix);
    let limit = if negative {
        i64::MIN.unsigned_abs()
    } else {
        i64::MAX as u64
    };
    if overflow || magnitude > limit {
        return Parsed {
            value: if negative { i64::MIN } else { i64::MAX },
            end,
            overflow: true,
        };
    }
    let value = if negative {
        (magnitude as i64).wrapping_neg()
    } else {
        magnitude as i64
    };
    Parsed {
        value,
        end,
        overflow: false,
    }
}

/// Length of the initial run of bytes in `set` (C's `strspn`).
pub(crate) fn span(s: &[u8], set: &[u8]) -> usize {
    s.iter().take_while(|b| set.contains(b)).count()
}

/// Length of the initial run of bytes not in `set` (C's `strcspn`).
pub(crate) fn cspan(s: &[u8], set: &[u8]) -> usize {
    s.iter().take_while(|b| !set.contains(b)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strtoul_accepts_space_sign_and_leading_zero() {
        assert_eq!(strtoul(b"  +045678901\n", 10).value, 45_678_901);
        assert_eq!(strtoul(b"  +045678901\n", 10).end, 12);
        assert_eq!(strtoul(b"-1", 10).value, u64::MAX);
        assert!(!strtoul(b"x1", 10).converted());
        assert!(!strtoul(b"  ", 10).converted());
        assert!(!strtoul(b"-", 10).converted());
        assert!(strtoul(b"99999999999999999999999", 10).overflow);
    }

    #[test]
    fn strtol_clamps_and_handles_octal() {
        assert_eq!(strtol(b"640", 8).value, 0o640);
        assert_eq!(strtol(b"0648", 8).end, 3);
        assert_eq!(strtol(b"-1", 8).value, -1);
        assert_eq!(strtol(b"1001x", 10).value, 1001);
        assert_eq!(strtol(b"1001x", 10).end, 4);
        let big = strtol(b"-99999999999999999999", 10);
        assert!(big.overflow);
        assert_eq!(big.value, i64::MIN);
        assert_eq!(strtol(b"-9223372036854775808", 10).value, i64::MIN);
        assert!(!strtol(b"-9223372036854775808", 10).overflow);
    }

    #[test]
    fn spans() {
        assert_eq!(span(b"\r\n\nx", b"\r\n"), 3);
        assert_eq!(cspan(b"abc\r\n", b"\r\n"), 3);
        assert_eq!(cspan(b"abc", b"\r\n"), 3);
    }
}
