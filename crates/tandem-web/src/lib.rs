//! The web chat's HTTP API. A customer's page posts each message and gets the replies in the
//! answer, once the turn is committed; messages that come later (an agent's, a follow-up) wait
//! in the chat's mailbox until the page asks for updates; the transcript is read from the
//! store. [`serve`] runs it on a listener; [`WebChatClient`] talks to it (the loopback
//! benchmark and the tests).
//!
//! The routes, under a chat id the page chooses (letters, digits, `-`, `_`, `.`; up to 64):
//! - `POST /api/chats/{chat}/messages` with a [`CustomerMessage`]: the [`Replies`] to it;
//! - `GET /api/chats/{chat}/updates`: the [`Replies`] sent since the page last collected them;
//! - `GET /api/chats/{chat}/transcript`: the [`Transcript`] the customer has seen;
//! - `GET /healthz`: `ok`.

mod api;
mod client;
mod mailbox;
mod wire;

pub use api::{ApiError, router, serve};
pub use client::{ClientError, WebChatClient};
pub use mailbox::{MAILBOX_LIMIT, WebChannel};
pub use wire::{CustomerMessage, Replies, Transcript, TranscriptLine};
