//! Running a scenario against a module, checking it against its expectations, and
//! comparing two modules' outcomes.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::scenario::*;
use crate::support::{PamRun, Stack};

/// The running user's home directory, from the passwd database (as the module sees it).
fn home_dir() -> String {
    let (name, _) = crate::support::current_user();
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.len() > 5 && f[0] == name)
        .map_or_else(|| "/root".to_string(), |f| f[5].to_string())
}

fn chattr(path: &Path, flag: &str) {
    let status = std::process::Command::new("chattr")
        .arg(flag)
        .arg(path)
        .status()
        .expect("run chattr");
    assert!(status.success(), "chattr {flag} {} failed", path.display());
}

/// Writes the secret file as the scenario's setup says.
fn place_file(s: &Scenario, dir: &Path, secret: &Path, bytes: &[u8], mode: u32) {
    let parent = secret.parent().expect("secret has a parent");
    std::fs::create_dir_all(parent).expect("mkdir secret dir");
    if s.setup == Setup::ImmutableDir && parent.exists() {
        chattr(parent, "-i");
    }
    let target = if s.setup == Setup::Symlink {
        dir.join("real_secret")
    } else {
        secret.to_path_buf()
    };
    let name = target.file_name().expect("file name").to_string_lossy();
    crate::support::write_secret(target.parent().expect("parent"), &name, bytes, mode);
    if s.setup == Setup::Symlink && std::fs::symlink_metadata(secret).is_err() {
        std::os::unix::fs::symlink(&target, secret).expect("symlink");
    }
    if s.setup == Setup::OwnedByNobody {
        std::os::unix::fs::chown(&target, Some(65534), Some(65534)).expect("chown nobody");
    }
    if s.setup == Setup::ImmutableDir {
        chattr(parent, "+i");
    }
}

/// Runs `s` against `module` (a path to a PAM module).
pub fn run_scenario(module: &Path, s: &Scenario) -> ScenarioOutcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let user = s
        .user
        .clone()
        .unwrap_or_else(|| crate::support::current_user().0);
    let rel = s
        .file_path
        .replace("{home}", home_dir().trim_start_matches('/'))
        .replace("{user}", &user);
    let secret: PathBuf = dir.path().join(rel);
    if let Some(bytes) = &s.file {
        place_file(s, dir.path(), &secret, bytes, s.mode);
    }
    let args: Vec<String> = s
        .args
        .iter()
        .map(|a| {
            a.replace("{secret}", &secret.display().to_string())
                .replace("{dir}", &dir.path().display().to_string())
        })
        .collect();
    let arg_refs: Vec<&str> = args.iter().map(String::as_str).collect();

    let mut steps = Vec::new();
    for step in &s.steps {
        if let Some(bytes) = &step.append {
            let mut now = std::fs::read(&secret).unwrap_or_default();
            now.extend_from_slice(bytes);
            place_file(s, dir.path(), &secret, &now, 0o600);
        }
        let mut stack = Stack::new();
        if let Some(pw) = step.authtok.as_ref().or(s.preset_authtok.as_ref()) {
            let preset = format!("preset={pw}");
            stack = stack.auth("required", crate::support::set_authtok_module(), &[&preset]);
        }
        let stack = stack.probe(module, &arg_refs);
        let mut run = PamRun::new(stack).user(&user).conv(s.conv).clock(step.time);
        if let Some(h) = step.rhost.as_ref().or(s.rhost.as_ref()) {
            run = run.rhost(h);
        }
        for a in &step.answers {
            run = run.answer(a);
        }
        let file_before = std::fs::read(&secret).ok();
        let o = run.run();
        let file_after = std::fs::read(&secret).ok();
        let mode_after = std::fs::metadata(&secret)
            .ok()
            .map(|m| m.permissions().mode() & 0o7777);
        steps.push(StepOutcome {
            module_result: o.module_result(),
            pam_result: o.result,
            prompts: o.prompts.clone(),
            errors: o.errors.clone(),
            infos: o.infos.clone(),
            authtok: o.authtok.clone(),
            file_before,
            file_after,
            mode_after,
            syslog: o.syslog_messages(),
            transcript: o.transcript(),
        });
    }
    if s.setup == Setup::ImmutableDir
        && let Some(parent) = secret.parent()
    {
        chattr(parent, "-i");
    }
    ScenarioOutcome { steps }
}

pub fn oct(m: Option<u32>) -> String {
    m.map_or_else(|| "none".into(), |m| format!("{m:o}"))
}

pub fn show(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

/// Checks one step outcome against an expectation; returns the failures.
fn check_expect(e: &Expect, o: &StepOutcome) -> Vec<String> {
    let mut f = Vec::new();
    if o.module_result != e.result {
        f.push(format!(
            "result {} (expected {})",
            o.module_result, e.result
        ));
    }
    if let Some(n) = e.prompts
        && o.prompts.len() != n
    {
        f.push(format!("{} prompts (expected {n})", o.prompts.len()));
    }
    if let Some(p) = &e.prompt_texts
        && &o.prompts != p
    {
        f.push(format!("prompts {:?} (expected {p:?})", o.prompts));
    }
    if let Some(m) = &e.errors
        && &o.errors != m
    {
        f.push(format!("error messages {:?} (expected {m:?})", o.errors));
    }
    if let Some(a) = &e.authtok
        && o.authtok.as_ref() != Some(a)
    {
        f.push(format!("authtok {:?} (expected {a:?})", o.authtok));
    }
    let file = o.file_after.clone().unwrap_or_default();
    if let Some(want) = &e.file_after
        && &file != want
    {
        f.push(format!("file {} (expected {})", show(&file), show(want)));
    }
    if e.file_unchanged && o.file_after != o.file_before {
        f.push(format!(
            "file changed from {} to {}",
            show(&o.file_before.clone().unwrap_or_default()),
            show(&file)
        ));
    }
    if let Some(m) = e.mode_after
        && o.mode_after != Some(m)
    {
        f.push(format!("mode {} (expected {m:o})", oct(o.mode_after)));
    }
    for want in &e.file_contains {
        if !file.windows(want.len()).any(|w| w == want.as_slice()) {
            f.push(format!("file {} lacks {}", show(&file), show(want)));
        }
    }
    for needle in &e.syslog_contains {
        if !o.syslog.iter().any(|l| l.contains(needle.as_str())) {
            f.push(format!("syslog lacks {needle:?}"));
        }
    }
    f
}

/// Checks the reference's outcome against the scenario's spec expectations.
pub fn check_expectations(s: &Scenario, out: &ScenarioOutcome) -> Vec<String> {
    let mut fails = Vec::new();
    for (i, (step, o)) in s.steps.iter().zip(&out.steps).enumerate() {
        let f = check_expect(&step.expect, o);
        if !f.is_empty() {
            fails.push(format!(
                "{} [{}] step {i} (time {}): {}\n{}",
                s.name,
                s.spec,
                step.time,
                f.join("; "),
                o.transcript
            ));
        }
    }
    fails
}

fn field_diff(field: Field, r: &StepOutcome, o: &StepOutcome) -> Option<String> {
    let opt = |b: &Option<Vec<u8>>| show(&b.clone().unwrap_or_default());
    match field {
        Field::Result => (r.module_result != o.module_result).then(|| {
            format!(
                "result: reference {} ours {}",
                r.module_result, o.module_result
            )
        }),
        Field::Prompts => (r.prompts != o.prompts)
            .then(|| format!("prompts: reference {:?} ours {:?}", r.prompts, o.prompts)),
        Field::Messages => (r.errors != o.errors || r.infos != o.infos).then(|| {
            format!(
                "messages: reference {:?}/{:?} ours {:?}/{:?}",
                r.errors, r.infos, o.errors, o.infos
            )
        }),
        Field::Authtok => (r.authtok != o.authtok)
            .then(|| format!("authtok: reference {:?} ours {:?}", r.authtok, o.authtok)),
        Field::File => (r.file_after != o.file_after).then(|| {
            format!(
                "file: reference {} ours {}",
                opt(&r.file_after),
                opt(&o.file_after)
            )
        }),
        Field::Mode => (r.mode_after != o.mode_after).then(|| {
            format!(
                "mode: reference {} ours {}",
                oct(r.mode_after),
                oct(o.mode_after)
            )
        }),
    }
}

const ALL_FIELDS: [Field; 6] = [
    Field::Result,
    Field::Prompts,
    Field::Messages,
    Field::Authtok,
    Field::File,
    Field::Mode,
];

/// Whether an `ours` expectation states a field (so the field is checked against it
/// instead of the reference).
fn states(e: &Expect, f: Field) -> bool {
    match f {
        Field::Result => true,
        Field::Prompts => e.prompts.is_some() || e.prompt_texts.is_some(),
        Field::Messages => e.errors.is_some(),
        Field::Authtok => e.authtok.is_some(),
        Field::File => e.file_after.is_some() || e.file_unchanged,
        Field::Mode => e.mode_after.is_some(),
    }
}

/// Compares two outcomes of the same scenario on what a drop-in must reproduce: return
/// code, prompts (style and text), error/info messages, PAM_AUTHTOK and the file bytes and
/// mode after every step. A field is exempt only where the scenario's
/// [`Difference`] covers it and the step states what ours must do instead. Syslog is not
/// compared (the ident differs on purpose: §7 item 3), except our own required lines.
pub fn compare_outcomes(
    s: &Scenario,
    reference: &ScenarioOutcome,
    ours: &ScenarioOutcome,
) -> Vec<String> {
    let mut diffs = Vec::new();
    let mut differed = false;
    for (i, ((step, r), o)) in s
        .steps
        .iter()
        .zip(&reference.steps)
        .zip(&ours.steps)
        .enumerate()
    {
        let mut d = Vec::new();
        let exempt: &[Field] = match (s.expect_difference, &step.ours) {
            (Some(diff), Some(_)) => diff.fields(),
            _ => &[],
        };
        for f in ALL_FIELDS {
            let stated = step.ours.as_ref().is_some_and(|e| states(e, f));
            if exempt.contains(&f) && stated {
                if field_diff(f, r, o).is_some() {
                    differed = true;
                }
            } else if let Some(text) = field_diff(f, r, o) {
                d.push(text);
            }
        }
        if let (Some(_), Some(e)) = (s.expect_difference, &step.ours) {
            for f in check_expect(e, o) {
                d.push(format!("ours: {f}"));
            }
        }
        for needle in &step.ours_syslog {
            if !o.syslog.iter().any(|l| l.contains(needle.as_str())) {
                d.push(format!("our syslog lacks {needle:?}"));
            }
        }
        if !d.is_empty() {
            diffs.push(format!(
                "{} [{}] step {i} (time {}): {}\n--- reference\n{}\n--- ours\n{}",
                s.name,
                s.spec,
                step.time,
                d.join("; "),
                r.transcript,
                o.transcript
            ));
        }
    }
    if let Some(diff) = s.expect_difference
        && !differed
    {
        diffs.push(format!(
            "{}: the documented difference {diff:?} did not show up (no step differed in {:?})",
            s.name,
            diff.fields()
        ));
    }
    if reference.steps.len() != ours.steps.len() {
        diffs.push(format!("{}: step counts differ", s.name));
    }
    diffs
}
