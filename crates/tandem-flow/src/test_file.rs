//! Conversation test files (`*.test.yaml`) as written: scripted customer turns, expected bot
//! messages, waits on a fake clock and assertions on the conversation. The engine runs them.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::span::{At, Entries};

/// A file of conversation tests for one bot.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestFile {
    /// The bot under test: a folder with a bot.yaml, relative to this file.
    pub bot: At<String>,
    /// The tests, each a fresh conversation.
    pub tests: Vec<TestCase>,
}

/// One scripted conversation.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TestCase {
    /// What the test shows, in a sentence.
    pub name: At<String>,
    /// The customer's display name (default "Alex Doe").
    #[serde(default)]
    pub user: Option<String>,
    /// When the conversation starts, RFC 3339 (default 2026-01-05T09:00:00Z, a Monday).
    #[serde(default)]
    pub clock: Option<At<String>>,
    /// More customers by id, with their names, for turns that say `as: <id>`.
    #[serde(default)]
    pub customers: Entries<String>,
    /// The turns, in order.
    pub script: Vec<At<Turn>>,
}

/// One turn: exactly one of `user`, `press`, `bot`, `wait`, `clock`, `expect` or `agent`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// The customer writes this.
    #[serde(default)]
    pub user: Option<String>,
    /// With `user`: the message's sentiment score in [-1, 1], as the understanding layer
    /// would give it.
    #[serde(default)]
    pub sentiment: Option<f64>,
    /// The customer presses this button.
    #[serde(default)]
    pub press: Option<String>,
    /// The next message to the customer is exactly this, or matches `/regex/`.
    #[serde(default)]
    pub bot: Option<String>,
    /// With `bot`: the buttons that message offers.
    #[serde(default)]
    pub buttons: Option<Vec<String>>,
    /// With `bot`: who wrote it (an agent's name; the bot has none).
    #[serde(default)]
    pub from: Option<String>,
    /// Which customer (an id from `customers`; default: the test's customer).
    #[serde(default, rename = "as")]
    pub customer: Option<String>,
    /// Time passes on the fake clock (90s, 15m, 2h, 3d); due timers fire.
    #[serde(default)]
    pub wait: Option<String>,
    /// The fake clock jumps to this time (RFC 3339); due timers fire.
    #[serde(default)]
    pub clock: Option<String>,
    /// The conversation is in this state now.
    #[serde(default)]
    pub expect: Option<Expectation>,
    /// An agent acts (with one of `takes`, `says`, `notes`, `transfers`, `hands_back`,
    /// `resolves`, `leaves`, `joins`).
    #[serde(default)]
    pub agent: Option<String>,
    /// The agent takes the chat from the queue.
    #[serde(default)]
    pub takes: Option<bool>,
    /// The agent writes this to the customer.
    #[serde(default)]
    pub says: Option<String>,
    /// The agent leaves a private note.
    #[serde(default)]
    pub notes: Option<String>,
    /// The agent passes the chat on: `agent: <id>` or `team: <id>`.
    #[serde(default)]
    pub transfers: Option<TransferDef>,
    /// The agent hands the chat back to the bot: `true` (the handoff's `on_return`) or a step.
    #[serde(default)]
    pub hands_back: Option<HandBack>,
    /// The agent resolves the chat (`csat` asks for a rating).
    #[serde(default)]
    pub resolves: Option<Resolve>,
    /// The agent goes offline; their chats go back in line.
    #[serde(default)]
    pub leaves: Option<bool>,
    /// The agent comes back online.
    #[serde(default)]
    pub joins: Option<bool>,
    /// With an agent action: it is refused, with a reason matching this `/regex/` or text.
    #[serde(default)]
    pub refused: Option<String>,
}

/// Where an agent passes a chat.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferDef {
    #[serde(default)]
    pub agent: Option<String>,
    #[serde(default)]
    pub team: Option<String>,
}

/// `true`, or the step (`flow.step`) the bot resumes at.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum HandBack {
    Default(bool),
    Step(String),
}

/// `true`, or `csat` to ask the customer for a rating.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Resolve {
    Done(bool),
    With(String),
}

/// Assertions on the conversation.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expectation {
    /// The bot is at this step (`flow.step`).
    #[serde(default)]
    pub at: Option<String>,
    /// Variables have these values.
    #[serde(default)]
    pub vars: Entries<Value>,
    /// The conversation has (or has not) ended.
    #[serde(default)]
    pub ended: Option<bool>,
    /// The bot is (or is not) waiting for an answer.
    #[serde(default)]
    pub waiting: Option<bool>,
    /// The count of consecutive answers the bot did not understand.
    #[serde(default)]
    pub fallbacks: Option<u32>,
    /// Who owns the chat: `bot`, `queued`, `parked`, `closed` or `agent <id>`.
    #[serde(default)]
    pub owner: Option<String>,
    /// The place in line the customer was told.
    #[serde(default)]
    pub queue_position: Option<u32>,
    /// A parked chat waits until this time (RFC 3339).
    #[serde(default)]
    pub parked_until: Option<String>,
    /// The reason of the handoff under way.
    #[serde(default)]
    pub reason: Option<String>,
}
