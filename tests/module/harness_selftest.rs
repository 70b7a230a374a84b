//! Tests of the test harness itself (driver, conversation modes, frozen clock, syslog
//! capture, barrier start), using only system modules and Debian's module.

use crate::support::otp::TEST_SECRET;
use crate::support::{
    ConvMode, EchoStyle, PamRun, Stack, code, current_user, reference_module, run_many,
    set_authtok_module, write_secret,
};
use pam_google_authenticator::core::catalogue;

fn one(module: &str) -> Stack {
    Stack::new().auth("required", module, &[])
}

#[test]
fn pam_permit_succeeds_and_pam_deny_fails() {
    let o = PamRun::new(one("pam_permit.so")).run();
    o.assert_result(code::SUCCESS);
    o.check(
        o.ended && o.prompts.is_empty() && o.exit_code == Some(0),
        "clean run",
    );
    let o = PamRun::new(one("pam_deny.so")).run();
    o.assert_result(code::AUTH_ERR);
    o.check(o.result_name == "PAM_AUTH_ERR", "result name");
}

#[test]
fn acct_mgmt_is_reported() {
    let stack = one("pam_permit.so").account("required", "pam_deny.so", &[]);
    let o = PamRun::new(stack).acct().run();
    o.assert_result(code::SUCCESS);
    o.check(
        o.acct == Some(code::PERM_DENIED) || o.acct == Some(code::AUTH_ERR),
        "acct line",
    );
}

fn prompt_stack(prompt: &str) -> Stack {
    let p = format!("prompt={prompt}");
    Stack::new()
        .auth("required", set_authtok_module(), &[&p])
        .report_authtok()
        .auth("required", "pam_deny.so", &[])
}

#[test]
fn script_conversation_answers_prompt_and_authtok_is_visible() {
    let answer = b"pa ss\"\\\x01\xff";
    let o = PamRun::new(prompt_stack("Pass word: "))
        .answer(answer)
        .run();
    o.assert_result(code::AUTH_ERR);
    o.check(
        o.prompts == vec![(EchoStyle::EchoOff, "Pass word: ".to_string())],
        "one echo-off prompt with the given text",
    );
    o.check(o.conv_calls == 1, "one conversation call");
    o.check(
        o.authtok_bytes.as_deref() == Some(&answer[..]),
        "authtok round-trips every byte",
    );
}

#[test]
fn exhausted_script_and_conv_error_leave_authtok_unset() {
    for run in [
        PamRun::new(prompt_stack("P: ")),
        PamRun::new(prompt_stack("P: "))
            .conv(ConvMode::ConvError)
            .answer("x"),
        PamRun::new(prompt_stack("P: ")).conv(ConvMode::Null),
        PamRun::new(prompt_stack("P: ")).conv(ConvMode::NullArray),
    ] {
        let o = run.run();
        o.assert_result(code::AUTH_ERR);
        o.check(
            o.prompts.len() == 1 && o.conv_calls == 1,
            "the prompt was recorded",
        );
        o.check(o.authtok.is_none(), "no authtok");
    }
}

#[test]
fn preset_authtok_and_ignore_marker() {
    let m = set_authtok_module();
    let stack = Stack::new()
        .auth("required", &m, &["preset=0123456789"])
        .auth("required", "pam_permit.so", &[]);
    let o = PamRun::new(stack).run();
    o.assert_result(code::SUCCESS);
    o.check(o.authtok.as_deref() == Some("0123456789"), "preset authtok");
    o.check(o.prompts.is_empty(), "no prompt");

    let o = PamRun::new(Stack::new().probe(&m, &["result=ignore", "preset=x"])).run();
    o.check(o.module_result() == code::IGNORE, "probe sees PAM_IGNORE");
    o.check(
        o.result == code::PERM_DENIED,
        "libpam turns all-ignore into PERM_DENIED",
    );
    let o = PamRun::new(Stack::new().probe("pam_deny.so", &[])).run();
    o.check(
        o.module_result() == code::AUTH_ERR,
        "probe passes AUTH_ERR through",
    );
    let o = PamRun::new(Stack::new().probe("pam_permit.so", &[])).run();
    o.check(
        o.module_result() == code::SUCCESS,
        "probe passes SUCCESS through",
    );
}

#[test]
fn clock_is_frozen_for_time_and_clock_gettime() {
    // `date` uses clock_gettime(CLOCK_REALTIME); the driver's module uses time().
    let dir = tempfile::tempdir().unwrap();
    let run = PamRun::new(one("pam_permit.so")).clock(300_000);
    let mut p = run.prepare(false);
    let probe = dir.path().join("probe.sh");
    std::fs::write(
        &probe,
        "#!/bin/sh\ndate +%s\nsleep 1.1\ndate +%s\npython3 -c 'import time; print(int(time.time()))' 2>/dev/null || date +%s\n",
    )
    .unwrap();
    let mut cmd = std::process::Command::new("sh");
    cmd.arg(&probe);
    for (k, v) in p.cmd.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(text.lines().collect::<Vec<_>>(), ["300000"; 3], "{text}");
    let _ = p.finish(&out);

    // Inside the driver itself, before pam_authenticate, in one process and in threads.
    let mut run = PamRun::new(one("pam_permit.so")).clock(300_000);
    run.show_clock = true;
    let o = run.run();
    o.check(
        o.clock == Some((300_000, "300000.000000000".to_string())),
        "time() and clock_gettime(CLOCK_REALTIME) are frozen at 300000",
    );
    for o in run.run_threads(3) {
        o.check(
            o.clock == Some((300_000, "300000.000000000".to_string())),
            "frozen in every thread",
        );
    }

    // Inside the driver: Debian's module accepts 050548 exactly at step 10000 ± 1.
    let (user, _) = current_user();
    let secret = write_secret(
        dir.path(),
        "ga",
        format!("{TEST_SECRET}\n\" TOTP_AUTH\n").as_bytes(),
        0o600,
    );
    let arg = format!("secret={}", secret.display());
    let stack = Stack::new().probe(reference_module(), &[&arg]);
    let o = PamRun::new(stack.clone())
        .user(&user)
        .clock(300_000)
        .answer("050548")
        .run();
    o.assert_result(code::SUCCESS);
    o.check(
        o.syslog_contains(&catalogue::accepted(&user).text),
        "syslog capture has Debian's Accepted line",
    );
    o.check(
        o.syslog
            .iter()
            .any(|l| l.starts_with("86\t") && l.contains("ga-test(pam_google_authenticator)")),
        "priority 86 (authpriv.info) and Debian's ident",
    );
    let o = PamRun::new(stack)
        .user(&user)
        .clock(300_090)
        .answer("050548")
        .run();
    o.assert_result(code::AUTH_ERR);
    o.check(
        o.syslog_contains(&catalogue::invalid_code(&user).text),
        "syslog has the Invalid line",
    );
}

#[test]
fn otp_code_functions_match_the_spec() {
    assert_eq!(
        crate::support::otp::totp_code(TEST_SECRET, 300_000),
        "050548"
    );
    assert_eq!(crate::support::otp::hotp_code(TEST_SECRET, 1), "293240");
    assert_eq!(crate::support::otp::hotp_code(TEST_SECRET, 5), "932068");
}

fn barrier_start(n: usize) {
    let runs: Vec<PamRun> = (0..n)
        .map(|i| PamRun::new(prompt_stack(&format!("P{i}: "))).answer(format!("a{i}")))
        .collect();
    let outs = run_many(&runs);
    assert_eq!(outs.len(), n);
    for (i, o) in outs.iter().enumerate() {
        o.assert_result(code::AUTH_ERR);
        o.check(o.prompts[0].1 == format!("P{i}: "), "own prompt");
        o.check(
            o.authtok.as_deref() == Some(format!("a{i}").as_str()),
            "own answer",
        );
    }
}

#[test]
fn barrier_start_of_20_drivers() {
    barrier_start(20);
}

#[test]
fn barrier_start_of_200_drivers() {
    barrier_start(200);
}

#[test]
fn threads_mode_runs_independent_sequences() {
    let outs = PamRun::new(prompt_stack("T: "))
        .answer("tok")
        .clock(300_000)
        .run_threads(4);
    assert_eq!(outs.len(), 4, "{}", outs[0].transcript());
    for (i, o) in outs.iter().enumerate() {
        o.check(o.thread == Some(i), "thread index");
        o.assert_result(code::AUTH_ERR);
        o.check(o.ended && o.prompts.len() == 1, "one prompt each");
        o.check(
            o.authtok.as_deref() == Some("tok"),
            "each thread's own answer",
        );
    }
}

/// A driver that fails says nothing about the modules: libfaketime refusing its setting (as
/// it refuses to start when a stale shared-memory file holds its name), or a preload
/// library the loader cannot find, is a harness error, not a PAM result.
#[test]
fn driver_failures_are_harness_errors() {
    let broken_clock = PamRun::new(one("pam_permit.so"))
        .clock(300_000)
        .env("FAKETIME", "not-a-time");
    let e = broken_clock.try_run().expect_err("libfaketime exits");
    assert!(
        e.to_string()
            .starts_with("harness error: the driver's stderr says: libfaketime"),
        "{e}"
    );

    let broken_preload =
        PamRun::new(one("pam_permit.so")).env("LD_PRELOAD", "/nonexistent/libnothing.so");
    let e = broken_preload.try_run().expect_err("the loader complains");
    assert!(e.to_string().contains("ld.so"), "{e}");

    let clean = PamRun::new(one("pam_permit.so")).clock(300_000);
    clean.try_run().expect("a clean run is no harness error");
}

#[test]
#[should_panic(expected = "harness error: the driver's stderr says: libfaketime")]
fn run_panics_with_harness_error() {
    let _ = PamRun::new(one("pam_permit.so"))
        .clock(300_000)
        .env("FAKETIME", "not-a-time")
        .run();
}

/// libfaketime works on the harness's own shared objects: no process under it makes a
/// `/dev/shm/faketime_shm_<pid>`, not even one that is killed (libfaketime leaves those
/// behind when a process dies, and a stale one with a reused pid makes a later driver
/// fail), and the harness's pair is gone after the run.
#[test]
fn frozen_clock_leaves_no_shared_memory_files() {
    let run = PamRun::new(one("pam_permit.so")).clock(300_000);
    let p = run.prepare(false);
    let shared = p.faketime.as_ref().expect("a frozen clock").env_value();
    let pair: Vec<std::path::PathBuf> = shared
        .split(' ')
        .zip(["sem.", ""])
        .map(|(name, prefix)| std::path::PathBuf::from(format!("/dev/shm/{prefix}{}", &name[1..])))
        .collect();
    for f in &pair {
        assert!(f.exists(), "{} exists during the run", f.display());
    }
    let mut cmd = std::process::Command::new("sh");
    cmd.args(["-c", "echo $$; date +%s; sh -c 'echo $$'"]);
    for (k, v) in p.cmd.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let out = cmd.output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        3,
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(lines[1], "300000", "the clock is frozen");
    assert!(
        out.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for pid in [lines[0], lines[2]] {
        for f in [
            format!("/dev/shm/faketime_shm_{pid}"),
            format!("/dev/shm/sem.faketime_sem_{pid}"),
        ] {
            assert!(!std::path::Path::new(&f).exists(), "{f} was created");
        }
    }
    // A process that dies leaves nothing named after its pid either.
    let mut cmd = std::process::Command::new("sleep");
    cmd.arg("10");
    for (k, v) in p.cmd.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    let mut child = cmd.spawn().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(300));
    child.kill().unwrap();
    let _ = child.wait();
    let pid = child.id();
    assert!(
        !std::path::Path::new(&format!("/dev/shm/faketime_shm_{pid}")).exists(),
        "a killed process left faketime_shm_{pid}"
    );
    drop(p);
    for f in &pair {
        assert!(!f.exists(), "{} is removed after the run", f.display());
    }
}

#[test]
fn dep_info_lists_every_source_of_the_first_rule() {
    use std::path::PathBuf;
    let text = "/t/a.so: /src/lib.rs /src/my\\ dir/x.rs  /build.rs\n\n/src/lib.rs:\n";
    assert_eq!(
        crate::support::dep_info_sources(text),
        [
            PathBuf::from("/src/lib.rs"),
            PathBuf::from("/src/my dir/x.rs"),
            PathBuf::from("/build.rs"),
        ]
    );
    assert!(crate::support::dep_info_sources("no rule here").is_empty());
}
