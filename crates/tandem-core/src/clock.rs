//! The clock the engine reads "now" from: the system clock in production, a manual one in
//! conversation tests so that `wait: 3d` takes no time.

use std::cell::Cell;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use chrono::{DateTime, Duration, NaiveDate, NaiveDateTime, NaiveTime, SubsecRound as _, Utc};

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
            Ok(since) => {
                at_micros(since.as_secs(), since.subsec_micros()).unwrap_or_else(|| Utc::now().trunc_subsecs(6))
            }
            Err(_) => Utc::now().trunc_subsecs(6), // a clock set before 1970
        }
    }
}

thread_local! {
    /// The last day this thread read the clock on, as days since 1970 and as a date.
    static TODAY: Cell<(u64, NaiveDate)> = const { Cell::new((u64::MAX, NaiveDate::MIN)) };
}

/// The time `secs` seconds and `micros` µs after 1970 began. The date is worked out once a
/// day on each thread: from the day's number it took as long as reading the clock.
fn at_micros(secs: u64, micros: u32) -> Option<DateTime<Utc>> {
    let (day, second) = (secs / 86_400, (secs % 86_400) as u32);
    let date = match TODAY.get() {
        (today, date) if today == day => date,
        _ => {
            let date = DateTime::from_timestamp(i64::try_from(day * 86_400).ok()?, 0)?.date_naive();
            TODAY.set((day, date));
            date
        }
    };
    let time = NaiveTime::from_num_seconds_from_midnight_opt(second, micros * 1_000)?;
    Some(NaiveDateTime::new(date, time).and_utc())
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
    fn a_time_is_the_time_chrono_makes_across_days_and_years() {
        for secs in [0, 86_399, 86_400, 951_782_400 - 1, 951_782_400, 1_795_588_802, 4_102_444_800, 253_402_300_799] {
            for micros in [0, 1, 999_999] {
                let chrono = DateTime::from_timestamp(secs as i64, micros * 1_000).unwrap();
                assert_eq!(at_micros(secs, micros), Some(chrono), "{secs} s {micros} µs");
            }
        }
        assert_eq!(at_micros(u64::MAX, 0), None, "out of chrono's range: none, not a panic");
    }

    #[test]
    fn the_system_clock_tells_the_time_chrono_tells() {
        let before = Utc::now().trunc_subsecs(6);
        let now = SystemClock.now();
        let after = Utc::now();
        assert!(before <= now && now <= after, "{before} <= {now} <= {after}");
    }
}
