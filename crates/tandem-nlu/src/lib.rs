//! Understanding a customer's message. For now: intents recognised by regex patterns,
//! whole-word keywords and exact examples, each with confidence 1.0. A trained classifier
//! and sentiment come with the understanding issue, behind the same [`IntentMatcher`].

mod intents;

pub use intents::{IntentDefinition, IntentError, IntentMatcher, IntentScore};
