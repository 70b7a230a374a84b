//! Locations of the binaries: the driver, the modules under test, Debian's packages
//! unpacked under target/, and the C helpers compiled once.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

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

/// Debian's setup command, `/usr/bin/google-authenticator` of the same package as
/// [`reference_module`], unpacked under `target/reference/` (never installed).
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
