//! Runs of the driver under strace or valgrind, or paused at the prompt.

use std::ffi::OsString;
use std::io::Write as _;
use std::process::{Command, Output, Stdio};

use super::*;

impl PamRun {
    /// Runs the driver once under `strace -f` with `strace_args` (for example
    /// `-e inject=rename:signal=KILL` to kill it at the rename, or
    /// `-e inject=fsync:error=EIO:when=2`), so faults land exactly at one system call. The
    /// driver's preloads (libfaketime, the syslog capture) are handed to the traced process
    /// only, never to strace itself. `None` when strace cannot be started (a harness error
    /// for the caller to report).
    pub fn run_under_strace(&self, strace_args: &[&str]) -> Option<Outcome> {
        let mut args = vec!["-f", "-qq", "-o", "/dev/null"];
        args.extend_from_slice(strace_args);
        self.run_wrapped("strace", &args, Some("-E"))
    }

    /// Runs the driver once under `valgrind` with `valgrind_args` (the tool and its options);
    /// valgrind hands the preloads on to the driver itself. `None` when valgrind cannot be
    /// started.
    pub fn run_under_valgrind(&self, valgrind_args: &[&str]) -> Option<Outcome> {
        self.run_wrapped("valgrind", valgrind_args, None)
    }

    /// Runs the driver once with `--pause-at-prompt`: once the module prompts, `during` runs
    /// (the user is "typing"; the test may change files), then the driver answers and
    /// finishes. `during` gets the time the module has been waiting. Panics with a harness
    /// error when the driver never reaches the prompt.
    pub fn run_pausing_at_prompt(&self, during: impl FnOnce()) -> (Outcome, std::time::Duration) {
        use std::io::BufRead as _;
        let mut p = self.prepare(false);
        p.cmd.arg("--pause-at-prompt").stdin(Stdio::piped());
        let mut child = p.cmd.spawn().expect("harness error: spawn pam_driver");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = std::sync::mpsc::channel::<String>();
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let _ = tx.send(line.clone());
                lines.push(line);
            }
            lines
        });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(line) if line == "paused" => break,
                Ok(_) => {}
                Err(_) => {
                    let _ = child.kill();
                    panic!(
                        "harness error: the driver never prompted ({})",
                        p.command_line
                    );
                }
            }
        }
        during();
        let started = std::time::Instant::now();
        if let Some(mut stdin) = child.stdin.take() {
            let _ = stdin.write_all(b"\n");
        }
        let status = child.wait().expect("harness error: wait for pam_driver");
        let elapsed = started.elapsed();
        let lines = reader.join().expect("harness error: stdout reader");
        let mut stderr = Vec::new();
        if let Some(mut e) = child.stderr.take() {
            let _ = std::io::Read::read_to_end(&mut e, &mut stderr);
        }
        let mut stdout = lines.join("\n").into_bytes();
        stdout.push(b'\n');
        let out = Output {
            status,
            stdout,
            stderr,
        };
        (p.finish(&out).remove(0), elapsed)
    }

    /// Runs `program args -- <driver command>`. With `preload_flag`, LD_PRELOAD is passed
    /// as `<flag> LD_PRELOAD=...` instead of through the environment.
    fn run_wrapped(
        &self,
        program: &str,
        args: &[&str],
        preload_flag: Option<&str>,
    ) -> Option<Outcome> {
        let mut p = self.prepare(false);
        let mut cmd = Command::new(program);
        cmd.args(args);
        for (k, v) in p.cmd.get_envs() {
            match (v, preload_flag) {
                (Some(v), Some(flag)) if k == "LD_PRELOAD" => {
                    let mut arg = OsString::from("LD_PRELOAD=");
                    arg.push(v);
                    cmd.arg(flag).arg(arg);
                    cmd.env_remove(k);
                }
                (Some(v), _) => {
                    cmd.env(k, v);
                }
                (None, _) => {
                    cmd.env_remove(k);
                }
            }
        }
        cmd.arg("--")
            .arg(p.cmd.get_program())
            .args(p.cmd.get_args());
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let out = cmd.output().ok()?;
        p.finish(&out).into_iter().next()
    }
}
