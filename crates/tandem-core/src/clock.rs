//! The clock the engine reads "now" from: the system clock in production, a manual one in
//! conversation tests so that `wait: 3d` takes no time.

use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Duration, SubsecRound as _, Utc};

/// Where the engine gets the current time.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real wall clock, to the microsecond: what SQLite's and PostgreSQL's columns keep, so a
/// time reads back as it was written, and every time in a stored state is 3 characters shorter.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        // Truncated as integers before the one conversion to a date: `Utc::now()` and then
        // `trunc_subsecs` converted twice, and the clock is read for every message.
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(since) => DateTime::from_timestamp(since.as_secs() as i64, since.subsec_micros() * 1_000)
                .unwrap_or_else(|| Utc::now().trunc_subsecs(6)),
            Err(_) => Utc::now().trunc_subsecs(6), // a clock set before 1970
        }
    }
}

/// A clock that only moves when told to: the fake clock of conversation tests.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(start))
    }

    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().unwrap_or_else(|e| e.into_inner()) = at;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *now += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_system_clock_keeps_microseconds() {
        assert_eq!(SystemClock.now().timestamp_subsec_nanos() % 1_000, 0);
    }

    #[test]
    fn the_system_clock_tells_the_time_chrono_tells() {
        let before = Utc::now().trunc_subsecs(6);
        let now = SystemClock.now();
        let after = Utc::now();
        assert!(before <= now && now <= after, "{before} <= {now} <= {after}");
    }
}
