//! The library's code paths without PAM: upstream's unit test, ported, and property tests
//! of the policy.
//!
//! One test binary: each module below was a test binary of its own; `cargo test NAME`
//! still finds a test by name, `cargo test --test properties MODULE::` runs one module.

// Every binary includes the whole shared harness and uses a part of it. The modules
// below are public, as their items were when each was a crate of its own.
#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

pub mod flow_scripts;
pub mod policy_properties;
pub mod upstream_unittest;
