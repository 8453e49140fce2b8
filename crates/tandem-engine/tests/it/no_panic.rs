//! No customer text makes the engine panic: random unicode, button presses and timers over
//! the example bot, through the pure step function.

use chrono::{DateTime, Duration, Utc};
use proptest::prelude::*;
use tandem_core::Wants;
use tandem_core::{Conversation, ConversationId, UserProfile};
use tandem_engine::{AgentAction, Input};
use tandem_handoff::Decision;

use crate::acme;

#[derive(Debug, Clone)]
enum Move {
    Say(String, Option<f64>),
    Press(usize),
    Wait(i64),
    Desk(u8),
    Agent(u8, String),
}

fn moves() -> impl Strategy<Value = Move> {
    prop_oneof![
        4 => (any::<String>(), proptest::option::of(-1.5f64..1.5)).prop_map(|(t, s)| Move::Say(t, s)),
        2 => "(AC-1000[0-4]|yes|no|[1-5]|a@b\\.co|menu|talk to a human|track my order|return|lawyer)".prop_map(|t| Move::Say(t, None)),
        3 => (0usize..6).prop_map(Move::Press),
        1 => (1i64..5000).prop_map(Move::Wait),
        1 => (0u8..4).prop_map(Move::Desk),
        2 => (0u8..8, "(sarah|tom|priya|nobody)").prop_map(|(a, who)| Move::Agent(a, who)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn any_text_gets_an_answer_without_panicking(name in any::<String>(), script in prop::collection::vec(moves(), 1..40)) {
        let engine = acme();
        let mut now: DateTime<Utc> = DateTime::parse_from_rfc3339("2026-03-29T00:30:00Z").unwrap().with_timezone(&Utc);
        let mut conversation = Conversation::new(ConversationId::new("prop", "1"), UserProfile { id: "1".into(), name: name.into() }, now);
        let mut timers = Vec::new();
        let mut offered: Vec<String> = Vec::new();
        for m in script {
            let inputs = match m {
                Move::Say(text, sentiment) => vec![Input::Message { text, button: None, sentiment }],
                Move::Desk(n) => vec![match n {
                    0 => Input::Routed(Decision::Assign { agent: "sarah".into() }),
                    1 => Input::Routed(Decision::Queue { position: 2, eta: Duration::minutes(16) }),
                    2 => Input::Routed(Decision::Park { until: Some(now + Duration::hours(10)) }),
                    _ => Input::QueueMoved { position: 1, eta: Duration::minutes(8) },
                }],
                Move::Agent(n, agent) => {
                    let action = match n {
                        0 => AgentAction::Take,
                        1 => AgentAction::Reply("Hi, how can I help?".into()),
                        2 => AgentAction::Note("note".into()),
                        3 => AgentAction::Transfer(Wants { team: Some("care".into()), ..Wants::default() }),
                        4 => AgentAction::HandBack(None),
                        5 => AgentAction::HandBack(Some("no.such_step".into())),
                        6 => AgentAction::Resolve { csat: true },
                        _ => AgentAction::Requeue,
                    };
                    vec![Input::Agent { agent, action }]
                }
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
                let is_timer = matches!(input, Input::Timer(_));
                let was_human = conversation.human_side();
                let t = engine.step(conversation, input, now);
                let human_before = was_human;
                conversation = t.conversation;
                timers.retain(|timer| !t.effects.cancel_timers.contains(&timer.id));
                timers.extend(t.effects.set_timers);
                if let Some(last) = t.effects.outbound.iter().rev().find(|o| !o.buttons.is_empty()) {
                    offered = last.buttons.clone();
                }
                // The bot never leaves a customer's message unanswered, unless a person has
                // (or is being found for) the chat; and it never speaks for itself then.
                let human = conversation.human_side() || human_before;
                prop_assert!(!is_message || human || !t.effects.outbound.is_empty(), "no reply in {:?}", conversation.owner);
                if human_before && is_timer {
                    prop_assert!(t.effects.outbound.is_empty(), "a timer spoke while a person had the chat");
                }
            }
        }
    }
}
