//! Module arguments (the words after the module path in an `/etc/pam.d` line).
//!
//! Parsed left to right, case-sensitive; the later of two options of the same kind wins.
//! `key=` options match by prefix, flags must match exactly, and anything unrecognised is
//! an error that fails the login before any prompt: a typo must never silently weaken the
//! configuration.

use thiserror::Error;

use super::cnum::strtol;

/// The default secret file location.
pub(crate) const DEFAULT_SECRET: &[u8] = b"~/.google_authenticator";
/// The default permission mask for the secret file.
pub(crate) const DEFAULT_ALLOWED_PERM: u32 = 0o600;

/// Where the verification code comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PassMode {
    /// Prompt for it (the default).
    #[default]
    Prompt,
    /// Try the password a previous module stored in PAM_AUTHTOK, then prompt.
    TryFirstPass,
    /// Only use PAM_AUTHTOK; never prompt.
    UseFirstPass,
}

/// The `user=` option: the fixed account whose identity is used for the secret file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixedUser {
    /// A numeric uid.
    Uid(u32),
    /// A name still to be looked up.
    Name(Vec<u8>),
}

/// The parsed module arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// The path template of the secret file.
    pub secret: Vec<u8>,
    /// A custom prompt, used exactly as given.
    pub authtok_prompt: Option<Vec<u8>>,
    /// `user=`: the account to switch to instead of the PAM user.
    pub fixed_user: Option<FixedUser>,
    /// Permission bits the file may have. Like the original, this is the low 32 bits of the
    /// parsed value, so a negative value allows everything.
    pub allowed_perm: u32,
    /// `no_strict_owner`: skip the owner check.
    pub no_strict_owner: bool,
    /// `debug`: log the `debug:` lines.
    pub debug: bool,
    /// Where the code comes from.
    pub pass_mode: PassMode,
    /// `forward_pass`: the answer is password plus code; the password goes to PAM_AUTHTOK.
    pub forward_pass: bool,
    /// `noskewadj`: never learn the clock skew.
    pub no_skew_adjust: bool,
    /// `no_increment_hotp`: do not advance the HOTP counter after a wrong code.
    pub no_increment_hotp: bool,
    /// `nullok`: a missing secret file means PAM_IGNORE.
    pub nullok: bool,
    /// `allow_readonly`: a failed state write keeps the result.
    pub allow_readonly: bool,
    /// `echo_verification_code`: prompt with echo on.
    pub echo_code: bool,
    /// `grace_period=`: seconds after a login with a code during which the same remote host
    /// needs no code; 0 disables.
    pub grace_period: i64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            secret: DEFAULT_SECRET.to_vec(),
            authtok_prompt: None,
            fixed_user: None,
            allowed_perm: DEFAULT_ALLOWED_PERM,
            no_strict_owner: false,
            debug: false,
            pass_mode: PassMode::Prompt,
            forward_pass: false,
            no_skew_adjust: false,
            no_increment_hotp: false,
            nullok: false,
            allow_readonly: false,
            echo_code: false,
            grace_period: 0,
        }
    }
}

/// A module argument that makes every login fail. Display gives the log line.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ArgError {
    /// Not an argument this module knows.
    #[error("Unrecognized option \"{}\"", String::from_utf8_lossy(.0))]
    Unrecognized(Vec<u8>),
    /// `allowed_perm=` is not a positive octal number.
    #[error("Invalid permissions in setting \"{}\". allowed_perm setting must be a positive octal integer.", String::from_utf8_lossy(.0))]
    AllowedPerm(Vec<u8>),
    /// `grace_period=` is not a non-negative number of seconds.
    #[error("Invalid value in setting \"{}\".grace_period must be a positive number of seconds.", String::from_utf8_lossy(.0))]
    GracePeriod(Vec<u8>),
}

impl Options {
    /// Parses the module arguments.
    pub fn parse<A: AsRef<[u8]>>(args: &[A]) -> Result<Options, ArgError> {
        let mut o = Options::default();
        for arg in args {
            let arg = arg.as_ref();
            if let Some(v) = arg.strip_prefix(b"secret=") {
                o.secret = v.to_vec();
            } else if let Some(v) = arg.strip_prefix(b"authtok_prompt=") {
                o.authtok_prompt = Some(v.to_vec());
            } else if let Some(v) = arg.strip_prefix(b"user=") {
                o.fixed_user = Some(parse_user(v));
            } else if let Some(v) = arg.strip_prefix(b"allowed_perm=") {
                let p = strtol(v, 8);
                if p.value == 0 || p.end != v.len() {
                    return Err(ArgError::AllowedPerm(arg.to_vec()));
                }
                o.allowed_perm = p.value as u32;
            } else if let Some(v) = arg.strip_prefix(b"grace_period=") {
                let p = strtol(v, 10);
                if p.value < 0 || p.end != v.len() {
                    return Err(ArgError::GracePeriod(arg.to_vec()));
                }
                o.grace_period = p.value;
            } else {
                match arg {
                    b"no_strict_owner" => o.no_strict_owner = true,
                    b"debug" => o.debug = true,
                    b"try_first_pass" => o.pass_mode = PassMode::TryFirstPass,
                    b"use_first_pass" => o.pass_mode = PassMode::UseFirstPass,
                    b"forward_pass" => o.forward_pass = true,
                    b"noskewadj" => o.no_skew_adjust = true,
                    b"no_increment_hotp" => o.no_increment_hotp = true,
                    b"nullok" => o.nullok = true,
                    b"allow_readonly" => o.allow_readonly = true,
                    b"echo_verification_code" | b"echo-verification-code" => o.echo_code = true,
                    _ => return Err(ArgError::Unrecognized(arg.to_vec())),
                }
            }
        }
        Ok(o)
    }

    /// The prompt text: `authtok_prompt=` if given, else the default for the mode.
    pub fn prompt(&self) -> &[u8] {
        match &self.authtok_prompt {
            Some(p) => p,
            None if self.forward_pass => b"Password & verification code: ",
            None => b"Verification code: ",
        }
    }
}

/// `user=`: digits at the start that parse to 0..=INT_MAX make a uid, even if text follows
/// (`1001x` is uid 1001, as in the original); anything else is a name.
fn parse_user(v: &[u8]) -> FixedUser {
    let p = strtol(v, 10);
    if p.converted() && !p.overflow && (0..=i64::from(i32::MAX)).contains(&p.value) {
        FixedUser::Uid(p.value as u32)
    } else {
        FixedUser::Name(v.to_vec())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Options, ArgError> {
        Options::parse(args)
    }

    #[test]
    fn defaults() {
        let o = parse(&[]).unwrap();
        assert_eq!(o, Options::default());
        assert_eq!(o.prompt(), b"Verification code: ");
        assert_eq!(o.secret, b"~/.google_authenticator");
    }

    #[test]
    fn every_flag() {
        let o = parse(&[
            "no_strict_owner",
            "debug",
            "try_first_pass",
            "forward_pass",
            "noskewadj",
            "no_increment_hotp",
            "nullok",
            "allow_readonly",
            "echo-verification-code",
        ])
        .unwrap();
        assert!(o.no_strict_owner && o.debug && o.forward_pass && o.no_skew_adjust);
        assert!(o.no_increment_hotp && o.nullok && o.allow_readonly && o.echo_code);
        assert_eq!(o.pass_mode, PassMode::TryFirstPass);
        assert_eq!(o.prompt(), b"Password & verification code: ");
        assert!(parse(&["echo_verification_code"]).unwrap().echo_code);
    }

    #[test]
    fn last_first_pass_option_wins() {
        let o = parse(&["try_first_pass", "use_first_pass"]).unwrap();
        assert_eq!(o.pass_mode, PassMode::UseFirstPass);
        let o = parse(&["use_first_pass", "try_first_pass"]).unwrap();
        assert_eq!(o.pass_mode, PassMode::TryFirstPass);
    }

    #[test]
    fn key_value_options() {
        let o = parse(&["secret=", "authtok_prompt=Code: ", "secret=/x/${USER}"]).unwrap();
        assert_eq!(o.secret, b"/x/${USER}");
        assert_eq!(o.prompt(), b"Code: ");
        assert_eq!(
            parse(&["user=1001x"]).unwrap().fixed_user,
            Some(FixedUser::Uid(1001))
        );
        assert_eq!(
            parse(&["user=0"]).unwrap().fixed_user,
            Some(FixedUser::Uid(0))
        );
        assert_eq!(
            parse(&["user=svc"]).unwrap().fixed_user,
            Some(FixedUser::Name(b"svc".to_vec()))
        );
        assert_eq!(
            parse(&["user=-1"]).unwrap().fixed_user,
            Some(FixedUser::Name(b"-1".to_vec()))
        );
        assert_eq!(
            parse(&["user=99999999999"]).unwrap().fixed_user,
            Some(FixedUser::Name(b"99999999999".to_vec()))
        );
    }

    #[test]
    fn allowed_perm() {
        assert_eq!(parse(&["allowed_perm=640"]).unwrap().allowed_perm, 0o640);
        assert_eq!(parse(&["allowed_perm=0640"]).unwrap().allowed_perm, 0o640);
        assert_eq!(parse(&["allowed_perm=-1"]).unwrap().allowed_perm, u32::MAX);
        for bad in [
            "allowed_perm=0648",
            "allowed_perm=0",
            "allowed_perm=",
            "allowed_perm=x",
        ] {
            let e = parse(&[bad]).unwrap_err();
            assert_eq!(
                e.to_string(),
                format!(
                    "Invalid permissions in setting \"{bad}\". allowed_perm setting must be a positive octal integer."
                )
            );
        }
    }

    #[test]
    fn grace_period() {
        assert_eq!(parse(&["grace_period=3600"]).unwrap().grace_period, 3600);
        assert_eq!(parse(&["grace_period="]).unwrap().grace_period, 0);
        for bad in ["grace_period=-1", "grace_period=10s", "grace_period=x"] {
            assert_eq!(
                parse(&[bad]).unwrap_err().to_string(),
                format!(
                    "Invalid value in setting \"{bad}\".grace_period must be a positive number of seconds."
                )
            );
        }
    }

    #[test]
    fn unknown_arguments_fail() {
        for bad in [
            "Debug",
            "nullok ",
            "secret",
            "forward_pass=1",
            "no_strict_owner=yes",
            "",
        ] {
            assert_eq!(
                parse(&["debug", bad]).unwrap_err(),
                ArgError::Unrecognized(bad.as_bytes().to_vec())
            );
        }
        assert_eq!(
            ArgError::Unrecognized(b"foo".to_vec()).to_string(),
            "Unrecognized option \"foo\""
        );
    }
}
