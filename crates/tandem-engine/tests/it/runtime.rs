//! The runtime's guarantees on the in-memory store: a redelivered message is a no-op, a timer
//! fires once, a customer's answer cancels the timeout, conversations run in parallel with
//! each one's inputs in order, and every event is journaled.

use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use tandem_core::{Channel, ChannelError, ConversationId, Event, Inbound, ManualClock, Outbound, Store, UserProfile};
use tandem_engine::{AgentAction, Engine, Handled, MESSAGES_IN_FLIGHT, MemoryStore, Runtime};

use crate::acme;

#[derive(Default)]
struct Recorder(Mutex<Vec<(ConversationId, String)>>);

#[async_trait]
impl Channel for Recorder {
    fn name(&self) -> &str {
        "rec"
    }
    async fn send(&self, id: &ConversationId, message: &Outbound) -> Result<(), ChannelError> {
        self.0.lock().unwrap().push((id.clone(), message.text.clone()));
        Ok(())
    }
}

impl Recorder {
    fn texts(&self, chat: &str) -> Vec<String> {
        self.0.lock().unwrap().iter().filter(|(id, _)| id.chat() == chat).map(|(_, t)| t.clone()).collect()
    }
}

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z").unwrap().with_timezone(&Utc)
}

fn setup() -> (Arc<Runtime>, Arc<Recorder>, Arc<ManualClock>, Arc<MemoryStore>) {
    setup_with(acme())
}

fn setup_with(engine: Arc<Engine>) -> (Arc<Runtime>, Arc<Recorder>, Arc<ManualClock>, Arc<MemoryStore>) {
    let recorder = Arc::new(Recorder::default());
    let clock = Arc::new(ManualClock::new(start()));
    let store = Arc::new(MemoryStore::new());
    let runtime = Runtime::new(engine, store.clone(), clock.clone()).with_channel(recorder.clone());
    (Arc::new(runtime), recorder, clock, store)
}

fn message(chat: &str, text: &str, id: &str) -> Inbound {
    Inbound {
        conversation: ConversationId::new("rec", chat),
        user: UserProfile { id: chat.into(), name: "Sam Lee".into() },
        text: text.into(),
        button: None,
        platform_id: Some(id.into()),
        sentiment: None,
    }
}

#[tokio::test]
async fn a_redelivered_message_is_a_no_op() {
    let (runtime, recorder, _, _) = setup();
    assert_eq!(runtime.handle(message("a", "hi", "m1")).await.unwrap(), Handled::Done { delivered: 2 });
    assert_eq!(runtime.handle(message("a", "hi", "m1")).await.unwrap(), Handled::Duplicate);
    assert_eq!(recorder.texts("a").len(), 2);
}

#[tokio::test]
async fn a_timeout_fires_once_and_an_answer_cancels_it() {
    let (runtime, recorder, clock, store) = setup();
    runtime.handle(message("a", "track my order", "1")).await.unwrap();
    runtime.handle(message("b", "track my order", "1")).await.unwrap();
    clock.advance(Duration::minutes(10));
    runtime.handle(message("b", "AC-10001", "2")).await.unwrap();
    clock.advance(Duration::minutes(5));
    assert_eq!(runtime.fire_due_timers().await.unwrap(), 1, "only a's order-number timeout is due");
    assert_eq!(runtime.fire_due_timers().await.unwrap(), 0, "a timer fires once");
    assert!(recorder.texts("a").last().unwrap().contains("close this chat"));
    assert!(!recorder.texts("b").iter().any(|t| t.contains("close this chat")));
    let a = store.load(&ConversationId::new("rec", "a")).await.unwrap().unwrap();
    assert!(a.is_closed());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_conversations_run_in_parallel_each_in_order() {
    let (runtime, recorder, _, store) = setup();
    // More than are stepped at once: the rest wait their turn, none is lost or reordered.
    let conversations = MESSAGES_IN_FLIGHT + 50;
    let mut tasks = Vec::new();
    for c in 0..conversations {
        let runtime = runtime.clone();
        tasks.push(tokio::spawn(async move {
            let chat = format!("c{c}");
            for (i, text) in ["track my order", "AC-10002", "no thanks"].iter().enumerate() {
                runtime.handle(message(&chat, text, &i.to_string())).await.unwrap();
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    for c in 0..conversations {
        let texts = recorder.texts(&format!("c{c}"));
        assert_eq!(texts.len(), 5, "{texts:?}");
        assert!(texts[2].contains("espresso machine") && texts[4].contains("lovely day"), "{texts:?}");
        let journal = store.journal(&ConversationId::new("rec", format!("c{c}"))).await.unwrap();
        let seqs: Vec<u64> = journal.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, (1..=journal.len() as u64).collect::<Vec<_>>());
        assert!(matches!(journal.last().unwrap().event, Event::Ended));
    }
}

#[tokio::test]
async fn the_journal_keeps_the_whole_transcript() {
    let (runtime, _, _, store) = setup();
    runtime.handle(message("a", "track my order", "1")).await.unwrap();
    runtime.handle(message("a", "AC-10001", "2")).await.unwrap();
    let journal = store.journal(&ConversationId::new("rec", "a")).await.unwrap();
    let said: Vec<&Event> = journal.iter().map(|e| &e.event).collect();
    assert!(matches!(said[0], Event::CustomerSaid { text, .. } if text == "track my order"));
    assert!(said.iter().any(|e| matches!(e, Event::IntentDetected { intent, .. } if intent == "track_order")));
    assert!(
        said.iter().any(|e| matches!(e, Event::StepEntered { flow, step } if flow == "orders" && step == "lookup"))
    );
    assert!(said.iter().any(|e| matches!(e, Event::VariableSet { name, .. } if name == "order_id")));
    assert!(said.iter().any(|e| matches!(e, Event::BotSaid { text, .. } if text.contains("DHL"))));
}

#[tokio::test]
async fn an_escalation_journals_the_rule_the_values_and_every_change_of_owner() {
    let (runtime, recorder, _, store) = setup();
    runtime.handle(message("a", "hi", "1")).await.unwrap();
    let mut upset = message("a", "nobody answers, third time now", "2");
    upset.sentiment = Some(-0.75);
    runtime.handle(upset).await.unwrap();
    assert_eq!(
        recorder.texts("a").last().unwrap(),
        "I'm bringing in Tom from our customer care team. They'll be with you in a moment."
    );
    let journal = store.journal(&ConversationId::new("rec", "a")).await.unwrap();
    let fired = journal.iter().find_map(|e| match &e.event {
        Event::EscalationTriggered(fired) => Some((fired.rule.clone(), fired.reason.clone(), fired.values.clone())),
        _ => None,
    });
    let (rule, reason, values) = fired.expect("the escalation is journaled");
    assert_eq!(rule, "rule 1 (sentiment.score <= -0.6)");
    assert_eq!(reason, "upset customer");
    assert_eq!(values, serde_json::json!({ "sentiment.score": -0.75 }));
    let changes: Vec<(String, String, String)> = journal
        .iter()
        .filter_map(|e| match &e.event {
            Event::OwnerChanged(change) => Some((change.from.clone(), change.to.clone(), change.actor.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        changes,
        [("bot".into(), "queued".into(), "bot".into()), ("queued".into(), "agent tom".into(), "routing".into())]
    );
}

/// Store `conversation` as it is, as an earlier version of Tandem would have left it.
async fn store_as_written_before(store: &MemoryStore, conversation: tandem_core::Conversation) {
    let commit = tandem_core::Commit {
        conversation,
        inbound_id: None,
        fired_timer: None,
        events: vec![],
        outbox: vec![],
        set_timers: vec![],
        cancel_timers: vec![],
    };
    store.commit(commit).await.unwrap();
}

#[tokio::test]
async fn a_state_stored_with_its_agent_among_the_variables_carries_on_from_it() {
    // The benchmark's bot: it hands an angry customer to Alice and says so while she has not
    // answered ("Agent {{agent.name}} has been notified ...").
    let loaded = tandem_flow::load_bot(&crate::repo().join("crates/tandem-cli/bench/support-dialogue"));
    let engine = Arc::new(Engine::new(loaded.bot.expect("the benchmark's bot loads")).expect("it compiles"));
    let (runtime, recorder, clock, store) = setup_with(engine);
    for (i, text) in ["hi", "my order is ORD-00001", "This is the worst service ever, I am furious!"].iter().enumerate()
    {
        runtime.handle(message("b", text, &i.to_string())).await.unwrap();
    }
    let id = ConversationId::new("rec", "b");
    let mut old = store.load(&id).await.unwrap().unwrap();
    assert!(matches!(old.owner, tandem_core::Owner::Agent { .. }), "{:?}", old.owner);
    let assigned = old.agent.take().expect("the agent, in its field");
    assert!(!old.vars.contains_key("agent"), "not among the variables");
    // As a state stored before the agent had a field of its own.
    let about = serde_json::json!({ "id": assigned.id, "name": assigned.name, "team": assigned.team });
    old.vars.insert("agent".into(), about);
    store_as_written_before(&store, old).await;
    clock.advance(Duration::minutes(1));
    runtime.handle(message("b", "hello?", "4")).await.unwrap();
    assert_eq!(recorder.texts("b").last().unwrap(), "Agent Alice has been notified and will join shortly.");
    runtime.agent_action(&id, &assigned.id, AgentAction::Reply("Hi, I'm here".into())).await.unwrap();
    let replied = store.load(&id).await.unwrap().unwrap();
    assert_eq!(replied.variable("agent").unwrap()["replied"], true, "noted in the variable it had");
    let said = recorder.texts("b").len();
    runtime.handle(message("b", "great", "5")).await.unwrap();
    assert_eq!(recorder.texts("b").len(), said, "no waiting message once the agent has answered");
}

#[tokio::test]
async fn a_state_stored_with_its_sentiment_among_the_variables_carries_on_from_it() {
    let (runtime, recorder, clock, store) = setup();
    runtime.handle(message("a", "hi", "1")).await.unwrap();
    let id = ConversationId::new("rec", "a");
    // As a state stored before the sentiment had a field of its own: cheerful so far.
    let mut old = store.load(&id).await.unwrap().unwrap();
    old.sentiment = Default::default();
    old.vars.insert(
        "sentiment".into(),
        serde_json::json!({ "score": 0.5, "trend": 0.0, "min": 0.4, "history": [0.4, 0.6] }),
    );
    store_as_written_before(&store, old).await;
    clock.advance(Duration::minutes(1));
    let mut sour = message("a", "hmm, that is not what I asked", "2");
    sour.sentiment = Some(-0.5);
    runtime.handle(sour).await.unwrap();
    // Not upset enough for rule 1 (score <= -0.6), but 1.0 below the earlier mean: rule 2.
    assert!(recorder.texts("a").last().unwrap().contains("customer care team"), "{:?}", recorder.texts("a"));
    let now = store.load(&id).await.unwrap().unwrap();
    assert_eq!(
        now.sentiment,
        tandem_core::Sentiment { score: -0.5, trend: -1.0, min: -0.5, history: [0.4, 0.6, -0.5].as_slice().into() }
    );
    assert!(!now.vars.contains_key("sentiment"), "moved out of the variables");
}

#[tokio::test]
async fn the_sentiment_trend_is_measured_against_the_last_five_messages() {
    let (runtime, _recorder, clock, store) = setup();
    for (i, score) in [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7].into_iter().enumerate() {
        let mut said = message("w", "hi", &i.to_string());
        said.sentiment = Some(score);
        runtime.handle(said).await.unwrap();
        clock.advance(Duration::seconds(10));
    }
    let now = store.load(&ConversationId::new("rec", "w")).await.unwrap().unwrap();
    let sentiment = now.sentiment;
    assert_eq!(sentiment.history.as_slice(), [0.3, 0.4, 0.5, 0.6, 0.7], "the oldest went first");
    assert!(!sentiment.history.spilled(), "kept inline");
    // 0.7 less the mean of the five before it (0.2 to 0.6).
    assert_eq!((sentiment.score, sentiment.trend, sentiment.min), (0.7, 0.3, 0.1));
}

#[tokio::test]
async fn a_message_without_the_customers_name_keeps_the_name_known() {
    let (runtime, _, _, store) = setup();
    runtime.handle(message("c1", "hi", "m1")).await.unwrap();
    let nameless = Inbound { user: UserProfile { id: "c1".into(), name: "".into() }, ..message("c1", "thanks", "m2") };
    runtime.handle(nameless).await.unwrap();
    let id = ConversationId::new("rec", "c1");
    assert_eq!(store.load(&id).await.unwrap().unwrap().user.name, "Sam Lee");
    let renamed = Inbound { user: UserProfile { id: "c1".into(), name: "Sam Li".into() }, ..message("c1", "ok", "m3") };
    runtime.handle(renamed).await.unwrap();
    assert_eq!(store.load(&id).await.unwrap().unwrap().user.name, "Sam Li");
}
