//! Differential tests against Debian's C module: the table of scenarios and the
//! randomised cases (`make differential-long` runs many).
//!
//! One test binary: each module below was a test binary of its own; `cargo test NAME`
//! still finds a test by name, `cargo test --test differential MODULE::` runs one module.

// Every binary includes the whole shared harness and uses a part of it. The modules
// below are public, as their items were when each was a crate of its own.
#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

pub mod cli_options;
pub mod reference;
pub mod reference_random;
