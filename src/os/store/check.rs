//! The checks on an opened secret file: the permission policy (`allowed_perm`) and why a
//! file is refused.

use super::{MAX_SIZE, OpenedFile};

/// Which permission bits a secret file may have (the `allowed_perm` module argument).
///
/// A file fails the check when `(mode & 0o3777) & !allowed` is non-zero. The setuid bit
/// (0o4000) is deliberately outside the mask, as upstream: a 04600 file passes with the
/// default policy while a 02600 (setgid) or 01600 (sticky) file fails. A negative configured
/// value turns the check off; that is [`PermPolicy::any`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PermPolicy {
    /// `None` allows every mode.
    allowed: Option<u32>,
}

/// The bits the permission check looks at.
const CHECKED_BITS: u32 = 0o3777;

impl PermPolicy {
    /// Upstream's default: owner read and write only (0600).
    pub const DEFAULT: PermPolicy = PermPolicy {
        allowed: Some(0o600),
    };

    /// Allows exactly the bits in `allowed`, plus setuid, which is never checked.
    #[must_use]
    pub const fn only(allowed: u32) -> PermPolicy {
        PermPolicy {
            allowed: Some(allowed),
        }
    }

    /// Allows every mode.
    #[must_use]
    pub const fn any() -> PermPolicy {
        PermPolicy { allowed: None }
    }

    /// The policy for a configured `allowed_perm` value: negative means any mode.
    #[must_use]
    pub fn from_config(allowed_perm: i64) -> PermPolicy {
        match u32::try_from(allowed_perm) {
            Ok(allowed) => PermPolicy::only(allowed),
            Err(_) if allowed_perm < 0 => PermPolicy::any(),
            // Too large to be a mode: every bit is allowed anyway.
            Err(_) => PermPolicy::only(u32::MAX),
        }
    }

    /// The allowed bits, or `None` when every mode is allowed.
    #[must_use]
    pub const fn allowed(self) -> Option<u32> {
        self.allowed
    }

    /// Whether a file with `mode` (any `st_mode` value) passes.
    #[must_use]
    pub const fn permits(self, mode: u32) -> bool {
        match self.allowed {
            None => true,
            Some(allowed) => mode & CHECKED_BITS & !allowed == 0,
        }
    }
}

impl Default for PermPolicy {
    fn default() -> PermPolicy {
        PermPolicy::DEFAULT
    }
}

/// Why [`OpenedFile::check`] refused a file. The messages leave the path to the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CheckError {
    /// A directory, FIFO, device or socket.
    #[error("not a regular file")]
    NotRegular,
    /// Bits outside the allowed permissions are set.
    #[error("permissions ({mode:04o}) are more permissive than allowed")]
    Permissions {
        /// The file's `mode & 0o3777`, as upstream logs it.
        mode: u32,
    },
    /// The file belongs to someone else.
    #[error("owned by uid {uid}")]
    Owner {
        /// The file's owner.
        uid: u32,
    },
    /// The file has other names (hard links) besides the secret path.
    #[error("{links} links")]
    Links {
        /// The file's link count.
        links: u64,
    },
    /// Empty, or larger than [`MAX_SIZE`].
    #[error("invalid file size {size}")]
    Size {
        /// The file's size in bytes.
        size: u64,
    },
}

impl OpenedFile {
    /// Checks, in upstream's order: a regular file, permissions within `allowed`, owned by
    /// `owner` (skipped when `None`, for `no_strict_owner`), and 1 to [`MAX_SIZE`] bytes;
    /// before the size, that the file has no other name (one link), so a hard link planted
    /// at the path never makes the module read or use up another file.
    pub fn check(&self, allowed: PermPolicy, owner: Option<u32>) -> Result<(), CheckError> {
        if !self.is_regular() {
            return Err(CheckError::NotRegular);
        }
        if !allowed.permits(self.meta.mode) {
            return Err(CheckError::Permissions {
                mode: self.meta.mode & CHECKED_BITS,
            });
        }
        if let Some(owner) = owner
            && self.meta.uid != owner
        {
            return Err(CheckError::Owner { uid: self.meta.uid });
        }
        if self.meta.links > 1 {
            return Err(CheckError::Links {
                links: self.meta.links,
            });
        }
        if !(1..=MAX_SIZE).contains(&self.meta.size) {
            return Err(CheckError::Size {
                size: self.meta.size,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::os::store::test_support::*;

    #[test]
    fn permission_policy_follows_upstream_mask() {
        let default = PermPolicy::default();
        assert_eq!(default, PermPolicy::DEFAULT);
        assert_eq!(check_mode(0o600, default), Ok(()));
        assert_eq!(check_mode(0o400, default), Ok(()));
        // A 0000 file cannot be opened without root's file capabilities; check the mask alone.
        assert!(default.permits(0o100_000));
        assert_eq!(
            check_mode(0o640, default),
            Err(CheckError::Permissions { mode: 0o640 })
        );
        assert_eq!(
            check_mode(0o2600, default),
            Err(CheckError::Permissions { mode: 0o2600 })
        );
        assert_eq!(
            check_mode(0o1600, default),
            Err(CheckError::Permissions { mode: 0o1600 })
        );
        // Setuid is outside the mask, as upstream.
        assert_eq!(check_mode(0o4600, default), Ok(()));
        assert_eq!(
            check_mode(0o4640, default),
            Err(CheckError::Permissions { mode: 0o640 })
        );
        assert_eq!(check_mode(0o640, PermPolicy::only(0o640)), Ok(()));
        assert_eq!(check_mode(0o7777, PermPolicy::any()), Ok(()));
        assert_eq!(check_mode(0o7777, PermPolicy::from_config(-1)), Ok(()));
        assert_eq!(PermPolicy::from_config(-1).allowed(), None);
        assert_eq!(PermPolicy::from_config(0o600), PermPolicy::DEFAULT);
    }
}
