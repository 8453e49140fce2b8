//! How domain values are written into columns: JSON text and unix microseconds.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_core::{Commit, ConversationId, Outbound, StoreError};

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
    let (channel, chat) = key.split_once(':').unwrap_or(("", key));
    ConversationId::new(channel, chat)
}

pub fn db_error(e: sqlx::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

/// A commit with its rows encoded, ready for SQL.
pub(crate) struct EncodedCommit {
    pub(crate) id: ConversationId,
    pub(crate) key: String,
    pub(crate) now: i64,
    pub(crate) inbound: Option<String>,
    pub(crate) fired_timer: Option<String>,
    pub(crate) cancel_timers: Vec<String>,
    /// (id, due, kind)
    pub(crate) set_timers: Vec<(String, i64, String)>,
    /// (seq, at, event)
    pub(crate) journal: Vec<(i64, i64, String)>,
    /// (body, message)
    pub(crate) outbox: Vec<(String, Outbound)>,
    pub(crate) state: Arc<str>,
    pub(crate) owner: &'static str,
}

impl EncodedCommit {
    pub(crate) fn new(commit: Commit) -> Result<Self, StoreError> {
        let conversation = &commit.conversation;
        Ok(Self {
            key: conversation.id.key(),
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
            journal: commit
                .events
                .iter()
                .map(|e| Ok((e.seq as i64, micros(e.at), to_json(&e.event)?)))
                .collect::<Result<_, StoreError>>()?,
            outbox: commit.outbox.into_iter().map(|m| Ok((to_json(&m)?, m))).collect::<Result<_, StoreError>>()?,
        })
    }
}
