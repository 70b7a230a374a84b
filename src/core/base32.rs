//! Base32 as the secret file uses it: RFC 4648 upper-case alphabet without padding when
//! writing, and a lenient reader that forgives what people type.
//!
//! The reader skips spaces, tabs, CR, LF and `-`, ignores case, and maps the common
//! mistypes `0`→`O`, `1`→`L`, `8`→`B`. Any other character, padding `=` included, makes
//! the secret invalid. Trailing bits that do not fill a byte are dropped.

use std::sync::LazyLock;

use data_encoding::{Encoding, Specification};
use zeroize::Zeroizing;

/// The longest first line accepted as a secret.
pub const MAX_SECRET_LINE: usize = 100_000;

static DECODER: LazyLock<Option<Encoding>> = LazyLock::new(|| {
    let mut spec = Specification::new();
    spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
    spec.check_trailing_bits = false;
    spec.encoding().ok()
});

/// Encodes bytes as unpadded upper-case base32 (what the setup command writes).
pub fn encode(bytes: &[u8]) -> String {
    data_encoding::BASE32_NOPAD.encode(bytes)
}

/// Decodes a secret line leniently. Returns `None` when the line holds a character outside
/// the alphabet or fewer than eight bits of data.
pub fn decode(line: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    if line.len() > MAX_SECRET_LINE {
        return None;
    }
    let mut symbols = Zeroizing::new(Vec::with_capacity(line.len()));
    for &b in line {
        let s = match b {
            b' ' | b'\t' | b'\r' | b'\n' | b'-' => continue,
            b'0' => b'O',
            b'1' => b'L',
            b'8' => b'B',
            b'a'..=b'z' => b.to_ascii_uppercase(),
            b'A'..=b'Z' | b'2'..=b'7' => b,
            _ => return None,
        };
        symbols.push(s);
    }
    // Lengths of 1, 3 or 6 symbols (mod 8) end in a partial symbol group whose last symbol
    // carries no whole byte; dropping it gives the same bytes and a length the decoder takes.
    if matches!(symbols.len() % 8, 1 | 3 | 6) {
        symbols.pop();
    }
    let decoder = DECODER.as_ref()?;
    let mut out = Zeroizing::new(vec![0u8; decoder.decode_len(symbols.len()).ok()?]);
    let n = decoder.decode_mut(&symbols, &mut out).ok()?;
    out.truncate(n);
    if out.is_empty() {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn upstream_hello_world_vector() {
        let data = b"Hello world...\0";
        assert_eq!(encode(data), "JBSWY3DPEB3W64TMMQXC4LQA");
        assert_eq!(
            decode(b"JBSWY3DPEB3W64TMMQXC4LQA").unwrap().as_slice(),
            data
        );
    }

    #[test]
    fn lenient_reading() {
        let strict = decode(b"2SH3V3GDW7ZNMGYE").unwrap();
        assert_eq!(decode(b"2sh3 v3gd-w7zn\tmgye\r").unwrap(), strict);
        assert_eq!(decode(b"00").unwrap(), decode(b"OO").unwrap());
        assert_eq!(decode(b"11").unwrap(), decode(b"LL").unwrap());
        assert_eq!(decode(b"88").unwrap(), decode(b"BB").unwrap());
    }

    #[test]
    fn rejects_bad_symbols_padding_and_too_little_data() {
        assert!(decode(b"2SH3V3GDW7ZNMGY=").is_none());
        assert!(decode(b"2SH3V3GD9").is_none());
        assert!(decode(b"A").is_none());
        assert!(decode(b"").is_none());
        assert!(decode(b" - ").is_none());
        assert_eq!(decode(b"AB").unwrap().len(), 1);
        assert!(decode(&vec![b'A'; MAX_SECRET_LINE + 1]).is_none());
    }

    #[test]
    fn drops_partial_trailing_bits_for_every_length() {
        // n symbols carry floor(5n/8) bytes.
        for n in 2..40usize {
            let line = vec![b'7'; n];
            assert_eq!(decode(&line).unwrap().len(), n * 5 / 8, "length {n}");
        }
    }

    proptest! {
        #[test]
        fn round_trips_any_bytes(bytes in proptest::collection::vec(any::<u8>(), 1..64)) {
            let text = encode(&bytes);
            let upper = decode(text.as_bytes()).unwrap();
            let lower = decode(text.to_lowercase().as_bytes()).unwrap();
            prop_assert_eq!(upper.as_slice(), bytes.as_slice());
            prop_assert_eq!(lower.as_slice(), bytes.as_slice());
        }

        #[test]
        fn never_panics(line in proptest::collection::vec(any::<u8>(), 0..200)) {
            let _ = decode(&line);
        }
    }
}
