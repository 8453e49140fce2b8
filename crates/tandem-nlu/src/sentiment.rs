//! Sentiment of a message: a compound score in [-1, 1] by VADER's method ([`crate::vader`], a
//! faithful port of Python vaderSentiment 3.3.2, read with the original's slips corrected:
//! [`crate::vader_corrections`]), plus what VADER misses in customer service, as a
//! documented, configurable extension added to VADER's raw sum before it is normalised:
//! - emoji whose descriptions carry no lexicon word (😡, 🤬, 👍🏽 with any skin tone, ...);
//! - support cues: "still waiting", "third time", "nobody answers", "cancel my account",
//!   "I want a refund", ...

use regex_automata::meta;

use crate::cues::CueSet;
use crate::vader;

/// Emoji VADER scores as neutral, with a valence on VADER's -4..4 scale. Skin tones and
/// variation selectors are ignored when matching.
pub const EMOJI: [(&str, f64); 10] = [
    ("😡", -2.9),
    ("🤬", -3.2),
    ("😤", -1.8),
    ("👎", -1.9),
    ("🙄", -1.3),
    ("😒", -1.5),
    ("👍", 1.9),
    ("🙏", 1.2),
    ("💯", 1.5),
    ("🤦", -1.5),
];

/// Phrases of customer-service frustration VADER does not weigh, with a valence.
pub const SUPPORT_CUES: [(&str, f64); 9] = [
    (r"\bstill (waiting|nothing|no (reply|answer|response|update))\b", -1.8),
    (r"\b(second|third|fourth|fifth|2nd|3rd|4th|5th|tenth) time\b", -1.5),
    (
        r"\b(nobody|no one|no-one|noone)\b.{0,20}\b(answers?|answering|replies|replying|responds?|responding|gets? back|helps?|helping)\b",
        -2.0,
    ),
    (r"\bcancel (my|the) (account|subscription|membership|contract)\b", -1.6),
    (r"\b(i want|i'd like|i would like|give me|i need|i demand) (a |my )?(refund|money back)\b", -1.3),
    (r"\b(never|still (hasn't|has not|haven't|have not|didn't|did not)) (arrived|came|come|received|got)\b", -1.5),
    (r"\b(hours|days|weeks) (ago|later|now)\b.{0,30}\b(nothing|no)\b", -1.0),
    (r"\bon hold\b", -0.8),
    (r"\b(thanks|thank you) (so much|a lot|for your help)\b", 0.8),
];

/// Scores messages.
pub struct SentimentAnalyzer {
    /// The cues as one set, searched in one pass (nine searches a message before).
    cues: CueSet,
    extension: bool,
}

impl std::fmt::Debug for SentimentAnalyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SentimentAnalyzer({} cues, extension: {})", self.cues.len(), self.extension)
    }
}

impl Default for SentimentAnalyzer {
    fn default() -> Self {
        Self::new(&[]).expect("the built-in cues are valid")
    }
}

impl SentimentAnalyzer {
    /// VADER with the built-in extension and `extra` cues (`regex`, valence).
    pub fn new(extra: &[(String, f64)]) -> Result<Self, Box<meta::BuildError>> {
        let cues = CueSet::new(SUPPORT_CUES.into_iter().chain(extra.iter().map(|(p, v)| (p.as_str(), *v))))?;
        vader::load_lexicons();
        Ok(Self { cues, extension: true })
    }

    /// Plain VADER, as Python vaderSentiment scores it.
    pub fn vader_only() -> Self {
        vader::load_lexicons();
        let cues = CueSet::new([]).expect("an empty set builds");
        Self { cues, extension: false }
    }

    /// The compound score of `text` in [-1, 1].
    pub fn score(&self, text: &str) -> f64 {
        if !self.extension {
            return vader::compound(text);
        }
        let compound = vader::compound_corrected(text);
        let extra = self.extra_valence(text);
        if extra == 0.0 {
            return compound;
        }
        vader::normalise(vader::raw_sum(compound) + extra)
    }

    fn extra_valence(&self, text: &str) -> f64 {
        let emoji: f64 = text
            .chars()
            .filter(|ch| !ch.is_ascii())
            .filter_map(|ch| EMOJI.iter().find(|(e, _)| e.starts_with(ch)).map(|(_, v)| *v))
            .sum();
        emoji + self.cues.valence(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vader_rules_hold() {
        let s = SentimentAnalyzer::vader_only();
        assert!(s.score("The service was good.") > 0.3);
        assert!(s.score("The service was not good.") < 0.0, "negation");
        assert!(
            s.score("The service was VERY GOOD!!!") > s.score("The service was good."),
            "boosters, caps, punctuation"
        );
        assert!(s.score("The food was great, but the service was awful") < 0.0, "but shifts the weight");
        assert_eq!(s.score(""), 0.0);
    }

    #[test]
    fn the_extension_catches_what_vader_misses() {
        let plain = SentimentAnalyzer::vader_only();
        let ours = SentimentAnalyzer::default();
        for text in [
            "I am still waiting for my parcel",
            "This is the third time I write",
            "nobody answers the phone",
            "I want to cancel my account",
            "I want a refund",
            "🤬",
            "😡😡",
        ] {
            assert!(
                ours.score(text) < plain.score(text) - 0.2,
                "{text}: {} vs {}",
                ours.score(text),
                plain.score(text)
            );
            assert!(ours.score(text) < -0.2, "{text}");
        }
        assert!(ours.score("👍🏽") > 0.3, "a thumbs up with a skin tone");
        assert!(EMOJI.iter().all(|(e, _)| !e.is_ascii()), "the extension skips ASCII characters");
        assert_eq!(ours.score("The parcel came on time"), plain.score("The parcel came on time"));
    }

    #[test]
    fn every_cue_in_a_message_counts_once_in_any_case() {
        let s = SentimentAnalyzer::default();
        let extra = |text: &str| s.extra_valence(text);
        assert_eq!(extra("The parcel came on time"), 0.0);
        assert_eq!(extra("STILL WAITING"), -1.8, "case-insensitive");
        assert_eq!(extra("still waiting, still waiting"), -1.8, "a cue counts once");
        assert_eq!(extra("third time I write and I am still waiting"), -1.8 + -1.5, "overlapping cues add up");
        assert_eq!(extra("Thank you so much, nobody else ever helps like that"), 0.8 + -2.0);
    }

    #[test]
    fn extra_cues_are_configurable() {
        let s = SentimentAnalyzer::new(&[(r"\bmeh\b".into(), -1.0)]).unwrap();
        assert!(s.score("meh") < -0.2);
        assert!(SentimentAnalyzer::new(&[("(".into(), -1.0)]).is_err());
    }

    #[test]
    fn scores_stay_in_range_for_any_text() {
        let s = SentimentAnalyzer::default();
        for text in ["😡😡😡😡😡😡😡😡😡😡 nobody answers still waiting third time", "!!!!!!!!", "🏽", "\u{0}"]
        {
            let v = s.score(text);
            assert!((-1.0..=1.0).contains(&v), "{text}: {v}");
        }
    }
}
