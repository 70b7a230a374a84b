//! Module argument parsing never panics, and a parsed set of arguments is stable: parsing
//! the same words again gives the same options.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_google_authenticator::core::args::Options;
use pam_google_authenticator::core::path::{Vars, expand};

fuzz_target!(|data: &[u8]| {
    let args: Vec<&[u8]> = data.split(|b| *b == 0).collect();
    if let Ok(o) = Options::parse(&args) {
        assert_eq!(Options::parse(&args).ok(), Some(o.clone()));
        let _ = o.prompt();
        let _ = expand(
            &o.secret,
            Vars {
                home: Some(b"/home/u"),
                user: b"u",
            },
        );
        let _ = expand(
            &o.secret,
            Vars {
                home: None,
                user: b"u",
            },
        );
    }
});
