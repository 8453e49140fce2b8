//! bot.yaml as written: a deployable bot, its flows, global intents and actions.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::model::IntentDef;
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
    pub intents: Entries<IntentDef>,
    /// Actions that steps can `call`.
    #[serde(default)]
    pub actions: Entries<ActionDef>,
    /// The brand's time zone (IANA name, e.g. Europe/London): customers hear times in it.
    #[serde(default)]
    pub timezone: Option<At<String>>,
    /// The people who take over from the bot.
    #[serde(default)]
    pub agents: Entries<AgentDef>,
    /// Groups of agents, with business hours and holidays.
    #[serde(default)]
    pub teams: Entries<TeamDef>,
    /// Rules checked on every customer message; the first that holds brings in a human.
    #[serde(default)]
    pub escalation: Vec<At<EscalationDef>>,
    /// A condition that marks a VIP customer, who goes first in the queue (e.g. `vip == true`).
    #[serde(default)]
    pub vip: Option<At<String>>,
    /// Defaults for every handoff.
    #[serde(default)]
    pub handoff: Option<HandoffDefaults>,
    /// How messages are understood.
    #[serde(default)]
    pub understanding: Option<UnderstandingDef>,
}

/// Settings of intent classification and sentiment.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnderstandingDef {
    /// Below this confidence (0 to 1) a classifier guess is out of scope (default 0.6).
    #[serde(default)]
    pub threshold: Option<At<f64>>,
    /// More support cues for sentiment: a regex (case-insensitive) and its valence on
    /// VADER's -4..4 scale, e.g. `'\bsnail.?s pace\b': -1.5`.
    #[serde(default)]
    pub sentiment_cues: Entries<At<f64>>,
}

/// A named person who answers customers.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentDef {
    /// The name the customer hears ("Sarah").
    pub name: At<String>,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub teams: Vec<At<String>>,
    #[serde(default)]
    pub languages: Vec<String>,
    /// The agent's time zone (default: the brand's).
    #[serde(default)]
    pub timezone: Option<At<String>>,
    /// Weekly shifts in the agent's time zone: `mon-fri: 09:00-17:00`, `sat: 10:00-14:00`.
    #[serde(default)]
    pub shifts: Entries<At<String>>,
    /// Chats at once (default 3).
    #[serde(default)]
    pub max_chats: Option<At<u32>>,
}

/// A team of agents.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TeamDef {
    /// How the customer hears it: "our orders team".
    pub name: String,
    /// The team's time zone (default: the brand's).
    #[serde(default)]
    pub timezone: Option<At<String>>,
    /// Business hours; agents of the team serve only within them.
    #[serde(default)]
    pub hours: Entries<At<String>>,
    /// Days the team is closed, as YYYY-MM-DD.
    #[serde(default)]
    pub holidays: Vec<At<String>>,
}

/// An escalation rule: `when` and/or `keywords`, and who is wanted.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EscalationDef {
    /// A condition, e.g. `sentiment.score <= -0.6` or `fallbacks >= 2`.
    #[serde(default)]
    pub when: Option<At<String>>,
    /// Words or phrases that escalate (whole words, any case), e.g. lawyer, cancel my account.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// Why (journaled and shown to the agent).
    pub reason: String,
    #[serde(default)]
    pub skills: Vec<String>,
    #[serde(default)]
    pub team: Option<At<String>>,
    #[serde(default)]
    pub agent: Option<At<String>>,
    /// Higher goes first in the queue.
    #[serde(default)]
    pub priority: Option<i64>,
}

/// What every handoff does unless its step says otherwise.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffDefaults {
    /// The expected time an agent spends on a chat, until handle times are measured (default 8m).
    #[serde(default)]
    pub handle_time: Option<At<String>>,
    /// Where the bot resumes after an agent hands back (`flow.step`; default: the bot's start).
    #[serde(default)]
    pub on_return: Option<At<String>>,
    /// A flow to run when an agent resolves a chat asking for a rating.
    #[serde(default)]
    pub csat: Option<At<String>>,
    /// Said when an agent is assigned.
    #[serde(default)]
    pub say: Option<At<String>>,
    /// Said when the customer waits in line.
    #[serde(default)]
    pub queued: Option<At<String>>,
    /// Said when the customer's place in line gets better.
    #[serde(default)]
    pub moved: Option<At<String>>,
    /// Said when nobody is on shift.
    #[serde(default)]
    pub offline_say: Option<At<String>>,
    /// Said when the agent steps away and the chat goes back in line.
    #[serde(default)]
    pub requeued: Option<At<String>>,
    /// Said when an agent passes the chat to someone else.
    #[serde(default)]
    pub transferred: Option<At<String>>,
    /// Said when the customer writes while waiting for a person (in line, or before the
    /// assigned agent's first reply); nothing if not set.
    #[serde(default)]
    pub waiting: Option<At<String>>,
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
