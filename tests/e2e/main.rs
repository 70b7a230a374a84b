//! End to end (root tier, all `#[ignore]`d): the shipped `pam.d/` recipes as real
//! `/etc/pam.d` services behind sshd, pamtester, JupyterHub and an RStudio stand-in, with
//! throwaway users. `make e2e` runs the sshd, pamtester and rollout ones.
//!
//! One test binary: each module below was a test binary of its own; `cargo test NAME`
//! still finds a test by name, `cargo test --test e2e MODULE::` runs one module.

// Every binary includes the whole shared harness and uses a part of it. The modules
// below are public, as their items were when each was a crate of its own.
#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

pub mod e2e_audit;
pub mod e2e_jupyterhub;
pub mod e2e_pamtester;
pub mod e2e_rollout;
pub mod e2e_rstudio;
pub mod e2e_sshd;
