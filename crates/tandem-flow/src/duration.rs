//! Durations as flow authors write them: `90s`, `15m`, `2h`, `3d`.

use chrono::Duration;

/// Parse `<number><unit>` with unit s, m, h or d.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit = unit.trim();
    let amount: i64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: write a number and a unit, like 90s, 15m, 2h or 3d"))?;
    let duration = match unit {
        "s" => Duration::try_seconds(amount),
        "m" => Duration::try_minutes(amount),
        "h" => Duration::try_hours(amount),
        "d" => Duration::try_days(amount),
        _ => {
            return Err(format!("`{text}` has an unknown unit `{unit}`: use s, m, h or d (like 90s, 15m, 2h, 3d)"));
        }
    };
    match duration {
        Some(d) if amount > 0 => Ok(d),
        _ => Err(format!("`{text}` is out of range: a duration is more than zero and at most a few years")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_unit() {
        assert_eq!(parse_duration("90s"), Ok(Duration::seconds(90)));
        assert_eq!(parse_duration("15m"), Ok(Duration::minutes(15)));
        assert_eq!(parse_duration("2h"), Ok(Duration::hours(2)));
        assert_eq!(parse_duration("3d"), Ok(Duration::days(3)));
    }

    #[test]
    fn rejects_nonsense() {
        assert!(parse_duration("15").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("m").unwrap_err().contains("not a duration"));
        assert!(parse_duration("3w").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("99999999999999d").is_err());
    }
}
