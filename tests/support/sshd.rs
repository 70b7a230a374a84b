//! A private OpenSSH server on 127.0.0.1 with its own host key, config, log and PAM
//! service, and the OpenSSH client driven through a pseudo-terminal.

use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

use super::system::{self, Answer, PamService, PtyOutcome, must, unique, wait_until};

/// sshd's privilege separation directory (compiled in). Created while any server of this
/// process runs, and removed after the last one if it did not exist before.
const PRIVSEP_DIR: &str = "/run/sshd";
static PRIVSEP: Mutex<(usize, bool)> = Mutex::new((0, false));

fn privsep_acquire() {
    let mut g = PRIVSEP.lock().unwrap_or_else(|e| e.into_inner());
    if g.0 == 0 && !Path::new(PRIVSEP_DIR).exists() {
        std::fs::create_dir(PRIVSEP_DIR).expect("mkdir /run/sshd");
        g.1 = true;
    }
    g.0 += 1;
}

fn privsep_release() {
    let mut g = PRIVSEP.lock().unwrap_or_else(|e| e.into_inner());
    g.0 -= 1;
    if g.0 == 0 && g.1 {
        let _ = std::fs::remove_dir(PRIVSEP_DIR);
        g.1 = false;
    }
}

/// Server settings.
pub struct SshdOptions {
    /// `AuthenticationMethods`.
    pub methods: &'static str,
    pub kbd_interactive: bool,
    pub password: bool,
    /// The users allowed to log in (`AllowUsers`).
    pub users: Vec<String>,
}

/// A running sshd (`<tmp>/sshd-gatest-<pid>x<n> -D -f <config> -E <log>`), whose PAM
/// service is `/etc/pam.d/sshd-gatest-<pid>x<n>` (OpenSSH 9.2 takes the service name
/// from the name of its binary). Killed by PID and removed on drop.
pub struct Sshd {
    pub dir: tempfile::TempDir,
    pub port: u16,
    pub log: PathBuf,
    pub service: PamService,
    pub client_key: PathBuf,
    pub client_pub: String,
    child: Child,
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

impl Sshd {
    /// Starts a server whose PAM service is `pam_text`.
    pub fn start(pam_text: String, opts: &SshdOptions) -> Sshd {
        system::require_root("runs a private sshd");
        let dir = tempfile::Builder::new()
            .prefix("ga-e2e-sshd")
            .tempdir()
            .expect("tempdir");
        std::fs::set_permissions(
            dir.path(),
            std::os::unix::fs::PermissionsExt::from_mode(0o755),
        )
        .expect("chmod");
        let name = unique("sshd-gatest-");
        let binary = dir.path().join(&name);
        std::os::unix::fs::symlink("/usr/sbin/sshd", &binary).expect("symlink sshd");
        let service = PamService::install(&name, pam_text);
        let host_key = dir.path().join("host_ed25519");
        let client_key = dir.path().join("client_ed25519");
        for k in [&host_key, &client_key] {
            must(
                "ssh-keygen",
                &[
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    "ga-e2e",
                    "-f",
                    k.to_str().unwrap(),
                ],
            );
        }
        let client_pub = std::fs::read_to_string(client_key.with_extension("pub")).expect("pub");
        let log = dir.path().join("sshd.log");
        let config = dir.path().join("sshd_config");
        privsep_acquire();
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let port = free_port();
            let yn = |b: bool| if b { "yes" } else { "no" };
            let text = format!(
                "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile {pid}\n\
                 UsePAM yes\nKbdInteractiveAuthentication {kbd}\nPasswordAuthentication {pw}\n\
                 PubkeyAuthentication yes\nAuthenticationMethods {methods}\n\
                 AuthorizedKeysFile .ssh/authorized_keys\nStrictModes no\nPermitRootLogin no\n\
                 AllowUsers {users}\nUseDNS no\nPrintMotd no\nPrintLastLog no\nX11Forwarding no\n\
                 MaxAuthTries 6\nLoginGraceTime 60\nLogLevel DEBUG3\n",
                hk = host_key.display(),
                pid = dir.path().join("sshd.pid").display(),
                kbd = yn(opts.kbd_interactive),
                pw = yn(opts.password),
                methods = opts.methods,
                users = opts.users.join(" "),
            );
            std::fs::write(&config, text).expect("write sshd_config");
            let bin = binary.to_str().unwrap();
            let cfg = config.to_str().unwrap();
            let t = system::run_bounded(bin, &["-t", "-f", cfg], b"", 30);
            if !t.status.success() {
                privsep_release();
                panic!(
                    "sshd -t rejected the config:\n{}\n{}",
                    String::from_utf8_lossy(&t.stderr),
                    std::fs::read_to_string(&config).unwrap_or_default()
                );
            }
            let _ = std::fs::remove_file(&log);
            let mut child = Command::new(&binary)
                .args(["-D", "-f", cfg, "-E", log.to_str().unwrap()])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .process_group(0)
                .spawn()
                .expect("start sshd");
            let listening = format!("Server listening on 127.0.0.1 port {port}");
            wait_until(Duration::from_secs(20), || {
                std::fs::read_to_string(&log).is_ok_and(|l| l.contains(&listening))
                    || matches!(child.try_wait(), Ok(Some(_)))
            });
            last_log = std::fs::read_to_string(&log).unwrap_or_default();
            if last_log.contains(&listening) {
                return Sshd {
                    dir,
                    port,
                    log,
                    service,
                    client_key,
                    client_pub,
                    child,
                };
            }
            // Port taken in the meantime, or a failure: try another port, then give up.
            stop_group(&mut child);
        }
        privsep_release();
        panic!("sshd did not start; log:\n{last_log}");
    }

    fn kill(&mut self) {
        stop_group(&mut self.child);
    }

    /// The server log (LogLevel DEBUG3).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The last `n` lines of the server log.
    pub fn log_tail(&self, n: usize) -> String {
        let text = self.log_text();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Connects as `user` with `ssh ... user@127.0.0.1 echo ok`, offering the client key
    /// when `key` is true, trying `methods` (PreferredAuthentications) and answering the
    /// prompts as given. One connection, bounded to 60 s.
    pub fn ssh(
        &self,
        user: &str,
        methods: &str,
        key: bool,
        answers: &[(&str, Answer)],
    ) -> PtyOutcome {
        let port = self.port.to_string();
        let key_path = self.client_key.to_str().unwrap().to_string();
        let pref = format!("PreferredAuthentications={methods}");
        let target = format!("{user}@127.0.0.1");
        let mut argv: Vec<&str> = vec![
            "/usr/bin/ssh",
            "-F",
            "/dev/null",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "LogLevel=ERROR",
            "-o",
            "BatchMode=no",
            "-o",
            "KbdInteractiveAuthentication=yes",
            "-o",
            "PasswordAuthentication=yes",
            "-o",
            "NumberOfPasswordPrompts=1",
            "-o",
            "IdentityAgent=none",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "ConnectTimeout=20",
            "-o",
            &pref,
            "-p",
            &port,
        ];
        if key {
            argv.extend(["-i", &key_path]);
        }
        argv.extend(["-T", &target, "echo", "remote-command-ran"]);
        system::pty_run(&argv, answers, 60, &[])
    }

    /// Fails with the client transcript and the end of the server log.
    pub fn fail(&self, what: &str, o: &PtyOutcome) -> ! {
        panic!(
            "{what}\n{}\n--- PAM service {}\n{}--- server log (last 80 lines of {})\n{}",
            o.report(),
            self.service.path.display(),
            self.service.text,
            self.log.display(),
            self.log_tail(80)
        );
    }

    /// Asserts the login worked: the remote command ran and ssh exited with 0.
    pub fn assert_logged_in(&self, o: &PtyOutcome, what: &str) {
        println!("== {what} (expect login)\n{}", o.report());
        if o.exit != 0 || !o.transcript.contains("remote-command-ran") || o.timed_out {
            self.fail(&format!("expected a login: {what}"), o);
        }
    }

    /// Asserts the login was refused: ssh exited with 255 and the command did not run.
    pub fn assert_refused(&self, o: &PtyOutcome, what: &str) {
        println!("== {what} (expect refusal)\n{}", o.report());
        if o.exit != 255 || o.transcript.contains("remote-command-ran") || o.timed_out {
            self.fail(&format!("expected a refusal: {what}"), o);
        }
    }
}

/// The number of processes whose parent is `pid`.
fn children_of(pid: i32) -> usize {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return 0;
    };
    dir.flatten()
        .filter_map(|e| std::fs::read_to_string(e.path().join("stat")).ok())
        .filter(|stat| {
            // The fields after the parenthesised command: state, ppid, ...
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1)?.parse::<i32>().ok())
                == Some(pid)
        })
        .count()
}

/// Stops a process group this file started (SIGTERM, then SIGKILL after 5 s), by PID.
fn stop_group(child: &mut Child) {
    if let Ok(None) = child.try_wait() {
        let pid = child.id() as i32;
        // Let the listener reap its per-connection children first, so none is left to init.
        wait_until(Duration::from_secs(5), || children_of(pid) == 0);
        // SAFETY: kill(2) on the process group led by the sshd started here.
        unsafe { libc::kill(-pid, libc::SIGTERM) };
        let gone = wait_until(Duration::from_secs(5), || {
            matches!(child.try_wait(), Ok(Some(_)))
        });
        if !gone {
            // SAFETY: as above.
            unsafe { libc::kill(-pid, libc::SIGKILL) };
            let _ = child.wait();
        }
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.kill();
        privsep_release();
    }
}
