//! Time per message: intent classification (patterns, keywords and a classifier trained on
//! the example bot's intents) and sentiment. `cargo bench -p tandem-nlu`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use tandem_nlu::sentiment::SentimentAnalyzer;
use tandem_nlu::{IntentDefinition, IntentMatcher};

const MESSAGES: [&str; 4] = [
    "hi, where is my order? it's AC-10001",
    "This is the third time I write and nobody answers 😡",
    "I'd like to send the scarf back, it doesn't fit",
    "can I talk to a real person please",
];

/// The customer's lines of `tandem bench`'s dialogue: plain chat, most of it with no cue.
const DIALOGUE: [&str; 6] = [
    "hi",
    "it's 12345",
    "my order is ORD-00042",
    "This is the worst service ever, I am furious!",
    "The package arrived damaged, can you help?",
    "thanks",
];

fn matcher() -> IntentMatcher {
    let intent = |name: &str, patterns: &[&str], examples: &[&str]| IntentDefinition {
        name: name.into(),
        patterns: patterns.iter().map(|p| p.to_string()).collect(),
        keywords: vec![],
        examples: examples.iter().map(|e| e.to_string()).collect(),
    };
    IntentMatcher::new(&[
        intent(
            "track_order",
            &[r"\btrack(ing)?\b"],
            &["where is my order", "track my parcel", "has my package shipped yet"],
        ),
        intent("start_return", &[r"\b(return|refund)\b"], &["I want to return something", "I'd like a refund"]),
        intent("human", &[r"\breal (person|human)\b"], &["I want to talk to a person", "get me an agent"]),
        intent("goodbye", &[], &["bye", "that's all, thanks"]),
    ])
    .expect("valid intents")
}

fn understanding(c: &mut Criterion) {
    let intents = matcher();
    c.bench_function("intents per message", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % MESSAGES.len();
            black_box(intents.classify(black_box(MESSAGES[i])))
        })
    });
    let sentiment = SentimentAnalyzer::default();
    c.bench_function("sentiment per message", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % MESSAGES.len();
            black_box(sentiment.score(black_box(MESSAGES[i])))
        })
    });
    c.bench_function("sentiment per message, the benchmark's dialogue", |b| {
        let mut i = 0;
        b.iter(|| {
            i = (i + 1) % DIALOGUE.len();
            black_box(sentiment.score(black_box(DIALOGUE[i])))
        })
    });
}

criterion_group!(benches, understanding);
criterion_main!(benches);
