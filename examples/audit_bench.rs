//! Times `google-authenticator-audit`'s judging of 10,000 accounts.
//!
//! Each account has its own directory with a secret file (every fourth one has none), all
//! owned by the current user, so it runs without root. User lookups come from a table instead
//! of NSS; everything else (fs identity switch, open in the directory, owner and mode checks,
//! lock, read, rate-limit and secret checks, the temp-file look-up) is the real code.
//!
//! Run: `cargo run --release --example audit_bench [ACCOUNTS]`.

use std::time::Instant;

use pam_google_authenticator::cli::audit::{audit_with, summary};
use pam_google_authenticator::core::args::Options;
use pam_google_authenticator::os::user::{LookupError, UserInfo};
use pam_google_authenticator::pam::flow::System;

#[derive(Clone)]
struct Table {
    root: std::path::PathBuf,
    uid: u32,
    gid: u32,
}

impl System for Table {
    fn now(&mut self) -> i64 {
        1_700_000_000
    }
    fn user_by_name(&mut self, name: &[u8]) -> Result<UserInfo, LookupError> {
        let mut home = self.root.as_os_str().as_encoded_bytes().to_vec();
        home.push(b'/');
        home.extend_from_slice(name);
        Ok(UserInfo {
            name: name.to_vec(),
            uid: self.uid,
            gid: self.gid,
            home: Some(home),
        })
    }
    fn user_by_uid(&mut self, uid: u32) -> Result<UserInfo, LookupError> {
        Ok(UserInfo {
            name: b"bench".to_vec(),
            uid,
            gid: self.gid,
            home: None,
        })
    }
}

fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::temp_dir().join(format!("audit-bench-{}", std::process::id()));
    let secret = "2SH3V3GDW7ZNMGYE\n\" RATE_LIMIT 3 30\n\" WINDOW_SIZE 3\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n11111111\n22222222\n";
    let mut accounts = Vec::with_capacity(count);
    for i in 0..count {
        let name = format!("u{i:05}");
        let home = dir.join(&name);
        std::fs::create_dir_all(&home).expect("mkdir");
        if i % 4 != 0 {
            let path = home.join(".google_authenticator");
            std::fs::write(&path, secret).expect("write");
            std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o400))
                .expect("chmod");
        }
        accounts.push((name.into_bytes(), Some(i as u32)));
    }
    // SAFETY: getuid and getgid cannot fail and have no preconditions.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let sys = Table {
        root: dir.clone(),
        uid,
        gid,
    };
    let options = Options::parse(&["nullok"]).expect("options");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    for threads in [1, cores * 2] {
        let start = Instant::now();
        let rows = audit_with(&sys, &accounts, &options, threads);
        let took = start.elapsed();
        println!(
            "{threads} thread(s), {cores} core(s): {:.3} s; {}",
            took.as_secs_f64(),
            summary(&rows, true)
        );
    }
    let start = Instant::now();
    let all = pam_google_authenticator::os::user::all().expect("getpwent");
    println!(
        "listing this host's passwd database ({} entries): {:.4} s",
        all.len(),
        start.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
