//! The whole decision policy on arbitrary files, answers and clocks: never panics.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_google_authenticator::core::args::Options;
use pam_google_authenticator::core::file::SecretFile;
use pam_google_authenticator::core::policy::{
    Ctx, LoopState, Pass, before_prompt, check_passes, finish,
};

fuzz_target!(|data: &[u8]| {
    if data.len() < 9 {
        return;
    }
    let now = i64::from_le_bytes(data[..8].try_into().unwrap_or_default());
    let flags = data[8];
    let rest = &data[9..];
    let cut = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
    let (bytes, answer) = rest.split_at(cut);
    let options = Options {
        grace_period: i64::from(flags & 0x0f) * 100,
        forward_pass: flags & 0x10 != 0,
        no_skew_adjust: flags & 0x20 != 0,
        no_increment_hotp: flags & 0x40 != 0,
        debug: flags & 0x80 != 0,
        ..Options::default()
    };
    let ctx = Ctx {
        now,
        path: "/f",
        user: "u",
        rhost: Some(b"10.0.0.1"),
        options: &options,
    };
    let mut file = SecretFile::from_bytes(bytes.to_vec());
    let _ = before_prompt(&mut file, &ctx);
    let key = file.decode_secret();
    let mut state = LoopState::default();
    let answer = answer.get(1..).unwrap_or_default();
    let passes = [
        Pass {
            number: 0,
            candidate: Some(answer),
        },
        Pass {
            number: 1,
            candidate: Some(answer),
        },
        Pass {
            number: 2,
            candidate: Some(answer),
        },
        Pass {
            number: 3,
            candidate: Some(answer),
        },
    ];
    let d = check_passes(&mut file, key.as_deref().map(|k| &k[..]), &passes, &mut state, &ctx);
    let success = matches!(
        d.verdict,
        pam_google_authenticator::core::policy::PassVerdict::Success(_)
    );
    let _ = finish(&mut file, success, &state, &ctx);
});
