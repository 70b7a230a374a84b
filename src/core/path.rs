//! Expansion of the `secret=` path template.
//!
//! One left-to-right scan; substituted text is never scanned again. `~` becomes the home
//! directory only as the first character or right after a `/` (it is not `~user` syntax);
//! `${HOME}` and `${USER}` are recognised anywhere. Nothing else is expanded, so `$HOME` and
//! `%u` stay literal. With `user=`, the home directory is unknown and using it is an error.
//!
//! A template that expands anything refuses a user name that could name another place: an
//! empty name, `.`, `..`, or one holding `/` or NUL. With `secret=/var/lib/ga/${USER}` the
//! name `../../etc/x` would otherwise climb out of the directory; the original substitutes
//! it as it is.

use thiserror::Error;

use super::log::printable;

/// Longest text one substitution may insert.
pub const MAX_SUBSTITUTION: usize = 1_000_000;

/// Why a template could not be expanded. Display gives the log line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum PathError {
    /// `~` or `${HOME}` together with `user=`.
    #[error("Home dir in 'secret' not implemented when 'user' set")]
    HomeWithFixedUser,
    /// A substitution longer than [`MAX_SUBSTITUTION`].
    #[error("Unexpectedly large path name: {0}")]
    TooLarge(usize),
    /// The user name is empty, `.` or `..`, or holds `/` or NUL (shown escaped for the log).
    #[error("User name \"{0}\" cannot be part of the secret file path")]
    UnsafeUserName(String),
}

/// Whether `user` can stand in a path as one file name of its own: not empty, `.` or `..`,
/// and without `/` or NUL.
#[must_use]
pub(crate) fn is_safe_user_name(user: &[u8]) -> bool {
    !matches!(user, b"" | b"." | b"..") && !user.iter().any(|&b| b == b'/' || b == 0)
}

/// What the template may refer to.
#[derive(Debug, Clone, Copy)]
pub struct Vars<'a> {
    /// The home directory, or `None` when `user=` is in use.
    pub home: Option<&'a [u8]>,
    /// The PAM user name.
    pub user: &'a [u8],
}

/// Expands `template`.
pub fn expand(template: &[u8], vars: Vars<'_>) -> Result<Vec<u8>, PathError> {
    let mut out = Vec::with_capacity(template.len() + 64);
    let mut checked_user = false;
    let mut i = 0;
    while i < template.len() {
        let rest = &template[i..];
        let tilde = rest[0] == b'~' && (i == 0 || template[i - 1] == b'/');
        let (value, consumed) = if tilde {
            (Some(vars.home.ok_or(PathError::HomeWithFixedUser)?), 1)
        } else if rest.starts_with(b"${HOME}") {
            (Some(vars.home.ok_or(PathError::HomeWithFixedUser)?), 7)
        } else if rest.starts_with(b"${USER}") {
            (Some(vars.user), 7)
        } else {
            (None, 1)
        };
        if value.is_some() && !checked_user {
            if !is_safe_user_name(vars.user) {
                return Err(PathError::UnsafeUserName(printable(vars.user)));
            }
            checked_user = true;
        }
        match value {
            Some(v) if v.len() > MAX_SUBSTITUTION => return Err(PathError::TooLarge(v.len())),
            Some(v) => out.extend_from_slice(v),
            None => out.push(rest[0]),
        }
        i += consumed;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ex(t: &str) -> Result<String, PathError> {
        expand(
            t.as_bytes(),
            Vars {
                home: Some(b"/home/al"),
                user: b"al",
            },
        )
        .map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn expansions() {
        assert_eq!(
            ex("~/.google_authenticator").unwrap(),
            "/home/al/.google_authenticator"
        );
        assert_eq!(ex("/x/~/y").unwrap(), "/x//home/al/y");
        assert_eq!(ex("~foo").unwrap(), "/home/alfoo");
        assert_eq!(ex("a~b").unwrap(), "a~b");
        assert_eq!(
            ex("/var/ga/${USER}/${HOME}").unwrap(),
            "/var/ga/al//home/al"
        );
        assert_eq!(ex("$HOME/${FOO}/%u").unwrap(), "$HOME/${FOO}/%u");
        assert_eq!(ex("rel/${USER}").unwrap(), "rel/al");
        assert_eq!(ex("").unwrap(), "");
    }

    #[test]
    fn substituted_text_is_not_rescanned() {
        let out = expand(
            b"${USER}/~",
            Vars {
                home: Some(b"/h"),
                user: b"${HOME}",
            },
        )
        .unwrap();
        assert_eq!(out, b"${HOME}//h");
    }

    #[test]
    fn a_user_name_that_names_another_place_is_never_substituted() {
        for user in [
            &b""[..],
            b".",
            b"..",
            b"../../tmp/victim",
            b"a/b",
            b"/",
            b"a\0b",
        ] {
            for template in [
                &b"/var/lib/ga/${USER}"[..],
                b"~/.google_authenticator",
                b"${HOME}/x",
            ] {
                let got = expand(
                    template,
                    Vars {
                        home: Some(b"/home/al"),
                        user,
                    },
                );
                assert!(
                    matches!(got, Err(PathError::UnsafeUserName(_))),
                    "{user:?} {template:?}: {got:?}"
                );
            }
        }
        assert_eq!(
            PathError::UnsafeUserName(printable(b"../x\n")).to_string(),
            "User name \"../x\\x0a\" cannot be part of the secret file path"
        );
        // Names with dots that stay inside the directory are fine, and a template without
        // variables never looks at the name.
        for user in [&b"..."[..], b".hidden", b"a.b", b"a..b"] {
            let vars = Vars {
                home: Some(b"/h"),
                user,
            };
            assert!(expand(b"/d/${USER}", vars).is_ok(), "{user:?}");
        }
        let vars = Vars {
            home: None,
            user: b"..",
        };
        assert_eq!(expand(b"/fixed/file", vars).unwrap(), b"/fixed/file");
    }

    #[test]
    fn home_with_fixed_user_is_an_error() {
        let vars = Vars {
            home: None,
            user: b"al",
        };
        assert_eq!(expand(b"~/x", vars), Err(PathError::HomeWithFixedUser));
        assert_eq!(
            expand(b"/x/${HOME}", vars),
            Err(PathError::HomeWithFixedUser)
        );
        assert_eq!(expand(b"/x/${USER}", vars).unwrap(), b"/x/al");
        assert_eq!(
            PathError::HomeWithFixedUser.to_string(),
            "Home dir in 'secret' not implemented when 'user' set"
        );
    }
}
