//! Time per store operation on SQLite (a temporary file, WAL, as `tandem` runs it): one
//! turn's commit (state, journal, outbox in one transaction), loading a conversation (live in
//! memory, and from the file), and marking a message delivered. `cargo bench -p tandem-store`.

use std::hint::black_box;

use chrono::Utc;
use criterion::{Criterion, criterion_group, criterion_main};
use tandem_core::{
    Commit, CommitOutcome, Conversation, ConversationId, Event, JournalEntry, Outbound, Owner, Store, UserProfile,
};
use tandem_store::SqliteStore;

/// A typical turn: the customer's message, the bot's reply and step, one message out.
fn turn(chat: u64) -> Commit {
    let id = ConversationId::new("bench", chat.to_string());
    let mut conversation =
        Conversation::new(id.clone(), UserProfile { id: chat.to_string().into(), name: "Kim".into() }, Utc::now());
    conversation.owner = Owner::Bot { flow: "support".into(), step: "describe".into(), waiting: true };
    conversation.vars.insert("order".into(), "ORD-00042".into());
    let reply = "Thanks, order ORD-00042. Please describe the issue.";
    let events = [
        Event::CustomerSaid { text: "my order is ORD-00042".into(), button: None },
        Event::StepEntered { flow: "support".into(), step: "describe".into() },
        Event::BotSaid { text: reply.into(), buttons: vec![] },
    ];
    Commit {
        conversation,
        inbound_id: Some(format!("{chat}-3").into()),
        fired_timer: None,
        events: events
            .into_iter()
            .enumerate()
            .map(|(i, event)| JournalEntry { seq: i as u64 + 1, at: Utc::now(), event })
            .collect(),
        outbox: vec![Outbound { from: None, text: reply.into(), buttons: vec![] }],
        set_timers: vec![],
        cancel_timers: vec![],
    }
}

fn store(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("a runtime");
    let dir = tempfile::tempdir().expect("a temporary folder");
    let store = rt.block_on(SqliteStore::open(&dir.path().join("bench.sqlite"))).expect("the store opens");
    let mut chat = 0u64;
    let mut sent = Vec::new();
    c.bench_function("store: commit one turn (sqlite)", |b| {
        b.iter(|| {
            chat += 1;
            let outcome = rt.block_on(store.commit(turn(chat))).expect("committed");
            if let CommitOutcome::Committed(out) = &outcome {
                sent.extend(out.iter().map(|m| m.id));
            }
            black_box(outcome)
        })
    });
    let id = ConversationId::new("bench", "1");
    c.bench_function("store: load a live conversation (sqlite, in memory)", |b| {
        b.iter(|| black_box(rt.block_on(store.load(&id)).expect("loaded")))
    });
    let from_file = rt
        .block_on(SqliteStore::open_with_live_states(&dir.path().join("from-file.sqlite"), 0))
        .expect("the store opens");
    rt.block_on(from_file.commit(turn(1))).expect("committed");
    c.bench_function("store: load a conversation from the file (sqlite)", |b| {
        b.iter(|| black_box(rt.block_on(from_file.load(&id)).expect("loaded")))
    });
    let mut ids = sent.into_iter().cycle();
    c.bench_function("store: mark a message delivered (sqlite)", |b| {
        b.iter(|| rt.block_on(store.mark_delivered(&[ids.next().unwrap_or(1)])).expect("marked"))
    });
}

criterion_group!(benches, store);
criterion_main!(benches);
