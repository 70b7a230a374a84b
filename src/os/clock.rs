//! The wall clock, read once per authentication.
//!
//! The pure core takes the current time as a parameter; this is where it comes from. It goes
//! through the standard library, which calls libc's `clock_gettime`, so tests can steer it from
//! outside the process with libfaketime. No environment variable, file or argument can move it.

use std::time::{SystemTime, UNIX_EPOCH};

/// The current Unix time in whole seconds.
///
/// A clock set before 1970 gives a negative value (rounded down, so -0.5 s reads as -1); a
/// clock beyond the range of `i64` saturates. Never panics.
#[must_use]
pub fn now() -> i64 {
    seconds_since_epoch(SystemTime::now())
}

fn seconds_since_epoch(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => {
            let before = before.duration();
            let whole = i64::try_from(before.as_secs()).unwrap_or(i64::MAX);
            // Round towards minus infinity, like floor(), so a step boundary never moves.
            let partial = i64::from(before.subsec_nanos() > 0);
            0i64.saturating_sub(whole).saturating_sub(partial)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn now_is_after_2020() {
        assert!(now() > 1_577_836_800);
    }

    #[test]
    fn epoch_and_neighbours() {
        assert_eq!(seconds_since_epoch(UNIX_EPOCH), 0);
        assert_eq!(
            seconds_since_epoch(UNIX_EPOCH + Duration::from_millis(1500)),
            1
        );
        assert_eq!(
            seconds_since_epoch(UNIX_EPOCH - Duration::from_millis(500)),
            -1
        );
        assert_eq!(
            seconds_since_epoch(UNIX_EPOCH - Duration::from_secs(30)),
            -30
        );
    }
}
