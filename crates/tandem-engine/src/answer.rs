//! Validating a customer's answer for a `capture`: the regex, then the built-in type, giving
//! the value to store (a number, a normalised email or phone, an ISO date, true/false, the
//! button's label).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use regex::Regex;
use serde_json::{Value, json};
use std::sync::LazyLock;
use tandem_flow::bot::Capture;
use tandem_flow::model::CaptureType;

static NUMBER: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"-?\d+(?:[.,]\d+)?").expect("valid"));
static EMAIL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}").expect("valid")
});

const YES: [&str; 12] = ["yes", "y", "yeah", "yep", "yup", "sure", "ok", "okay", "correct", "right", "of course", "👍"];
const NO: [&str; 7] = ["no", "n", "nope", "nah", "not really", "no thanks", "👎"];

/// The value to store, or `Err` when the answer is not valid.
pub fn validate(capture: &Capture, text: &str, buttons: &[String], now: DateTime<Utc>) -> Result<Value, ()> {
    let text = text.trim();
    let text = match &capture.pattern {
        Some(pattern) => pattern.find(text).map(|m| m.as_str()).ok_or(())?,
        None => text,
    };
    if text.is_empty() {
        return Err(());
    }
    match capture.kind {
        CaptureType::Text => Ok(Value::String(text.to_string())),
        CaptureType::Number => number(text),
        CaptureType::Email => EMAIL.find(text).map(|m| Value::String(m.as_str().to_lowercase())).ok_or(()),
        CaptureType::Phone => phone(text),
        CaptureType::Date => date(text, now),
        CaptureType::YesNo => yes_no(text),
        CaptureType::Button => {
            buttons.iter().find(|b| b.eq_ignore_ascii_case(text)).map(|b| Value::String(b.clone())).ok_or(())
        }
    }
}

fn number(text: &str) -> Result<Value, ()> {
    let found = NUMBER.find(text).ok_or(())?.as_str().replace(',', ".");
    match found.parse::<i64>() {
        Ok(i) => Ok(json!(i)),
        Err(_) => found.parse::<f64>().map(|f| json!(f)).map_err(|_| ()),
    }
}

fn phone(text: &str) -> Result<Value, ()> {
    let allowed = |c: char| c.is_ascii_digit() || " -().+/".contains(c);
    if !text.chars().all(allowed) {
        return Err(());
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if !(7..=15).contains(&digits.len()) {
        return Err(());
    }
    let plus = if text.starts_with('+') { "+" } else { "" };
    Ok(Value::String(format!("{plus}{digits}")))
}

fn date(text: &str, now: DateTime<Utc>) -> Result<Value, ()> {
    let today = now.date_naive();
    let lower = text.to_lowercase();
    let relative = match lower.as_str() {
        "today" => Some(today),
        "tomorrow" => Some(today + Duration::days(1)),
        "yesterday" => Some(today - Duration::days(1)),
        _ => None,
    };
    const FORMATS: [&str; 8] =
        ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d %B %Y", "%d %b %Y", "%B %d, %Y", "%b %d, %Y"];
    let parsed = relative.or_else(|| FORMATS.iter().find_map(|f| NaiveDate::parse_from_str(text, f).ok()));
    parsed.map(|d: NaiveDate| Value::String(d.format("%Y-%m-%d").to_string())).ok_or(())
}

fn yes_no(text: &str) -> Result<Value, ()> {
    let lower = text.to_lowercase();
    let cleaned = lower.trim_end_matches(['.', '!', '?']).trim();
    if YES.contains(&cleaned) {
        Ok(Value::Bool(true))
    } else if NO.contains(&cleaned) {
        Ok(Value::Bool(false))
    } else {
        Err(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_flow::compile::author_regex;

    fn capture(kind: CaptureType, pattern: Option<&str>) -> Capture {
        Capture {
            var: "v".into(),
            kind,
            pattern: pattern.map(|p| author_regex(p).unwrap()),
            retry: None,
            max_tries: 3,
            fallback: None,
        }
    }

    fn check(kind: CaptureType, text: &str) -> Result<Value, ()> {
        let now = DateTime::parse_from_rfc3339("2026-11-24T10:00:00Z").unwrap().with_timezone(&Utc);
        validate(&capture(kind, None), text, &["Small".into(), "Large".into()], now)
    }

    #[test]
    fn pattern_keeps_the_matching_part() {
        let c = capture(CaptureType::Text, Some(r"\bAC-\d{5}\b"));
        assert_eq!(validate(&c, "it's AC-12345 thanks", &[], Utc::now()), Ok(json!("AC-12345")));
        assert_eq!(validate(&c, "12345", &[], Utc::now()), Err(()));
    }

    #[test]
    fn builtin_types() {
        assert_eq!(check(CaptureType::Number, "about 3 boxes"), Ok(json!(3)));
        assert_eq!(check(CaptureType::Number, "2,5"), Ok(json!(2.5)));
        assert_eq!(check(CaptureType::Number, "none"), Err(()));
        assert_eq!(check(CaptureType::Email, "Me: Dana@Example.COM"), Ok(json!("dana@example.com")));
        assert_eq!(check(CaptureType::Email, "dana at example"), Err(()));
        assert_eq!(check(CaptureType::Phone, "+49 (30) 123-4567"), Ok(json!("+49301234567")));
        assert_eq!(check(CaptureType::Phone, "call me"), Err(()));
        assert_eq!(check(CaptureType::Date, "tomorrow"), Ok(json!("2026-11-25")));
        assert_eq!(check(CaptureType::Date, "24/12/2026"), Ok(json!("2026-12-24")));
        assert_eq!(check(CaptureType::Date, "31/02/2026"), Err(()));
        assert_eq!(check(CaptureType::YesNo, "Yep!"), Ok(json!(true)));
        assert_eq!(check(CaptureType::YesNo, "nope"), Ok(json!(false)));
        assert_eq!(check(CaptureType::YesNo, "maybe"), Err(()));
        assert_eq!(check(CaptureType::Button, "large"), Ok(json!("Large")));
        assert_eq!(check(CaptureType::Button, "medium"), Err(()));
        assert_eq!(check(CaptureType::Text, "   "), Err(()));
    }
}
