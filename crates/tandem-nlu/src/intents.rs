//! What the customer means, as an ordered list of `(intent, confidence)`: regex patterns,
//! whole-word keywords and exact examples are certain (1.0); otherwise the classifier trained
//! on every intent's examples gives its best guess with a confidence, and answers nothing
//! (out of scope) below the threshold. Examples of the intent [`OUT_OF_SCOPE`] (`none`) teach
//! the classifier what the bot does not handle: when it is the best guess, the classifier
//! answers nothing, and `none` itself is never an answer.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use regex::{RegexSet, RegexSetBuilder};

use crate::classifier::{Classifier, Training};

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
    #[error("intent `{OUT_OF_SCOPE}` holds out-of-scope examples; it takes no patterns or keywords")]
    OutOfScopeRules,
}

/// Recognises the intents of a bot in a message.
#[derive(Debug, Clone)]
pub struct IntentMatcher {
    names: Vec<String>,
    patterns: RegexSet,
    pattern_owner: Vec<usize>,
    keywords: AhoCorasick,
    keyword_owner: Vec<usize>,
    /// Normalised examples and their intent; an out-of-scope example has `None`.
    examples: Vec<(String, Option<usize>)>,
    classifier: Option<Classifier>,
    /// Below this confidence the classifier's guess is out of scope.
    threshold: f64,
}

/// The intent whose examples are out of scope: a class of its own, never an answer.
pub const OUT_OF_SCOPE: &str = "none";

/// Below this confidence a classifier guess counts as "none" (out of scope), by default.
pub const DEFAULT_THRESHOLD: f64 = 0.6;

/// A decision value as a confidence in (0, 1): 0.5 on the decision boundary, near 1 a
/// margin beyond it.
pub fn confidence(score: f32) -> f64 {
    1.0 / (1.0 + (-4.0 * f64::from(score)).exp())
}

impl IntentMatcher {
    pub fn new(definitions: &[IntentDefinition]) -> Result<Self, IntentError> {
        let mut patterns = Vec::new();
        let mut pattern_owner = Vec::new();
        let mut keywords = Vec::new();
        let mut keyword_owner = Vec::new();
        let mut examples = Vec::new();
        for (index, def) in definitions.iter().enumerate() {
            if def.name == OUT_OF_SCOPE && !(def.patterns.is_empty() && def.keywords.is_empty()) {
                return Err(IntentError::OutOfScopeRules);
            }
            for p in &def.patterns {
                patterns.push(p.clone());
                pattern_owner.push(index);
            }
            for k in &def.keywords {
                keywords.push(k.to_lowercase());
                keyword_owner.push(index);
            }
            let owner = (def.name != OUT_OF_SCOPE).then_some(index);
            examples.extend(def.examples.iter().map(|e| (normalize(e), owner)));
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
        let labelled: Vec<(String, String)> =
            definitions.iter().flat_map(|d| d.examples.iter().map(|e| (e.clone(), d.name.clone()))).collect();
        let distinct = definitions.iter().filter(|d| !d.examples.is_empty()).count();
        // A classifier needs at least two intents with examples to tell apart.
        let classifier = (distinct >= 2).then(|| Classifier::train(&labelled, Training::default()));
        Ok(Self {
            classifier,
            threshold: DEFAULT_THRESHOLD,
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
        if self.names.is_empty() {
            // A bot without intents: nothing to find (and no lower-casing or normalising of
            // every message; 5 % of a turn in the memory benchmark).
            return Vec::new();
        }
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
        let mut out_of_scope = false;
        for (_, owner) in self.examples.iter().filter(|(example, _)| *example == normalized) {
            match owner {
                Some(owner) => hit[*owner] = true,
                None => out_of_scope = true,
            }
        }
        let mut found: Vec<IntentScore> = hit
            .iter()
            .enumerate()
            .filter(|(_, h)| **h)
            .map(|(i, _)| IntentScore { intent: self.names[i].clone(), confidence: 1.0 })
            .collect();
        if let Some(classifier) = self.classifier.as_ref().filter(|_| !out_of_scope) {
            let scores = classifier.scores(text);
            let mut guesses: Vec<(usize, f32)> = scores.iter().copied().enumerate().collect();
            guesses.sort_by(|a, b| b.1.total_cmp(&a.1));
            for (label, _) in guesses.into_iter().take(3) {
                let confidence = confidence(classifier.in_scope_score(&scores, label));
                let intent = &classifier.labels()[label];
                if intent == OUT_OF_SCOPE {
                    // Guesses less likely than "out of scope" are not worth giving.
                    break;
                }
                if confidence >= self.threshold && !found.iter().any(|f| f.intent == *intent) {
                    found.push(IntentScore { intent: intent.clone(), confidence });
                }
            }
        }
        found
    }

    /// Change the out-of-scope threshold (a confidence in [0, 1]).
    pub fn with_threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
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
    fn a_bot_without_intents_finds_none() {
        assert!(IntentMatcher::new(&[]).unwrap().classify("I want a refund, now!").is_empty());
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

    /// Two intents known only by their examples, plus `extra`.
    fn by_examples(extra: &[(&str, &[&str])]) -> IntentMatcher {
        let intents: [(&str, &[&str]); 2] = [
            ("track", &["where is my order", "track my parcel", "has my package shipped"]),
            ("refund", &["i want my money back", "refund please", "can i get a refund"]),
        ];
        let definitions: Vec<IntentDefinition> = intents
            .iter()
            .chain(extra)
            .map(|(name, examples)| IntentDefinition {
                name: name.to_string(),
                examples: examples.iter().map(|e| e.to_string()).collect(),
                ..Default::default()
            })
            .collect();
        IntentMatcher::new(&definitions).unwrap()
    }

    #[test]
    fn the_classifier_generalises_from_examples_with_a_confidence() {
        let m = by_examples(&[]);
        let found = m.classify("where's my package?");
        assert_eq!(found[0].intent, "track");
        assert!(found[0].confidence > 0.5 && found[0].confidence < 1.0, "{found:?}");
        assert!(m.classify("the weather in paris").iter().all(|f| f.confidence < 1.0));
    }

    fn with_out_of_scope_examples() -> IntentMatcher {
        let out_of_scope: &[&str] = &[
            "what's the weather like today",
            "tell me a joke",
            "who won the football game",
            "what is the capital of france",
        ];
        by_examples(&[(OUT_OF_SCOPE, out_of_scope)])
    }

    #[test]
    fn out_of_scope_examples_teach_what_the_bot_does_not_handle() {
        let m = with_out_of_scope_examples();
        assert_eq!(m.classify("where's my package?")[0].intent, "track");
        assert_eq!(m.classify("can i have a refund")[0].intent, "refund");
        // Near the out-of-scope examples: nothing, where the two intents alone guess (0.67-0.76).
        for text in ["tell me a funny joke", "what is the capital of spain", "is it sunny in paris"] {
            assert!(m.classify(text).is_empty(), "{text}: {:?}", m.classify(text));
        }
        assert!(m.classify("Tell me a joke!").is_empty());
        // `none` is never an answer.
        for text in ["hello", "the capital of spain", "weather", ""] {
            assert!(m.classify(text).iter().all(|f| f.intent != OUT_OF_SCOPE), "{text}");
        }
    }

    #[test]
    fn out_of_scope_takes_no_patterns_or_keywords() {
        let def =
            IntentDefinition { name: OUT_OF_SCOPE.into(), keywords: vec!["weather".into()], ..Default::default() };
        assert!(matches!(IntentMatcher::new(&[def]), Err(IntentError::OutOfScopeRules)));
    }

    #[test]
    fn any_unicode_is_fine() {
        assert!(names("🤬🤬 İstanbul ß ǅ \u{0}").is_empty());
    }
}
