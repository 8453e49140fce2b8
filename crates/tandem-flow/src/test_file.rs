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
    /// The turns, in order.
    pub script: Vec<At<Turn>>,
}

/// One turn: exactly one of `user`, `press`, `bot`, `wait` or `expect`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// The customer writes this.
    #[serde(default)]
    pub user: Option<String>,
    /// The customer presses this button.
    #[serde(default)]
    pub press: Option<String>,
    /// The next bot message is exactly this, or matches `/regex/`.
    #[serde(default)]
    pub bot: Option<String>,
    /// With `bot`: the buttons that message offers.
    #[serde(default)]
    pub buttons: Option<Vec<String>>,
    /// Time passes on the fake clock (90s, 15m, 2h, 3d); due timers fire.
    #[serde(default)]
    pub wait: Option<String>,
    /// The conversation is in this state now.
    #[serde(default)]
    pub expect: Option<Expectation>,
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
}
