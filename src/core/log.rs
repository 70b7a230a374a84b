//! Log lines as values.
//!
//! The core never writes to syslog; it returns the lines it wants logged, in order, and the
//! PAM layer sends them with `pam_syslog`. The lines themselves, with their texts, are in
//! [`super::catalogue`]. No line ever carries a code, a scratch code or a secret.

/// Syslog priority of a line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// LOG_ERR.
    Err,
    /// LOG_WARNING.
    Warning,
    /// LOG_NOTICE.
    Notice,
    /// LOG_INFO.
    Info,
}

/// One line to log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogLine {
    /// Its priority.
    pub level: Level,
    /// The message.
    pub text: String,
}

/// An ordered list of lines, with `debug:` lines kept only when debugging is on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Logs {
    debug: bool,
    lines: Vec<LogLine>,
}

impl Logs {
    /// A new list; `debug` says whether `debug:` lines are kept.
    pub fn new(debug: bool) -> Self {
        Logs {
            debug,
            lines: Vec::new(),
        }
    }

    /// Adds a line of the catalogue (`super::catalogue`), where every line the module
    /// logs is written.
    pub fn add(&mut self, line: LogLine) {
        self.lines.push(line);
    }

    /// Adds `debug: <text>` at LOG_INFO when debugging is on; `text` is only called (and the
    /// line only formatted) then.
    pub fn debug(&mut self, text: impl FnOnce() -> String) {
        if self.debug {
            self.lines.push(LogLine {
                level: Level::Info,
                text: format!("debug: {}", text()),
            });
        }
    }

    /// The lines so far.
    pub fn lines(&self) -> &[LogLine] {
        &self.lines
    }

    /// Takes the lines out, leaving the list empty.
    pub fn take(&mut self) -> Vec<LogLine> {
        std::mem::take(&mut self.lines)
    }
}

/// `bytes` as text fit for one log line: UTF-8 is kept (invalid sequences become U+FFFD),
/// while control characters are written as `\xHH`, so a value from outside (a user name, a
/// remote host, a path) can never start a new line or forge another message. Everything
/// else is left as it is, so ordinary names read as upstream logs them.
pub fn printable(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() {
            for b in c.to_string().bytes() {
                out.push_str(&format!("\\x{b:02x}"));
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_what_could_break_a_log_line() {
        assert_eq!(printable(b"alice"), "alice");
        assert_eq!(printable("j\u{f6}rg".as_bytes()), "j\u{f6}rg");
        assert_eq!(
            printable(b"a\nb\rc\td\0e\x1b"),
            "a\\x0ab\\x0dc\\x09d\\x00e\\x1b"
        );
        assert_eq!(printable(b"\xff"), "\u{fffd}");
        assert_eq!(printable("\u{85}".as_bytes()), "\\xc2\\x85");
    }
}
