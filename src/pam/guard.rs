//! The panic boundary of the hooks: a panic never unwinds into libpam, prints nothing and
//! leaves nothing behind in the host.
//!
//! Without a hook of its own, a panic runs the standard library's default hook, which writes
//! to the host's stderr and, when the host's environment sets `RUST_BACKTRACE`, resolves a
//! backtrace into caches that keep the module loaded after `pam_end` (and grow the host at
//! every panic). So each entry installs a hook that does nothing. The hook lives in the
//! module's own copy of the standard library (a `cdylib` links it statically), so neither
//! the host nor another Rust module is affected, and the hook, a zero-sized closure, needs no
//! heap: nothing of it remains once libpam unloads the module.
//!
//! This file depends on the standard library only: the tests build it into a module that
//! panics on purpose (`tests/support/pam_panics.rs`).

use std::panic::{AssertUnwindSafe, catch_unwind};

/// Runs `body`. Returns `None` if it panicked; the panic is not reported anywhere (the
/// caller logs through PAM and fails the login closed).
pub fn catch<T>(body: impl FnOnce() -> T) -> Option<T> {
    silence_panics();
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(value) => Some(value),
        Err(payload) => {
            // The payload's destructor may panic too; that one is caught as well.
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            None
        }
    }
}

/// Replaces the panic hook of the module's standard library with one that does nothing.
#[allow(clippy::disallowed_methods)] // This is the one place that sets it.
fn silence_panics() {
    // `set_hook` refuses to run while the thread is panicking; it is not, on entry from
    // libpam, but a hook is never worth a panic.
    if !std::thread::panicking() {
        std::panic::set_hook(Box::new(|_| {}));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn returns_the_value_or_none_after_a_panic() {
        assert_eq!(catch(|| 7), Some(7));
        assert_eq!(catch(|| -> i32 { panic!("a deliberate panic") }), None);
        // A payload whose destructor panics.
        struct Bomb;
        impl Drop for Bomb {
            fn drop(&mut self) {
                panic!("a deliberate panic in a destructor");
            }
        }
        assert_eq!(catch(|| -> i32 { std::panic::panic_any(Bomb) }), None);
        // Give the other tests of this binary their panic messages back.
        drop(std::panic::take_hook());
    }
}
