//! Reading a PAM service's auth stack the way Linux-PAM does, to find the
//! `pam_google_authenticator.so` line the audit judges accounts with.
//!
//! Only what decides which module line runs is interpreted: comments, line continuations,
//! `@include`, `include` and `substack`, the `-` prefix, bracketed arguments, and jumps
//! (`[success=N ...]`). A stack the audit cannot answer for exactly (no module line, several
//! of them, a bracketed control on the module line, or a jump that could skip it) is refused
//! with a message that says which file and line.

use std::fmt;
use std::path::{Path, PathBuf};

/// The file name the module is installed under.
pub const MODULE: &str = "pam_google_authenticator.so";

/// Includes nest no deeper than this (Linux-PAM's own limit is similar).
const MAX_DEPTH: usize = 16;

/// One `auth` line of the flattened stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackLine {
    /// The file it comes from.
    pub file: PathBuf,
    /// Its line number there (of the first physical line).
    pub line: usize,
    /// The control field, as written.
    pub control: String,
    /// The module, as written.
    pub module: String,
    /// The module arguments, brackets removed as Linux-PAM removes them.
    pub args: Vec<String>,
}

impl StackLine {
    /// Where it is, for messages.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file.display(), self.line)
    }

    fn is_module(&self, module: &str) -> bool {
        Path::new(&self.module).file_name().and_then(|n| n.to_str()) == Some(module)
    }
}

/// Why a service cannot be audited.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackError(pub String);

impl fmt::Display for StackError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The one line of `service`'s auth stack in `dir` (normally `/etc/pam.d`) whose module file
/// is named `module` (normally [`MODULE`]).
pub fn module_line(dir: &Path, service: &str, module: &str) -> Result<StackLine, StackError> {
    let mut lines = Vec::new();
    flatten(dir, service, 0, &mut lines)?;
    let found: Vec<usize> = (0..lines.len())
        .filter(|&i| lines[i].is_module(module))
        .collect();
    let at = match found.as_slice() {
        [] => {
            return Err(StackError(format!(
                "the auth stack of service \"{service}\" has no {module} line"
            )));
        }
        [one] => *one,
        many => {
            let places: Vec<String> = many.iter().map(|&i| lines[i].location()).collect();
            return Err(StackError(format!(
                "the auth stack of service \"{service}\" has {} {module} lines ({}); the audit judges one module line",
                many.len(),
                places.join(", ")
            )));
        }
    };
    let ga = &lines[at];
    if ga.control.starts_with('[') {
        return Err(StackError(format!(
            "{}: the control {} cannot be interpreted; use required, requisite, sufficient or optional",
            ga.location(),
            ga.control
        )));
    }
    for (i, l) in lines[..at].iter().enumerate() {
        if let Some(jump) = longest_jump(&l.control)
            && i + jump >= at
        {
            return Err(StackError(format!(
                "{}: {} {} can jump over the {module} line, so whether the module runs depends on that module's answer; the audit cannot tell",
                l.location(),
                l.control,
                l.module
            )));
        }
    }
    Ok(ga.clone())
}

/// Appends the auth lines of `name` (a file in `dir`), following includes.
fn flatten(
    dir: &Path,
    name: &str,
    depth: usize,
    out: &mut Vec<StackLine>,
) -> Result<(), StackError> {
    if depth > MAX_DEPTH {
        return Err(StackError(format!(
            "includes nest deeper than {MAX_DEPTH} at \"{name}\""
        )));
    }
    let path = if name.starts_with('/') {
        PathBuf::from(name)
    } else {
        dir.join(name)
    };
    let text = std::fs::read_to_string(&path)
        .map_err(|e| StackError(format!("cannot read {}: {e}", path.display())))?;
    for (number, line) in logical_lines(&text) {
        let tokens = tokens(&line);
        let Some(first) = tokens.first() else {
            continue;
        };
        if first == "@include" {
            let Some(target) = tokens.get(1) else {
                return Err(StackError(format!(
                    "{}:{number}: @include without a file",
                    path.display()
                )));
            };
            flatten(dir, target, depth + 1, out)?;
            continue;
        }
        if !first.trim_start_matches('-').eq_ignore_ascii_case("auth") {
            continue;
        }
        let (Some(control), Some(module)) = (tokens.get(1), tokens.get(2)) else {
            return Err(StackError(format!(
                "{}:{number}: an auth line needs a control and a module",
                path.display()
            )));
        };
        if control == "include" || control == "substack" {
            flatten(dir, module, depth + 1, out)?;
            continue;
        }
        out.push(StackLine {
            file: path.clone(),
            line: number,
            control: control.clone(),
            module: module.clone(),
            args: tokens[3..].to_vec(),
        });
    }
    Ok(())
}

/// The lines of a PAM file with comments removed and `\`-continued lines joined, each with
/// the number of its first physical line.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        if current.is_empty() {
            start = i + 1;
        }
        let raw = raw.split('#').next().unwrap_or("");
        if let Some(cont) = raw.strip_suffix('\\') {
            current.push_str(cont);
            current.push(' ');
            continue;
        }
        current.push_str(raw);
        if !current.trim().is_empty() {
            out.push((start, std::mem::take(&mut current)));
        }
        current.clear();
    }
    if !current.trim().is_empty() {
        out.push((start, current));
    }
    out
}

/// Splits a line into fields; `[...]` is one field (the control keeps its brackets, as it is
/// written; an argument loses them, and `\]` inside stands for `]`, as Linux-PAM does).
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut tok = String::new();
        if c == '[' {
            chars.next();
            let mut prev = '\0';
            for c in chars.by_ref() {
                if c == ']' && prev != '\\' {
                    break;
                }
                if c == ']' {
                    tok.pop();
                }
                tok.push(c);
                prev = c;
            }
            // The control field keeps its brackets, so it can be told from a keyword.
            if out.len() == 1 {
                tok = format!("[{tok}]");
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                tok.push(c);
                chars.next();
            }
        }
        out.push(tok);
    }
    out
}

/// The longest forward jump (`value=N`) a bracketed control can make; `None` for a keyword.
fn longest_jump(control: &str) -> Option<usize> {
    let inner = control.strip_prefix('[')?.strip_suffix(']')?;
    inner
        .split_whitespace()
        .filter_map(|pair| pair.split_once('=')?.1.parse::<usize>().ok())
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(files: &[(&str, &str)]) -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        for (name, text) in files {
            std::fs::write(d.path().join(name), text).unwrap();
        }
        d
    }

    #[test]
    fn the_shipped_rollout_recipe_gives_its_module_line() {
        let recipe = include_str!("../../pam.d/nullok-rollout");
        let d = dir(&[
            ("sshd", recipe),
            ("common-account", "account required pam_unix.so\n"),
            ("common-session", "session required pam_unix.so\n"),
            ("common-password", "password required pam_unix.so\n"),
        ]);
        let l = module_line(d.path(), "sshd", MODULE).unwrap();
        assert_eq!(l.control, "required");
        assert_eq!(l.args, vec!["nullok"]);
    }

    #[test]
    fn includes_substacks_brackets_and_continuations_are_followed() {
        let d = dir(&[
            (
                "svc",
                "auth include common-auth\n-auth substack otp # comment\n",
            ),
            (
                "common-auth",
                "auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\nauth required pam_permit.so\n",
            ),
            (
                "otp",
                "auth required /lib/security/pam_google_authenticator.so \\\n  [secret=/var/ga/${USER} x] nullok\n",
            ),
        ]);
        let l = module_line(d.path(), "svc", MODULE).unwrap();
        assert_eq!(l.args, vec!["secret=/var/ga/${USER} x", "nullok"]);
        assert!(l.location().ends_with("otp:1"));
    }

    #[test]
    fn what_cannot_be_interpreted_is_refused() {
        let cases = [
            ("auth required pam_unix.so\n", "has no"),
            (
                "auth required pam_google_authenticator.so\nauth sufficient pam_google_authenticator.so nullok\n",
                "has 2",
            ),
            (
                "auth [success=done default=die] pam_google_authenticator.so\n",
                "cannot be interpreted",
            ),
            (
                "auth [success=1 default=ignore] pam_succeed_if.so user ingroup x\nauth required pam_google_authenticator.so\n",
                "can jump over",
            ),
            ("@include missing\n", "cannot read"),
        ];
        for (text, want) in cases {
            let d = dir(&[("svc", text)]);
            let e = module_line(d.path(), "svc", MODULE).unwrap_err();
            assert!(e.0.contains(want), "{text:?}: {e}");
        }
    }
}
