//! PAM boundary.
