//! glibc's `getopt_long` for an optstring that starts with `+`, as upstream's setup command
//! calls it: the same tokens, the same abbreviations and the same complaints, word for word.
//!
//! - Parsing stops at the first argument that is not an option (`-` alone is one), and after
//!   `--`, which is consumed; [`Getopt::rest`] gives what is left.
//! - A short cluster such as `-tdf` gives one option per letter; an option that takes a value
//!   takes the rest of its cluster (`-r3`, and `-w=3` gives `=3`) or else the next argument,
//!   whatever it looks like.
//! - A long option is `--name`, `--name=value` or `--name value`. An exact name wins;
//!   otherwise a prefix of exactly one name is that option, and a prefix of several is
//!   ambiguous (no two options here share their value, so glibc's exception for equivalent
//!   options never applies).
//!
//! A complaint is the line glibc prints on stderr, with the program name first, byte for
//! byte (an option or a program name that is not UTF-8 is printed as it was given); getopt
//! then answers `?`, and the caller decides what follows (upstream prints the usage).

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::{OsStrExt, OsStringExt};

/// One option the parser knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Opt<Id> {
    /// What the caller calls it.
    pub id: Id,
    /// Its letter, if it has one.
    pub short: Option<u8>,
    /// Its long name, without `--`.
    pub long: &'static str,
    /// Whether it takes a value (always required: upstream has no optional values).
    pub takes_value: bool,
}

/// What one step of the parser found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Found<'a, Id> {
    /// An option, with its value if it takes one.
    Opt(Id, Option<&'a OsStr>),
    /// getopt's complaint (it would answer `?`).
    Complaint(OsString),
}

/// The parser's state: glibc's `optind` and `nextchar`.
pub(crate) struct Getopt<'a, Id> {
    program: &'a OsStr,
    args: &'a [OsString],
    opts: &'a [Opt<Id>],
    /// The argument being read.
    next: usize,
    /// Within a short cluster: the offset of the next letter in `args[next]`.
    cluster: Option<usize>,
}

impl<'a, Id: Copy> Getopt<'a, Id> {
    /// Parses `args` (without the program name); complaints name `program`.
    pub(crate) fn new(program: &'a OsStr, args: &'a [OsString], opts: &'a [Opt<Id>]) -> Self {
        Getopt {
            program,
            args,
            opts,
            next: 0,
            cluster: None,
        }
    }

    /// The arguments after the options (after `--` if that ended them).
    pub(crate) fn rest(&self) -> &'a [OsString] {
        self.args.get(self.next..).unwrap_or_default()
    }

    fn long(&mut self, text: &'a [u8]) -> Found<'a, Id> {
        self.next += 1;
        let (name, value) = match text.iter().position(|&b| b == b'=') {
            Some(eq) => (&text[..eq], Some(&text[eq + 1..])),
            None => (text, None),
        };
        let exact = self.opts.iter().find(|o| o.long.as_bytes() == name);
        let opt = match exact {
            Some(opt) => opt,
            None => {
                let matches: Vec<&Opt<Id>> = self
                    .opts
                    .iter()
                    .filter(|o| o.long.as_bytes().starts_with(name))
                    .collect();
                match matches.as_slice() {
                    [opt] => *opt,
                    [] => return self.complain(&[b"unrecognized option '--", text, b"'"]),
                    several => {
                        let mut line = vec![&b"option '--"[..], text];
                        line.push(b"' is ambiguous; possibilities:");
                        for o in several {
                            line.extend([&b" '--"[..], o.long.as_bytes(), b"'"]);
                        }
                        return self.complain(&line);
                    }
                }
            }
        };
        match (opt.takes_value, value) {
            (true, Some(value)) => Found::Opt(opt.id, Some(OsStr::from_bytes(value))),
            (false, None) => Found::Opt(opt.id, None),
            (false, Some(_)) => self.complain(&[
                b"option '--",
                opt.long.as_bytes(),
                b"' doesn't allow an argument",
            ]),
            (true, None) => match self.args.get(self.next) {
                Some(value) => {
                    self.next += 1;
                    Found::Opt(opt.id, Some(value))
                }
                None => self.complain(&[
                    b"option '--",
                    opt.long.as_bytes(),
                    b"' requires an argument",
                ]),
            },
        }
    }

    fn short(&mut self, arg: &'a [u8], at: usize) -> Found<'a, Id> {
        let letter = arg[at];
        let rest = &arg[at + 1..];
        if rest.is_empty() {
            self.cluster = None;
            self.next += 1;
        } else {
            self.cluster = Some(at + 1);
        }
        let Some(opt) = self.opts.iter().find(|o| o.short == Some(letter)) else {
            return self.complain(&[b"invalid option -- '", &[letter], b"'"]);
        };
        if !opt.takes_value {
            return Found::Opt(opt.id, None);
        }
        if !rest.is_empty() {
            self.cluster = None;
            self.next += 1;
            return Found::Opt(opt.id, Some(OsStr::from_bytes(rest)));
        }
        match self.args.get(self.next) {
            Some(value) => {
                self.next += 1;
                Found::Opt(opt.id, Some(value))
            }
            None => self.complain(&[b"option requires an argument -- '", &[letter], b"'"]),
        }
    }

    /// The complaint made of `parts`, after the program name and `": "`.
    fn complain(&self, parts: &[&[u8]]) -> Found<'a, Id> {
        let mut line = self.program.as_bytes().to_vec();
        line.extend_from_slice(b": ");
        for part in parts {
            line.extend_from_slice(part);
        }
        Found::Complaint(OsString::from_vec(line))
    }
}

impl<'a, Id: Copy> Iterator for Getopt<'a, Id> {
    type Item = Found<'a, Id>;

    fn next(&mut self) -> Option<Self::Item> {
        let arg = self.args.get(self.next)?.as_bytes();
        if let Some(at) = self.cluster {
            return Some(self.short(arg, at));
        }
        match arg {
            b"--" => {
                self.next += 1;
                None
            }
            [b'-', b'-', long @ ..] => Some(self.long(long)),
            [b'-', _, ..] => Some(self.short(arg, 1)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OPTS: &[Opt<char>] = &[
        Opt {
            id: 'h',
            short: Some(b'h'),
            long: "help",
            takes_value: false,
        },
        Opt {
            id: 'V',
            short: None,
            long: "version",
            takes_value: false,
        },
        Opt {
            id: 'f',
            short: Some(b'f'),
            long: "force",
            takes_value: false,
        },
        Opt {
            id: 'r',
            short: Some(b'r'),
            long: "rate-limit",
            takes_value: true,
        },
        Opt {
            id: 'R',
            short: Some(b'R'),
            long: "rate-time",
            takes_value: true,
        },
        Opt {
            id: 's',
            short: Some(b's'),
            long: "secret",
            takes_value: true,
        },
        Opt {
            id: 'S',
            short: Some(b'S'),
            long: "step-size",
            takes_value: true,
        },
    ];

    /// Every step as text: `x` or `x=value` for an option, the complaint as it is; then
    /// `| rest...`.
    fn steps(args: &[&str]) -> Vec<String> {
        let args: Vec<OsString> = args.iter().map(OsString::from).collect();
        let mut getopt = Getopt::new(OsStr::new("ga"), &args, OPTS);
        let mut steps: Vec<String> = getopt
            .by_ref()
            .map(|found| match found {
                Found::Opt(id, None) => id.to_string(),
                Found::Opt(id, Some(v)) => format!("{id}={}", v.to_string_lossy()),
                Found::Complaint(line) => line.to_string_lossy().into_owned(),
            })
            .collect();
        let rest: Vec<String> = getopt
            .rest()
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        steps.push(format!("| {}", rest.join(" ")));
        steps
    }

    #[test]
    fn clusters_and_values() {
        assert_eq!(
            steps(&["-hf", "-r3", "-R", "-x"]),
            ["h", "f", "r=3", "R=-x", "| "]
        );
        assert_eq!(steps(&["-fr", "--", "-s="]), ["f", "r=--", "s==", "| "]);
        assert_eq!(steps(&["-w=3"])[0], "ga: invalid option -- 'w'");
        assert_eq!(steps(&["-r=3"]), ["r==3", "| "]);
        assert_eq!(
            steps(&["-fx", "-h"]),
            ["f", "ga: invalid option -- 'x'", "h", "| "]
        );
        assert_eq!(steps(&["-:"]), ["ga: invalid option -- ':'", "| "]);
        assert_eq!(
            steps(&["-fr"]),
            ["f", "ga: option requires an argument -- 'r'", "| "]
        );
    }

    #[test]
    fn stops_at_the_first_non_option() {
        assert_eq!(steps(&["-f", "x", "-h"]), ["f", "| x -h"]);
        assert_eq!(steps(&["-", "-h"]), ["| - -h"]);
        assert_eq!(steps(&["--", "-h"]), ["| -h"]);
        assert_eq!(steps(&["-f", "--"]), ["f", "| "]);
        assert_eq!(steps(&[]), ["| "]);
    }

    #[test]
    fn long_names_and_abbreviations() {
        assert_eq!(
            steps(&[
                "--help",
                "--for",
                "--rate-l=2",
                "--rate-t",
                "30",
                "--se",
                "a=b"
            ]),
            ["h", "f", "r=2", "R=30", "s=a=b", "| "]
        );
        assert_eq!(steps(&["--secret="]), ["s=", "| "]);
        assert_eq!(
            steps(&["--rate", "--s=1"]),
            [
                "ga: option '--rate' is ambiguous; possibilities: '--rate-limit' '--rate-time'",
                "ga: option '--s=1' is ambiguous; possibilities: '--secret' '--step-size'",
                "| "
            ]
        );
        assert_eq!(
            steps(&["--bogus=1", "--force=x", "--help=", "--rate-l"]),
            [
                "ga: unrecognized option '--bogus=1'",
                "ga: option '--force' doesn't allow an argument",
                "ga: option '--help' doesn't allow an argument",
                "ga: option '--rate-limit' requires an argument",
                "| "
            ]
        );
        // An empty name is a prefix of every name.
        assert!(
            steps(&["--=x"])[0]
                .starts_with("ga: option '--=x' is ambiguous; possibilities: '--help' '--version'")
        );
    }
}
