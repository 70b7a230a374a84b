//! The randomised differential test against Debian's module: the cases and the model of
//! the expected behaviour.

pub mod cases;
pub mod model;
