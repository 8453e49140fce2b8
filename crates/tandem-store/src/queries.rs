//! The reads both stores run: the same SQL on SQLite and PostgreSQL (`$n` parameters, which
//! both accept), and how their rows become domain values.

use tandem_core::{JournalEntry, Outbound, OutboxMessage, StoreError, Timer};

use crate::codec::{conversation_id, from_json, from_micros};

pub const LOAD: &str = "SELECT state FROM conversations WHERE id = $1";
pub const SEEN_INBOUND: &str = "SELECT 1 FROM inbound WHERE conversation_id = $1 AND platform_id = $2";
pub const DUE_TIMERS: &str =
    "SELECT id, conversation_id, due_at, kind FROM timers WHERE due_at <= $1 ORDER BY due_at, id LIMIT $2";
pub const NEXT_TIMER_DUE: &str = "SELECT MIN(due_at) FROM timers";
pub const UNDELIVERED: &str =
    "SELECT id, conversation_id, message FROM outbox WHERE delivered_at IS NULL ORDER BY id LIMIT $1";
pub const HANDOFF_CONVERSATIONS: &str = "SELECT state FROM conversations WHERE owner IN ('queued', 'parked', 'agent')";
pub const JOURNAL: &str = "SELECT seq, at, event FROM journal WHERE conversation_id = $1 ORDER BY seq";
pub const PENDING_TIMERS: &str = "SELECT COUNT(*) FROM timers";

/// A row of [`DUE_TIMERS`].
pub fn timer(id: String, conversation: &str, due: i64, kind: &str) -> Result<Timer, StoreError> {
    Ok(Timer { id, conversation: conversation_id(conversation), due: from_micros(due), kind: from_json(kind)? })
}

/// A row of [`UNDELIVERED`].
pub fn outbox_message(id: i64, conversation: &str, message: &str) -> Result<OutboxMessage, StoreError> {
    Ok(OutboxMessage { id, conversation: conversation_id(conversation), message: from_json::<Outbound>(message)? })
}

/// A row of [`JOURNAL`].
pub fn journal_entry(seq: i64, at: i64, event: &str) -> Result<JournalEntry, StoreError> {
    Ok(JournalEntry { seq: seq as u64, at: from_micros(at), event: from_json(event)? })
}
