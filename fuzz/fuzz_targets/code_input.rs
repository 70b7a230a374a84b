//! Splitting what the user typed into a password prefix and a code never panics, and a
//! split is exact: prefix + code digits give back the input.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_google_authenticator::core::input::{CodeKind, split};

fuzz_target!(|data: &[u8]| {
    for (kind, width) in [
        (CodeKind::Verification(6), 6),
        (CodeKind::Verification(7), 7),
        (CodeKind::Verification(8), 8),
        (CodeKind::Scratch, 8),
    ] {
        if let Some(s) = split(data, kind) {
            let mut back = s.prefix.to_vec();
            back.extend_from_slice(format!("{:0width$}", s.code).as_bytes());
            assert_eq!(back, data);
        }
    }
});
