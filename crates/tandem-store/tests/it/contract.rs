//! The contract every Store keeps, written once against `&dyn Store` (the PostgreSQL store
//! will run the same checks).

use chrono::{DateTime, Duration, Utc};
use tandem_core::{
    Commit, CommitOutcome, Conversation, ConversationId, Event, JournalEntry, Outbound, Owner, Store, Timer, TimerKind,
    UserProfile,
};

pub fn at(minutes: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-01-05T09:00:00Z").unwrap().with_timezone(&Utc) + Duration::minutes(minutes)
}

pub fn conversation(chat: &str) -> Conversation {
    let mut c = Conversation::new(
        ConversationId::new("web", chat),
        UserProfile { id: chat.into(), name: "Kim Park".into() },
        at(0),
    );
    c.owner = Owner::Bot { flow: "orders".into(), step: "ask_order".into(), waiting: true };
    c.vars.insert("order_id".into(), "AC-10001".into());
    c
}

pub fn timer(c: &Conversation, n: u32, due: DateTime<Utc>) -> Timer {
    Timer {
        id: format!("{}#{n}", c.id.key()),
        conversation: c.id.clone(),
        due,
        kind: TimerKind::Timeout { flow: "orders".into(), step: "ask_order".into(), goto: "main.goodbye".into() },
    }
}

pub fn commit(c: &Conversation, inbound: Option<&str>, first_seq: u64) -> Commit {
    Commit {
        conversation: c.clone(),
        inbound_id: inbound.map(Into::into),
        fired_timer: None,
        events: vec![
            JournalEntry { seq: first_seq, at: at(0), event: Event::CustomerSaid { text: "hi".into(), button: None } },
            JournalEntry {
                seq: first_seq + 1,
                at: at(0),
                event: Event::BotSaid { text: "Hello".into(), buttons: vec![] },
            },
        ],
        outbox: vec![Outbound { from: None, text: "Hello".into(), buttons: vec!["Yes".into()] }],
        set_timers: vec![],
        cancel_timers: vec![],
    }
}

/// Every rule below, in turn, on one durable store (the memory store does not check the
/// journal's sequence numbers, so a failed commit cannot be provoked there).
pub async fn every_rule(store: &dyn Store) {
    state_journal_and_outbox_round_trip(store).await;
    a_redelivered_inbound_message_writes_nothing(store).await;
    a_timer_fires_once_and_cancelled_timers_never(store).await;
    a_failed_commit_writes_nothing(store).await;
    a_failed_step_leaves_the_last_committed_state(store).await;
    answers_at_once_are_the_answers_awaited(store).await;
}

/// `try_load`, `try_commit` and `try_mark_delivered` answer as `load`, `commit` and
/// `mark_delivered` do, when a store answers them at all.
pub async fn answers_at_once_are_the_answers_awaited(store: &dyn Store) {
    let c = conversation("at-once");
    assert!(matches!(store.try_load(&c.id), None | Some(Ok(None))), "a new conversation");
    let committed = match store.try_commit(commit(&c, Some("m1"), 1)) {
        Ok(done) => done.unwrap(),
        Err(commit) => store.commit(commit).await.unwrap(),
    };
    let CommitOutcome::Committed(outbox) = committed else { panic!("not committed") };
    if let Some(loaded) = store.try_load(&c.id) {
        assert_eq!(loaded.unwrap(), Some(c.clone()));
    }
    assert_eq!(store.load(&c.id).await.unwrap(), Some(c.clone()));
    if let Ok(again) = store.try_commit(commit(&c, Some("m1"), 3)) {
        assert_eq!(again.unwrap(), CommitOutcome::Duplicate);
    }
    let ids: Vec<i64> = outbox.iter().map(|m| m.id).collect();
    match store.try_mark_delivered(&ids) {
        Some(marked) => marked.unwrap(),
        None => store.mark_delivered(&ids).await.unwrap(),
    }
    store.flush().await.unwrap();
    assert!(!store.undelivered(100).await.unwrap().iter().any(|m| ids.contains(&m.id)));
}

pub async fn state_journal_and_outbox_round_trip(store: &dyn Store) {
    let c = conversation("round-trip");
    let CommitOutcome::Committed(outbox) = store.commit(commit(&c, Some("m1"), 1)).await.unwrap() else {
        panic!("not committed")
    };
    assert_eq!(outbox.len(), 1);
    assert_eq!(store.load(&c.id).await.unwrap(), Some(c.clone()));
    let journal = store.journal(&c.id).await.unwrap();
    assert_eq!(journal.iter().map(|e| e.seq).collect::<Vec<_>>(), [1, 2]);
    assert_eq!(journal[1].event, Event::BotSaid { text: "Hello".into(), buttons: vec![] });
    let pending = store.undelivered(10).await.unwrap();
    assert!(pending.iter().any(|m| m.id == outbox[0].id && m.message.buttons == ["Yes"]));
    let never = outbox[0].id + 1_000_000;
    assert_eq!(store.still_undelivered(&[outbox[0].id, never]).await.unwrap(), [outbox[0].id]);
    store.mark_delivered(&[outbox[0].id]).await.unwrap();
    assert!(!store.undelivered(10).await.unwrap().iter().any(|m| m.id == outbox[0].id));
    assert!(store.still_undelivered(&[outbox[0].id]).await.unwrap().is_empty(), "marked, mark maybe in flight");
    store.flush().await.unwrap();
    assert!(store.still_undelivered(&[outbox[0].id]).await.unwrap().is_empty(), "mark written");
}

pub async fn a_redelivered_inbound_message_writes_nothing(store: &dyn Store) {
    let mut c = conversation("dedupe");
    store.commit(commit(&c, Some("m1"), 1)).await.unwrap();
    assert!(store.seen_inbound(&c.id, "m1").await.unwrap());
    c.vars.insert("order_id".into(), "changed".into());
    assert_eq!(store.commit(commit(&c, Some("m1"), 3)).await.unwrap(), CommitOutcome::Duplicate);
    assert_eq!(store.load(&c.id).await.unwrap().unwrap().vars["order_id"], "AC-10001");
    assert_eq!(store.journal(&c.id).await.unwrap().len(), 2);
}

pub async fn a_timer_fires_once_and_cancelled_timers_never(store: &dyn Store) {
    let c = conversation("timers");
    let mut first = commit(&c, None, 1);
    first.set_timers = vec![timer(&c, 1, at(15)), timer(&c, 2, at(5)), timer(&c, 3, at(60))];
    store.commit(first).await.unwrap();
    assert_eq!(store.next_timer_due().await.unwrap(), Some(at(5)));
    let due: Vec<String> = store.due_timers(at(20), 10).await.unwrap().into_iter().map(|t| t.id).collect();
    assert_eq!(due, [timer(&c, 2, at(0)).id, timer(&c, 1, at(0)).id], "earliest first");

    let mut fire = commit(&c, None, 3);
    fire.fired_timer = Some(timer(&c, 2, at(0)).id);
    fire.cancel_timers = vec![timer(&c, 1, at(0)).id];
    assert!(matches!(store.commit(fire.clone()).await.unwrap(), CommitOutcome::Committed(_)));
    fire.events.iter_mut().for_each(|e| e.seq += 2);
    assert_eq!(store.commit(fire).await.unwrap(), CommitOutcome::Duplicate, "the same timer fires once");
    assert!(store.due_timers(at(20), 10).await.unwrap().is_empty(), "the cancelled timer is gone");
    assert_eq!(store.due_timers(at(60), 10).await.unwrap().len(), 1);
}

pub async fn a_failed_commit_writes_nothing(store: &dyn Store) {
    let c = conversation("atomic");
    let mut bad = commit(&c, Some("m1"), 1);
    bad.set_timers = vec![timer(&c, 1, at(5))];
    bad.events[1].seq = 1; // two events with one sequence number: the journal refuses it
    assert!(store.commit(bad).await.is_err());
    assert_eq!(store.load(&c.id).await.unwrap(), None);
    assert!(!store.seen_inbound(&c.id, "m1").await.unwrap());
    assert!(store.journal(&c.id).await.unwrap().is_empty());
    assert!(store.due_timers(at(60), 10).await.unwrap().iter().all(|t| t.conversation != c.id));
    assert!(store.undelivered(100).await.unwrap().iter().all(|m| m.conversation != c.id));
}

pub async fn a_failed_step_leaves_the_last_committed_state(store: &dyn Store) {
    let mut c = conversation("kept-state");
    store.commit(commit(&c, Some("m1"), 1)).await.unwrap();
    c.vars.insert("order_id".into(), "changed".into());
    let mut bad = commit(&c, Some("m2"), 3);
    bad.events[1].seq = 3;
    assert!(store.commit(bad).await.is_err());
    assert_eq!(store.load(&c.id).await.unwrap().unwrap().vars["order_id"], "AC-10001");
    store.commit(commit(&c, Some("m2"), 3)).await.unwrap();
    assert_eq!(store.load(&c.id).await.unwrap().unwrap().vars["order_id"], "changed");
}
