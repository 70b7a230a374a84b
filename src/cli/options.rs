//! The command line: upstream's options, read by `cli::getopt` as glibc's `getopt_long`
//! reads them, and checked one at a time in command-line order with upstream's messages.
//! The first problem on the command line is the one reported, whether getopt's or upstream's.

use std::ffi::{OsStr, OsString};

use super::getopt::{Found, Getopt, Opt};
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
    Error(OsString),
    /// getopt's complaint on stderr, then the usage on stdout, then
    /// `Failed to parse command line` on stderr; exit 1.
    BadOption(OsString),
}

/// The options, by their long names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Name {
    Help,
    Version,
    CounterBased,
    NoConfirm,
    TimeBased,
    DisallowReuse,
    AllowReuse,
    Force,
    Label,
    Issuer,
    Quiet,
    QrMode,
    RateLimit,
    RateTime,
    NoRateLimit,
    Secret,
    StepSize,
    WindowSize,
    MinimalWindow,
    EmergencyCodes,
    Digits,
    Algorithm,
    User,
}

/// The options, in upstream's order (its error for an ambiguous abbreviation lists them in
/// this order), then the fork's two and `--user`.
const OPTIONS: &[Opt<Name>] = &[
    flag(Name::Help, "help", Some(b'h')),
    flag(Name::Version, "version", None),
    flag(Name::CounterBased, "counter-based", Some(b'c')),
    flag(Name::NoConfirm, "no-confirm", Some(b'C')),
    flag(Name::TimeBased, "time-based", Some(b't')),
    flag(Name::DisallowReuse, "disallow-reuse", Some(b'd')),
    flag(Name::AllowReuse, "allow-reuse", Some(b'D')),
    flag(Name::Force, "force", Some(b'f')),
    valued(Name::Label, "label", Some(b'l')),
    valued(Name::Issuer, "issuer", Some(b'i')),
    flag(Name::Quiet, "quiet", Some(b'q')),
    valued(Name::QrMode, "qr-mode", Some(b'Q')),
    valued(Name::RateLimit, "rate-limit", Some(b'r')),
    valued(Name::RateTime, "rate-time", Some(b'R')),
    flag(Name::NoRateLimit, "no-rate-limit", Some(b'u')),
    valued(Name::Secret, "secret", Some(b's')),
    valued(Name::StepSize, "step-size", Some(b'S')),
    valued(Name::WindowSize, "window-size", Some(b'w')),
    flag(Name::MinimalWindow, "minimal-window", Some(b'W')),
    valued(Name::EmergencyCodes, "emergency-codes", Some(b'e')),
    valued(Name::Digits, "digits", Some(b'g')),
    valued(Name::Algorithm, "algorithm", Some(b'a')),
    valued(Name::User, "user", None),
];

const fn flag(id: Name, long: &'static str, short: Option<u8>) -> Opt<Name> {
    Opt {
        id,
        short,
        long,
        takes_value: false,
    }
}

const fn valued(id: Name, long: &'static str, short: Option<u8>) -> Opt<Name> {
    Opt {
        id,
        short,
        long,
        takes_value: true,
    }
}

/// Parses `args` (without the program name), naming the program `google-authenticator` in
/// getopt's complaints.
#[must_use]
pub fn parse<I>(args: I) -> Parsed
where
    I: IntoIterator<Item = OsString>,
{
    parse_as(OsStr::new("google-authenticator"), args)
}

/// Parses `args` (without the program name); getopt's complaints start with `program`, as
/// glibc's start with `argv[0]`.
#[must_use]
pub fn parse_as<I>(program: &OsStr, args: I) -> Parsed
where
    I: IntoIterator<Item = OsString>,
{
    let args: Vec<OsString> = args.into_iter().collect();
    let mut getopt = Getopt::new(program, &args, OPTIONS);
    let mut checks = Checks::default();
    for found in getopt.by_ref() {
        let outcome = match found {
            Found::Opt(id, value) => checks.apply(id, value.unwrap_or_default()),
            Found::Complaint(line) => Err(Parsed::BadOption(line)),
        };
        if let Err(parsed) = outcome {
            return parsed;
        }
    }
    if !getopt.rest().is_empty() {
        return Parsed::Usage;
    }
    checks.finish()
}

/// Upstream's checks, run one option at a time in command-line order, as its getopt loop
/// does: the first problem on the command line is the one reported.
#[derive(Default)]
struct Checks {
    o: Options,
    seen_emergency: bool,
    seen_qr: bool,
    rate_limit: Option<u32>,
    rate_time: Option<u32>,
}

impl Checks {
    /// Takes one option; `Err` is what the command line gives (an error, or `-h` and
    /// `--version`, which end the parsing).
    fn apply(&mut self, id: Name, value: &OsStr) -> Result<(), Parsed> {
        let o = &mut self.o;
        let outcome = match id {
            Name::Help => return Err(Parsed::Usage),
            Name::Version => return Err(Parsed::Version),
            Name::CounterBased | Name::TimeBased => {
                let mode = if id == Name::TimeBased {
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
            Name::NoConfirm => {
                o.no_confirm = true;
                Ok(())
            }
            Name::DisallowReuse | Name::AllowReuse => {
                if o.disallow_reuse.is_some() {
                    Err("Duplicate -d and/or -D option detected")
                } else if o.mode == Some(Mode::Hotp) {
                    Err("Reuse of tokens is not a meaningful parameter in counter-based mode")
                } else {
                    o.disallow_reuse = Some(id == Name::DisallowReuse);
                    Ok(())
                }
            }
            Name::Force => set_flag(&mut o.force, "Duplicate -f option detected"),
            Name::Quiet => set_flag(&mut o.quiet, "Duplicate -q option detected"),
            Name::Label => set_value(&mut o.label, value, "Duplicate -l option detected"),
            Name::Issuer => set_value(&mut o.issuer, value, "Duplicate -i option detected"),
            Name::User => set_value(&mut o.user, value, "Duplicate --user option detected"),
            Name::QrMode => {
                if std::mem::replace(&mut self.seen_qr, true) {
                    Err("Duplicate -Q option detected")
                } else if let Some(mode) = QrMode::parse(value) {
                    o.qr_mode = mode;
                    Ok(())
                } else {
                    return Err(Parsed::Error(quoted("Invalid qr-mode", value)));
                }
            }
            Name::RateLimit => {
                if self.rate_limit.is_some() {
                    Err("Duplicate -r option detected")
                } else if o.no_rate_limit {
                    Err("-u is mutually exclusive with -r")
                } else {
                    number(value, 1, 10, "-r requires an argument in the range 1..10")
                        .map(|n| self.rate_limit = Some(n))
                }
            }
            Name::RateTime => {
                if self.rate_time.is_some() {
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
                    .map(|n| self.rate_time = Some(n))
                }
            }
            Name::NoRateLimit => {
                if o.no_rate_limit {
                    Err("Duplicate -u option detected")
                } else if self.rate_limit.is_some() || self.rate_time.is_some() {
                    Err("-u is mutually exclusive with -r/-R")
                } else {
                    o.no_rate_limit = true;
                    Ok(())
                }
            }
            Name::Secret => {
                if o.secret.is_some() {
                    Err("Duplicate -s option detected")
                } else if value.is_empty() {
                    Err("-s must be followed by a filename")
                } else {
                    o.secret = Some(value.to_owned());
                    Ok(())
                }
            }
            Name::StepSize => {
                if o.step_size.is_some() {
                    Err("Duplicate -S option detected")
                } else {
                    number(value, 1, 60, "-S requires an argument in the range 1..60")
                        .map(|n| o.step_size = Some(n))
                }
            }
            Name::WindowSize | Name::MinimalWindow => {
                if o.window.is_some() {
                    Err("Duplicate -w/-W option detected")
                } else if id == Name::MinimalWindow {
                    o.window = Some(Window::Minimal);
                    Ok(())
                } else {
                    number(value, 1, 21, "-w requires an argument in the range 1..21")
                        .map(|n| o.window = Some(Window::Size(n)))
                }
            }
            Name::EmergencyCodes => {
                if std::mem::replace(&mut self.seen_emergency, true) {
                    Err("Duplicate -e option detected")
                } else {
                    number(value, 0, 10, "-e requires an argument in the range 0..10")
                        .map(|n| o.emergency_codes = n)
                }
            }
            Name::Digits => {
                if o.digits.is_some() {
                    Err("Duplicate -g option detected")
                } else {
                    number(value, 6, 8, "-g requires an argument in the range 6..8")
                        .map(|n| o.digits = Some(n))
                }
            }
            Name::Algorithm => {
                if o.algorithm.is_some() {
                    Err("Duplicate -a option detected")
                } else if let Some(algorithm) = Algorithm::parse(value.as_encoded_bytes()) {
                    o.algorithm = Some(algorithm);
                    Ok(())
                } else {
                    return Err(Parsed::Error(quoted("Invalid algorithm", value)));
                }
            }
        };
        outcome.map_err(|message| Parsed::Error(message.into()))
    }

    /// The checks after the last option.
    fn finish(self) -> Parsed {
        let mut o = self.o;
        if o.disallow_reuse.is_some() && o.mode != Some(Mode::Totp) {
            return Parsed::Error("Must select time-based mode, when using -d or -D".into());
        }
        if o.algorithm.is_some() && o.mode != Some(Mode::Totp) {
            return Parsed::Error("Must select time-based mode, when using -a".into());
        }
        match (self.rate_limit, self.rate_time) {
            (Some(n), Some(m)) => o.rate_limit = Some((n, m)),
            (None, None) => {}
            _ => return Parsed::Error("Must set -r when setting -R, and vice versa".into()),
        }
        Parsed::Run(Box::new(o))
    }
}

/// `what "value"`, with the value's bytes as given (upstream prints them with `%s`).
fn quoted(what: &str, value: &OsStr) -> OsString {
    let mut line = OsString::from(format!("{what} \""));
    line.push(value);
    line.push("\"");
    line
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
            Parsed::Error(m) => m.into_string().expect("a UTF-8 message"),
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
            p(&["--s"]),
            Parsed::BadOption(
                "google-authenticator: option '--s' is ambiguous; possibilities: '--secret' '--step-size'"
                    .into()
            )
        );
        // The fork's --digits makes --d ambiguous.
        assert_eq!(
            p(&["--d"]),
            Parsed::BadOption(
                "google-authenticator: option '--d' is ambiguous; possibilities: '--disallow-reuse' '--digits'"
                    .into()
            )
        );
        // A short option's value is the rest of its argument, "=3" here.
        assert_eq!(
            p(&["-w=3"]),
            Parsed::Error("-w requires an argument in the range 1..21".into())
        );
        assert_eq!(
            parse_as(OsStr::new("/usr/bin/ga"), [OsString::from("-x")]),
            Parsed::BadOption("/usr/bin/ga: invalid option -- 'x'".into())
        );
        // After --, everything is an extra argument.
        assert_eq!(p(&["--", "-x"]), Parsed::Usage);
        assert!(matches!(p(&["-t", "--"]), Parsed::Run(_)));
        assert_eq!(
            p(&["--force=x"]),
            Parsed::BadOption(
                "google-authenticator: option '--force' doesn't allow an argument".into()
            )
        );
    }

    #[test]
    fn complaints_and_values_keep_their_bytes() {
        use std::os::unix::ffi::OsStringExt;
        let arg = |bytes: &[u8]| OsString::from_vec(bytes.to_vec());
        assert_eq!(
            parse_as(&arg(b"ga\xff"), [arg(b"-\xe9")]),
            Parsed::BadOption(arg(b"ga\xff: invalid option -- '\xe9'"))
        );
        assert_eq!(
            parse([arg(b"--s\xff")]),
            Parsed::BadOption(arg(b"google-authenticator: unrecognized option '--s\xff'"))
        );
        assert_eq!(
            parse([arg(b"-Q"), arg(b"\xffno")]),
            Parsed::Error(arg(b"Invalid qr-mode \"\xffno\""))
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
