//! No customer text makes the engine panic: random unicode, button presses and timers over
//! the example bot, through the pure step function.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use tandem_core::{Conversation, ConversationId, UserProfile};
use tandem_engine::Input;

use crate::acme;

#[derive(Debug, Clone)]
enum Move {
    Say(String),
    Press(usize),
    Wait(i64),
}

fn moves() -> impl Strategy<Value = Move> {
    prop_oneof![
        4 => any::<String>().prop_map(Move::Say),
        2 => "(AC-1000[0-4]|yes|no|[1-5]|a@b\\.co|menu|talk to a human|track my order|return)".prop_map(Move::Say),
        3 => (0usize..6).prop_map(Move::Press),
        1 => (1i64..5000).prop_map(Move::Wait),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_text_gets_an_answer_without_panicking(name in any::<String>(), script in prop::collection::vec(moves(), 1..40)) {
        let engine = acme();
        let mut now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-03-29T00:30:00Z").unwrap().with_timezone(&Utc);
        let mut conversation = Conversation::new(ConversationId::new("prop", "1"), UserProfile { id: "1".into(), name }, now);
        let mut timers = Vec::new();
        let mut offered: Vec<String> = Vec::new();
        for m in script {
            let inputs = match m {
                Move::Say(text) => vec![Input::Message { text, button: None, sentiment: None }],
                Move::Press(i) => match offered.get(i) {
                    Some(label) => vec![Input::Message { text: label.clone(), button: Some(label.clone()), sentiment: None }],
                    None => continue,
                },
                Move::Wait(minutes) => {
                    now += Duration::minutes(minutes);
                    let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut timers).into_iter().partition(|t: &tandem_core::Timer| t.due <= now);
                    timers = later;
                    due.into_iter().map(Input::Timer).collect()
                }
            };
            for input in inputs {
                let is_message = matches!(input, Input::Message { .. });
                let t = engine.step(conversation, &input, now);
                conversation = t.conversation;
                timers.retain(|timer| !t.effects.cancel_timers.contains(&timer.id));
                timers.extend(t.effects.set_timers);
                if let Some(last) = t.effects.outbound.iter().rev().find(|o| !o.buttons.is_empty()) {
                    offered = last.buttons.clone();
                }
                // The bot never leaves a customer's message unanswered.
                prop_assert!(!is_message || !t.effects.outbound.is_empty(), "no reply in {:?}", conversation.owner);
            }
        }
    }
}
