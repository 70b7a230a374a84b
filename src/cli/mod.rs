//! The `google-authenticator` setup command: makes a new secret, shows it (QR code, otpauth
//! URL, the key in base32, scratch codes), asks upstream's questions and writes the secret
//! file the module reads.
//!
//! The command is flag-compatible with upstream's tool (version 1.11): the same options,
//! messages, questions and file layout. It fixes the tool's weaknesses (see
//! `docs/COMPATIBILITY.md`, "The setup command"): the file is written durably under the
//! module's lock and the old one is never lost on a failure, symlinks and directories at the
//! path are refused, the URL is always printed and says which step size and counter it uses,
//! the confirmation accepts the codes the module would accept and never shows the right code,
//! scratch codes are uniform, and root can enrol another user with `--user`, doing the file
//! work as that user.
//!
//! [`options`] parses the command line (with `getopt`, glibc's `getopt_long` rules),
//! [`enrol`] makes the secret and the file, [`url`] and [`qr`] make what the app scans, and
//! [`prompt`] asks the questions; this module runs them in upstream's order.
#![forbid(unsafe_code)]

pub mod audit;
pub mod enrol;
mod getopt;
pub mod options;
pub mod prompt;
pub mod qr;
pub mod stack;
pub mod url;

use std::ffi::{OsStr, OsString};
use std::io::{self, BufReader, Write};
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use zeroize::Zeroizing;

use crate::core::cnum::strtol;
use crate::core::otp::{MIN_DIGITS, OtpKey};
use crate::core::policy;
use crate::os::fsid::{FsIdGuard, FsIds};
use crate::os::install::{self, Existing, InstallError};
use crate::os::store::WriteStep;
use crate::os::strerror;
use crate::os::{clock, host, random, terminal, user};

use enrol::{FileOptions, SECRET_BYTES};
use options::{Mode, Options, Parsed, QrMode};
use prompt::{EndOfInput, Prompter};

/// The default file name in the home directory.
const DEFAULT_FILE: &str = "/.google_authenticator";

/// The TOTP step when `-S` is not given: the module's default.
const DEFAULT_STEP: u32 = policy::DEFAULT_STEP_SIZE as u32;

/// The window the module uses when the file has no `WINDOW_SIZE`.
const DEFAULT_WINDOW: u32 = policy::DEFAULT_WINDOW_SIZE as u32;

/// Runs the command with the process's arguments and standard streams.
#[must_use]
pub fn main() -> ExitCode {
    ExitCode::from(run(std::env::args_os()))
}

/// Runs the command with `argv` (the program name first, which getopt's complaints start
/// with, as glibc's start with `argv[0]`); gives the exit status.
pub fn run<I>(argv: I) -> u8
where
    I: IntoIterator<Item = OsString>,
{
    let mut argv = argv.into_iter();
    let program = argv
        .next()
        .unwrap_or_else(|| OsString::from("google-authenticator"));
    let options = match options::parse_as(&program, argv) {
        Parsed::Run(options) => options,
        Parsed::Usage => {
            out(options::USAGE);
            return 0;
        }
        Parsed::Version => {
            out(&format!("{}\n", options::VERSION_LINE));
            return 0;
        }
        Parsed::Error(message) => {
            err_bytes(&message);
            return 1;
        }
        Parsed::BadOption(message) => {
            err_bytes(&message);
            out(options::USAGE);
            err("Failed to parse command line");
            return 1;
        }
    };
    let stdin = io::stdin();
    let mut prompter = Prompter::new(BufReader::new(stdin.lock()), io::stdout());
    match setup(&options, &mut prompter) {
        Ok(()) => 0,
        Err(Failure(message)) => {
            if let Some(message) = message {
                err(&message);
            }
            1
        }
    }
}

/// A failed run: the message for stderr, if any; the exit status is 1.
struct Failure(Option<String>);

impl Failure {
    fn new(message: impl Into<String>) -> Failure {
        Failure(Some(message.into()))
    }
}

impl From<EndOfInput> for Failure {
    fn from(EndOfInput: EndOfInput) -> Failure {
        Failure::new("\nNo answer: the input ended. Nothing was written.")
    }
}

/// Whose file is written, and where.
struct Target {
    /// The secret file.
    path: PathBuf,
    /// The name for the default label.
    name: Vec<u8>,
    /// With `--user`: the uid and gid to do the file work as.
    ids: Option<(u32, u32)>,
}

fn setup<R: io::BufRead, W: Write>(
    options: &Options,
    prompter: &mut Prompter<R, W>,
) -> Result<(), Failure> {
    let target = resolve_target(options)?;
    as_target(&target, || check_path(&target.path))?;

    let mut secret_bytes = Zeroizing::new([0u8; SECRET_BYTES]);
    random::fill(&mut secret_bytes[..])
        .map_err(|e| Failure::new(format!("Failed to read random bytes: {}", strerror(&e))))?;
    let secret = enrol::encode_secret(&secret_bytes);
    let scratch = (0..options.emergency_codes)
        .map(|_| {
            enrol::scratch_code(|| {
                let mut word = [0u8; 4];
                random::fill(&mut word).map(|()| u32::from_be_bytes(word))
            })
        })
        .collect::<Result<Vec<u32>, io::Error>>()
        .map_err(|e| Failure::new(format!("Failed to read random bytes: {}", strerror(&e))))?;

    let mode = match options.mode {
        Some(mode) => mode,
        None => {
            if prompter.ask("Do you want authentication tokens to be time-based")? {
                Mode::Totp
            } else {
                Mode::Hotp
            }
        }
    };
    // The codes the app will show: the chosen hash (TOTP only; `-a` needs `-t`) and digits.
    let digits = options.digits.unwrap_or(MIN_DIGITS);
    let algorithm = match mode {
        Mode::Totp => options.algorithm.unwrap_or_default(),
        Mode::Hotp => Default::default(),
    };
    let key = OtpKey::with(&secret_bytes[..], algorithm, digits)
        .ok_or_else(|| Failure::new("Failed to compute verification codes for the new secret"))?;
    if mode == Mode::Hotp && options.step_size.is_some() {
        err("Note: -S has no effect in counter-based mode; no STEP_SIZE is written.");
    }
    let step = match mode {
        Mode::Totp => options.step_size.unwrap_or(DEFAULT_STEP),
        Mode::Hotp => DEFAULT_STEP,
    };

    if !options.quiet {
        show_enrolment(options, &target, mode, step, &secret, prompter)?;
        if mode == Mode::Totp && !options.no_confirm {
            confirm(options, &key, step, prompter)?;
        } else if mode == Mode::Hotp {
            prompter.say(&format!(
                "Your verification code for code 1 is {:0width$}\n",
                key.code(1),
                width = digits as usize
            ));
        }
        prompter.say("Your emergency scratch codes are:\n");
        for code in &scratch {
            prompter.say(&format!("  {code:08}\n"));
        }
    }

    if !options.force {
        let question = format!(
            "Do you want me to update your \"{}\" file?",
            target.path.display()
        );
        if !prompter.ask(&question)? {
            return Ok(());
        }
    }

    let file_options = ask_file_options(options, mode, prompter)?;
    let file = enrol::build_file(&secret, &scratch, &file_options)
        .map_err(|e| Failure::new(format!("Failed to build the secret file: {e}")))?;
    as_target(&target, || write(&target.path, file.as_bytes()))
}

/// Shows the QR code, the URL and the secret.
fn show_enrolment<R: io::BufRead, W: Write>(
    options: &Options,
    target: &Target,
    mode: Mode,
    step: u32,
    secret: &str,
    prompter: &mut Prompter<R, W>,
) -> Result<(), Failure> {
    let hostname = host::hostname().unwrap_or_else(|| b"unix".to_vec());
    let label = match &options.label {
        Some(label) => label.as_bytes().to_vec(),
        None => [&target.name[..], b"@", &hostname[..]].concat(),
    };
    let issuer = match &options.issuer {
        Some(issuer) => issuer.as_bytes().to_vec(),
        None => hostname.clone(),
    };
    let url = url::otpauth(&url::Account {
        hotp: mode == Mode::Hotp,
        label: &label,
        issuer: &issuer,
        secret,
        step,
        digits: options.digits,
        algorithm: options.algorithm.filter(|_| mode == Mode::Totp),
    })
    .map_err(|e| Failure::new(e.to_string()))?;
    let url = Zeroizing::new(url);

    if options.qr_mode != QrMode::None {
        match qr::Matrix::encode(url.as_bytes()) {
            None => prompter.say(
                "The URL is too long for a QR code.\n\
                 Consider typing the OTP secret into your app manually.\n",
            ),
            Some(matrix) => {
                let needed = qr::columns_needed(&matrix, options.qr_mode);
                match terminal::columns(&io::stdout()) {
                    Some(columns) if usize::from(columns) < needed => {
                        prompter.say(&format!(
                            "The terminal is too narrow for the QR code ({columns} columns, \
                             {needed} needed).\nWiden it and run the command again, try \
                             -Q UTF8, or use the URL or the secret key below.\n"
                        ));
                    }
                    _ => prompter.say(&qr::render(&matrix, options.qr_mode)),
                }
            }
        }
    }
    prompter.say(&format!("Your otpauth URL is: {}\n", url.as_str()));
    prompter.say(&format!("Your new secret key is: {secret}\n"));
    Ok(())
}

/// Asks for a code from the app until one is accepted or the user skips.
fn confirm<R: io::BufRead, W: Write>(
    options: &Options,
    key: &OtpKey,
    step: u32,
    prompter: &mut Prompter<R, W>,
) -> Result<(), Failure> {
    let window = options
        .window
        .map_or(DEFAULT_WINDOW, |w| w.size(Mode::Totp));
    loop {
        prompter.say("Enter code from app (-1 to skip): ");
        let Ok(piece) = prompter.read_piece() else {
            prompter.say("\n");
            return Err(Failure::new(
                "No code: the input ended. Nothing was written.",
            ));
        };
        match leading_number(&piece) {
            Some(n) if n < 0 => {
                prompter.say("Code confirmation skipped\n");
                return Ok(());
            }
            Some(n) if accepts(key, clock::now(), step, window, n) => {
                prompter.say("Code confirmed\n");
                return Ok(());
            }
            _ => prompter.say("Code incorrect. Try again.\n"),
        }
    }
}

/// Whether `code` is one the module would accept now with `WINDOW_SIZE window` (the
/// module's window, [`policy::window_start`]).
fn accepts(key: &OtpKey, now: i64, step: u32, window: u32, code: i64) -> bool {
    let Ok(code) = u32::try_from(code) else {
        return false;
    };
    let window = i64::from(window.max(1));
    let first = policy::window_start(now.div_euclid(i64::from(step)), window);
    let mut found = false;
    for counter in (0..window).map(|i| first + i) {
        if let Ok(counter) = u64::try_from(counter) {
            // Every step is checked, so the time taken does not say which one matched.
            found |= key.matches(counter, code);
        }
    }
    found
}

/// The number at the start of `text` as `strtol` reads it (white space, sign, digits);
/// `None` when there are no digits (upstream would read 0).
fn leading_number(text: &[u8]) -> Option<i64> {
    let parsed = strtol(text, 10);
    parsed.converted().then_some(parsed.value)
}

/// Asks the option questions the flags left open, in upstream's order.
fn ask_file_options<R: io::BufRead, W: Write>(
    options: &Options,
    mode: Mode,
    prompter: &mut Prompter<R, W>,
) -> Result<FileOptions, Failure> {
    let mut file = FileOptions {
        mode,
        disallow_reuse: false,
        step_size: None,
        digits: options.digits,
        algorithm: options.algorithm,
        window_size: options.window.map(|w| w.size(mode)),
        rate_limit: options.rate_limit,
    };
    match mode {
        Mode::Totp => {
            file.disallow_reuse = match options.disallow_reuse {
                Some(disallow) => disallow,
                None => prompter.ask(
                    "Do you want to disallow multiple uses of the same authentication\n\
                     token? This restricts you to one login about every 30s, but it increases\n\
                     your chances to notice or even prevent man-in-the-middle attacks",
                )?,
            };
            file.step_size = options.step_size;
            if options.window.is_none()
                && prompter.ask(
                    "By default, a new token is generated every 30 seconds by the mobile app.\n\
                     In order to compensate for possible time-skew between the client and the server,\n\
                     we allow an extra token before and after the current time. This allows for a\n\
                     time skew of up to 30 seconds between authentication server and client. If you\n\
                     experience problems with poor time synchronization, you can increase the window\n\
                     from its default size of 3 permitted codes (one previous code, the current\n\
                     code, the next code) to 17 permitted codes (the 8 previous codes, the current\n\
                     code, and the 8 next codes). This will permit for a time skew of up to 4 minutes\n\
                     between client and server.\n\
                     Do you want to do so?",
                )?
            {
                file.window_size = Some(17);
            }
        }
        Mode::Hotp => {
            if options.window.is_none()
                && prompter.ask(
                    "By default, three tokens are valid at any one time.  This accounts for\n\
                     generated-but-not-used tokens and failed login attempts. In order to\n\
                     decrease the likelihood of synchronization problems, this window can be\n\
                     increased from its default size of 3 to 17. Do you want to do so?",
                )?
            {
                file.window_size = Some(17);
            }
        }
    }
    if options.rate_limit.is_none()
        && !options.no_rate_limit
        && prompter.ask(
            "If the computer that you are logging into isn't hardened against brute-force\n\
             login attempts, you can enable rate-limiting for the authentication module.\n\
             By default, this limits attackers to no more than 3 login attempts every 30s.\n\
             Do you want to enable rate-limiting?",
        )?
    {
        file.rate_limit = Some((3, 30));
    }
    Ok(file)
}

/// Works out whose file is written and where.
fn resolve_target(options: &Options) -> Result<Target, Failure> {
    let no_home = || Failure::new("Cannot determine home directory");
    let (name, ids, home) = match &options.user {
        Some(wanted) => {
            let info = user::by_name(wanted.as_bytes()).map_err(|e| {
                Failure::new(format!(
                    "Cannot set up user \"{}\": {e}",
                    wanted.to_string_lossy()
                ))
            })?;
            let me = host::real_uid();
            if me != 0 && me != info.uid {
                return Err(Failure::new(
                    "Only root can set up the file of another user (--user)",
                ));
            }
            (info.name, Some((info.uid, info.gid)), info.home)
        }
        None => {
            let uid = host::real_uid();
            let name = match user::by_uid(uid) {
                Ok(info) => info.name,
                Err(_) => uid.to_string().into_bytes(),
            };
            let home = std::env::var_os("HOME").map(OsString::into_vec);
            (name, None, home)
        }
    };
    let path = match &options.secret {
        Some(path) => PathBuf::from(path),
        None => {
            let home = home
                .filter(|h| h.first() == Some(&b'/'))
                .ok_or_else(no_home)?;
            let mut path = home;
            path.extend_from_slice(DEFAULT_FILE.as_bytes());
            PathBuf::from(OsString::from_vec(path))
        }
    };
    Ok(Target { path, name, ids })
}

/// Runs `work` with the target user's filesystem ids (when `--user` was given).
fn as_target<T>(target: &Target, work: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    let Some((uid, gid)) = target.ids else {
        return work();
    };
    let guard = FsIdGuard::switch(FsIds { uid, gid }).map_err(|e| Failure::new(format!("{e}")))?;
    let result = work();
    guard.restore().map_err(|e| Failure::new(format!("{e}")))?;
    result
}

/// Refuses, before anything is shown, a path the file can never be written to.
fn check_path(path: &Path) -> Result<(), Failure> {
    match install::inspect(path) {
        Ok(Existing::File) => Ok(()),
        Ok(Existing::Nothing) => {
            let parent = match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent,
                _ => Path::new("."),
            };
            match std::fs::metadata(parent) {
                Ok(meta) if meta.is_dir() => Ok(()),
                Ok(_) => Err(Failure::new(format!(
                    "Cannot create \"{}\": \"{}\" is not a directory",
                    path.display(),
                    parent.display()
                ))),
                Err(e) => Err(Failure::new(format!(
                    "Cannot create \"{}\": directory \"{}\": {}",
                    path.display(),
                    parent.display(),
                    strerror(&e)
                ))),
            }
        }
        Err(e) => Err(install_failure(path, e)),
    }
}

/// Writes the file and explains a failure.
fn write(path: &Path, contents: &[u8]) -> Result<(), Failure> {
    match install::install(path, contents) {
        Ok(written) => {
            if let Some(e) = written.label_error {
                err(&format!(
                    "Warning: \"{}\" could not be given the SELinux label it needs: {}",
                    path.display(),
                    strerror(&e)
                ));
            }
            Ok(())
        }
        Err(InstallError::Write(e)) if e.step == WriteStep::SyncDir => {
            // The new file is in place; only its survival of a crash is in doubt.
            err(&format!(
                "Warning: \"{}\" was written, but its directory could not be synced: {}",
                path.display(),
                strerror(&e.error)
            ));
            Ok(())
        }
        Err(e) => Err(install_failure(path, e)),
    }
}

fn install_failure(path: &Path, error: InstallError) -> Failure {
    let path = path.display();
    Failure::new(match error {
        InstallError::Symlink => {
            format!("Refusing to write \"{path}\": it is a symbolic link")
        }
        InstallError::Directory => format!("Refusing to write \"{path}\": it is a directory"),
        InstallError::NotRegular => {
            format!("Refusing to write \"{path}\": it is not a regular file")
        }
        InstallError::Inspect(e) => format!("Cannot examine \"{path}\": {}", strerror(&e)),
        InstallError::LockTimedOut => format!(
            "Timed out waiting for the lock on \"{path}\" (a login is using it); \
             nothing was written"
        ),
        InstallError::Lock(e) => format!("Failed to lock \"{path}\": {}", strerror(&e)),
        InstallError::Busy => {
            format!("\"{path}\" kept changing while it was being replaced; nothing was written")
        }
        InstallError::DirectoryChanged => format!(
            "The directory of \"{path}\" changed while it was being replaced; nothing was written"
        ),
        InstallError::Write(e) if e.step == WriteStep::CreateTemp => format!(
            "Failed to create \"{path}\" temp file \"{}\" ({})",
            e.temp.as_deref().unwrap_or(Path::new("")).display(),
            strerror(&e.error)
        ),
        InstallError::Write(e) => format!(
            "Failed to write new secret: {}\n\"{path}\" was not changed",
            strerror(&e.error)
        ),
    })
}

fn out(text: &str) {
    let mut stdout = io::stdout();
    let _ = stdout.write_all(text.as_bytes());
    let _ = stdout.flush();
}

fn err(text: &str) {
    let _ = writeln!(io::stderr(), "{text}");
}

/// A line on stderr with the bytes of `text` as they are (arguments need not be UTF-8).
fn err_bytes(text: &OsStr) {
    let mut line = text.as_bytes().to_vec();
    line.push(b'\n');
    let _ = io::stderr().write_all(&line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_is_the_modules() {
        let key = OtpKey::new(b"12345678901234567890").unwrap();
        let now = 1_000_000_020; // step 33_333_334 with 30 s steps
        let step = now / 30;
        let code = |c: i64| i64::from(key.code(c as u64));
        for (window, lo, hi) in [(1, 0, 0), (3, -1, 1), (4, -1, 2), (17, -8, 8)] {
            for off in lo..=hi {
                assert!(
                    accepts(&key, now, 30, window, code(step + off)),
                    "{window} {off}"
                );
            }
            assert!(!accepts(&key, now, 30, window, code(step + lo - 1)));
            assert!(!accepts(&key, now, 30, window, code(step + hi + 1)));
        }
        assert!(!accepts(&key, now, 30, 3, -1));
        assert!(!accepts(&key, now, 30, 3, 10_000_000_000));
    }

    #[test]
    fn the_confirmation_uses_the_chosen_algorithm_and_digits() {
        use crate::core::otp::Algorithm;
        // RFC 6238 appendix B, SHA-256 at time 1111111109: 68084774.
        let seed = b"12345678901234567890123456789012";
        let key = OtpKey::with(seed, Algorithm::Sha256, 8).unwrap();
        assert!(accepts(&key, 1_111_111_109, 30, 3, 68_084_774));
        let sha1 = OtpKey::with(seed, Algorithm::Sha1, 8).unwrap();
        assert!(!accepts(&sha1, 1_111_111_109, 30, 1, 68_084_774));
        let six = OtpKey::with(seed, Algorithm::Sha256, 6).unwrap();
        assert!(!accepts(&six, 1_111_111_109, 30, 1, 68_084_774));
        assert!(accepts(&six, 1_111_111_109, 30, 1, 84_774));
    }

    #[test]
    fn numbers_as_strtol_reads_them() {
        assert_eq!(leading_number(b" 123456\n"), Some(123456));
        assert_eq!(leading_number(b"-1\n"), Some(-1));
        assert_eq!(leading_number(b"+7x"), Some(7));
        assert_eq!(leading_number(b"abc\n"), None);
        assert_eq!(leading_number(b"\n"), None);
    }
}
