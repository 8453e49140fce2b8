//! The contract on a real PostgreSQL server (`TANDEM_TEST_DATABASE_URL`, by default the local
//! one at 127.0.0.1:5432, database `test`). Each test works in a schema of its own, dropped at
//! the end. Without a server the tests say they skipped, except under CI, where they fail.

use std::sync::Arc;

use sqlx::Connection;
use tandem_core::{CommitOutcome, Store};
use tandem_store::PostgresStore;

use crate::contract;

fn url() -> String {
    std::env::var("TANDEM_TEST_DATABASE_URL").unwrap_or_else(|_| PostgresStore::LOCAL_URL.to_string())
}

/// A store in a fresh schema, and the schema's name (to drop it). Without a server: `None`
/// (the test skips), except under CI.
async fn fresh(name: &str) -> Option<(PostgresStore, String)> {
    let url = url();
    if let Err(e) = sqlx::PgConnection::connect(&url).await {
        assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "PostgreSQL at {url}: {e}");
        eprintln!("skipped: no PostgreSQL at {url} ({e})");
        return None;
    }
    let schema = format!("tandem_test_{name}_{}", std::process::id());
    PostgresStore::drop_schema(&url, &schema).await.expect("drop a leftover schema");
    let store = PostgresStore::connect_in_schema(&url, &schema, 8).await.expect("the store connects and migrates");
    Some((store, schema))
}

async fn drop_schema(schema: &str) {
    PostgresStore::drop_schema(&url(), schema).await.expect("drop the test schema");
}

#[tokio::test]
async fn keeps_the_store_contract() {
    let Some((store, schema)) = fresh("contract").await else { return };
    contract::every_rule(&store).await;
    drop_schema(&schema).await;
    assert!(PostgresStore::connect_in_schema(&url(), "x; DROP TABLE y", 1).await.is_err(), "not a schema name");
}

#[tokio::test]
async fn migrating_twice_changes_nothing_and_keeps_the_data() {
    let Some((store, schema)) = fresh("reopen").await else { return };
    let c = contract::conversation("kept");
    store.commit(contract::commit(&c, Some("m1"), 1)).await.unwrap();
    drop(store);
    let url = std::env::var("TANDEM_TEST_DATABASE_URL").unwrap_or_else(|_| PostgresStore::LOCAL_URL.to_string());
    let separator = if url.contains('?') { '&' } else { '?' };
    let again =
        PostgresStore::connect(&format!("{url}{separator}options=-c%20search_path%3D{schema}"), 2).await.unwrap();
    assert_eq!(again.load(&c.id).await.unwrap(), Some(c));
    drop_schema(&schema).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_commits_each_get_their_own_outbox_rows_and_a_message_counts_once() {
    let Some((store, schema)) = fresh("concurrent").await else { return };
    let store = Arc::new(store);
    let mut tasks = Vec::new();
    for n in 0..200 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let c = contract::conversation(&format!("chat-{n}"));
            let mut commit = contract::commit(&c, Some("m1"), 1);
            commit.outbox[0].text = format!("reply {n}");
            (n, store.commit(commit).await.unwrap())
        }));
    }
    let mut ids = Vec::new();
    for task in tasks {
        let (n, outcome) = task.await.unwrap();
        let CommitOutcome::Committed(outbox) = outcome else { panic!("chat-{n} not committed") };
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox[0].message.text, format!("reply {n}"));
        ids.push(outbox[0].id);
    }
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 200);
    // The same message delivered twice at once is handled once.
    let c = contract::conversation("twice");
    let (a, b) = tokio::join!(
        store.commit(contract::commit(&c, Some("m1"), 1)),
        store.commit(contract::commit(&c, Some("m1"), 1))
    );
    let outcomes = [a, b];
    let committed = outcomes.iter().filter(|o| matches!(o, Ok(CommitOutcome::Committed(_)))).count();
    assert_eq!(committed, 1, "{outcomes:?}");
    assert_eq!(store.journal(&c.id).await.unwrap().len(), 2);
    drop_schema(&schema).await;
}
