//! How domain values are written into columns: JSON text and unix microseconds.

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tandem_core::{ConversationId, StoreError};

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
