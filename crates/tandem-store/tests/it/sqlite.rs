//! The contract on SQLite, and what only a file can show: created on first run in WAL mode,
//! kept across reopening, owned by one store at a time, live conversations in memory that
//! answer as the file would, and the runtime resuming a conversation from it.

use std::sync::Arc;

use chrono::Duration;
use sqlx::Connection;
use tandem_core::{ConversationId, Inbound, ManualClock, Store, UserProfile};
use tandem_engine::{Engine, Runtime};
use tandem_store::SqliteStore;

use crate::contract::{self, at};

async fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("tandem.sqlite")).await.unwrap();
    (dir, store)
}

#[tokio::test]
async fn keeps_the_store_contract() {
    let (_dir, store) = fresh().await;
    contract::every_rule(&store).await;
    assert!(store.live_state_bytes() > 0, "the steps' states are kept in memory");
}

#[tokio::test]
async fn keeps_the_store_contract_with_no_conversations_in_memory() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with_live_states(&dir.path().join("tandem.sqlite"), 0).await.unwrap();
    contract::every_rule(&store).await;
    assert_eq!(store.live_state_bytes(), 0);
}

#[tokio::test]
async fn with_more_conversations_than_memory_for_them_every_load_is_the_last_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open_with_live_states(&dir.path().join("tandem.sqlite"), 16 << 10).await.unwrap();
    let conversations: Vec<_> = (0..200).map(|n| contract::conversation(&format!("c{n}"))).collect();
    for (round, seq) in [("first", 1), ("second", 3)] {
        for c in &conversations {
            let mut c = c.clone();
            c.vars.insert("round".into(), round.into());
            store.commit(contract::commit(&c, Some(round), seq)).await.unwrap();
        }
    }
    assert!(store.live_state_bytes() <= 16 << 10, "{} bytes kept", store.live_state_bytes());
    for c in &conversations {
        assert_eq!(store.load(&c.id).await.unwrap().unwrap().vars["round"], "second", "{}", c.id);
    }
}

#[tokio::test]
async fn a_conversation_never_stored_is_known_absent_without_asking_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tandem.sqlite");
    let before = contract::conversation("before");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store.commit(contract::commit(&before, Some("m1"), 1)).await.unwrap();
    }
    // Nothing kept in memory: every load of a stored conversation reads the file.
    let store = SqliteStore::open_with_live_states(&path, 0).await.unwrap();
    assert_eq!(store.load(&before.id).await.unwrap().as_ref(), Some(&before), "found while the file is listed");
    tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while !store.knows_every_stored_conversation() {
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("the stored conversations are listed");
    assert_eq!(store.load(&before.id).await.unwrap().as_ref(), Some(&before), "stored before opening");
    let after = contract::conversation("after");
    assert_eq!(store.load(&after.id).await.unwrap(), None);
    store.commit(contract::commit(&after, Some("m1"), 1)).await.unwrap();
    assert_eq!(store.load(&after.id).await.unwrap().as_ref(), Some(&after), "stored after opening");

    // A row written behind the store's back is not seen: an unknown key is not asked of the file.
    let behind = contract::conversation("behind");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    sqlx::query("INSERT INTO conversations (id, state, owner, updated_at) VALUES (?1, ?2, 'bot', 0)")
        .bind(behind.id.key())
        .bind(serde_json::to_string(&behind).unwrap())
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(store.load(&behind.id).await.unwrap(), None);
}

#[tokio::test]
async fn a_journal_written_before_it_was_a_log_reads_in_order_and_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tandem.sqlite");
    let (c, other) = (contract::conversation("old-and-new"), contract::conversation("other"));
    {
        // A file as migration 0003 left it: a row of one event (as written before a row held
        // a step), a step's row, and another conversation's row in between.
        let url = format!("sqlite://{}?mode=rwc", path.display());
        let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::migrate!("./migrations/sqlite").run_to(3, &mut conn).await.unwrap();
        let said = |text: &str| format!(r#"{{"type":"bot_said","text":"{text}","buttons":[]}}"#);
        for (key, seq, events) in [
            (c.id.key(), 1, r#"{"type":"customer_said","text":"earlier","button":null}"#.to_string()),
            (other.id.key(), 1, format!("[{}]", said("elsewhere"))),
            (c.id.key(), 2, format!("[{},{}]", said("one"), said("two"))),
        ] {
            sqlx::query("INSERT INTO journal (conversation_id, seq, at, events) VALUES (?1, ?2, 0, ?3)")
                .bind(key)
                .bind(seq)
                .bind(events)
                .execute(&mut conn)
                .await
                .unwrap();
        }
        for conversation in [&c, &other] {
            sqlx::query("INSERT INTO conversations (id, state, owner, updated_at) VALUES (?1, ?2, 'bot', 0)")
                .bind(conversation.id.key())
                .bind(serde_json::to_string(conversation).unwrap())
                .execute(&mut conn)
                .await
                .unwrap();
        }
    }
    let store = SqliteStore::open(&path).await.unwrap();
    let seqs = |journal: Vec<tandem_core::JournalEntry>| journal.iter().map(|e| e.seq).collect::<Vec<_>>();
    let journal = store.journal(&c.id).await.unwrap();
    assert_eq!(journal[0].event, tandem_core::Event::CustomerSaid { text: "earlier".into(), button: None });
    assert_eq!(seqs(journal), [1, 2, 3]);
    assert!(store.commit(contract::commit(&c, Some("m2"), 3)).await.is_err(), "event 3 is written already");
    store.commit(contract::commit(&c, Some("m2"), 4)).await.unwrap();
    assert_eq!(seqs(store.journal(&c.id).await.unwrap()), [1, 2, 3, 4, 5]);
    assert_eq!(seqs(store.journal(&other.id).await.unwrap()), [1]);
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM journal").fetch_one(&mut conn).await.unwrap();
    assert_eq!(rows, 4, "the new step's two events are one row");
}

#[tokio::test]
async fn outbox_ids_are_never_given_twice_across_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tandem.sqlite");
    let sent_by = |outcome| match outcome {
        tandem_core::CommitOutcome::Committed(sent) => sent[0].id,
        other => panic!("{other:?}"),
    };
    let first = {
        let store = SqliteStore::open(&path).await.unwrap();
        let id = sent_by(store.commit(contract::commit(&contract::conversation("a"), Some("m1"), 1)).await.unwrap());
        assert_eq!(store.undelivered(10).await.unwrap()[0].id, id, "the id given is the row's");
        id
    };
    // Sent messages cleared away: their ids are still not given again.
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    sqlx::query("DELETE FROM outbox").execute(&mut conn).await.unwrap();
    let store = SqliteStore::open(&path).await.unwrap();
    let second = sent_by(store.commit(contract::commit(&contract::conversation("b"), Some("m1"), 1)).await.unwrap());
    assert!(second > first, "{second} after {first}");
    assert_eq!(store.undelivered(10).await.unwrap()[0].id, second);
}

#[tokio::test]
async fn one_store_owns_a_file_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tandem.sqlite");
    let first = SqliteStore::open(&path).await.unwrap();
    let Err(refused) = SqliteStore::open(&path).await else { panic!("opened twice") };
    assert!(refused.to_string().contains("is in use by another Tandem store"), "{refused}");
    let kept = first.clone();
    drop(first);
    assert!(SqliteStore::open(&path).await.is_err(), "a clone still holds the file");
    drop(kept);
    SqliteStore::open(&path).await.expect("free once every handle is gone");
}

#[tokio::test]
async fn the_memory_store_keeps_the_same_contract() {
    let store = tandem_engine::MemoryStore::new();
    contract::state_journal_and_outbox_round_trip(&store).await;
    contract::a_redelivered_inbound_message_writes_nothing(&store).await;
    contract::a_timer_fires_once_and_cancelled_timers_never(&store).await;
    contract::answers_at_once_are_the_answers_awaited(&store).await;
}

#[tokio::test]
async fn the_file_is_created_in_wal_mode_and_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data").join("tandem.sqlite");
    let c = contract::conversation("kept");
    {
        let store = SqliteStore::open(&path).await.unwrap();
        store.commit(contract::commit(&c, Some("m1"), 1)).await.expect("commit");
    }
    assert!(path.is_file(), "the file and its folder are created on first run");
    assert!(wal_mode(&path).await);
    let reopened = SqliteStore::open(&path).await.unwrap();
    assert_eq!(reopened.load(&c.id).await.unwrap(), Some(c.clone()));
    assert!(reopened.seen_inbound(&c.id, "m1").await.unwrap());
}

async fn wal_mode(path: &std::path::Path) -> bool {
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", path.display())).await.unwrap();
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode").fetch_one(&mut conn).await.unwrap();
    mode == "wal"
}

#[tokio::test]
async fn a_conversation_resumes_after_the_process_reopens_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tandem.sqlite");
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let engine = || Arc::new(Engine::new(tandem_flow::load_bot(&repo.join("bots/acme-support")).bot.unwrap()).unwrap());
    let id = ConversationId::new("terminal", "me");
    let inbound = |text: &str, n: &str| Inbound {
        conversation: id.clone(),
        user: UserProfile { id: "me".into(), name: "Kim Park".into() },
        text: text.into(),
        button: None,
        platform_id: Some(n.into()),
        sentiment: None,
    };
    let clock = Arc::new(ManualClock::new(at(0)));
    {
        let store = Arc::new(SqliteStore::open(&path).await.unwrap());
        let runtime = Runtime::new(engine(), store, clock.clone());
        runtime.handle(inbound("track my order", "1")).await.unwrap();
    }
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    let runtime = Runtime::new(engine(), store.clone(), clock.clone());
    let c = store.load(&id).await.unwrap().unwrap();
    assert_eq!(c.position().as_deref(), Some("orders.ask_order"));
    assert_eq!(
        store.undelivered(10).await.unwrap().len(),
        2,
        "no channel was attached: both messages wait in the outbox"
    );
    clock.advance(Duration::minutes(16));
    assert_eq!(runtime.fire_due_timers().await.unwrap(), 1, "the timeout set before reopening fires after it");
    assert_eq!(runtime.fire_due_timers().await.unwrap(), 0);
    assert!(store.load(&id).await.unwrap().unwrap().is_closed());
}

#[tokio::test]
async fn after_a_restart_the_desk_knows_who_has_which_chat() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tandem.sqlite");
    let repo = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let engine = || Arc::new(Engine::new(tandem_flow::load_bot(&repo.join("bots/acme-support")).bot.unwrap()).unwrap());
    let inbound = |chat: &str, text: &str| Inbound {
        conversation: ConversationId::new("web", chat),
        user: UserProfile { id: chat.into(), name: "Kim Park".into() },
        text: text.into(),
        button: None,
        platform_id: Some(format!("{chat}-{text}").into()),
        sentiment: None,
    };
    let clock = Arc::new(ManualClock::new(at(60))); // Monday 10:00 UTC: everyone on shift
    {
        let runtime = Runtime::new(engine(), Arc::new(SqliteStore::open(&path).await.unwrap()), clock.clone());
        for (chat, order) in [("a", "AC-10004"), ("b", "AC-10004")] {
            runtime.handle(inbound(chat, "track my order")).await.unwrap();
            runtime.handle(inbound(chat, order)).await.unwrap();
        }
    }
    let store = Arc::new(SqliteStore::open(&path).await.unwrap());
    assert_eq!(store.load(&ConversationId::new("web", "a")).await.unwrap().unwrap().owner.describe(), "agent sarah");
    assert_eq!(store.load(&ConversationId::new("web", "b")).await.unwrap().unwrap().owner.describe(), "queued");
    let runtime = Runtime::new(engine(), store.clone(), clock.clone());
    runtime.restore().await.unwrap();
    // Sarah (one chat at a time) still has a; c waits behind b.
    runtime.handle(inbound("c", "track my order")).await.unwrap();
    runtime.handle(inbound("c", "AC-10004")).await.unwrap();
    let c = store.load(&ConversationId::new("web", "c")).await.unwrap().unwrap();
    assert!(matches!(c.owner, tandem_core::Owner::Queued { position: 2, .. }), "{:?}", c.owner);
    runtime
        .agent_action(&ConversationId::new("web", "a"), "sarah", tandem_engine::AgentAction::Resolve { csat: false })
        .await
        .unwrap();
    assert_eq!(store.load(&ConversationId::new("web", "b")).await.unwrap().unwrap().owner.describe(), "agent sarah");
}
