//! Base32 as the secret file uses it: RFC 4648 upper-case alphabet without padding when
//! writing, and a lenient reader that forgives what people type.
//!
//! The reader skips spaces, tabs, CR, LF and `-`, ignores case, and maps the common
//! mistypes `0`→`O`, `1`→`L`, `8`→`B`. Any other character, padding `=` included, makes
//! the secret invalid. Trailing bits that do not fill a byte are dropped.
//!
//! The reader keeps no state between calls: its alphabet is a `const` built at compile time
//! (`data-encoding-macro`), never a table built at run time into a `static`. libpam loads
//! the module for every `pam_start` and unloads it at `pam_end`, so anything built lazily
//! into a `static` would be built again, and leaked, on every login.

use data_encoding::Encoding;
use zeroize::Zeroizing;

/// The longest first line accepted as a secret.
pub(crate) const MAX_SECRET_LINE: usize = 100_000;

/// What the reader skips.
const IGNORED: &[u8] = b" \t\r\n-";

/// The lenient reader's alphabet: upper case, lower case as upper case, `0`/`1`/`8` as
/// `O`/`L`/`B`, the blanks and `-` skipped, trailing bits unchecked.
const LENIENT: Encoding = data_encoding_macro::new_encoding! {
    symbols: "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567",
    translate_from: "abcdefghijklmnopqrstuvwxyz018",
    translate_to: "ABCDEFGHIJKLMNOPQRSTUVWXYZOLB",
    ignore: " \t\r\n-",
    check_trailing_bits: false,
};

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
    // 1, 3 or 6 symbols (mod 8) end in a partial group whose last symbol carries no whole
    // byte; the decoder refuses that length, so that symbol is left out: the same bytes.
    let symbols = line.iter().filter(|b| !IGNORED.contains(b)).count();
    let line = if matches!(symbols % 8, 1 | 3 | 6) {
        let last = line.iter().rposition(|b| !IGNORED.contains(b))?;
        // The symbol left out must still be one the reader takes.
        let b = line[last];
        if !(b.is_ascii_alphabetic() || matches!(b, b'2'..=b'7' | b'0' | b'1' | b'8')) {
            return None;
        }
        &line[..last]
    } else {
        line
    };
    let mut out = Zeroizing::new(vec![0u8; LENIENT.decode_len(line.len()).ok()?]);
    let n = LENIENT.decode_mut(line, &mut out).ok()?;
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

    /// An independent reader: the same symbol mapping, then data-encoding's decoder with
    /// trailing bits unchecked (the module's reader before it stopped keeping a decoder in a
    /// `static`).
    fn data_encoding_reader(line: &[u8]) -> Option<Vec<u8>> {
        let mut spec = data_encoding::Specification::new();
        spec.symbols.push_str("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
        spec.check_trailing_bits = false;
        let decoder = spec.encoding().unwrap();
        let mut symbols = Vec::new();
        for &b in line {
            match b {
                b' ' | b'\t' | b'\r' | b'\n' | b'-' => {}
                b'0' => symbols.push(b'O'),
                b'1' => symbols.push(b'L'),
                b'8' => symbols.push(b'B'),
                b'a'..=b'z' | b'A'..=b'Z' | b'2'..=b'7' => symbols.push(b.to_ascii_uppercase()),
                _ => return None,
            }
        }
        if matches!(symbols.len() % 8, 1 | 3 | 6) {
            symbols.pop();
        }
        let out = decoder.decode(&symbols).ok()?;
        (!out.is_empty()).then_some(out)
    }

    fn secret_like_byte() -> impl Strategy<Value = u8> {
        prop_oneof![
            9 => proptest::sample::select(b"ABCHLOXYZ234567abhloz0189 -\t\r\n=".to_vec()),
            1 => any::<u8>(),
        ]
    }

    proptest! {
        #[test]
        fn agrees_with_an_independent_reader(
            line in proptest::collection::vec(secret_like_byte(), 0..120)
        ) {
            let ours = decode(&line).map(|v| v.to_vec());
            prop_assert_eq!(ours, data_encoding_reader(&line));
        }

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
