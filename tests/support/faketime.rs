//! The frozen clock: libfaketime, the environment that freezes a command's clock, and the
//! shared objects libfaketime would otherwise leave behind.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// `libfaketime.so.1`: `GA_LIBFAKETIME`, else `dpkg -L libfaketime`, else the usual paths.
pub fn libfaketime() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(p) = std::env::var_os("GA_LIBFAKETIME") {
            return PathBuf::from(p);
        }
        if let Ok(out) = Command::new("dpkg").args(["-L", "libfaketime"]).output() {
            let text = String::from_utf8_lossy(&out.stdout);
            if let Some(line) = text
                .lines()
                .find(|l| l.ends_with("/libfaketime.so.1") && Path::new(l).exists())
            {
                return PathBuf::from(line);
            }
        }
        let mut candidates = vec![
            PathBuf::from("/usr/local/lib/faketime/libfaketime.so.1"),
            PathBuf::from("/usr/lib/faketime/libfaketime.so.1"),
        ];
        if let Ok(dir) = std::fs::read_dir("/usr/lib") {
            for e in dir.flatten() {
                candidates.push(e.path().join("faketime/libfaketime.so.1"));
            }
        }
        candidates
            .into_iter()
            .find(|p| p.exists())
            .unwrap_or_else(|| {
                panic!(
                    "harness error: libfaketime.so.1 not found; install it with `make deps` \
                     (or `apt-get install libfaketime`), or set GA_LIBFAKETIME"
                )
            })
    })
    .clone()
}

/// Sets the environment that makes libfaketime (preloaded by the caller) freeze the clock
/// of `cmd` and its children at `t` (Unix seconds): no cache, real monotonic clocks, real
/// file times, and no shared memory of libfaketime's own. Keep the returned value until
/// the command and its children have exited.
pub fn freeze_clock(cmd: &mut Command, t: i64) -> FaketimeShared {
    let shared = FaketimeShared::new();
    cmd.env("FAKETIME_FMT", "%s")
        .env("FAKETIME", t.to_string())
        .env("FAKETIME_NO_CACHE", "1")
        .env("FAKETIME_DONT_FAKE_MONOTONIC", "1")
        .env("NO_FAKE_STAT", "1")
        .env("FAKETIME_DISABLE_SHM", "1")
        .env("FAKETIME_SHARED", shared.env_value());
    shared
}

/// The semaphore and shared-memory object libfaketime uses, made and removed by the harness.
///
/// Left alone, libfaketime creates `/dev/shm/faketime_shm_<pid>` and
/// `/dev/shm/sem.faketime_sem_<pid>` in every process it is preloaded into, and leaves them
/// behind when the process dies (killed, or ending without its exit handlers, as `dash`
/// does). A later driver that gets the same pid then dies with `shm_open failed: File
/// exists`. `FAKETIME_DISABLE_SHM=1` stops this from libfaketime 0.9.11 on; older versions
/// (Debian 12 has 0.9.10) ignore it, but take a pair that already exists from
/// `FAKETIME_SHARED` instead of creating their own. So each run gets a pair of its own,
/// named after this process and a counter (never a driver's pid), initialised as
/// libfaketime initialises it, and unlinked when this value is dropped.
#[derive(Debug)]
pub struct FaketimeShared {
    sem: std::ffi::CString,
    shm: std::ffi::CString,
}

/// The size libfaketime maps: `struct ft_shared_s` (two counters and four timespecs) fits.
const FT_SHARED_SIZE: usize = 4096;

impl FaketimeShared {
    /// Creates a fresh pair (an existing one of the same name, left by a killed earlier
    /// process with this pid, is replaced).
    pub fn new() -> Self {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let base = format!("ga-test-faketime-{}-{n}", std::process::id());
        let this = Self {
            sem: std::ffi::CString::new(format!("/{base}-sem")).expect("no NUL"),
            shm: std::ffi::CString::new(format!("/{base}-shm")).expect("no NUL"),
        };
        this.unlink();
        // SAFETY: the name is a valid C string; with O_CREAT, sem_open takes the mode and
        // the initial value as two further (unsigned int) arguments.
        let sem = unsafe {
            libc::sem_open(
                this.sem.as_ptr(),
                libc::O_CREAT | libc::O_EXCL,
                0o600 as libc::c_uint,
                1 as libc::c_uint,
            )
        };
        assert!(
            sem != libc::SEM_FAILED,
            "harness error: sem_open {:?}: {}",
            this.sem,
            std::io::Error::last_os_error()
        );
        // SAFETY: `sem` is the semaphore sem_open just returned; it is not used afterwards.
        unsafe { libc::sem_close(sem) };
        // SAFETY: the name is a valid C string.
        let fd = unsafe {
            libc::shm_open(
                this.shm.as_ptr(),
                libc::O_CREAT | libc::O_EXCL | libc::O_RDWR,
                0o600,
            )
        };
        assert!(
            fd >= 0,
            "harness error: shm_open {:?}: {}",
            this.shm,
            std::io::Error::last_os_error()
        );
        // SAFETY: shm_open returned a new descriptor that nothing else owns.
        let mut file = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
        // ticks = 0, file_idx = 0, then the start times (real, monotonic, raw, boot) with
        // tv_nsec = -1, which tells libfaketime that no start time is set yet.
        let mut init = vec![0u8; 16];
        for _ in 0..4 {
            init.extend_from_slice(&0i64.to_ne_bytes());
            init.extend_from_slice(&(-1i64).to_ne_bytes());
        }
        init.resize(FT_SHARED_SIZE, 0);
        file.write_all(&init)
            .unwrap_or_else(|e| panic!("harness error: initialise {:?}: {e}", this.shm));
        this
    }

    /// The value of `FAKETIME_SHARED`: the semaphore's and the object's names.
    pub fn env_value(&self) -> String {
        format!(
            "{} {}",
            self.sem.to_string_lossy(),
            self.shm.to_string_lossy()
        )
    }

    fn unlink(&self) {
        // SAFETY: both names are valid C strings; a missing name is not an error here.
        unsafe {
            libc::sem_unlink(self.sem.as_ptr());
            libc::shm_unlink(self.shm.as_ptr());
        }
    }
}

impl Drop for FaketimeShared {
    fn drop(&mut self) {
        self.unlink();
    }
}
