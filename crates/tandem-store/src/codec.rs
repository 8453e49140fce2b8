//! How domain values are written into columns: JSON text and unix microseconds.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_core::{Commit, ConversationId, Event, JournalEntry, JournalRun, Outbound, StoreError};

pub fn to_json<T: Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub fn from_json<T: DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{e}: {text:.200}")))
}

pub fn micros(at: DateTime<Utc>) -> i64 {
    at.timestamp_micros()
}

pub fn from_micros(us: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(us).unwrap_or_default()
}

/// `channel:chat` back into an id (the chat may itself contain ':').
pub fn conversation_id(key: &str) -> ConversationId {
    ConversationId::from_key(key)
}

pub fn db_error(e: sqlx::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

/// A commit with its rows encoded, ready for SQL.
pub(crate) struct EncodedCommit {
    pub(crate) id: ConversationId,
    pub(crate) key: String,
    pub(crate) now: i64,
    pub(crate) inbound: Option<tandem_core::CompactString>,
    pub(crate) fired_timer: Option<String>,
    pub(crate) cancel_timers: Vec<String>,
    /// (id, due, kind)
    pub(crate) set_timers: Vec<(String, i64, String)>,
    /// See [`journal_rows`].
    pub(crate) journal: Vec<JournalRow>,
    /// (body, message)
    pub(crate) outbox: Vec<(String, Outbound)>,
    pub(crate) state: Arc<str>,
    pub(crate) owner: &'static str,
}

impl EncodedCommit {
    pub(crate) fn new(commit: Commit) -> Result<Self, StoreError> {
        let conversation = &commit.conversation;
        Ok(Self {
            key: conversation.id.key().to_string(),
            id: conversation.id.clone(),
            now: micros(conversation.updated_at),
            state: to_json(conversation)?.into(),
            owner: conversation.owner.label(),
            inbound: commit.inbound_id,
            fired_timer: commit.fired_timer,
            cancel_timers: commit.cancel_timers,
            set_timers: commit
                .set_timers
                .iter()
                .map(|t| Ok((t.id.clone(), micros(t.due), to_json(&t.kind)?)))
                .collect::<Result<_, StoreError>>()?,
            journal: journal_rows(commit.events)?,
            outbox: commit.outbox.into_iter().map(|m| Ok((to_json(&m)?, m))).collect::<Result<_, StoreError>>()?,
        })
    }
}

/// A journal row: a step's events, numbered `seq..=last_seq`, as a JSON array.
pub(crate) struct JournalRow {
    pub(crate) seq: i64,
    pub(crate) last_seq: i64,
    pub(crate) at: i64,
    pub(crate) events: String,
}

/// A commit's journal rows: one for each [`JournalRun`] (a step's events). A step writes one
/// row however many events it had.
fn journal_rows(entries: Vec<JournalEntry>) -> Result<Vec<JournalRow>, StoreError> {
    JournalRun::split(&entries)
        .map(|run| {
            let seq = run.seq() as i64;
            Ok(JournalRow { seq, last_seq: seq + run.len() as i64 - 1, at: micros(run.at()), events: to_json(&run)? })
        })
        .collect()
}

/// The events of a journal row from `seq` on: a JSON array, or one event object in rows
/// written before rows held a step each.
pub fn journal_entries(seq: i64, at: i64, events: &str) -> Result<Vec<JournalEntry>, StoreError> {
    let events: Vec<Event> =
        if events.trim_start().starts_with('[') { from_json(events)? } else { vec![from_json(events)?] };
    let at = from_micros(at);
    Ok(events.into_iter().zip(seq as u64..).map(|(event, seq)| JournalEntry { seq, at, event }).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(seq: u64, at: i64, text: &str) -> JournalEntry {
        JournalEntry { seq, at: from_micros(at), event: Event::BotSaid { text: text.into(), buttons: vec![] } }
    }

    #[test]
    fn a_step_is_one_journal_row_and_reads_back_as_its_events() {
        let step = [entry(4, 10, "a"), entry(5, 10, "b"), entry(6, 10, "c")];
        let rows = journal_rows(step.to_vec()).unwrap();
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        assert_eq!((row.seq, row.last_seq, row.at), (4, 6, 10));
        assert_eq!(journal_entries(row.seq, row.at, &row.events).unwrap(), step);
    }

    #[test]
    fn a_repeated_number_is_a_row_of_its_own_for_the_store_to_refuse() {
        let entries = vec![entry(1, 10, "a"), entry(2, 11, "b"), entry(2, 11, "c"), entry(4, 11, "d")];
        let rows = journal_rows(entries).unwrap();
        let numbers: Vec<(i64, i64)> = rows.iter().map(|row| (row.seq, row.last_seq)).collect();
        assert_eq!(numbers, [(1, 1), (2, 2), (2, 2), (4, 4)]);
    }

    #[test]
    fn a_row_of_one_event_object_reads_as_that_event() {
        let old = to_json(&entry(7, 10, "a").event).unwrap();
        assert_eq!(journal_entries(7, 10, &old).unwrap(), [entry(7, 10, "a")]);
    }
}
