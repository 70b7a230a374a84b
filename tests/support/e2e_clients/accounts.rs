//! Throwaway accounts, files under /etc and child processes for the end-to-end client
//! tests, each removed by a guard when it drops (also when a test fails).
//!
//! Include with `#[path = "support/e2e_clients/accounts.rs"] mod accounts;` next to
//! `mod support;`.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support::totp_code;

/// The base32 secret of every throwaway account.
pub const SECRET: &str = "2SH3V3GDW7ZNMGYE";

/// Panics unless the test runs as root: these tests must never pass by doing nothing.
pub fn require_root() {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    assert_eq!(
        uid, 0,
        "root tier: this test must run as root (cargo test -- --ignored, as root)"
    );
}

/// Runs a command and panics with its output unless it succeeds.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// The code of [`SECRET`] for the real clock, to be computed right before a login (the
/// module's default window of 3 steps covers a step boundary in between).
pub fn code_now() -> String {
    totp_code(SECRET, now())
}

/// A well-formed code that is wrong for the real clock: it differs from the codes of the
/// five steps around now (the window is three).
pub fn wrong_code() -> String {
    let step = now() / 30;
    let near: Vec<String> = (step - 2..=step + 2)
        .map(|s| totp_code(SECRET, s * 30))
        .collect();
    (0..)
        .map(|n: u32| format!("{:06}", (n * 137_911 + 13) % 1_000_000))
        .find(|c| !near.contains(c))
        .expect("some code is wrong")
}

/// `useradd`, `userdel` and `chpasswd` lock /etc/passwd and /etc/shadow: one at a time
/// in this process, with retries against other processes holding the locks.
static ACCOUNTS: Mutex<()> = Mutex::new(());
static NEXT: AtomicUsize = AtomicUsize::new(0);

fn run_locked(mut make: impl FnMut() -> Command, stdin: Option<&[u8]>) -> Output {
    let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut cmd = make();
        let out = match stdin {
            None => cmd.output(),
            Some(bytes) => {
                use std::io::Write as _;
                let mut child = cmd
                    .stdin(Stdio::piped())
                    .stdout(Stdio::piped())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
                child.stdin.take().unwrap().write_all(bytes).unwrap();
                child.wait_with_output()
            }
        }
        .unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
        let busy = String::from_utf8_lossy(&out.stderr).contains("lock");
        if out.status.success() || !busy || Instant::now() > deadline {
            assert!(
                out.status.success(),
                "{cmd:?} failed ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
            return out;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A throwaway local account made with `useradd -m` (home under /home), removed with
/// `userdel -r` on drop.
pub struct TempUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
}

impl TempUser {
    /// A new account; `prefix` (a few letters) names the suite that made it.
    pub fn new(prefix: &str) -> Self {
        require_root();
        let name = format!(
            "{prefix}{}x{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        run_locked(
            || {
                let mut c = Command::new("useradd");
                c.args(["-m", "-U", "-s", "/bin/sh"]).arg(&name);
                c
            },
            None,
        );
        let mut user = TempUser {
            name,
            uid: 0,
            gid: 0,
            home: PathBuf::new(),
        };
        let id = |flag: &str| -> u32 {
            let out = run_ok(Command::new("id").args([flag, &user.name]));
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
        };
        user.uid = id("-u");
        user.gid = id("-g");
        let out = run_ok(Command::new("getent").args(["passwd", &user.name]));
        let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
        user.home = PathBuf::from(line.split(':').nth(5).expect("home field"));
        assert!(user.home.is_dir(), "useradd -m made no {:?}", user.home);
        user
    }

    /// Sets the account password with `chpasswd`.
    pub fn set_password(&self, password: &str) {
        let line = format!("{}:{password}\n", self.name);
        run_locked(|| Command::new("chpasswd"), Some(line.as_bytes()));
    }

    /// Writes `~/.google_authenticator` (TOTP, [`SECRET`]) with mode 0600, owned by the
    /// user.
    pub fn enrol(&self) -> PathBuf {
        self.enrol_with("")
    }

    /// The same with more option lines (e.g. `" DISALLOW_REUSE\n`).
    pub fn enrol_with(&self, options: &str) -> PathBuf {
        let path = self.home.join(".google_authenticator");
        std::fs::write(&path, format!("{SECRET}\n\" TOTP_AUTH\n{options}")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::os::unix::fs::chown(&path, Some(self.uid), Some(self.gid)).unwrap();
        path
    }
}

impl Drop for TempUser {
    fn drop(&mut self) {
        let _lock = ACCOUNTS.lock().unwrap_or_else(|e| e.into_inner());
        let _ = Command::new("userdel").args(["-r", &self.name]).output();
        let _ = Command::new("groupdel").arg(&self.name).output();
        if self.home.starts_with("/home") && self.home.exists() {
            let _ = std::fs::remove_dir_all(&self.home);
        }
    }
}

/// A file this test created (a PAM service under /etc/pam.d); removed on drop.
pub struct OwnedFile {
    pub path: PathBuf,
}

impl OwnedFile {
    /// Creates `path` with `text`; panics if it already exists (never overwrite the
    /// machine's own files).
    pub fn create(path: &Path, text: &str) -> Self {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(path)
            .unwrap_or_else(|e| panic!("create {}: {e}", path.display()));
        f.write_all(text.as_bytes()).unwrap();
        OwnedFile {
            path: path.to_path_buf(),
        }
    }
}

impl Drop for OwnedFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A child process started by the test, in its own process group; the group is killed
/// (TERM, then KILL) on drop. Only this child's group: never anything by name.
pub struct ChildGuard {
    pub child: Child,
}

impl ChildGuard {
    /// Spawns `cmd` as the leader of a new process group.
    pub fn spawn(cmd: &mut Command) -> Self {
        use std::os::unix::process::CommandExt as _;
        let child = cmd
            .process_group(0)
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        ChildGuard { child }
    }

    pub fn pid(&self) -> i32 {
        i32::try_from(self.child.id()).expect("pid fits i32")
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let pgid = self.pid();
        // SAFETY: kill has no memory preconditions; the group is the one this guard made.
        unsafe { libc::kill(-pgid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        // SAFETY: as above; anything of the group still alive is killed.
        unsafe { libc::kill(-pgid, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

/// Turns a recipe from `pam.d/` into a service file: the module name
/// `pam_google_authenticator.so` becomes the absolute path of `module`; comments, the
/// other lines and `@include`s are kept as shipped.
pub fn recipe_with_module(recipe: &str, module: &Path) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("pam.d")
        .join(recipe);
    let text =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert!(
        text.contains("pam_google_authenticator.so"),
        "{recipe} does not use the module"
    );
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with('#') {
            out.push_str(line);
        } else {
            out.push_str(
                &line.replace("pam_google_authenticator.so", &module.display().to_string()),
            );
        }
        out.push('\n');
    }
    out
}

/// Adds module arguments to the line of our module in a service file.
pub fn with_module_args(service: &str, module: &Path, args: &str) -> String {
    let m = module.display().to_string();
    let mut out = String::new();
    for line in service.lines() {
        out.push_str(line);
        if !line.trim_start().starts_with('#') && line.contains(&m) {
            out.push(' ');
            out.push_str(args);
        }
        out.push('\n');
    }
    out
}
