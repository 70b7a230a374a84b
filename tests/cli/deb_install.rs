//! Root tier: the Debian package built by `make deb` installs over Debian's
//! `libpam-google-authenticator`, replaces its module and command in place, and a login
//! through `pamtester` with a stack that names the module as `pam_google_authenticator.so`
//! works. Swapping packages (ours over Debian's, ours to a newer build of ours, back to
//! Debian's) with the commands of docs/MIGRATION.md fails no login made every 10 ms.
//! These tests change the system's packages: they put them back as they were afterwards
//! (ours purged, Debian's installed only if it was before).
//! Run with `cargo test --test cli -- --ignored deb_install::` as root.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use crate::support::system::{
    DEBIAN_PACKAGE as DEBIAN, apt_get_install, package_installed, packaged_module_path,
    packages_lock, require_root, sh,
};
use pam_google_authenticator::core::base32;
use pam_google_authenticator::core::otp::OtpKey;
use pam_google_authenticator::os::clock;

const OURS: &str = "pam-google-authenticator-rs";

fn owner_of(path: &str) -> String {
    String::from_utf8_lossy(&sh(&format!("dpkg -S {path}")).stdout)
        .trim()
        .to_string()
}

/// Puts the system back as it was: no diversion of the module left, our package purged,
/// Debian's installed only if it was before.
struct Restore {
    debian_was_installed: bool,
    service: PathBuf,
}

impl Restore {
    fn new(service: &str) -> Restore {
        require_root("installs and removes packages");
        Restore {
            debian_was_installed: package_installed(DEBIAN),
            service: PathBuf::from(format!("/etc/pam.d/{service}-{}", std::process::id())),
        }
    }

    fn service_name(&self) -> String {
        self.service
            .file_name()
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }
}

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.service);
        let module = packaged_module_path();
        sh(&format!(
            "if dpkg-divert --list {module} | grep -q 'local diversion'; then \
               [ -e {module}.swap ] && mv -f {module}.swap {module}; \
               dpkg-divert --local --no-rename --remove {module}; fi"
        ));
        sh(&format!("dpkg -P {OURS}"));
        if self.debian_was_installed {
            sh(&format!(
                "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {DEBIAN}"
            ));
        } else {
            sh(&format!("dpkg -P {DEBIAN}"));
        }
    }
}

/// Builds the package with `make deb` (which checks it, lintian included) and returns its
/// path; with `version`, also a second package of the same files with that version.
fn build_packages(newer: Option<&str>) -> (String, Option<String>) {
    let manifest = env!("CARGO_MANIFEST_DIR");
    assert!(
        sh(&format!("make -C {manifest} deb")).status.success(),
        "make deb"
    );
    let deb = |env: &str| {
        let out = sh(&format!("{env} sh {manifest}/scripts/build-deb.sh"));
        assert!(out.status.success(), "scripts/build-deb.sh");
        let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
        format!("{manifest}/{path}")
    };
    (deb(""), newer.map(|v| deb(&format!("DEB_VERSION={v}"))))
}

fn version_of(package: &str) -> String {
    let out = sh(&format!("dpkg-query -W -f='${{Version}}' {package}"));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn pamtester(service: &str, answer: &str) -> bool {
    let mut child = Command::new("pamtester")
        .args([service, "root", "authenticate"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("pamtester is installed (make deps)");
    let _ = writeln!(child.stdin.take().unwrap(), "{answer}");
    let out = child.wait_with_output().unwrap();
    eprintln!(
        "pamtester: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.success()
}

#[test]
#[ignore = "root tier: installs and removes Debian packages"]
fn our_package_replaces_debians_and_logs_in() {
    let _one_at_a_time = packages_lock();
    let restore = Restore::new("ga-deb");
    let module = packaged_module_path();

    // Debian's package first, as an admin would have it.
    assert!(apt_get_install(DEBIAN).status.success());
    assert!(
        owner_of(&module).starts_with(&format!("{DEBIAN}:")),
        "Debian's module in place"
    );

    // Build ours and install it over Debian's, as apt does it.
    let (deb, _) = build_packages(None);
    assert!(
        sh(&format!(
            "DEBIAN_FRONTEND=noninteractive apt-get install -y -q {deb}"
        ))
        .status
        .success(),
        "apt-get install {deb}"
    );

    assert!(package_installed(OURS));
    assert!(
        !package_installed(DEBIAN),
        "Breaks/Replaces removed Debian's package"
    );
    assert!(
        owner_of(&module).starts_with(&format!("{OURS}:")),
        "our module in Debian's place"
    );
    assert!(owner_of("/usr/bin/google-authenticator").starts_with(&format!("{OURS}:")));
    // Only our module has the extra hooks (the C module exports two symbols).
    let symbols = sh(&format!("nm -D --defined-only {module}"));
    assert!(String::from_utf8_lossy(&symbols.stdout).contains("pam_sm_acct_mgmt"));

    // A stack naming the module the usual way, as existing /etc/pam.d lines do.
    let dir = tempfile::tempdir().unwrap();
    let secret_b32 = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP";
    let secret_file = dir.path().join("ga");
    std::fs::write(
        &secret_file,
        format!("{secret_b32}\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n"),
    )
    .unwrap();
    std::fs::set_permissions(
        &secret_file,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    std::fs::write(
        &restore.service,
        format!(
            "auth required pam_google_authenticator.so secret={}\n",
            secret_file.display()
        ),
    )
    .unwrap();
    let service = restore.service_name();
    let key = OtpKey::new(&base32::decode(secret_b32.as_bytes()).unwrap()).unwrap();
    let code = format!("{:06}", key.code((clock::now() / 30) as u64));
    assert!(pamtester(&service, &code), "the current code logs in");
    assert!(
        !pamtester(&service, &code),
        "the same code again is refused"
    );
    assert!(!pamtester(&service, "000000"), "a wrong code is refused");
    drop(restore);
    assert!(!package_installed(OURS));
}

/// Logins through libpam every 10 ms (pamtester, a service naming
/// `pam_google_authenticator.so` with `nullok` and no secret file, then `pam_permit.so`):
/// each one succeeds exactly when libpam can load and run the module.
struct LoginLoop {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<(u32, u32, Vec<String>)>,
}

impl LoginLoop {
    fn start(service: &str) -> LoginLoop {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let service = service.to_string();
        let thread = std::thread::spawn(move || {
            let (mut ok, mut failed, mut errors) = (0, 0, Vec::new());
            while !flag.load(Ordering::Relaxed) {
                let out = Command::new("pamtester")
                    .args([service.as_str(), "root", "authenticate"])
                    .stdin(Stdio::null())
                    .output()
                    .expect("pamtester is installed (make deps)");
                if out.status.success() {
                    ok += 1;
                } else {
                    failed += 1;
                    if errors.len() < 5 {
                        errors.push(String::from_utf8_lossy(&out.stderr).trim().to_string());
                    }
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            (ok, failed, errors)
        });
        LoginLoop { stop, thread }
    }

    /// Runs `command` while logging in; returns (logins that worked, logins that failed).
    fn during(service: &str, what: &str, command: &str) -> (u32, u32) {
        let logins = LoginLoop::start(service);
        std::thread::sleep(Duration::from_millis(300));
        let status = sh(command).status;
        std::thread::sleep(Duration::from_millis(300));
        logins.stop.store(true, Ordering::Relaxed);
        let (ok, failed, errors) = logins.thread.join().unwrap();
        eprintln!("swap figures: {what}: {ok} logins worked, {failed} failed {errors:?}");
        assert!(status.success(), "{what}: {command}");
        (ok, failed)
    }
}

/// The `swap` function of docs/MIGRATION.md, as an admin would paste it.
fn swap_function() -> String {
    let doc =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/MIGRATION.md")).unwrap();
    let marked = doc
        .split_once("<!-- swap:")
        .expect("docs/MIGRATION.md marks the swap function")
        .1;
    let block = marked.split_once("```sh\n").unwrap().1;
    block.split_once("```").unwrap().0.to_string()
}

#[test]
#[ignore = "root tier: installs, upgrades and removes Debian packages"]
fn swapping_packages_never_fails_a_login() {
    let _one_at_a_time = packages_lock();
    let restore = Restore::new("ga-swap");
    let module = packaged_module_path();
    std::fs::write(
        &restore.service,
        "auth required pam_google_authenticator.so nullok secret=/nonexistent/ga-swap\n\
         auth required pam_permit.so\n",
    )
    .unwrap();
    let service = restore.service_name();
    let cargo_version = env!("CARGO_PKG_VERSION");
    let newer = format!("{cargo_version}+1");
    let (deb, newer_deb) = build_packages(Some(&newer));
    let newer_deb = newer_deb.unwrap();
    let swap = swap_function();
    let apt = "DEBIAN_FRONTEND=noninteractive";

    assert!(
        sh(&format!("{apt} apt-get install -y -qq {DEBIAN}"))
            .status
            .success()
    );
    assert!(owner_of(&module).starts_with(&format!("{DEBIAN}:")));

    // For comparison, a plain apt-get install of ours over Debian's: apt removes Debian's
    // package first, and logins fail until ours is unpacked. Then back with the swap.
    let (_, plain_failed) = LoginLoop::during(
        &service,
        "Debian's -> ours, plain apt-get install (for comparison)",
        &format!("{apt} apt-get install -y {deb}"),
    );
    assert!(owner_of(&module).starts_with(&format!("{OURS}:")));
    let (ok, failed) = LoginLoop::during(
        &service,
        "ours -> Debian's",
        &format!("{apt}; export DEBIAN_FRONTEND; {swap}\nswap {OURS} {DEBIAN}"),
    );
    assert!(owner_of(&module).starts_with(&format!("{DEBIAN}:")));
    assert!(ok > 20 && failed == 0, "rollback: {failed} logins failed");
    eprintln!("swap figures: a plain apt-get install failed {plain_failed} logins");

    // Ours over Debian's.
    let (ok, failed) = LoginLoop::during(
        &service,
        "Debian's -> ours",
        &format!("{apt}; export DEBIAN_FRONTEND; {swap}\nswap {DEBIAN} {deb}"),
    );
    assert!(owner_of(&module).starts_with(&format!("{OURS}:")));
    assert!(!package_installed(DEBIAN));
    assert!(
        ok > 20 && failed == 0,
        "ours over Debian's: {failed} logins failed"
    );

    // Ours to a newer build of ours.
    let (ok, failed) = LoginLoop::during(
        &service,
        "ours -> newer ours",
        &format!("{apt} apt-get install -y {newer_deb}"),
    );
    assert_eq!(version_of(OURS), newer);
    assert!(ok > 20 && failed == 0, "upgrade: {failed} logins failed");

    // Back to Debian's.
    let (ok, failed) = LoginLoop::during(
        &service,
        "ours -> Debian's",
        &format!("{apt}; export DEBIAN_FRONTEND; {swap}\nswap {OURS} {DEBIAN}"),
    );
    assert!(owner_of(&module).starts_with(&format!("{DEBIAN}:")));
    assert!(!package_installed(OURS));
    assert!(ok > 20 && failed == 0, "rollback: {failed} logins failed");
    // Nothing left behind: no diversion, no spare module file.
    let diversions = sh(&format!("dpkg-divert --list '{module}*'"));
    assert!(
        String::from_utf8_lossy(&diversions.stdout)
            .trim()
            .is_empty()
    );
    assert!(!std::path::Path::new(&format!("{module}.swap")).exists());
    // The module in place is Debian's (two symbols), and it works.
    let symbols = sh(&format!("nm -D --defined-only {module}"));
    assert!(!String::from_utf8_lossy(&symbols.stdout).contains("pam_sm_acct_mgmt"));
    drop(restore);
    assert!(!package_installed(OURS));
}
