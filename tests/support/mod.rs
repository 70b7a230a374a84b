//! Test harness: drives PAM modules through the real Linux-PAM library.
//!
//! * [`reference_module`], [`our_module`], [`driver`], [`set_authtok_module`]: the binaries.
//! * [`Stack`]: the lines of a PAM service file; [`Stack::probe`] adds the module under test.
//! * [`PamRun`]: a builder for one run of `pam_driver` (confdir, service, user, rhost,
//!   conversation, frozen clock, syslog capture); [`PamRun::run`] returns an [`Outcome`].
//! * [`run_many`]: N drivers started together behind a stdin-EOF barrier.
//! * Secret files and codes: [`write_secret`], [`current_user`], [`otp::totp_code`], [`otp::hotp_code`].
//!
//! Environment overrides: `GA_REFERENCE_MODULE` (path of Debian's module), `GA_LIBFAKETIME`
//! (path of `libfaketime.so.1`).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub mod cli;
pub mod otp;
pub mod random;
pub mod sshd;
pub mod system;

use otp::T;

/// Linux-PAM return codes used by the tests.
pub mod code {
    pub const SUCCESS: i32 = 0;
    pub const SERVICE_ERR: i32 = 3;
    pub const PERM_DENIED: i32 = 6;
    pub const AUTH_ERR: i32 = 7;
    pub const CONV_ERR: i32 = 19;
    pub const IGNORE: i32 = 25;
}

// ---------------------------------------------------------------------------------------
// Locations of the binaries
// ---------------------------------------------------------------------------------------

/// `target/<profile>` (or `target/<triple>/<profile>`) of the running test binary, which
/// lives in `<profile dir>/deps/`. This honours `CARGO_TARGET_DIR` and `--release`.
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(Path::parent)
        .expect("the test binary is not in <target>/<profile>/deps")
        .to_path_buf()
}

/// The cargo target directory (the one holding `CACHEDIR.TAG`).
pub fn target_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_TARGET_DIR") {
        let dir = PathBuf::from(dir);
        return if dir.is_absolute() {
            dir
        } else {
            Path::new(env!("CARGO_MANIFEST_DIR")).join(dir)
        };
    }
    let profile = profile_dir();
    profile
        .ancestors()
        .find(|d| d.join("CACHEDIR.TAG").exists())
        .unwrap_or_else(|| profile.parent().expect("profile dir has a parent"))
        .to_path_buf()
}

fn build_examples_once() {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let profile = profile_dir();
        let name = profile
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug")
            .to_string();
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
        let mut cmd = Command::new(cargo);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["build", "--examples", "--lib"]);
        match name.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        // `cargo test --test NAME` does not build examples, and cargo releases its build lock
        // before running tests, so building here keeps the examples fresh.
        let Ok(status) = cmd.status() else {
            return; // No cargo (test binary run by hand): use what is there.
        };
        assert!(
            status.success(),
            "harness error: `cargo build --examples --lib` failed; run `make test-prereqs` (or \
             build the examples by hand with the same profile) and rerun the tests"
        );
    });
}

fn built_artifact(rel: &str) -> PathBuf {
    let path = profile_dir().join(rel);
    build_examples_once();
    assert!(
        path.exists(),
        "harness error: {} is missing; run `make test-prereqs` (or `cargo build --examples \
         --lib` with the same profile as the tests)",
        path.display()
    );
    path
}

/// The driver binary, `target/<profile>/examples/pam_driver`.
pub fn driver() -> PathBuf {
    built_artifact("examples/pam_driver")
}

/// The test module `pam_set_authtok.so` (see `tests/support/pam_set_authtok.rs`).
pub fn set_authtok_module() -> PathBuf {
    built_artifact("examples/libpam_set_authtok.so")
}

/// The test module `pam_panics.so`, whose authenticate hook panics inside the module's panic
/// boundary (see `tests/support/pam_panics.rs`).
pub fn panics_module() -> PathBuf {
    built_artifact("examples/libpam_panics.so")
}

/// This package's module, `target/<profile>/libpam_google_authenticator.so`.
pub fn our_module() -> PathBuf {
    built_artifact("libpam_google_authenticator.so")
}

/// Debian's `pam_google_authenticator.so` (package `libpam-google-authenticator`), the
/// reference implementation. Downloaded once with `apt-get download` and unpacked with
/// `dpkg -x` under `target/reference/` (never installed). `GA_REFERENCE_MODULE` overrides.
pub fn reference_module() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(fetch_reference_module).clone()
}

const REFERENCE_REL: &str = "root/lib/x86_64-linux-gnu/security/pam_google_authenticator.so";

fn find_file(dir: &Path, name: &str) -> Option<PathBuf> {
    for entry in std::fs::read_dir(dir).ok()?.flatten() {
        let p = entry.path();
        if p.is_dir() {
            if let Some(found) = find_file(&p, name) {
                return Some(found);
            }
        } else if p.file_name().is_some_and(|n| n == name) {
            return Some(p);
        }
    }
    None
}

fn fetch_reference_module() -> PathBuf {
    if let Some(p) = std::env::var_os("GA_REFERENCE_MODULE") {
        let p = PathBuf::from(p);
        assert!(
            p.exists(),
            "GA_REFERENCE_MODULE={} does not exist",
            p.display()
        );
        return p;
    }
    let root = unpacked_debian_package("libpam-google-authenticator", "reference");
    let found = root.join(REFERENCE_REL.trim_start_matches("root/"));
    if found.exists() {
        return found;
    }
    find_file(&root, "pam_google_authenticator.so")
        .unwrap_or_else(|| panic!("{} has no pam_google_authenticator.so", root.display()))
}

/// Runs fail2ban-regex from Debian's fail2ban package (unpacked under target/, never
/// installed) on `log` with `filter`, reading filters from `config` (by default the
/// package's own `/etc/fail2ban`); gives its report. Panics with a harness error when it
/// cannot run.
pub fn fail2ban_regex(log: &Path, filter: &str, config: Option<&Path>, extra: &[&str]) -> String {
    let f2b = unpacked_debian_package("fail2ban", "fail2ban");
    let config = config.map_or_else(|| f2b.join("etc/fail2ban"), Path::to_path_buf);
    let out = Command::new("python3")
        .arg(f2b.join("usr/bin/fail2ban-regex"))
        .arg("--config")
        .arg(&config)
        .args(extra)
        .arg(log)
        .arg(filter)
        .env("PYTHONPATH", f2b.join("usr/lib/python3/dist-packages"))
        .output()
        .expect("harness error: python3 fail2ban-regex");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "harness error: fail2ban-regex failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text
}

/// Debian's package `name`, downloaded once with `apt-get download` and unpacked with
/// `dpkg -x` into `target/<cache>/root` (never installed, so no service starts); gives that
/// directory.
pub fn unpacked_debian_package(name: &str, cache: &str) -> PathBuf {
    let cache = target_dir().join(cache);
    let root = cache.join("root");
    if root.join("VERSION").exists() {
        return root;
    }
    let how = format!(
        "Debian's package {name} is needed by these tests: run `make test-prereqs` (after \
         `apt-get update`; network access to Debian's archive is needed), which runs `apt-get \
         download {name}` and `dpkg -x` into {} (nothing is installed)",
        cache.display()
    );
    std::fs::create_dir_all(&cache).expect("create the package cache");
    let work = cache.join(format!("download.{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&work);
    std::fs::create_dir_all(&work).expect("create download dir");
    let out = Command::new("apt-get")
        .args(["download", name])
        .current_dir(&work)
        .output()
        .unwrap_or_else(|e| panic!("harness error: cannot run apt-get ({e}). {how}"));
    let deb = std::fs::read_dir(&work)
        .ok()
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|x| x == "deb"));
    let Some(deb) = deb else {
        panic!(
            "harness error: apt-get download {name} failed: {}{}\n{how}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let unpacked = work.join("root");
    let status = Command::new("dpkg")
        .arg("-x")
        .arg(&deb)
        .arg(&unpacked)
        .status()
        .unwrap_or_else(|e| panic!("harness error: cannot run dpkg ({e}). {how}"));
    assert!(
        status.success(),
        "harness error: dpkg -x {} failed. {how}",
        deb.display()
    );
    let version = Command::new("dpkg-deb")
        .args(["-f"])
        .arg(&deb)
        .arg("Version")
        .output()
        .map(|v| v.stdout)
        .unwrap_or_default();
    let _ = std::fs::write(unpacked.join("VERSION"), version);
    // Another test process may have won the race; either copy is fine.
    if std::fs::rename(&unpacked, &root).is_err() && !root.exists() {
        panic!(
            "harness error: cannot move {} to {}",
            unpacked.display(),
            root.display()
        );
    }
    let _ = std::fs::remove_dir_all(&work);
    root
}

/// `libfaketime.so.1`: `GA_LIBFAKETIME`, else `dpkg -L libfaketime`, else the usual paths.
pub fn libfaketime() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("GA_LIBFAKETIME") {
            return PathBuf::from(p);
        }
        if let Ok(out) = Command::new("dpkg").args(["-L", "libfaketime"]).output() {
            let text = String::from_utf8_lossy(&out.stdout);
            if let Some(line) = text
                .lines()
                .find(|l| l.ends_with("/libfaketime.so.1") && Path::new(l).exists())
            {
                return PathBuf::from(line);
            }
        }
        let mut candidates = vec![
            PathBuf::from("/usr/local/lib/faketime/libfaketime.so.1"),
            PathBuf::from("/usr/lib/faketime/libfaketime.so.1"),
        ];
        if let Ok(dir) = std::fs::read_dir("/usr/lib") {
            for e in dir.flatten() {
                candidates.push(e.path().join("faketime/libfaketime.so.1"));
            }
        }
        candidates
            .into_iter()
            .find(|p| p.exists())
            .unwrap_or_else(|| {
                panic!(
                    "harness error: libfaketime.so.1 not found; install it with `make deps` \
                     (or `apt-get install libfaketime`), or set GA_LIBFAKETIME"
                )
            })
    })
    .clone()
}

/// Sets the environment that makes libfaketime (preloaded by the caller) freeze the clock
/// of `cmd` and its children at `t` (Unix seconds): no cache, real monotonic clocks, real
/// file times, and no shared memory of libfaketime's own. Keep the returned value until
/// the command and its children have exited.
pub fn freeze_clock(cmd: &mut Command, t: i64) -> FaketimeShared {
    let shared = FaketimeShared::new();
    cmd.env("FAKETIME_FMT", "%s")
        .env("FAKETIME", t.to_string())
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("NO_FAKE_STAT", "1")
        .env("FAKETIME_DISABLE_SHM", "1")
        .env("FAKETIME_SHARED", shared.env_value());
    shared
}

/// The semaphore and shared-memory object libfaketime uses, made and removed by the harness.
///
/// Left alone, libfaketime creates `/dev/shm/faketime_shm_<pid>` and
/// `/dev/shm/sem.faketime_sem_<pid>` in every process it is preloaded into, and leaves them
/// behind when the process dies (killed, or ending without its exit handlers, as `dash`
/// does). A later driver that gets the same pid then dies with `shm_open failed: File
/// exists`. `FAKETIME_DISABLE_SHM=1` stops this from libfaketime 0.9.11 on; older versions
/// (Debian 12 has 0.9.10) ignore it, but take a pair that already exists from
/// `FAKETIME_SHARED` instead of creating their own. So each run gets a pair of its own,
/// named after this process and a counter (never a driver's pid), initialised as
/// libfaketime initialises it, and unlinked when this value is dropped.
#[derive(Debug)]
pub struct FaketimeShared {
    sem: std::ffi::CString,
    shm: std::ffi::CString,
}

/// The size libfaketime maps: `struct ft_shared_s` (two counters and four timespecs) fits.
const FT_SHARED_SIZE: usize = 4096;

impl FaketimeShared {
    /// Creates a fresh pair (an existing one of the same name, left by a killed earlier
    /// process with this pid, is replaced).
    pub fn new() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = format!("ga-test-faketime-{}-{n}", std::process::id());
        let this = Self {
            sem: std::ffi::CString::new(format!("/{base}-sem")).expect("no NUL"),
            shm: std::ffi::CString::new(format!("/{base}-shm")).expect("no NUL"),
        };
        this.unlink();
        // SAFETY: the name is a valid C string; with O_CREAT, sem_open takes the mode and
        // the initial value as two further (unsigned int) arguments.
        let sem = unsafe {
            libc::sem_open(
                this.sem.as_ptr(),
                libc::O_CREAT | libc::O_EXCL,
                0o600 as libc::c_uint,
                1 as libc::c_uint,
            )
        };
        assert!(
            sem != libc::SEM_FAILED,
            "harness error: sem_open {:?}: {}",
            this.sem,
            std::io::Error::last_os_error()
        );
        // SAFETY: `sem` is the semaphore sem_open just returned; it is not used afterwards.
        unsafe { libc::sem_close(sem) };
        // SAFETY: the name is a valid C string.
        let fd = unsafe {
            libc::shm_open(
                this.shm.as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_RDWR,
                0o600,
            )
        };
        assert!(
            fd >= 0,
            "harness error: shm_open {:?}: {}",
            this.shm,
            std::io::Error::last_os_error()
        );
        // SAFETY: shm_open returned a new descriptor that nothing else owns.
        let mut file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        // ticks = 0, file_idx = 0, then the start times (real, monotonic, raw, boot) with
        // tv_nsec = -1, which tells libfaketime that no start time is set yet.
        let mut init = vec![0u8; 16];
        for _ in 0..4 {
            init.extend_from_slice(&0i64.to_ne_bytes());
            init.extend_from_slice(&(-1i64).to_ne_bytes());
        }
        init.resize(FT_SHARED_SIZE, 0);
        file.write_all(&init)
            .unwrap_or_else(|e| panic!("harness error: initialise {:?}: {e}", this.shm));
        this
    }

    /// The value of `FAKETIME_SHARED`: the semaphore's and the object's names.
    pub fn env_value(&self) -> String {
        format!(
            "{} {}",
            self.sem.to_string_lossy(),
            self.shm.to_string_lossy()
        )
    }

    fn unlink(&self) {
        // SAFETY: both names are valid C strings; a missing name is not an error here.
        unsafe {
            libc::sem_unlink(self.sem.as_ptr());
            libc::shm_unlink(self.shm.as_ptr());
        }
    }
}

impl Drop for FaketimeShared {
    fn drop(&mut self) {
        self.unlink();
    }
}

/// The syslog capture library, compiled once from `tests/support/syslog_capture.c` into
/// `target/<profile>/syslog_capture.so` with `cc -shared -fPIC`.
pub fn syslog_capture_lib() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/syslog_capture.c");
        let out = profile_dir().join("syslog_capture.so");
        let fresh = match (std::fs::metadata(&src), std::fs::metadata(&out)) {
            (Ok(s), Ok(o)) => o.modified().ok() >= s.modified().ok(),
            _ => false,
        };
        if !fresh {
            let tmp = profile_dir().join(format!("syslog_capture.so.{}", std::process::id()));
            let status = Command::new(std::env::var_os("CC").unwrap_or_else(|| "cc".into()))
                .args(["-shared", "-fPIC", "-O2", "-Wall", "-o"])
                .arg(&tmp)
                .arg(&src)
                .arg("-ldl")
                .status()
                .unwrap_or_else(|e| {
                    panic!(
                        "harness error: cannot run cc ({e}); install gcc, run `make test-prereqs`"
                    )
                });
            assert!(
                status.success(),
                "harness error: compiling {} failed; run `make test-prereqs`",
                src.display()
            );
            std::fs::rename(&tmp, &out).expect("install syslog_capture.so");
        }
        out
    })
    .clone()
}

/// The C host of the hygiene and memory tests, compiled once from
/// `tests/support/pam_host.c` into `target/<profile>/pam_host` with `cc -lpam`.
pub fn pam_host() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/pam_host.c");
        let out = profile_dir().join("pam_host");
        let fresh = match (std::fs::metadata(&src), std::fs::metadata(&out)) {
            (Ok(s), Ok(o)) => o.modified().ok() >= s.modified().ok(),
            _ => false,
        };
        if !fresh {
            let tmp = profile_dir().join(format!("pam_host.{}", std::process::id()));
            let status = Command::new(std::env::var_os("CC").unwrap_or_else(|| "cc".into()))
                .args(["-O2", "-g", "-Wall", "-Wextra", "-Werror", "-pthread", "-o"])
                .arg(&tmp)
                .arg(&src)
                .arg("-lpam")
                .status()
                .unwrap_or_else(|e| panic!("harness error: cannot run cc ({e}); install gcc"));
            assert!(
                status.success(),
                "harness error: compiling {} failed (needs gcc and libpam0g-dev); run `make \
                 test-prereqs`",
                src.display()
            );
            std::fs::rename(&tmp, &out).expect("install pam_host");
        }
        out
    })
    .clone()
}

// ---------------------------------------------------------------------------------------
// Users and secret files
// ---------------------------------------------------------------------------------------

/// The user name and uid of the running process (not `$USER`, which may be unset).
pub fn current_user() -> (String, u32) {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    let mut buf = vec![0 as libc::c_char; 16384];
    // SAFETY: an all-zero passwd is a valid value for the out-parameter.
    let mut pw: libc::passwd = unsafe { std::mem::zeroed() };
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: all pointers are valid for the duration of the call; buf.len() is its size.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pw, buf.as_mut_ptr(), buf.len(), &mut result) };
    assert!(
        rc == 0 && !result.is_null(),
        "no passwd entry for uid {uid}"
    );
    // SAFETY: on success pw_name points to a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pw.pw_name) }
        .to_string_lossy()
        .into_owned();
    (name, uid)
}

/// Writes a secret file with `mode` (owned by the running user) and returns its path.
pub fn write_secret(dir: &Path, name: &str, bytes: &[u8], mode: u32) -> PathBuf {
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    std::fs::write(&path, bytes).expect("write secret file");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    path
}

// ---------------------------------------------------------------------------------------
// PAM service files
// ---------------------------------------------------------------------------------------

/// The module under test (with the IGNORE probe, see [`Stack::probe`]) given `args`.
pub fn stack(args: &[&str]) -> Stack {
    Stack::new().probe(our_module(), args)
}

/// The module argument `secret=<path>`.
pub fn secret_arg(path: &Path) -> String {
    format!("secret={}", path.display())
}

/// Formats one module argument in PAM's syntax: arguments with spaces (or starting with
/// `[`) are written as `[...]` with `]` escaped as `\]`.
pub fn pam_arg(arg: &str) -> String {
    if arg.contains(char::is_whitespace) || arg.starts_with('[') {
        format!("[{}]", arg.replace(']', "\\]"))
    } else {
        arg.to_string()
    }
}

/// The lines of a PAM service file.
#[derive(Clone, Debug, Default)]
pub struct Stack {
    pub lines: Vec<String>,
}

impl Stack {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `<kind> <control> <module> <args...>`; `module` should be an absolute path or a
    /// system module name such as `pam_permit.so`.
    pub fn line(
        mut self,
        kind: &str,
        control: &str,
        module: impl AsRef<Path>,
        args: &[&str],
    ) -> Self {
        let mut l = format!("{kind} {control} {}", module.as_ref().display());
        for a in args {
            l.push(' ');
            l.push_str(&pam_arg(a));
        }
        self.lines.push(l);
        self
    }

    pub fn auth(self, control: &str, module: impl AsRef<Path>, args: &[&str]) -> Self {
        self.line("auth", control, module, args)
    }

    pub fn account(self, control: &str, module: impl AsRef<Path>, args: &[&str]) -> Self {
        self.line("account", control, module, args)
    }

    /// Adds the module under test as `required`, followed by marker lines that record in
    /// the PAM environment whether it returned PAM_IGNORE (libpam turns an all-ignore stack
    /// into PAM_PERM_DENIED, so PAM_IGNORE is otherwise invisible to an application). Read
    /// the module's own return value with [`Outcome::module_result`].
    pub fn probe(self, module: impl AsRef<Path>, args: &[&str]) -> Self {
        let marker = set_authtok_module();
        self.auth(
            "[success=ok new_authtok_reqd=ok ignore=1 default=bad]",
            module,
            args,
        )
        .auth("[default=1]", &marker, &["mark=returned"])
        .auth("optional", &marker, &["mark=ignored"])
    }

    /// Adds a line that publishes PAM_AUTHTOK for the driver (`authtok` output line).
    pub fn report_authtok(self) -> Self {
        let m = set_authtok_module();
        self.auth("optional", m, &["report"])
    }

    pub fn text(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }
}

// ---------------------------------------------------------------------------------------
// Running the driver
// ---------------------------------------------------------------------------------------

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

/// The first words of the lines `pam_driver` prints (see `examples/pam_driver.rs`); any
/// other line means the output was not understood.
const DRIVER_WORDS: &[&str] = &[
    "conv_call",
    "prompt",
    "error",
    "info",
    "other",
    "conv_exhausted",
    "result",
    "authtok",
    "mark",
    "acct",
    "setcred",
    "open_session",
    "close_session",
    "chauthtok",
    "clock",
    "waiting",
    "end",
    // --show-fsid, --show-time and --pause-at-prompt.
    "conv_fsid",
    "elapsed_ns",
    "paused",
];

impl Outcome {
    /// Why this run says nothing about the modules, if it does not: the driver was killed
    /// or exited with a failure status (a failing `pam_start` among them), libfaketime or
    /// the dynamic loader complained on stderr, pam_set_item failed, the driver printed a
    /// line the harness does not understand, or it never got to pam_authenticate's result
    /// and the end of the sequence.
    pub fn harness_error(&self) -> Option<String> {
        if let Some(line) = self
            .stderr
            .lines()
            .find(|l| l.contains("libfaketime") || l.contains("ld.so"))
        {
            return Some(format!("the driver's stderr says: {line}"));
        }
        match self.exit_code {
            None => return Some("pam_driver was killed by a signal".into()),
            Some(0) => {}
            Some(c) => return Some(format!("pam_driver exited with status {c}")),
        }
        for event in &self.events {
            if let Event::Other(line) = event {
                let word = line.split(' ').next().unwrap_or_default();
                if word == "set_item" {
                    return Some(format!("pam_set_item failed: {line}"));
                }
                if !DRIVER_WORDS.contains(&word) {
                    return Some(format!("unparseable driver output: {line:?}"));
                }
            }
        }
        if self.result_name.is_empty() || self.result < 0 {
            return Some("pam_driver printed no pam_authenticate result".into());
        }
        if !self.ended {
            return Some("pam_driver did not finish the PAM sequence (no `end` line)".into());
        }
        None
    }

    /// The outcome, or the harness error it shows.
    pub fn checked(self) -> Result<Outcome, HarnessError> {
        match self.harness_error() {
            None => Ok(self),
            Some(what) => Err(HarnessError {
                what,
                transcript: self.transcript(),
            }),
        }
    }

    /// The outcome; panics with "harness error: ..." if it shows one.
    #[track_caller]
    pub fn unwrap_checked(self) -> Outcome {
        self.checked().unwrap_or_else(|e| panic!("{e}"))
    }
}

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

/// One event of the transcript.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    ConvCall(usize),
    Prompt(EchoStyle, Vec<u8>),
    Error(Vec<u8>),
    Info(Vec<u8>),
    Other(String),
}

/// What one PAM sequence did.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    /// pam_authenticate's return value (`-1` if the driver printed none).
    pub result: i32,
    pub result_name: String,
    pub events: Vec<Event>,
    pub prompts: Vec<(EchoStyle, String)>,
    pub errors: Vec<String>,
    pub infos: Vec<String>,
    pub conv_calls: usize,
    pub authtok: Option<String>,
    pub authtok_bytes: Option<Vec<u8>>,
    /// `PAM_TEST_MARK` (see [`Stack::probe`]).
    pub mark: Option<String>,
    pub acct: Option<i32>,
    /// With `show_clock`: (time(), clock_gettime(CLOCK_REALTIME) as "sec.nsec").
    pub clock: Option<(i64, String)>,
    pub ended: bool,
    pub thread: Option<usize>,
    pub exit_code: Option<i32>,
    /// Lines of the syslog capture (format: see `syslog_capture.c`).
    pub syslog: Vec<String>,
    pub stdout: String,
    pub stderr: String,
    pub service_text: String,
    pub command_line: String,
}

/// Undoes the driver's quoting (see `examples/pam_driver.rs`).
pub fn unquote(s: &str) -> Vec<u8> {
    let b = s.trim().as_bytes();
    let b = b.strip_prefix(b"\"").unwrap_or(b);
    let b = b.strip_suffix(b"\"").unwrap_or(b);
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\' && i + 1 < b.len() {
            match b[i + 1] {
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'x' if i + 3 < b.len() => {
                    let h = std::str::from_utf8(&b[i + 2..i + 4]).unwrap_or("3f");
                    out.push(u8::from_str_radix(h, 16).unwrap_or(b'?'));
                    i += 4;
                    continue;
                }
                other => out.push(other),
            }
            i += 2;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    out
}

fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

impl Outcome {
    fn parse(lines: &[String]) -> Self {
        let mut o = Outcome {
            result: -1,
            ..Outcome::default()
        };
        for line in lines {
            let (word, rest) = line.split_once(' ').unwrap_or((line.as_str(), ""));
            match word {
                "conv_call" => {
                    o.conv_calls += 1;
                    o.events.push(Event::ConvCall(o.conv_calls));
                }
                "prompt" => {
                    let (style, text) = rest.split_once(' ').unwrap_or((rest, ""));
                    let style = if style == "echo_on" {
                        EchoStyle::EchoOn
                    } else {
                        EchoStyle::EchoOff
                    };
                    let text = unquote(text);
                    o.prompts.push((style, lossy(&text)));
                    o.events.push(Event::Prompt(style, text));
                }
                "error" => {
                    let t = unquote(rest);
                    o.errors.push(lossy(&t));
                    o.events.push(Event::Error(t));
                }
                "info" => {
                    let t = unquote(rest);
                    o.infos.push(lossy(&t));
                    o.events.push(Event::Info(t));
                }
                "result" => {
                    let mut it = rest.split(' ');
                    o.result_name = it.next().unwrap_or_default().to_string();
                    o.result = it.next().and_then(|n| n.parse().ok()).unwrap_or(-1);
                }
                "authtok" => {
                    let t = unquote(rest);
                    o.authtok = Some(lossy(&t));
                    o.authtok_bytes = Some(t);
                }
                "mark" => o.mark = Some(lossy(&unquote(rest))),
                "acct" => o.acct = rest.split(' ').nth(1).and_then(|n| n.parse().ok()),
                "end" => o.ended = true,
                "waiting" => {}
                "clock" => {
                    let mut it = rest.split(' ');
                    let t = it.next().and_then(|n| n.parse().ok()).unwrap_or(-1);
                    o.clock = Some((t, it.next().unwrap_or_default().to_string()));
                }
                _ => o.events.push(Event::Other(line.clone())),
            }
        }
        o
    }

    /// The return value of the module added with [`Stack::probe`]: PAM_IGNORE when the
    /// marker says so, else pam_authenticate's result.
    pub fn module_result(&self) -> i32 {
        if self.mark.as_deref() == Some("ignored") {
            code::IGNORE
        } else {
            self.result
        }
    }

    /// Syslog messages (the last field of each captured line).
    pub fn syslog_messages(&self) -> Vec<String> {
        self.syslog
            .iter()
            .map(|l| l.splitn(4, '\t').nth(3).unwrap_or("").to_string())
            .collect()
    }

    pub fn syslog_contains(&self, needle: &str) -> bool {
        self.syslog.iter().any(|l| l.contains(needle))
    }

    /// Everything about the run, for failure messages.
    pub fn transcript(&self) -> String {
        format!(
            "--- command\n{}\n--- service file\n{}--- stdout{}\n{}--- stderr\n{}--- syslog\n{}\n---",
            self.command_line,
            self.service_text,
            self.thread
                .map(|t| format!(" (thread {t})"))
                .unwrap_or_default(),
            self.stdout,
            self.stderr,
            self.syslog.join("\n")
        )
    }

    /// Asserts pam_authenticate's result, printing the transcript on failure.
    #[track_caller]
    pub fn assert_result(&self, expected: i32) {
        assert_eq!(
            self.result,
            expected,
            "unexpected PAM result\n{}",
            self.transcript()
        );
    }

    /// Asserts a condition, printing the transcript on failure.
    #[track_caller]
    pub fn check(&self, ok: bool, what: &str) {
        assert!(ok, "{what}\n{}", self.transcript());
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

// ---------------------------------------------------------------------------------------
// Module log lines, file snapshots, timed runs with extra driver arguments
// ---------------------------------------------------------------------------------------

impl Outcome {
    /// The messages the module under test logged through `pam_syslog`, without libpam's
    /// `<module>(<service>:<type>): ` prefix (libpam's own lines are left out).
    pub fn module_log(&self) -> Vec<String> {
        self.syslog_messages()
            .into_iter()
            .filter(|m| m.contains("google_authenticator("))
            .filter_map(|m| m.split_once("): ").map(|(_, text)| text.to_string()))
            .collect()
    }

    /// How many module log lines are exactly `text`.
    pub fn log_count(&self, text: &str) -> usize {
        self.module_log().iter().filter(|m| *m == text).count()
    }
}

/// What a test checks about a file (or symlink, FIFO, device) to tell whether it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileState {
    /// The contents, for regular files (`None` otherwise).
    pub bytes: Option<Vec<u8>>,
    pub ino: u64,
    /// `st_mode` including the file type bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime_ns: i128,
}

/// The state of `path` itself (a symlink is not followed).
pub fn file_state(path: &Path) -> FileState {
    use std::os::unix::fs::MetadataExt;
    let m =
        std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
    FileState {
        bytes: m
            .file_type()
            .is_file()
            .then(|| std::fs::read(path).expect("read file")),
        ino: m.ino(),
        mode: m.mode(),
        uid: m.uid(),
        gid: m.gid(),
        mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    }
}

/// Names in `dir` that contain `~` (temporary files of a rewrite).
pub fn temp_leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains('~'))
                .collect()
        })
        .unwrap_or_default()
}

impl PamRun {
    /// Runs the driver once with `extra` arguments appended (driver options the builder has
    /// no field for, such as `--setcred` or `--answer-file`) and, when `cwd` is given, in
    /// that working directory. Returns the outcome and the wall time of the driver process
    /// (start-up included; building and locating the binaries is not).
    pub fn run_with(
        &self,
        extra: &[&std::ffi::OsStr],
        cwd: Option<&Path>,
    ) -> (Outcome, std::time::Duration) {
        let p = self.prepare(false);
        Self::run_prepared(p, extra, cwd)
    }

    /// Like [`Self::run_with`] without extras, for a module that switches its file system
    /// uid to another user: the syslog capture file is made writable for every user first,
    /// or the lines logged under the other uid would be lost.
    pub fn run_as_other_user(&self) -> (Outcome, std::time::Duration) {
        let p = self.prepare(false);
        std::fs::set_permissions(p.dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod capture dir");
        std::fs::write(&p.syslog, b"").expect("create capture file");
        std::fs::set_permissions(&p.syslog, std::fs::Permissions::from_mode(0o666))
            .expect("chmod capture file");
        Self::run_prepared(p, &[], None)
    }

    fn run_prepared(
        mut p: Prepared,
        extra: &[&std::ffi::OsStr],
        cwd: Option<&Path>,
    ) -> (Outcome, std::time::Duration) {
        p.cmd.args(extra);
        if let Some(dir) = cwd {
            p.cmd.current_dir(dir);
        }
        let start = std::time::Instant::now();
        let out = p
            .cmd
            .output()
            .expect("harness error: cannot spawn pam_driver");
        let took = start.elapsed();
        let mut outcomes = p.finish(&out);
        assert_eq!(
            outcomes.len(),
            1,
            "harness error: expected one sequence:\n{}",
            outcomes[0].transcript()
        );
        (outcomes.remove(0).unwrap_checked(), took)
    }
}

// ---------------------------------------------------------------------------------------
// PAM inside the calling process
// ---------------------------------------------------------------------------------------

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

/// Calls libpam from the calling process instead of through the driver: for the benchmark,
/// and for threads of one process that each type their own answer. No libfaketime here, so
/// modules see the real clock, and syslog is not captured.
pub mod pam_client;

pub mod in_process {
    use std::ffi::CString;

    use super::pam_client::authenticate_once;
    use super::{Stack, current_user};

    /// What one `pam_authenticate` returned.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct Attempt {
        pub result: i32,
        pub prompts: usize,
    }

    /// A PAM service (a `pam.d` directory in a temp dir) for the current user.
    pub struct Service {
        _dir: tempfile::TempDir,
        confdir: CString,
        user: CString,
    }

    /// The service name used for [`Service`].
    const SERVICE: &std::ffi::CStr = c"ga-test";

    impl Service {
        /// Writes `stack` as the service file.
        pub fn new(stack: &Stack) -> Self {
            let dir = tempfile::tempdir().expect("tempdir");
            let confdir = dir.path().join("pam.d");
            std::fs::create_dir(&confdir).expect("mkdir pam.d");
            std::fs::write(confdir.join("ga-test"), stack.text()).expect("write service");
            std::fs::write(confdir.join("other"), "auth required pam_deny.so\n")
                .expect("write other");
            let confdir = CString::new(confdir.into_os_string().into_encoded_bytes())
                .expect("no NUL in a temp path");
            let user = CString::new(current_user().0).expect("no NUL in a user name");
            Self {
                _dir: dir,
                confdir,
                user,
            }
        }

        /// One pam_start / pam_authenticate / pam_end, answering every prompt with `answer`.
        /// Safe to call from many threads at once.
        pub fn authenticate(&self, answer: &str) -> Attempt {
            let login = authenticate_once(&self.confdir, SERVICE, &self.user, answer)
                .expect("pam_start_confdir failed");
            Attempt {
                result: login.result,
                prompts: login.prompts.len(),
            }
        }
    }
}
