//! Locations of the binaries: the driver, the modules under test, Debian's packages
//! unpacked under target/, and the C helpers. `make test-prereqs` makes all of them before
//! the tests; the functions here only find them and check that they are up to date, and
//! fail with a harness error that says so when one is not.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock, PoisonError};

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

/// What to run when something the tests need was not made before them.
const PREREQS: &str = "run `make test-prereqs` (for a release build: `make test-prereqs \
                       TEST_PROFILE=release`), which makes everything the tests need";

/// `target/<profile>/<rel>`, checked (once per test process) to be there and up to date:
/// no file that cargo's dep-info beside it (`<name>.d`) lists is newer. Nothing is built
/// here: a missing or stale artifact is a harness error that says how to make it.
fn built_artifact(rel: &str) -> PathBuf {
    static CHECKED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    let path = profile_dir().join(rel);
    let mut checked = CHECKED.lock().unwrap_or_else(PoisonError::into_inner);
    if !checked.contains(&path) {
        check_fresh(&path);
        checked.push(path.clone());
    }
    path
}

fn check_fresh(path: &Path) {
    let built = modified(path)
        .unwrap_or_else(|| panic!("harness error: {} is missing; {PREREQS}", path.display()));
    let dep_info = path.with_extension("d");
    let deps = std::fs::read_to_string(&dep_info).unwrap_or_else(|e| {
        panic!(
            "harness error: cannot read {} ({e}); {PREREQS}",
            dep_info.display()
        )
    });
    if let Some(newer) = dep_info_sources(&deps)
        .into_iter()
        .find(|source| modified(source).is_some_and(|m| m > built))
    {
        panic!(
            "harness error: {} is older than {}; {PREREQS}",
            path.display(),
            newer.display()
        );
    }
}

/// The sources of the first rule of a dep-info file (`target: source source ...`, a space
/// in a name escaped with a backslash).
pub fn dep_info_sources(text: &str) -> Vec<PathBuf> {
    let rule = text.lines().next().unwrap_or_default();
    let Some((_, sources)) = rule.split_once(": ") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    let mut name = String::new();
    let mut chars = sources.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => name.extend(chars.next()),
            ' ' => out.extend((!name.is_empty()).then(|| PathBuf::from(std::mem::take(&mut name)))),
            c => name.push(c),
        }
    }
    out.extend((!name.is_empty()).then(|| PathBuf::from(name)));
    out
}

fn modified(path: &Path) -> Option<std::time::SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
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
/// reference implementation, as `make test-prereqs` unpacked it with `apt-get download` and
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

/// Debian's setup command, `/usr/bin/google-authenticator` of the package
/// `make test-prereqs` unpacked under `target/reference/` (never installed;
/// `GA_REFERENCE_MODULE` does not change it).
pub fn reference_command() -> PathBuf {
    let root = unpacked_debian_package("libpam-google-authenticator", "reference");
    let command = root.join("usr/bin/google-authenticator");
    assert!(
        command.exists(),
        "harness error: {} has no usr/bin/google-authenticator",
        root.display()
    );
    command
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

/// Debian's package `name` as `make test-prereqs` unpacked it (`apt-get download`, then
/// `dpkg -x` into `target/<cache>/root`, never installed, so no service starts); gives that
/// directory.
pub fn unpacked_debian_package(name: &str, cache: &str) -> PathBuf {
    let cache = target_dir().join(cache);
    let root = cache.join("root");
    if root.join("VERSION").exists() {
        return root;
    }
    panic!(
        "harness error: Debian's package {name} is needed by these tests and is not unpacked \
         in {}; {PREREQS} (it runs `apt-get download {name}` and `dpkg -x`; nothing is \
         installed)",
        cache.display()
    );
}

/// The syslog capture library, `target/<profile>/syslog_capture.so`, compiled from
/// `tests/support/syslog_capture.c` by `make test-prereqs`.
pub fn syslog_capture_lib() -> PathBuf {
    compiled_helper("syslog_capture.c", "syslog_capture.so")
}

/// The C host of the hygiene and memory tests, `target/<profile>/pam_host`, compiled from
/// `tests/support/pam_host.c` by `make test-prereqs`.
pub fn pam_host() -> PathBuf {
    compiled_helper("pam_host.c", "pam_host")
}

/// `target/<profile>/<name>`, checked to be there and newer than `tests/support/<source>`.
fn compiled_helper(source: &str, name: &str) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/support")
        .join(source);
    let out = profile_dir().join(name);
    match (modified(&src), modified(&out)) {
        (Some(s), Some(o)) if o >= s => out,
        (_, None) => panic!("harness error: {} is missing; {PREREQS}", out.display()),
        _ => panic!(
            "harness error: {} is older than {}; {PREREQS}",
            out.display(),
            src.display()
        ),
    }
}
