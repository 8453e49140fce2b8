//! Group commit: the one writer of a SQLite store. Commits from many conversations wait in
//! one queue and are written together, in one `BEGIN IMMEDIATE` transaction of a few
//! multi-row statements, so a thousand concurrent turns cost a handful of statements instead
//! of thousands. Each caller still gets its own outcome: committed (with its outbox rows) or
//! a duplicate. When a batch fails, each commit in it is retried on its own, so one bad
//! commit fails alone and loses nobody else's turn.
//!
//! The writer has its own connection and sends a whole batch as one multi-statement script
//! (`BEGIN IMMEDIATE; ...`), then `COMMIT`: two round trips to SQLite's thread per batch,
//! whatever its size (sqlx costs ~70 µs per round trip here, more than the writing itself).
//! Callers encode their rows (JSON) before queueing, so the writer only talks to SQLite.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};

use futures_util::StreamExt;
use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection};
use sqlx::{Connection, Either, Executor, QueryBuilder, Row, Sqlite};
use tandem_core::{CommitOutcome, OutboxMessage, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::codec::{EncodedCommit, db_error};

/// At most this many writes share one transaction.
const MAX_BATCH: usize = 512;
/// SQLite's limit on bound parameters in one statement is 32,766.
const MAX_BINDS: usize = 30_000;
/// WAL pages written between checkpoints.
const WAL_PAGES_PER_CHECKPOINT: u32 = 10_000;

/// One write waiting for the writer, with where its answer goes.
pub(crate) enum Write {
    Commit(Box<EncodedCommit>, oneshot::Sender<Result<CommitOutcome, StoreError>>),
    /// Written in the background: [`Marking`] hides the messages from `undelivered` meanwhile.
    Delivered {
        ids: Vec<i64>,
        at: i64,
    },
    /// Answered once everything queued before it is written.
    Flush(oneshot::Sender<()>),
}

/// Start the writer on a connection of its own; it stops when every sender is gone.
pub(crate) async fn start(options: &SqliteConnectOptions, marking: Marking) -> Result<mpsc::Sender<Write>, StoreError> {
    // A checkpoint (copying the WAL into the database and syncing) runs inside the commit
    // that crosses this many pages: at SQLite's default of 1,000 that was one turn in a
    // hundred (the p99); at 10,000 it is one in a thousand, and the WAL stays under ~40 MB.
    let options = options.clone().pragma("wal_autocheckpoint", WAL_PAGES_PER_CHECKPOINT.to_string());
    let mut conn = SqliteConnection::connect_with(&options).await.map_err(db_error)?;
    let (sender, mut queue) = mpsc::channel::<Write>(MAX_BATCH * 8);
    tokio::spawn(async move {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
            write(&mut conn, std::mem::take(&mut batch), &marking).await;
        }
    });
    Ok(sender)
}

/// Outbox messages marked delivered whose mark the writer has not written yet.
pub(crate) type Marking = Arc<Mutex<HashSet<i64>>>;

/// Write a batch together; if that fails, each write on its own.
async fn write(conn: &mut SqliteConnection, batch: Vec<Write>, marking: &Marking) {
    let mut commits = Vec::new();
    let mut marks: Vec<(i64, i64)> = Vec::new();
    let mut flushes = Vec::new();
    for w in batch {
        match w {
            Write::Commit(c, reply) => commits.push((c, reply)),
            Write::Delivered { ids, at } => marks.extend(ids.into_iter().map(|id| (id, at))),
            Write::Flush(done) => flushes.push(done),
        }
    }
    let together: Vec<&EncodedCommit> = commits.iter().map(|(c, _)| c.as_ref()).collect();
    match write_together(conn, &together, &marks).await {
        Ok(outcomes) => {
            for ((_, reply), outcome) in commits.into_iter().zip(outcomes) {
                let _ = reply.send(Ok(outcome));
            }
        }
        Err(e) if together.len() == 1 && marks.is_empty() => {
            if let Some((_, reply)) = commits.pop() {
                let _ = reply.send(Err(e));
            }
        }
        Err(_) => {
            for (commit, reply) in commits {
                let outcome = write_together(conn, &[commit.as_ref()], &[]).await.map(|mut o| o.remove(0));
                let _ = reply.send(outcome);
            }
            if let Err(e) = write_together(conn, &[], &marks).await {
                // Not marked: delivered again after a restart (at least once, as after a crash).
                tracing::warn!("marking {} outbox messages delivered: {e}", marks.len());
            }
        }
    }
    if !marks.is_empty() {
        let mut marking = marking.lock().unwrap_or_else(|e| e.into_inner());
        marks.iter().for_each(|(id, _)| _ = marking.remove(id));
    }
    for done in flushes {
        let _ = done.send(());
    }
}

/// What a statement of a script returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Returns {
    Nothing,
    /// Ids of fired timers it deleted (a timer fires once).
    FiredTimers,
    /// (conversation, platform id) of inbound messages it recorded (a message is handled once).
    Inbound,
    OutboxIds,
}

/// Several statements sent as one script, and what each returns.
struct Script {
    sql: QueryBuilder<Sqlite>,
    returns: Vec<Returns>,
}

impl Script {
    fn new() -> Self {
        Self { sql: QueryBuilder::new(""), returns: Vec::new() }
    }

    fn push(&mut self, statement: &str) {
        self.sql.push(statement).push(";\n");
        self.returns.push(Returns::Nothing);
    }

    /// One statement per chunk of `rows` (as many rows as fit SQLite's parameter limit).
    fn rows<T>(&mut self, rows: &[T], binds: usize, returns: Returns, build: impl Fn(&mut QueryBuilder<Sqlite>, &[T])) {
        for chunk in rows.chunks((MAX_BINDS / binds).max(1)) {
            build(&mut self.sql, chunk);
            self.sql.push(";\n");
            self.returns.push(returns);
        }
    }

    /// Run it in one round trip; the rows each kind of statement returned.
    async fn run(mut self, conn: &mut SqliteConnection) -> Result<Returned, sqlx::Error> {
        let mut returned = Returned::default();
        let mut statement = 0;
        let mut results = conn.fetch_many(self.sql.build());
        while let Some(result) = results.next().await {
            match result? {
                Either::Left(_) => statement += 1,
                Either::Right(row) => match self.returns.get(statement) {
                    Some(Returns::FiredTimers) => _ = returned.fired.insert(row.get(0)),
                    Some(Returns::Inbound) => _ = returned.inbound.insert((row.get(0), row.get(1))),
                    Some(Returns::OutboxIds) => returned.outbox.push(row.get(0)),
                    _ => {}
                },
            }
        }
        Ok(returned)
    }
}

#[derive(Default)]
struct Returned {
    fired: HashSet<String>,
    inbound: HashSet<(String, String)>,
    outbox: Vec<i64>,
}

/// One transaction for all of `commits` and the `delivered` outbox marks. Everything is
/// written in one script; if it shows that some commits are duplicates (their timer already
/// fired, their message already handled), it is rolled back and written again without them.
async fn write_together(
    conn: &mut SqliteConnection,
    commits: &[&EncodedCommit],
    delivered: &[(i64, i64)],
) -> Result<Vec<CommitOutcome>, StoreError> {
    if commits.is_empty() && delivered.is_empty() {
        return Ok(Vec::new()); // a batch of flushes only
    }
    let mut duplicate = vec![false; commits.len()];
    loop {
        let live: Vec<&EncodedCommit> = commits.iter().zip(&duplicate).filter(|(_, d)| !**d).map(|(c, _)| *c).collect();
        let mut returned = match script(&live, delivered, Part::All).run(conn).await {
            Ok(returned) => returned,
            Err(e) => {
                let _ = conn.execute("ROLLBACK").await;
                // A duplicate can break a later statement (a redelivered message's journal
                // rows); if it did, leave the duplicates out and write the rest.
                let probe = script(&live, &[], Part::DuplicateChecks).run(conn).await;
                let _ = conn.execute("ROLLBACK").await;
                match probe {
                    Ok(mut returned) => {
                        if mark_duplicates(commits, &mut duplicate, &mut returned) {
                            continue;
                        }
                        return Err(db_error(e));
                    }
                    Err(_) => return Err(db_error(e)),
                }
            }
        };
        if mark_duplicates(commits, &mut duplicate, &mut returned) {
            conn.execute("ROLLBACK").await.map_err(db_error)?;
            continue;
        }
        if !live.is_empty() {
            conn.execute("COMMIT").await.map_err(db_error)?;
        }
        // AUTOINCREMENT gives the rows of the script rising ids in the order written.
        let mut ids = returned.outbox;
        ids.sort_unstable();
        let mut ids = ids.into_iter();
        return Ok(commits
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
                    .map(|((_, message), id)| OutboxMessage {
                        id,
                        conversation: c.id.clone(),
                        message: message.clone(),
                    })
                    .collect();
                CommitOutcome::Committed(sent)
            })
            .collect());
    }
}

/// Mark the commits whose timer the script did not delete (it already fired) or whose
/// message it did not record (already handled), and also a second commit in the batch for
/// the same timer or message. True when it found any.
fn mark_duplicates(commits: &[&EncodedCommit], duplicate: &mut [bool], returned: &mut Returned) -> bool {
    let (fired, inbound) = (&mut returned.fired, &mut returned.inbound);
    let mut found = false;
    for (c, duplicate) in commits.iter().zip(duplicate.iter_mut()).filter(|(_, d)| !**d) {
        let timer_done = c.fired_timer.as_ref().is_some_and(|t| !fired.remove(t));
        let message_seen = c.inbound.as_ref().is_some_and(|pid| !inbound.remove(&(c.key.clone(), pid.clone())));
        if timer_done || message_seen {
            *duplicate = true;
            found = true;
        }
    }
    found
}

/// Which statements of a script to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    All,
    /// Only the deletion of fired timers and the recording of inbound messages.
    DuplicateChecks,
}

/// The statements that write `commits` (in a transaction left open for the caller to
/// commit) and mark `delivered` (on their own: one autocommitted statement).
fn script(commits: &[&EncodedCommit], delivered: &[(i64, i64)], part: Part) -> Script {
    let mut s = Script::new();
    if !commits.is_empty() {
        s.push("BEGIN IMMEDIATE");
    }
    let fired: Vec<&str> = commits.iter().filter_map(|c| c.fired_timer.as_deref()).collect();
    s.rows(&fired, 1, Returns::FiredTimers, |q, chunk| {
        q.push("DELETE FROM timers WHERE id IN (");
        let mut list = q.separated(", ");
        chunk.iter().for_each(|id| _ = list.push_bind(id.to_string()));
        q.push(") RETURNING id");
    });
    let inbound: Vec<(&str, &str, i64)> =
        commits.iter().filter_map(|c| c.inbound.as_deref().map(|pid| (c.key.as_str(), pid, c.now))).collect();
    s.rows(&inbound, 3, Returns::Inbound, |q, chunk| {
        q.push("INSERT INTO inbound (conversation_id, platform_id, received_at) ");
        q.push_values(chunk, |mut row, (key, pid, now)| {
            row.push_bind(key.to_string()).push_bind(pid.to_string()).push_bind(*now);
        });
        q.push(" ON CONFLICT DO NOTHING RETURNING conversation_id, platform_id");
    });
    if part == Part::DuplicateChecks {
        return s;
    }
    let cancelled: Vec<&str> = commits.iter().flat_map(|c| c.cancel_timers.iter().map(String::as_str)).collect();
    s.rows(&cancelled, 1, Returns::Nothing, |q, chunk| {
        q.push("DELETE FROM timers WHERE id IN (");
        let mut list = q.separated(", ");
        chunk.iter().for_each(|id| _ = list.push_bind(id.to_string()));
        q.push(")");
    });
    let timers: Vec<(&str, &(String, i64, String))> =
        commits.iter().flat_map(|c| c.set_timers.iter().map(|t| (c.key.as_str(), t))).collect();
    s.rows(&timers, 4, Returns::Nothing, |q, chunk| {
        q.push("INSERT OR REPLACE INTO timers (id, conversation_id, due_at, kind) ");
        q.push_values(chunk, |mut row, (key, (id, due, kind))| {
            row.push_bind(id.clone()).push_bind(key.to_string()).push_bind(*due).push_bind(kind.clone());
        });
    });
    let journal: Vec<(&str, &(i64, i64, String))> =
        commits.iter().flat_map(|c| c.journal.iter().map(|e| (c.key.as_str(), e))).collect();
    s.rows(&journal, 4, Returns::Nothing, |q, chunk| {
        q.push("INSERT INTO journal (conversation_id, seq, at, event) ");
        q.push_values(chunk, |mut row, (key, (seq, at, event))| {
            row.push_bind(key.to_string()).push_bind(*seq).push_bind(*at).push_bind(event.clone());
        });
    });
    let outbox: Vec<(&str, i64, &str)> =
        commits.iter().flat_map(|c| c.outbox.iter().map(|(body, _)| (c.key.as_str(), c.now, body.as_str()))).collect();
    s.rows(&outbox, 3, Returns::OutboxIds, |q, chunk| {
        q.push("INSERT INTO outbox (conversation_id, message, created_at) ");
        q.push_values(chunk, |mut row, (key, now, body)| {
            row.push_bind(key.to_string()).push_bind(body.to_string()).push_bind(*now);
        });
        q.push(" RETURNING id");
    });
    s.rows(commits, 4, Returns::Nothing, |q, chunk| {
        q.push("INSERT INTO conversations (id, state, owner, updated_at) ");
        q.push_values(chunk, |mut row, c| {
            row.push_bind(c.key.clone()).push_bind(c.state.clone()).push_bind(c.owner).push_bind(c.now);
        });
        q.push(
            " ON CONFLICT (id) DO UPDATE SET state = excluded.state, owner = excluded.owner, \
             updated_at = excluded.updated_at",
        );
    });
    s.rows(delivered, 2, Returns::Nothing, |q, chunk| {
        // One time for the statement: marks in one batch differ by microseconds at most.
        q.push("UPDATE outbox SET delivered_at = ").push_bind(chunk[0].1).push(" WHERE id IN (");
        let mut list = q.separated(", ");
        chunk.iter().for_each(|(id, _)| _ = list.push_bind(*id));
        q.push(")");
    });
    s
}
