//! Root tier for the setup command: enrolling another user with `--user`, a full file
//! system, an unwritable directory, the Debian package, and `make install` next to
//! Debian's packaged files (refused, or diverted with dpkg-divert and undone). Run with
//! `cargo test --test cli -- --ignored cli_root::` as root.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::cli::*;
use crate::support::system::{
    DEBIAN_PACKAGE as DEBIAN, apt_get_install, package_installed, packaged_module_path,
    packages_lock, sh,
};
use pam_google_authenticator::os::store::{OpenedFile, PermPolicy};
use pam_google_authenticator::os::user;

const ARGS: &[&str] = &["-t", "-f", "-C", "-D", "-W", "-u", "-Q", "none"];

fn with_path(extra: &[&str], path: &Path) -> Vec<String> {
    let mut args: Vec<String> = ARGS.iter().map(|s| s.to_string()).collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args.push("-s".into());
    args.push(path.to_str().unwrap().into());
    args
}

fn run_args(args: &[String]) -> std::process::Output {
    let home = tempfile::tempdir().unwrap();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run(home.path(), &args, None)
}

fn nobody() -> user::UserInfo {
    user::by_name(b"nobody").expect("a nobody user")
}

/// A directory owned by `uid:gid` with `mode`, under a root-owned temporary directory.
fn owned_dir(uid: u32, gid: u32, mode: u32) -> (tempfile::TempDir, PathBuf) {
    let top = tempfile::tempdir().unwrap();
    std::fs::set_permissions(top.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let dir = top.path().join("home");
    std::fs::create_dir(&dir).unwrap();
    std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
    (top, dir)
}

#[test]
#[ignore = "root tier: enrols the nobody user"]
fn root_enrols_another_user() {
    let who = nobody();
    let (_top, dir) = owned_dir(who.uid, who.gid, 0o700);
    let path = dir.join(".google_authenticator");
    let output = run_args(&with_path(&["--user", "nobody"], &path));
    assert!(output.status.success(), "{output:?}");
    let text = stdout(&output);
    assert!(
        printed_url(&text).starts_with("otpauth://totp/nobody@"),
        "{text}"
    );

    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (who.uid, who.gid));
    assert_eq!(meta.mode() & 0o7777, 0o400);
    // The module's checks pass for that user.
    let opened = OpenedFile::open(&path).unwrap();
    opened.check(PermPolicy::DEFAULT, Some(who.uid)).unwrap();
    let secret = printed_secret(&text);
    assert!(std::fs::read_to_string(&path).unwrap().starts_with(&secret));
    assert_eq!(listing(&dir), [".google_authenticator"]);

    // Replacing works the same way, under the user's ids.
    let output = run_args(&with_path(&["--user", "nobody"], &path));
    assert!(output.status.success(), "{output:?}");
    assert_eq!(std::fs::metadata(&path).unwrap().uid(), who.uid);
}

#[test]
#[ignore = "root tier: enrols the nobody user"]
fn the_users_home_is_the_default_path() {
    let who = nobody();
    let home = who.home.clone().unwrap();
    let expected = format!("{}/.google_authenticator", String::from_utf8(home).unwrap());
    if Path::new(&expected).parent().unwrap().is_dir() {
        eprintln!("skipped: nobody's home directory exists here");
        return;
    }
    let output = run(
        Path::new("/tmp"),
        &[ARGS, &["--user", "nobody"]].concat(),
        None,
    );
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).starts_with(&format!("Cannot create \"{expected}\"")),
        "{output:?}"
    );
}

#[test]
#[ignore = "root tier: writes as the nobody user into a root-owned directory"]
fn an_unwritable_directory_as_another_user() {
    let (_top, dir) = owned_dir(0, 0, 0o755);
    let path = dir.join("secret");
    std::fs::write(&path, b"OLD\n").unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let output = run_args(&with_path(&["--user", "nobody"], &path));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        stderr(&output).starts_with(&format!(
            "Failed to create \"{}\" temp file \"{}~",
            path.display(),
            path.display()
        )),
        "{output:?}"
    );
    assert!(stderr(&output).contains("(Permission denied)"));
    assert_eq!(std::fs::read(&path).unwrap(), b"OLD\n");
    assert_eq!(listing(&dir), ["secret"]);
}

#[test]
#[ignore = "root tier: switches to the nobody user with setpriv"]
fn only_root_enrols_other_users() {
    let who = nobody();
    let (_top, dir) = owned_dir(who.uid, who.gid, 0o700);
    let path = dir.join("secret");
    let output = Command::new("setpriv")
        .args([
            "--reuid",
            &who.uid.to_string(),
            "--regid",
            &who.gid.to_string(),
        ])
        .arg("--clear-groups")
        .arg(BIN)
        .args(with_path(&["--user", "root"], &path))
        .env("HOME", &dir)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert_eq!(
        stderr(&output),
        "Only root can set up the file of another user (--user)\n"
    );
    assert!(listing(&dir).is_empty());
}

/// Unmounts when dropped, also when the test fails.
struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
    }
}

#[test]
#[ignore = "root tier: mounts a tiny tmpfs and fills it"]
fn a_full_file_system_keeps_the_old_file() {
    let top = tempfile::tempdir().unwrap();
    let mnt = top.path().join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let status = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs"])
        .arg(&mnt)
        .status()
        .unwrap();
    assert!(status.success(), "mount failed");
    let _mount = Mount(mnt.clone());

    let path = mnt.join(".google_authenticator");
    let old = b"OLDSECRETOLDSECRETOLDSECRETOLDSE\n\" TOTP_AUTH\n12345678\n";
    std::fs::write(&path, old).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o400)).unwrap();
    // Fill every remaining block.
    {
        use std::io::Write;
        let mut filler = std::fs::File::create(mnt.join("filler")).unwrap();
        let chunk = [0u8; 1024];
        while filler.write_all(&chunk).is_ok() {}
        let _ = filler.write_all(&[0]);
    }

    let output = run_args(&with_path(&[], &path));
    assert_eq!(output.status.code(), Some(1), "{output:?}");
    assert!(
        stderr(&output).starts_with("Failed to write new secret: No space left on device"),
        "{output:?}"
    );
    assert_eq!(std::fs::read(&path).unwrap(), old);
    assert_eq!(listing(&mnt), [".google_authenticator", "filler"]);
}

#[test]
#[ignore = "root tier: builds the release package with make deb (dpkg-deb, lintian)"]
fn the_debian_package() {
    let status = Command::new("make")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .arg("deb")
        .status()
        .unwrap();
    // `make deb` ends with scripts/check-deb.sh, which checks the file list (dpkg -c), the
    // control fields (Depends from dpkg-shlibdeps), the documentation's links and lintian.
    assert!(status.success());
}

#[test]
#[ignore = "root tier: builds the release RPM with make rpm (rpmbuild)"]
fn the_rpm_package() {
    // `make rpm` builds the release binaries, packages them with rpmbuild and ends with
    // scripts/check-rpm.sh: RHEL's layout (rpm -qpl), Requires found from the ELF files,
    // Provides/Obsoletes/Conflicts of EPEL's google-authenticator, no scriptlets, rpmlint.
    let status = Command::new("make")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .arg("rpm")
        .status()
        .unwrap();
    assert!(status.success());
}

/// `make install` / `make uninstall` as root with a PATH that has no cargo.
fn make_as_root_without_cargo(args: &str) -> std::process::Output {
    sh(&format!(
        "env PATH=/usr/sbin:/usr/bin:/sbin:/bin make -C {} {args}",
        env!("CARGO_MANIFEST_DIR")
    ))
}

/// Puts Debian's package back as it was and leaves no diversion or file of ours.
struct RestorePackages {
    debian_was_installed: bool,
}

impl Drop for RestorePackages {
    fn drop(&mut self) {
        make_as_root_without_cargo("uninstall");
        if self.debian_was_installed {
            sh(&format!(
                "DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --reinstall {DEBIAN}"
            ));
        } else {
            sh(&format!("dpkg -P {DEBIAN}"));
        }
    }
}

#[test]
#[ignore = "root tier: installs Debian's libpam-google-authenticator and runs make install"]
fn make_install_leaves_packaged_files_alone_unless_it_diverts_them() {
    let _one_at_a_time = packages_lock();
    let _restore = RestorePackages {
        debian_was_installed: package_installed(DEBIAN),
    };
    let manifest = env!("CARGO_MANIFEST_DIR");
    let packaged_module = packaged_module_path();
    assert!(sh(&format!("make -C {manifest} build")).status.success());
    assert!(apt_get_install(DEBIAN).status.success());
    let packaged = std::fs::read(&packaged_module).unwrap();
    let ours = std::fs::read(format!(
        "{manifest}/target/release/libpam_google_authenticator.so"
    ))
    .unwrap();
    let packaged_command = std::fs::read("/usr/bin/google-authenticator").unwrap();

    // Refused, with the package named, and nothing changed.
    let out = make_as_root_without_cargo("install");
    assert!(!out.status.success());
    let text = String::from_utf8_lossy(&out.stderr);
    assert!(
        text.contains("pam_google_authenticator.so: it belongs to the Debian package libpam-google-authenticator"),
        "{text}"
    );
    assert!(text.contains("DIVERT=1"), "{text}");
    assert_eq!(std::fs::read(&packaged_module).unwrap(), packaged);
    assert!(!std::path::Path::new("/usr/share/man/man8/pam_google_authenticator.8").exists());
    let out = make_as_root_without_cargo("uninstall");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Nothing was deleted"));
    assert_eq!(std::fs::read(&packaged_module).unwrap(), packaged);

    // Diverted on request: ours in place, the package's copy kept, dpkg told about it.
    assert!(
        make_as_root_without_cargo("install DIVERT=1")
            .status
            .success()
    );
    assert_eq!(std::fs::read(&packaged_module).unwrap(), ours);
    assert_eq!(
        std::fs::read(format!("{packaged_module}.distrib")).unwrap(),
        packaged
    );
    let diversion = sh(&format!("dpkg-divert --truename {packaged_module}"));
    assert_eq!(
        String::from_utf8_lossy(&diversion.stdout).trim(),
        format!("{packaged_module}.distrib")
    );
    // Installing again over our own files needs no DIVERT.
    assert!(make_as_root_without_cargo("install").status.success());

    // Uninstall puts the package's files back and removes the diversions.
    assert!(make_as_root_without_cargo("uninstall").status.success());
    assert_eq!(std::fs::read(&packaged_module).unwrap(), packaged);
    assert_eq!(
        std::fs::read("/usr/bin/google-authenticator").unwrap(),
        packaged_command
    );
    assert!(!std::path::Path::new(&format!("{packaged_module}.distrib")).exists());
    let diversions = sh("dpkg-divert --list '*google-authenticator*'");
    assert!(
        String::from_utf8_lossy(&diversions.stdout)
            .trim()
            .is_empty()
    );
    assert!(sh(&format!("dpkg --verify {DEBIAN}")).stdout.is_empty());

    // Without the package, install and uninstall simply copy and delete.
    assert!(sh(&format!("dpkg -P {DEBIAN}")).status.success());
    assert!(make_as_root_without_cargo("install").status.success());
    assert_eq!(std::fs::read(&packaged_module).unwrap(), ours);
    assert!(make_as_root_without_cargo("uninstall").status.success());
    assert!(!std::path::Path::new(&packaged_module).exists());
    assert!(!std::path::Path::new("/usr/bin/google-authenticator").exists());
}
