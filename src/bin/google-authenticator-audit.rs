//! `google-authenticator-audit`: every account as `pam_google_authenticator.so` would judge
//! it. Everything happens in [`pam_google_authenticator::cli::audit`].

fn main() -> std::process::ExitCode {
    pam_google_authenticator::cli::audit::main()
}
