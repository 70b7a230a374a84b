//! The whole decision policy on arbitrary files, answers, clocks and options, as the flow
//! runs it: rate limit and grace before the prompt (which may end the attempt), the four passes (PAM_AUTHTOK for passes
//! 0 and 1, the prompted answer for 2 and 3, either possibly missing), then the bookkeeping
//! after the loop. It never panics, it is deterministic, and a file it changes is always
//! listed as changed (the flow writes the file only then).
//!
//! Input: 8 bytes of clock (i64, little endian), an options byte, a shape byte, then the
//! file, a NUL, PAM_AUTHTOK, a NUL and the prompted answer.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pam_google_authenticator::core::args::Options;
use pam_google_authenticator::core::file::SecretFile;
use pam_google_authenticator::core::policy::{
    Change, Ctx, LoopState, Pass, PassVerdict, PreVerdict, Source, Wanted, before_prompt,
    check_passes, finish,
};

const RHOSTS: [Option<&[u8]>; 4] = [
    None,
    Some(b"10.0.0.1"),
    Some(b"2001:db8::1"),
    Some(b"h%st.example"),
];

/// What one attempt decided, and the file afterwards.
#[derive(Debug, PartialEq)]
struct Attempt {
    pre: PreVerdict,
    verdict: PassVerdict,
    changes: Vec<Change>,
    file: Vec<u8>,
}

fn attempt(bytes: &[u8], authtok: Option<&[u8]>, answer: Option<&[u8]>, ctx: &Ctx<'_>) -> Attempt {
    let mut file = SecretFile::from_bytes(bytes.to_vec());
    let pre = before_prompt(&mut file, ctx);
    let mut changes = pre.changes;
    if pre.verdict != PreVerdict::Continue {
        // No prompt: the flow ends here and writes the file only if a change is listed. A
        // grace login lists none and drops what the rate limit recorded in memory, as the
        // original does.
        let file = if changes.is_empty() {
            bytes.to_vec()
        } else {
            file.as_bytes().to_vec()
        };
        return Attempt {
            pre: pre.verdict,
            verdict: PassVerdict::Undecided,
            changes,
            file,
        };
    }
    let key = file.decode_secret();
    let mut state = LoopState::default();
    let passes = [
        Pass {
            source: Source::Authtok,
            wants: Wanted::Verification,
            candidate: authtok,
        },
        Pass {
            source: Source::Authtok,
            wants: Wanted::Scratch,
            candidate: authtok,
        },
        Pass {
            source: Source::Prompt,
            wants: Wanted::Verification,
            candidate: answer,
        },
        Pass {
            source: Source::Prompt,
            wants: Wanted::Scratch,
            candidate: answer,
        },
    ];
    let d = check_passes(&mut file, key.as_deref().map(|k| &k[..]), &passes, &mut state, ctx);
    changes.extend(d.changes);
    let success = matches!(d.verdict, PassVerdict::Success(_));
    changes.extend(finish(&mut file, success, &state, ctx).changes);
    Attempt {
        pre: pre.verdict,
        verdict: d.verdict,
        changes,
        file: file.as_bytes().to_vec(),
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 10 {
        return;
    }
    let now = i64::from_le_bytes(data[..8].try_into().unwrap_or_default());
    let flags = data[8];
    let shape = data[9];
    let mut parts = data[10..].splitn(3, |b| *b == 0);
    let bytes = parts.next().unwrap_or_default();
    let authtok = parts.next().filter(|_| shape & 1 != 0);
    let answer = parts.next().filter(|_| shape & 2 != 0);
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
        rhost: RHOSTS[usize::from((shape >> 2) & 3)],
        options: &options,
        sha1_wide: pam_google_authenticator::os::simd::sha1_wide(),
    };
    let first = attempt(bytes, authtok, answer, &ctx);
    assert_eq!(
        attempt(bytes, authtok, answer, &ctx),
        first,
        "deterministic"
    );
    if first.changes.is_empty() {
        assert_eq!(
            first.file, bytes,
            "the file changed but no change is listed"
        );
    }
});
