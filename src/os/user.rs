//! Looking users up in the passwd database.
//!
//! The flow needs the target user's uid, primary gid and home directory (for `~` and `${HOME}`
//! in the secret path). Lookups use the reentrant `getpwnam_r`/`getpwuid_r`, so they are safe
//! from many threads, and unlike upstream they retry with a larger buffer when the entry does
//! not fit (ERANGE), so users with large passwd entries (long GECOS fields, LDAP) can log in.

use std::ffi::{CStr, CString, c_char, c_int};
use std::mem::MaybeUninit;

/// Size used when `sysconf(_SC_GETPW_R_SIZE_MAX)` gives no hint.
const DEFAULT_BUFFER: usize = 4096;

/// The buffer never grows beyond this; an entry that needs more is treated as an error.
const MAX_BUFFER: usize = 1 << 20;

/// The fields of a passwd entry the module uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserInfo {
    /// The login name, as stored in the database.
    pub name: Vec<u8>,
    /// The user id.
    pub uid: u32,
    /// The primary group id.
    pub gid: u32,
    /// The home directory; `None` when the entry has none (`pw_dir` is NULL).
    pub home: Option<Vec<u8>>,
}

/// Why a lookup gave no user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LookupError {
    /// The database answered, and has no such user.
    #[error("no such user")]
    NotFound,
    /// The lookup itself failed; the value is what `getpw*_r` returned (an errno value).
    #[error("passwd lookup failed with error {0}")]
    Os(i32),
}

/// Looks a user up by login name.
///
/// A name containing a NUL byte cannot name any user and gives [`LookupError::NotFound`].
pub fn by_name(name: &[u8]) -> Result<UserInfo, LookupError> {
    let Ok(name) = CString::new(name) else {
        return Err(LookupError::NotFound);
    };
    lookup(|pwd, buf, len, result| {
        // SAFETY: `name` is a NUL-terminated string that outlives the call; `pwd`, `buf`/`len`
        // and `result` come from `lookup`, which passes a writable passwd, a writable buffer of
        // exactly `len` bytes and a writable result pointer, all live for the call.
        unsafe { libc::getpwnam_r(name.as_ptr(), pwd, buf, len, result) }
    })
}

/// Looks a user up by uid.
pub fn by_uid(uid: u32) -> Result<UserInfo, LookupError> {
    lookup(|pwd, buf, len, result| {
        // SAFETY: as in `by_name`: every pointer comes from `lookup`, which keeps what they point
        // to alive and writable for the duration of the call.
        unsafe { libc::getpwuid_r(uid, pwd, buf, len, result) }
    })
}

/// One entry of the passwd database, as the audit lists them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// The login name.
    pub name: Vec<u8>,
    /// The user id.
    pub uid: u32,
    /// The primary group id.
    pub gid: u32,
    /// The login shell, if any.
    pub shell: Option<Vec<u8>>,
}

/// Every account the passwd database lists through NSS (files, LDAP, SSSD with enumeration
/// on), in database order.
///
/// Uses `setpwent`/`getpwent`/`endpwent`, which share one cursor per process: call it from
/// one thread, before any other thread enumerates.
pub fn all() -> Result<Vec<Account>, LookupError> {
    let mut out = Vec::new();
    // SAFETY: setpwent only rewinds libc's enumeration cursor.
    unsafe { libc::setpwent() };
    let result = loop {
        // SAFETY: errno is thread-local; writing it is always allowed.
        unsafe { *libc::__errno_location() = 0 };
        // SAFETY: getpwent returns NULL or a pointer to libc's static entry, valid until the
        // next call on this cursor; it is copied before that.
        let entry = unsafe { libc::getpwent() };
        if entry.is_null() {
            let errno = std::io::Error::last_os_error().raw_os_error().unwrap_or(0);
            break match errno {
                0 | libc::ENOENT => Ok(out),
                e => Err(LookupError::Os(e)),
            };
        }
        // SAFETY: non-null; its strings are NULL or live NUL-terminated strings until the next
        // getpwent call.
        let pwd = unsafe { &*entry };
        // SAFETY: as above.
        let (name, shell) = unsafe { (c_bytes(pwd.pw_name), c_bytes(pwd.pw_shell)) };
        out.push(Account {
            name: name.unwrap_or_default(),
            uid: pwd.pw_uid,
            gid: pwd.pw_gid,
            shell,
        });
    };
    // SAFETY: endpwent only closes libc's enumeration cursor.
    unsafe { libc::endpwent() };
    result
}

/// A group's id and the names listed as its members (`getgrnam_r`, growing the buffer on
/// ERANGE). Users whose primary group it is are not listed; compare their gid.
pub fn group(name: &[u8]) -> Result<(u32, Vec<Vec<u8>>), LookupError> {
    let Ok(name) = CString::new(name) else {
        return Err(LookupError::NotFound);
    };
    with_growing_buffer(DEFAULT_BUFFER, |buf| {
        let mut grp = MaybeUninit::<libc::group>::uninit();
        let mut result: *mut libc::group = std::ptr::null_mut();
        // SAFETY: every pointer is valid and writable for the call; `buf` has `buf.len()`
        // bytes.
        let rc = unsafe {
            libc::getgrnam_r(
                name.as_ptr(),
                grp.as_mut_ptr(),
                buf.as_mut_ptr().cast(),
                buf.len(),
                &mut result,
            )
        };
        if rc != 0 || result.is_null() {
            return (rc, None);
        }
        // SAFETY: success with a non-null result: the struct is initialised and its strings
        // point into `buf`, alive here; `gr_mem` is a NULL-terminated array of them.
        let grp = unsafe { &*result };
        let mut members = Vec::new();
        let mut p = grp.gr_mem;
        // SAFETY: walks the NULL-terminated member array described above.
        unsafe {
            while !p.is_null() && !(*p).is_null() {
                members.extend(c_bytes(*p));
                p = p.add(1);
            }
        }
        (0, Some((grp.gr_gid, members)))
    })
}

/// Runs one `getpw*_r` call, growing the buffer on ERANGE, and copies the entry out.
///
/// `call` receives the passwd struct to fill, the string buffer and its length, and where to
/// store the result pointer; it returns what the libc function returned.
fn lookup<F>(mut call: F) -> Result<UserInfo, LookupError>
where
    F: FnMut(*mut libc::passwd, *mut c_char, usize, *mut *mut libc::passwd) -> c_int,
{
    with_growing_buffer(initial_buffer_size(), |buf| {
        let mut pwd = MaybeUninit::<libc::passwd>::uninit();
        let mut result: *mut libc::passwd = std::ptr::null_mut();
        let rc = call(
            pwd.as_mut_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        );
        if rc != 0 || result.is_null() {
            return (rc, None);
        }
        // SAFETY: on success with a non-null result, the libc function has initialised the
        // passwd struct it points to (which is `pwd`), and its string fields point either to
        // NULL or into `buf`, which is still alive here.
        (0, Some(unsafe { copy_entry(&*result) }))
    })
}

/// Runs a reentrant `get*_r` lookup with a buffer of `size` bytes, doubling it (up to
/// [`MAX_BUFFER`]) while the call answers ERANGE. `call` makes the call with the buffer and
/// gives its return code and the entry, copied out while the buffer lives (`None`: no such
/// entry).
fn with_growing_buffer<T>(
    mut size: usize,
    mut call: impl FnMut(&mut [u8]) -> (c_int, Option<T>),
) -> Result<T, LookupError> {
    loop {
        let mut buf = vec![0u8; size];
        match call(&mut buf) {
            (libc::ERANGE, _) if size < MAX_BUFFER => {
                size = size.saturating_mul(2).min(MAX_BUFFER);
            }
            (0, Some(entry)) => return Ok(entry),
            (0, None) => return Err(LookupError::NotFound),
            (rc, _) => return Err(LookupError::Os(rc)),
        }
    }
}

/// Copies the fields out of a passwd entry whose strings are still valid.
///
/// # Safety
/// `pwd.pw_name` and `pwd.pw_dir` must each be NULL or point to a live NUL-terminated string.
unsafe fn copy_entry(pwd: &libc::passwd) -> UserInfo {
    // SAFETY: guaranteed by this function's contract.
    let name = unsafe { c_bytes(pwd.pw_name) }.unwrap_or_default();
    // SAFETY: guaranteed by this function's contract.
    let home = unsafe { c_bytes(pwd.pw_dir) };
    UserInfo {
        name,
        uid: pwd.pw_uid,
        gid: pwd.pw_gid,
        home,
    }
}

/// Copies a C string, or gives `None` for NULL.
///
/// # Safety
/// `ptr` must be NULL or point to a live NUL-terminated string.
unsafe fn c_bytes(ptr: *const c_char) -> Option<Vec<u8>> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: `ptr` is non-null and, by this function's contract, NUL-terminated and live.
    Some(unsafe { CStr::from_ptr(ptr) }.to_bytes().to_vec())
}

fn initial_buffer_size() -> usize {
    // SAFETY: sysconf only reads a configuration value; it has no memory-safety preconditions.
    let hint = unsafe { libc::sysconf(libc::_SC_GETPW_R_SIZE_MAX) };
    match usize::try_from(hint) {
        Ok(n) if n > 0 => n.min(MAX_BUFFER),
        _ => DEFAULT_BUFFER,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn current_uid() -> u32 {
        // SAFETY: getuid has no preconditions and cannot fail.
        unsafe { libc::getuid() }
    }

    #[test]
    fn current_user_by_uid_and_by_name() {
        let uid = current_uid();
        let me = by_uid(uid).unwrap();
        assert_eq!(me.uid, uid);
        assert!(!me.name.is_empty());
        let again = by_name(&me.name).unwrap();
        assert_eq!(again, me);
    }

    #[test]
    fn unknown_names_are_not_found() {
        assert_eq!(
            by_name(b"no-such-user-pam-google-authenticator-test"),
            Err(LookupError::NotFound)
        );
        assert_eq!(by_name(b"root\0x"), Err(LookupError::NotFound));
        assert_eq!(by_name(b""), Err(LookupError::NotFound));
    }

    #[test]
    fn root_is_uid_zero() {
        let root = by_uid(0).unwrap();
        assert_eq!(root.name, b"root");
        assert_eq!(root.home.as_deref(), Some(&b"/root"[..]));
    }

    #[test]
    fn erange_grows_the_buffer_until_the_entry_fits() {
        let mut sizes = Vec::new();
        let result = lookup(|_, _, len, result| {
            sizes.push(len);
            if len < 100_000 {
                return libc::ERANGE;
            }
            // SAFETY: `result` is the writable out-pointer provided by `lookup`.
            unsafe { *result = std::ptr::null_mut() };
            0
        });
        assert_eq!(result, Err(LookupError::NotFound));
        assert!(
            sizes
                .windows(2)
                .all(|w| w[1] == w[0] * 2 || w[1] == MAX_BUFFER)
        );
        assert!(*sizes.last().unwrap() >= 100_000);
    }

    #[test]
    fn erange_stops_at_the_cap() {
        let mut calls = 0;
        let result = lookup(|_, _, len, _| {
            calls += 1;
            assert!(len <= MAX_BUFFER);
            libc::ERANGE
        });
        assert_eq!(result, Err(LookupError::Os(libc::ERANGE)));
        assert!(calls < 40);
    }

    #[test]
    fn other_errors_are_reported() {
        assert_eq!(
            lookup(|_, _, _, _| libc::EIO),
            Err(LookupError::Os(libc::EIO))
        );
    }
}
