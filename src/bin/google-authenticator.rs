//! `google-authenticator`: sets up the secret file for `pam_google_authenticator.so`.
//! Everything happens in [`pam_google_authenticator::cli`].

fn main() -> std::process::ExitCode {
    pam_google_authenticator::cli::main()
}
