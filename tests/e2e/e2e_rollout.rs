//! End-to-end: the nullok rollout recipes, for every user state, through the real stack
//! (`/etc/pam.d` service, Debian's `pamtester` in a pseudo-terminal, right answers typed
//! at each prompt). The outcomes form the table of `docs/ROLLOUT.md`; the test fails when
//! the committed file differs from what the stack does now.
//!
//! Needs root. Run: `sudo make e2e` or `cargo test --test e2e -- --ignored e2e_rollout::`;
//! refresh the document with `GA_UPDATE_ROLLOUT=1 cargo test --test e2e -- --ignored e2e_rollout::`.

use std::fmt::Write as _;

use crate::support::system::{
    Answer, PamService, TempGroup, TempUser, pty_run, recipe_service, repo, require_root,
    secret_file, unique,
};

const DOC: &str = "docs/ROLLOUT.md";
const REFRESH: &str = "GA_UPDATE_ROLLOUT=1 cargo test --test e2e -- --ignored e2e_rollout::";

#[derive(Clone, Copy, PartialEq, Debug)]
enum State {
    Enrolled,
    NotEnrolled,
    Unreadable,
    WrongOwner,
    UnknownUser,
    ExemptNotEnrolled,
    ExemptEnrolled,
}

impl State {
    fn describe(self) -> &'static str {
        match self {
            State::Enrolled => "enrolled (`~/.google_authenticator`, 0600, own)",
            State::NotEnrolled => "not enrolled (no secret file)",
            State::Unreadable => "secret file unreadable (mode 0000)",
            State::WrongOwner => "secret file owned by another user (0600)",
            State::UnknownUser => "unknown user (no such account)",
            State::ExemptNotEnrolled => "member of the exempt group, not enrolled",
            State::ExemptEnrolled => "member of the exempt group, enrolled",
        }
    }
}

struct Recipe {
    file: &'static str,
    /// Extra arguments for the module line (the variant), if any.
    extra: &'static [&'static str],
    title: &'static str,
    states: &'static [State],
    /// Expected (prompts, success) per state, checked before the table is compared.
    expect: fn(State) -> (&'static [&'static str], bool),
}

const CODE: &str = "Verification code: ";
const PASSWORD: &str = "Password: ";

const RECIPES: &[Recipe] = &[
    Recipe {
        file: "nullok-rollout",
        extra: &[],
        title: "`pam.d/nullok-rollout` (module `nullok`, then `pam_permit.so`)",
        states: &[
            State::Enrolled,
            State::NotEnrolled,
            State::Unreadable,
            State::WrongOwner,
            State::UnknownUser,
        ],
        expect: |s| match s {
            State::Enrolled => (&[CODE], true),
            State::NotEnrolled => (&[], true),
            _ => (&[CODE], false),
        },
    },
    Recipe {
        file: "nullok-group-exempt",
        extra: &[],
        title: "`pam.d/nullok-group-exempt` (`pam_succeed_if` skips the module for group `no2fa`)",
        states: &[
            State::Enrolled,
            State::NotEnrolled,
            State::Unreadable,
            State::WrongOwner,
            State::UnknownUser,
            State::ExemptNotEnrolled,
            State::ExemptEnrolled,
        ],
        expect: |s| match s {
            State::Enrolled => (&[CODE], true),
            State::ExemptNotEnrolled | State::ExemptEnrolled => (&[], true),
            _ => (&[CODE], false),
        },
    },
    Recipe {
        file: "sshd-password-otp",
        extra: &["nullok"],
        title: "Variant: `pam.d/sshd-password-otp` with `nullok` added (`pam_unix.so`, then the module)",
        states: &[
            State::Enrolled,
            State::NotEnrolled,
            State::Unreadable,
            State::WrongOwner,
            State::UnknownUser,
        ],
        expect: |s| match s {
            State::Enrolled => (&[PASSWORD, CODE], true),
            State::NotEnrolled => (&[PASSWORD], true),
            _ => (&[PASSWORD, CODE], false),
        },
    },
];

struct Cell {
    prompts: Vec<String>,
    typed: Vec<&'static str>,
    ok: bool,
    result: String,
    report: String,
}

fn run_cell(service: &PamService, state: State, group: &TempGroup) -> Cell {
    let owner = TempUser::with_password("o");
    let user = TempUser::with_password("u");
    let secret = secret_file(&[], &[]);
    let name = match state {
        State::UnknownUser => unique("ganobody"),
        _ => user.name.clone(),
    };
    match state {
        State::Enrolled => {
            user.write_secret(&secret);
        }
        State::NotEnrolled | State::UnknownUser => {}
        State::Unreadable => {
            user.write_secret_as(&secret, 0o000, (user.uid, user.gid));
        }
        State::WrongOwner => {
            user.write_secret_as(&secret, 0o600, (owner.uid, owner.gid));
        }
        State::ExemptNotEnrolled => user.join(group),
        State::ExemptEnrolled => {
            user.join(group);
            user.write_secret(&secret);
        }
    }
    let capture = tempfile::tempdir().expect("tempdir");
    let log = capture.path().join("syslog");
    let o = pty_run(
        &["pamtester", "-v", &service.name, &name, "authenticate"],
        &[
            (PASSWORD, Answer::text(&user.password)),
            (CODE, Answer::totp()),
        ],
        60,
        &[
            ("LD_PRELOAD", &crate::support::syslog_capture_lib()),
            ("GA_SYSLOG_CAPTURE", &log),
        ],
    );
    let result = o
        .transcript
        .lines()
        .filter_map(|l| l.trim().strip_prefix("pamtester: "))
        .next_back()
        .unwrap_or("(no result)")
        .to_string();
    let typed = o
        .prompts
        .iter()
        .map(|p| {
            if p.text == PASSWORD {
                "password"
            } else {
                "code"
            }
        })
        .collect();
    Cell {
        prompts: o.prompt_texts(),
        typed,
        ok: o.exit == 0 && !o.timed_out,
        result,
        report: format!(
            "user {name} ({state:?})\n{}\n--- module syslog\n{}--- /etc/pam.d/{}\n{}",
            o.report(),
            std::fs::read_to_string(&log).unwrap_or_default(),
            service.name,
            service.text
        ),
    }
}

fn doc_header() -> String {
    format!(
        "# Gradual rollout: who gets in, with which prompts\n\
         \n\
         <!-- Generated by tests/e2e/e2e_rollout.rs; do not edit. Refresh (as root) with:\n\
         \x20    {REFRESH}\n\
         -->\n\
         \n\
         Each row is one real run: the recipe installed as an `/etc/pam.d` service (the module\n\
         name replaced by the absolute path of the built module, everything else as shipped,\n\
         including the `@include common-*` lines), a throwaway account in the given state, and\n\
         Debian's `pamtester ... authenticate` in a terminal. At every prompt the right answer\n\
         was typed: the account password at `Password: ` and the current code at\n\
         `Verification code: `. \"Result\" is what pamtester reported.\n\
         \n\
         What the table shows:\n\
         \n\
         * `nullok` lets in only users **without** a secret file, and only because another line\n\
         \x20 (`pam_permit.so`, or `pam_unix.so` in the variant) succeeds for them.\n\
         * A secret file that exists but cannot be used (unreadable, wrong owner) is a failure,\n\
         \x20 after the prompt, even with `nullok` (fail closed). So is an unknown user.\n\
         * With the group exemption, members of the group are never asked; everyone else must\n\
         \x20 be enrolled (a user who deletes their file does not drop out of the second factor).\n\
         \n\
         For `pam.d/nullok-group-exempt` the group name `no2fa` was replaced by a throwaway\n\
         group for the run. The third recipe is a **variant**, not a shipped file:\n\
         `pam.d/sshd-password-otp` with `nullok` added to the module line. Over sshd, the\n\
         same stacks are exercised by `tests/e2e/e2e_sshd.rs` (key plus code with\n\
         `pam.d/nullok-rollout`).\n\
         \n\
         To know when `nullok` can go, run `google-authenticator-audit` (see the README): it\n\
         judges every account as the module would, with the module's own checks, and says who\n\
         still gets in without a code (`no-file-nullok`) and whose file the module refuses\n\
         (`locked-out`). `tests/e2e/e2e_audit.rs` checks its verdicts against real logins through\n\
         this recipe, with and without `nullok`.\n"
    )
}

#[test]
#[ignore = "root tier: pamtester, users, groups and /etc/pam.d"]
fn rollout_table_matches_docs_rollout_md() {
    require_root("users, /etc/pam.d, sshd");
    let group = TempGroup::new("x");
    let mut doc = doc_header();
    let mut failures = Vec::new();
    for recipe in RECIPES {
        let mut text = recipe_service(recipe.file, recipe.extra);
        if recipe.file == "nullok-group-exempt" {
            assert!(
                text.contains("ingroup no2fa"),
                "the recipe names group no2fa"
            );
            text = text.replace("ingroup no2fa", &format!("ingroup {}", group.name));
        }
        let service = PamService::install(&unique("gatest-"), text);
        let _ = write!(
            doc,
            "\n## {}\n\n| User | Prompts seen | Typed | Result |\n|---|---|---|---|\n",
            recipe.title
        );
        for &state in recipe.states {
            let cell = run_cell(&service, state, &group);
            let prompts = if cell.prompts.is_empty() {
                "none".to_string()
            } else {
                cell.prompts
                    .iter()
                    .map(|p| format!("`{}`", p.trim_end()))
                    .collect::<Vec<_>>()
                    .join(", then ")
            };
            let typed = if cell.typed.is_empty() {
                "nothing".to_string()
            } else {
                cell.typed.join(" + ")
            };
            let verdict = if cell.ok { "**in**" } else { "refused" };
            let _ = writeln!(
                doc,
                "| {} | {prompts} | {typed} | {verdict} ({}) |",
                state.describe(),
                cell.result
            );
            let (want_prompts, want_ok) = (recipe.expect)(state);
            if cell.prompts != want_prompts || cell.ok != want_ok {
                failures.push(format!(
                    "pam.d/{} {:?}: expected prompts {want_prompts:?} and success {want_ok}, \
                     got {:?} and {}\n{}",
                    recipe.file, recipe.extra, cell.prompts, cell.ok, cell.report
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "rollout behaviour differs from what the recipes document:\n\n{}",
        failures.join("\n\n")
    );

    let path = repo().join(DOC);
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    if std::env::var_os("GA_UPDATE_ROLLOUT").is_some_and(|v| v == "1") {
        std::fs::write(&path, &doc).expect("write docs/ROLLOUT.md");
        println!("wrote {}", path.display());
        return;
    }
    if committed != doc {
        let dir = tempfile::tempdir().expect("tempdir");
        let fresh = dir.path().join("ROLLOUT.md");
        std::fs::write(&fresh, &doc).expect("write");
        let diff = std::process::Command::new("diff")
            .arg("-u")
            .arg(&path)
            .arg(&fresh)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_else(|e| format!("(diff failed: {e})"));
        panic!(
            "{DOC} is out of date with what the stacks do. Diff (committed -> now):\n{diff}\n\
             Refresh it as root with:\n    {REFRESH}\nand commit it."
        );
    }
}
