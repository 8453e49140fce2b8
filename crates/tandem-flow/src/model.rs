//! The flow file as written: the YAML shape of a flow, with positions, before any checking.
//! The JSON Schema of flow files is derived from these types, so their doc comments are what
//! a flow author sees in their editor.

use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::Value;

use crate::span::{At, Entries};

/// One flow: a conversation topic (order tracking, returns, a survey) as named steps.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FlowFile {
    /// The flow's name, used in `goto: flow.step` from other flows.
    pub flow: At<String>,
    /// What the flow is for, for people reading it.
    #[serde(default)]
    pub description: Option<String>,
    /// The step the flow begins at (default: the first step).
    #[serde(default)]
    pub start: Option<At<String>>,
    /// The step run when an answer matches no route and the step has no `else`.
    #[serde(default)]
    pub fallback: Option<At<String>>,
    /// Intents this flow's routes recognise.
    #[serde(default)]
    pub intents: Entries<IntentDef>,
    /// The steps, by name.
    pub steps: Entries<StepDef>,
}

/// An intent: what the customer means, recognised by regex patterns, keywords and examples.
/// The intent `none` holds only examples of what the bot does not handle (out of scope).
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntentDef {
    /// Example messages (kept for the trained classifier).
    #[serde(default)]
    pub examples: Vec<String>,
    /// Regular expressions (case-insensitive) that mean this intent.
    #[serde(default)]
    pub patterns: Vec<At<String>>,
    /// Words or phrases (case-insensitive, whole words) that mean this intent.
    #[serde(default)]
    pub keywords: Vec<String>,
    /// In bot.yaml only (a global intent, recognised at every step): where to go when it
    /// matches, `flow` or `flow.step`.
    #[serde(default)]
    pub goto: Option<At<String>>,
}

/// One message, or several sent one after the other. Handlebars templates.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Messages {
    One(String),
    Many(Vec<String>),
}

impl Messages {
    pub fn texts(&self) -> Vec<&str> {
        match self {
            Messages::One(text) => vec![text.as_str()],
            Messages::Many(texts) => texts.iter().map(String::as_str).collect(),
        }
    }
}

/// A step: what the bot does and says, what it waits for, and where it goes next.
/// Order within a step: `set`, `call`, `say`, then `end` / `handoff`, or `ask` and wait for
/// an answer, or follow `next` / `goto` at once.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StepDef {
    /// What the step is for, for people reading it.
    #[serde(default)]
    pub description: Option<String>,
    /// Variables to set on entering the step; string values are templates.
    #[serde(default)]
    pub set: Entries<At<Value>>,
    /// An action to run; its answer is `result` in templates and conditions.
    #[serde(default)]
    pub call: Option<CallDef>,
    /// Messages to send.
    #[serde(default)]
    pub say: Option<At<Messages>>,
    /// A question: the bot sends it and waits for the answer.
    #[serde(default)]
    pub ask: Option<At<String>>,
    /// Buttons offered with the question (the bot waits for an answer).
    #[serde(default)]
    pub buttons: Option<Vec<At<String>>>,
    /// Store the answer in a variable, validated.
    #[serde(default)]
    pub capture: Option<CaptureDef>,
    /// Routes, tried in order; the first that matches is taken.
    #[serde(default)]
    pub next: Option<Vec<At<RouteDef>>>,
    /// The step to go to (after the answer, if the step waits for one).
    #[serde(default)]
    pub goto: Option<At<String>>,
    /// Close the conversation after this step's messages.
    #[serde(default)]
    pub end: Option<At<bool>>,
    /// Bring in a human.
    #[serde(default)]
    pub handoff: Option<At<HandoffDef>>,
    /// If no answer comes in time, go to a step.
    #[serde(default)]
    pub timeout: Option<DelayDef>,
    /// Some time after this step, go to a step, even after the conversation ended.
    #[serde(default)]
    pub follow_up: Option<DelayDef>,
}

/// A route: a condition on the answer and where it leads. Exactly one of `intent`, `match`,
/// `button`, `when` or `else`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RouteDef {
    /// The answer means this intent.
    #[serde(default)]
    pub intent: Option<At<String>>,
    /// With `intent`: the least confidence the route accepts (default 0.6).
    #[serde(default)]
    pub min_confidence: Option<At<f64>>,
    /// The answer matches this regular expression.
    #[serde(default, rename = "match")]
    pub matches: Option<At<String>>,
    /// The customer pressed (or typed) this button.
    #[serde(default)]
    pub button: Option<At<String>>,
    /// This condition holds, e.g. `result.status == "shipped"`.
    #[serde(default)]
    pub when: Option<At<String>>,
    /// Otherwise: go to this step.
    #[serde(default, rename = "else")]
    pub otherwise: Option<At<String>>,
    /// Messages to send when the route is taken.
    #[serde(default)]
    pub say: Option<At<Messages>>,
    /// Variables to set when the route is taken.
    #[serde(default)]
    pub set: Entries<At<Value>>,
    /// The step to go to (default: stay at this step and wait again).
    #[serde(default)]
    pub goto: Option<At<String>>,
}

/// The built-in types an answer can be validated as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CaptureType {
    Text,
    Number,
    Email,
    Phone,
    Date,
    YesNo,
    Button,
}

/// Store the customer's answer in a variable.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CaptureDef {
    /// The variable to store the answer in.
    pub var: At<String>,
    /// What kind of answer is expected (default: text, or button when the step has buttons).
    #[serde(default, rename = "type")]
    pub kind: Option<At<CaptureType>>,
    /// A regular expression the answer must match.
    #[serde(default)]
    pub pattern: Option<At<String>>,
    /// Said when the answer is not valid (a template).
    #[serde(default)]
    pub retry: Option<At<String>>,
    /// Attempts before giving up (default 3).
    #[serde(default)]
    pub max_tries: Option<At<u32>>,
    /// The step to go to after `max_tries` invalid answers (default: the flow's fallback).
    #[serde(default)]
    pub fallback: Option<At<String>>,
}

/// A delay and the step to go to after it.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DelayDef {
    /// How long: 90s, 15m, 2h, 3d.
    pub after: At<String>,
    /// The step to go to.
    pub goto: At<String>,
}

/// Hand the conversation to a named human: routed by skills, team or name to an agent on
/// shift with room; else the customer is told their place in line, or when the team is back.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoffDef {
    /// Skills the agent needs.
    #[serde(default)]
    pub skills: Vec<String>,
    /// The team to route to.
    #[serde(default)]
    pub team: Option<At<String>>,
    /// A named agent to route to.
    #[serde(default)]
    pub agent: Option<At<String>>,
    /// Why the bot steps aside (journaled; shown to the agent).
    #[serde(default)]
    pub reason: Option<String>,
    /// Higher goes first in the queue (default 0).
    #[serde(default)]
    pub priority: Option<i64>,
    /// Said when an agent is assigned, e.g. "I'm bringing in {{agent.name}} from {{agent.team}}."
    #[serde(default)]
    pub say: Option<At<String>>,
    /// Said when the customer waits in line: `{{queue.position}}`, `{{queue.eta}}`.
    #[serde(default)]
    pub queued: Option<At<String>>,
    /// Said when nobody is on shift: `{{team.back}}` says when ("on Monday at 9:00").
    #[serde(default)]
    pub offline_say: Option<At<String>>,
    /// A step the bot runs while nobody is on shift (to collect details); the chat still
    /// goes to the first agent whose shift starts.
    #[serde(default)]
    pub offline: Option<At<String>>,
    /// Where the bot resumes when the agent hands the chat back.
    #[serde(default)]
    pub on_return: Option<At<String>>,
}

/// Run an action declared in bot.yaml.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CallDef {
    /// The action's name, as declared under `actions:` in bot.yaml.
    pub action: At<String>,
    /// Arguments; values are templates.
    #[serde(default, rename = "with")]
    pub args: Entries<At<String>>,
}
