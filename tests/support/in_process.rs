//! PAM inside the calling process: a service for the current user, authenticated through
//! [`pam_client`](super::pam_client) from any thread.

use std::ffi::CString;

use super::pam_client::authenticate_once;
use super::{Stack, current_user};

/// What one `pam_authenticate` returned.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Attempt {
    pub result: i32,
    pub prompts: usize,
}

/// A PAM service (a `pam.d` directory in a temp dir) for the current user.
pub struct Service {
    _dir: tempfile::TempDir,
    confdir: CString,
    user: CString,
}

/// The service name used for [`Service`].
const SERVICE: &std::ffi::CStr = c"ga-test";

impl Service {
    /// Writes `stack` as the service file.
    pub fn new(stack: &Stack) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let confdir = dir.path().join("pam.d");
        std::fs::create_dir(&confdir).expect("mkdir pam.d");
        std::fs::write(confdir.join("ga-test"), stack.text()).expect("write service");
        std::fs::write(confdir.join("other"), "auth required pam_deny.so\n").expect("write other");
        let confdir = CString::new(confdir.into_os_string().into_encoded_bytes())
            .expect("no NUL in a temp path");
        let user = CString::new(current_user().0).expect("no NUL in a user name");
        Self {
            _dir: dir,
            confdir,
            user,
        }
    }

    /// One pam_start / pam_authenticate / pam_end, answering every prompt with `answer`.
    /// Safe to call from many threads at once.
    pub fn authenticate(&self, answer: &str) -> Attempt {
        let login = authenticate_once(&self.confdir, SERVICE, &self.user, answer)
            .expect("pam_start_confdir failed");
        Attempt {
            result: login.result,
            prompts: login.prompts.len(),
        }
    }
}
