//! Running the driver: the [`PamRun`] builder, the prepared command, and many runs started
//! together.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::otp::T;
use super::*;

/// The driver's conversation modes (see `examples/pam_driver.rs`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvMode {
    Script,
    Repeat,
    ConvError,
    Null,
    NullArray,
}

impl ConvMode {
    fn arg(self) -> &'static str {
        match self {
            Self::Script => "script",
            Self::Repeat => "repeat",
            Self::ConvError => "conv-error",
            Self::Null => "null",
            Self::NullArray => "null-array",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EchoStyle {
    EchoOff,
    EchoOn,
}

/// One run of the driver.
#[derive(Clone, Debug)]
pub struct PamRun {
    pub service: String,
    pub stack: Stack,
    pub user: String,
    pub rhost: Option<String>,
    pub ruser: Option<String>,
    pub tty: Option<String>,
    pub flags: i32,
    pub conv: ConvMode,
    pub answers: Vec<Vec<u8>>,
    /// Frozen clock (Unix seconds) through libfaketime; `None` = real time.
    pub clock: Option<i64>,
    pub acct: bool,
    pub threads: Option<usize>,
    pub env: Vec<(String, String)>,
    /// Append [`Stack::report_authtok`] to the stack (default true).
    pub report_authtok: bool,
    /// Use `pam_start` with the system's /etc/pam.d instead of a temp confdir.
    pub system_confdir: bool,
    /// Pass `--show-clock` (the driver prints what time() and clock_gettime return).
    pub show_clock: bool,
}

impl PamRun {
    /// A run of `stack` as service `ga-test` for the current user, `script` conversation,
    /// real clock.
    pub fn new(stack: Stack) -> Self {
        Self {
            service: "ga-test".into(),
            stack,
            user: current_user().0,
            rhost: None,
            ruser: None,
            tty: None,
            flags: 0,
            conv: ConvMode::Script,
            answers: Vec::new(),
            clock: None,
            acct: false,
            threads: None,
            env: Vec::new(),
            report_authtok: true,
            system_confdir: false,
            show_clock: false,
        }
    }

    pub fn service(mut self, s: &str) -> Self {
        self.service = s.into();
        self
    }
    pub fn user(mut self, u: &str) -> Self {
        self.user = u.into();
        self
    }
    pub fn rhost(mut self, h: &str) -> Self {
        self.rhost = Some(h.into());
        self
    }
    pub fn ruser(mut self, u: &str) -> Self {
        self.ruser = Some(u.into());
        self
    }
    pub fn conv(mut self, c: ConvMode) -> Self {
        self.conv = c;
        self
    }
    pub fn answer(mut self, a: impl AsRef<[u8]>) -> Self {
        self.answers.push(a.as_ref().to_vec());
        self
    }
    pub fn clock(mut self, t: i64) -> Self {
        self.clock = Some(t);
        self
    }
    pub fn acct(mut self) -> Self {
        self.acct = true;
        self
    }
    pub fn threads(mut self, n: usize) -> Self {
        self.threads = Some(n);
        self
    }
    pub fn flags(mut self, f: i32) -> Self {
        self.flags = f;
        self
    }
    pub fn env(mut self, k: &str, v: &str) -> Self {
        self.env.push((k.into(), v.into()));
        self
    }

    /// Writes the confdir and returns the command plus the files it uses.
    pub fn prepare(&self, wait_stdin_eof: bool) -> Prepared {
        let dir = tempfile::tempdir().expect("tempdir");
        let confdir = dir.path().join("pam.d");
        std::fs::create_dir(&confdir).expect("mkdir pam.d");
        let mut stack = self.stack.clone();
        if self.report_authtok {
            stack = stack.report_authtok();
        }
        let service_text = stack.text();
        std::fs::write(confdir.join(&self.service), &service_text).expect("write service");
        if self.service != "other" {
            // Without an `other` file libpam logs "no default config other".
            std::fs::write(
                confdir.join("other"),
                "auth required pam_deny.so\naccount required pam_deny.so\n\
                 password required pam_deny.so\nsession required pam_deny.so\n",
            )
            .expect("write other");
        }
        let syslog = dir.path().join("syslog.txt");

        let mut cmd = Command::new(driver());
        cmd.arg("--service").arg(&self.service);
        if !self.system_confdir {
            cmd.arg("--confdir").arg(&confdir);
        }
        cmd.arg("--user").arg(&self.user);
        if let Some(h) = &self.rhost {
            cmd.arg("--rhost").arg(h);
        }
        if let Some(u) = &self.ruser {
            cmd.arg("--ruser").arg(u);
        }
        if let Some(t) = &self.tty {
            cmd.arg("--tty").arg(t);
        }
        if self.flags != 0 {
            cmd.arg("--flags").arg(self.flags.to_string());
        }
        cmd.arg("--conv").arg(self.conv.arg());
        for a in &self.answers {
            let hex: String = a.iter().map(|b| format!("{b:02x}")).collect();
            cmd.arg("--answer-hex").arg(hex);
        }
        if self.acct {
            cmd.arg("--acct");
        }
        if let Some(n) = self.threads {
            cmd.arg("--threads").arg(n.to_string());
        }
        if wait_stdin_eof {
            cmd.arg("--wait-stdin-eof");
        }
        if self.show_clock {
            cmd.arg("--show-clock");
        }

        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy().into_owned();
            if k.starts_with("FAKETIME") || k == "NO_FAKE_STAT" || k == "LD_PRELOAD" {
                cmd.env_remove(&k);
            }
        }
        // libpam's audit record resolves a PAM_RHOST that is not an address. Tests must send
        // nothing off this machine, and a name server that does not answer would stall a run
        // for the resolver's timeout: with attempts:0 the resolver sends no query at all.
        cmd.env("RES_OPTIONS", "attempts:0");
        let mut preload = vec![syslog_capture_lib()];
        cmd.env("GA_SYSLOG_CAPTURE", &syslog);
        let faketime = self.clock.map(|t| {
            preload.push(libfaketime());
            freeze_clock(&mut cmd, t)
        });
        let preload: Vec<String> = preload.iter().map(|p| p.display().to_string()).collect();
        cmd.env("LD_PRELOAD", preload.join(":"));
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd.stdin(if wait_stdin_eof {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        Prepared {
            dir,
            cmd,
            syslog,
            service_text,
            command_line: String::new(),
            faketime,
        }
        .with_command_line()
    }

    /// Runs the driver once and parses its output (for `--threads`, use [`Self::run_threads`]).
    /// Panics with "harness error: ..." when the run says nothing about the modules (see
    /// [`Outcome::harness_error`]).
    pub fn run(&self) -> Outcome {
        self.try_run().unwrap_or_else(|e| panic!("{e}"))
    }

    /// Like [`Self::run`], but a failure of the driver or of the harness is returned.
    pub fn try_run(&self) -> Result<Outcome, HarnessError> {
        let mut p = self.prepare(false);
        let out = p.cmd.output().map_err(|e| HarnessError {
            what: format!("cannot spawn pam_driver: {e}"),
            transcript: p.command_line.clone(),
        })?;
        let mut outcomes = p.finish(&out);
        if outcomes.len() != 1 {
            return Err(HarnessError {
                what: format!("expected one PAM sequence, got {}", outcomes.len()),
                transcript: outcomes[0].transcript(),
            });
        }
        outcomes.remove(0).checked()
    }

    /// Runs the driver with `--threads n` and returns one outcome per thread, by index.
    pub fn run_threads(&self, n: usize) -> Vec<Outcome> {
        let run = self.clone().threads(n);
        let mut p = run.prepare(false);
        let out = p
            .cmd
            .output()
            .expect("harness error: cannot spawn pam_driver");
        p.finish(&out)
            .into_iter()
            .map(Outcome::unwrap_checked)
            .collect()
    }
}

/// A run that says nothing about the modules under test, because the driver or the harness
/// failed. Tests report it as such, never as a difference between modules.
#[derive(Clone, Debug)]
pub struct HarnessError {
    pub what: String,
    pub transcript: String,
}

impl std::fmt::Display for HarnessError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "harness error: {}\n{}", self.what, self.transcript)
    }
}

impl std::error::Error for HarnessError {}

/// A driver command ready to spawn, with its temp confdir and syslog file.
pub struct Prepared {
    pub dir: tempfile::TempDir,
    pub cmd: Command,
    pub syslog: PathBuf,
    pub service_text: String,
    pub command_line: String,
    /// libfaketime's shared objects for this run (removed on drop).
    pub faketime: Option<FaketimeShared>,
}

impl Prepared {
    fn with_command_line(mut self) -> Self {
        let mut s = String::new();
        for (k, v) in self.cmd.get_envs() {
            if let Some(v) = v {
                let _ = write!(s, "{}={} ", k.to_string_lossy(), v.to_string_lossy());
            }
        }
        let _ = write!(s, "{}", self.cmd.get_program().to_string_lossy());
        for a in self.cmd.get_args() {
            let _ = write!(s, " {}", a.to_string_lossy());
        }
        self.command_line = s;
        self
    }

    /// Parses the driver's output; one outcome per PAM sequence (per thread).
    pub fn finish(&mut self, out: &Output) -> Vec<Outcome> {
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let syslog: Vec<String> = std::fs::read_to_string(&self.syslog)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        let mut by_prefix: Vec<(Option<usize>, Vec<String>)> = Vec::new();
        for line in stdout.lines() {
            let (idx, rest) = match line.strip_prefix('t').and_then(|r| r.split_once(' ')) {
                Some((n, rest)) if n.parse::<usize>().is_ok() => (n.parse().ok(), rest),
                _ => (None, line),
            };
            match by_prefix.iter_mut().find(|(i, _)| *i == idx) {
                Some((_, v)) => v.push(rest.to_string()),
                None => by_prefix.push((idx, vec![rest.to_string()])),
            }
        }
        by_prefix.sort_by_key(|(i, _)| *i);
        if by_prefix.is_empty() {
            by_prefix.push((None, Vec::new()));
        }
        by_prefix
            .into_iter()
            .map(|(thread, lines)| {
                let mut o = Outcome::parse(&lines);
                o.thread = thread;
                o.exit_code = out.status.code();
                o.stdout.clone_from(&stdout);
                o.stderr.clone_from(&stderr);
                o.syslog.clone_from(&syslog);
                o.service_text.clone_from(&self.service_text);
                o.command_line.clone_from(&self.command_line);
                o
            })
            .collect()
    }
}

impl system::TempUser {
    /// A run of our module (see [`stack`]) with `args` for this user at the frozen time
    /// [`T`].
    pub fn run(&self, args: &[&str]) -> PamRun {
        PamRun::new(stack(args)).user(&self.name).clock(T)
    }
}

/// Starts all `runs` behind a stdin-EOF barrier (`--wait-stdin-eof`): every driver is
/// spawned and has printed `waiting` (pam_start is done), then the write ends of their
/// stdin pipes are closed together, so they all call pam_authenticate at (nearly) the same
/// moment. Not for `--threads` runs.
pub fn run_many(runs: &[PamRun]) -> Vec<Outcome> {
    use std::io::{BufRead, Read};
    let mut prepared: Vec<Prepared> = runs.iter().map(|r| r.prepare(true)).collect();
    let mut children: Vec<_> = prepared
        .iter_mut()
        .map(|p| {
            p.cmd
                .spawn()
                .expect("harness error: cannot spawn pam_driver")
        })
        .collect();
    // Wait until every driver is at the barrier (or has exited early).
    let mut readers: Vec<_> = children
        .iter_mut()
        .map(|c| std::io::BufReader::new(c.stdout.take().expect("stdout piped")))
        .collect();
    let mut heads: Vec<String> = Vec::new();
    for r in &mut readers {
        let mut head = String::new();
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                break;
            }
            let done = line.trim_end() == "waiting";
            head.push_str(&line);
            if done {
                break;
            }
        }
        heads.push(head);
    }
    let stdins: Vec<_> = children.iter_mut().map(|c| c.stdin.take()).collect();
    drop(stdins);
    // Outputs are small, so reading them one child after the other is fine.
    let outputs: Vec<Output> = children
        .into_iter()
        .zip(readers)
        .zip(heads)
        .map(|((mut c, mut r), head)| {
            let mut rest = Vec::new();
            let _ = r.read_to_end(&mut rest);
            let mut stderr = Vec::new();
            if let Some(mut e) = c.stderr.take() {
                let _ = e.read_to_end(&mut stderr);
            }
            let status = c.wait().expect("harness error: wait for pam_driver");
            let mut stdout = head.into_bytes();
            stdout.extend_from_slice(&rest);
            Output {
                status,
                stdout,
                stderr,
            }
        })
        .collect();
    prepared
        .iter_mut()
        .zip(outputs.iter())
        .flat_map(|(p, out)| p.finish(out))
        .map(Outcome::unwrap_checked)
        .collect()
}

/// Appends `bytes` to a file after making it writable (the module rewrites files as 0400).
pub fn append_to(path: &Path, bytes: &[u8]) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .expect("open for append");
    f.write_all(bytes).expect("append");
}
