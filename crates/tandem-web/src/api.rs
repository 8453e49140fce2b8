//! The chat routes over the runtime: a customer's message is handled as any channel's is (one
//! turn, committed before it is answered), and the answer carries what the chat's mailbox got.

use std::future::Future;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::rejection::JsonRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use tandem_core::{CompactString, ConversationId, Event, Inbound, JournalEntry, Outbound, StoreError, UserProfile};
use tandem_engine::{Handled, Runtime, RuntimeError};
use tokio::net::TcpListener;

use crate::mailbox::WebChannel;
use crate::wire::{CustomerMessage, Replies, Transcript, TranscriptLine};

/// The longest message taken, in characters (Telegram's limit too).
const MAX_TEXT: usize = 4096;
/// The largest request body taken: a message of `MAX_TEXT` characters of 4 bytes, and room.
const MAX_BODY: usize = 64 * 1024;
/// The longest chat id, in bytes.
const MAX_CHAT_ID: usize = 64;

/// Why a request was not done; its answer is `{"error": "..."}` with a fitting status.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    /// The body was not a message: not JSON, an unknown field, too large to read.
    #[error("{1}")]
    Unreadable(StatusCode, String),
    #[error("no chat {0}")]
    NoChat(String),
    #[error("the message is longer than {MAX_TEXT} characters")]
    TooLong,
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unreadable(status, _) => *status,
            ApiError::NoChat(_) => StatusCode::NOT_FOUND,
            ApiError::TooLong => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Runtime(_) | ApiError::Store(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        // The store's trouble is the operator's to read, in the log; the page is told to retry.
        let said = if status == StatusCode::INTERNAL_SERVER_ERROR {
            tracing::error!("web chat: {self}");
            "the message could not be handled now; send it again (with the same id)".to_string()
        } else {
            self.to_string()
        };
        (status, Json(serde_json::json!({ "error": said }))).into_response()
    }
}

/// What the routes share: the runtime, and the channel it delivers web chats' messages to.
struct ChatApi {
    runtime: Arc<Runtime>,
    web: Arc<WebChannel>,
}

/// The web chat's routes on `runtime`, which must deliver through `web`
/// (`Runtime::with_channel`).
pub fn router(runtime: Arc<Runtime>, web: Arc<WebChannel>) -> Router {
    Router::new()
        .route("/api/chats/{chat}/messages", post(post_message))
        .route("/api/chats/{chat}/updates", get(updates))
        .route("/api/chats/{chat}/transcript", get(transcript))
        .route("/healthz", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(Arc::new(ChatApi { runtime, web }))
}

/// Serve `app` on `listener` until `shutdown` completes, then finish the requests under way.
/// Answers are small and come one after another on a connection: sent at once (`TCP_NODELAY`).
pub async fn serve(
    listener: TcpListener,
    app: Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!("TCP_NODELAY on a web chat connection: {e}");
        }
    });
    axum::serve(listener, app).with_graceful_shutdown(shutdown).await
}

async fn post_message(
    State(api): State<Arc<ChatApi>>,
    Path(chat): Path<String>,
    body: Result<Json<CustomerMessage>, JsonRejection>,
) -> Result<Json<Replies>, ApiError> {
    let id = web_chat(&chat)?;
    let Json(message) = body.map_err(|e| ApiError::Unreadable(e.status(), e.body_text()))?;
    let longest = message.text.chars().count().max(message.button.as_deref().map_or(0, |b| b.chars().count()));
    if longest > MAX_TEXT {
        return Err(ApiError::TooLong);
    }
    if message.text.trim().is_empty() && message.button.is_none() {
        return Err(ApiError::BadRequest("a message needs text or a button".into()));
    }
    // No name: the one given before is kept (the runtime keeps a stored name over an empty one).
    let name = message.name.as_deref().unwrap_or_default();
    let inbound = Inbound {
        conversation: id.clone(),
        user: UserProfile { id: chat.as_str().into(), name: name.into() },
        text: message.text,
        button: message.button,
        platform_id: message.id.map(CompactString::from),
        sentiment: None,
    };
    let handled = api.runtime.handle(inbound).await?;
    let fresh = api.web.collect(&id);
    if handled != Handled::Duplicate {
        return Ok(Json(Replies { messages: fresh }));
    }
    // Posted again (its answer was lost): the replies since the customer's last message, from
    // the journal, which holds whatever the mailbox had of them too.
    let lines = seen_by_customer(api.runtime.store().journal(&id).await?);
    let last_said = lines.iter().rposition(|line| matches!(line, TranscriptLine::Customer { .. }));
    let messages = lines
        .into_iter()
        .skip(last_said.map_or(0, |i| i + 1))
        .filter_map(|line| match line {
            TranscriptLine::Bot { text, buttons } => Some(Outbound { from: None, text, buttons }),
            TranscriptLine::Agent { agent, text } => Some(Outbound { from: Some(agent), text, buttons: Vec::new() }),
            TranscriptLine::Customer { .. } => None,
        })
        .collect();
    Ok(Json(Replies { messages }))
}

async fn updates(State(api): State<Arc<ChatApi>>, Path(chat): Path<String>) -> Result<Json<Replies>, ApiError> {
    let id = web_chat(&chat)?;
    Ok(Json(Replies { messages: api.web.collect(&id) }))
}

async fn transcript(State(api): State<Arc<ChatApi>>, Path(chat): Path<String>) -> Result<Json<Transcript>, ApiError> {
    let id = web_chat(&chat)?;
    let store = api.runtime.store();
    if store.load(&id).await?.is_none() {
        return Err(ApiError::NoChat(chat));
    }
    Ok(Json(Transcript { lines: seen_by_customer(store.journal(&id).await?) }))
}

/// What the customer saw of a journal: their lines, the bot's and the agents', in order.
fn seen_by_customer(journal: Vec<JournalEntry>) -> Vec<TranscriptLine> {
    journal
        .into_iter()
        .filter_map(|entry| match entry.event {
            Event::CustomerSaid { text, button } => Some(TranscriptLine::Customer { text, button }),
            Event::BotSaid { text, buttons } => Some(TranscriptLine::Bot { text, buttons }),
            Event::AgentSaid { agent, text } => Some(TranscriptLine::Agent { agent, text }),
            _ => None,
        })
        .collect()
}

/// The conversation of web chat `chat`, if `chat` is a chat id.
fn web_chat(chat: &str) -> Result<ConversationId, ApiError> {
    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if chat.is_empty() || chat.len() > MAX_CHAT_ID || !chat.chars().all(allowed) {
        return Err(ApiError::BadRequest(format!(
            "a chat id is 1-{MAX_CHAT_ID} letters, digits, '-', '_' or '.'; not {chat:?}"
        )));
    }
    Ok(ConversationId::new(WebChannel::NAME, chat))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_ids_are_short_and_plain() {
        assert_eq!(web_chat("abc-1_2.x").unwrap().key(), "web:abc-1_2.x");
        for bad in ["", "a b", "a:b", "é", &"x".repeat(MAX_CHAT_ID + 1)] {
            assert!(matches!(web_chat(bad), Err(ApiError::BadRequest(_))), "{bad:?}");
        }
    }
}
