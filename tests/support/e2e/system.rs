//! System fixtures for the end-to-end tests: throwaway users and groups, real
//! `/etc/pam.d` services made from the shipped recipes, secret files, time-bounded
//! commands, and a pseudo-terminal client driver. Everything is removed by Drop guards.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::support;

/// Panics unless the tests run as root (they create users and `/etc/pam.d` files).
pub fn assert_root() {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    assert_eq!(
        uid, 0,
        "this end-to-end test needs root (users, /etc/pam.d, sshd); run `sudo make e2e`"
    );
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

/// Seconds since the epoch, from the real clock.
pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock after 1970")
        .as_secs()
}

/// A 6-digit code that is not valid for [`support::TEST_SECRET`] within 10 steps of now.
pub fn wrong_code() -> String {
    let t = now();
    let near: Vec<String> = (0..=20)
        .map(|i| support::totp_code(support::TEST_SECRET, t + i * 30 - 300))
        .collect();
    (0..1000)
        .map(|i| format!("{:06}", 424_242 + i))
        .find(|c| !near.contains(c))
        .expect("a code outside the window")
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
    let out = run_bounded(program, args, stdin, 60);
    assert!(
        out.status.success(),
        "`{program} {}` failed ({}):\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

// ---------------------------------------------------------------------------------------
// Users and groups
// ---------------------------------------------------------------------------------------

/// A throwaway account (`useradd -m`), removed with `userdel -r` on drop.
pub struct TempUser {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
    pub home: PathBuf,
    pub password: String,
}

impl TempUser {
    /// Creates the user with a home directory, bash as shell and a password.
    pub fn new(tag: &str) -> TempUser {
        let name = unique(&format!("ga{tag}"));
        must("useradd", &["-m", "-s", "/bin/bash", &name]);
        let password = format!("Pw-{name}-7");
        let mut user = TempUser {
            name: name.clone(),
            uid: 0,
            gid: 0,
            home: PathBuf::new(),
            password: password.clone(),
        };
        must_with_stdin("chpasswd", &[], format!("{name}:{password}\n").as_bytes());
        let entry = must("getent", &["passwd", &name]);
        let fields: Vec<&str> = entry.trim().split(':').collect();
        user.uid = fields[2].parse().expect("uid");
        user.gid = fields[3].parse().expect("gid");
        user.home = PathBuf::from(fields[5]);
        user
    }

    /// `~/.google_authenticator`.
    pub fn secret_path(&self) -> PathBuf {
        self.home.join(".google_authenticator")
    }

    /// Writes `~/.google_authenticator` with `mode`, owned by `owner` (uid, gid).
    pub fn write_secret_as(&self, content: &str, mode: u32, owner: (u32, u32)) {
        let path = self.secret_path();
        std::fs::write(&path, content).expect("write secret file");
        std::os::unix::fs::chown(&path, Some(owner.0), Some(owner.1)).expect("chown");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    }

    /// Writes `~/.google_authenticator` (mode 0600, owned by the user).
    pub fn write_secret(&self, content: &str) {
        self.write_secret_as(content, 0o600, (self.uid, self.gid));
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
        must("usermod", &["-a", "-G", &group.name, &self.name]);
    }
}

impl Drop for TempUser {
    fn drop(&mut self) {
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
    }
}

/// A throwaway group (`groupadd`), removed with `groupdel` on drop.
pub struct TempGroup {
    pub name: String,
}

impl TempGroup {
    pub fn new(tag: &str) -> TempGroup {
        let name = unique(&format!("ga{tag}"));
        must("groupadd", &[&name]);
        TempGroup { name }
    }
}

impl Drop for TempGroup {
    fn drop(&mut self) {
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

/// Contents of a TOTP secret file for [`support::TEST_SECRET`] with extra option lines
/// (e.g. `"\" DISALLOW_REUSE"`) and scratch codes.
pub fn secret_file(options: &[&str], scratch: &[&str]) -> String {
    let mut s = format!("{}\n\" TOTP_AUTH\n", support::TEST_SECRET);
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
    let module = support::our_module();
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
    .env("LD_PRELOAD", support::syslog_capture_lib())
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
    /// `prefix` followed by the current TOTP code of [`support::TEST_SECRET`], computed
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
            Answer::Totp { prefix } => format!("totp:{}:{prefix}", support::TEST_SECRET),
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
