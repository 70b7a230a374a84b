//! The module through the real libpam and the driver (unprivileged), the harness's own
//! checks, and the root tier of the module (`#[ignore = "root tier: ..."]`).
//!
//! One test binary: each module below was a test binary of its own; `cargo test NAME`
//! still finds a test by name, `cargo test --test module MODULE::` runs one module.

// Every binary includes the whole shared harness and uses a part of it. The modules
// below are public, as their items were when each was a crate of its own.
#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

pub mod bad_input;
pub mod harness_selftest;
pub mod module_args;
pub mod root_tier;
pub mod state_files;
