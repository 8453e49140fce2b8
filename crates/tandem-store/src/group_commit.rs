//! Group commit: the one writer of a SQLite store. Commits from many conversations wait in
//! one queue and are written together, in one `BEGIN IMMEDIATE` transaction of a few
//! multi-row statements, so a thousand concurrent turns cost a handful of statements instead
//! of thousands. Each caller still gets its own outcome: committed (with its outbox rows) or
//! a duplicate. When a batch fails, each commit in it is retried on its own, so one bad
//! commit fails alone and loses nobody else's turn.
//!
//! Callers encode their rows (JSON) before queueing, so the writer only talks to SQLite.

use std::collections::HashSet;

use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, SqlitePool};
use tandem_core::{Commit, CommitOutcome, ConversationId, Outbound, OutboxMessage, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::codec::{db_error, micros, to_json};

/// At most this many writes share one transaction.
const MAX_BATCH: usize = 512;
/// SQLite's limit on bound parameters in one statement is 32,766.
const MAX_BINDS: usize = 30_000;

/// A commit with its rows encoded, ready for SQL.
pub(crate) struct EncodedCommit {
    id: ConversationId,
    key: String,
    now: i64,
    inbound: Option<String>,
    fired_timer: Option<String>,
    cancel_timers: Vec<String>,
    /// (id, due, kind)
    set_timers: Vec<(String, i64, String)>,
    /// (seq, at, event)
    journal: Vec<(i64, i64, String)>,
    /// (body, message)
    outbox: Vec<(String, Outbound)>,
    state: String,
    owner: &'static str,
}

impl EncodedCommit {
    pub(crate) fn new(commit: Commit) -> Result<Self, StoreError> {
        let conversation = &commit.conversation;
        Ok(Self {
            key: conversation.id.key(),
            id: conversation.id.clone(),
            now: micros(conversation.updated_at),
            state: to_json(conversation)?,
            owner: conversation.owner.label(),
            inbound: commit.inbound_id,
            fired_timer: commit.fired_timer,
            cancel_timers: commit.cancel_timers,
            set_timers: commit
                .set_timers
                .iter()
                .map(|t| Ok((t.id.clone(), micros(t.due), to_json(&t.kind)?)))
                .collect::<Result<_, StoreError>>()?,
            journal: commit
                .events
                .iter()
                .map(|e| Ok((e.seq as i64, micros(e.at), to_json(&e.event)?)))
                .collect::<Result<_, StoreError>>()?,
            outbox: commit.outbox.into_iter().map(|m| Ok((to_json(&m)?, m))).collect::<Result<_, StoreError>>()?,
        })
    }
}

/// One write waiting for the writer, with where its answer goes.
pub(crate) enum Write {
    Commit(Box<EncodedCommit>, oneshot::Sender<Result<CommitOutcome, StoreError>>),
    Delivered { ids: Vec<i64>, at: i64, done: oneshot::Sender<Result<(), StoreError>> },
}

/// Start the writer; it stops when every sender is gone.
pub(crate) fn start(pool: SqlitePool) -> mpsc::Sender<Write> {
    let (sender, mut queue) = mpsc::channel::<Write>(MAX_BATCH * 8);
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
            write(&pool, std::mem::take(&mut batch)).await;
        }
    });
    sender
}

/// Write a batch together; if that fails, each write on its own.
async fn write(pool: &SqlitePool, batch: Vec<Write>) {
    let mut commits = Vec::new();
    let mut delivered = Vec::new();
    for w in batch {
        match w {
            Write::Commit(c, reply) => commits.push((c, reply)),
            Write::Delivered { ids, at, done } => delivered.push((ids, at, done)),
        }
    }
    let together: Vec<&EncodedCommit> = commits.iter().map(|(c, _)| c.as_ref()).collect();
    let marks: Vec<(i64, i64)> = delivered.iter().flat_map(|(ids, at, _)| ids.iter().map(|id| (*id, *at))).collect();
    match write_together(pool, &together, &marks).await {
        Ok(outcomes) => {
            for ((_, reply), outcome) in commits.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
            for (_, _, done) in delivered {
                let _ = done.send(Ok(()));
            }
        }
        Err(e) if together.len() + delivered.len() == 1 => {
            if let Some((_, reply)) = commits.pop() {
                let _ = reply.send(Err(e));
            } else if let Some((_, _, done)) = delivered.pop() {
                let _ = done.send(Err(e));
            }
        }
        Err(_) => {
            for (commit, reply) in commits {
                let outcome = write_together(pool, &[commit.as_ref()], &[]).await.map(|mut o| o.remove(0));
                let _ = reply.send(outcome);
            }
            for (ids, at, done) in delivered {
                let marks: Vec<(i64, i64)> = ids.iter().map(|id| (*id, at)).collect();
                let _ = done.send(write_together(pool, &[], &marks).await.map(|_| ()));
            }
        }
    }
}

/// One transaction for all of `commits` and the `delivered` outbox marks, in the order:
/// fired timers (deleted: a timer fires once), inbound ids (a message is handled once), then
/// the rows of every commit that is not a duplicate.
async fn write_together(
    pool: &SqlitePool,
    commits: &[&EncodedCommit],
    delivered: &[(i64, i64)],
) -> Result<Vec<CommitOutcome>, StoreError> {
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.map_err(db_error)?;
    let mut duplicate = vec![false; commits.len()];

    let fired: Vec<(usize, &str)> =
        commits.iter().enumerate().filter_map(|(i, c)| c.fired_timer.as_deref().map(|t| (i, t))).collect();
    let rows = each_chunk(&mut tx, &fired, 1, |q, chunk| {
        q.push("DELETE FROM timers WHERE id IN (");
        let mut list = q.separated(", ");
        chunk.iter().for_each(|(_, id)| _ = list.push_bind(id.to_string()));
        q.push(") RETURNING id");
    })
    .await?;
    let mut deleted: HashSet<String> = rows.iter().map(|r| r.get(0)).collect();
    for (i, id) in &fired {
        duplicate[*i] = !deleted.remove(*id);
    }

    let inbound: Vec<(usize, &str, &str, i64)> = commits
        .iter()
        .enumerate()
        .filter(|(i, _)| !duplicate[*i])
        .filter_map(|(i, c)| c.inbound.as_deref().map(|pid| (i, c.key.as_str(), pid, c.now)))
        .collect();
    let rows = each_chunk(&mut tx, &inbound, 3, |q, chunk| {
        q.push("INSERT INTO inbound (conversation_id, platform_id, received_at) ");
        q.push_values(chunk, |mut row, (_, key, pid, now)| {
            row.push_bind(key.to_string()).push_bind(pid.to_string()).push_bind(*now);
        });
        q.push(" ON CONFLICT DO NOTHING RETURNING conversation_id, platform_id");
    })
    .await?;
    let mut inserted: HashSet<(String, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    for (i, key, pid, _) in &inbound {
        if !inserted.remove(&(key.to_string(), pid.to_string())) {
            duplicate[*i] = true;
            if commits[*i].fired_timer.is_some() {
                // Its timer is already deleted above: only a transaction of its own can undo that.
                if commits.len() > 1 || !delivered.is_empty() {
                    return Err(StoreError::Database("a commit for both a message and a timer goes alone".into()));
                }
                tx.rollback().await.map_err(db_error)?;
                return Ok(vec![CommitOutcome::Duplicate]);
            }
        }
    }

    let live: Vec<&EncodedCommit> = commits.iter().zip(&duplicate).filter(|(_, d)| !**d).map(|(c, _)| *c).collect();
    let cancelled: Vec<&str> = live.iter().flat_map(|c| c.cancel_timers.iter().map(String::as_str)).collect();
    each_chunk(&mut tx, &cancelled, 1, |q, chunk| {
        q.push("DELETE FROM timers WHERE id IN (");
        let mut list = q.separated(", ");
        chunk.iter().for_each(|id| _ = list.push_bind(id.to_string()));
        q.push(")");
    })
    .await?;
    let timers: Vec<(&str, &(String, i64, String))> =
        live.iter().flat_map(|c| c.set_timers.iter().map(|t| (c.key.as_str(), t))).collect();
    each_chunk(&mut tx, &timers, 4, |q, chunk| {
        q.push("INSERT OR REPLACE INTO timers (id, conversation_id, due_at, kind) ");
        q.push_values(chunk, |mut row, (key, (id, due, kind))| {
            row.push_bind(id.clone()).push_bind(key.to_string()).push_bind(*due).push_bind(kind.clone());
        });
    })
    .await?;
    let journal: Vec<(&str, &(i64, i64, String))> =
        live.iter().flat_map(|c| c.journal.iter().map(|e| (c.key.as_str(), e))).collect();
    each_chunk(&mut tx, &journal, 4, |q, chunk| {
        q.push("INSERT INTO journal (conversation_id, seq, at, event) ");
        q.push_values(chunk, |mut row, (key, (seq, at, event))| {
            row.push_bind(key.to_string()).push_bind(*seq).push_bind(*at).push_bind(event.clone());
        });
    })
    .await?;
    let outbox: Vec<(&str, i64, &str)> =
        live.iter().flat_map(|c| c.outbox.iter().map(|(body, _)| (c.key.as_str(), c.now, body.as_str()))).collect();
    let rows = each_chunk(&mut tx, &outbox, 3, |q, chunk| {
        q.push("INSERT INTO outbox (conversation_id, message, created_at) ");
        q.push_values(chunk, |mut row, (key, now, body)| {
            row.push_bind(key.to_string()).push_bind(body.to_string()).push_bind(*now);
        });
        q.push(" RETURNING id");
    })
    .await?;
    // AUTOINCREMENT gives the rows of one statement rising ids in the order written.
    let mut ids: Vec<i64> = rows.iter().map(|r| r.get(0)).collect();
    ids.sort_unstable();
    let conversations: Vec<&EncodedCommit> = live.clone();
    each_chunk(&mut tx, &conversations, 4, |q, chunk| {
        q.push("INSERT INTO conversations (id, state, owner, updated_at) ");
        q.push_values(chunk, |mut row, c| {
            row.push_bind(c.key.clone()).push_bind(c.state.clone()).push_bind(c.owner).push_bind(c.now);
        });
        q.push(
            " ON CONFLICT (id) DO UPDATE SET state = excluded.state, owner = excluded.owner, \
             updated_at = excluded.updated_at",
        );
    })
    .await?;
    each_chunk(&mut tx, delivered, 2, |q, chunk| {
        // One time for the statement: marks in one batch differ by microseconds at most.
        q.push("UPDATE outbox SET delivered_at = ").push_bind(chunk[0].1).push(" WHERE id IN (");
        let mut list = q.separated(", ");
        chunk.iter().for_each(|(id, _)| _ = list.push_bind(*id));
        q.push(")");
    })
    .await?;
    tx.commit().await.map_err(db_error)?;

    let mut ids = ids.into_iter();
    Ok(commits
        .iter()
        .zip(duplicate)
        .map(|(c, duplicate)| {
            if duplicate {
                return CommitOutcome::Duplicate;
            }
            let sent = c
                .outbox
                .iter()
                .zip(ids.by_ref())
                .map(|((_, message), id)| OutboxMessage { id, conversation: c.id.clone(), message: message.clone() })
                .collect();
            CommitOutcome::Committed(sent)
        })
        .collect())
}

/// Run one statement per chunk of `rows` (as many rows as fit SQLite's parameter limit),
/// built by `build`; the rows any of them return.
async fn each_chunk<T>(
    tx: &mut sqlx::Transaction<'_, Sqlite>,
    rows: &[T],
    binds_per_row: usize,
    build: impl Fn(&mut QueryBuilder<Sqlite>, &[T]),
) -> Result<Vec<SqliteRow>, StoreError> {
    let mut returned = Vec::new();
    for chunk in rows.chunks((MAX_BINDS / binds_per_row).max(1)) {
        let mut query = QueryBuilder::<Sqlite>::new("");
        build(&mut query, chunk);
        returned.extend(query.build().fetch_all(&mut **tx).await.map_err(db_error)?);
    }
    Ok(returned)
}
