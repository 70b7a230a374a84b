//! Shows the module doing its job through the real Linux-PAM library.
//!
//! Builds nothing itself: run it with `make demo`, which builds the module and the setup command
//! first. As root it creates a throwaway account whose home is a temporary directory (else it
//! uses you and that directory), enrols it with `google-authenticator`, writes a PAM service
//! file that loads the freshly built module, and calls `pam_authenticate` the way sshd or
//! pamtester would, answering the prompt like a user with an authenticator app:
//!
//! 1. the current code is accepted;
//! 2. the same code again is refused (`DISALLOW_REUSE`);
//! 3. an emergency scratch code is accepted once, and refused the second time;
//! 4. a wrong code is refused.

use std::ffi::{CStr, CString};
use std::path::PathBuf;
use std::process::Command;

use pam_google_authenticator::core::base32;
use pam_google_authenticator::core::otp::OtpKey;
use pam_google_authenticator::os::{clock, user};

#[path = "../tests/support/pam_client.rs"]
mod pam_client;

/// Runs one `pam_authenticate` for `user` with `answer` typed at the prompt.
fn login(confdir: &CStr, user: &CStr, answer: &str) -> (String, Vec<String>) {
    match pam_client::authenticate_once(confdir, c"demo", user, answer) {
        Some(l) => (l.message, l.prompts),
        None => ("pam_start_confdir failed".to_string(), Vec::new()),
    }
}

fn main() {
    let module = module_path();
    if !module.exists() {
        eprintln!(
            "{} is missing: run `make demo` (it builds the module first).",
            module.display()
        );
        std::process::exit(1);
    }
    let dir = std::env::temp_dir().join(format!("ga-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create a temporary directory");
    let account = Account::create(&dir);
    let name = CString::new(account.name.clone()).expect("user names have no NUL");

    // Enrol with the setup command, as an admin would: time-based, each code usable once,
    // two scratch codes, no questions.
    let secret_file = dir.join(".google_authenticator");
    account.give(&dir);
    let mut setup = Command::new(profile_dir().join("google-authenticator"));
    if account.throwaway {
        setup.args(["--user", &account.name]);
    } else {
        setup.arg("-s").arg(&secret_file);
    }
    setup.args(["-t", "-d", "-f", "-C", "-u", "-W", "-e", "2", "-Q", "UTF8"]);
    println!("$ {}", shown(&setup));
    let out = setup
        .output()
        .expect("run google-authenticator (make demo builds it)");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    if !out.status.success() {
        eprintln!("demo: the setup command failed");
        std::process::exit(1);
    }
    let (secret_b32, scratch) = enrolment(&String::from_utf8_lossy(&out.stdout));
    let secret = base32::decode(secret_b32.as_bytes()).expect("the printed secret is base32");
    // A throwaway account's home is the temporary directory, so the module finds the file at
    // its default place, ~/.google_authenticator, exactly as in production.
    let args = if account.throwaway {
        String::new()
    } else {
        format!(" secret={}", secret_file.display())
    };
    let service = format!("auth required {}{args}\n", module.display());
    std::fs::write(dir.join("demo"), &service).expect("write the PAM service file");
    println!();

    println!("Module:       {}", module.display());
    println!(
        "Secret file:  {} (enrolled for user {:?})",
        secret_file.display(),
        name
    );
    println!("PAM service:  {}", service.trim());
    println!();

    let key = OtpKey::new(&secret).expect("HMAC takes keys of any length");
    let code = format!("{:06}", key.code((clock::now() / 30) as u64));
    let confdir = CString::new(dir.as_os_str().as_encoded_bytes()).expect("path without NUL");
    let steps: [(&str, &str, &str); 5] = [
        ("the current code from the app", &code, "Success"),
        (
            "the same code again (DISALLOW_REUSE)",
            &code,
            "Authentication failure",
        ),
        ("an emergency scratch code", &scratch[0], "Success"),
        (
            "the same scratch code again",
            &scratch[0],
            "Authentication failure",
        ),
        ("a wrong code", "000000", "Authentication failure"),
    ];
    let mut ok = true;
    for (what, answer, expected) in steps {
        let (result, prompts) = login(&confdir, &name, answer);
        let mark = if result == expected { "ok  " } else { "FAIL" };
        ok &= result == expected;
        println!(
            "[{mark}] {what:<40} prompt {:<22} -> {result}",
            format!("{:?}", prompts.join("|"))
        );
    }
    println!();
    println!(
        "Secret file afterwards (mode {:o}):",
        file_mode(&secret_file)
    );
    let after = std::fs::read_to_string(&secret_file).unwrap_or_default();
    for line in after.lines().skip(1) {
        println!("    {line}");
    }
    drop(account);
    let _ = std::fs::remove_dir_all(&dir);
    if !ok {
        eprintln!("demo: a step did not give the expected result");
        std::process::exit(1);
    }
}

/// The account the demo logs in as: a throwaway system account when run as root (removed
/// again at the end), else the current user.
struct Account {
    name: String,
    throwaway: bool,
}

impl Account {
    fn create(home: &std::path::Path) -> Account {
        // SAFETY: getuid cannot fail.
        let uid = unsafe { libc::getuid() };
        if uid == 0 {
            let name = format!("ga-demo-{}", std::process::id() % 100_000);
            let status = std::process::Command::new("useradd")
                .args([
                    "--system",
                    "--no-create-home",
                    "--shell",
                    "/usr/sbin/nologin",
                    "--home-dir",
                ])
                .arg(home)
                .arg(&name)
                .status();
            if matches!(status, Ok(s) if s.success()) {
                return Account {
                    name,
                    throwaway: true,
                };
            }
            eprintln!("useradd failed; using the current user instead");
        }
        let me = user::by_uid(uid).expect("the current user has a passwd entry");
        Account {
            name: String::from_utf8_lossy(&me.name).into_owned(),
            throwaway: false,
        }
    }

    /// Makes the home directory belong to the account, as a real home does.
    fn give(&self, home: &std::path::Path) {
        if !self.throwaway {
            return;
        }
        let info = user::by_name(self.name.as_bytes()).expect("the new account exists");
        std::os::unix::fs::chown(home, Some(info.uid), Some(info.gid)).expect("chown");
    }
}

impl Drop for Account {
    fn drop(&mut self) {
        if self.throwaway {
            let _ = std::process::Command::new("userdel")
                .arg(&self.name)
                .status();
        }
    }
}

/// The secret and the scratch codes from the setup command's output.
fn enrolment(output: &str) -> (String, Vec<String>) {
    let secret = output
        .lines()
        .find_map(|l| l.strip_prefix("Your new secret key is: "))
        .expect("the setup command prints the secret")
        .trim()
        .to_string();
    let scratch = output
        .lines()
        .skip_while(|l| !l.starts_with("Your emergency scratch codes are:"))
        .skip(1)
        .map(str::trim)
        .filter(|l| l.len() == 8 && l.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_string)
        .collect();
    (secret, scratch)
}

/// A command line as a shell would show it.
fn shown(cmd: &Command) -> String {
    std::iter::once(cmd.get_program())
        .chain(cmd.get_args())
        .map(|a| a.to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

fn file_mode(p: &std::path::Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).map(|m| m.mode() & 0o7777).unwrap_or(0)
}

/// `target/<profile>/`, where the module and the setup command are built.
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    // target/<profile>/examples/demo -> target/<profile>/
    exe.parent()
        .and_then(|p| p.parent())
        .map(PathBuf::from)
        .unwrap_or_default()
}

/// The module built next to this example.
fn module_path() -> PathBuf {
    profile_dir().join("libpam_google_authenticator.so")
}
