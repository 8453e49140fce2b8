//! Regex, keyword and example intents: what the customer means, as an ordered list of
//! `(intent, confidence)`.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{RegexSet, RegexSetBuilder};

/// How one intent is recognised.
#[derive(Debug, Clone, Default)]
pub struct IntentDefinition {
    pub name: String,
    /// Regular expressions, case-insensitive.
    pub patterns: Vec<String>,
    /// Words or phrases matched case-insensitively on word boundaries.
    pub keywords: Vec<String>,
    /// Example messages; a message equal to one (ignoring case, spaces and punctuation) matches.
    pub examples: Vec<String>,
}

/// An intent found in a message, with how sure we are (0 to 1).
#[derive(Debug, Clone, PartialEq)]
pub struct IntentScore {
    pub intent: String,
    pub confidence: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum IntentError {
    #[error("intent `{intent}`: invalid pattern: {reason}")]
    Pattern { intent: String, reason: String },
    #[error("keywords: {0}")]
    Keywords(String),
}

/// Recognises the intents of a bot in a message.
#[derive(Debug, Clone)]
pub struct IntentMatcher {
    names: Vec<String>,
    patterns: RegexSet,
    pattern_owner: Vec<usize>,
    keywords: AhoCorasick,
    keyword_owner: Vec<usize>,
    examples: Vec<(String, usize)>,
}

impl IntentMatcher {
    pub fn new(definitions: &[IntentDefinition]) -> Result<Self, IntentError> {
        let mut patterns = Vec::new();
        let mut pattern_owner = Vec::new();
        let mut keywords = Vec::new();
        let mut keyword_owner = Vec::new();
        let mut examples = Vec::new();
        for (index, def) in definitions.iter().enumerate() {
            for p in &def.patterns {
                patterns.push(p.clone());
                pattern_owner.push(index);
            }
            for k in &def.keywords {
                keywords.push(k.to_lowercase());
                keyword_owner.push(index);
            }
            examples.extend(def.examples.iter().map(|e| (normalize(e), index)));
        }
        let patterns =
            RegexSetBuilder::new(&patterns).case_insensitive(true).size_limit(1 << 24).build().map_err(|e| {
                let intent = pattern_owner.first().map(|&i| definitions[i].name.clone()).unwrap_or_default();
                IntentError::Pattern { intent, reason: e.to_string() }
            })?;
        let keywords = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .build(&keywords)
            .map_err(|e| IntentError::Keywords(e.to_string()))?;
        Ok(Self {
            names: definitions.iter().map(|d| d.name.clone()).collect(),
            patterns,
            pattern_owner,
            keywords,
            keyword_owner,
            examples,
        })
    }

    /// The intents of `text`, most confident first, each intent once. Regex, keyword and
    /// exact-example matches are certain (1.0); ties keep the order intents were defined in.
    pub fn classify(&self, text: &str) -> Vec<IntentScore> {
        let mut hit = vec![false; self.names.len()];
        for i in self.patterns.matches(text).iter() {
            hit[self.pattern_owner[i]] = true;
        }
        let lower = text.to_lowercase();
        for m in self.keywords.find_iter(&lower) {
            if on_word_boundaries(&lower, m.start(), m.end()) {
                hit[self.keyword_owner[m.pattern().as_usize()]] = true;
            }
        }
        let normalized = normalize(text);
        for (example, owner) in &self.examples {
            if *example == normalized {
                hit[*owner] = true;
            }
        }
        hit.iter()
            .enumerate()
            .filter(|(_, h)| **h)
            .map(|(i, _)| IntentScore { intent: self.names[i].clone(), confidence: 1.0 })
            .collect()
    }
}

fn on_word_boundaries(text: &str, start: usize, end: usize) -> bool {
    let before = text[..start].chars().next_back();
    let after = text[end..].chars().next();
    !before.is_some_and(char::is_alphanumeric) && !after.is_some_and(char::is_alphanumeric)
}

/// Lowercase words joined by single spaces, punctuation dropped.
fn normalize(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric() && c != '\'')
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matcher() -> IntentMatcher {
        IntentMatcher::new(&[
            IntentDefinition { name: "track".into(), patterns: vec![r"\btrack(ing)?\b".into()], ..Default::default() },
            IntentDefinition {
                name: "human".into(),
                keywords: vec!["real person".into(), "agent".into()],
                ..Default::default()
            },
            IntentDefinition { name: "thanks".into(), examples: vec!["Thank you!".into()], ..Default::default() },
        ])
        .unwrap()
    }

    fn names(text: &str) -> Vec<String> {
        matcher().classify(text).into_iter().map(|s| s.intent).collect()
    }

    #[test]
    fn patterns_are_case_insensitive() {
        assert_eq!(names("TRACKING my parcel"), ["track"]);
    }

    #[test]
    fn keywords_need_whole_words() {
        assert_eq!(names("can I talk to a Real Person?"), ["human"]);
        assert!(names("the agents' reagent").is_empty());
    }

    #[test]
    fn examples_match_exactly_ignoring_case_and_punctuation() {
        assert_eq!(names("thank you"), ["thanks"]);
        assert!(names("thank you for nothing").is_empty());
    }

    #[test]
    fn several_intents_keep_definition_order() {
        assert_eq!(names("agent, track it"), ["track", "human"]);
    }

    #[test]
    fn any_unicode_is_fine() {
        assert!(names("🤬🤬 İstanbul ß ǅ \u{0}").is_empty());
    }
}
