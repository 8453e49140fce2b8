//! The PostgreSQL store: the same contract as SQLite, for a bot that outgrows one machine,
//! and the same tables but the journal (keyed here by conversation and sequence number;
//! SQLite's is an append-only log). Each step is one call of the `tandem_commit` function (migrations/postgres): one
//! round trip, one transaction; PostgreSQL's row locks let many run at once from a pool of
//! connections. A redelivered message or a timer that already fired makes the function raise
//! SQLSTATE TD409, which rolls the whole step back, and the store reports a duplicate.
//!
//! Several processes may share the database: a message or a timer is still handled once (the
//! keys above), and two processes stepping one conversation at the same moment cannot both
//! commit (the journal's key on the conversation's sequence numbers refuses the second).
//! What is not here yet: sharing the work out (which process serves which chats, claiming
//! due timers and the outbox); today every process sees all of it.

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::{AssertSqlSafe, Connection, Row};
use tandem_core::{CommitOutcome, Committing, OutboxMessage, StoreError};

use crate::codec::{EncodedCommit, db_error, micros};
use crate::queries::{self, sql_store};

/// Conversations in a PostgreSQL database.
#[derive(Clone)]
pub struct PostgresStore {
    pool: PgPool,
}

impl PostgresStore {
    /// Connect to `url` (`postgres://user@host:port/database`; a password belongs in the
    /// environment that builds the url, never in a file) and bring the schema up to date.
    pub async fn connect(url: &str, connections: u32) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(connections.max(1))
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await
            .map_err(|e| StoreError::Database(format!("connecting to PostgreSQL: {e}")))?;
        sqlx::migrate!("./migrations/postgres")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("migrating the PostgreSQL schema: {e}")))?;
        Ok(Self { pool })
    }

    /// The local server the tests and the benchmark use when no url is given (trust auth,
    /// database `test`).
    pub const LOCAL_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

    /// Connect with `schema` (letters, digits and `_`) as the search path, creating it when
    /// missing: a schema of its own for a test run or a benchmark.
    pub async fn connect_in_schema(url: &str, schema: &str, connections: u32) -> Result<Self, StoreError> {
        administer(url, &format!("CREATE SCHEMA IF NOT EXISTS {}", schema_name(schema)?)).await?;
        Self::connect(&Self::url_in_schema(url, schema)?, connections).await
    }

    /// `url` with `schema` (letters, digits and `_`) as the search path.
    pub fn url_in_schema(url: &str, schema: &str) -> Result<String, StoreError> {
        let separator = if url.contains('?') { '&' } else { '?' };
        Ok(format!("{url}{separator}options=-c%20search_path%3D{}", schema_name(schema)?))
    }

    /// Drop `schema` and everything in it.
    pub async fn drop_schema(url: &str, schema: &str) -> Result<(), StoreError> {
        administer(url, &format!("DROP SCHEMA IF EXISTS {} CASCADE", schema_name(schema)?)).await
    }

    /// How many timers wait to fire.
    pub async fn pending_timers(&self) -> Result<u64, StoreError> {
        let row = sqlx::query(queries::PENDING_TIMERS).fetch_one(&self.pool).await.map_err(db_error)?;
        Ok(row.get::<i64, _>(0) as u64)
    }

    /// Nothing is kept in memory: another process sharing the database may have moved the
    /// conversation on since.
    fn live_state(&self, _key: &str) -> Option<std::sync::Arc<str>> {
        None
    }

    /// Never known: another process may have stored the conversation.
    fn certainly_absent(&self, _key: &str) -> bool {
        false
    }

    /// Write one step in one round trip (the `tandem_commit` function of the migrations), or
    /// find that it was written before.
    fn write(&self, c: EncodedCommit) -> Committing<'_> {
        Box::pin(async move {
            let (timer_ids, timer_dues, timer_kinds) = columns3(&c.set_timers);
            let seqs: Vec<i64> = c.journal.iter().map(|row| row.seq).collect();
            let ats: Vec<i64> = c.journal.iter().map(|row| row.at).collect();
            let events: Vec<&str> = c.journal.iter().map(|row| row.events.as_str()).collect();
            let bodies: Vec<&str> = c.outbox.iter().map(|(body, _)| body.as_str()).collect();
            let written = sqlx::query_scalar::<_, Vec<i64>>(
                "SELECT tandem_commit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
            )
            .bind(&c.key)
            .bind(c.now)
            .bind(c.inbound.as_deref())
            .bind(&c.fired_timer)
            .bind(&c.cancel_timers)
            .bind(timer_ids)
            .bind(timer_dues)
            .bind(timer_kinds)
            .bind(seqs)
            .bind(ats)
            .bind(events)
            .bind(bodies)
            .bind(&*c.state)
            .bind(c.owner)
            .fetch_one(&self.pool)
            .await;
            match written {
                Ok(ids) => Ok(CommitOutcome::Committed(
                    ids.into_iter()
                        .zip(c.outbox)
                        .map(|(id, (_, message))| OutboxMessage { id, conversation: c.id.clone(), message })
                        .collect(),
                )),
                Err(sqlx::Error::Database(e)) if e.code().as_deref() == Some(DUPLICATE) => Ok(CommitOutcome::Duplicate),
                Err(e) => Err(db_error(e)),
            }
        })
    }
}

/// The SQLSTATE `tandem_commit` raises for a message seen before or a timer that fired.
const DUPLICATE: &str = "TD409";

/// Run one statement built from checked names on a connection of its own.
async fn administer(url: &str, statement: &str) -> Result<(), StoreError> {
    let mut admin = sqlx::PgConnection::connect(url)
        .await
        .map_err(|e| StoreError::Database(format!("connecting to PostgreSQL: {e}")))?;
    sqlx::raw_sql(AssertSqlSafe(statement.to_string())).execute(&mut admin).await.map_err(db_error)?;
    Ok(())
}

/// `name` if it is safe to write into SQL as a schema name.
fn schema_name(name: &str) -> Result<&str, StoreError> {
    let safe = !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if safe { Ok(name) } else { Err(StoreError::Database(format!("`{name}` is not a schema name (a-z, 0-9, _)"))) }
}

/// Three columns out of rows of three, to bind as arrays.
fn columns3<A: Clone, B: Clone, C: Clone>(rows: &[(A, B, C)]) -> (Vec<A>, Vec<B>, Vec<C>) {
    let mut columns = (Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()), Vec::with_capacity(rows.len()));
    for (a, b, c) in rows {
        columns.0.push(a.clone());
        columns.1.push(b.clone());
        columns.2.push(c.clone());
    }
    columns
}

impl PostgresStore {
    /// Written before it returns: nothing is ever in flight.
    fn marks_in_flight(&self) -> HashSet<i64> {
        HashSet::new()
    }

    /// Without waiting for the disk (`synchronous_commit` off for this one statement): a mark
    /// lost in a crash only means the message is delivered again (at least once), and the
    /// reply is not held up by a second flush of the log.
    async fn mark(&self, ids: &[i64]) -> Result<(), StoreError> {
        sqlx::query(
            "WITH lazy AS (SELECT set_config('synchronous_commit', 'off', true)) \
             UPDATE outbox SET delivered_at = $1 FROM lazy WHERE id = ANY($2)",
        )
        .bind(micros(Utc::now()))
        .bind(ids)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    /// Every write is done before it returns.
    async fn written(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

sql_store!(PostgresStore, journal = queries::JOURNAL_BY_KEY);
