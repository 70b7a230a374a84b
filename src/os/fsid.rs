//! Switching the calling thread's filesystem identity to the target user.
//!
//! Every access to the secret file (open, stat, create, rename, unlink) must happen with the
//! target user's rights, so a user cannot make the module read or replace files they could not
//! touch themselves, and so the rewritten file belongs to them. Linux keeps a filesystem uid and
//! gid per thread (`setfsuid`/`setfsgid`, which glibc does not broadcast to other threads), so
//! the switch affects only the authenticating thread and other threads of a host such as a
//! JupyterHub thread pool keep their identity. [`FsIdGuard`] restores the previous ids when it
//! is dropped. Unlike upstream, a failure to switch back never ends the host process: it is
//! returned so the caller can log it and fail closed.

use std::marker::PhantomData;

/// The filesystem ids a switch puts in place: the target user's uid and gid, named so that
/// the two cannot be swapped by accident.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FsIds {
    /// The filesystem user id.
    pub uid: u32,
    /// The filesystem group id.
    pub gid: u32,
}

/// The ids in effect before a switch, restored by [`FsIdGuard::restore`] or on drop.
///
/// The guard is deliberately neither `Send` nor `Sync`: the ids belong to the thread that
/// switched, so they must be restored on that same thread. A thread started while the ids are
/// switched inherits them (the kernel copies the creator's credentials), so start none then.
#[derive(Debug)]
#[must_use = "dropping the guard switches the filesystem ids straight back"]
pub struct FsIdGuard {
    old_uid: u32,
    old_gid: u32,
    restored: bool,
    _thread_bound: PhantomData<*const ()>,
}

/// Why [`FsIdGuard::switch`] failed. The thread's ids are as before the call unless
/// [`FsIdError::Restore`] says otherwise.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FsIdError {
    /// The fsuid could not be changed (for example, the caller is not root and the target is
    /// another user).
    #[error("failed to change the filesystem user id to {uid}")]
    Uid {
        /// The uid that was asked for.
        uid: u32,
    },
    /// The fsuid changed but the fsgid could not be changed, even on a second try.
    #[error("failed to change the filesystem group id to {gid}")]
    Gid {
        /// The gid that was asked for.
        gid: u32,
    },
    /// The switch failed and, worse, the previous ids could not be put back.
    #[error("filesystem id switch failed and could not be undone: {0}")]
    Restore(RestoreError),
}

/// The thread is left with ids it did not start with.
///
/// At least one of the two fields is `Some`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not restore the filesystem ids (uid: {uid:?}, gid: {gid:?})")]
pub struct RestoreError {
    /// Set when the fsuid could not be restored.
    pub uid: Option<Stuck>,
    /// Set when the fsgid could not be restored.
    pub gid: Option<Stuck>,
}

/// An id that could not be switched back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stuck {
    /// The id the thread had before the switch.
    pub original: u32,
    /// The id the thread still has.
    pub current: u32,
}

impl FsIdGuard {
    /// Switches the calling thread's fsgid to `ids.gid`, then its fsuid to `ids.uid`.
    ///
    /// Supplementary groups are left unchanged, as upstream does. Switching to the ids the
    /// thread already has succeeds and is undone as usual.
    pub fn switch(ids: FsIds) -> Result<FsIdGuard, FsIdError> {
        let FsIds { uid, gid } = ids;
        let (old_gid, mut gid_ok) = set_fsgid(gid);
        let (old_uid, uid_ok) = set_fsuid(uid);
        if !uid_ok {
            return match restore_gid(old_gid) {
                Ok(()) => Err(FsIdError::Uid { uid }),
                Err(stuck) => Err(FsIdError::Restore(RestoreError {
                    uid: None,
                    gid: Some(stuck),
                })),
            };
        }
        if !gid_ok {
            // The uid change may have been what the gid change needed, so try once more.
            gid_ok = set_fsgid(gid).1;
        }
        if !gid_ok {
            // The fsgid never changed, so only the fsuid needs undoing.
            return match restore_uid(old_uid) {
                Ok(()) => Err(FsIdError::Gid { gid }),
                Err(stuck) => Err(FsIdError::Restore(RestoreError {
                    uid: Some(stuck),
                    gid: None,
                })),
            };
        }
        Ok(FsIdGuard {
            old_uid,
            old_gid,
            restored: false,
            _thread_bound: PhantomData,
        })
    }

    /// Switches back to the previous ids: the fsgid first, then the fsuid, each verified.
    ///
    /// Both are attempted even when the first fails. On error the thread still runs with some
    /// of the target user's ids; the caller must log it and fail closed.
    pub fn restore(mut self) -> Result<(), RestoreError> {
        self.restore_once()
    }

    fn restore_once(&mut self) -> Result<(), RestoreError> {
        if self.restored {
            return Ok(());
        }
        self.restored = true;
        let gid = restore_gid(self.old_gid).err();
        let uid = restore_uid(self.old_uid).err();
        if uid.is_none() && gid.is_none() {
            return Ok(());
        }
        Err(RestoreError { uid, gid })
    }
}

impl Drop for FsIdGuard {
    fn drop(&mut self) {
        // Errors cannot be reported from here; callers who care call `restore`.
        let _ = self.restore_once();
    }
}

/// The calling thread's current fsuid and fsgid.
#[must_use]
pub fn current() -> (u32, u32) {
    // An id of -1 is never valid, so these calls change nothing and report the current ids.
    // SAFETY: setfsuid/setfsgid take a plain integer and only touch the calling thread's
    // credentials; with an invalid id they change nothing.
    let (uid, gid) = unsafe { (libc::setfsuid(u32::MAX), libc::setfsgid(u32::MAX)) };
    (uid as u32, gid as u32)
}

/// Sets the fsuid; gives the previous value and whether the change took effect.
fn set_fsuid(uid: u32) -> (u32, bool) {
    // The call reports failure only by not changing the id, so ask again to see where it is.
    // SAFETY: setfsuid takes a plain integer and only touches the calling thread's credentials.
    let (old, now) = unsafe { (libc::setfsuid(uid), libc::setfsuid(uid)) };
    (old as u32, now as u32 == uid)
}

/// Sets the fsgid; gives the previous value and whether the change took effect.
fn set_fsgid(gid: u32) -> (u32, bool) {
    // The call reports failure only by not changing the id, so ask again to see where it is.
    // SAFETY: setfsgid takes a plain integer and only touches the calling thread's credentials.
    let (old, now) = unsafe { (libc::setfsgid(gid), libc::setfsgid(gid)) };
    (old as u32, now as u32 == gid)
}

fn restore_uid(original: u32) -> Result<(), Stuck> {
    let (current, ok) = set_fsuid(original);
    if ok {
        return Ok(());
    }
    Err(Stuck { original, current })
}

fn restore_gid(original: u32) -> Result<(), Stuck> {
    let (current, ok) = set_fsgid(original);
    if ok {
        return Ok(());
    }
    Err(Stuck { original, current })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::Permissions;
    use std::os::unix::fs::PermissionsExt;
    use std::sync::mpsc;

    fn is_root() -> bool {
        // SAFETY: geteuid has no preconditions and cannot fail.
        unsafe { libc::geteuid() == 0 }
    }

    fn nobody() -> (u32, u32) {
        crate::os::user::by_name(b"nobody").map_or((65534, 65534), |u| (u.uid, u.gid))
    }

    #[test]
    fn switching_to_the_current_ids_works_and_is_undone() {
        let before = current();
        let guard = FsIdGuard::switch(FsIds {
            uid: before.0,
            gid: before.1,
        })
        .unwrap();
        assert_eq!(current(), before);
        guard.restore().unwrap();
        assert_eq!(current(), before);

        let guard = FsIdGuard::switch(FsIds {
            uid: before.0,
            gid: before.1,
        })
        .unwrap();
        drop(guard);
        assert_eq!(current(), before);
    }

    #[test]
    fn a_refused_switch_leaves_the_ids_alone() {
        if is_root() {
            // Root may switch to anyone; the root variants below cover the privileged paths.
            return;
        }
        let before = current();
        let (uid, gid) = nobody();
        let target = if before.0 == uid { 0 } else { uid };
        assert_eq!(
            FsIdGuard::switch(FsIds { uid: target, gid }).unwrap_err(),
            FsIdError::Uid { uid: target }
        );
        assert_eq!(current(), before);
    }

    #[test]
    #[ignore = "needs root: switches the thread to the nobody user"]
    fn root_switches_to_another_user_and_back() {
        assert!(
            is_root(),
            "root-tier test: run it as root (make root-tier, or cargo test -- --ignored)"
        );
        let before = current();
        let (uid, gid) = nobody();
        // A thread started before the switch; threads started after it inherit the ids.
        let (ask, asked) = mpsc::channel::<()>();
        let other = std::thread::spawn(move || {
            asked.recv().unwrap();
            current()
        });
        let guard = FsIdGuard::switch(FsIds { uid, gid }).unwrap();
        assert_eq!(current(), (uid, gid));

        // Other threads keep their own ids.
        ask.send(()).unwrap();
        assert_eq!(other.join().unwrap(), before);

        guard.restore().unwrap();
        assert_eq!(current(), before);

        {
            let _guard = FsIdGuard::switch(FsIds { uid, gid }).unwrap();
            assert_eq!(current(), (uid, gid));
        }
        assert_eq!(current(), before);
    }

    #[test]
    #[ignore = "needs root: switches the thread to the nobody user"]
    fn root_switched_to_a_user_cannot_read_root_only_files() {
        assert!(
            is_root(),
            "root-tier test: run it as root (make root-tier, or cargo test -- --ignored)"
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, b"x").unwrap();
        std::fs::set_permissions(&path, Permissions::from_mode(0o600)).unwrap();
        let (uid, gid) = nobody();
        let guard = FsIdGuard::switch(FsIds { uid, gid }).unwrap();
        let denied = std::fs::read(&path).unwrap_err();
        guard.restore().unwrap();
        assert_eq!(denied.kind(), std::io::ErrorKind::PermissionDenied);
        assert_eq!(std::fs::read(&path).unwrap(), b"x");
    }
}
