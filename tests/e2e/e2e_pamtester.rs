//! End-to-end: every recipe in `pam.d/` installed as a real `/etc/pam.d/<unique name>`
//! service (module name replaced by the absolute path of the built module, the rest as
//! shipped) and exercised with Debian's `pamtester`, which answers each prompt with one
//! line of its standard input.
//!
//! Needs root (throwaway users, /etc/pam.d). Run: `sudo make e2e` or
//! `cargo test --test e2e -- --ignored e2e_pamtester::`.

use crate::support::otp::now;
use crate::support::otp::wrong_code;
use crate::support::system::{
    PamService, TempUser, pamtester, recipe_names, require_root, secret_file,
};

/// What a recipe's prompts expect, in order.
#[derive(Clone, Copy)]
enum Shape {
    /// "Verification code: ": the code.
    Code,
    /// "Password: " then "Verification code: ".
    PasswordThenCode,
    /// "Password & verification code: ": password immediately followed by the code.
    ForwardPass,
}

/// Every shipped recipe and its prompt shape. A new file in `pam.d/` must be added here.
const RECIPES: &[(&str, Shape)] = &[
    ("jupyterhub-forward-pass", Shape::ForwardPass),
    ("jupyterhub-request-otp", Shape::PasswordThenCode),
    ("nullok-group-exempt", Shape::Code),
    ("nullok-rollout", Shape::Code),
    ("rstudio-forward-pass", Shape::ForwardPass),
    ("rstudio-otp-only", Shape::Code),
    ("sshd-forward-pass", Shape::ForwardPass),
    ("sshd-password-otp", Shape::PasswordThenCode),
    ("sshd-publickey-otp", Shape::Code),
];

fn answers(shape: Shape, password: &str, code: &str) -> Vec<String> {
    match shape {
        Shape::Code => vec![code.to_string()],
        Shape::PasswordThenCode => vec![password.to_string(), code.to_string()],
        Shape::ForwardPass => vec![format!("{password}{code}")],
    }
}

fn prompts(shape: Shape) -> &'static [&'static str] {
    match shape {
        Shape::Code => &["Verification code: "],
        Shape::PasswordThenCode => &["Password: ", "Verification code: "],
        Shape::ForwardPass => &["Password & verification code: "],
    }
}

fn exercise(recipe: &str) {
    require_root("users, /etc/pam.d, sshd");
    let shape = RECIPES
        .iter()
        .find(|(r, _)| *r == recipe)
        .map(|(_, s)| *s)
        .expect("recipe listed");
    let user = TempUser::with_password("t");
    user.write_secret(secret_file(&[], &[]));
    let service = PamService::recipe(recipe, &[]);
    let uses_password = !matches!(shape, Shape::Code);
    let mut cases: Vec<(&str, Vec<String>, bool)> = Vec::new();
    let code = crate::support::otp::totp_code(crate::support::otp::TEST_SECRET, now());
    cases.push(("right answers", answers(shape, &user.password, &code), true));
    cases.push((
        "wrong code",
        answers(shape, &user.password, &wrong_code()),
        false,
    ));
    if uses_password {
        let code = crate::support::otp::totp_code(crate::support::otp::TEST_SECRET, now());
        cases.push((
            "wrong password",
            answers(shape, "not-the-password", &code),
            false,
        ));
    }
    cases.push(("no answer at all", Vec::new(), false));
    for (what, input, expect_ok) in cases {
        // Recompute the code right before each run that needs the right one.
        let input: Vec<String> = if expect_ok {
            let code = crate::support::otp::totp_code(crate::support::otp::TEST_SECRET, now());
            answers(shape, &user.password, &code)
        } else {
            input
        };
        let run = pamtester(&service.name, &user.name, &input);
        let context = format!(
            "pam.d/{recipe}, {what}: typed {input:?}\n{}\n--- /etc/pam.d/{}\n{}",
            run.report(),
            service.name,
            service.text
        );
        assert_eq!(run.ok, expect_ok, "unexpected result\n{context}");
        if input.is_empty() {
            // The conversation fails (end of input): any failure will do.
            continue;
        }
        let result_line = if expect_ok {
            "successfully authenticated"
        } else {
            "Authentication failure"
        };
        assert!(
            run.stderr.contains(result_line) || run.stdout.contains(result_line),
            "pamtester should report {result_line:?}\n{context}"
        );
        {
            let seen: Vec<&str> = prompts(shape)
                .iter()
                .copied()
                .filter(|p| run.stderr.contains(p))
                .collect();
            assert_eq!(seen, prompts(shape), "prompts\n{context}");
        }
    }
}

#[test]
#[ignore = "root tier: pamtester, users and /etc/pam.d"]
fn every_recipe_in_pam_d_is_exercised() {
    require_root("users, /etc/pam.d, sshd");
    let listed: Vec<String> = RECIPES.iter().map(|(r, _)| r.to_string()).collect();
    assert_eq!(
        recipe_names(),
        listed,
        "pam.d/ and the RECIPES table of tests/e2e/e2e_pamtester.rs differ: add a test for each new recipe"
    );
}

macro_rules! recipe_tests {
    ($($test:ident => $recipe:literal,)*) => {$(
        #[test]
        #[ignore = "root tier: pamtester, users and /etc/pam.d"]
        fn $test() {
            exercise($recipe);
        }
    )*};
}

recipe_tests! {
    jupyterhub_forward_pass => "jupyterhub-forward-pass",
    jupyterhub_request_otp => "jupyterhub-request-otp",
    nullok_group_exempt => "nullok-group-exempt",
    nullok_rollout => "nullok-rollout",
    rstudio_forward_pass => "rstudio-forward-pass",
    rstudio_otp_only => "rstudio-otp-only",
    sshd_forward_pass => "sshd-forward-pass",
    sshd_password_otp => "sshd-password-otp",
    sshd_publickey_otp => "sshd-publickey-otp",
}
