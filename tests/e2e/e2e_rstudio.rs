//! End to end: RStudio Server's sign-in through our shipped `pam.d/rstudio-*` recipes.
//!
//! RStudio Server itself cannot be installed here, so `support/rserver_pam.c`
//! stands in for its PAM helper `rserver-pam` (what rserver runs for every sign-in):
//! argv `<user> rstudio <0|1>`, the password box on stdin, RStudio's conversation (the
//! same password for every hidden prompt, gated by `\bpassword:\s*$` unless
//! `auth-pam-require-password-prompt=0`, echo-on and error messages fail, info gets ""),
//! `pam_authenticate` then `pam_acct_mgmt`, no PAM_RHOST or PAM_TTY, exit status 0 or 1.
//! It runs through the real libpam with the service `rstudio` read from a temporary
//! directory (`pam_start_confdir`) holding the recipe (our module's absolute path put in)
//! and copies of the system's `common-account` and `common-session`, so /etc/pam.d is
//! not touched. Users are real (`useradd -m`, `chpasswd`, `~/.google_authenticator`).
//!
//! Root tier: `cargo test --test e2e -- --ignored e2e_rstudio::` as root.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::support::otp::{code_now, wrong_code};
use crate::support::system::{
    ChildGuard, TempUser, recipe_with_module, require_root, run_ok, with_module_args,
};
use crate::support::{our_module, reference_module, target_dir};

const PASSWORD: &str = "RStudio-pass-7";

/// The stand-in helper, compiled once per test process with `cc -lpam`.
fn helper() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = target_dir().join("e2e");
        std::fs::create_dir_all(&dir).unwrap();
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/rserver_pam.c");
        let out = dir.join("rserver-pam");
        run_ok(
            Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
                .args(["-Wall", "-Werror", "-O1", "-o"])
                .arg(&out)
                .arg(&src)
                .arg("-lpam"),
        );
        out
    })
    .clone()
}

/// A PAM configuration directory holding the service `rstudio`. Dropping it removes the
/// directory; if the test is failing the transcript is printed.
struct RStudio {
    confdir: tempfile::TempDir,
    transcript: std::cell::RefCell<String>,
}

impl RStudio {
    /// `recipe` from `pam.d/`, with `extra_args` appended to our module's line.
    fn new(recipe: &str, extra_args: &str) -> Self {
        Self::with_module(recipe, extra_args, &our_module())
    }

    /// The same with another module in place of ours (Debian's, for comparison).
    fn with_module(recipe: &str, extra_args: &str, module: &Path) -> Self {
        require_root("users, /etc/pam.d, client services");
        let mut text = recipe_with_module(recipe, module);
        if !extra_args.is_empty() {
            text = with_module_args(&text, module, extra_args);
        }
        let confdir = tempfile::tempdir().unwrap();
        std::fs::write(confdir.path().join("rstudio"), &text).unwrap();
        for include in ["common-account", "common-session"] {
            std::fs::copy(
                Path::new("/etc/pam.d").join(include),
                confdir.path().join(include),
            )
            .unwrap_or_else(|e| panic!("copy /etc/pam.d/{include}: {e}"));
        }
        RStudio {
            confdir,
            transcript: std::cell::RefCell::new(format!("service rstudio:\n{text}\n")),
        }
    }

    /// One sign-in: `box_text` typed in RStudio's password box, rserver.conf's
    /// `auth-pam-require-password-prompt` set to `require`.
    fn sign_in(&self, user: &str, box_text: &str, require: u8) -> SignIn {
        let started = Instant::now();
        let mut child = ChildGuard::spawn(
            Command::new(helper())
                .args([user, "rstudio", &require.to_string()])
                .env("E2E_PAM_CONFDIR", self.confdir.path())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        // rserver writes the password and closes the pipe.
        child
            .child
            .stdin
            .take()
            .unwrap()
            .write_all(box_text.as_bytes())
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        let status = loop {
            if let Some(st) = child.child.try_wait().unwrap() {
                break st;
            }
            assert!(Instant::now() < deadline, "rserver-pam hung for 60 s");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut stderr = String::new();
        use std::io::Read as _;
        child
            .child
            .stderr
            .take()
            .unwrap()
            .read_to_string(&mut stderr)
            .unwrap();
        let s = SignIn {
            ok: status.success(),
            log: stderr,
        };
        self.transcript.borrow_mut().push_str(&format!(
            "rserver-pam {user} rstudio {require} <<< {box_text:?} -> exit {} ({:.1}s)\n{}",
            status.code().unwrap_or(-1),
            started.elapsed().as_secs_f64(),
            s.log
        ));
        s
    }
}

impl Drop for RStudio {
    fn drop(&mut self) {
        // Shown by the test harness on failure (or with --nocapture).
        eprintln!("---- transcript ----\n{}", self.transcript.borrow());
    }
}

struct SignIn {
    ok: bool,
    log: String,
}

impl SignIn {
    fn prompts(&self) -> Vec<&str> {
        self.log
            .lines()
            .filter_map(|l| l.strip_prefix("conv: "))
            .collect()
    }
}

fn enrolled(password: bool) -> TempUser {
    let u = TempUser::new("e2er");
    if password {
        u.set_password(PASSWORD);
    }
    u.enrol();
    u
}

const VERIFICATION_PROMPT: &str = "PROMPT_ECHO_OFF \"Verification code: \"";
const FORWARD_PROMPT: &str = "PROMPT_ECHO_OFF \"Password & verification code: \"";

#[test]
#[ignore = "root tier: creates users and runs PAM as root"]
fn the_stand_in_refuses_what_rserver_pam_refuses() {
    let rs = RStudio::new("rstudio-otp-only", "");
    let u = enrolled(false);
    let empty = rs.sign_in(&u.name, "", 0);
    assert!(
        !empty.ok && empty.prompts().is_empty(),
        "an empty box never reaches PAM"
    );
    let long = rs.sign_in(&u.name, &"x".repeat(201), 0);
    assert!(
        !long.ok && long.prompts().is_empty(),
        "over 200 characters never reach PAM"
    );
    let max = rs.sign_in(&u.name, &"1".repeat(200), 0);
    assert!(
        !max.ok
            && max.prompts()
                == [format!(
                    "{VERIFICATION_PROMPT} -> answered with the password box"
                )],
        "200 characters reach PAM"
    );
}

#[test]
#[ignore = "root tier: creates users and runs PAM as root"]
fn otp_only_works_with_require_password_prompt_0() {
    let rs = RStudio::new("rstudio-otp-only", "");
    let u = enrolled(false);
    let right = rs.sign_in(&u.name, &code_now(), 0);
    assert!(right.ok, "the code in the password box: signed in");
    assert_eq!(
        right.prompts(),
        [format!(
            "{VERIFICATION_PROMPT} -> answered with the password box"
        )]
    );
    assert!(
        right.log.contains("pam_acct_mgmt: 0"),
        "account check passed"
    );
    let wrong = rs.sign_in(&u.name, &wrong_code(), 0);
    assert!(!wrong.ok, "a wrong code: refused");
    assert!(wrong.log.contains("pam_authenticate: 7"), "PAM_AUTH_ERR");

    let not_enrolled = TempUser::new("e2er");
    let none = rs.sign_in(&not_enrolled.name, &code_now(), 0);
    assert!(
        !none.ok,
        "a user without a secret file: refused (no nullok)"
    );
}

/// Every prompt of our module was refused by the conversation, and the module asked as
/// many times as Debian's module does with the same stack and box (it asks again after a
/// failed conversation, as upstream does).
fn assert_refused_like_debian(rs: &RStudio, recipe: &str, user: &str, box_text: &str) {
    let s = rs.sign_in(user, box_text, 1);
    assert!(!s.ok, "signed in with require-password-prompt=1");
    let prompts = s.prompts();
    let refused = "-> PAM_CONV_ERR (prompt does not match \\bpassword:\\s*$)";
    let ours: Vec<&&str> = prompts
        .iter()
        .filter(|p| !p.contains("\"Password: \""))
        .collect();
    assert!(!ours.is_empty(), "our module prompted: {prompts:?}");
    assert!(
        ours.iter().all(|p| p.ends_with(refused)),
        "every prompt of our module refused: {prompts:?}"
    );
    let reference = RStudio::with_module(recipe, "", &reference_module());
    let r = reference.sign_in(user, box_text, 1);
    assert!(!r.ok, "Debian's module refused too");
    assert_eq!(
        prompts,
        r.prompts(),
        "the same conversation as Debian's module"
    );
}

#[test]
#[ignore = "root tier: creates users and runs PAM as root"]
fn otp_only_fails_with_the_default_require_password_prompt_1() {
    let rs = RStudio::new("rstudio-otp-only", "");
    let u = enrolled(false);
    // "Verification code: " does not match \bpassword:\s*$.
    assert_refused_like_debian(&rs, "rstudio-otp-only", &u.name, &code_now());
}

#[test]
#[ignore = "root tier: creates users and runs PAM as root"]
fn otp_only_with_a_password_like_authtok_prompt_works_with_require_password_prompt_1() {
    let rs = RStudio::new("rstudio-otp-only", "[authtok_prompt=One-time password:]");
    let u = enrolled(false);
    for require in [1, 0] {
        let right = rs.sign_in(&u.name, &code_now(), require);
        assert!(right.ok, "require={require}: the code: signed in");
        assert_eq!(
            right.prompts(),
            ["PROMPT_ECHO_OFF \"One-time password:\" -> answered with the password box"]
        );
        let wrong = rs.sign_in(&u.name, &wrong_code(), require);
        assert!(!wrong.ok, "require={require}: a wrong code: refused");
    }
}

#[test]
#[ignore = "root tier: creates users and runs PAM as root"]
fn forward_pass_works_with_require_password_prompt_0() {
    let rs = RStudio::new("rstudio-forward-pass", "");
    let u = enrolled(true);
    let right = rs.sign_in(&u.name, &format!("{PASSWORD}{}", code_now()), 0);
    assert!(
        right.ok,
        "password immediately followed by the code: signed in"
    );
    assert_eq!(
        right.prompts(),
        [format!(
            "{FORWARD_PROMPT} -> answered with the password box"
        )],
        "one prompt: pam_unix takes the password from PAM_AUTHTOK"
    );
    let wrong = rs.sign_in(&u.name, &format!("{PASSWORD}{}", wrong_code()), 0);
    assert!(!wrong.ok, "password + wrong code: refused");
    let wrong_pw = rs.sign_in(&u.name, &format!("not-the-password{}", code_now()), 0);
    assert!(!wrong_pw.ok, "wrong password + right code: refused");
    let pw_only = rs.sign_in(&u.name, PASSWORD, 0);
    assert!(!pw_only.ok, "the password alone: refused");
    let code_only = rs.sign_in(&u.name, &code_now(), 0);
    assert!(!code_only.ok, "the code alone: refused");
}

#[test]
#[ignore = "root tier: creates users and runs PAM as root"]
fn forward_pass_fails_with_the_default_require_password_prompt_1() {
    let rs = RStudio::new("rstudio-forward-pass", "");
    let u = enrolled(true);
    // "Password & verification code: " does not end in "password:". pam_unix then asks
    // "Password: " itself (try_first_pass) and gets the whole box, but our module has
    // already failed.
    let box_text = format!("{PASSWORD}{}", code_now());
    assert_refused_like_debian(&rs, "rstudio-forward-pass", &u.name, &box_text);
    // Typing only the password does not help either.
    let s = rs.sign_in(&u.name, PASSWORD, 1);
    assert!(!s.ok, "the password alone, require=1: refused");
}

#[test]
#[ignore = "root tier: creates users and runs PAM as root"]
fn forward_pass_without_a_secret_file_fails_closed_as_shipped() {
    let rs = RStudio::new("rstudio-forward-pass", "");
    let u = TempUser::new("e2er");
    u.set_password(PASSWORD);
    let s = rs.sign_in(&u.name, PASSWORD, 0);
    assert!(!s.ok, "no secret file and no nullok: refused");
    let s = rs.sign_in(&u.name, &format!("{PASSWORD}{}", code_now()), 0);
    assert!(
        !s.ok,
        "no secret file and no nullok: refused, whatever is typed"
    );
}

#[test]
#[ignore = "root tier: creates users and runs PAM as root"]
fn forward_pass_with_nullok_lets_unenrolled_users_in_through_pam_unix_prompt() {
    let rs = RStudio::new("rstudio-forward-pass", "nullok");
    let plain = TempUser::new("e2er");
    plain.set_password(PASSWORD);
    for require in [0, 1] {
        let s = rs.sign_in(&plain.name, PASSWORD, require);
        assert!(
            s.ok,
            "require={require}: no secret file: pam_unix asks and gets the same box"
        );
        let prompts = s.prompts();
        assert_eq!(prompts.len(), 1, "one prompt, from pam_unix: {prompts:?}");
        assert!(
            prompts[0].starts_with("PROMPT_ECHO_OFF \"Password: \"")
                && prompts[0].ends_with("-> answered with the password box"),
            "pam_unix's prompt: {prompts:?}"
        );
        let wrong = rs.sign_in(&plain.name, "not-the-password", require);
        assert!(!wrong.ok, "require={require}: a wrong password: refused");
    }
    // Enrolled users of the same stack still need the code.
    let u = enrolled(true);
    let right = rs.sign_in(&u.name, &format!("{PASSWORD}{}", code_now()), 0);
    assert!(right.ok, "enrolled: password + code: signed in");
    let pw_only = rs.sign_in(&u.name, PASSWORD, 0);
    assert!(!pw_only.ok, "enrolled: the password alone: refused");
}

#[test]
#[ignore = "root tier: creates users and runs PAM as root"]
fn echo_verification_code_breaks_rstudio() {
    let rs = RStudio::new("rstudio-otp-only", "echo_verification_code");
    let u = enrolled(false);
    for require in [0, 1] {
        let s = rs.sign_in(&u.name, &code_now(), require);
        assert!(
            !s.ok,
            "require={require}: an echo-on prompt fails RStudio's conversation"
        );
        let prompts = s.prompts();
        assert!(
            !prompts.is_empty()
                && prompts
                    .iter()
                    .all(|p| p == &"PROMPT_ECHO_ON \"Verification code: \" -> PAM_CONV_ERR"),
            "{prompts:?}"
        );
    }
}
