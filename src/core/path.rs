//! Expansion of the `secret=` path template.
//!
//! One left-to-right scan; substituted text is never scanned again. `~` becomes the home
//! directory only as the first character or right after a `/` (it is not `~user` syntax);
//! `${HOME}` and `${USER}` are recognised anywhere. Nothing else is expanded, so `$HOME` and
//! `%u` stay literal. With `user=`, the home directory is unknown and using it is an error.

use thiserror::Error;

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
