//! The secret file after each state change, byte for byte, through the real libpam and the
//! built module (behaviour specification §2.3 to §3.8): a rewrite gives a new file (new
//! inode) with mode 0400, owned by the user, and leaves no `~` temp file behind; a login that
//! changes nothing does not touch the file. Also: the module's other hooks.

use pam_google_authenticator::core::catalogue;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use crate::support::otp::{T, TEST_SECRET, hotp_code, totp_code};
use crate::support::{
    Event, FileState, Outcome, PamRun, Stack, code, current_user, file_state, our_module, stack,
    temp_leftovers, write_secret,
};

const S: &str = TEST_SECRET;

/// A secret file in its own temp dir, and the run for it.
struct Case {
    dir: tempfile::TempDir,
    path: PathBuf,
}

impl Case {
    fn new(bytes: &[u8]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = write_secret(dir.path(), "ga", bytes, 0o600);
        Case { dir, path }
    }

    fn run(&self, t: i64, answer: &str, extra_args: &[&str]) -> Outcome {
        let s = format!("secret={}", self.path.display());
        let mut args = vec![s.as_str()];
        args.extend_from_slice(extra_args);
        // Holding the original open keeps its inode number from being reused by a rewrite,
        // so "new inode" means the file was really replaced.
        let _hold = std::fs::File::open(&self.path).unwrap();
        PamRun::new(stack(&args)).clock(t).answer(answer).run()
    }

    fn state(&self) -> FileState {
        file_state(&self.path)
    }

    /// The file was replaced by a new one with `expected` bytes, mode 0400, owned by the
    /// running user and group, and no temp file is left.
    fn check_rewritten(&self, o: &Outcome, before: &FileState, expected: &str) {
        let after = self.state();
        o.check(
            after.bytes.as_deref() == Some(expected.as_bytes()),
            &format!(
                "file bytes\n expected {expected:?}\n actual   {:?}",
                String::from_utf8_lossy(after.bytes.as_deref().unwrap_or_default())
            ),
        );
        o.check(
            after.mode == 0o100400,
            &format!("mode 0400, got {:o}", after.mode),
        );
        // SAFETY: geteuid and getegid have no preconditions.
        let (uid, gid) = unsafe { (libc::geteuid(), libc::getegid()) };
        o.check(after.uid == uid && after.gid == gid, "owned by the user");
        o.check(after.ino != before.ino, "a new inode (written by rename)");
        o.check(
            temp_leftovers(self.dir.path()).is_empty(),
            "no temp file left",
        );
    }

    fn check_untouched(&self, o: &Outcome, before: &FileState) {
        o.check(
            self.state() == *before,
            "file untouched (bytes, inode, mode, mtime)",
        );
        o.check(
            temp_leftovers(self.dir.path()).is_empty(),
            "no temp file left",
        );
    }
}

fn totp_at(t: i64) -> String {
    totp_code(S, t as u64)
}

#[test]
fn scratch_code_use_removes_its_line_and_the_following_line_break_run() {
    let c = Case::new(format!("{S}\n\" TOTP_AUTH\n12345678\r\n\r\n87654321\n").as_bytes());
    let before = c.state();
    let o = c.run(T, "12345678", &[]);
    o.assert_result(code::SUCCESS);
    c.check_rewritten(&o, &before, &format!("{S}\n\" TOTP_AUTH\n87654321\n"));

    // The used code is gone for good.
    let before = c.state();
    let o = c.run(T, "12345678", &[]);
    o.assert_result(code::AUTH_ERR);
    c.check_untouched(&o, &before);

    // The last line without a final newline: the newline before it stays.
    let o = c.run(T, "87654321", &[]);
    o.assert_result(code::SUCCESS);
    c.check_rewritten(&o, &before, &format!("{S}\n\" TOTP_AUTH\n"));
}

#[test]
fn scratch_code_without_final_newline_leaves_the_previous_newline() {
    let c = Case::new(format!("{S}\n\" TOTP_AUTH\n11111111\n22222222").as_bytes());
    let before = c.state();
    let o = c.run(T, "22222222", &[]);
    o.assert_result(code::SUCCESS);
    c.check_rewritten(&o, &before, &format!("{S}\n\" TOTP_AUTH\n11111111\n"));
}

#[test]
fn plain_totp_success_does_not_rewrite_the_file() {
    let c = Case::new(format!("{S}\n\" TOTP_AUTH\n\" WINDOW_SIZE 3\n12345678\n").as_bytes());
    let before = c.state();
    let o = c.run(T, &totp_at(T), &[]);
    o.assert_result(code::SUCCESS);
    c.check_untouched(&o, &before);
    o.check(before.mode & 0o7777 == 0o600, "mode 0600 kept");
}

#[test]
fn disallow_reuse_appends_the_step_prunes_old_entries_and_refuses_reuse() {
    let c = Case::new(
        format!("{S}\n\" TOTP_AUTH\n\" DISALLOW_REUSE 10001 9000 10002 9001\n").as_bytes(),
    );
    let before = c.state();
    let o = c.run(T, &totp_at(T), &[]);
    o.assert_result(code::SUCCESS);
    // Pruning takes the blanks after an entry, not before: a double space stays.
    c.check_rewritten(
        &o,
        &before,
        &format!("{S}\n\" TOTP_AUTH\n\" DISALLOW_REUSE 10001 10002  10000\n"),
    );

    let before = c.state();
    let o = c.run(T + 5, &totp_at(T), &[]);
    o.assert_result(code::AUTH_ERR);
    o.check(o.prompts.len() == 1, "prompted once");
    o.check(
        o.log_count(&catalogue::code_reused(&c.path.display().to_string(), 30).text) == 1,
        "the reuse line",
    );
    c.check_untouched(&o, &before);

    // An empty list gets the first entry without a leading space.
    let c = Case::new(format!("{S}\n\" DISALLOW_REUSE\n\" TOTP_AUTH\n").as_bytes());
    let before = c.state();
    let o = c.run(T, &totp_at(T), &[]);
    o.assert_result(code::SUCCESS);
    c.check_rewritten(
        &o,
        &before,
        &format!("{S}\n\" DISALLOW_REUSE 10000\n\" TOTP_AUTH\n"),
    );
}

#[test]
fn set_rule_rewrites_only_the_changed_lines_of_a_crlf_file() {
    // The example of the specification, §2.3.
    let c = Case::new(
        format!(
            "{S}\r\n\" TOTP_AUTH\r\n\" DISALLOW_REUSE\r\n\r\n\" RATE_LIMIT 3 30\r\n12345678\r\n\
             \" DISALLOW_REUSE 5\n\n\n87654321\n"
        )
        .as_bytes(),
    );
    let before = c.state();
    let o = c.run(T, &totp_at(T), &[]);
    o.assert_result(code::SUCCESS);
    c.check_rewritten(
        &o,
        &before,
        &format!(
            "{S}\r\n\" TOTP_AUTH\r\n\" DISALLOW_REUSE 10000\n\" RATE_LIMIT 3 30 300000\n\
             12345678\r\n87654321\n"
        ),
    );
}

#[test]
fn rate_limit_records_every_attempt_and_refuses_past_the_limit_without_prompt() {
    let c = Case::new(format!("{S}\n\" TOTP_AUTH\n\" RATE_LIMIT 3 30\n").as_bytes());
    let before = c.state();
    let o = c.run(T, &totp_at(T), &[]);
    o.assert_result(code::SUCCESS);
    c.check_rewritten(
        &o,
        &before,
        &format!("{S}\n\" TOTP_AUTH\n\" RATE_LIMIT 3 30 300000\n"),
    );

    let c = Case::new(format!("{S}\n\" TOTP_AUTH\n\" RATE_LIMIT 2 30 299990 299995\n").as_bytes());
    let exceeded = catalogue::rate_limited(&c.path.display().to_string()).text;
    for (t, kept) in [(T, "299995 300000"), (T + 1, "300000 300001")] {
        let before = c.state();
        let o = c.run(t, &totp_at(t), &[]);
        o.assert_result(code::AUTH_ERR);
        o.check(o.prompts.is_empty(), "no prompt when rate limited");
        o.check(o.log_count(&exceeded) == 1, "the rate-limit line");
        c.check_rewritten(
            &o,
            &before,
            &format!("{S}\n\" TOTP_AUTH\n\" RATE_LIMIT 2 30 {kept}\n"),
        );
    }
}

#[test]
fn hotp_counter_advances_on_success_and_on_a_wrong_code() {
    let c = Case::new(format!("{S}\n\" HOTP_COUNTER 1\n").as_bytes());
    for (answer, result, counter) in [
        (hotp_code(S, 1), code::SUCCESS, 2),
        // The same code again: refused, and the counter still moves on.
        (hotp_code(S, 1), code::AUTH_ERR, 3),
        // Counter 5 is inside the window 3..5.
        (hotp_code(S, 5), code::SUCCESS, 6),
    ] {
        let before = c.state();
        let o = c.run(T, &answer, &[]);
        o.assert_result(result);
        c.check_rewritten(&o, &before, &format!("{S}\n\" HOTP_COUNTER {counter}\n"));
    }
}

#[test]
fn skew_resync_records_attempts_then_sets_time_skew() {
    // §3.4: a user 1000 steps behind, at steps 12000..12003.
    let c = Case::new(format!("{S}\n\" TOTP_AUTH").as_bytes());
    let steps: [(i64, i32, Option<&str>); 4] = [
        (
            12000,
            code::AUTH_ERR,
            Some("\" RESETTING_TIME_SKEW 12000-1000\n"),
        ),
        (
            12001,
            code::AUTH_ERR,
            Some("\" RESETTING_TIME_SKEW 12000-1000 12001-1000\n"),
        ),
        (
            12002,
            code::SUCCESS,
            Some("\" TIME_SKEW -1000\n\" RESETTING_TIME_SKEW \n"),
        ),
        (12003, code::SUCCESS, None),
    ];
    for (step, result, lines) in steps {
        let before = c.state();
        let o = c.run(step * 30, &hotp_code(S, (step - 1000) as u64), &[]);
        o.assert_result(result);
        match lines {
            Some(l) => c.check_rewritten(&o, &before, &format!("{S}\n{l}\" TOTP_AUTH")),
            None => c.check_untouched(&o, &before),
        }
    }
}

#[test]
fn grace_period_records_last_entries_per_host_newest_key_first() {
    let c = Case::new(format!("{S}\n\" TOTP_AUTH\n").as_bytes());
    let s = format!("secret={}", c.path.display());
    let run = |host: &str, t: i64| {
        let _hold = std::fs::File::open(&c.path).unwrap();
        PamRun::new(stack(&[&s, "grace_period=60"]))
            .rhost(host)
            .clock(t)
            .answer(totp_at(t))
            .run()
    };
    let mut expected = format!("{S}\n\" TOTP_AUTH\n");
    for (i, host) in ["10.0.0.1", "10.0.0.2", "fe80::1%eth0"].iter().enumerate() {
        let t = T + 100 * i as i64;
        let before = c.state();
        let o = run(host, t);
        o.assert_result(code::SUCCESS);
        expected = expected.replacen('\n', &format!("\n\" LAST{i} {host} {t}\n"), 1);
        c.check_rewritten(&o, &before, &expected);
    }
    // The first host again, after its grace period: its own slot is updated in place.
    let t = T + 1000;
    let before = c.state();
    let o = run("10.0.0.1", t);
    o.assert_result(code::SUCCESS);
    o.check(o.prompts.len() == 1, "prompted after the grace period");
    c.check_rewritten(
        &o,
        &before,
        &format!(
            "{S}\n\" LAST2 fe80::1%eth0 {}\n\" LAST1 10.0.0.2 {}\n\" LAST0 10.0.0.1 {t}\n\" TOTP_AUTH\n",
            T + 200,
            T + 100
        ),
    );
}

/// Regression: PAM_RHOST used to be stored in a `LAST` line as it was, so a host with a line
/// break planted a scratch code or an option of the caller's choosing.
#[test]
fn a_remote_host_with_a_line_break_never_adds_a_line_to_the_file() {
    let original = format!("{S}\n\" TOTP_AUTH\n");
    for host in [
        "10.0.0.1\n87654321",
        "10.0.0.1\n\" WINDOW_SIZE 17",
        "10.0.0.1\r\" DISALLOW_REUSE",
        "10.0.0.1 99999",
    ] {
        let c = Case::new(original.as_bytes());
        let s = format!("secret={}", c.path.display());
        let before = c.state();
        let o = PamRun::new(stack(&[&s, "grace_period=3600"]))
            .rhost(host)
            .clock(T)
            .answer(totp_at(T))
            .run();
        o.assert_result(code::SUCCESS);
        c.check_untouched(&o, &before);
        o.check(
            o.module_log().iter().any(|l| {
                l.starts_with("Remote host \"10.0.0.1") && l.ends_with("grace period not recorded")
            }),
            "the host that cannot be stored is logged",
        );
        o.check(
            o.module_log().iter().all(|l| !l.contains(['\n', '\r'])),
            "no log line carries a line break",
        );
        // The planted "scratch code" does not work, and the same host gets no grace.
        let o = PamRun::new(stack(&[&s, "grace_period=3600"]))
            .rhost(host)
            .clock(T + 60)
            .answer("87654321")
            .run();
        o.assert_result(code::AUTH_ERR);
        o.check(o.prompts.len() == 1, "prompted: no grace for this host");
    }
}

/// Regression: a writer killed between creating its temporary file and the rename left a full
/// copy of the secret under a new random name each time, and they piled up.
#[test]
fn a_leftover_temp_file_is_removed_by_the_next_write() {
    let c = Case::new(format!("{S}\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n12345678\n").as_bytes());
    let leftover = c.dir.path().join("ga~");
    write_secret(c.dir.path(), "ga~", b"OLDSECRET\n11111111\n", 0o400);
    let before = c.state();
    let o = c.run(T, &totp_at(T), &[]);
    o.assert_result(code::SUCCESS);
    c.check_rewritten(
        &o,
        &before,
        &format!("{S}\n\" TOTP_AUTH\n\" DISALLOW_REUSE 10000\n12345678\n"),
    );
    o.check(!leftover.exists(), "the leftover is gone");
}

/// Kills the login exactly at the rename, again and again: each kill leaves at most the one
/// temporary file `<secret>~`, the secret itself is always the old state, and the next
/// login that writes clears the leftover.
#[test]
fn kills_at_the_rename_leave_at_most_one_temp_file() {
    let c = Case::new(format!("{S}\n\" TOTP_AUTH\n12345678\n87654321\n").as_bytes());
    let s = format!("secret={}", c.path.display());
    let before = c.state();
    for _ in 0..5 {
        let o = PamRun::new(stack(&[&s]))
            .clock(T)
            .answer("12345678")
            .run_under_strace(&["-e", "inject=rename,renameat,renameat2:signal=KILL"])
            .expect("harness error: strace could not be started (apt-get install strace)");
        o.check(o.exit_code.is_none(), "the driver was killed at the rename");
        o.check(c.state() == before, "the secret file is the old state");
        let left = temp_leftovers(c.dir.path());
        o.check(left == ["ga~"], &format!("exactly one leftover: {left:?}"));
    }
    let o = c.run(T, "12345678", &[]);
    o.assert_result(code::SUCCESS);
    c.check_rewritten(&o, &before, &format!("{S}\n\" TOTP_AUTH\n87654321\n"));
}

/// Regression: after a successful rename, a failed directory fsync was logged as "Failed to
/// update secret file" next to "Accepted", without saying that the new state is in place.
#[test]
fn a_failed_directory_sync_says_what_the_file_holds() {
    let c = Case::new(format!("{S}\n\" TOTP_AUTH\n12345678\n87654321\n").as_bytes());
    let s = format!("secret={}", c.path.display());
    // The first fsync is the temporary file's, the second the directory's.
    let o = PamRun::new(stack(&[&s]))
        .clock(T)
        .answer("12345678")
        .run_under_strace(&["-e", "inject=fsync:error=EIO:when=2"])
        .expect("harness error: strace could not be started (apt-get install strace)");
    o.assert_result(code::AUTH_ERR);
    let log = o.module_log();
    let path = c.path.display();
    o.check(
        log.iter().any(|l| {
            *l == format!(
                "Secret file \"{path}\" holds the new state, but syncing its directory failed: Input/output error; a crash may bring back the old state"
            )
        }),
        "says the new state is in place",
    );
    o.check(
        !log.iter()
            .any(|l| l.starts_with("Failed to update secret file")),
        "no \"Failed to update\" after a rename that happened",
    );
    o.check(
        c.state().bytes.as_deref() == Some(format!("{S}\n\" TOTP_AUTH\n87654321\n").as_bytes()),
        "the used scratch code is gone",
    );
}

/// Storage faults at every write step (strace injects the error at exactly that system call
/// on the temporary file or the directory): before the rename the secret file is untouched,
/// after it the file holds the new state; never a temp file left; the user is told upstream's
/// `Error "..." while writing config`; the login fails (no `allow_readonly`).
#[test]
fn storage_faults_at_every_write_step_keep_the_file_whole() {
    let errors = [
        ("EIO", "Input/output error"),
        ("ENOSPC", "No space left on device"),
        ("EDQUOT", "Disk quota exceeded"),
        ("EROFS", "Read-only file system"),
    ];
    for (errno, text) in errors {
        // (step, path the fault is limited to, system calls, the rename happened)
        let c = Case::new(format!("{S}\n\" TOTP_AUTH\n12345678\n87654321\n").as_bytes());
        let temp = format!("{}~", c.path.display());
        let dir = c.dir.path().display().to_string();
        let steps = [
            ("create", temp.as_str(), "openat", false),
            ("write", temp.as_str(), "write", false),
            ("fsync", temp.as_str(), "fsync", false),
            ("rename", temp.as_str(), "rename,renameat,renameat2", false),
            ("directory fsync", dir.as_str(), "fsync", true),
        ];
        for (step, path, calls, renamed) in steps {
            let before = c.state();
            let s = format!("secret={}", c.path.display());
            let inject = format!("inject={calls}:error={errno}");
            let o = PamRun::new(stack(&[&s]))
                .clock(T)
                .answer("12345678")
                // The module names the temp file relative to the directory it opened
                // (openat, renameat); strace matches such names as they are written.
                .run_under_strace(&["-P", path, "-P", "ga~", "-e", &inject])
                .expect("harness error: strace could not be started (apt-get install strace)");
            let what = format!("{errno} at {step}");
            o.assert_result(code::AUTH_ERR);
            o.check(
                o.events.iter().any(|e| {
                    *e == Event::Error(
                        format!("Error \"{text}\" while writing config").into_bytes(),
                    )
                }),
                &format!("{what}: the user is told"),
            );
            o.check(
                temp_leftovers(c.dir.path()).is_empty(),
                &format!("{what}: no temp file left"),
            );
            let log = o.module_log();
            if renamed {
                o.check(
                    c.state().bytes.as_deref()
                        == Some(format!("{S}\n\" TOTP_AUTH\n87654321\n").as_bytes()),
                    &format!("{what}: the new state is in place"),
                );
                o.check(
                    log.iter().any(|l| l.contains("holds the new state")),
                    &format!("{what}: logged as kept"),
                );
                // Put the old state back for the next errno.
                std::fs::remove_file(&c.path).unwrap();
                write_secret(
                    c.dir.path(),
                    "ga",
                    format!("{S}\n\" TOTP_AUTH\n12345678\n87654321\n").as_bytes(),
                    0o600,
                );
            } else {
                c.check_untouched(&o, &before);
                o.check(
                    log.iter()
                        .filter(|l| l.starts_with("Failed to update secret file"))
                        .count()
                        == 1,
                    &format!("{what}: one \"Failed to update\" line"),
                );
            }
        }
    }
}

/// A stack that authenticates with the module (missing file + nullok is enough) and lists
/// the module for the other types too.
fn all_types_stack(dir: &Path) -> Stack {
    let m = our_module();
    let s = format!("secret={}/absent", dir.display());
    Stack::new()
        .auth("required", &m, &[&s, "nullok"])
        .auth("required", "pam_permit.so", &[])
        .account("required", &m, &[])
        .line("password", "required", &m, &[])
        .line("session", "required", &m, &[])
}

fn hook_line(o: &Outcome, name: &str) -> Option<String> {
    o.events.iter().find_map(|e| match e {
        Event::Other(l) => l.strip_prefix(&format!("{name} ")).map(str::to_string),
        _ => None,
    })
}

#[test]
fn account_password_and_session_hooks_answer_module_unknown() {
    let dir = tempfile::tempdir().unwrap();
    let mut run = PamRun::new(all_types_stack(dir.path())).acct();
    run.report_authtok = false;
    let (o, _) = run.run_with(&[OsStr::new("--session"), OsStr::new("--chauthtok")], None);
    o.assert_result(code::SUCCESS);
    o.check(o.acct == Some(28), "pam_acct_mgmt: PAM_MODULE_UNKNOWN (28)");
    for hook in ["open_session", "close_session", "chauthtok"] {
        o.check(
            hook_line(&o, hook).as_deref() == Some("PAM_MODULE_UNKNOWN 28"),
            &format!("{hook}: PAM_MODULE_UNKNOWN"),
        );
    }
    for kind in ["account", "session", "password"] {
        o.check(
            o.log_count(&format!(
                "Only the auth module type is provided; refusing to act as a \"{kind}\" module"
            )) >= 1,
            &format!("the {kind} refusal line"),
        );
    }
}

#[test]
fn setcred_succeeds() {
    let c = Case::new(format!("{S}\n\" TOTP_AUTH\n").as_bytes());
    let s = format!("secret={}", c.path.display());
    let mut run = PamRun::new(Stack::new().auth("required", our_module(), &[&s]))
        .clock(T)
        .answer(totp_at(T));
    run.report_authtok = false;
    let (o, _) = run.run_with(&[OsStr::new("--setcred")], None);
    o.assert_result(code::SUCCESS);
    o.check(
        hook_line(&o, "setcred").as_deref() == Some("PAM_SUCCESS 0"),
        "pam_setcred: PAM_SUCCESS",
    );
    let (name, _) = current_user();
    o.check(
        o.module_log() == [catalogue::accepted(&name).text],
        "setcred logs nothing",
    );
}

/// The crash-consistency campaign: state-changing logins (scratch code, DISALLOW_REUSE, HOTP,
/// RATE_LIMIT) killed with SIGKILL exactly at each file system call of the write (create,
/// write, fsync and rename of `<secret>~`, fsync of the directory) and at random moments.
/// After every kill: the secret is exactly the old or the new state with a valid mode, at
/// most one temp file exists, and the same login run again gets the right answer (a
/// one-time code that the killed login recorded is refused; one it did not record works
/// once). `GA_CRASH_KILLS` sets the number of random-moment kills per scenario (default 20);
/// the figures are printed for `docs/RELIABILITY.md`.
#[test]
#[ignore = "campaign: run with --ignored (make campaigns); CI runs the short version"]
fn crash_campaign_kills_at_every_write_step_and_at_random_moments() {
    let random_kills: usize = std::env::var("GA_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    // (name, file, answer, file after the login, the answer is one-time)
    let scenarios: [(&str, String, String, String, bool); 4] = [
        (
            "scratch code",
            format!("{S}\n\" TOTP_AUTH\n12345678\n87654321\n"),
            "12345678".into(),
            format!("{S}\n\" TOTP_AUTH\n87654321\n"),
            true,
        ),
        (
            "DISALLOW_REUSE",
            format!("{S}\n\" TOTP_AUTH\n\" DISALLOW_REUSE\n"),
            totp_at(T),
            format!("{S}\n\" TOTP_AUTH\n\" DISALLOW_REUSE 10000\n"),
            true,
        ),
        (
            "HOTP",
            format!("{S}\n\" HOTP_COUNTER 1\n"),
            hotp_code(S, 1),
            format!("{S}\n\" HOTP_COUNTER 2\n"),
            true,
        ),
        (
            "RATE_LIMIT",
            format!("{S}\n\" TOTP_AUTH\n\" RATE_LIMIT 3 30\n"),
            totp_at(T),
            format!("{S}\n\" TOTP_AUTH\n\" RATE_LIMIT 3 30 {T}\n"),
            false,
        ),
    ];
    let mut total = 0;
    let mut mid_write = 0;
    for (name, old, answer, new, one_time) in &scenarios {
        let temp_syscalls = ["openat", "write", "fsync", "rename,renameat,renameat2"];
        let mut kills: Vec<Option<(bool, &str)>> = temp_syscalls
            .iter()
            .map(|s| Some((false, *s)))
            .chain([Some((true, "fsync"))])
            .collect();
        kills.extend(std::iter::repeat_n(None, random_kills));
        for (i, kill) in kills.into_iter().enumerate() {
            let c = Case::new(old.as_bytes());
            let s = format!("secret={}", c.path.display());
            let run = PamRun::new(stack(&[&s])).clock(T).answer(answer);
            let o = match kill {
                Some((on_dir, calls)) => {
                    let path = if on_dir {
                        c.dir.path().display().to_string()
                    } else {
                        format!("{}~", c.path.display())
                    };
                    let inject = format!("inject={calls}:signal=KILL");
                    run.run_under_strace(&["-P", &path, "-P", "ga~", "-e", &inject])
                        .expect("harness error: strace could not be started")
                }
                None => {
                    let mut p = run.prepare(false);
                    let mut child = p.cmd.spawn().expect("harness error: spawn pam_driver");
                    // Spread the kills over the driver's whole run (a few milliseconds).
                    let delay = (i as u64 * 7919) % 12_000;
                    std::thread::sleep(std::time::Duration::from_micros(delay));
                    let _ = child.kill();
                    let out = child.wait_with_output().expect("harness error: wait");
                    p.finish(&out).remove(0)
                }
            };
            total += 1;
            let after = c.state();
            let bytes = after.bytes.clone().unwrap_or_default();
            let is_new = bytes == new.as_bytes();
            o.check(
                bytes == old.as_bytes() || is_new,
                &format!(
                    "{name}, kill {i}: old or new state, got {:?}",
                    String::from_utf8_lossy(&bytes)
                ),
            );
            o.check(
                after.mode & 0o7777 == 0o600 || after.mode & 0o7777 == 0o400,
                &format!("{name}, kill {i}: mode {:o}", after.mode),
            );
            let left = temp_leftovers(c.dir.path());
            o.check(
                left.len() <= 1,
                &format!("{name}, kill {i}: leftovers {left:?}"),
            );
            if !left.is_empty() {
                mid_write += 1;
            }
            // The same login again, not killed.
            let again = c.run(T, answer, &[]);
            let expect_success = !(is_new && *one_time);
            again.check(
                (again.module_result() == code::SUCCESS) == expect_success,
                &format!("{name}, kill {i}: the next login is right (new state: {is_new})"),
            );
            // Every login of these scenarios writes, except a refused one-time code.
            if again.module_result() == code::SUCCESS || !*one_time {
                again.check(
                    temp_leftovers(c.dir.path()).is_empty(),
                    &format!("{name}, kill {i}: the next write clears the leftover"),
                );
            }
        }
    }
    println!(
        "crash campaign: {total} killed logins, {mid_write} left a temp file (at most one each), \
         0 inconsistent states"
    );

    // Leftovers piling up in one directory: the same RATE_LIMIT login (it always writes)
    // killed at the rename again and again, with this module and with Debian's.
    let piles = [
        ("ours", crate::support::our_module()),
        ("Debian's C module", crate::support::reference_module()),
    ];
    let kills = 50;
    for (name, module) in piles {
        let c = Case::new(format!("{S}\n\" TOTP_AUTH\n\" RATE_LIMIT 100 30\n").as_bytes());
        let s = format!("secret={}", c.path.display());
        for _ in 0..kills {
            let o = PamRun::new(Stack::new().probe(&module, &[&s]))
                .clock(T)
                .answer(totp_at(T))
                .run_under_strace(&["-e", "inject=rename,renameat,renameat2:signal=KILL"])
                .expect("harness error: strace could not be started");
            o.check(o.exit_code.is_none(), "killed at the rename");
        }
        let left = temp_leftovers(c.dir.path()).len();
        println!(
            "crash campaign: {name}: {left} temp files left after {kills} kills at the rename"
        );
        if name == "ours" {
            assert_eq!(left, 1, "at most one leftover");
        }
    }
}
