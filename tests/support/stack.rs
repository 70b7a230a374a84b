//! PAM service files: the lines of a stack, with the module under test and the probes.

use std::path::Path;

use super::*;

/// The module under test (with the IGNORE probe, see [`Stack::probe`]) given `args`.
pub fn stack(args: &[&str]) -> Stack {
    Stack::new().probe(our_module(), args)
}

/// The module argument `secret=<path>`.
pub fn secret_arg(path: &Path) -> String {
    format!("secret={}", path.display())
}

/// Formats one module argument in PAM's syntax: arguments with spaces (or starting with
/// `[`) are written as `[...]` with `]` escaped as `\]`.
pub fn pam_arg(arg: &str) -> String {
    if arg.contains(char::is_whitespace) || arg.starts_with('[') {
        format!("[{}]", arg.replace(']', "\\]"))
    } else {
        arg.to_string()
    }
}

/// The lines of a PAM service file.
#[derive(Clone, Debug, Default)]
pub struct Stack {
    pub lines: Vec<String>,
}

impl Stack {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `<kind> <control> <module> <args...>`; `module` should be an absolute path or a
    /// system module name such as `pam_permit.so`.
    pub fn line(
        mut self,
        kind: &str,
        control: &str,
        module: impl AsRef<Path>,
        args: &[&str],
    ) -> Self {
        let mut l = format!("{kind} {control} {}", module.as_ref().display());
        for a in args {
            l.push(' ');
            l.push_str(&pam_arg(a));
        }
        self.lines.push(l);
        self
    }

    pub fn auth(self, control: &str, module: impl AsRef<Path>, args: &[&str]) -> Self {
        self.line("auth", control, module, args)
    }

    pub fn account(self, control: &str, module: impl AsRef<Path>, args: &[&str]) -> Self {
        self.line("account", control, module, args)
    }

    /// Adds the module under test as `required`, followed by marker lines that record in
    /// the PAM environment whether it returned PAM_IGNORE (libpam turns an all-ignore stack
    /// into PAM_PERM_DENIED, so PAM_IGNORE is otherwise invisible to an application). Read
    /// the module's own return value with [`Outcome::module_result`].
    pub fn probe(self, module: impl AsRef<Path>, args: &[&str]) -> Self {
        let marker = set_authtok_module();
        self.auth(
            "[success=ok new_authtok_reqd=ok ignore=1 default=bad]",
            module,
            args,
        )
        .auth("[default=1]", &marker, &["mark=returned"])
        .auth("optional", &marker, &["mark=ignored"])
    }

    /// Adds a line that publishes PAM_AUTHTOK for the driver (`authtok` output line).
    pub fn report_authtok(self) -> Self {
        let m = set_authtok_module();
        self.auth("optional", m, &["report"])
    }

    pub fn text(&self) -> String {
        let mut s = String::new();
        for l in &self.lines {
            s.push_str(l);
            s.push('\n');
        }
        s
    }
}
