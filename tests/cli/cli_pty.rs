//! The interactive setup through a real pseudo-terminal: every question answered both ways,
//! the code confirmation with a right, a neighbouring and a wrong code, and end of input.

use std::path::Path;
use std::process::Command;

use crate::support::cli::*;
use rexpect::process::WaitStatus;
use rexpect::session::PtySession;

const TIMEOUT_MS: u64 = 20_000;

fn spawn(home: &Path, args: &[&str]) -> PtySession {
    let mut command = Command::new(BIN);
    command.args(args).env("HOME", home);
    rexpect::session::spawn_command(command, Some(TIMEOUT_MS)).unwrap()
}

fn exit_code(session: &mut PtySession) -> i32 {
    session.exp_eof().unwrap();
    match session.process().wait().unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("the command did not exit normally: {other:?}"),
    }
}

/// Answers the question that ends in `question (y/n) `.
fn answer(session: &mut PtySession, question: &str, yes: bool) {
    session.exp_string(&format!("{question} (y/n) ")).unwrap();
    session.send_line(if yes { "y" } else { "n" }).unwrap();
}

fn read_secret(session: &mut PtySession) -> String {
    let (_, line) = session
        .exp_regex("Your new secret key is: [A-Z2-7]{32}")
        .unwrap();
    line.rsplit(' ').next().unwrap().to_owned()
}

/// A six-digit code that is none of the codes a window of 17 around now would accept.
fn wrong_code(secret: &str) -> u32 {
    let key = key(secret);
    let now = now_step(30);
    let near: Vec<u32> = (now - 10..=now + 10).map(|c| key.code(c)).collect();
    (0..1_000_000).find(|c| !near.contains(c)).unwrap()
}

#[test]
fn totp_wrong_then_right_code_and_every_answer_yes() {
    let home = tempfile::tempdir().unwrap();
    let mut s = spawn(home.path(), &["-Q", "none"]);
    answer(
        &mut s,
        "Do you want authentication tokens to be time-based",
        true,
    );
    let secret = read_secret(&mut s);
    let key = key(&secret);

    s.exp_string("Enter code from app (-1 to skip): ").unwrap();
    s.send_line(&format!("{:06}", wrong_code(&secret))).unwrap();
    let shown = s.exp_string("Enter code from app (-1 to skip): ").unwrap();
    assert!(shown.contains("Code incorrect. Try again."), "{shown:?}");
    let now = now_step(30);
    for counter in now - 2..=now + 2 {
        let right = format!("{:06}", key.code(counter));
        assert!(
            !shown.contains(&right),
            "the right code was shown: {shown:?}"
        );
    }

    // Junk is wrong too, not a zero.
    s.send_line("abc").unwrap();
    s.exp_string("Code incorrect. Try again.").unwrap();
    s.exp_string("Enter code from app (-1 to skip): ").unwrap();
    s.send_line(&format!("{:06}", key.code(now_step(30))))
        .unwrap();
    s.exp_string("Code confirmed").unwrap();
    s.exp_string("Your emergency scratch codes are:").unwrap();

    let path = home.path().join(".google_authenticator");
    answer(
        &mut s,
        &format!("Do you want me to update your \"{}\" file?", path.display()),
        true,
    );
    answer(&mut s, "prevent man-in-the-middle attacks", true);
    answer(&mut s, "Do you want to do so?", true);
    answer(&mut s, "Do you want to enable rate-limiting?", true);
    assert_eq!(exit_code(&mut s), 0);

    let file = std::fs::read_to_string(&path).unwrap();
    assert!(file.starts_with(&format!(
        "{secret}\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 17\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n"
    )));
    assert_eq!(file.lines().count(), 10);
}

#[test]
fn totp_neighbouring_code_and_every_answer_no() {
    let home = tempfile::tempdir().unwrap();
    // With -w 5 the window is two steps either side.
    let mut s = spawn(home.path(), &["-t", "-w", "5", "-Q", "none"]);
    let secret = read_secret(&mut s);
    s.exp_string("Enter code from app (-1 to skip): ").unwrap();
    // The next step: still inside the window if the clock moves on meanwhile.
    s.send_line(&format!("{:06}", key(&secret).code(now_step(30) + 1)))
        .unwrap();
    s.exp_string("Code confirmed").unwrap();
    answer(&mut s, "file?", true);
    answer(&mut s, "prevent man-in-the-middle attacks", false);
    answer(&mut s, "Do you want to enable rate-limiting?", false);
    assert_eq!(exit_code(&mut s), 0);
    let file = std::fs::read_to_string(home.path().join(".google_authenticator")).unwrap();
    assert!(file.starts_with(&format!("{secret}\n\" WINDOW_SIZE 5\n\" TOTP_AUTH\n")));
}

#[test]
fn skipping_the_confirmation_and_answering_no_to_the_update() {
    let home = tempfile::tempdir().unwrap();
    let mut s = spawn(home.path(), &["-Q", "none"]);
    answer(&mut s, "time-based", true);
    s.exp_string("Enter code from app (-1 to skip): ").unwrap();
    s.send_line("-1").unwrap();
    s.exp_string("Code confirmation skipped").unwrap();
    answer(&mut s, "file?", false);
    assert_eq!(exit_code(&mut s), 0);
    assert!(listing(home.path()).is_empty());
}

#[test]
fn hotp_with_window_yes_and_rate_limit_no() {
    let home = tempfile::tempdir().unwrap();
    let mut s = spawn(home.path(), &["-Q", "none"]);
    answer(&mut s, "time-based", false);
    let secret = read_secret(&mut s);
    let code = key(&secret).code(1);
    s.exp_string(&format!("Your verification code for code 1 is {code:06}"))
        .unwrap();
    answer(&mut s, "file?", true);
    answer(&mut s, "Do you want to do so?", true);
    answer(&mut s, "Do you want to enable rate-limiting?", false);
    assert_eq!(exit_code(&mut s), 0);
    let file = std::fs::read_to_string(home.path().join(".google_authenticator")).unwrap();
    assert!(file.starts_with(&format!("{secret}\n\" WINDOW_SIZE 17\n\" HOTP_COUNTER 1\n")));
}

#[test]
fn end_of_input_at_the_code_prompt_exits_1() {
    let home = tempfile::tempdir().unwrap();
    let mut s = spawn(home.path(), &["-t", "-Q", "none"]);
    s.exp_string("Enter code from app (-1 to skip): ").unwrap();
    s.send_control('d').unwrap();
    assert_eq!(exit_code(&mut s), 1);
    assert!(listing(home.path()).is_empty());
}

#[test]
fn end_of_input_at_a_question_exits_1() {
    let home = tempfile::tempdir().unwrap();
    let mut s = spawn(home.path(), &["-t", "-C", "-Q", "none"]);
    answer(&mut s, "file?", true);
    s.exp_string("(y/n) ").unwrap();
    s.send_control('d').unwrap();
    assert_eq!(exit_code(&mut s), 1);
    assert!(listing(home.path()).is_empty());
}

#[test]
fn a_narrow_terminal_gets_the_url_instead_of_a_broken_code() {
    let home = tempfile::tempdir().unwrap();
    let mut command = Command::new("sh");
    command
        .args(["-c", "stty cols 40 rows 60 && exec \"$0\" \"$@\""])
        .arg(BIN)
        .args(["-t", "-f", "-C", "-D", "-W", "-u"])
        .env("HOME", home.path());
    let mut s = rexpect::session::spawn_command(command, Some(TIMEOUT_MS)).unwrap();
    let (before, _) = s.exp_regex("Your otpauth URL is: otpauth://totp/").unwrap();
    assert!(
        before.contains("The terminal is too narrow for the QR code (40 columns"),
        "{before:?}"
    );
    assert!(!before.contains("\x1b[7m"), "{before:?}");
    assert_eq!(exit_code(&mut s), 0);

    // A wide one gets the code.
    let mut command = Command::new("sh");
    command
        .args(["-c", "stty cols 200 rows 60 && exec \"$0\" \"$@\""])
        .arg(BIN)
        .args(["-t", "-f", "-C", "-D", "-W", "-u"])
        .env("HOME", home.path());
    let mut s = rexpect::session::spawn_command(command, Some(TIMEOUT_MS)).unwrap();
    let (before, _) = s
        .exp_string("Your otpauth URL is: ")
        .map(|b| (b, ()))
        .unwrap();
    assert!(before.contains("\x1b[7m"), "{before:?}");
    assert_eq!(exit_code(&mut s), 0);
}
