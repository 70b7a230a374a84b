//! Differential tests against Debian's C module and setup command: the randomised cases
//! (`make differential-long` runs many) and the setup command's option parsing. The
//! scenario tables are a binary of their own, `reference/` (one test per scenario).
//!
//! One test binary: each module below was a test binary of its own; `cargo test NAME`
//! still finds a test by name, `cargo test --test differential MODULE::` runs one module.

// Every binary includes the whole shared harness and uses a part of it. The modules
// below are public, as their items were when each was a crate of its own.
#[allow(dead_code)]
#[path = "../support/mod.rs"]
mod support;

pub mod cli_options;
pub mod reference_random;
