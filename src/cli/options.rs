//! The command line: upstream's options, parsed with clap and then checked in command-line
//! order with upstream's messages.
//!
//! clap does the tokenising (short clusters such as `-tdf`, `-r3`, `--label=x` and `--label x`,
//! unambiguous long prefixes, stopping at the first non-option like getopt's `+`). It is told
//! to accept every option any number of times, so the duplicate and exclusion checks can run
//! here, one occurrence at a time in the order given, exactly as upstream's getopt loop does:
//! the first problem on the command line is the one reported.

use std::ffi::{OsStr, OsString};

use clap::error::{ContextKind, ContextValue, ErrorKind};
use clap::{Arg, ArgAction, ArgMatches, Command};

use crate::core::cnum::strtol;
use crate::core::otp::Algorithm;

/// The version line printed by `--version` and at the top of the usage text.
pub(crate) const VERSION_LINE: &str = "google-authenticator 1.11";

/// The usage text (upstream's, plus the fork's `-g`/`-a` lines and the `--user` line),
/// printed on stdout.
pub const USAGE: &str = "\
google-authenticator 1.11
google-authenticator [<options>]
 -h, --help                     Print this message
     --version                  Print version
 -c, --counter-based            Set up counter-based (HOTP) verification
 -C, --no-confirm               Don't confirm code. For non-interactive setups
 -t, --time-based               Set up time-based (TOTP) verification
 -d, --disallow-reuse           Disallow reuse of previously used TOTP tokens
 -D, --allow-reuse              Allow reuse of previously used TOTP tokens
 -f, --force                    Write file without first confirming with user
 -l, --label=<label>            Override the default label in \"otpauth://\" URL
 -i, --issuer=<issuer>          Override the default issuer in \"otpauth://\" URL
 -q, --quiet                    Quiet mode
 -Q, --qr-mode={NONE,ANSI,ANSI_INVERSE,ANSI_GREY,UTF8,UTF8_INVERSE,UTF8_GREY} QRCode output mode
 -r, --rate-limit=N             Limit logins to N per every M seconds
 -R, --rate-time=M              Limit logins to N per every M seconds
 -u, --no-rate-limit            Disable rate-limiting
 -s, --secret=<file>            Specify a non-standard file location
 -S, --step-size=S              Set interval between token refreshes
 -w, --window-size=W            Set window of concurrently valid codes
 -W, --minimal-window           Disable window of concurrently valid codes
 -e, --emergency-codes=N        Number of emergency codes to generate
 -g, --digits={6,7,8}           Number of digits to use for auth codes
 -a, --algorithm=sha{1,256,512} Algorithm to use for TOTP HMAC
     --user=<name>              Set up the file of another user (root only)
";

/// TOTP or HOTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Time-based codes (`-t`).
    Totp,
    /// Counter-based codes (`-c`).
    Hotp,
}

/// How the QR code is drawn (`-Q`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum QrMode {
    /// No QR code.
    None,
    /// Reverse video, two spaces per module (the default).
    #[default]
    Ansi,
    /// As ANSI with dark and light swapped.
    AnsiInverse,
    /// As ANSI on a black-on-grey background.
    AnsiGrey,
    /// Half-block characters, two module rows per line.
    Utf8,
    /// As UTF8 in reverse video.
    Utf8Inverse,
    /// As UTF8 on a black-on-grey background.
    Utf8Grey,
}

impl QrMode {
    /// Parses a `-Q` value, case-insensitively, with `-` or `_` in the two-word names.
    #[must_use]
    pub fn parse(value: &OsStr) -> Option<QrMode> {
        let text = value.to_str()?.to_ascii_uppercase();
        Some(match text.as_str() {
            "NONE" => QrMode::None,
            "ANSI" => QrMode::Ansi,
            "ANSI_INVERSE" | "ANSI-INVERSE" => QrMode::AnsiInverse,
            "ANSI_GREY" | "ANSI-GREY" => QrMode::AnsiGrey,
            "UTF8" => QrMode::Utf8,
            "UTF8_INVERSE" | "UTF8-INVERSE" => QrMode::Utf8Inverse,
            "UTF8_GREY" | "UTF8-GREY" => QrMode::Utf8Grey,
            _ => return None,
        })
    }
}

/// The window option (`-w N` or `-W`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// `-w N`.
    Size(u32),
    /// `-W`: `WINDOW_SIZE 3` for TOTP and `1` for HOTP, as upstream.
    Minimal,
}

impl Window {
    /// The `WINDOW_SIZE` value written for `mode`.
    #[must_use]
    pub fn size(self, mode: Mode) -> u32 {
        match (self, mode) {
            (Window::Size(n), _) => n,
            (Window::Minimal, Mode::Totp) => 3,
            (Window::Minimal, Mode::Hotp) => 1,
        }
    }
}

/// The checked options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// `-t`/`-c`; asked when `None`.
    pub mode: Option<Mode>,
    /// `-C`.
    pub no_confirm: bool,
    /// `-d` (`Some(true)`) or `-D` (`Some(false)`); asked (TOTP) when `None`.
    pub disallow_reuse: Option<bool>,
    /// `-f`.
    pub force: bool,
    /// `-l`.
    pub label: Option<OsString>,
    /// `-i`.
    pub issuer: Option<OsString>,
    /// `-q`.
    pub quiet: bool,
    /// `-Q`.
    pub qr_mode: QrMode,
    /// `-r` and `-R`, always both or neither.
    pub rate_limit: Option<(u32, u32)>,
    /// `-u`.
    pub no_rate_limit: bool,
    /// `-s`.
    pub secret: Option<OsString>,
    /// `-S`.
    pub step_size: Option<u32>,
    /// `-w`/`-W`; asked when `None`.
    pub window: Option<Window>,
    /// `-e`, default 5.
    pub emergency_codes: u32,
    /// `-g`: the number of digits of the codes (6 to 8); `None` for upstream's 6, with no
    /// `DIGITS` line and no `digits=` in the URL.
    pub digits: Option<u32>,
    /// `-a` (TOTP only): the HMAC's hash; `None` for upstream's SHA-1, with no `ALGORITHM`
    /// line and no `algorithm=` in the URL.
    pub algorithm: Option<Algorithm>,
    /// `--user`.
    pub user: Option<OsString>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            mode: None,
            no_confirm: false,
            disallow_reuse: None,
            force: false,
            label: None,
            issuer: None,
            quiet: false,
            qr_mode: QrMode::Ansi,
            rate_limit: None,
            no_rate_limit: false,
            secret: None,
            step_size: None,
            window: None,
            emergency_codes: 5,
            digits: None,
            algorithm: None,
            user: None,
        }
    }
}

/// What the command line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// Set up a secret with these options.
    Run(Box<Options>),
    /// Print the usage on stdout and exit 0 (`-h`, or extra non-option arguments).
    Usage,
    /// Print the version line and exit 0.
    Version,
    /// Print the message on stderr and exit 1.
    Error(String),
    /// getopt's complaint on stderr, then the usage on stdout, then
    /// `Failed to parse command line` on stderr; exit 1.
    BadOption(String),
}

/// Parses `args` (without the program name).
#[must_use]
pub fn parse<I>(args: I) -> Parsed
where
    I: IntoIterator<Item = OsString>,
{
    let argv: Vec<OsString> = std::iter::once(OsString::from("google-authenticator"))
        .chain(args)
        .collect();
    let matches = match command().try_get_matches_from(&argv) {
        Ok(matches) => matches,
        Err(error) => {
            let last = argv.last().map(|a| a.to_string_lossy().into_owned());
            return Parsed::BadOption(getopt_message(&error, last.as_deref().unwrap_or("")));
        }
    };
    check(&matches)
}

/// One option occurrence, in command-line order.
struct Occurrence<'a> {
    index: usize,
    id: &'static str,
    value: Option<&'a OsString>,
}

const FLAGS: &[&str] = &[
    "help",
    "version",
    "counter-based",
    "no-confirm",
    "time-based",
    "disallow-reuse",
    "allow-reuse",
    "force",
    "quiet",
    "no-rate-limit",
    "minimal-window",
];

const VALUED: &[&str] = &[
    "label",
    "issuer",
    "qr-mode",
    "rate-limit",
    "rate-time",
    "secret",
    "step-size",
    "window-size",
    "emergency-codes",
    "digits",
    "algorithm",
    "user",
];

fn command() -> Command {
    let flag = |id: &'static str, short: Option<char>| {
        // Each occurrence appends a value, so every one has its own index.
        let arg = Arg::new(id)
            .long(id)
            .action(ArgAction::Append)
            .num_args(0)
            .default_missing_value("");
        match short {
            Some(c) => arg.short(c),
            None => arg,
        }
    };
    let valued = |id: &'static str, short: Option<char>| {
        let arg = Arg::new(id)
            .long(id)
            .action(ArgAction::Append)
            .num_args(1)
            .allow_hyphen_values(true)
            .value_parser(clap::builder::OsStringValueParser::new());
        match short {
            Some(c) => arg.short(c),
            None => arg,
        }
    };
    Command::new("google-authenticator")
        .disable_help_flag(true)
        .disable_version_flag(true)
        .disable_help_subcommand(true)
        .infer_long_args(true)
        .dont_delimit_trailing_values(true)
        .arg(flag("help", Some('h')))
        .arg(flag("version", None))
        .arg(flag("counter-based", Some('c')))
        .arg(flag("no-confirm", Some('C')))
        .arg(flag("time-based", Some('t')))
        .arg(flag("disallow-reuse", Some('d')))
        .arg(flag("allow-reuse", Some('D')))
        .arg(flag("force", Some('f')))
        .arg(flag("quiet", Some('q')))
        .arg(flag("no-rate-limit", Some('u')))
        .arg(flag("minimal-window", Some('W')))
        .arg(valued("label", Some('l')))
        .arg(valued("issuer", Some('i')))
        .arg(valued("qr-mode", Some('Q')))
        .arg(valued("rate-limit", Some('r')))
        .arg(valued("rate-time", Some('R')))
        .arg(valued("secret", Some('s')))
        .arg(valued("step-size", Some('S')))
        .arg(valued("window-size", Some('w')))
        .arg(valued("emergency-codes", Some('e')))
        .arg(valued("digits", Some('g')))
        .arg(valued("algorithm", Some('a')))
        .arg(valued("user", None))
        .arg(
            Arg::new("extra")
                .num_args(1..)
                .trailing_var_arg(true)
                .value_parser(clap::builder::OsStringValueParser::new()),
        )
}

/// Runs upstream's checks over the occurrences in command-line order.
fn check(matches: &ArgMatches) -> Parsed {
    let mut occurrences = Vec::new();
    for &id in FLAGS.iter().filter(|id| given(matches, id)) {
        for index in matches.indices_of(id).into_iter().flatten() {
            occurrences.push(Occurrence {
                index,
                id,
                value: None,
            });
        }
    }
    for &id in VALUED.iter().filter(|id| given(matches, id)) {
        let values = matches.get_many::<OsString>(id).into_iter().flatten();
        let indices = matches.indices_of(id).into_iter().flatten();
        for (index, value) in indices.zip(values) {
            occurrences.push(Occurrence {
                index,
                id,
                value: Some(value),
            });
        }
    }
    occurrences.sort_by_key(|o| o.index);

    let mut o = Options::default();
    let mut seen_emergency = false;
    let mut seen_qr = false;
    let mut rate_limit = None;
    let mut rate_time = None;
    for occurrence in &occurrences {
        let value = occurrence
            .value
            .map(OsString::as_os_str)
            .unwrap_or_default();
        let outcome = match occurrence.id {
            "help" => return Parsed::Usage,
            "version" => return Parsed::Version,
            "counter-based" | "time-based" => {
                let mode = if occurrence.id == "time-based" {
                    Mode::Totp
                } else {
                    Mode::Hotp
                };
                if o.mode.is_some() {
                    Err("Duplicate -c and/or -t option detected")
                } else if mode == Mode::Hotp && o.disallow_reuse.is_some() {
                    Err("Reuse of tokens is not a meaningful parameter in counter-based mode")
                } else {
                    o.mode = Some(mode);
                    Ok(())
                }
            }
            "no-confirm" => {
                o.no_confirm = true;
                Ok(())
            }
            "disallow-reuse" | "allow-reuse" => {
                if o.disallow_reuse.is_some() {
                    Err("Duplicate -d and/or -D option detected")
                } else if o.mode == Some(Mode::Hotp) {
                    Err("Reuse of tokens is not a meaningful parameter in counter-based mode")
                } else {
                    o.disallow_reuse = Some(occurrence.id == "disallow-reuse");
                    Ok(())
                }
            }
            "force" => set_flag(&mut o.force, "Duplicate -f option detected"),
            "quiet" => set_flag(&mut o.quiet, "Duplicate -q option detected"),
            "label" => set_value(&mut o.label, value, "Duplicate -l option detected"),
            "issuer" => set_value(&mut o.issuer, value, "Duplicate -i option detected"),
            "user" => set_value(&mut o.user, value, "Duplicate --user option detected"),
            "qr-mode" => {
                if std::mem::replace(&mut seen_qr, true) {
                    Err("Duplicate -Q option detected")
                } else if let Some(mode) = QrMode::parse(value) {
                    o.qr_mode = mode;
                    Ok(())
                } else {
                    return Parsed::Error(format!(
                        "Invalid qr-mode \"{}\"",
                        value.to_string_lossy()
                    ));
                }
            }
            "rate-limit" => {
                if rate_limit.is_some() {
                    Err("Duplicate -r option detected")
                } else if o.no_rate_limit {
                    Err("-u is mutually exclusive with -r")
                } else {
                    number(value, 1, 10, "-r requires an argument in the range 1..10")
                        .map(|n| rate_limit = Some(n))
                }
            }
            "rate-time" => {
                if rate_time.is_some() {
                    Err("Duplicate -R option detected")
                } else if o.no_rate_limit {
                    Err("-u is mutually exclusive with -R")
                } else {
                    number(
                        value,
                        15,
                        600,
                        "-R requires an argument in the range 15..600",
                    )
                    .map(|n| rate_time = Some(n))
                }
            }
            "no-rate-limit" => {
                if o.no_rate_limit {
                    Err("Duplicate -u option detected")
                } else if rate_limit.is_some() || rate_time.is_some() {
                    Err("-u is mutually exclusive with -r/-R")
                } else {
                    o.no_rate_limit = true;
                    Ok(())
                }
            }
            "secret" => {
                if o.secret.is_some() {
                    Err("Duplicate -s option detected")
                } else if value.is_empty() {
                    Err("-s must be followed by a filename")
                } else {
                    o.secret = Some(value.to_owned());
                    Ok(())
                }
            }
            "step-size" => {
                if o.step_size.is_some() {
                    Err("Duplicate -S option detected")
                } else {
                    number(value, 1, 60, "-S requires an argument in the range 1..60")
                        .map(|n| o.step_size = Some(n))
                }
            }
            "window-size" | "minimal-window" => {
                if o.window.is_some() {
                    Err("Duplicate -w/-W option detected")
                } else if occurrence.id == "minimal-window" {
                    o.window = Some(Window::Minimal);
                    Ok(())
                } else {
                    number(value, 1, 21, "-w requires an argument in the range 1..21")
                        .map(|n| o.window = Some(Window::Size(n)))
                }
            }
            "emergency-codes" => {
                if std::mem::replace(&mut seen_emergency, true) {
                    Err("Duplicate -e option detected")
                } else {
                    number(value, 0, 10, "-e requires an argument in the range 0..10")
                        .map(|n| o.emergency_codes = n)
                }
            }
            "digits" => {
                if o.digits.is_some() {
                    Err("Duplicate -g option detected")
                } else {
                    number(value, 6, 8, "-g requires an argument in the range 6..8")
                        .map(|n| o.digits = Some(n))
                }
            }
            "algorithm" => {
                if o.algorithm.is_some() {
                    Err("Duplicate -a option detected")
                } else if let Some(algorithm) = Algorithm::parse(value.as_encoded_bytes()) {
                    o.algorithm = Some(algorithm);
                    Ok(())
                } else {
                    return Parsed::Error(format!(
                        "Invalid algorithm \"{}\"",
                        value.to_string_lossy()
                    ));
                }
            }
            other => unreachable!("option {other} is not handled"),
        };
        if let Err(message) = outcome {
            return Parsed::Error(message.to_owned());
        }
    }

    if given(matches, "extra") {
        return Parsed::Usage;
    }
    if o.disallow_reuse.is_some() && o.mode != Some(Mode::Totp) {
        return Parsed::Error("Must select time-based mode, when using -d or -D".to_owned());
    }
    if o.algorithm.is_some() && o.mode != Some(Mode::Totp) {
        return Parsed::Error("Must select time-based mode, when using -a".to_owned());
    }
    match (rate_limit, rate_time) {
        (Some(n), Some(m)) => o.rate_limit = Some((n, m)),
        (None, None) => {}
        _ => return Parsed::Error("Must set -r when setting -R, and vice versa".to_owned()),
    }
    Parsed::Run(Box::new(o))
}

/// Whether `id` was on the command line (not a default).
fn given(matches: &ArgMatches, id: &str) -> bool {
    matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
}

fn set_flag(flag: &mut bool, duplicate: &'static str) -> Result<(), &'static str> {
    if std::mem::replace(flag, true) {
        return Err(duplicate);
    }
    Ok(())
}

fn set_value(
    slot: &mut Option<OsString>,
    value: &OsStr,
    duplicate: &'static str,
) -> Result<(), &'static str> {
    if slot.is_some() {
        return Err(duplicate);
    }
    *slot = Some(value.to_owned());
    Ok(())
}

/// Parses a number as `strtol(value, &end, 10)` with nothing after it, within `min..=max`.
fn number(value: &OsStr, min: i64, max: i64, message: &'static str) -> Result<u32, &'static str> {
    let parsed = strtol_whole(value.as_encoded_bytes()).filter(|n| (min..=max).contains(n));
    parsed.and_then(|n| u32::try_from(n).ok()).ok_or(message)
}

/// `strtol` in base 10 that must consume the whole text: optional leading white space, an
/// optional sign, at least one digit, nothing after them (clamped on overflow, as strtol).
fn strtol_whole(text: &[u8]) -> Option<i64> {
    let parsed = strtol(text, 10);
    (parsed.converted() && parsed.end == text.len()).then_some(parsed.value)
}

/// getopt's wording for what clap refused. `last` is the last argument, which is the option
/// that lacks its value when one is missing (clap names it by its long form only).
fn getopt_message(error: &clap::Error, last: &str) -> String {
    let invalid = match error.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    // clap describes an option as "-r <rate-limit>" or "--rate-limit <rate-limit>".
    let name = invalid.split_whitespace().next().unwrap_or_default();
    let prefix = "google-authenticator: ";
    match error.kind() {
        ErrorKind::UnknownArgument if name.starts_with("--") => {
            format!("{prefix}unrecognized option '{name}'")
        }
        ErrorKind::UnknownArgument => {
            let c = name.trim_start_matches('-');
            format!("{prefix}invalid option -- '{c}'")
        }
        ErrorKind::InvalidValue | ErrorKind::WrongNumberOfValues | ErrorKind::NoEquals
            if last.starts_with("--") =>
        {
            format!("{prefix}option '{name}' requires an argument")
        }
        ErrorKind::InvalidValue | ErrorKind::WrongNumberOfValues | ErrorKind::NoEquals => {
            let c = last.chars().last().unwrap_or('?');
            format!("{prefix}option requires an argument -- '{c}'")
        }
        ErrorKind::TooManyValues if name.starts_with("--") => {
            format!("{prefix}option '{name}' doesn't allow an argument")
        }
        _ => {
            // Keep clap's first line, without its "error: " prefix.
            let text = error.to_string();
            let line = text.lines().next().unwrap_or_default();
            format!("{prefix}{}", line.trim_start_matches("error: "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(args: &[&str]) -> Parsed {
        parse(args.iter().map(OsString::from))
    }

    fn run(args: &[&str]) -> Options {
        match p(args) {
            Parsed::Run(o) => *o,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    fn error(args: &[&str]) -> String {
        match p(args) {
            Parsed::Error(m) => m,
            other => panic!("{args:?} gave {other:?}"),
        }
    }

    #[test]
    fn defaults() {
        assert_eq!(run(&[]), Options::default());
    }

    #[test]
    fn every_option() {
        let o = run(&[
            "-t",
            "-d",
            "-f",
            "-q",
            "-C",
            "-l",
            "-lab",
            "--issuer=Iss",
            "-Qutf8-grey",
            "-r3",
            "--rate-time",
            "30",
            "-s",
            "/x",
            "-S",
            " +60",
            "-w",
            "21",
            "-e0",
            "--user",
            "bob",
        ]);
        assert_eq!(o.mode, Some(Mode::Totp));
        assert_eq!(o.disallow_reuse, Some(true));
        assert!(o.force && o.quiet && o.no_confirm);
        assert_eq!(o.label.as_deref(), Some(OsStr::new("-lab")));
        assert_eq!(o.issuer.as_deref(), Some(OsStr::new("Iss")));
        assert_eq!(o.qr_mode, QrMode::Utf8Grey);
        assert_eq!(o.rate_limit, Some((3, 30)));
        assert_eq!(o.secret.as_deref(), Some(OsStr::new("/x")));
        assert_eq!(o.step_size, Some(60));
        assert_eq!(o.window, Some(Window::Size(21)));
        assert_eq!(o.emergency_codes, 0);
        assert_eq!(o.user.as_deref(), Some(OsStr::new("bob")));
        assert_eq!(run(&["-tdfW"]).window, Some(Window::Minimal));
        let o = run(&["-t", "-g", "8", "--algorithm=sha256"]);
        assert_eq!((o.digits, o.algorithm), (Some(8), Some(Algorithm::Sha256)));
        let o = run(&["-tg7", "-aSHA512"]);
        assert_eq!((o.digits, o.algorithm), (Some(7), Some(Algorithm::Sha512)));
        let o = run(&["--digits", "6", "-t", "-a", "Sha1"]);
        assert_eq!((o.digits, o.algorithm), (Some(6), Some(Algorithm::Sha1)));
        // Digits apply to HOTP too; the algorithm is for TOTP only.
        assert_eq!(run(&["-c", "-g", "8"]).digits, Some(8));
        let o = run(&["-t"]);
        assert_eq!((o.digits, o.algorithm), (None, None));
        assert_eq!(run(&["--counter", "--minimal"]).mode, Some(Mode::Hotp));
    }

    #[test]
    fn upstream_messages() {
        let cases: &[(&[&str], &str)] = &[
            (&["-c", "-t"], "Duplicate -c and/or -t option detected"),
            (
                &["-c", "-d"],
                "Reuse of tokens is not a meaningful parameter in counter-based mode",
            ),
            (
                &["-D", "-c"],
                "Reuse of tokens is not a meaningful parameter in counter-based mode",
            ),
            (&["-d", "-D"], "Duplicate -d and/or -D option detected"),
            (&["-f", "-f"], "Duplicate -f option detected"),
            (&["-l", "a", "-l", "b"], "Duplicate -l option detected"),
            (&["-i", "a", "-i", "b"], "Duplicate -i option detected"),
            (&["-q", "-q"], "Duplicate -q option detected"),
            (
                &["-Q", "none", "-Q", "none"],
                "Duplicate -Q option detected",
            ),
            (&["-r", "3", "-r", "3"], "Duplicate -r option detected"),
            (&["-R", "30", "-R", "30"], "Duplicate -R option detected"),
            (&["-u", "-u"], "Duplicate -u option detected"),
            (&["-s", "a", "-s", "b"], "Duplicate -s option detected"),
            (&["-S", "30", "-S", "30"], "Duplicate -S option detected"),
            (&["-w", "3", "-W"], "Duplicate -w/-W option detected"),
            (&["-e", "1", "-e", "1"], "Duplicate -e option detected"),
            (&["-u", "-r", "3"], "-u is mutually exclusive with -r"),
            (&["-u", "-R", "30"], "-u is mutually exclusive with -R"),
            (&["-r", "3", "-u"], "-u is mutually exclusive with -r/-R"),
            (&["-R", "30", "-u"], "-u is mutually exclusive with -r/-R"),
            (&["-r", "0"], "-r requires an argument in the range 1..10"),
            (&["-r", "11"], "-r requires an argument in the range 1..10"),
            (
                &["-R", "14"],
                "-R requires an argument in the range 15..600",
            ),
            (
                &["-R", "601"],
                "-R requires an argument in the range 15..600",
            ),
            (&["-S", "0"], "-S requires an argument in the range 1..60"),
            (&["-S", "61"], "-S requires an argument in the range 1..60"),
            (&["-w", "0"], "-w requires an argument in the range 1..21"),
            (&["-w", "22"], "-w requires an argument in the range 1..21"),
            (&["-w", "101"], "-w requires an argument in the range 1..21"),
            (&["-w", "3x"], "-w requires an argument in the range 1..21"),
            (&["-w", ""], "-w requires an argument in the range 1..21"),
            (&["-e", "11"], "-e requires an argument in the range 0..10"),
            (&["-e", "-1"], "-e requires an argument in the range 0..10"),
            (&["-s", ""], "-s must be followed by a filename"),
            (&["-Q", "qr"], "Invalid qr-mode \"qr\""),
            (&["-g", "5"], "-g requires an argument in the range 6..8"),
            (&["-g", "9"], "-g requires an argument in the range 6..8"),
            (&["-g", "8x"], "-g requires an argument in the range 6..8"),
            (&["-g", "6", "-g", "6"], "Duplicate -g option detected"),
            (&["-t", "-a", "sha384"], "Invalid algorithm \"sha384\""),
            (&["-t", "-a", "sha-256"], "Invalid algorithm \"sha-256\""),
            (
                &["-a", "sha1", "-a", "sha1"],
                "Duplicate -a option detected",
            ),
            (
                &["-a", "sha256"],
                "Must select time-based mode, when using -a",
            ),
            (
                &["-c", "-a", "sha256"],
                "Must select time-based mode, when using -a",
            ),
            (&["-d"], "Must select time-based mode, when using -d or -D"),
            (&["-r", "3"], "Must set -r when setting -R, and vice versa"),
            (&["-R", "30"], "Must set -r when setting -R, and vice versa"),
            (
                &["--user", "a", "--user", "b"],
                "Duplicate --user option detected",
            ),
        ];
        for (args, message) in cases {
            assert_eq!(error(args), *message, "{args:?}");
        }
    }

    #[test]
    fn help_version_and_extra_arguments() {
        assert_eq!(p(&["-h"]), Parsed::Usage);
        assert_eq!(p(&["-t", "--help"]), Parsed::Usage);
        assert_eq!(p(&["--version"]), Parsed::Version);
        assert_eq!(p(&["extra"]), Parsed::Usage);
        // Parsing stops at the first non-option, so a bad option after it is not an error.
        assert_eq!(p(&["-t", "extra", "-x"]), Parsed::Usage);
        // The first problem in command-line order wins.
        assert_eq!(
            p(&["-w", "0", "-h"]),
            Parsed::Error("-w requires an argument in the range 1..21".into())
        );
    }

    #[test]
    fn getopt_style_complaints() {
        assert_eq!(
            p(&["-x"]),
            Parsed::BadOption("google-authenticator: invalid option -- 'x'".into())
        );
        assert_eq!(
            p(&["--bogus"]),
            Parsed::BadOption("google-authenticator: unrecognized option '--bogus'".into())
        );
        assert_eq!(
            p(&["-t", "-r"]),
            Parsed::BadOption("google-authenticator: option requires an argument -- 'r'".into())
        );
        assert_eq!(
            p(&["-tfr"]),
            Parsed::BadOption("google-authenticator: option requires an argument -- 'r'".into())
        );
        assert_eq!(
            p(&["--rate-l"]),
            Parsed::BadOption(
                "google-authenticator: option '--rate-limit' requires an argument".into()
            )
        );
        assert_eq!(
            p(&["--force=x"]),
            Parsed::BadOption(
                "google-authenticator: option '--force' doesn't allow an argument".into()
            )
        );
    }

    #[test]
    fn qr_modes_are_case_insensitive() {
        for (text, mode) in [
            ("none", QrMode::None),
            ("ANSI", QrMode::Ansi),
            ("Ansi_Inverse", QrMode::AnsiInverse),
            ("ansi-grey", QrMode::AnsiGrey),
            ("utf8", QrMode::Utf8),
            ("UTF8-INVERSE", QrMode::Utf8Inverse),
            ("utf8_grey", QrMode::Utf8Grey),
        ] {
            assert_eq!(QrMode::parse(OsStr::new(text)), Some(mode));
        }
        assert_eq!(QrMode::parse(OsStr::new("utf-8")), None);
    }
}
