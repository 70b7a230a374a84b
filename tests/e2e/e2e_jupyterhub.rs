//! End to end: a real JupyterHub 5 (PAMAuthenticator, pamela, configurable-http-proxy)
//! logs throwaway users in through our shipped `pam.d/jupyterhub-*` recipes.
//!
//! JupyterHub and configurable-http-proxy are installed by `make e2e-deps` (a private
//! virtualenv and npm prefix under `target/e2e`, pinned versions, reused), which
//! `make root-tier` runs before the tests. Each test runs a hub on 127.0.0.1 at free ports
//! with its own PAM service `/etc/pam.d/<unique name>` (the recipe with our module's
//! absolute path), creates users with `useradd -m`/`chpasswd` and a
//! `~/.google_authenticator`, and logs in over HTTP through the proxy like a browser
//! (`support/hub_login.py`: the login page's `_xsrf`, then the form POST, redirects not
//! followed so nothing is spawned).
//!
//! Root tier: `make e2e-deps`, then `cargo test --test e2e -- --ignored e2e_jupyterhub::`
//! as root.

use std::cell::RefCell;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::otp::{code_now, wrong_code};
use crate::support::system::{ChildGuard, OwnedFile, TempUser, recipe_with_module, require_root};
use crate::support::{our_module, target_dir};

const PASSWORD: &str = "Hub-pass-42";

/// Where `make e2e-deps` puts JupyterHub's virtualenv and the proxy, under `target/e2e`.
const VENV: &str = "jupyterhub-venv";
const CHP: &str = "chp/node_modules/.bin/configurable-http-proxy";

/// Where `make e2e-deps` installed JupyterHub and configurable-http-proxy; a harness
/// error when they are not there (nothing is installed from a test).
fn e2e_dir() -> PathBuf {
    let dir = target_dir().join("e2e");
    for needed in [&format!("{VENV}/bin/jupyterhub"), CHP] {
        assert!(
            dir.join(needed).exists(),
            "harness error: {} is missing; run `make e2e-deps` (make root-tier runs it)",
            dir.join(needed).display()
        );
    }
    dir
}

/// Waits for a child with a time limit, collecting stdout and stderr; kills its group
/// (through the guard) when the limit passes.
fn wait_bounded(
    child: &mut ChildGuard,
    limit: Duration,
    what: &str,
) -> (std::process::ExitStatus, String, String) {
    use std::io::Read as _;
    let mut out = child.child.stdout.take();
    let mut err = child.child.stderr.take();
    let t_out = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(o) = out.as_mut() {
            let _ = o.read_to_string(&mut s);
        }
        s
    });
    let t_err = std::thread::spawn(move || {
        let mut s = String::new();
        if let Some(e) = err.as_mut() {
            let _ = e.read_to_string(&mut s);
        }
        s
    });
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(st) = child.child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            // SAFETY: kill has no memory preconditions; the group is this child's.
            unsafe { libc::kill(-child.pid(), libc::SIGKILL) };
            let _ = child.child.wait();
            panic!("{what} did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    (status, t_out.join().unwrap(), t_err.join().unwrap())
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One JupyterHub (and its proxy) with a PAM service of its own. Dropping it stops the
/// hub's process group, then the proxy by the PID in its pid file, then removes the
/// service file. It prints the login transcript first, and the hub's log if the test is
/// failing.
struct Hub {
    base: String,
    python: PathBuf,
    client: PathBuf,
    dir: tempfile::TempDir,
    transcript: RefCell<String>,
    proxy_pid: Option<i32>,
    hub: Option<ChildGuard>,
    service_file: Option<OwnedFile>,
}

impl Hub {
    fn start(recipe: &str, request_otp: bool) -> Hub {
        require_root("users, /etc/pam.d, client services");
        let e2e = e2e_dir();
        let venv = e2e.join(VENV);
        let chp = e2e.join(CHP);
        let dir = tempfile::tempdir().unwrap();
        let service = format!("e2ehub{}{}", std::process::id(), free_port());
        let pam_text = recipe_with_module(recipe, &our_module());
        let service_file = OwnedFile::create(&Path::new("/etc/pam.d").join(&service), &pam_text);
        let (hub_port, api_port, proxy_port) = (free_port(), free_port(), free_port());
        let d = dir.path().display();
        let config = format!(
            "c = get_config()  # noqa\n\
             c.JupyterHub.bind_url = 'http://127.0.0.1:{proxy_port}'\n\
             c.JupyterHub.hub_bind_url = 'http://127.0.0.1:{hub_port}'\n\
             c.ConfigurableHTTPProxy.api_url = 'http://127.0.0.1:{api_port}'\n\
             c.ConfigurableHTTPProxy.command = ['{chp}']\n\
             c.ConfigurableHTTPProxy.pid_file = '{d}/proxy.pid'\n\
             c.JupyterHub.pid_file = '{d}/hub.pid'\n\
             c.JupyterHub.db_url = 'sqlite:///{d}/jupyterhub.sqlite'\n\
             c.JupyterHub.cookie_secret_file = '{d}/cookie_secret'\n\
             c.JupyterHub.authenticator_class = 'pam'\n\
             c.PAMAuthenticator.service = '{service}'\n\
             c.Authenticator.request_otp = {otp}\n\
             c.Authenticator.allow_all = True\n\
             c.JupyterHub.log_level = 'DEBUG'\n",
            chp = chp.display(),
            otp = if request_otp { "True" } else { "False" },
        );
        std::fs::write(dir.path().join("jupyterhub_config.py"), &config).unwrap();
        let log = std::fs::File::create(dir.path().join("hub.log")).unwrap();
        let hub = ChildGuard::spawn(
            Command::new(venv.join("bin/jupyterhub"))
                .current_dir(dir.path())
                .arg("-f")
                .arg(dir.path().join("jupyterhub_config.py"))
                .env(
                    "PATH",
                    format!("{}:/usr/bin:/bin", venv.join("bin").display()),
                )
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log),
        );
        let mut h = Hub {
            base: format!("http://127.0.0.1:{proxy_port}"),
            python: venv.join("bin/python3"),
            client: Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/hub_login.py"),
            dir,
            transcript: RefCell::new(format!(
                "PAM service /etc/pam.d/{service}:\n{pam_text}\njupyterhub_config.py:\n{config}\n"
            )),
            proxy_pid: None,
            hub: Some(hub),
            service_file: Some(service_file),
        };
        let started = Instant::now();
        let ready = h.client(&["wait", &h.base.clone(), "120"], Duration::from_secs(150));
        assert!(
            ready.contains("\"ready\": true"),
            "the hub did not come up: {ready}"
        );
        h.note(&format!(
            "hub up after {:.1}s\n",
            started.elapsed().as_secs_f64()
        ));
        h.proxy_pid = std::fs::read_to_string(h.dir.path().join("proxy.pid"))
            .ok()
            .and_then(|s| s.trim().parse().ok());
        assert!(h.proxy_pid.is_some(), "no proxy pid file");
        h
    }

    fn note(&self, s: &str) {
        self.transcript.borrow_mut().push_str(s);
    }

    fn client(&self, args: &[&str], limit: Duration) -> String {
        let mut child = ChildGuard::spawn(
            Command::new(&self.python)
                .arg(&self.client)
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped()),
        );
        let (status, out, err) = wait_bounded(&mut child, limit, "hub_login.py");
        assert!(
            status.success(),
            "hub_login.py {args:?}: {status}\n{out}{err}"
        );
        out
    }

    /// Logs in through the proxy; returns the client's JSON line.
    fn login(&self, user: &str, password: &str, otp: Option<&str>) -> Login {
        let mut args = vec!["login", &self.base, user, password];
        if let Some(o) = otp {
            args.push(o);
        }
        let started = Instant::now();
        let out = self.client(&args, Duration::from_secs(90));
        self.note(&format!(
            "login user={user} password={password:?} otp={otp:?} ({:.1}s): {out}",
            started.elapsed().as_secs_f64()
        ));
        Login { json: out }
    }

    /// Several logins at once (threads of one client; forms posted together).
    fn login_many(&self, logins: &[(&str, &str, Option<&str>)]) -> Vec<Login> {
        let q = |s: &str| format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""));
        let spec: Vec<String> = logins
            .iter()
            .map(|(u, p, o)| format!("[{}, {}, {}]", q(u), q(p), o.map_or("null".into(), q)))
            .collect();
        let spec = format!("[{}]", spec.join(", "));
        let started = Instant::now();
        let out = self.client(&["many", &self.base, &spec], Duration::from_secs(120));
        self.note(&format!(
            "{} logins at once {spec} ({:.1}s):\n{out}",
            logins.len(),
            started.elapsed().as_secs_f64()
        ));
        let results: Vec<Login> = out
            .lines()
            .map(|l| Login {
                json: l.to_string(),
            })
            .collect();
        assert_eq!(results.len(), logins.len(), "one result per login");
        results
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("hub.log")).unwrap_or_default()
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        // Shown by the test harness on failure (or with --nocapture).
        eprintln!("---- transcript ----\n{}", self.transcript.borrow());
        if std::thread::panicking() {
            eprintln!("---- hub log ----\n{}", self.log());
        }
        drop(self.hub.take());
        if let Some(pid) = self.proxy_pid {
            // Only if that PID is still our proxy (the hub normally stops it itself).
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains("configurable-http-proxy") {
                // SAFETY: kill has no memory preconditions; the PID is the proxy we started.
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
        }
        drop(self.service_file.take());
    }
}

/// What the browser saw after posting the login form.
struct Login {
    json: String,
}

impl Login {
    fn has(&self, needle: &str) -> bool {
        self.json.contains(needle)
    }

    /// Logged in: a redirect away from the login page and the hub's login cookie set.
    fn is_in(&self) -> bool {
        self.has("\"status\": 302")
            && !self.has("\"location\": \"/hub/login")
            && self.has("\"location\": \"/hub/")
            && self.has("jupyterhub-hub-login")
    }

    /// Refused: the login page again (403) with the error, no login cookie.
    fn is_out(&self) -> bool {
        self.has("\"status\": 403")
            && self.has("\"error\": \"Invalid username or password\"")
            && !self.has("jupyterhub-hub-login")
    }
}

fn enrolled_user() -> TempUser {
    let u = TempUser::new("e2ej");
    u.set_password(PASSWORD);
    u.enrol();
    u
}

#[test]
#[ignore = "root tier: installs JupyterHub, writes /etc/pam.d and creates users"]
fn request_otp_with_the_jupyterhub_request_otp_recipe() {
    let hub = Hub::start("jupyterhub-request-otp", true);
    let u = enrolled_user();

    let right = hub.login(&u.name, PASSWORD, Some(&code_now()));
    assert!(
        right.has("\"otp_field\": true"),
        "the login page offers the OTP field"
    );
    assert!(right.has("\"otp_label\": \"OTP:\""), "with the label OTP:");
    assert!(right.is_in(), "right password + right code: logged in");

    let wrong_code = hub.login(&u.name, PASSWORD, Some(&wrong_code()));
    assert!(wrong_code.is_out(), "right password + wrong code: refused");

    let wrong_password = hub.login(&u.name, "not-the-password", Some(&code_now()));
    assert!(
        wrong_password.is_out(),
        "wrong password + right code: refused"
    );

    let no_code = hub.login(&u.name, PASSWORD, Some(""));
    assert!(
        no_code.is_out(),
        "right password + empty OTP field: refused"
    );

    let log = hub.log();
    assert!(
        log.contains("PAM Authentication failed"),
        "the hub logs the refusals"
    );
}

#[test]
#[ignore = "root tier: installs JupyterHub, writes /etc/pam.d and creates users"]
fn password_and_code_in_one_field_with_the_jupyterhub_forward_pass_recipe() {
    let hub = Hub::start("jupyterhub-forward-pass", false);
    let u = enrolled_user();

    let right = hub.login(&u.name, &format!("{PASSWORD}{}", code_now()), None);
    assert!(
        right.has("\"otp_field\": false"),
        "no OTP field without request_otp"
    );
    assert!(
        right.is_in(),
        "password immediately followed by the code: logged in"
    );

    let wrong = hub.login(&u.name, &format!("{PASSWORD}{}", wrong_code()), None);
    assert!(wrong.is_out(), "password + wrong code: refused");

    let wrong_password = hub.login(&u.name, &format!("not-the-password{}", code_now()), None);
    assert!(
        wrong_password.is_out(),
        "wrong password + right code: refused"
    );

    let password_only = hub.login(&u.name, PASSWORD, None);
    assert!(password_only.is_out(), "the password alone: refused");
}

#[test]
#[ignore = "root tier: installs JupyterHub, writes /etc/pam.d and creates users"]
fn concurrent_logins_in_the_hubs_thread_pool() {
    let hub = Hub::start("jupyterhub-request-otp", true);
    // Different users at once: all in.
    let users: Vec<TempUser> = (0..3).map(|_| enrolled_user()).collect();
    let code = code_now();
    let logins: Vec<(&str, &str, Option<&str>)> = users
        .iter()
        .map(|u| (u.name.as_str(), PASSWORD, Some(code.as_str())))
        .collect();
    let results = hub.login_many(&logins);
    assert!(
        results.iter().all(Login::is_in),
        "three users at once: all logged in"
    );

    // One user with DISALLOW_REUSE, the same code posted four times at once: exactly one
    // login gets in, in whichever thread of the hub's pool runs first.
    let u = TempUser::new("e2ej");
    u.set_password(PASSWORD);
    u.enrol_with("\" DISALLOW_REUSE\n");
    let code = code_now();
    let same = [(u.name.as_str(), PASSWORD, Some(code.as_str())); 4];
    let results = hub.login_many(&same);
    let ins = results.iter().filter(|r| r.is_in()).count();
    let outs = results.iter().filter(|r| r.is_out()).count();
    assert_eq!((ins, outs), (1, 3), "a one-time code works once");
}
