//! Group commit: the one writer of a SQLite store. Commits from many conversations wait in
//! one queue and are written together in one `BEGIN IMMEDIATE` transaction, so a thousand
//! concurrent turns share one WAL write instead of a thousand. Each caller still gets its own
//! outcome: a duplicate (its message already handled, its timer already fired) is found
//! before it writes anything, and when a commit fails the batch is written again with each
//! commit in a savepoint of its own, so the bad one fails alone and everybody else's turn is
//! kept.
//!
//! The writer is a thread of its own with a plain (rusqlite) connection and cached prepared
//! statements: a row costs a bind and a step, with no SQL to parse and no hop to another
//! thread per statement. Callers encode their rows (JSON) before queueing, so the writer only
//! talks to SQLite. Reads go through the store's sqlx pool (WAL: they never wait for it).
//! Once a transaction is in the file, the writer keeps each commit's state as the
//! conversation's live copy ([`crate::live`]) and notes the conversation as stored
//! ([`crate::known`]) before it answers, so both follow the commit order.

use std::collections::HashSet;
use std::path::Path;
use std::sync::{Arc, Mutex};

use rusqlite::{CachedStatement, Connection, Statement, TransactionBehavior, params};
use tandem_core::{CommitOutcome, ConversationId, Outbound, OutboxMessage, StoreError};
use tokio::sync::{mpsc, oneshot};

use crate::codec::EncodedCommit;
use crate::known::KnownConversations;
use crate::live::LiveStates;
use crate::sqlite::BUSY_TIMEOUT;

/// At most this many writes share one transaction.
const MAX_BATCH: usize = 512;
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

/// Outbox messages marked delivered whose mark the writer has not written yet.
pub(crate) type Marking = Arc<Mutex<HashSet<i64>>>;

/// Start the writer on a connection of its own to the (migrated) database at `path`; it stops
/// when every sender is gone.
pub(crate) fn start(
    path: &Path,
    marking: Marking,
    live: LiveStates,
    known: KnownConversations,
) -> Result<mpsc::Sender<Write>, StoreError> {
    let opening = |e: rusqlite::Error| StoreError::Database(format!("opening {} to write: {e}", path.display()));
    let conn = connect(path).map_err(opening)?;
    let next_outbox_id = next_outbox_id(&conn).map_err(opening)?;
    let (sender, queue) = mpsc::channel::<Write>(MAX_BATCH * 8);
    std::thread::Builder::new()
        .name("tandem-sqlite-writer".into())
        .spawn(move || Writer { conn, marking, live, known, next_outbox_id }.run(queue))
        .map_err(|e| StoreError::Database(format!("starting the SQLite writer: {e}")))?;
    Ok(sender)
}

/// The writer's page cache. Loads of live conversations do not read the file
/// ([`crate::live`]), so the writer's pages are mostly the tables' last pages and the indexes'
/// inner ones; SQLite's default is 2 MiB.
const WRITER_CACHE_KIB: u32 = 1024;

fn connect(path: &Path) -> rusqlite::Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // The same settings as the store's readers (WAL is a property of the file, set at open).
    // A checkpoint (copying the WAL into the database and syncing) runs inside the commit
    // that crosses this many pages: at SQLite's default of 1,000 that was one turn in a
    // hundred (the p99); at 10,000 it is one in a thousand, and the WAL stays under ~40 MB.
    // A savepoint's journal is kept in memory, not in a temporary file (21k -> 27k msgs/s in
    // the concurrent benchmark while every commit had one).
    conn.execute_batch(&format!(
        "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY; \
         PRAGMA wal_autocheckpoint = {WAL_PAGES_PER_CHECKPOINT}; PRAGMA cache_size = -{WRITER_CACHE_KIB};"
    ))?;
    conn.set_prepared_statement_cache_capacity(32);
    Ok(conn)
}

struct Writer {
    conn: Connection,
    marking: Marking,
    live: LiveStates,
    known: KnownConversations,
    /// The id the next outbox message gets: the writer numbers them itself, since it is the
    /// only one that adds any (`RETURNING id` cost a temporary table a message: 5 % of the
    /// CPU of the concurrent benchmark).
    next_outbox_id: i64,
}

impl Writer {
    /// Take what is queued (up to [`MAX_BATCH`]), write it in one transaction, repeat.
    fn run(mut self, mut queue: mpsc::Receiver<Write>) {
        let mut batch = Vec::with_capacity(MAX_BATCH);
        while let Some(first) = queue.blocking_recv() {
            batch.push(first);
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(write) => batch.push(write),
                    Err(_) => break,
                }
            }
            self.write(std::mem::take(&mut batch));
        }
    }

    fn write(&mut self, batch: Vec<Write>) {
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
        if !commits.is_empty() || !marks.is_empty() {
            let together: Vec<&EncodedCommit> = commits.iter().map(|(c, _)| c.as_ref()).collect();
            let outcomes = match write_together(&mut self.conn, &together, &marks, &mut self.next_outbox_id) {
                Ok(outcomes) => outcomes,
                Err(e) => {
                    // Nothing of the batch is in the file. Its callers get the error; the
                    // messages whose marks were lost are delivered again after a restart (at
                    // least once, as after a crash).
                    tracing::warn!("writing {} commits and {} delivery marks: {e}", commits.len(), marks.len());
                    commits.iter().map(|_| Err(sqlite_error(&e))).collect()
                }
            };
            for ((commit, reply), outcome) in commits.into_iter().zip(outcomes) {
                let outcome = outcome.map(|written| match written {
                    Written::Seen => CommitOutcome::Duplicate,
                    Written::Outbox(ids) => {
                        // The commit is done with: its key, state and messages move on.
                        let EncodedCommit { id, key, state, outbox, .. } = *commit;
                        self.known.stored(&key);
                        self.live.committed(key, state);
                        CommitOutcome::Committed(outbox_messages(id, outbox, ids))
                    }
                });
                let _ = reply.send(outcome);
            }
        }
        if !marks.is_empty() {
            let mut marking = self.marking.lock().unwrap_or_else(|e| e.into_inner());
            marks.iter().for_each(|(id, _)| _ = marking.remove(id));
        }
        for done in flushes {
            let _ = done.send(());
        }
    }
}

/// One transaction for all of `commits` and the `delivered` outbox marks. `Err` when the
/// transaction itself failed: then nothing was written. Duplicates are found before they
/// write anything; if a commit fails halfway (or turns out a duplicate after writing part of
/// itself), the transaction is rolled back and written again with [`write_apart`].
fn write_together(
    conn: &mut Connection,
    commits: &[&EncodedCommit],
    delivered: &[(i64, i64)],
    next_outbox_id: &mut i64,
) -> rusqlite::Result<Vec<Result<Written, StoreError>>> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(commits.len());
    let mut next_id = *next_outbox_id;
    let mut statements = Statements::prepare(&tx)?;
    for commit in commits {
        match write_one(&tx, &mut statements, commit, &mut next_id) {
            Ok(Step::Written(ids)) => outcomes.push(Ok(Written::Outbox(ids))),
            Ok(Step::Seen) => outcomes.push(Ok(Written::Seen)),
            Ok(Step::SeenAfterWriting | Step::OutOfOrder(_)) | Err(_) => {
                drop(statements);
                drop(tx); // rolled back
                return write_apart(conn, commits, delivered, next_outbox_id);
            }
        }
    }
    drop(statements);
    mark_delivered(&tx, delivered)?;
    tx.commit()?;
    *next_outbox_id = next_id;
    Ok(outcomes)
}

/// [`write_together`], each commit in a savepoint of its own, so that one that fails is rolled
/// back alone (savepoints cost a copy of every page they touch, hence not the first try).
fn write_apart(
    conn: &mut Connection,
    commits: &[&EncodedCommit],
    delivered: &[(i64, i64)],
    next_outbox_id: &mut i64,
) -> rusqlite::Result<Vec<Result<Written, StoreError>>> {
    let mut tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut outcomes = Vec::with_capacity(commits.len());
    let mut next_id = *next_outbox_id;
    for commit in commits {
        let mut step = tx.savepoint()?;
        let mut next_id_after = next_id;
        let written = Statements::prepare(&step).and_then(|mut s| write_one(&step, &mut s, commit, &mut next_id_after));
        let outcome = match written {
            Ok(Step::Written(ids)) => Ok(Written::Outbox(ids)),
            Ok(Step::Seen | Step::SeenAfterWriting) => Ok(Written::Seen),
            Ok(Step::OutOfOrder(OutOfOrder { seq, last })) => Err(StoreError::Database(format!(
                "the journal of {} is at event {last}: a step's events from {seq} do not follow it",
                commit.key
            ))),
            Err(e) => Err(sqlite_error(&e)),
        };
        if let Ok(Written::Outbox(_)) = outcome {
            step.commit()?;
            next_id = next_id_after;
        } else {
            step.rollback()?;
        }
        outcomes.push(outcome);
    }
    mark_delivered(&tx, delivered)?;
    tx.commit()?;
    *next_outbox_id = next_id;
    Ok(outcomes)
}

/// What a commit came to in the file: written, with the ids of its outbox rows, or seen
/// before. Made into the caller's [`CommitOutcome`] once the transaction is in the file, from
/// the commit itself (its messages moved, not copied).
enum Written {
    Outbox(Vec<i64>),
    Seen,
}

/// What came of writing one step.
enum Step {
    /// Written; the ids of its outbox rows.
    Written(Vec<i64>),
    /// Written before (its timer fired, its message handled); nothing written now.
    Seen,
    /// Written before, found out after deleting its fired timer: roll that back.
    SeenAfterWriting,
    /// Its journal's numbers do not follow the conversation's last one; roll back what it
    /// wrote.
    OutOfOrder(OutOfOrder),
}

/// A journal row numbered from `seq` where the conversation's journal (or the step's
/// previous row) is at `last` already.
struct OutOfOrder {
    seq: i64,
    last: i64,
}

impl OutOfOrder {
    /// The first of the step's rows that does not follow its previous row, if any.
    fn within(c: &EncodedCommit) -> Option<Self> {
        let rows = c.journal.windows(2).find(|rows| rows[1].seq <= rows[0].last_seq)?;
        Some(Self { seq: rows[1].seq, last: rows[0].last_seq })
    }

    /// The step's first row, which does not follow the conversation's stored journal.
    fn after_stored(tx: &Connection, c: &EncodedCommit) -> rusqlite::Result<Self> {
        let last = tx.query_row("SELECT journal_seq FROM conversations WHERE id = ?1", [&c.key], |row| row.get(0))?;
        Ok(Self { seq: c.journal.first().map_or(0, |row| row.seq), last })
    }
}

/// The statements that write a step, taken from the connection's statement cache once for a
/// whole transaction. Taken for each step, every statement was looked up by its SQL text
/// (hashed) and handed back after it, six times a step (~9 % of the writer's time in the
/// concurrent benchmark).
struct Statements<'c> {
    delete_timer: CachedStatement<'c>,
    record_inbound: CachedStatement<'c>,
    set_timer: CachedStatement<'c>,
    append_journal: CachedStatement<'c>,
    add_to_outbox: CachedStatement<'c>,
    /// Refused (no row changed) when the step's first event does not follow the journal's last.
    store_conversation: CachedStatement<'c>,
}

impl<'c> Statements<'c> {
    fn prepare(tx: &'c Connection) -> rusqlite::Result<Self> {
        Ok(Self {
            delete_timer: tx.prepare_cached("DELETE FROM timers WHERE id = ?1")?,
            record_inbound: tx.prepare_cached(
                "INSERT INTO inbound (conversation_id, platform_id, received_at) VALUES (?1, ?2, ?3) \
                 ON CONFLICT DO NOTHING",
            )?,
            set_timer: tx.prepare_cached(
                "INSERT OR REPLACE INTO timers (id, conversation_id, due_at, kind) VALUES (?1, ?2, ?3, ?4)",
            )?,
            append_journal: tx.prepare_cached(
                "INSERT INTO journal (conversation_id, prev, seq, at, events) \
                 VALUES (?1, COALESCE(?2, (SELECT journal_tail FROM conversations WHERE id = ?1)), ?3, ?4, ?5)",
            )?,
            add_to_outbox: tx.prepare_cached(
                "INSERT INTO outbox (id, conversation_id, message, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?,
            store_conversation: tx.prepare_cached(
                "INSERT INTO conversations (id, state, owner, updated_at, journal_tail, journal_seq) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                 ON CONFLICT (id) DO UPDATE SET state = excluded.state, owner = excluded.owner, \
                 updated_at = excluded.updated_at, journal_tail = COALESCE(excluded.journal_tail, journal_tail), \
                 journal_seq = MAX(excluded.journal_seq, journal_seq) \
                 WHERE journal_seq < ?7",
            )?,
        })
    }
}

/// Write one step, finding out first whether it was written before; its outbox messages are
/// numbered from `next_outbox_id` on.
fn write_one(
    tx: &Connection,
    s: &mut Statements,
    c: &EncodedCommit,
    next_outbox_id: &mut i64,
) -> rusqlite::Result<Step> {
    if let Some(timer) = &c.fired_timer
        && s.delete_timer.execute([timer])? == 0
    {
        return Ok(Step::Seen);
    }
    if let Some(platform_id) = &c.inbound {
        let recorded = s.record_inbound.execute(params![c.key, platform_id.as_str(), c.now])?;
        if recorded == 0 {
            return Ok(if c.fired_timer.is_some() { Step::SeenAfterWriting } else { Step::Seen });
        }
    }
    for timer in &c.cancel_timers {
        s.delete_timer.execute([timer])?;
    }
    for (id, due, kind) in &c.set_timers {
        s.set_timer.execute(params![id, c.key, due, kind])?;
    }
    if let Some(out_of_order) = OutOfOrder::within(c) {
        return Ok(Step::OutOfOrder(out_of_order));
    }
    let journal = append_journal(tx, &mut s.append_journal, c)?;
    let mut ids = Vec::with_capacity(c.outbox.len());
    for (body, _) in &c.outbox {
        s.add_to_outbox.execute(params![*next_outbox_id, c.key, body, c.now])?;
        ids.push(*next_outbox_id);
        *next_outbox_id += 1;
    }
    let first_seq = c.journal.first().map_or(i64::MAX, |row| row.seq);
    let stored = s.store_conversation.execute(params![
        c.key,
        &*c.state,
        c.owner,
        c.now,
        journal.tail,
        journal.seq,
        first_seq
    ])?;
    if stored == 0 {
        return Ok(Step::OutOfOrder(OutOfOrder::after_stored(tx, c)?));
    }
    Ok(Step::Written(ids))
}

/// Where a conversation's journal ends after a step: its last row and that row's last
/// sequence number; `None` and 0 when the step wrote no row (the conversation keeps the end
/// it had).
#[derive(Default)]
struct JournalEnd {
    tail: Option<i64>,
    seq: i64,
}

/// Append a step's journal rows at the end of the log, each naming the conversation's row
/// before it (the first finds it in the conversation's row, in the same statement). Whether
/// they follow what is stored is checked when the conversation's row is written.
fn append_journal(tx: &Connection, append: &mut Statement, c: &EncodedCommit) -> rusqlite::Result<JournalEnd> {
    let mut end = JournalEnd::default();
    for row in &c.journal {
        append.execute(params![c.key, end.tail, row.seq, row.at, row.events])?;
        end = JournalEnd { tail: Some(tx.last_insert_rowid()), seq: row.last_seq };
    }
    Ok(end)
}

/// After every outbox id ever given, as AUTOINCREMENT counts them (sent messages deleted
/// since included).
fn next_outbox_id(conn: &Connection) -> rusqlite::Result<i64> {
    conn.query_row(
        "SELECT MAX(COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'outbox'), 0), \
                    COALESCE((SELECT MAX(id) FROM outbox), 0)) + 1",
        [],
        |row| row.get(0),
    )
}

fn mark_delivered(tx: &Connection, delivered: &[(i64, i64)]) -> rusqlite::Result<()> {
    let mut mark = tx.prepare_cached("UPDATE outbox SET delivered_at = ?2 WHERE id = ?1")?;
    for (id, at) in delivered {
        mark.execute([id, at])?;
    }
    Ok(())
}

fn outbox_messages(conversation: ConversationId, outbox: Vec<(String, Outbound)>, ids: Vec<i64>) -> Vec<OutboxMessage> {
    ids.into_iter()
        .zip(outbox)
        .map(|(id, (_, message))| OutboxMessage { id, conversation: conversation.clone(), message })
        .collect()
}

fn sqlite_error(e: &rusqlite::Error) -> StoreError {
    StoreError::Database(e.to_string())
}
