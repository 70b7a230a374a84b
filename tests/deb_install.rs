//! Root tier: the Debian package built by `make deb` installs over Debian's
//! `libpam-google-authenticator`, replaces its module and command in place, and a login
//! through `pamtester` with a stack that names the module as `pam_google_authenticator.so`
//! works. This changes the system's packages: it removes ours again afterwards and
//! reinstalls Debian's package if it was installed before.
//! Run with `cargo test --test deb_install -- --ignored` as root.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use pam_google_authenticator::core::base32;
use pam_google_authenticator::core::otp::OtpKey;
use pam_google_authenticator::os::clock;

const MODULE: &str = "/lib/x86_64-linux-gnu/security/pam_google_authenticator.so";
const DEBIAN: &str = "libpam-google-authenticator";
const OURS: &str = "pam-google-authenticator-rs";

fn sh(cmd: &str) -> Output {
    let out = Command::new("sh").args(["-c", cmd]).output().unwrap();
    eprintln!(
        "$ {cmd}\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn installed(package: &str) -> bool {
    let out = sh(&format!(
        "dpkg-query -W -f='${{Status}}' {package} 2>/dev/null"
    ));
    String::from_utf8_lossy(&out.stdout).contains("install ok installed")
}

fn owner_of(path: &str) -> String {
    String::from_utf8_lossy(&sh(&format!("dpkg -S {path}")).stdout)
        .trim()
        .to_string()
}

/// Puts the system back as it was: our package purged, Debian's back if it was there.
struct Restore {
    debian_was_installed: bool,
    service: PathBuf,
}

impl Drop for Restore {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.service);
        sh(&format!("dpkg -P {OURS}"));
        if self.debian_was_installed {
            sh(&format!(
                "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {DEBIAN}"
            ));
        }
    }
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
    let uid = std::fs::metadata("/proc/self").map(|m| std::os::unix::fs::MetadataExt::uid(&m));
    assert_eq!(uid.ok(), Some(0), "root-tier test: run it as root");
    let restore = Restore {
        debian_was_installed: installed(DEBIAN),
        service: PathBuf::from(format!("/etc/pam.d/ga-deb-{}", std::process::id())),
    };

    // Debian's package first, as an admin would have it.
    assert!(
        sh(&format!(
            "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq {DEBIAN}"
        ))
        .status
        .success()
    );
    assert!(
        owner_of(MODULE).starts_with(&format!("{DEBIAN}:")),
        "Debian's module in place"
    );

    // Build ours and install it over Debian's.
    let manifest = env!("CARGO_MANIFEST_DIR");
    assert!(
        sh(&format!("make -C {manifest} deb")).status.success(),
        "make deb"
    );
    let deb = sh(&format!(
        "ls -t {manifest}/target/debian/{OURS}_*.deb | head -n 1"
    ));
    let deb = String::from_utf8_lossy(&deb.stdout).trim().to_string();
    assert!(
        sh(&format!("dpkg -i {deb}")).status.success(),
        "dpkg -i {deb}"
    );

    assert!(installed(OURS));
    assert!(
        !installed(DEBIAN),
        "Conflicts/Replaces removed Debian's package"
    );
    assert!(
        owner_of(MODULE).starts_with(&format!("{OURS}:")),
        "our module in Debian's place"
    );
    assert!(owner_of("/usr/bin/google-authenticator").starts_with(&format!("{OURS}:")));
    // Only our module has the extra hooks (the C module exports two symbols).
    let symbols = sh(&format!("nm -D --defined-only {MODULE}"));
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
    let service = restore
        .service
        .file_name()
        .unwrap()
        .to_string_lossy()
        .into_owned();
    let key = OtpKey::new(&base32::decode(secret_b32.as_bytes()).unwrap()).unwrap();
    let code = format!("{:06}", key.code((clock::now() / 30) as u64));
    assert!(pamtester(&service, &code), "the current code logs in");
    assert!(
        !pamtester(&service, &code),
        "the same code again is refused"
    );
    assert!(!pamtester(&service, "000000"), "a wrong code is refused");
    drop(restore);
    assert!(!installed(OURS));
}
