//! What a long-running host sees after many logins through the module.
//!
//! libpam loads the module on every `pam_start` and unloads it at `pam_end`, and hosts such
//! as sshd's monitor, JupyterHub or RStudio run many logins in one process, on threads that
//! come and go. So after `pam_end` nothing of the module's may be left: no heap block (lost
//! or still reachable), no mapping (a thread-local destructor would pin the module, or run
//! after it is gone), no growth of the resident set, and no change to the host's state
//! (descriptors, umask, signals, working directory, credentials, every thread's fs ids).
//!
//! The host is `tests/support/pam_host.c`, a C program that links only libc and libpam, so
//! every figure is about the module. Each run cycles through five paths: success (HOTP, the
//! file is rewritten), a wrong code (TOTP), a scratch code (the file is rewritten), no file
//! with `nullok`, and a file that is not a secret file; every login is a distinct user.
//!
//! The counts are small here; `scripts/campaign-hygiene.sh` runs the long versions
//! (`GA_MEMCHECK_CYCLES`, `GA_HYGIENE_LOGINS`) and, with `GA_HOST_COMPARE=1`, prints the same
//! figures for Debian's C module next to ours (nothing is asserted about the C module).

// The shared harness, of which this binary uses a part.
#[allow(dead_code)]
mod support;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use support::otp::{TEST_SECRET, hotp_code};
use support::otp::{now, wrong_code_near};
use support::{
    code, current_user, our_module, pam_host, panics_module, reference_module, write_secret,
};

const S: &str = TEST_SECRET;
const SCRATCH: &str = "12345678";

/// A count from the environment (the campaign's long runs), else `default`.
fn count(var: &str, default: usize) -> usize {
    match std::env::var(var) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("harness error: {var}={v} is not a number")),
        Err(_) => default,
    }
}

/// A user's uid (`flag` "-u") or primary gid ("-g").
fn id(name: &str, flag: &str) -> u32 {
    let out = Command::new("id")
        .args([flag, name])
        .output()
        .expect("harness error: run id");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("harness error: no user {name}"))
}

fn compare_with_c() -> bool {
    std::env::var_os("GA_HOST_COMPARE").is_some_and(|v| v == "1")
}

/// A PAM configuration directory with one service per path and a secret file for every user
/// (`u<i>`) that needs one. The module switches to `owner` (`user=`), by default the running
/// user, for the files, which `owner` owns.
struct Fixture {
    dir: tempfile::TempDir,
    module: PathBuf,
    scenarios: Vec<String>,
    env: Vec<(&'static str, &'static str)>,
}

impl Fixture {
    fn new(module: &Path, logins: usize) -> Self {
        Self::owned_by(module, logins, None)
    }

    fn owned_by(module: &Path, logins: usize, owner: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("harness error: temp dir");
        let root = dir.path();
        let me = owner.map_or_else(|| current_user().0, str::to_string);
        let ids = owner.map(|name| (id(name, "-u"), id(name, "-g")));
        let chown = |p: &Path| {
            if let Some((uid, gid)) = ids {
                std::os::unix::fs::chown(p, Some(uid), Some(gid))
                    .expect("harness error: chown (root is needed)");
            }
        };
        // Every user may traverse the temp dir (its own mode is 0700).
        std::fs::set_permissions(root, std::fs::Permissions::from_mode(0o755)).unwrap();
        let confdir = root.join("pam.d");
        std::fs::create_dir(&confdir).unwrap();
        // (service, expected result, answer, secret file contents; None: no file)
        let paths: [(&str, i32, String, Option<String>); 5] = [
            (
                "ok",
                code::SUCCESS,
                hotp_code(S, 1),
                Some(format!("{S}\n\" HOTP_COUNTER 1\n")),
            ),
            (
                "wrong",
                code::AUTH_ERR,
                wrong_code_near(now(), 3600, 86400),
                Some(format!("{S}\n\" TOTP_AUTH\n")),
            ),
            (
                "scratch",
                code::SUCCESS,
                SCRATCH.to_string(),
                Some(format!("{S}\n\" TOTP_AUTH\n{SCRATCH}\n")),
            ),
            // libpam turns a stack whose only module ignores the login into PAM_PERM_DENIED.
            ("nullok", code::PERM_DENIED, String::new(), None),
            (
                "bad",
                code::AUTH_ERR,
                hotp_code(S, 1),
                Some("NOT*BASE32\n\" TOTP_AUTH\n".to_string()),
            ),
        ];
        let mut scenarios = Vec::new();
        for (k, (service, expected, answer, contents)) in paths.iter().enumerate() {
            let files = root.join(service);
            std::fs::create_dir(&files).unwrap();
            chown(&files);
            let mut line = format!(
                "auth required {} secret={}/${{USER}} user={me}",
                module.display(),
                files.display()
            );
            if contents.is_none() {
                line.push_str(" nullok");
            }
            std::fs::write(confdir.join(service), format!("{line}\n")).unwrap();
            if let Some(contents) = contents {
                for i in (k..logins).step_by(paths.len()) {
                    chown(&write_secret(
                        &files,
                        &format!("u{i}"),
                        contents.as_bytes(),
                        0o600,
                    ));
                }
            }
            scenarios.push(format!("{service}:{expected}:{answer}"));
        }
        Fixture {
            dir,
            module: module.to_path_buf(),
            scenarios,
            env: Vec::new(),
        }
    }

    /// One service, `panic`, with only `pam_panics.so`, run with `RUST_BACKTRACE=1` (which
    /// makes the standard library's default panic hook resolve a backtrace).
    fn panicking() -> Self {
        let dir = tempfile::tempdir().expect("harness error: temp dir");
        let module = panics_module();
        let confdir = dir.path().join("pam.d");
        std::fs::create_dir(&confdir).unwrap();
        std::fs::write(
            confdir.join("panic"),
            format!("auth required {}\n", module.display()),
        )
        .unwrap();
        Fixture {
            dir,
            module,
            scenarios: vec![format!("panic:{}:", code::AUTH_ERR)],
            env: vec![("RUST_BACKTRACE", "1")],
        }
    }

    /// Runs `pam_host` with `options`, under `wrapper` (e.g. valgrind) if not empty.
    fn run(&self, wrapper: &[OsString], options: &[&str]) -> HostRun {
        let host = pam_host();
        let mut cmd = match wrapper.split_first() {
            Some((first, rest)) => {
                let mut c = Command::new(first);
                c.args(rest).arg(&host);
                c
            }
            None => Command::new(&host),
        };
        cmd.envs(self.env.iter().copied())
            .args(options)
            .arg("-m")
            .arg(&self.module)
            .arg(self.dir.path().join("pam.d"))
            .args(&self.scenarios);
        let out = cmd
            .output()
            .unwrap_or_else(|e| panic!("harness error: cannot run {cmd:?}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.code() == Some(0) || out.status.code() == Some(1),
            "pam_host did not finish ({}): either a harness error or the process crashed \
             (a crash is the module's fault when a thread-local destructor ran after it was \
             unloaded)\nstdout:\n{stdout}\nstderr:\n{stderr}",
            out.status
        );
        let figures: BTreeMap<String, String> = stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .filter(|(k, _)| !k.contains(' '))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert!(
            figures.contains_key("violations"),
            "harness error: pam_host printed no figures\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        HostRun {
            stdout,
            stderr,
            figures,
        }
    }
}

struct HostRun {
    stdout: String,
    stderr: String,
    figures: BTreeMap<String, String>,
}

impl HostRun {
    fn get(&self, key: &str) -> i64 {
        self.figures
            .get(key)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("harness error: no figure {key} in\n{}", self.stdout))
    }

    fn violations(&self) -> Vec<&str> {
        self.stdout
            .lines()
            .filter(|l| l.starts_with("violation: "))
            .collect()
    }
}

/// What memcheck said about one run.
struct Memcheck {
    host: HostRun,
    summary: BTreeMap<&'static str, u64>,
    /// Leak records (any kind) with a frame in the module.
    module_blocks: Vec<String>,
    /// Errors other than leaks (invalid reads and writes, uninitialised values, ...).
    memory_errors: Vec<String>,
}

fn valgrind_version() -> String {
    let out = Command::new("valgrind").arg("--version").output();
    match out {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).trim().to_string(),
        _ => panic!(
            "harness error: valgrind is needed by the memory tests; install it with \
             `apt-get install valgrind` (`make deps` does)"
        ),
    }
}

fn memcheck(fixture: &Fixture, options: &[&str]) -> Memcheck {
    valgrind_version();
    let logs = tempfile::tempdir().unwrap();
    let log = logs.path().join("memcheck.log");
    let xml = logs.path().join("memcheck.xml");
    let wrapper: Vec<OsString> = vec![
        "valgrind".into(),
        "--tool=memcheck".into(),
        "--leak-check=full".into(),
        "--show-leak-kinds=all".into(),
        "--errors-for-leak-kinds=definite,indirect".into(),
        // Stacks through the module stay readable after libpam has unloaded it.
        "--keep-debuginfo=yes".into(),
        "--num-callers=50".into(),
        format!("--log-file={}", log.display()).into(),
        // The figures and stacks are read from the XML (one <error> per leak record).
        "--xml=yes".into(),
        format!("--xml-file={}", xml.display()).into(),
    ];
    let host = fixture.run(&wrapper, options);
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    let xml = std::fs::read_to_string(&xml).expect("harness error: no valgrind XML");
    assert!(
        xml.contains("</valgrindoutput>"),
        "harness error: valgrind did not finish:\n{log}\n{xml}"
    );
    let errors: Vec<&str> = xml.split("<error>").skip(1).collect();
    let mut summary = BTreeMap::new();
    for (key, kind) in [
        ("definitely_lost_bytes", "Leak_DefinitelyLost"),
        ("indirectly_lost_bytes", "Leak_IndirectlyLost"),
        ("possibly_lost_bytes", "Leak_PossiblyLost"),
        ("still_reachable_bytes", "Leak_StillReachable"),
    ] {
        let bytes = errors
            .iter()
            .filter(|e| e.contains(&format!("<kind>{kind}</kind>")))
            .filter_map(|e| between(e, "<leakedbytes>", "</leakedbytes>"))
            .map(|n| n.parse::<u64>().unwrap_or(0))
            .sum();
        summary.insert(key, bytes);
    }
    let memory_errors: Vec<String> = errors
        .iter()
        .filter(|e| !e.contains("<kind>Leak_"))
        .map(|e| describe(e, "<what>"))
        .collect();
    summary.insert("errors", memory_errors.len() as u64);
    let module_name = fixture
        .module
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("pam_google_authenticator")
        .to_string();
    let module_blocks = errors
        .iter()
        .filter(|e| e.contains("<kind>Leak_"))
        .filter(|e| e.contains(&format!("/{module_name}</obj>")))
        .map(|e| describe(e, "<text>"))
        .collect();
    Memcheck {
        host,
        summary,
        module_blocks,
        memory_errors,
    }
}

fn between<'a>(s: &'a str, open: &str, close: &str) -> Option<&'a str> {
    let start = s.find(open)? + open.len();
    let len = s[start..].find(close)?;
    Some(&s[start..start + len])
}

/// A leak record or error from the XML: what it is and the innermost function names.
fn describe(error: &str, what_tag: &str) -> String {
    let close = what_tag.replace('<', "</");
    let what = between(error, what_tag, &close).unwrap_or("?");
    let frames: Vec<&str> = error
        .split("<frame>")
        .skip(1)
        .filter_map(|f| between(f, "<fn>", "</fn>"))
        .take(16)
        .collect();
    format!("{what}\n    {}", frames.join("\n    "))
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn print_memcheck(label: &str, m: &Memcheck) {
    let s = &m.summary;
    eprintln!(
        "memcheck {label}: {} logins, definitely lost {} B, indirectly lost {} B, possibly \
         lost {} B, still reachable {} B, memory errors {}, leak records through the module \
         {}, host violations {}",
        m.host.get("logins"),
        s["definitely_lost_bytes"],
        s["indirectly_lost_bytes"],
        s["possibly_lost_bytes"],
        s["still_reachable_bytes"],
        s["errors"],
        m.module_blocks.len(),
        m.host.get("violations"),
    );
}

/// Memcheck over load/unload cycles (every path, on threads that start and exit one at a
/// time, so every login loads and unloads the module): no error, nothing lost, and no block
/// still reachable that was allocated through the module. Pins the base32 decoder that was
/// built lazily into a `static` and leaked on every unload.
#[test]
fn memcheck_finds_no_error_and_no_block_left_by_the_module_after_pam_end() {
    let cycles = count("GA_MEMCHECK_CYCLES", 50);
    let n = cycles.to_string();
    let options = ["-n", &n, "-t", "1", "-b", "5", "-w", "0"];
    let ours = memcheck(&Fixture::new(&our_module(), cycles), &options);
    print_memcheck("ours", &ours);
    if compare_with_c() {
        let c = memcheck(&Fixture::new(&reference_module(), cycles), &options);
        print_memcheck("Debian's C module", &c);
    }
    let s = &ours.summary;
    assert!(
        ours.host.violations().is_empty(),
        "the host saw changes: {:#?}",
        ours.host.violations()
    );
    assert_eq!(
        (s["definitely_lost_bytes"], s["indirectly_lost_bytes"]),
        (0, 0),
        "bytes definitely and indirectly lost after {cycles} load/unload cycles; e.g.\n{}",
        ours.module_blocks.first().map(String::as_str).unwrap_or("")
    );
    assert!(
        ours.module_blocks.is_empty(),
        "{} leak records allocated through the module, e.g.\n{}",
        ours.module_blocks.len(),
        ours.module_blocks.first().map(String::as_str).unwrap_or("")
    );
    assert!(
        ours.memory_errors.is_empty(),
        "memcheck reported errors: {:#?}",
        ours.memory_errors
    );
}

/// After `pam_end` in the main thread (which never exits), no mapping of the module is left:
/// nothing pins it (no thread-local destructor registered with the C library, no
/// `RTLD_NODELETE`), so its code and data are really gone.
#[test]
fn module_is_unmapped_after_every_pam_end() {
    let logins = 20;
    let f = Fixture::new(&our_module(), logins);
    let run = f.run(&[], &["-n", &logins.to_string(), "-t", "0"]);
    let pinned: Vec<&str> = run
        .violations()
        .into_iter()
        .filter(|v| v.contains("still mapped"))
        .collect();
    assert!(pinned.is_empty(), "the module stays loaded: {pinned:#?}");
    assert_eq!(run.get("module_mapped_at_end"), 0);
    assert!(
        run.violations().is_empty(),
        "the host saw changes: {:#?}",
        run.violations()
    );
}

/// A panic inside the module is caught at its boundary (`src/pam/guard.rs`, here in a test
/// module that panics on every call) and leaves nothing in the host: nothing on its stderr,
/// no mapping after `pam_end` (the default panic hook, with `RUST_BACKTRACE` set in the
/// host's environment, cached a backtrace that kept the module loaded), no crash of a
/// thread that exits later, no growth of the resident set.
#[test]
fn a_caught_panic_prints_nothing_and_leaves_nothing_behind() {
    let run = Fixture::panicking().run(&[], &["-n", "400", "-t", "8", "-x", "-b", "10", "-s"]);
    assert!(
        run.violations().is_empty(),
        "the host saw changes: {:#?}",
        run.violations()
    );
    assert_eq!(run.get("result_7"), 400, "every login fails closed");
    assert!(
        run.stderr.is_empty(),
        "the module wrote to the host's stderr:\n{}",
        run.stderr
    );
    let growth = run.get("rss_end_kb") - run.get("rss_warm_kb");
    assert!(
        growth < RSS_GROWTH_LIMIT_KB,
        "the resident set grew by {growth} kB after warm-up"
    );
}

/// The unwinder a caught panic needs is linked into the module (`build.rs`), so a login
/// does not load and unload `libgcc_s.so.1` in hosts that do not link it (sshd, login,
/// su). The panicking test module is linked the same way, so the test above shows that
/// this unwinder catches a panic under a real C host.
#[test]
fn the_modules_carry_their_unwinder() {
    for module in [our_module(), panics_module()] {
        let out = Command::new("readelf")
            .arg("--dynamic")
            .arg(&module)
            .output()
            .unwrap_or_else(|e| panic!("harness error: cannot run readelf: {e}"));
        assert!(
            out.status.success(),
            "harness error: readelf {}",
            module.display()
        );
        let dynamic = String::from_utf8_lossy(&out.stdout);
        let needed: Vec<&str> = dynamic.lines().filter(|l| l.contains("(NEEDED)")).collect();
        assert!(
            !needed.is_empty(),
            "harness error: no NEEDED entries in {dynamic}"
        );
        assert!(
            !needed.iter().any(|l| l.contains("libgcc_s")),
            "{} needs libgcc_s: {needed:#?}",
            module.display()
        );
    }
}

/// The same under memcheck: nothing lost, nothing left reachable through the module.
#[test]
fn memcheck_finds_nothing_left_by_a_caught_panic() {
    let m = memcheck(
        &Fixture::panicking(),
        &["-n", "20", "-t", "1", "-b", "5", "-w", "0"],
    );
    print_memcheck("panic boundary", &m);
    assert!(
        m.host.violations().is_empty(),
        "the host saw changes: {:#?}",
        m.host.violations()
    );
    assert_eq!(
        (
            m.summary["definitely_lost_bytes"],
            m.summary["indirectly_lost_bytes"]
        ),
        (0, 0),
        "bytes definitely and indirectly lost"
    );
    assert!(
        m.module_blocks.is_empty(),
        "{} leak records allocated through the module, e.g.\n{}",
        m.module_blocks.len(),
        m.module_blocks.first().map(String::as_str).unwrap_or("")
    );
    assert!(
        m.memory_errors.is_empty(),
        "memcheck reported errors: {:#?}",
        m.memory_errors
    );
}

/// Distinct users log in on 8 threads at once; the threads each do a few logins and exit,
/// while another thread samples the process: the host's descriptors, umask, signal
/// dispositions and mask, working directory, credentials and every thread's fs ids are the
/// same after every call and whenever a thread is outside a call; after every wave the
/// module is unmapped; the resident set stays flat after warm-up.
#[test]
fn host_state_is_unchanged_by_concurrent_logins_on_threads_that_start_and_exit() {
    hygiene(None, Turns::Concurrent);
}

/// The same with the 8 threads taking turns, so that every login loads and unloads the
/// module (concurrent logins share one load): the resident set stays flat after warm-up.
/// A leak of 1 KiB per load grew it by 1 MB per 1,000 logins.
#[test]
fn resident_set_stays_flat_when_every_login_loads_and_unloads_the_module() {
    hygiene(None, Turns::OneAtATime);
}

/// The concurrent run as root with the files owned by `nobody`, so the module really
/// switches each calling thread's fs ids to nobody's and back; the other threads, and the
/// calling thread after the call, must never see a change.
#[test]
#[ignore = "root tier: the module switches the fs ids of the calling threads"]
fn host_state_is_unchanged_when_the_module_switches_fs_ids_on_many_threads() {
    // SAFETY: geteuid has no preconditions.
    let uid = unsafe { libc::geteuid() };
    assert_eq!(
        uid, 0,
        "root tier: this test must run as root (cargo test --test host_hygiene -- --ignored)"
    );
    hygiene(Some("nobody"), Turns::Concurrent);
}

#[derive(Clone, Copy, PartialEq)]
enum Turns {
    Concurrent,
    OneAtATime,
}

/// The most the resident set may grow after warm-up (the first tenth of the logins).
const RSS_GROWTH_LIMIT_KB: i64 = 512;

fn hygiene(owner: Option<&str>, turns: Turns) {
    let logins = count("GA_HYGIENE_LOGINS", 2_000);
    let n = logins.to_string();
    let mut options = vec!["-n", &n, "-t", "8", "-b", "10", "-s"];
    if turns == Turns::OneAtATime {
        options.push("-x");
    }
    let label = format!(
        "{}{}",
        match turns {
            Turns::Concurrent => "concurrent",
            Turns::OneAtATime => "one at a time",
        },
        owner.map(|o| format!(", files of {o}")).unwrap_or_default()
    );
    let ours = Fixture::owned_by(&our_module(), logins, owner).run(&[], &options);
    let report = |module: &str, r: &HostRun| {
        eprintln!(
            "hygiene {module} ({label}): {} logins on {} waves of {} threads; RSS start {} kB, \
             after warm-up {} kB, end {} kB, max {} kB (growth after warm-up {} kB); fds {} -> \
             {}; sampler passes {}; violations {}",
            r.get("logins"),
            r.get("waves"),
            r.get("threads"),
            r.get("rss_start_kb"),
            r.get("rss_warm_kb"),
            r.get("rss_end_kb"),
            r.get("rss_max_kb"),
            r.get("rss_end_kb") - r.get("rss_warm_kb"),
            r.get("fds_start"),
            r.get("fds_end"),
            r.get("samples"),
            r.get("violations"),
        );
        let kinds: Vec<String> = r
            .figures
            .iter()
            .filter_map(|(k, v)| Some(format!("{}: {v}", k.strip_prefix("violations_")?)))
            .collect();
        if !kinds.is_empty() {
            eprintln!("  violations by kind: {}", kinds.join(", "));
        }
        for v in r.violations().iter().take(5) {
            eprintln!("  {v}");
        }
    };
    report("ours", &ours);
    if compare_with_c() {
        let c = Fixture::owned_by(&reference_module(), logins, owner).run(&[], &options);
        report("Debian's C module", &c);
    }
    assert_eq!(ours.get("logins"), logins as i64, "not every login ran");
    assert!(
        ours.violations().is_empty(),
        "the host saw changes: {:#?}",
        ours.violations()
    );
    let growth = ours.get("rss_end_kb") - ours.get("rss_warm_kb");
    assert!(
        growth < RSS_GROWTH_LIMIT_KB,
        "the resident set grew by {growth} kB after warm-up over {logins} logins"
    );
    assert!(
        ours.get("samples") > 0,
        "harness error: the sampler never ran"
    );
}
