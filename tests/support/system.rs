//! System fixtures for the root tier and the end-to-end tests: the root check, command
//! runners, throwaway users and groups, files under /etc (real `/etc/pam.d` services made
//! from the shipped recipes), Debian's packages, child process groups, pamtester and a
//! pseudo-terminal client driver. Everything is removed by Drop guards, also when a test
//! fails.

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use super::otp::TEST_SECRET;

/// Whether the tests run as root.
pub fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Panics unless the test runs as root: root-tier tests (users, /etc/pam.d, mounts,
/// packages, sshd) must never pass by doing nothing. `what` says what needs root.
pub fn require_root(what: &str) {
    assert!(
        is_root(),
        "root tier: this test needs root ({what}); run `make root-tier` (or \
         `cargo test -- --ignored`) as root"
    );
}

/// Runs `cmd` with `sh -c` and prints the command and its output on stderr (shown when
/// the test fails); the caller checks the status.
pub fn sh(cmd: &str) -> Output {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .output()
        .unwrap_or_else(|e| panic!("harness error: cannot run sh ({e})"));
    eprintln!(
        "$ {cmd}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs a command and panics with its output unless it succeeds.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    succeeded(&format!("{cmd:?}"), &[], out)
}

/// A name unique to this process and call: `<prefix><pid><n>` (lower case, <= 32 chars).
pub fn unique(prefix: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::SeqCst);
    format!("{prefix}{}x{n}", std::process::id())
}

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs `cmd` with `stdin` as input, killed (by PID, via `timeout`) after `secs` seconds.
pub fn run_bounded(program: &str, args: &[&str], stdin: &[u8], secs: u64) -> Output {
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "5", &secs.to_string(), program]).args(args);
    run_with_stdin(cmd, stdin)
}

/// Runs a prepared command with `stdin` as input and collects its output.
pub fn run_with_stdin(mut cmd: Command, stdin: &[u8]) -> Output {
    use std::io::Write as _;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("wait")
}

/// Runs a command that must succeed (setup steps), with a 60 s bound.
pub fn must(program: &str, args: &[&str]) -> String {
    must_with_stdin(program, args, b"")
}

/// As [`must`], with input.
pub fn must_with_stdin(program: &str, args: &[&str], stdin: &[u8]) -> String {
    let out = succeeded(program, args, run_bounded(program, args, stdin, 60));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `out`, after panicking with the command and its output unless it succeeded.
fn succeeded(program: &str, args: &[&str], out: Output) -> Output {
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}):\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

// ---------------------------------------------------------------------------------------
// Users and groups
// ---------------------------------------------------------------------------------------

/// `useradd`, `userdel`, `usermod`, `groupadd`, `groupdel` and `chpasswd` lock /etc/passwd
/// and /etc/shadow: one at a time in this process, with retries against other processes
/// holding the locks.
static ACCOUNTS: Mutex<()> = Mutex::new(());

fn accounts_lock() -> MutexGuard<'static, ()> {
    ACCOUNTS.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Runs an account command under [`ACCOUNTS`], retried for up to 30 s while another
/// process holds the password file locks; panics unless it succeeds.
fn account_cmd(program: &str, args: &[&str], stdin: &[u8]) -> Output {
    let _lock = accounts_lock();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = run_bounded(program, args, stdin, 60);
        let busy = String::from_utf8_lossy(&out.stderr).contains("lock");
        if out.status.success() || !busy || Instant::now() > deadline {
            return succeeded(program, args, out);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// A throwaway account with its own primary group, removed (with its home and group) on
/// drop. [`TempUser::new`] makes one with a home under /home and a login shell,
/// [`TempUser::with_password`] the same with a password, and
/// [`TempUser::with_private_home`] one whose home (mode 0700, owned by the user) is in a
/// temp dir and whose shell is nologin.
pub struct TempUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
    /// The password [`TempUser::with_password`] or [`TempUser::set_password`] gave it,
    /// else empty (the account is locked).
    pub password: String,
    _base: Option<tempfile::TempDir>,
}

impl TempUser {
    /// `useradd -m -U -s /bin/bash`, without a password; `tag` (a few letters) names the
    /// suite that made it.
    pub fn new(tag: &str) -> TempUser {
        require_root("creates users");
        let name = unique(&format!("ga{tag}"));
        account_cmd("useradd", &["-m", "-U", "-s", "/bin/bash", &name], b"");
        Self::looked_up(name, None)
    }

    /// As [`TempUser::new`], with a password (`Pw-<name>-7`).
    pub fn with_password(tag: &str) -> TempUser {
        let mut user = Self::new(tag);
        let password = format!("Pw-{}-7", user.name);
        user.set_password(&password);
        user.password = password;
        user
    }

    /// `useradd -M -U -s /usr/sbin/nologin` with the home directory in a temp dir that
    /// every user can traverse.
    pub fn with_private_home() -> TempUser {
        require_root("creates users");
        let base = open_tempdir();
        let home = base.path().join("home");
        std::fs::create_dir(&home).expect("mkdir home");
        let name = unique("gat");
        let home_arg = home.to_str().expect("UTF-8 temp path");
        account_cmd(
            "useradd",
            &["-M", "-U", "-s", "/usr/sbin/nologin", "-d", home_arg, &name],
            b"",
        );
        let user = Self::looked_up(name, Some(base));
        std::os::unix::fs::chown(&user.home, Some(user.uid), Some(user.gid)).expect("chown");
        std::fs::set_permissions(&user.home, std::fs::Permissions::from_mode(0o700))
            .expect("chmod");
        user
    }

    fn looked_up(name: String, base: Option<tempfile::TempDir>) -> TempUser {
        let entry = must("getent", &["passwd", &name]);
        let fields: Vec<&str> = entry.trim().split(':').collect();
        let user = TempUser {
            uid: fields[2].parse().expect("uid"),
            gid: fields[3].parse().expect("gid"),
            home: PathBuf::from(fields[5]),
            name,
            password: String::new(),
            _base: base,
        };
        assert!(user.home.is_dir(), "useradd made no {:?}", user.home);
        user
    }

    /// Sets the account password with `chpasswd`.
    pub fn set_password(&self, password: &str) {
        let line = format!("{}:{password}\n", self.name);
        account_cmd("chpasswd", &[], line.as_bytes());
    }

    /// `~/.google_authenticator`.
    pub fn secret_path(&self) -> PathBuf {
        self.home.join(".google_authenticator")
    }

    /// Writes `~/.google_authenticator` with `mode`, owned by `owner` (uid, gid).
    pub fn write_secret_as(
        &self,
        content: impl AsRef<[u8]>,
        mode: u32,
        owner: (u32, u32),
    ) -> PathBuf {
        let path = super::write_secret(&self.home, ".google_authenticator", content.as_ref(), mode);
        std::os::unix::fs::chown(&path, Some(owner.0), Some(owner.1)).expect("chown");
        path
    }

    /// Writes `~/.google_authenticator` (mode 0600, owned by the user).
    pub fn write_secret(&self, content: impl AsRef<[u8]>) -> PathBuf {
        self.write_secret_as(content, 0o600, (self.uid, self.gid))
    }

    /// Writes `~/.google_authenticator` (TOTP, [`TEST_SECRET`]) with mode 0600, owned by
    /// the user.
    pub fn enrol(&self) -> PathBuf {
        self.enrol_with("")
    }

    /// The same with more option lines (e.g. `" DISALLOW_REUSE\n`).
    pub fn enrol_with(&self, options: &str) -> PathBuf {
        self.write_secret(format!("{TEST_SECRET}\n\" TOTP_AUTH\n{options}"))
    }

    /// Gives `p` to the user and the user's group.
    pub fn chown(&self, p: &Path) {
        std::os::unix::fs::chown(p, Some(self.uid), Some(self.gid)).expect("chown");
    }

    /// Installs `~/.ssh/authorized_keys` with one public key.
    pub fn authorize_key(&self, public_key: &str) {
        let dir = self.home.join(".ssh");
        std::fs::create_dir_all(&dir).expect("mkdir .ssh");
        let file = dir.join("authorized_keys");
        std::fs::write(&file, public_key).expect("write authorized_keys");
        for (p, mode) in [(&dir, 0o700), (&file, 0o600)] {
            std::os::unix::fs::chown(p, Some(self.uid), Some(self.gid)).expect("chown");
            std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
        }
    }

    /// Adds the user to a supplementary group.
    pub fn join(&self, group: &TempGroup) {
        account_cmd("usermod", &["-a", "-G", &group.name, &self.name], b"");
    }
}

impl Drop for TempUser {
    fn drop(&mut self) {
        let _lock = accounts_lock();
        let out = run_bounded("userdel", &["-r", &self.name], b"", 30);
        if !out.status.success() {
            let again = run_bounded("userdel", &["-r", "-f", &self.name], b"", 30);
            if !again.status.success() {
                eprintln!(
                    "cleanup: userdel -r -f {} failed: {}",
                    self.name,
                    String::from_utf8_lossy(&again.stderr)
                );
            }
        }
        let _ = Command::new("groupdel").arg(&self.name).output();
        if self.home.starts_with("/home") && self.home.exists() {
            let _ = std::fs::remove_dir_all(&self.home);
        }
    }
}

/// A directory that every user can traverse (tempdir's own mode is 0700).
pub fn open_tempdir() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    d
}

/// A throwaway group (`groupadd`), removed with `groupdel` on drop.
pub struct TempGroup {
    pub name: String,
}

impl TempGroup {
    pub fn new(tag: &str) -> TempGroup {
        let name = unique(&format!("ga{tag}"));
        account_cmd("groupadd", &[&name], b"");
        TempGroup { name }
    }
}

impl Drop for TempGroup {
    fn drop(&mut self) {
        let _lock = accounts_lock();
        let out = run_bounded("groupdel", &[&self.name], b"", 30);
        if !out.status.success() {
            eprintln!(
                "cleanup: groupdel {} failed: {}",
                self.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

// ---------------------------------------------------------------------------------------
// Secret files
// ---------------------------------------------------------------------------------------

/// Contents of a TOTP secret file for [`TEST_SECRET`] with extra option lines
/// (e.g. `"\" DISALLOW_REUSE"`) and scratch codes.
pub fn secret_file(options: &[&str], scratch: &[&str]) -> String {
    let mut s = format!("{}\n\" TOTP_AUTH\n", TEST_SECRET);
    for o in options {
        let _ = writeln!(s, "{o}");
    }
    for c in scratch {
        let _ = writeln!(s, "{c}");
    }
    s
}

// ---------------------------------------------------------------------------------------
// PAM services from the shipped recipes
// ---------------------------------------------------------------------------------------

/// The names of all files in `pam.d/`.
pub fn recipe_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(repo().join("pam.d"))
        .expect("pam.d/")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The text of `pam.d/<recipe>` with `pam_google_authenticator.so` replaced by the
/// absolute path of the module built by this package and `extra` arguments appended to
/// that line. Everything else (other modules, `@include common-*`) is kept as shipped.
pub fn recipe_service(recipe: &str, extra: &[&str]) -> String {
    let path = repo().join("pam.d").join(recipe);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let module = super::our_module();
    let module = module.to_str().expect("UTF-8 module path");
    let mut replaced = 0;
    let mut out = format!(
        "# Generated from pam.d/{recipe} by the end-to-end tests (module path substituted{}).\n",
        if extra.is_empty() {
            String::new()
        } else {
            format!(", added: {}", extra.join(" "))
        }
    );
    for line in text.lines() {
        let t = line.trim_start();
        if !t.starts_with('#')
            && t.split_whitespace()
                .any(|w| w == "pam_google_authenticator.so")
        {
            let mut l = line.replacen("pam_google_authenticator.so", module, 1);
            for a in extra {
                l.push(' ');
                l.push_str(a);
            }
            out.push_str(&l);
            replaced += 1;
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    assert_eq!(
        replaced, 1,
        "pam.d/{recipe} should have exactly one pam_google_authenticator.so line"
    );
    out
}

/// A file `/etc/pam.d/<name>`, removed on drop.
pub struct PamService {
    pub name: String,
    pub path: PathBuf,
    pub text: String,
}

impl PamService {
    /// Installs `text` as `/etc/pam.d/<name>`; the name must not exist yet.
    pub fn install(name: &str, text: String) -> PamService {
        let path = Path::new("/etc/pam.d").join(name);
        assert!(!path.exists(), "{} already exists", path.display());
        std::fs::write(&path, &text).expect("write /etc/pam.d service");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        PamService {
            name: name.to_string(),
            path,
            text,
        }
    }

    /// Installs `pam.d/<recipe>` (see [`recipe_service`]) under a unique name.
    pub fn recipe(recipe: &str, extra: &[&str]) -> PamService {
        Self::install(&unique("gatest-"), recipe_service(recipe, extra))
    }
}

impl Drop for PamService {
    fn drop(&mut self) {
        if let Err(e) = std::fs::remove_file(&self.path) {
            eprintln!("cleanup: cannot remove {}: {e}", self.path.display());
        }
    }
}

// ---------------------------------------------------------------------------------------
// pamtester
// ---------------------------------------------------------------------------------------

/// The result of one `pamtester -v SERVICE USER authenticate`.
pub struct PamtesterRun {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
    pub syslog: String,
    pub secs: f64,
}

impl PamtesterRun {
    pub fn report(&self) -> String {
        format!(
            "pamtester success: {}\n--- stdout\n{}--- stderr (prompts and result)\n{}\n--- module syslog\n{}",
            self.ok, self.stdout, self.stderr, self.syslog
        )
    }
}

/// Runs `pamtester -v SERVICE USER authenticate` with `answers` as stdin lines (one per
/// prompt), capturing the module's syslog messages; bounded to 60 s.
pub fn pamtester(service: &str, user: &str, answers: &[String]) -> PamtesterRun {
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("syslog");
    let mut input = String::new();
    for a in answers {
        input.push_str(a);
        input.push('\n');
    }
    let mut cmd = Command::new("timeout");
    cmd.args([
        "-k",
        "5",
        "60",
        "pamtester",
        "-v",
        service,
        user,
        "authenticate",
    ])
    .env("LD_PRELOAD", super::syslog_capture_lib())
    .env("GA_SYSLOG_CAPTURE", &log);
    let start = Instant::now();
    let out = run_with_stdin(cmd, input.as_bytes());
    PamtesterRun {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        syslog: std::fs::read_to_string(&log).unwrap_or_default(),
        secs: start.elapsed().as_secs_f64(),
    }
}

// ---------------------------------------------------------------------------------------
// Pseudo-terminal client (python3-pexpect)
// ---------------------------------------------------------------------------------------

/// What to type at a prompt.
#[derive(Clone, Debug)]
pub enum Answer {
    /// This text.
    Text(String),
    /// `prefix` followed by the current TOTP code of [`TEST_SECRET`], computed
    /// when the prompt appears.
    Totp { prefix: String },
}

impl Answer {
    pub fn text(s: &str) -> Answer {
        Answer::Text(s.to_string())
    }
    pub fn totp() -> Answer {
        Answer::Totp {
            prefix: String::new(),
        }
    }
    pub fn password_then_totp(password: &str) -> Answer {
        Answer::Totp {
            prefix: password.to_string(),
        }
    }
    fn spec(&self) -> String {
        match self {
            Answer::Text(s) => format!("lit:{s}"),
            Answer::Totp { prefix } => format!("totp:{}:{prefix}", TEST_SECRET),
        }
    }
}

/// One prompt the client showed and what was typed.
#[derive(Clone, Debug)]
pub struct SeenPrompt {
    pub text: String,
    pub sent: String,
    pub echoed: bool,
}

/// The outcome of one client run through a pseudo-terminal.
pub struct PtyOutcome {
    pub prompts: Vec<SeenPrompt>,
    pub exit: i32,
    pub timed_out: bool,
    pub transcript: String,
    pub secs: f64,
}

impl PtyOutcome {
    pub fn prompt_texts(&self) -> Vec<String> {
        self.prompts.iter().map(|p| p.text.clone()).collect()
    }
    pub fn report(&self) -> String {
        let mut s = format!(
            "exit {} after {:.1} s{}\nprompts:\n",
            self.exit,
            self.secs,
            if self.timed_out { " (TIMED OUT)" } else { "" }
        );
        for p in &self.prompts {
            let _ = writeln!(s, "  {:?} <- {:?} (echoed: {})", p.text, p.sent, p.echoed);
        }
        let _ = write!(s, "--- client transcript\n{}\n---", self.transcript);
        s
    }
}

fn unescape(s: &str) -> String {
    let mut out = String::new();
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('t') => out.push('\t'),
                Some('n') => out.push('\n'),
                Some('r') => out.push('\r'),
                Some(o) => out.push(o),
                None => {}
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Runs `argv` in a pseudo-terminal, answering prompts that match a regex (Python `re`
/// syntax) with the paired answer, until the client exits or `secs` seconds pass.
pub fn pty_run(
    argv: &[&str],
    answers: &[(&str, Answer)],
    secs: u64,
    env: &[(&str, &Path)],
) -> PtyOutcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let script = dir.path().join("pty_client.py");
    std::fs::write(&script, include_str!("pty_client.py")).expect("write driver");
    let result = dir.path().join("result");
    let transcript = dir.path().join("transcript");
    let mut cmd = Command::new("timeout");
    cmd.args(["-k", "5", &(secs + 15).to_string(), "python3"])
        .arg(&script)
        .arg(&result)
        .arg(&transcript)
        .arg(secs.to_string());
    for (re, a) in answers {
        cmd.arg(re).arg(a.spec());
    }
    cmd.arg("--").args(argv);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = run_with_stdin(cmd, b"");
    let secs_taken = start.elapsed().as_secs_f64();
    let transcript = std::fs::read_to_string(&transcript).unwrap_or_default();
    let records = std::fs::read_to_string(&result).unwrap_or_else(|_| {
        panic!(
            "the pty driver failed ({}):\n{}{}\ntranscript:\n{transcript}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut o = PtyOutcome {
        prompts: Vec::new(),
        exit: -1000,
        timed_out: false,
        transcript,
        secs: secs_taken,
    };
    for line in records.lines() {
        let f: Vec<String> = line.split('\t').map(unescape).collect();
        match f[0].as_str() {
            "prompt" => o.prompts.push(SeenPrompt {
                text: f[1].clone(),
                sent: f[2].clone(),
                echoed: f[3] == "1",
            }),
            "exit" => o.exit = f[1].parse().unwrap_or(-1000),
            "timeout" => o.timed_out = true,
            _ => {}
        }
    }
    o
}

/// Waits up to `timeout` for `f` to return true, polling every 50 ms.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    f()
}

// ---------------------------------------------------------------------------------------
// Files under /etc, child process groups, recipes for other clients
// ---------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------
// Debian's packages
// ---------------------------------------------------------------------------------------

/// Debian's package of the C module.
pub const DEBIAN_PACKAGE: &str = "libpam-google-authenticator";

/// The tests that install and remove packages take this lock: one at a time.
pub fn packages_lock() -> MutexGuard<'static, ()> {
    static PACKAGES: Mutex<()> = Mutex::new(());
    PACKAGES.lock().unwrap_or_else(PoisonError::into_inner)
}

/// `apt-get install -y -qq <what>`, without questions (through [`sh`]).
pub fn apt_get_install(what: &str) -> Output {
    sh(&format!(
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {what}"
    ))
}

/// Whether dpkg has `package` installed.
pub fn package_installed(package: &str) -> bool {
    let out = sh(&format!(
        "dpkg-query -W -f='${{Status}}' {package} 2>/dev/null"
    ));
    String::from_utf8_lossy(&out.stdout).contains("install ok installed")
}

/// Where Debian's package puts the module: /lib/<the build machine's triplet>/security.
pub fn packaged_module_path() -> String {
    let out = Command::new("dpkg-architecture")
        .arg("-qDEB_HOST_MULTIARCH")
        .output()
        .expect("dpkg-architecture (dpkg-dev) is installed (make deps)");
    let triplet = String::from_utf8(out.stdout).unwrap();
    format!(
        "/lib/{}/security/pam_google_authenticator.so",
        triplet.trim()
    )
}
