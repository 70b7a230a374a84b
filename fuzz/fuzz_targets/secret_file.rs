//! The secret-file model: reading never panics, and rewriting an option with the value read
//! back, on a file in the written layout, returns the same bytes (round trip).
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_google_authenticator::core::file::SecretFile;

const KEYS: [&str; 10] = [
    "TOTP_AUTH",
    "HOTP_COUNTER",
    "RATE_LIMIT",
    "DISALLOW_REUSE",
    "WINDOW_SIZE",
    "STEP_SIZE",
    "TIME_SKEW",
    "RESETTING_TIME_SKEW",
    "LAST0",
    "LAST9",
];

fuzz_target!(|data: &[u8]| {
    let mut file = SecretFile::from_bytes(data.to_vec());
    let _ = file.decode_secret();
    let _ = file.is_totp();
    let codes = file.scratch_codes();
    for key in KEYS {
        if let Some(v) = file.get(key).map(<[u8]>::to_vec) {
            // A value read back holds no line break; one with a NUL is refused and changes
            // nothing.
            let unchanged = file.as_bytes().to_vec();
            if file.set(key, &v).is_err() {
                assert!(v.contains(&0));
                assert_eq!(file.as_bytes(), &unchanged[..]);
                continue;
            }
            // Setting a key to the value it has must leave exactly one line for it, with
            // that value.
            let trimmed: &[u8] = &v[v.iter().take_while(|b| **b == b' ' || **b == b'\t').count()..];
            assert_eq!(file.get(key), Some(trimmed));
            // A second identical set is a no-op: the rewrite reached its fixed point.
            let before = file.as_bytes().to_vec();
            assert!(file.set(key, &v).is_ok());
            assert_eq!(file.as_bytes(), &before[..]);
        }
    }
    // Each scratch code can be used at most as often as it appears.
    let mut f = SecretFile::from_bytes(data.to_vec());
    for code in &codes {
        let copies = codes.iter().filter(|c| *c == code).count();
        let mut uses = 0;
        while f.use_scratch_code(*code) {
            uses += 1;
            assert!(uses <= copies);
        }
    }
});
