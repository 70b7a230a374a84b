//! The pure core: everything that decides, nothing that touches the system.
//!
//! No I/O, no clock, no environment and no `unsafe` live here. The current time, the file
//! bytes and what the user typed come in as parameters, and the results are values that
//! say what to do (including the log lines to emit), so every rule of the module can be
//! tested without PAM, files or root.
#![forbid(unsafe_code)]

pub mod args;
pub mod base32;
pub mod catalogue;
pub mod cnum;
pub mod file;
pub mod input;
pub mod log;
pub mod otp;
pub mod path;
pub mod policy;
pub mod sha1_lanes;
