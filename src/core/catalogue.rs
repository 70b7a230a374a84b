//! Every line the module logs: its text, its priority, and when it is written.
//!
//! Administrators search these lines and fail2ban matches them, so they are a contract:
//! the texts of Google's module are kept byte for byte (`upstream-behaviour.md`; the
//! differential tests compare them with Debian's module), and the lines of our own are
//! listed here with the same care. The code builds every line through this file, and the
//! tests that expect a line ask this file for it. Values from outside (user names, paths,
//! remote hosts) arrive already passed through [`printable`](super::log::printable), so no
//! line can be split or forged; no line ever carries a code or a secret.
//!
//! Lines marked *debug* are written only with the `debug` argument, at LOG_INFO, prefixed
//! with `debug: `; their functions return the text after the prefix. Two more families of
//! texts are the `Display` of error types and are listed where they are defined: the
//! module arguments ([`ArgError`](super::args::ArgError)) and the secret path
//! ([`PathError`](super::path::PathError)).
//!
//! The one line meant for fail2ban on every service is [`authentication_failure`]; the
//! filter in `contrib/fail2ban` matches it.

use super::log::{Level, LogLine};

fn err(text: String) -> LogLine {
    LogLine {
        level: Level::Err,
        text,
    }
}

fn warning(text: String) -> LogLine {
    LogLine {
        level: Level::Warning,
        text,
    }
}

fn info(text: String) -> LogLine {
    LogLine {
        level: Level::Info,
        text,
    }
}

// ----------------------------------------------------------------------------------------
// The user, the path and the fs identity (before the secret file is read)

/// LOG_ERR. `user=NAME` names an account the passwd database does not know.
pub fn fixed_user_unknown(name: &str) -> LogLine {
    err(format!("Failed to look up user \"{name}\""))
}

/// LOG_ERR. The application gave no user name (or an empty one).
pub fn no_user_name() -> LogLine {
    err("pam_get_user() failed to get a user name when checking verification code".into())
}

/// *Debug*. The start of an attempt.
pub fn start(user: &str) -> String {
    format!("start of google_authenticator for \"{user}\"")
}

/// LOG_ERR. The PAM user has no passwd entry.
pub fn user_not_found(user: &str) -> LogLine {
    err(format!("user(\"{user}\") not found"))
}

/// LOG_ERR. Looking the PAM user up failed (`code`: the errno of `getpwnam_r`).
pub fn user_lookup_failed(user: &str, code: i32) -> LogLine {
    err(format!("getpwnam_r(\"{user}\")!=0: {code}"))
}

/// LOG_ERR. The PAM user's passwd entry has no home directory.
pub fn no_home(user: &str) -> LogLine {
    err(format!("user(\"{user}\") has no home dir"))
}

/// LOG_ERR. The PAM user's home directory is not an absolute path.
pub fn home_not_absolute(user: &str) -> LogLine {
    err(format!("User \"{user}\" home dir not absolute"))
}

/// LOG_ERR. The secret path names no user (no `${USER}` or `~`) and there is no `nobody`
/// account whose identity the file would be read with.
pub fn nobody_unknown() -> LogLine {
    err("Failed to look up user \"nobody\"".into())
}

/// LOG_ERR. The uid whose identity the file is read with has no passwd entry.
pub fn uid_unknown(uid: u32) -> LogLine {
    err(format!("Cannot look up user id {uid}"))
}

/// LOG_ERR. Switching the file system uid to the user failed.
pub fn uid_switch_failed(user: &str) -> LogLine {
    err(format!("Failed to change user id to \"{user}\""))
}

/// LOG_ERR. Switching the file system gid to the user's group failed.
pub fn gid_switch_failed(user: &str, gid: u32) -> LogLine {
    err(format!(
        "Failed to change group id for user \"{user}\" to {gid}"
    ))
}

/// LOG_ERR. Switching the file system ids back to the host's failed (the attempt fails;
/// Google's module exits the host process instead).
pub fn identity_restore_failed(why: &str) -> LogLine {
    err(format!(
        "Failed to switch the file system identity back: {why}"
    ))
}

// ----------------------------------------------------------------------------------------
// The secret file: opening, checking, locking, reading

/// LOG_ERR. The secret file could not be opened (`why`: the C library's text for errno).
pub fn read_failed(path: &str, user: &str, why: &str) -> LogLine {
    err(format!("Failed to read \"{path}\" for \"{user}\": {why}"))
}

/// LOG_ERR. The secret path names a symlink, a directory, a FIFO or a device.
pub fn not_regular(path: &str) -> LogLine {
    err(format!("Secret file \"{path}\" is not a regular file"))
}

/// LOG_ERR. Group or others may read or write the file (or it has more bits than
/// `allowed_perm`).
pub fn permissions(path: &str, mode: u32, allowed: u32) -> LogLine {
    err(format!(
        "Secret file \"{path}\" permissions ({mode:04o}) are more permissive than {allowed:04o}"
    ))
}

/// *Debug*. The file's permission bits and the ones allowed.
pub fn permissions_debug(mode: u32, allowed: u32) -> String {
    format!("Secret file permissions are {mode:04o}. Allowed permissions are {allowed:04o}")
}

/// LOG_ERR. The file belongs to someone else (`owner`: the user's name, or `user id N`
/// with `user=`).
pub fn wrong_owner(path: &str, owner: &str) -> LogLine {
    err(format!(
        "Secret file \"{path}\" must be owned by \"{owner}\""
    ))
}

/// LOG_ERR. The file has another name (a hard link): refused, so a link planted at the
/// path never makes the module use up another file.
pub fn links(path: &str, links: u64) -> LogLine {
    err(format!(
        "Secret file \"{path}\" has more than one link ({links}); refusing it"
    ))
}

/// LOG_ERR. The file is empty or larger than 64 KiB.
pub fn size(path: &str) -> LogLine {
    err(format!("Invalid file size for \"{path}\""))
}

/// LOG_ERR. The file holds a NUL byte.
pub fn contents(path: &str) -> LogLine {
    err(format!("Invalid file contents in \"{path}\""))
}

/// LOG_ERR. Reading the opened file failed or came short.
pub fn unreadable(path: &str) -> LogLine {
    err(format!("Could not read \"{path}\""))
}

/// *Debug*. The file was read.
pub fn read(path: &str) -> String {
    format!("\"{path}\" read")
}

/// LOG_ERR. Other logins replaced the file every time this one was about to lock it.
pub fn keeps_changing(path: &str) -> LogLine {
    err(format!("Secret file \"{path}\" keeps changing; giving up"))
}

/// LOG_ERR. The file's directory was moved or swapped while the login waited.
pub fn directory_replaced(path: &str) -> LogLine {
    err(format!(
        "The directory of secret file \"{path}\" changed while the login was in progress; refusing it"
    ))
}

/// LOG_ERR. Another process held the lock for longer than the module waits.
pub fn lock_timed_out(path: &str) -> LogLine {
    err(format!("Timed out waiting for the lock on \"{path}\""))
}

/// LOG_ERR. Locking the file failed.
pub fn lock_failed(path: &str, why: &str) -> LogLine {
    err(format!("Failed to lock \"{path}\": {why}"))
}

// ----------------------------------------------------------------------------------------
// Writing the file back

/// LOG_ERR. Creating the temporary file next to the secret file failed.
pub fn temp_create_failed(temp: &str, why: &str) -> LogLine {
    err(format!("Failed to create tempfile \"{temp}\": {why}"))
}

/// LOG_ERR. One step of writing the temporary file failed: `step` is `write()`,
/// `fsync()`, `close()` or `rename()`.
pub fn write_step_failed(step: &str, why: &str) -> LogLine {
    err(format!("{step}: {why}"))
}

/// LOG_ERR. The new file is in place, but syncing its directory failed.
pub fn directory_sync_failed(path: &str, why: &str) -> LogLine {
    err(format!("fsync() of the directory of \"{path}\": {why}"))
}

/// LOG_ERR. After [`directory_sync_failed`]: what the file holds now.
pub fn new_state_not_durable(path: &str, why: &str) -> LogLine {
    err(format!(
        "Secret file \"{path}\" holds the new state, but syncing its directory failed: {why}; a crash may bring back the old state"
    ))
}

/// LOG_ERR. The temporary file of a failed write could not be removed.
pub fn temp_delete_failed(temp: &str, why: &str) -> LogLine {
    err(format!("Failed to delete tempfile \"{temp}\": {why}"))
}

/// LOG_ERR. The last line of a failed write.
pub fn update_failed(path: &str, why: &str) -> LogLine {
    err(format!("Failed to update secret file \"{path}\": {why}"))
}

/// LOG_WARNING. The new file could not be given the old file's SELinux label (or
/// `auth_home_t`); its contents are in place all the same.
pub fn label_failed(path: &str, why: &str) -> LogLine {
    warning(format!(
        "Could not give \"{path}\" the SELinux label of the file it replaces: {why}"
    ))
}

/// LOG_WARNING. The file system cannot sync a directory: a crash could bring back the old
/// file.
pub fn directory_not_synced(path: &str, why: &str) -> LogLine {
    warning(format!("Could not sync the directory of \"{path}\": {why}"))
}

/// *Debug*. The file was written.
pub fn written(path: &str) -> String {
    format!("\"{path}\" written")
}

/// LOG_ERR. The application would not show the user why the write failed.
pub fn inform_failed() -> LogLine {
    err("Failed to inform user of error".into())
}

/// Not logged: the message shown to the user when a write failed for a reason they can act
/// on (no space, read-only file system, quota, I/O error, permission).
pub fn write_error_message(why: &str) -> String {
    format!("Error \"{why}\" while writing config")
}

// ----------------------------------------------------------------------------------------
// The decisions: rate limit, grace period, secret, options, codes

/// LOG_ERR. More attempts than `RATE_LIMIT` allows in its interval: refused without a prompt.
pub fn rate_limited(path: &str) -> LogLine {
    err(format!(
        "Too many concurrent login attempts (\"{path}\"). Please try again."
    ))
}

/// LOG_ERR. The `RATE_LIMIT` line is malformed: every attempt is refused.
pub fn rate_limit_invalid(path: &str) -> LogLine {
    err(format!("Invalid RATE_LIMIT option. Check \"{path}\"."))
}

/// LOG_ERR. The timestamps after `RATE_LIMIT n m` are malformed: every attempt is refused.
pub fn rate_limit_list_invalid(path: &str) -> LogLine {
    err(format!(
        "Invalid list of timestamps in RATE_LIMIT. Check \"{path}\"."
    ))
}

/// *Debug*. The first line holds a usable secret.
pub fn secret_processed(path: &str) -> String {
    format!("shared secret in \"{path}\" processed")
}

/// LOG_ERR. The first line holds no usable base32 secret (the code is asked for anyway).
pub fn no_valid_secret(path: &str) -> LogLine {
    err(format!(
        "Could not find a valid BASE32 encoded secret in \"{path}\""
    ))
}

/// LOG_WARNING. After [`no_valid_secret`]: the prompt still comes, so the attempt looks
/// the same from outside.
pub fn asking_anyway(user: &str) -> LogLine {
    warning(format!(
        "No secret configured for user {user}, asking for code anyway."
    ))
}

/// *Debug*. The remote host of the attempt (`(null)` without PAM_RHOST).
pub fn for_host(host: &str) -> String {
    format!("google_authenticator for host \"{host}\"")
}

/// LOG_ERR. With `grace_period`, a remote host that a `LAST` line cannot hold (too long, or
/// with other characters than letters, digits, `:`, `%`, `.` and `-`); `consequence` says
/// what follows (`no grace period for it`, `grace period not recorded`).
pub fn host_not_storable(shown: &str, path: &str, consequence: &str) -> LogLine {
    err(format!(
        "Remote host \"{shown}\" cannot be stored in \"{path}\"; {consequence}"
    ))
}

/// LOG_INFO. A login from this host succeeded within `grace_period`: no code asked.
pub fn within_grace_period(user: &str) -> LogLine {
    info(format!("within grace period: \"{user}\""))
}

/// LOG_ERR. With `grace_period`, a successful login without PAM_RHOST.
pub fn grace_not_stored() -> LogLine {
    err("Failed to store grace_period timestamp in config".into())
}

/// LOG_ERR. A `LAST0` to `LAST9` line is malformed (skipped).
pub fn malformed_last(slot: usize) -> LogLine {
    err(format!("Malformed LAST{slot} line"))
}

/// LOG_WARNING. No `LAST` slot could be chosen for the host.
pub fn last_not_set() -> LogLine {
    warning("Failed to set cfg value for login host".into())
}

/// LOG_ERR. An option line is malformed: `name` is `STEP_SIZE`, `WINDOW_SIZE`, `DIGITS`
/// or `ALGORITHM`. Every verification code fails (scratch codes still work).
pub fn invalid_option(name: &str, path: &str) -> LogLine {
    err(format!("Invalid {name} option in \"{path}\""))
}

/// LOG_INFO. The password a previous module stored is the one OpenSSH hands on when it has
/// refused the login itself.
pub fn dummy_password() -> LogLine {
    info("Dummy password supplied by PAM. Did OpenSSH 'PermitRootLogin <anything but yes>' or some other config block this login?".into())
}

/// *Debug*. A scratch code was accepted and removed.
pub fn scratch_used(path: &str) -> String {
    format!("scratch code used and removed from \"{path}\"")
}

/// *Debug*. No scratch code matched.
pub fn no_scratch_used(path: &str) -> String {
    format!("no scratch code used from \"{path}\"")
}

/// LOG_ERR. The list after `DISALLOW_REUSE` is malformed: the code is refused.
pub fn reuse_list_invalid(path: &str) -> LogLine {
    err(format!(
        "Invalid list of used codes in DISALLOW_REUSE. Check \"{path}\"."
    ))
}

/// LOG_ERR. With `DISALLOW_REUSE`, the code of a time step already used (`step`: seconds
/// per step).
pub fn code_reused(path: &str, step: u64) -> LogLine {
    err(format!(
        "Trying to reuse a previously used time-based code (\"{path}\"). Retry again in {step} seconds. Warning! This might mean, you are currently subject to a man-in-the-middle attack."
    ))
}

/// *Debug*. The skew search found the code at another offset and recorded it.
pub fn skew_adjusted() -> String {
    "time skew adjusted".into()
}

/// LOG_ERR. No code was typed (the conversation failed or the answer was empty).
pub fn no_code_received() -> LogLine {
    err("Did not receive verification code from user".into())
}

// ----------------------------------------------------------------------------------------
// The result

/// LOG_INFO. A code was accepted.
pub fn accepted(user: &str) -> LogLine {
    info(format!("Accepted google_authenticator for {user}"))
}

/// LOG_ERR. The code matched nothing.
pub fn invalid_code(user: &str) -> LogLine {
    err(format!("Invalid verification code for {user}"))
}

/// LOG_NOTICE. Every refused attempt, in the form `pam_unix` writes it, with the client's
/// address, so fail2ban can ban by address on every service (`contrib/fail2ban`). `user`
/// is ` user=NAME`, or empty without a user name; the other fields are empty when the
/// application did not set them.
pub fn authentication_failure(
    uid: u32,
    euid: u32,
    tty: &str,
    ruser: &str,
    rhost: &str,
    user: &str,
) -> LogLine {
    LogLine {
        level: Level::Notice,
        text: format!(
            "authentication failure; logname= uid={uid} euid={euid} tty={tty} ruser={ruser} rhost={rhost}{user}"
        ),
    }
}

/// *Debug*. The end of an attempt, with `pam_strerror`'s text for the result.
pub fn end(user: &str, result: &str) -> String {
    format!("end of google_authenticator for \"{user}\". Result: {result}")
}

/// LOG_ERR. A panic inside the module was caught (a defect): the login fails.
pub fn internal_error() -> LogLine {
    err("Internal error; failing the login closed".into())
}

/// LOG_ERR. The module was listed for another PAM stage than `auth` (`kind`: `account`,
/// `password` or `session`).
pub fn wrong_stage(kind: &str) -> LogLine {
    err(format!(
        "Only the auth module type is provided; refusing to act as a \"{kind}\" module"
    ))
}

// ----------------------------------------------------------------------------------------
// google-authenticator-audit (its report, not syslog)

/// The account has no secret file to change.
pub fn no_secret_file(path: &str) -> LogLine {
    err(format!("No secret file \"{path}\""))
}

/// Removing the secret file failed.
pub fn remove_failed(path: &str, why: &str) -> LogLine {
    err(format!("Failed to remove \"{path}\": {why}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_line_can_be_split() {
        let lines = [
            rate_limited("p"),
            invalid_code("u"),
            accepted("u"),
            authentication_failure(0, 0, "", "", "h", " user=u"),
            code_reused("p", 30),
            dummy_password(),
            new_state_not_durable("p", "w"),
        ];
        for line in lines {
            assert!(!line.text.contains(['\n', '\r', '\0']), "{line:?}");
        }
    }
}
