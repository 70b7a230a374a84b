//! Module log lines, file snapshots, and timed runs with extra driver arguments.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::*;

impl Outcome {
    /// The messages the module under test logged through `pam_syslog`, without libpam's
    /// `<module>(<service>:<type>): ` prefix (libpam's own lines are left out).
    pub fn module_log(&self) -> Vec<String> {
        self.syslog_messages()
            .into_iter()
            .filter(|m| m.contains("google_authenticator("))
            .filter_map(|m| m.split_once("): ").map(|(_, text)| text.to_string()))
            .collect()
    }

    /// How many module log lines are exactly `text`.
    pub fn log_count(&self, text: &str) -> usize {
        self.module_log().iter().filter(|m| *m == text).count()
    }
}

/// What a test checks about a file (or symlink, FIFO, device) to tell whether it changed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileState {
    /// The contents, for regular files (`None` otherwise).
    pub bytes: Option<Vec<u8>>,
    pub ino: u64,
    /// `st_mode` including the file type bits.
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub mtime_ns: i128,
}

/// The state of `path` itself (a symlink is not followed).
pub fn file_state(path: &Path) -> FileState {
    use std::os::unix::fs::MetadataExt;
    let m =
        std::fs::symlink_metadata(path).unwrap_or_else(|e| panic!("stat {}: {e}", path.display()));
    FileState {
        bytes: m
            .file_type()
            .is_file()
            .then(|| std::fs::read(path).expect("read file")),
        ino: m.ino(),
        mode: m.mode(),
        uid: m.uid(),
        gid: m.gid(),
        mtime_ns: i128::from(m.mtime()) * 1_000_000_000 + i128::from(m.mtime_nsec()),
    }
}

/// Names in `dir` that contain `~` (temporary files of a rewrite).
pub fn temp_leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.contains('~'))
                .collect()
        })
        .unwrap_or_default()
}

impl PamRun {
    /// Runs the driver once with `extra` arguments appended (driver options the builder has
    /// no field for, such as `--setcred` or `--answer-file`) and, when `cwd` is given, in
    /// that working directory. Returns the outcome and the wall time of the driver process
    /// (start-up included; building and locating the binaries is not).
    pub fn run_with(
        &self,
        extra: &[&std::ffi::OsStr],
        cwd: Option<&Path>,
    ) -> (Outcome, std::time::Duration) {
        let p = self.prepare(false);
        Self::run_prepared(p, extra, cwd)
    }

    /// Like [`Self::run_with`] without extras, for a module that switches its file system
    /// uid to another user: the syslog capture file is made writable for every user first,
    /// or the lines logged under the other uid would be lost.
    pub fn run_as_other_user(&self) -> (Outcome, std::time::Duration) {
        let p = self.prepare(false);
        std::fs::set_permissions(p.dir.path(), std::fs::Permissions::from_mode(0o755))
            .expect("chmod capture dir");
        std::fs::write(&p.syslog, b"").expect("create capture file");
        std::fs::set_permissions(&p.syslog, std::fs::Permissions::from_mode(0o666))
            .expect("chmod capture file");
        Self::run_prepared(p, &[], None)
    }

    fn run_prepared(
        mut p: Prepared,
        extra: &[&std::ffi::OsStr],
        cwd: Option<&Path>,
    ) -> (Outcome, std::time::Duration) {
        p.cmd.args(extra);
        if let Some(dir) = cwd {
            p.cmd.current_dir(dir);
        }
        let start = std::time::Instant::now();
        let out = p
            .cmd
            .output()
            .expect("harness error: cannot spawn pam_driver");
        let took = start.elapsed();
        let mut outcomes = p.finish(&out);
        assert_eq!(
            outcomes.len(),
            1,
            "harness error: expected one sequence:\n{}",
            outcomes[0].transcript()
        );
        (outcomes.remove(0).unwrap_checked(), took)
    }
}
