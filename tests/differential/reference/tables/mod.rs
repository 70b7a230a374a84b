//! The scenario tables, one module per area (the table in the crate's documentation).

mod conversation;
mod differences;
mod file_format;
mod grace;
mod module_arguments;
mod sequences;

use crate::scenario::{Scenario, Step, UPSTREAM_PW};
use crate::support::ConvMode;
use crate::support::otp::{TEST_SECRET, hotp_code};

/// Time 300000 is step 10000, whose code for [`TEST_SECRET`] is `050548` (§3.1).
const T0: i64 = 300_000;
const GOOD: &str = "050548";
/// A 6-digit code that matches no step within ±1500 of step 10000.
const WRONG: &str = "123456";

/// Every scenario, with the name of its table.
pub fn all() -> Vec<(&'static str, Vec<crate::scenario::Scenario>)> {
    vec![
        ("conversation_modes", conversation::modes()),
        ("sequences", sequences::upstream_sequences()),
        ("file_format", file_format::file_format()),
        ("module_arguments", module_arguments::module_arguments()),
        ("grace_period", grace::grace_period()),
        ("differences", differences::other_differences()),
        ("conversation_corners", conversation::corners()),
    ]
}

pub(super) fn fresh() -> Vec<u8> {
    // §6.1: the unit test's file, with no final newline.
    format!("{TEST_SECRET}\n\" TOTP_AUTH").into_bytes()
}

/// `fresh()` followed by more lines.
pub(super) fn with(extra: &str) -> Vec<u8> {
    format!("{TEST_SECRET}\n\" TOTP_AUTH\n{extra}").into_bytes()
}

/// A file made of [`TEST_SECRET`] and `lines`, each ending in LF.
pub(super) fn sf(lines: &[&str]) -> Vec<u8> {
    let mut f = format!("{TEST_SECRET}\n");
    for l in lines {
        f.push_str(l);
        f.push('\n');
    }
    f.into_bytes()
}

pub(super) fn code_at(step: u64) -> String {
    hotp_code(TEST_SECRET, step)
}

pub(super) fn times(step_size: i64, ts: &[i64], results: &[i32]) -> Vec<Step> {
    ts.iter()
        .zip(results)
        .map(|(t, r)| Step::new(t * step_size, GOOD, *r).prompts(1))
        .collect()
}

/// The extra module arguments of upstream's otp_mode 0..7 (§6.2).
const MODE_ARGS: [&[&str]; 8] = [
    &[],
    &["forward_pass"],
    &["use_first_pass"],
    &["use_first_pass", "forward_pass"],
    &["try_first_pass"],
    &["try_first_pass", "forward_pass"],
    &["try_first_pass"],
    &["try_first_pass", "forward_pass"],
];
/// Prompts for a good code, a bad code, and a missing file without nullok (§6.2, §6.3 item 12).
pub(super) const MODE_GOOD_PROMPTS: [usize; 8] = [1, 1, 0, 0, 0, 0, 1, 1];
pub(super) const MODE_BAD_PROMPTS: [usize; 8] = [1, 1, 0, 0, 2, 2, 1, 1];
pub(super) const MODE_MISSING_PROMPTS: [usize; 8] = [1, 1, 0, 0, 0, 0, 0, 0];

/// One step in upstream's conversation mode `mode`: TWO_PROMPTS answers the prompt with
/// the response (AUTHTOK = password), COMBINED_PROMPT answers with password + response,
/// COMBINED_PASSWORD fails the conversation and presets AUTHTOK = password + response.
pub(super) fn mode_step(mode: usize, time: i64, response: &str, result: i32) -> Step {
    match mode {
        0 | 6 => Step::new(time, response, result).with_authtok(UPSTREAM_PW),
        1 | 7 => {
            Step::new(time, &format!("{UPSTREAM_PW}{response}"), result).with_authtok(UPSTREAM_PW)
        }
        _ => Step::new(time, response, result)
            .no_answers()
            .with_authtok(&format!("{UPSTREAM_PW}{response}")),
    }
}

pub(super) fn mode_scenario(
    mode: usize,
    what: &str,
    spec: &'static str,
    file: &[u8],
    steps: Vec<Step>,
) -> Scenario {
    let conv = if (2..=5).contains(&mode) {
        ConvMode::ConvError
    } else {
        ConvMode::Repeat
    };
    Scenario::new(format!("mode {mode}: {what}"), spec, file, steps)
        .args(MODE_ARGS[mode])
        .conv(conv)
}
