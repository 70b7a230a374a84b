//! Helpers shared by the setup command's tests.

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

use pam_google_authenticator::core::file::SecretFile;
use pam_google_authenticator::core::otp::OtpKey;

/// The built command.
pub const BIN: &str = env!("CARGO_BIN_EXE_google-authenticator");

/// Starts the command as a shell runs it from `PATH` (`argv[0]` is `google-authenticator`),
/// with `HOME=home` and stdin, stdout and stderr piped.
pub fn spawn(home: &Path, args: &[&str]) -> Child {
    Command::new(BIN)
        .arg0("google-authenticator")
        .args(args)
        .env("HOME", home)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("harness error: the setup command does not start")
}

/// Runs the command as [`spawn`] starts it, with `input` on stdin (closed at once when
/// `None`).
pub fn run(home: &Path, args: &[&str], input: Option<&str>) -> Output {
    let mut child = spawn(home, args);
    let mut stdin = child.stdin.take().unwrap();
    if let Some(input) = input {
        // The command may exit before reading everything.
        let _ = stdin.write_all(input.as_bytes());
    }
    drop(stdin);
    child.wait_with_output().unwrap()
}

/// Stdout as text.
pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// Stderr as text.
pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// The secret printed after "Your new secret key is: ".
pub fn printed_secret(text: &str) -> String {
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("Your new secret key is: "))
        .unwrap_or_else(|| panic!("no secret in {text:?}"));
    line.trim().to_owned()
}

/// The otpauth URL printed after "Your otpauth URL is: ".
pub fn printed_url(text: &str) -> String {
    text.lines()
        .find_map(|l| l.strip_prefix("Your otpauth URL is: "))
        .unwrap_or_else(|| panic!("no URL in {text:?}"))
        .trim()
        .to_owned()
}

/// The scratch codes printed after "Your emergency scratch codes are:".
pub fn printed_scratch_codes(text: &str) -> Vec<u32> {
    text.lines()
        .skip_while(|l| *l != "Your emergency scratch codes are:")
        .skip(1)
        .take_while(|l| l.starts_with("  ") && l.len() == 10)
        .map(|l| l.trim().parse().unwrap())
        .collect()
}

/// The key for a printed base32 secret.
pub fn key(secret: &str) -> OtpKey {
    let file = SecretFile::from_bytes(format!("{secret}\n").into_bytes());
    OtpKey::new(&file.decode_secret().expect("valid base32")).expect("HMAC takes any key")
}

/// The code `oathtool` prints for the base32 `secret`, leading zeros kept (`extra` selects
/// TOTP/HOTP and their parameters).
pub fn oathtool(secret: &str, extra: &[&str]) -> String {
    let output = Command::new("oathtool")
        .args(extra)
        .args(["-b", secret])
        .output()
        .expect("harness error: oathtool is not installed (make deps)");
    assert!(output.status.success(), "harness error: {output:?}");
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// The current TOTP step.
pub fn now_step(step: u64) -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / step
}

/// The names in `dir`, sorted.
pub fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
