//! `google-authenticator-audit`: every account as the module would judge it.
//!
//! The audit reads the module line of a PAM service (see [`super::stack`]), lists accounts
//! from the passwd database through NSS, and judges each one with the module's own code
//! ([`crate::pam::flow::judge`]): the same user lookup, path expansion, fs identity, file
//! checks and log texts as a login, stopping where the module would prompt. It never writes,
//! never prompts, and never prints a secret or a code.
//!
//! It is a command of its own rather than flags of `google-authenticator`, so none of the
//! setup command's upstream flags changes meaning.

use std::ffi::OsString;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Arg, ArgAction, Command};

use crate::core::args::Options;
use crate::core::file::SecretFile;
use crate::core::log::printable;
use crate::os::user::{self, Account};
use crate::pam::flow::{
    self, Edited, FileFacts, Judgement, Maintenance, RealSystem, System, Verdict,
};

use super::stack;

/// Exit status: nobody is refused whatever they type.
pub(crate) const EXIT_OK: u8 = 0;
/// Exit status: at least one account is locked out (or, without `nullok`, not enrolled).
pub(crate) const EXIT_LOCKED_OUT: u8 = 1;
/// Exit status: the audit could not run (bad flags, a stack it cannot interpret).
pub(crate) const EXIT_ERROR: u8 = 2;

/// What to audit, from the command line.
#[derive(Debug, Clone)]
pub struct AuditOptions {
    /// The PAM service whose module line applies.
    pub service: String,
    /// Where the PAM configuration lives.
    pub pam_dir: PathBuf,
    /// The module's file name on the module lines.
    pub module: String,
    /// Accounts named on the command line (looked up directly, so a directory that does not
    /// enumerate still answers); empty for every account.
    pub users: Vec<Vec<u8>>,
    /// Lowest uid to include.
    pub uid_min: Option<u32>,
    /// Highest uid to include.
    pub uid_max: Option<u32>,
    /// Only members of this group (listed members and those whose primary group it is).
    pub group: Option<Vec<u8>>,
    /// Only accounts with this login shell.
    pub shell: Option<Vec<u8>>,
    /// Machine-readable output.
    pub json: bool,
    /// Worker threads.
    pub threads: usize,
    /// A change to make to the named accounts instead of auditing them.
    pub maintenance: Option<Op>,
}

/// An account maintenance operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Replace the scratch codes with this many new ones (the secret stays).
    NewScratchCodes(usize),
    /// One of the module flow's operations.
    Other(Maintenance),
}

/// An account to audit: its name, and its uid when the database knows it.
pub type Target = (Vec<u8>, Option<u32>);

/// One audited account.
#[derive(Debug, Clone)]
pub struct Row {
    /// The login name.
    pub name: Vec<u8>,
    /// The uid, when the account is known.
    pub uid: Option<u32>,
    /// The module's judgement.
    pub judgement: Judgement,
}

/// Entry point of the `google-authenticator-audit` binary.
pub fn main() -> ExitCode {
    ExitCode::from(run(std::env::args_os().skip(1)))
}

/// Runs the audit with `args` (without the program name); gives the exit status.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> u8 {
    let options = match parse(args) {
        Ok(o) => o,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { EXIT_ERROR } else { EXIT_OK };
        }
    };
    let line = match stack::module_line(&options.pam_dir, &options.service, &options.module) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("google-authenticator-audit: {e}");
            return EXIT_ERROR;
        }
    };
    let module = match Options::parse(&line.args) {
        Ok(m) => m,
        Err(e) => {
            eprintln!(
                "google-authenticator-audit: {}: the module refuses its arguments: {e}",
                line.location()
            );
            return EXIT_ERROR;
        }
    };
    if let Some(op) = options.maintenance {
        return maintain(&options, &module, op);
    }
    let accounts = match accounts(&options) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("google-authenticator-audit: {e}");
            return EXIT_ERROR;
        }
    };
    let rows = audit(&accounts, &module, options.threads);
    let text = if options.json {
        json(&line, &rows)
    } else {
        table(&line, &module, &rows)
    };
    print!("{text}");
    let refused = rows.iter().any(|r| {
        matches!(
            r.judgement.verdict,
            Verdict::LockedOut | Verdict::NoFileRefused
        )
    });
    if refused { EXIT_LOCKED_OUT } else { EXIT_OK }
}

/// Runs `op` on every named account; prints what was done, or the module's reasons.
fn maintain(options: &AuditOptions, module: &Options, op: Op) -> u8 {
    if options.users.is_empty() {
        eprintln!("google-authenticator-audit: name the accounts to change");
        return EXIT_ERROR;
    }
    let mut status = EXIT_OK;
    for name in &options.users {
        let mut sys = RealSystem;
        let done = match op {
            Op::NewScratchCodes(n) => flow::maintain(&mut sys, module, name, new_scratch_codes(n)),
            Op::Other(m) => flow::maintain(&mut sys, module, name, flow::edit_for(m)),
        };
        match done {
            Ok(text) => println!("{}: {text}", printable(name)),
            Err(reasons) => {
                status = EXIT_LOCKED_OUT;
                eprintln!(
                    "{}: nothing changed: {}",
                    printable(name),
                    reasons.join("; ")
                );
            }
        }
    }
    status
}

/// Replaces the scratch codes with `n` new ones; the secret and every other line stay.
fn new_scratch_codes(n: usize) -> impl FnOnce(&mut SecretFile) -> Result<Edited, String> {
    move |file: &mut SecretFile| {
        for old in file.scratch_codes() {
            file.use_scratch_code(old);
        }
        let mut codes = Vec::with_capacity(n);
        for _ in 0..n {
            let code = super::enrol::scratch_code(|| {
                let mut word = [0u8; 4];
                crate::os::random::fill(&mut word).map(|()| u32::from_ne_bytes(word))
            })
            .map_err(|e| format!("Failed to read random bytes: {e}"))?;
            file.append_line(code.to_string().as_bytes())
                .map_err(|_| "cannot add a scratch code".to_string())?;
            codes.push(code);
        }
        if file.scratch_codes() != codes {
            return Err(
                "a line after the scratch codes would keep new ones from working; fix the file by hand"
                    .into(),
            );
        }
        let list: Vec<String> = codes.iter().map(u32::to_string).collect();
        Ok(Edited::text(format!(
            "{n} new scratch codes, the old ones no longer work: {}",
            list.join(" ")
        )))
    }
}

/// Judges every account, spread over `threads` workers (each switches its own fs identity:
/// `setfsuid` is per thread).
pub fn audit(accounts: &[Target], module: &Options, threads: usize) -> Vec<Row> {
    audit_with(&RealSystem, accounts, module, threads)
}

/// [`audit`] with another [`System`] (user lookups), for benchmarks and tests.
pub fn audit_with<S: System + Clone + Send + Sync>(
    sys: &S,
    accounts: &[Target],
    module: &Options,
    threads: usize,
) -> Vec<Row> {
    let threads = threads.clamp(1, 64);
    let chunk = accounts.len().div_ceil(threads).max(1);
    std::thread::scope(|scope| {
        let workers: Vec<_> = accounts
            .chunks(chunk)
            .map(|part| {
                scope.spawn(move || {
                    let mut sys = sys.clone();
                    part.iter()
                        .map(|(name, uid)| Row {
                            name: name.clone(),
                            uid: *uid,
                            judgement: flow::judge(&mut sys, module, name),
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_default())
            .collect()
    })
}

/// The accounts to audit, with their uids when known.
fn accounts(o: &AuditOptions) -> Result<Vec<Target>, String> {
    if !o.users.is_empty() {
        return Ok(o
            .users
            .iter()
            .map(|n| (n.clone(), user::by_name(n).ok().map(|i| i.uid)))
            .collect());
    }
    let group = match &o.group {
        Some(g) => Some(user::group(g).map_err(|e| format!("group \"{}\": {e}", printable(g)))?),
        None => None,
    };
    let all = user::all().map_err(|e| format!("listing the passwd database: {e}"))?;
    Ok(all
        .into_iter()
        .filter(|a| keep(a, o, group.as_ref()))
        .map(|a| (a.name, Some(a.uid)))
        .collect())
}

fn keep(a: &Account, o: &AuditOptions, group: Option<&(u32, Vec<Vec<u8>>)>) -> bool {
    o.uid_min.is_none_or(|m| a.uid >= m)
        && o.uid_max.is_none_or(|m| a.uid <= m)
        && o.shell.as_ref().is_none_or(|s| a.shell.as_ref() == Some(s))
        && group.is_none_or(|(gid, members)| a.gid == *gid || members.contains(&a.name))
}

/// Parses the command line.
pub fn parse<I: IntoIterator<Item = OsString>>(args: I) -> Result<AuditOptions, clap::Error> {
    let m = command().try_get_matches_from(
        std::iter::once(OsString::from("google-authenticator-audit")).chain(args),
    )?;
    let bytes = |id: &str| {
        m.get_one::<OsString>(id)
            .map(|v| std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str()).to_vec())
    };
    let threads = m.get_one::<usize>("threads").copied().unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, |n| n.get().saturating_mul(2))
    });
    Ok(AuditOptions {
        service: m.get_one::<String>("service").cloned().unwrap_or_default(),
        pam_dir: m.get_one::<PathBuf>("pam-dir").cloned().unwrap_or_default(),
        module: m.get_one::<String>("module").cloned().unwrap_or_default(),
        users: m
            .get_many::<OsString>("user")
            .into_iter()
            .flatten()
            .map(|v| std::os::unix::ffi::OsStrExt::as_bytes(v.as_os_str()).to_vec())
            .collect(),
        uid_min: m.get_one::<u32>("uid-min").copied(),
        uid_max: m.get_one::<u32>("uid-max").copied(),
        group: bytes("group"),
        shell: bytes("shell"),
        json: m.get_flag("json"),
        threads,
        maintenance: if let Some(n) = m.get_one::<u8>("new-scratch-codes") {
            Some(Op::NewScratchCodes(usize::from(*n)))
        } else if m.get_flag("reset-rate-limit") {
            Some(Op::Other(Maintenance::ResetRateLimit))
        } else if m.get_flag("clear-skew") {
            Some(Op::Other(Maintenance::ClearSkew))
        } else if m.get_flag("disable") {
            Some(Op::Other(Maintenance::Disable))
        } else {
            None
        },
    })
}

fn command() -> Command {
    let os = || clap::builder::OsStringValueParser::new();
    Command::new("google-authenticator-audit")
        .about("Shows every account as pam_google_authenticator.so would judge it: enrolled, let in without a code by nullok, or refused")
        .arg(Arg::new("service").long("service").value_name("NAME").default_value("sshd")
            .help("PAM service whose module line applies"))
        .arg(Arg::new("pam-dir").long("pam-dir").value_name("DIR").default_value("/etc/pam.d")
            .value_parser(clap::value_parser!(PathBuf)).help("Where the PAM services are"))
        .arg(Arg::new("module").long("module").value_name("FILE").default_value(stack::MODULE)
            .help("The module's file name on the module line"))
        .arg(Arg::new("uid-min").long("uid-min").value_name("UID")
            .value_parser(clap::value_parser!(u32)).help("Only accounts with at least this uid"))
        .arg(Arg::new("uid-max").long("uid-max").value_name("UID")
            .value_parser(clap::value_parser!(u32)).help("Only accounts with at most this uid"))
        .arg(Arg::new("group").long("group").value_name("GROUP").value_parser(os())
            .help("Only members of this group"))
        .arg(Arg::new("shell").long("shell").value_name("PATH").value_parser(os())
            .help("Only accounts with this login shell"))
        .arg(Arg::new("json").long("json").action(ArgAction::SetTrue)
            .help("One JSON object, for scripts"))
        .arg(Arg::new("threads").long("threads").value_name("N")
            .value_parser(clap::value_parser!(usize)).help("Worker threads"))
        .arg(Arg::new("new-scratch-codes").long("new-scratch-codes").value_name("N")
            .value_parser(clap::value_parser!(u8).range(1..=10))
            .help("Replace the named accounts' scratch codes with N new ones (the secret stays)"))
        .arg(Arg::new("reset-rate-limit").long("reset-rate-limit").action(ArgAction::SetTrue)
            .help("Forget the named accounts' recorded login attempts (the limit stays)"))
        .arg(Arg::new("clear-skew").long("clear-skew").action(ArgAction::SetTrue)
            .help("Forget the named accounts' learned clock skew"))
        .arg(Arg::new("disable").long("disable").action(ArgAction::SetTrue)
            .help("Remove the named accounts' secret files: with nullok they get in without a code, without it they are refused"))
        .group(clap::ArgGroup::new("maintenance")
            .args(["new-scratch-codes", "reset-rate-limit", "clear-skew", "disable"])
            .conflicts_with("json"))
        .arg(Arg::new("user").value_name("USER").num_args(0..).value_parser(os())
            .help("Only these accounts (looked up by name)"))
}

/// The verdict's word in the table and the JSON.
pub(crate) fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Enrolled => "enrolled",
        Verdict::NoFileNullok => "no-file-nullok",
        Verdict::NoFileRefused => "no-file-refused",
        Verdict::LockedOut => "locked-out",
    }
}

/// The one-line summary.
pub fn summary(rows: &[Row], nullok: bool) -> String {
    let count = |v| rows.iter().filter(|r| r.judgement.verdict == v).count();
    let no_file = count(Verdict::NoFileNullok) + count(Verdict::NoFileRefused);
    let how = if nullok {
        "nullok lets them in"
    } else {
        "refused: no nullok"
    };
    format!(
        "{} accounts: {} enrolled, {} without a file ({how}), {} locked out",
        rows.len(),
        count(Verdict::Enrolled),
        no_file,
        count(Verdict::LockedOut)
    )
}

fn table(line: &stack::StackLine, module: &Options, rows: &[Row]) -> String {
    let mut out = format!(
        "# {} {} {} {}\n",
        line.location(),
        line.control,
        line.module,
        line.args.join(" ")
    );
    let header = [
        "USER", "UID", "VERDICT", "TYPE", "STEP", "WINDOW", "REUSE", "RATE", "SCRATCH", "SKEW",
        "CHANGED", "TEMP", "REASON",
    ];
    let mut cells: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for r in rows {
        let f = r.judgement.facts.clone().unwrap_or_default();
        let has = r.judgement.facts.is_some();
        let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
        let mut reason = r.judgement.log.join("; ");
        if f.rate_limited {
            reason = "rate limit reached now".into();
        }
        cells.push(vec![
            printable(&r.name),
            r.uid.map_or("-".into(), |u| u.to_string()),
            verdict_word(r.judgement.verdict).into(),
            if !has {
                "-".into()
            } else if f.totp {
                "TOTP".into()
            } else {
                "HOTP".into()
            },
            if has { opt(&f.step) } else { "-".into() },
            if has { opt(&f.window) } else { "-".into() },
            if !has {
                "-".into()
            } else if f.disallow_reuse {
                "yes".into()
            } else {
                "no".into()
            },
            if has { opt(&f.rate_limit) } else { "-".into() },
            if has {
                f.scratch_left.to_string()
            } else {
                "-".into()
            },
            if has { opt(&f.skew) } else { "-".into() },
            f.modified.map_or("-".into(), utc),
            if f.temp_left {
                "yes".into()
            } else {
                "-".into()
            },
            if reason.is_empty() {
                "-".into()
            } else {
                reason
            },
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            cells
                .iter()
                .map(|r| r[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in &cells {
        let mut l = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                l.push_str(cell);
            } else {
                let _ = write!(l, "{cell:<w$}  ", w = widths[c]);
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    }
    out.push_str(&summary(rows, module.nullok));
    out.push('\n');
    out
}

fn json(line: &stack::StackLine, rows: &[Row]) -> String {
    let mut out = String::from("{\"module_line\":{");
    let _ = write!(
        out,
        "\"file\":{},\"line\":{},\"control\":{},\"args\":[{}]}},\"accounts\":[",
        q(&line.file.display().to_string()),
        line.line,
        q(&line.control),
        line.args.iter().map(|a| q(a)).collect::<Vec<_>>().join(",")
    );
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            "{{\"user\":{},\"uid\":{},\"verdict\":{},\"reason\":[{}],\"file\":{}}}",
            q(&printable(&r.name)),
            r.uid.map_or("null".into(), |u| u.to_string()),
            q(verdict_word(r.judgement.verdict)),
            r.judgement
                .log
                .iter()
                .map(|l| q(l))
                .collect::<Vec<_>>()
                .join(","),
            r.judgement.facts.as_ref().map_or("null".into(), facts_json)
        );
    }
    let count = |v| rows.iter().filter(|r| r.judgement.verdict == v).count();
    let _ = writeln!(
        out,
        "],\"summary\":{{\"accounts\":{},\"enrolled\":{},\"no_file_nullok\":{},\"no_file_refused\":{},\"locked_out\":{}}}}}",
        rows.len(),
        count(Verdict::Enrolled),
        count(Verdict::NoFileNullok),
        count(Verdict::NoFileRefused),
        count(Verdict::LockedOut)
    );
    out
}

fn facts_json(f: &FileFacts) -> String {
    let opt = |v: &Option<String>| v.as_deref().map_or("null".into(), q);
    format!(
        "{{\"path\":{},\"type\":{},\"step\":{},\"window\":{},\"disallow_reuse\":{},\"rate_limit\":{},\"rate_limited\":{},\"scratch_codes_left\":{},\"time_skew\":{},\"modified\":{},\"temp_file_left\":{}}}",
        q(&f.path),
        q(if f.totp { "TOTP" } else { "HOTP" }),
        opt(&f.step),
        opt(&f.window),
        f.disallow_reuse,
        opt(&f.rate_limit),
        f.rate_limited,
        f.scratch_left,
        opt(&f.skew),
        f.modified.map_or("null".into(), |m| m.to_string()),
        f.temp_left
    )
}

/// A JSON string.
fn q(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Seconds since the epoch as `YYYY-MM-DD HH:MM` UTC.
fn utc(t: i64) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}",
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_utc_civil_dates() {
        assert_eq!(utc(0), "1970-01-01 00:00");
        assert_eq!(utc(1_709_210_096), "2024-02-29 12:34");
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(q("a\"b\\c\n"), "\"a\\\"b\\\\c\\u000a\"");
    }

    #[test]
    fn no_upstream_flag_is_taken_and_the_default_service_is_sshd() {
        let o = parse(Vec::<OsString>::new()).unwrap();
        assert_eq!(o.service, "sshd");
        assert_eq!(o.pam_dir, PathBuf::from("/etc/pam.d"));
        assert!(parse(["-t".into()]).is_err());
    }
}
