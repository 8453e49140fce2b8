//! bot.yaml as written: a deployable bot, its flows, global intents and actions.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::span::{At, Entries};

/// A bot: what customers talk to on a channel.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BotFile {
    /// The bot's id.
    pub bot: At<String>,
    /// The name the bot introduces itself with (`bot.name` in templates).
    #[serde(default)]
    pub name: Option<String>,
    /// Flow files or folders of flow files, relative to this file.
    pub flows: Vec<At<String>>,
    /// Where new conversations start: `flow` (its start step) or `flow.step`.
    pub start: At<String>,
    /// Said when an answer matches nothing and neither the step nor the flow says what to do.
    #[serde(default)]
    pub fallback: Option<At<String>>,
    /// More values for templates, as `bot.<name>`.
    #[serde(default)]
    pub vars: Entries<Value>,
    /// Intents that interrupt any step, e.g. `human` or `restart`.
    #[serde(default)]
    pub intents: Entries<GlobalIntentDef>,
    /// Actions that steps can `call`.
    #[serde(default)]
    pub actions: Entries<ActionDef>,
}

/// An intent recognised at every step; when it matches, the bot goes to `goto`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GlobalIntentDef {
    /// Example messages (kept for the trained classifier).
    #[serde(default)]
    pub examples: Vec<String>,
    /// Regular expressions (case-insensitive) that mean this intent.
    #[serde(default)]
    pub patterns: Vec<At<String>>,
    /// Words or phrases (case-insensitive, whole words) that mean this intent.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Where to go when the intent matches, at any step: `flow` or `flow.step`.
    pub goto: At<String>,
}

/// An action a step can `call`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ActionDef {
    /// Look a row up in a data file shipped with the bot.
    pub lookup: LookupDef,
}

/// Look a row up by key in a table of `key: {fields}`, written inline (`rows`) or in a YAML or
/// JSON file (`file`). The result is the row's fields plus `found: true`, or `found: false`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LookupDef {
    /// The rows, inline.
    #[serde(default)]
    pub rows: Option<Map<String, Value>>,
    /// A data file holding the rows, relative to bot.yaml.
    #[serde(default)]
    pub file: Option<At<String>>,
    /// The name of the `with:` argument that holds the key.
    pub key: At<String>,
}
