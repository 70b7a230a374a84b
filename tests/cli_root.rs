//! Root tier for the setup command: enrolling another user with `--user`, a full file
//! system, an unwritable directory and the Debian package. Run with
//! `cargo test --test cli_root -- --ignored` as root.

mod cli_common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use cli_common::*;
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
#[ignore = "root tier: builds the release package with make deb (cargo-deb)"]
fn the_debian_package() {
    let status = Command::new("make")
        .arg("-C")
        .arg(env!("CARGO_MANIFEST_DIR"))
        .arg("deb")
        .status()
        .unwrap();
    // `make deb` ends with scripts/check-deb.sh, which checks the file list (dpkg -c) and the
    // control fields (dpkg -I).
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
