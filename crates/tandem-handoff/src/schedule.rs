//! Weekly opening hours (an agent's shifts, a team's business hours) in a time zone, with
//! DST handled explicitly: a shift that starts in a spring-forward gap starts when the clock
//! jumps; one in an autumn overlap starts at the first of the two instants.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc, Weekday,
};
use chrono_tz::Tz;

/// One opening: a weekday, from a local time, for a length (may run past midnight).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opening {
    pub day: Weekday,
    pub start: NaiveTime,
    pub length: Duration,
}

/// Weekly hours, e.g. `mon-fri: 09:00-17:00`, `sat: 10:00-14:00`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WeeklyHours {
    pub openings: Vec<Opening>,
}

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

fn day(name: &str) -> Result<Weekday, String> {
    let lower = name.trim().to_lowercase();
    DAYS.iter()
        .find(|(short, _)| lower.starts_with(short))
        .map(|(_, d)| *d)
        .ok_or_else(|| format!("`{name}` is not a day: write mon, tue, wed, thu, fri, sat or sun"))
}

fn time(text: &str) -> Result<NaiveTime, String> {
    let text = text.trim();
    if text == "24:00" {
        return Ok(NaiveTime::MIN);
    }
    NaiveTime::parse_from_str(text, "%H:%M").map_err(|_| format!("`{text}` is not a time like 09:00"))
}

impl WeeklyHours {
    /// Add `days` (`mon`, `mon-fri`, `sat,sun`, `daily`) open during `ranges`
    /// (`09:00-17:00`, `09:00-12:00, 13:00-17:00`, `22:00-06:00`).
    pub fn add(&mut self, days: &str, ranges: &str) -> Result<(), String> {
        let mut weekdays = Vec::new();
        for part in days.split(',') {
            let part = part.trim();
            if part == "daily" || part == "every day" {
                weekdays.extend(DAYS.iter().map(|(_, d)| *d));
            } else if let Some((from, to)) = part.split_once('-') {
                let (mut d, last) = (day(from)?, day(to)?);
                weekdays.push(d);
                while d != last {
                    d = d.succ();
                    weekdays.push(d);
                }
            } else {
                weekdays.push(day(part)?);
            }
        }
        for range in ranges.split(',') {
            let (from, to) =
                range.split_once('-').ok_or_else(|| format!("`{}` is not a range like 09:00-17:00", range.trim()))?;
            let (start, end) = (time(from)?, time(to)?);
            let mut length = end - start;
            if length <= Duration::zero() {
                length += Duration::days(1); // past midnight
            }
            for &d in &weekdays {
                self.openings.push(Opening { day: d, start, length });
            }
        }
        Ok(())
    }

    /// Open at `at`, in `tz`?
    pub fn is_open(&self, at: DateTime<Utc>, tz: Tz) -> bool {
        let local = at.with_timezone(&tz).naive_local();
        // An opening that began today or yesterday (past midnight) may cover `local`.
        [local.date(), local.date() - Duration::days(1)].iter().any(|date| {
            self.openings.iter().filter(|o| o.day == date.weekday()).any(|o| {
                let start = date.and_time(o.start);
                start <= local && local < start + o.length
            })
        })
    }

    /// The first opening that starts after `after` (within two weeks), skipping `closed` dates
    /// (holidays, in `tz`), as an instant.
    pub fn next_opening(&self, after: DateTime<Utc>, tz: Tz, closed: &[NaiveDate]) -> Option<DateTime<Utc>> {
        let today = after.with_timezone(&tz).date_naive();
        (0..15)
            .map(|offset| today + Duration::days(offset))
            .filter(|date| !closed.contains(date))
            .flat_map(|date| {
                let mut starts: Vec<DateTime<Utc>> = self
                    .openings
                    .iter()
                    .filter(|o| o.day == date.weekday())
                    .filter_map(|o| instant(date.and_time(o.start), tz))
                    .filter(|start| *start > after)
                    .collect();
                starts.sort();
                starts
            })
            .next()
    }
}

/// A local wall-clock time as an instant. In a DST gap (the clock jumps over it), the
/// instant the clock jumps; in an overlap (the hour repeats), the first occurrence.
pub fn instant(local: NaiveDateTime, tz: Tz) -> Option<DateTime<Utc>> {
    match tz.from_local_datetime(&local) {
        LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Some(first.with_timezone(&Utc)),
        LocalResult::None => (1..=4).find_map(|quarter| {
            tz.from_local_datetime(&(local + Duration::minutes(15 * quarter))).earliest().map(|t| t.with_timezone(&Utc))
        }),
    }
}

/// When something happens, in plain words for a customer in `tz`: "today at 14:00",
/// "tomorrow at 9:00", "on Monday at 9:00", "on 5 January at 9:00".
pub fn plain_words(when: DateTime<Utc>, now: DateTime<Utc>, tz: Tz) -> String {
    let (when, now) = (when.with_timezone(&tz), now.with_timezone(&tz));
    let clock = format!("{}:{:02}", when.format("%-H"), when.minute());
    let days = (when.date_naive() - now.date_naive()).num_days();
    match days {
        0 => format!("today at {clock}"),
        1 => format!("tomorrow at {clock}"),
        2..=6 => format!("on {} at {clock}", when.format("%A")),
        _ => format!("on {} at {clock}", when.format("%-d %B")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn office() -> WeeklyHours {
        let mut h = WeeklyHours::default();
        h.add("mon-fri", "09:00-17:00").unwrap();
        h
    }

    #[test]
    fn open_in_the_local_time_zone() {
        let london: Tz = "Europe/London".parse().unwrap();
        assert!(office().is_open(utc("2026-01-05T09:30:00Z"), london));
        assert!(!office().is_open(utc("2026-01-05T17:00:00Z"), london));
        // In summer, 08:30 UTC is 09:30 in London.
        assert!(office().is_open(utc("2026-07-06T08:30:00Z"), london));
        assert!(!office().is_open(utc("2026-07-04T10:00:00Z"), london), "Saturday");
    }

    #[test]
    fn night_shifts_run_past_midnight() {
        let mut nights = WeeklyHours::default();
        nights.add("fri", "22:00-06:00").unwrap();
        let utc_tz: Tz = "UTC".parse().unwrap();
        assert!(nights.is_open(utc("2026-01-10T03:00:00Z"), utc_tz), "Saturday 03:00 is Friday's night shift");
        assert!(!nights.is_open(utc("2026-01-10T07:00:00Z"), utc_tz));
    }

    #[test]
    fn friday_night_waits_for_monday_across_the_spring_dst_change() {
        let london: Tz = "Europe/London".parse().unwrap();
        // Friday 27 March 2026, 23:00 GMT; clocks go forward on Sunday 29 March.
        let next = office().next_opening(utc("2026-03-27T23:00:00Z"), london, &[]).unwrap();
        assert_eq!(next, utc("2026-03-30T08:00:00Z"), "Monday 09:00 BST is 08:00 UTC");
    }

    #[test]
    fn holidays_are_skipped() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let christmas =
            [NaiveDate::from_ymd_opt(2026, 12, 24).unwrap(), NaiveDate::from_ymd_opt(2026, 12, 25).unwrap()];
        let next = office().next_opening(utc("2026-12-23T18:00:00Z"), berlin, &christmas).unwrap();
        assert_eq!(next, utc("2026-12-28T08:00:00Z"));
    }

    #[test]
    fn a_start_in_the_dst_gap_is_when_the_clock_jumps() {
        let mut early = WeeklyHours::default();
        early.add("sun", "01:30-05:00").unwrap();
        let london: Tz = "Europe/London".parse().unwrap();
        let next = early.next_opening(utc("2026-03-28T12:00:00Z"), london, &[]).unwrap();
        assert_eq!(next, utc("2026-03-29T01:00:00Z"), "01:30 does not exist; the clock jumps to 02:00 BST = 01:00 UTC");
    }

    #[test]
    fn says_when_in_plain_words() {
        let berlin: Tz = "Europe/Berlin".parse().unwrap();
        let now = utc("2026-03-27T22:00:00Z"); // Friday 23:00 in Berlin
        assert_eq!(plain_words(utc("2026-03-30T07:00:00Z"), now, berlin), "on Monday at 9:00");
        assert_eq!(plain_words(utc("2026-03-28T08:00:00Z"), now, berlin), "tomorrow at 9:00");
        assert_eq!(plain_words(utc("2026-03-27T22:30:00Z"), now, berlin), "today at 23:30");
        assert_eq!(plain_words(utc("2026-04-10T07:00:00Z"), now, berlin), "on 10 April at 9:00");
    }

    #[test]
    fn bad_hours_are_explained() {
        let mut h = WeeklyHours::default();
        assert!(h.add("mon-fry", "09:00-17:00").unwrap_err().contains("not a day"));
        assert!(h.add("mon", "9-5").unwrap_err().contains("not a time"));
        assert!(h.add("mon", "09:00").unwrap_err().contains("not a range"));
    }
}
