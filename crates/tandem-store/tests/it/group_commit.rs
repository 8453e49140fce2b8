//! Group commit on SQLite: many conversations' steps committed at once share transactions,
//! yet each caller gets its own outcome, its own outbox rows, and a bad commit fails alone.

use std::collections::{HashMap, HashSet};

use tandem_core::{CommitOutcome, ConversationId, Store, StoreError};
use tandem_store::SqliteStore;
use tokio::task::JoinSet;

use crate::contract::{self, at};

const CONVERSATIONS: usize = 400;

async fn fresh() -> (tempfile::TempDir, SqliteStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&dir.path().join("tandem.sqlite")).await.unwrap();
    (dir, store)
}

/// Commit `commits` all at once, each from its own task; outcomes by name.
async fn all_at_once(
    store: &SqliteStore,
    commits: Vec<(String, tandem_core::Commit)>,
) -> HashMap<String, Vec<Result<CommitOutcome, StoreError>>> {
    let mut tasks = JoinSet::new();
    for (name, commit) in commits {
        let store = store.clone();
        tasks.spawn(async move { (name, store.commit(commit).await) });
    }
    let mut outcomes: HashMap<String, Vec<_>> = HashMap::new();
    while let Some(done) = tasks.join_next().await {
        let (name, outcome) = done.unwrap();
        outcomes.entry(name).or_default().push(outcome);
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_steps_each_get_their_own_outcome_and_outbox_rows() {
    let (_dir, store) = fresh().await;
    let mut commits: Vec<(String, tandem_core::Commit)> = (0..CONVERSATIONS)
        .map(|i| {
            let c = contract::conversation(&format!("c{i}"));
            (c.id.chat().to_string(), contract::commit(&c, Some("m1"), 1))
        })
        .collect();
    // The same message delivered twice at once: handled once.
    let twice = contract::conversation("twice");
    commits.push(("twice".into(), contract::commit(&twice, Some("m1"), 1)));
    commits.push(("twice".into(), contract::commit(&twice, Some("m1"), 1)));
    // A commit the journal refuses, among the others.
    let bad = contract::conversation("bad");
    let mut refused = contract::commit(&bad, Some("m1"), 1);
    refused.events[1].seq = 1;
    commits.push(("bad".into(), refused));

    let outcomes = all_at_once(&store, commits).await;

    assert!(outcomes["bad"][0].is_err(), "the bad commit fails");
    assert_eq!(store.load(&bad.id).await.unwrap(), None, "and writes nothing");
    let twice_outcomes: Vec<_> = outcomes["twice"].iter().map(|o| o.as_ref().unwrap()).collect();
    assert_eq!(twice_outcomes.iter().filter(|o| matches!(o, CommitOutcome::Duplicate)).count(), 1);
    assert_eq!(store.journal(&twice.id).await.unwrap().len(), 2);

    let pending: HashMap<i64, ConversationId> =
        store.undelivered(10_000).await.unwrap().into_iter().map(|m| (m.id, m.conversation)).collect();
    let mut ids = HashSet::new();
    for i in 0..CONVERSATIONS {
        let chat = format!("c{i}");
        let Ok(CommitOutcome::Committed(sent)) = &outcomes[&chat][0] else { panic!("{chat}: {:?}", outcomes[&chat]) };
        assert_eq!(sent.len(), 1);
        assert!(ids.insert(sent[0].id), "outbox ids are distinct");
        assert_eq!(pending[&sent[0].id].chat(), chat, "each outbox row is its own conversation's");
        let id = ConversationId::new("web", &chat);
        assert_eq!(store.load(&id).await.unwrap().unwrap().id, id);
        assert_eq!(store.journal(&id).await.unwrap().len(), 2);
    }

    let mut marks = JoinSet::new();
    for id in ids {
        let store = store.clone();
        marks.spawn(async move { store.mark_delivered(&[id]).await });
    }
    while let Some(done) = marks.join_next().await {
        done.unwrap().unwrap();
    }
    let left: Vec<_> = store.undelivered(10_000).await.unwrap();
    assert_eq!(left.len(), 1, "only the duplicate-free 'twice' message is left: {left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_fired_twice_at_once_fires_once() {
    let (_dir, store) = fresh().await;
    let c = contract::conversation("timer");
    let mut set = contract::commit(&c, Some("m1"), 1);
    set.set_timers = vec![contract::timer(&c, 1, at(5))];
    store.commit(set).await.unwrap();
    let fire = |seq| {
        let mut fire = contract::commit(&c, None, seq);
        fire.fired_timer = Some(contract::timer(&c, 1, at(5)).id);
        ("fire".to_string(), fire)
    };
    let outcomes = all_at_once(&store, vec![fire(3), fire(3)]).await;
    let committed = outcomes["fire"].iter().filter(|o| matches!(o, Ok(CommitOutcome::Committed(_)))).count();
    assert_eq!(committed, 1, "{:?}", outcomes["fire"]);
    assert_eq!(store.journal(&c.id).await.unwrap().len(), 4);
}

#[tokio::test]
async fn a_commit_for_a_message_and_a_timer_at_once_is_a_duplicate_if_either_was_seen() {
    let (_dir, store) = fresh().await;
    let c = contract::conversation("both");
    let mut set = contract::commit(&c, Some("m1"), 1);
    set.set_timers = vec![contract::timer(&c, 1, at(5))];
    store.commit(set).await.unwrap();
    let mut both = contract::commit(&c, Some("m1"), 3);
    both.fired_timer = Some(contract::timer(&c, 1, at(5)).id);
    assert_eq!(store.commit(both).await.unwrap(), CommitOutcome::Duplicate);
    assert_eq!(store.due_timers(at(60), 10).await.unwrap().len(), 1, "the timer is kept for its own firing");
}

#[tokio::test]
async fn a_delivery_mark_is_written_before_any_later_commit_or_flush() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tandem.sqlite");
    let store = SqliteStore::open(&path).await.unwrap();
    let first = contract::conversation("first");
    let Ok(CommitOutcome::Committed(sent)) = store.commit(contract::commit(&first, Some("m1"), 1)).await else {
        panic!("not committed")
    };
    store.mark_delivered(&[sent[0].id]).await.unwrap();
    assert!(store.undelivered(10).await.unwrap().is_empty(), "hidden at once, written or not");
    let later = contract::conversation("later");
    store.commit(contract::commit(&later, Some("m1"), 1)).await.unwrap();
    let Ok(CommitOutcome::Committed(sent)) = store.commit(contract::commit(&first, Some("m2"), 3)).await else {
        panic!("not committed")
    };
    store.mark_delivered(&[sent[0].id]).await.unwrap();
    store.flush().await.unwrap();
    drop(store); // one store owns the file at a time
    let reopened = SqliteStore::open(&path).await.unwrap();
    let pending: Vec<_> =
        reopened.undelivered(10).await.unwrap().into_iter().map(|m| m.conversation.chat().to_string()).collect();
    assert_eq!(pending, ["later"], "each mark reached the file before the next commit, or the flush, did");
}

#[tokio::test]
async fn a_flush_with_nothing_queued_returns_at_once() {
    let (_dir, store) = fresh().await;
    store.flush().await.expect("nothing to write is not an error");
    store.flush().await.expect("and again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_commits_larger_than_the_writers_queue_is_all_written() {
    // The writer's queue holds 4,096 writes. Another connection holds the file's write lock
    // while every commit is made, so the writer stops at its first batch, the queue fills, and
    // the rest wait for room in their futures; then none may be lost or doubled.
    const BURST: usize = 12_000;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tandem.sqlite");
    let store = SqliteStore::open(&path).await.unwrap();
    let conversations: Vec<_> = (0..BURST).map(|i| contract::conversation(&format!("b{i}"))).collect();
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();
    let waiting: Vec<_> = conversations.iter().map(|c| store.commit(contract::commit(c, Some("m1"), 1))).collect();
    blocker.execute_batch("ROLLBACK").unwrap();
    let mut ids = HashSet::new();
    for (c, outcome) in conversations.iter().zip(waiting) {
        let Ok(CommitOutcome::Committed(sent)) = outcome.await else { panic!("{}: not committed", c.id) };
        assert!(ids.insert(sent[0].id), "outbox ids are distinct");
    }
    assert_eq!(ids.len(), BURST);
    for c in conversations.iter().step_by(997) {
        assert_eq!(store.load(&c.id).await.unwrap().unwrap().id, c.id);
        assert_eq!(store.journal(&c.id).await.unwrap().len(), 2);
    }
}
