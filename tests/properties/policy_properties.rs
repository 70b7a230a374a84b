//! Properties of the decision policy, checked on random secret files, answers and times
//! through the public core API (no files, no PAM).
//!
//! Each "attempt" below does what the flow does with one set of passes: `check_passes` on
//! the current file, then `finish`, both applied to the same `SecretFile`, which then carries
//! the state into the next attempt.

use pam_google_authenticator::core::args::Options;
use pam_google_authenticator::core::file::SecretFile;
use pam_google_authenticator::core::otp::OtpKey;
use pam_google_authenticator::core::policy::{
    Change, Ctx, LoopState, Pass, PassVerdict, PreVerdict, Source, Wanted, before_prompt,
    check_passes, finish, hotp_counter,
};
use proptest::prelude::*;

use crate::support::otp::{TEST_SECRET as SECRET, key_for};

const PATH: &str = "/home/u/.google_authenticator";

fn ctx(now: i64, options: &Options) -> Ctx<'_> {
    Ctx {
        now,
        path: PATH,
        user: "u",
        rhost: Some(b"::1"),
        options,
        sha1_wide: None,
    }
}

fn key_of(file: &SecretFile) -> Option<zeroize::Zeroizing<Vec<u8>>> {
    file.decode_secret()
}

/// The result of one attempt.
struct Attempt {
    verdict: PassVerdict,
    changes: Vec<Change>,
}

impl Attempt {
    fn success(&self) -> bool {
        matches!(self.verdict, PassVerdict::Success(_))
    }
}

/// One attempt with `candidate` as PAM_AUTHTOK (the first two passes) or as the prompted
/// answer (the last two).
fn attempt(
    file: &mut SecretFile,
    candidate: &[u8],
    first_pass: bool,
    now: i64,
    options: &Options,
) -> Attempt {
    let source = if first_pass {
        Source::Authtok
    } else {
        Source::Prompt
    };
    let passes = [Wanted::Verification, Wanted::Scratch].map(|wants| Pass {
        source,
        wants,
        candidate: Some(candidate),
    });
    let key = key_of(file);
    let c = ctx(now, options);
    let mut state = LoopState::default();
    let decision = check_passes(
        file,
        key.as_deref().map(|k| &k[..]),
        &passes,
        &mut state,
        &c,
    );
    let success = matches!(decision.verdict, PassVerdict::Success(_));
    let fin = finish(file, success, &state, &c);
    let mut changes = decision.changes;
    changes.extend(fin.changes);
    Attempt {
        verdict: decision.verdict,
        changes,
    }
}

fn secret() -> impl Strategy<Value = String> {
    "[A-Z2-7]{16,32}"
}

fn options() -> impl Strategy<Value = Options> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop_oneof![Just(0i64), 1i64..100_000, Just(i64::MAX)],
    )
        .prop_map(
            |(forward_pass, no_skew_adjust, no_increment_hotp, debug, grace)| Options {
                forward_pass,
                no_skew_adjust,
                no_increment_hotp,
                debug,
                grace_period: grace,
                ..Options::default()
            },
        )
}

// ----------------------------------------------------------------------------------------
// Scratch codes

fn scratch_code() -> impl Strategy<Value = u32> {
    10_000_000u32..100_000_000
}

/// How a scratch-code attempt picks its answer.
#[derive(Debug, Clone)]
enum Answer {
    /// One of the file's codes (by index, modulo the number of codes).
    FromFile(usize),
    /// Any eight-digit number.
    Other(u32),
    /// Arbitrary text.
    Junk(Vec<u8>),
}

fn answer() -> impl Strategy<Value = Answer> {
    prop_oneof![
        4 => any::<usize>().prop_map(Answer::FromFile),
        1 => scratch_code().prop_map(Answer::Other),
        1 => prop::collection::vec(any::<u8>(), 0..12).prop_map(Answer::Junk),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn a_scratch_code_is_accepted_at_most_once_per_copy(
        secret in secret(),
        mode in prop_oneof![
            Just(String::new()),
            Just("\" TOTP_AUTH\n".to_string()),
            (1i64..1_000_000).prop_map(|c| format!("\" HOTP_COUNTER {c}\n")),
        ],
        codes in prop::collection::vec(scratch_code(), 1..6),
        duplicate in any::<bool>(),
        options in options(),
        attempts in prop::collection::vec(
            (answer(), prop_oneof![Just(""), Just("pw"), Just("0123456789")], any::<bool>(), 0i64..4_000_000_000),
            1..12,
        ),
    ) {
        let mut codes = codes;
        if duplicate {
            codes.push(codes[0]);
        }
        let mut text = format!("{secret}\n{mode}");
        for c in &codes {
            text.push_str(&format!("{c}\n"));
        }
        let mut file = SecretFile::from_bytes(text.into_bytes());
        let initial = file.scratch_codes();
        prop_assert_eq!(&initial, &codes);
        let copies = |code: u32| initial.iter().filter(|c| **c == code).count();
        let mut used: Vec<u32> = Vec::new();

        for (answer, prefix, first_pass, now) in attempts {
            let candidate: Vec<u8> = match &answer {
                Answer::FromFile(i) => format!("{prefix}{}", codes[i % codes.len()]).into_bytes(),
                Answer::Other(c) => format!("{prefix}{c}").into_bytes(),
                Answer::Junk(j) => j.clone(),
            };
            let before = file.scratch_codes();
            let result = attempt(&mut file, &candidate, first_pass, now, &options);
            if result.changes.contains(&Change::ScratchUsed) {
                prop_assert!(result.success());
                let tail = std::str::from_utf8(&candidate[candidate.len() - 8..]).unwrap();
                let code: u32 = tail.parse().unwrap();
                used.push(code);
                let uses = used.iter().filter(|c| **c == code).count();
                prop_assert!(
                    uses <= copies(code),
                    "scratch code {} accepted {} times, {} copies", code, uses, copies(code)
                );
                // Exactly one copy is gone; nothing else changed in the list.
                let mut expected = before.clone();
                let at = expected.iter().position(|c| *c == code).unwrap();
                expected.remove(at);
                prop_assert_eq!(file.scratch_codes(), expected);
            } else {
                prop_assert_eq!(file.scratch_codes(), before);
            }
        }
    }
}

// ----------------------------------------------------------------------------------------
// RATE_LIMIT

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn rate_limit_admits_at_most_n_attempts_in_any_window(
        n in 1u32..=10,
        m in 1i64..=120,
        start in prop_oneof![1i64..2_000_000_000, 2_147_483_000i64..4_294_000_000],
        stored in prop::collection::vec(any::<u32>(), 0..5),
        gaps in prop::collection::vec(prop_oneof![3 => 0i64..5, 2 => 0i64..60, 1 => 0i64..400], 1..60),
    ) {
        // Timestamps left by earlier logins (any 32-bit values, so some are far in the past
        // or the future and more than 2^31 apart) may only make the limit stricter.
        let options = Options::default();
        let stored: String = stored.iter().map(|t| format!(" {t}")).collect();
        let mut file = SecretFile::from_bytes(
            format!("{SECRET}\n\" TOTP_AUTH\n\" RATE_LIMIT {n} {m}{stored}\n").into_bytes(),
        );
        let mut now = start;
        let mut admitted: Vec<i64> = Vec::new();
        for gap in gaps {
            now += gap;
            let pre = before_prompt(&mut file, &ctx(now, &options));
            prop_assert!(pre.changes.contains(&Change::RateLimit));
            match pre.verdict {
                PreVerdict::Continue => admitted.push(now),
                PreVerdict::RateLimited => {}
                other => prop_assert!(false, "unexpected verdict {:?}", other),
            }
        }
        for &t in &admitted {
            let half_open = admitted.iter().filter(|&&a| a >= t && a < t + m).count();
            prop_assert!(half_open <= n as usize, "{} admitted in [{}, {})", half_open, t, t + m);
            // The original keeps stamps with t >= now - m, so even the closed window holds.
            let closed = admitted.iter().filter(|&&a| a >= t && a <= t + m).count();
            prop_assert!(closed <= n as usize, "{} admitted in [{}, {}]", closed, t, t + m);
        }
    }
}

// ----------------------------------------------------------------------------------------
// DISALLOW_REUSE

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn disallow_reuse_accepts_a_totp_code_at_most_once(
        secret in secret(),
        window in prop_oneof![Just(None), (1u64..=10).prop_map(Some)],
        step in prop_oneof![Just(None), (1u64..=60).prop_map(Some)],
        counter in 1_000i64..50_000_000,
        first_pass in any::<bool>(),
        events in prop::collection::vec((any::<prop::sample::Index>(), any::<prop::sample::Index>(), any::<bool>(), any::<prop::sample::Index>()), 1..16),
    ) {
        let key = key_for(&secret);
        let w = window.unwrap_or(3) as i64;
        let s = step.unwrap_or(30) as i64;
        let code = key.code(counter as u64);
        // No other counter near this one may share the code.
        prop_assume!((counter - 2 * w..=counter + 2 * w)
            .all(|c| c == counter || key.code(c as u64) != code));

        let mut text = format!("{secret}\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n");
        if let Some(w) = window {
            text.push_str(&format!("\" WINDOW_SIZE {w}\n"));
        }
        if let Some(s) = step {
            text.push_str(&format!("\" STEP_SIZE {s}\n"));
        }
        let mut file = SecretFile::from_bytes(text.into_bytes());
        let options = Options { no_skew_adjust: true, ..Options::default() };

        // Steps during which `counter` is inside the window: tm + i == counter for
        // i in -floor((w-1)/2) ..= floor(w/2).
        let valid_steps: Vec<i64> = (counter - w / 2..=counter + (w - 1) / 2).collect();
        let offsets: Vec<i64> = (-((w - 1) / 2)..=w / 2).collect();
        let mut accepted = 0;
        for (tm_pick, second_pick, other_first, other_pick) in events {
            let tm = *tm_pick.get(&valid_steps);
            let now = tm * s + (second_pick.index(s as usize) as i64);
            // Another valid code at the same time, before or after ours.
            let other = tm + *other_pick.get(&offsets);
            let other_code = key.code(other as u64);
            let submit = |c: u32, file: &mut SecretFile| {
                let candidate = format!("{c:06}");
                attempt(file, candidate.as_bytes(), first_pass, now, &options)
            };
            if other_first && other != counter && other_code != code {
                let _ = submit(other_code, &mut file);
            }
            if submit(code, &mut file).success() {
                accepted += 1;
            }
            prop_assert!(accepted <= 1, "code for {} accepted twice", counter);
            if !other_first && other != counter && other_code != code {
                let _ = submit(other_code, &mut file);
            }
        }
    }
}

// ----------------------------------------------------------------------------------------
// HOTP

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn hotp_code_ahead_within_the_window_is_accepted_once(
        secret in secret(),
        start in 1i64..1_000_000_000_000,
        window in prop_oneof![Just(None), (1u64..=10).prop_map(Some)],
        ahead in any::<prop::sample::Index>(),
        first_pass in any::<bool>(),
        no_increment_hotp in any::<bool>(),
        now in any::<i64>(),
    ) {
        let key = key_for(&secret);
        let w = window.unwrap_or(3) as i64;
        let i = ahead.index(w as usize) as i64;
        let target = start + i;
        let code = key.code(target as u64);
        // The code must not also be the code of an earlier counter in the window (the
        // first match wins) nor of a counter in the next window.
        prop_assume!((start..target).all(|c| key.code(c as u64) != code));
        prop_assume!((target + 1..=target + w + 1).all(|c| key.code(c as u64) != code));

        let mut text = format!("{secret}\n\" HOTP_COUNTER {start}\n");
        if let Some(w) = window {
            text.push_str(&format!("\" WINDOW_SIZE {w}\n"));
        }
        let mut file = SecretFile::from_bytes(text.into_bytes());
        let options = Options { no_increment_hotp, ..Options::default() };
        let candidate = format!("{code:06}");

        let first = attempt(&mut file, candidate.as_bytes(), first_pass, now, &options);
        prop_assert!(first.success());
        prop_assert!(first.changes.contains(&Change::HotpCounter(target + 1)));
        prop_assert_eq!(hotp_counter(&file), target + 1);

        let again = attempt(&mut file, candidate.as_bytes(), first_pass, now, &options);
        prop_assert!(!again.success());
        let expected = if no_increment_hotp { target + 1 } else { target + 2 };
        prop_assert_eq!(hotp_counter(&file), expected);
    }
}

// ----------------------------------------------------------------------------------------
// Nothing panics

/// Numbers that make good option values: ordinary ones and the edges of the integer types.
fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (-3000i64..3000).prop_map(|n| n.to_string()),
        2 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<u64>().prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec![
            "-9223372036854775808", "9223372036854775807", "9223372036854775808",
            "18446744073709551615", "18446744073709551616", "4294967295", "4294967296",
            "2147483647", "2147483648", "-1", "0", "+5", "-0", "",
        ]).prop_map(str::to_string),
    ]
}

/// Numbers for RESETTING_TIME_SKEW tokens, including the ends of the i64 range: stored
/// values are attacker-controlled and the skew bookkeeping must not overflow on them.
fn bounded_number() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (-3000i64..3000).prop_map(|n| n.to_string()),
        2 => any::<i64>().prop_map(|n| n.to_string()),
        1 => prop::sample::select(vec!["-1", "0", "+5", "-0", "", "-9223372036854775808", "9223372036854775807"]).prop_map(str::to_string),
    ]
}

fn option_line() -> impl Strategy<Value = String> {
    let plain = prop::sample::select(vec![
        "TOTP_AUTH",
        "HOTP_COUNTER",
        "STEP_SIZE",
        "WINDOW_SIZE",
        "TIME_SKEW",
        "DISALLOW_REUSE",
        "RATE_LIMIT",
        "LAST0",
        "LAST9",
    ]);
    prop_oneof![
        (plain, prop::collection::vec(number(), 0..4))
            .prop_map(|(k, v)| format!("\" {k} {}", v.join(" "))),
        prop::collection::vec(
            (
                bounded_number(),
                prop::sample::select(vec!["+", "-"]),
                bounded_number()
            ),
            0..4
        )
        .prop_map(|v| {
            let tokens: Vec<String> = v
                .into_iter()
                .map(|(t, sign, s)| format!("{t}{sign}{}", s.trim_start_matches(['-', '+'])))
                .collect();
            format!("\" RESETTING_TIME_SKEW {}", tokens.join(" "))
        }),
        (
            prop::sample::select(vec!["::1", "10.0.0.1", "host_name", ""]),
            number()
        )
            .prop_map(|(h, t)| format!("\" LAST{} {h} {t}", t.len() % 10)),
        (
            1u32..=100,
            1u32..=3600,
            prop::collection::vec(number(), 0..5)
        )
            .prop_map(|(n, m, ts)| format!("\" RATE_LIMIT {n} {m} {}", ts.join(" "))),
    ]
}

fn valid_file() -> impl Strategy<Value = Vec<u8>> {
    (
        secret(),
        prop::collection::vec(
            prop_oneof![
                3 => option_line(),
                1 => scratch_code().prop_map(|c| c.to_string()),
                1 => "[ -~]{0,16}",
            ],
            0..10,
        ),
        prop::sample::select(vec!["\n", "\r\n", "\n\n", ""]),
    )
        .prop_map(|(secret, lines, end)| {
            let mut out = format!("{secret}\n");
            out.push_str(&lines.join("\n"));
            out.push_str(end);
            out.into_bytes()
        })
}

#[derive(Debug, Clone)]
enum Mutation {
    Replace(prop::sample::Index, u8),
    Insert(prop::sample::Index, u8),
    Delete(prop::sample::Index),
}

fn mutated_file() -> impl Strategy<Value = Vec<u8>> {
    let mutation = prop_oneof![
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Replace(i, b)),
        (any::<prop::sample::Index>(), any::<u8>()).prop_map(|(i, b)| Mutation::Insert(i, b)),
        any::<prop::sample::Index>().prop_map(Mutation::Delete),
    ];
    (valid_file(), prop::collection::vec(mutation, 0..6)).prop_map(|(mut bytes, ms)| {
        for m in ms {
            match m {
                Mutation::Replace(i, b) if !bytes.is_empty() => {
                    let at = i.index(bytes.len());
                    bytes[at] = b;
                }
                Mutation::Insert(i, b) => {
                    let at = i.index(bytes.len() + 1);
                    bytes.insert(at, b);
                }
                Mutation::Delete(i) if !bytes.is_empty() => {
                    let at = i.index(bytes.len());
                    bytes.remove(at);
                }
                _ => {}
            }
        }
        bytes
    })
}

fn any_file() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => prop::collection::vec(any::<u8>(), 0..200),
        3 => mutated_file(),
    ]
}

fn any_now() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0i64),
        Just(-1i64),
        Just(i64::MIN),
        Just(i64::MAX),
        any::<i64>(),
        0i64..4_000_000_000,
    ]
}

/// What to offer as the answer.
#[derive(Debug, Clone)]
enum Candidate {
    /// Arbitrary bytes.
    Bytes(Vec<u8>),
    /// The code of a counter near the current step (an offset in steps of 30 s), so the
    /// window, DISALLOW_REUSE and skew-learning paths run.
    Near(i64, String),
}

fn candidate() -> impl Strategy<Value = Candidate> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..24).prop_map(Candidate::Bytes),
        (
            -1600i64..1600,
            prop_oneof![Just(""), Just("pw"), Just("\u{8}x")]
        )
            .prop_map(|(o, p)| Candidate::Near(o, p.to_string())),
    ]
}

/// One whole attempt the way the flow runs it, without looking at the results.
fn run_everything(bytes: Vec<u8>, candidate: &Candidate, now: i64, options: &Options, split: bool) {
    let mut file = SecretFile::from_bytes(bytes);
    let c = ctx(now, options);
    let pre = before_prompt(&mut file, &c);
    let _ = (pre.verdict, pre.changes, pre.logs.lines().len());
    let key = key_of(&file);
    let text: Vec<u8> = match candidate {
        Candidate::Bytes(b) => b.clone(),
        Candidate::Near(offset, prefix) => {
            let tm = (now / 30).wrapping_add(*offset);
            let code = key
                .as_ref()
                .and_then(|k| OtpKey::new(k))
                .map(|k| k.code(tm as u64))
                .unwrap_or(123_456);
            format!("{prefix}{code:06}").into_bytes()
        }
    };
    let mut state = LoopState::default();
    let mut success = false;
    let all = [
        (Source::Authtok, Wanted::Verification),
        (Source::Authtok, Wanted::Scratch),
        (Source::Prompt, Wanted::Verification),
        (Source::Prompt, Wanted::Scratch),
    ];
    let groups: Vec<&[(Source, Wanted)]> = if split {
        vec![&all[..2], &all[2..]]
    } else {
        vec![&all[..]]
    };
    for group in groups {
        let passes: Vec<Pass<'_>> = group
            .iter()
            .map(|&(source, wants)| Pass {
                source,
                wants,
                candidate: Some(&text[..]),
            })
            .collect();
        let key = key_of(&file);
        let d = check_passes(
            &mut file,
            key.as_deref().map(|k| &k[..]),
            &passes,
            &mut state,
            &c,
        );
        let _ = d.logs.lines().len();
        match d.verdict {
            PassVerdict::Undecided => continue,
            PassVerdict::Success(_) => {
                success = true;
                break;
            }
            PassVerdict::Failure => break,
        }
    }
    let fin = finish(&mut file, success, &state, &c);
    let _ = (fin.changes, fin.logs.lines().len(), file.as_bytes().len());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn policy_never_panics_on_arbitrary_files_answers_and_times(
        bytes in any_file(),
        candidate in candidate(),
        now in any_now(),
        options in options(),
        split in any::<bool>(),
    ) {
        run_everything(bytes, &candidate, now, &options, split);
    }
}

// ----------------------------------------------------------------------------------------
// Known bugs

/// The code of `counter`, checked to be the only code of its value within `range` steps of
/// `near`, so the skew search finds exactly that counter.
fn unique_code(key: &OtpKey, counter: i64, near: i64, range: i64) -> String {
    let code = key.code(counter as u64);
    for c in near - range..=near + range {
        assert!(
            c == counter || key.code(c as u64) != code,
            "code collision at {c}"
        );
    }
    format!("{code:06}")
}

#[test]
fn resetting_time_skew_values_wrap_to_c_ints() {
    // The original keeps the stored steps and skews in C ints (checked against Debian's
    // module): i64::MIN reads as 0, so 0 then 9999 is no run of consecutive steps and the
    // third skewed code only records an attempt, written back as `0+5`.
    let key = key_for(SECRET);
    let options = Options::default();
    let mut file = SecretFile::from_bytes(
        b"2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" RESETTING_TIME_SKEW -9223372036854775808+5 9999+5\n"
            .to_vec(),
    );
    let code = unique_code(&key, 10005, 10000, 1500);
    let result = attempt(&mut file, code.as_bytes(), false, 10000 * 30, &options);
    assert_eq!(result.verdict, PassVerdict::Failure);
    assert_eq!(result.changes, vec![Change::SkewAttempt]);
    assert_eq!(
        file.as_bytes(),
        b"2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" RESETTING_TIME_SKEW 0+5 9999+5 10000+5\n"
    );
}

#[test]
fn a_stored_skew_that_wraps_to_zero_completes_a_resync_like_the_original() {
    // 9998-9223372036854775808: the skew is read with its sign (i64::MIN fits) and kept as a
    // C int, 0; with 9999+0 and a new skew of 0 the three codes are consistent, so the
    // original (checked with Debian's module) resyncs: TIME_SKEW 0, RESETTING emptied.
    let key = key_for(SECRET);
    let options = Options::default();
    let start = "2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" TIME_SKEW 100\n\" RESETTING_TIME_SKEW 9998-9223372036854775808 9999+0\n";
    let mut file = SecretFile::from_bytes(start.as_bytes().to_vec());
    let code = unique_code(&key, 10000, 10000, 1500);
    let result = attempt(&mut file, code.as_bytes(), false, 10000 * 30, &options);
    assert!(result.success());
    assert_eq!(
        file.as_bytes(),
        b"2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" TIME_SKEW 0\n\" RESETTING_TIME_SKEW \n"
    );
}

/// A stored RESETTING_TIME_SKEW value: near the current step, or anywhere in the i64 range.
fn stored_value(near: i64) -> impl Strategy<Value = i64> {
    prop_oneof![
        (-3i64..=0).prop_map(move |d| near + d),
        Just(i64::MIN),
        Just(i64::MIN + 1),
        Just(i64::MAX),
        any::<i64>(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn extreme_resetting_time_skew_entries_follow_c_int_arithmetic(
        t0 in stored_value(9998),
        t1 in stored_value(9999),
        s0 in prop_oneof![Just(0i64), Just(5), stored_value(0)],
        s1 in prop_oneof![Just(0i64), Just(5), stored_value(0)],
        skew in prop_oneof![Just(0i64), Just(5), -1499i64..1500],
    ) {
        // A resync succeeds exactly when §3.4's conditions hold for the values as C ints.
        let key = key_for(SECRET);
        let tm = 10000i64;
        // With TIME_SKEW 100 the window is 10099..10101, so skews 0 and small ones reach
        // the search.
        let window_base = tm + 100;
        prop_assume!((window_base - 1..=window_base + 1).all(|c| c != tm + skew));
        let code = key.code((tm + skew) as u64);
        prop_assume!((tm - 1500..tm + 1500).all(|c| c == tm + skew || key.code(c as u64) != code));
        let text = format!(
            "{SECRET}\n\" TOTP_AUTH\n\" TIME_SKEW 100\n\" RESETTING_TIME_SKEW {t0}{s0:+} {t1}{s1:+}\n"
        );
        let mut file = SecretFile::from_bytes(text.into_bytes());
        let options = Options::default();
        let result = attempt(&mut file, format!("{code:06}").as_bytes(), false, tm * 30, &options);
        // Stored values are kept as C ints, like the original's.
        let c = |v: i64| i128::from(v as i32);
        let (t0, t1, s0, s1, tm, skew) = (c(t0), c(t1), c(s0), c(s1), c(tm), c(skew));
        let same_as_last = t1 + s1 == tm + skew;
        let consistent = t0 < t1 && t1 - t0 <= 2 && t1 < tm && tm - t1 <= 2
            && (s0 - skew).abs() <= 1 && (s1 - skew).abs() <= 1;
        prop_assert_eq!(result.success(), !same_as_last && consistent);
    }
}

#[test]
fn disallow_reuse_refuses_a_reused_code_at_a_negative_step() {
    // A clock before 1970 gives negative steps (-10000 at -300000 s). §3.3: a step already
    // in the list is refused. The step is written as `-10000`, read back with strtoul as
    // 2^64 - 10000 and compared with -10000 as i128, so it never matches: the same code is
    // accepted every time (and the entry is pruned and written again). Upstream compares
    // the int step with the unsigned long entry after C's conversion, so it does match.
    let key = key_for(SECRET);
    let options = Options::default();
    let mut file =
        SecretFile::from_bytes(b"2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n".to_vec());
    let code = format!("{:06}", key.code((-10000i64) as u64));
    let first = attempt(&mut file, code.as_bytes(), false, -300000, &options);
    assert!(first.success());
    assert_eq!(
        file.as_bytes(),
        b"2SH3V3GDW7ZNMGYE\n\" TOTP_AUTH\n\" DISALLOW_REUSE -10000\n"
    );
    let again = attempt(&mut file, code.as_bytes(), false, -300000, &options);
    assert_eq!(again.verdict, PassVerdict::Failure);
}
