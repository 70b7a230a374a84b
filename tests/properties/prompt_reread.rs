//! The secret file read before the prompt is used after it only while it is unchanged.
//!
//! A login waits at the prompt for as long as the user types. Whatever an administrator does
//! to the secret file meanwhile (a new secret renamed over it, an edit in place, a change of
//! mode) must count for the answer: the flow checks after the prompt that the file's name
//! still leads to the file it read, unchanged, and reads it again otherwise. Each test runs
//! [`flow::authenticate`] in-process with a conversation that changes the file while the
//! prompt is open.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use pam_google_authenticator::core::log::Level;
use pam_google_authenticator::os::user::{LookupError, UserInfo};
use pam_google_authenticator::pam::flow::{self, Outcome, Pam, System};
use zeroize::Zeroizing;

use crate::support::otp::{T, TEST_SECRET, totp_code};

/// Another secret, so a code of one is wrong for the other.
const OTHER_SECRET: &str = "GEZDGNBVGY3TQOJQGEZDGNBVGY";
const USER: &[u8] = b"gauth-prompt";

/// A secret file as the setup command writes it, TOTP, nothing that makes a login write.
fn contents(secret: &str) -> String {
    format!("{secret}\n\" TOTP_AUTH\n")
}

/// The PAM side: answers the prompt with `answer`, after running `during_prompt`.
struct PromptPam {
    answer: String,
    during_prompt: Option<Box<dyn FnOnce()>>,
    prompts: usize,
    logs: Vec<(Level, String)>,
}

impl Pam for PromptPam {
    fn user(&mut self) -> Option<Vec<u8>> {
        Some(USER.to_vec())
    }
    fn rhost(&mut self) -> Option<Vec<u8>> {
        None
    }
    fn authtok(&mut self) -> Option<Zeroizing<Vec<u8>>> {
        None
    }
    fn set_authtok(&mut self, _: &[u8]) -> bool {
        false
    }
    fn converse(&mut self, _prompt: &[u8], _echo: bool) -> Option<Zeroizing<Vec<u8>>> {
        self.prompts += 1;
        if let Some(change) = self.during_prompt.take() {
            change();
        }
        Some(Zeroizing::new(self.answer.clone().into_bytes()))
    }
    fn error_message(&mut self, _: &str) -> bool {
        true
    }
    fn log(&mut self, level: Level, text: &str) {
        self.logs.push((level, text.to_owned()));
    }
}

/// The process's own account with a frozen clock, so the owner check passes and the switch
/// of fs ids needs no privileges.
struct OwnAccount {
    home: PathBuf,
}

impl OwnAccount {
    fn info(&self) -> UserInfo {
        // SAFETY: getuid and getgid take no arguments, cannot fail and touch no memory of ours.
        let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
        UserInfo {
            name: USER.to_vec(),
            uid,
            gid,
            home: Some(self.home.as_os_str().as_encoded_bytes().to_vec()),
        }
    }
}

impl System for OwnAccount {
    fn now(&mut self) -> i64 {
        T
    }
    fn user_by_name(&mut self, name: &[u8]) -> Result<UserInfo, LookupError> {
        if name == USER {
            Ok(self.info())
        } else {
            Err(LookupError::NotFound)
        }
    }
    fn user_by_uid(&mut self, _uid: u32) -> Result<UserInfo, LookupError> {
        Ok(self.info())
    }
}

fn write_secret(path: &Path, secret: &str) {
    fs::write(path, contents(secret)).expect("write the secret file");
    fs::set_permissions(path, fs::Permissions::from_mode(0o600)).expect("chmod the secret file");
}

/// One login that types the code of `typed` while `during_prompt` changes the file, which
/// holds [`TEST_SECRET`] when the login starts. Returns the outcome and the log lines.
fn login(typed: &str, during_prompt: impl FnOnce(&Path) + 'static) -> (Outcome, Vec<String>) {
    let home = tempfile::tempdir().expect("temporary home");
    let path = home.path().join(".google_authenticator");
    write_secret(&path, TEST_SECRET);
    let mut pam = PromptPam {
        answer: totp_code(typed, T as u64),
        during_prompt: Some(Box::new({
            let path = path.clone();
            move || during_prompt(&path)
        })),
        prompts: 0,
        logs: Vec::new(),
    };
    let mut sys = OwnAccount {
        home: home.path().to_owned(),
    };
    let outcome = flow::authenticate(&mut pam, &mut sys, &["noskewadj"]);
    assert_eq!(pam.prompts, 1, "one prompt: {:?}", pam.logs);
    let logs = pam.logs.into_iter().map(|(_, text)| text).collect();
    (outcome, logs)
}

/// A new secret renamed over the file, as the setup command does.
fn replace_by_rename(path: &Path, secret: &str) {
    let temp = path.with_extension("new");
    write_secret(&temp, secret);
    fs::rename(&temp, path).expect("rename the new secret file into place");
}

/// The same number of bytes written over the file in place, after a pause longer than the
/// file system's clock tick (kernels before 6.13 stamp changes with a tick of a few
/// milliseconds), so the change shows in the file's times.
fn edit_in_place(path: &Path, secret: &str) {
    std::thread::sleep(std::time::Duration::from_millis(30));
    let new = contents(secret);
    assert_eq!(
        new.len(),
        fs::metadata(path).expect("stat the secret file").len() as usize,
        "the edit keeps the size, so only the times tell"
    );
    fs::write(path, new).expect("rewrite the secret file in place");
}

#[test]
fn an_unchanged_file_is_used_after_the_prompt() {
    let (outcome, logs) = login(TEST_SECRET, |_| {});
    assert_eq!(outcome, Outcome::Success, "{logs:?}");
}

#[test]
fn a_secret_renamed_over_the_file_during_the_prompt_counts_for_the_answer() {
    let (outcome, logs) = login(TEST_SECRET, |p| replace_by_rename(p, OTHER_SECRET));
    assert_eq!(outcome, Outcome::Failure, "the old secret's code: {logs:?}");
    let (outcome, logs) = login(OTHER_SECRET, |p| replace_by_rename(p, OTHER_SECRET));
    assert_eq!(outcome, Outcome::Success, "the new secret's code: {logs:?}");
}

#[test]
fn a_secret_edited_in_place_during_the_prompt_counts_for_the_answer() {
    let (outcome, logs) = login(TEST_SECRET, |p| edit_in_place(p, "ABCDEFGHIJKLMNOP"));
    assert_eq!(outcome, Outcome::Failure, "the old secret's code: {logs:?}");
    let (outcome, logs) = login("ABCDEFGHIJKLMNOP", |p| edit_in_place(p, "ABCDEFGHIJKLMNOP"));
    assert_eq!(outcome, Outcome::Success, "the new secret's code: {logs:?}");
}

#[test]
fn a_file_opened_to_others_during_the_prompt_is_refused() {
    let (outcome, logs) = login(TEST_SECRET, |p| {
        fs::set_permissions(p, fs::Permissions::from_mode(0o644)).expect("chmod 0644");
    });
    assert_eq!(outcome, Outcome::Failure, "{logs:?}");
    assert!(
        logs.iter().any(|l| l.contains("permissions")),
        "the refusal names the permissions: {logs:?}"
    );
}

#[test]
fn a_file_removed_during_the_prompt_is_refused() {
    let (outcome, logs) = login(TEST_SECRET, |p| {
        fs::remove_file(p).expect("remove the secret file")
    });
    assert_eq!(outcome, Outcome::Failure, "{logs:?}");
}
