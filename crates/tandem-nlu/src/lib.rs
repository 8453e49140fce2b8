//! Understanding a customer's message: intents from regex patterns, keywords, exact examples
//! and a linear classifier trained on the examples, on n-grams and static word vectors
//! ([`IntentMatcher`], [`word_vectors`]), and how to measure
//! it on public data ([`eval`]); and the sentiment of a message ([`sentiment`]).

pub mod classifier;
mod cues;
pub mod eval;
pub mod features;
mod intents;
mod linear_svm;
pub mod sentiment;
pub mod vader;
mod vader_corrections;
mod vader_words;
pub mod word_vectors;

pub use intents::{
    DEFAULT_THRESHOLD, IntentDefinition, IntentError, IntentMatcher, IntentScore, OUT_OF_SCOPE, confidence,
};
