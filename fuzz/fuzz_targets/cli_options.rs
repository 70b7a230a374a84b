//! The setup command's option parser on arbitrary argument vectors (NUL separates the
//! arguments, any other byte may appear in one): it never panics, and the options it
//! accepts are within the ranges upstream enforces. Each input is parsed once.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;
use pam_google_authenticator::cli::options::{Mode, Parsed, Window, parse};

fn argv(data: &[u8]) -> Vec<OsString> {
    if data.is_empty() {
        return Vec::new();
    }
    data.split(|b| *b == 0)
        .map(|a| OsString::from_vec(a.to_vec()))
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let Parsed::Run(o) = parse(argv(data)) else {
        return;
    };
    if let Some((n, m)) = o.rate_limit {
        assert!((1..=10).contains(&n) && (15..=600).contains(&m));
        assert!(!o.no_rate_limit);
    }
    if let Some(s) = o.step_size {
        assert!((1..=60).contains(&s));
    }
    if let Some(Window::Size(w)) = o.window {
        assert!((1..=21).contains(&w));
    }
    assert!(o.emergency_codes <= 10);
    if o.disallow_reuse.is_some() {
        assert_eq!(o.mode, Some(Mode::Totp));
    }
    if o.secret.as_ref().is_some_and(|s| s.is_empty()) {
        panic!("an empty -s value is refused");
    }
    for mode in [Mode::Totp, Mode::Hotp] {
        if let Some(w) = o.window {
            let _ = w.size(mode);
        }
    }
});
