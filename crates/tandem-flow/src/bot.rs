//! A loaded, checked bot, ready to run: every flow with its steps resolved to indices,
//! regexes and conditions compiled, templates registered. Built by [`crate::load`].

use std::collections::HashMap;

use chrono::Duration;
use regex::Regex;
use serde_json::{Map, Value};

use tandem_core::Wants;
use tandem_handoff::Roster;
use tandem_nlu::IntentDefinition;

use crate::condition::Condition;
use crate::model::CaptureType;
use crate::template::{TemplateId, Templates};

/// A bot ready to run.
#[derive(Debug)]
pub struct Bot {
    pub id: String,
    /// True when some step can `goto: repeat`. Only then does a conversation keep the step
    /// whose answer was not understood, to go back to it.
    pub goes_back: bool,
    /// `bot.*` in templates: `name` and the bot's `vars`.
    pub vars: Map<String, Value>,
    pub flows: Vec<Flow>,
    pub start: StepRef,
    /// Said when nothing says what to do with an answer.
    pub fallback_message: TemplateId,
    /// Intents that interrupt any step, and where they lead.
    pub global_intents: Vec<(String, StepRef)>,
    /// Every intent of the bot and its flows, for the intent matcher.
    pub intents: Vec<IntentDefinition>,
    pub actions: HashMap<String, Action>,
    pub templates: Templates,
    /// The agents and teams who take over.
    pub roster: Roster,
    /// Checked on every customer message while the bot owns the chat.
    pub escalation: Vec<EscalationRule>,
    /// Marks a VIP customer (first in the queue).
    pub vip: Option<Condition>,
    pub handoff: HandoffSettings,
    /// Below this confidence a classifier guess is out of scope.
    pub intent_threshold: f64,
    /// Extra sentiment cues: (regex, valence).
    pub sentiment_cues: Vec<(String, f64)>,
}

/// A rule that brings in a human when it holds.
#[derive(Debug)]
pub struct EscalationRule {
    /// How the journal names it: `rule 2 (sentiment.score <= -0.6)`.
    pub name: String,
    pub when: Option<Condition>,
    /// Whole-word, case-insensitive keywords.
    pub keywords: Option<Regex>,
    pub reason: String,
    pub wants: Wants,
    pub priority: i64,
}

/// Bot-wide handoff behaviour.
#[derive(Debug)]
pub struct HandoffSettings {
    pub on_return: Option<StepRef>,
    pub csat: Option<StepRef>,
    pub say: HandoffMessages,
}

/// What the customer hears at each turn of a handoff.
#[derive(Debug, Clone, Copy)]
pub struct HandoffMessages {
    pub assigned: TemplateId,
    pub queued: TemplateId,
    pub moved: TemplateId,
    pub offline: TemplateId,
    pub requeued: TemplateId,
    pub transferred: TemplateId,
    pub waiting: Option<TemplateId>,
}

/// One flow of a bot.
#[derive(Debug)]
pub struct Flow {
    pub name: String,
    pub start: usize,
    pub fallback: Option<usize>,
    pub steps: Vec<Step>,
    pub index: HashMap<String, usize>,
}

/// A step, by flow and step index.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct StepRef {
    pub flow: usize,
    pub step: usize,
}

/// Where a `goto` leads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Step(StepRef),
    /// Back to the step whose answer was not understood, asking again.
    Repeat,
}

#[derive(Debug)]
pub struct Step {
    pub name: String,
    pub set: Vec<Assignment>,
    pub call: Option<Call>,
    pub say: Vec<TemplateId>,
    pub ask: Option<TemplateId>,
    pub buttons: Vec<String>,
    pub capture: Option<Capture>,
    pub routes: Vec<Route>,
    pub goto: Option<Target>,
    pub end: bool,
    pub handoff: Option<HandoffStep>,
    pub timeout: Option<Delay>,
    pub follow_up: Option<Delay>,
}

impl Step {
    /// True when the bot waits for the customer's answer at this step.
    pub fn waits(&self) -> bool {
        self.ask.is_some() || !self.buttons.is_empty() || self.capture.is_some()
    }

    /// Where the step's own `goto`s lead: after the step, from each route, and from its
    /// capture when the answer never fits.
    pub fn gotos(&self) -> impl Iterator<Item = Target> + '_ {
        let capture_fallback = self.capture.as_ref().and_then(|capture| capture.fallback);
        self.goto.into_iter().chain(self.routes.iter().filter_map(|route| route.goto)).chain(capture_fallback)
    }
}

/// `name: value` in a `set:`.
#[derive(Debug)]
pub struct Assignment {
    pub var: String,
    pub value: SetValue,
}

#[derive(Debug)]
pub enum SetValue {
    Literal(Value),
    Template(TemplateId),
}

#[derive(Debug)]
pub struct Call {
    pub action: String,
    pub args: Vec<(String, TemplateId)>,
}

#[derive(Debug)]
pub struct Capture {
    pub var: String,
    pub kind: CaptureType,
    pub pattern: Option<Regex>,
    pub retry: Option<TemplateId>,
    pub max_tries: u32,
    pub fallback: Option<Target>,
}

#[derive(Debug)]
pub struct Route {
    pub condition: RouteCondition,
    pub say: Vec<TemplateId>,
    pub set: Vec<Assignment>,
    pub goto: Option<Target>,
}

#[derive(Debug)]
pub enum RouteCondition {
    /// The intent, with at least this confidence.
    Intent(String, f64),
    Match(Regex),
    Button(String),
    When(Condition),
    Else,
}

/// A step that brings in a human.
#[derive(Debug)]
pub struct HandoffStep {
    pub wants: Wants,
    pub reason: String,
    pub priority: i64,
    pub say: Option<TemplateId>,
    pub queued: Option<TemplateId>,
    pub offline_say: Option<TemplateId>,
    pub offline: Option<StepRef>,
    pub on_return: Option<StepRef>,
}

#[derive(Debug)]
pub struct Delay {
    pub after: Duration,
    pub goto: StepRef,
}

/// An action a step can call.
#[derive(Debug)]
pub enum Action {
    /// Rows of a data file by key; the `with:` argument named `key` holds the key.
    Lookup { key: String, rows: Map<String, Value> },
}

impl Bot {
    pub fn flow(&self, r: StepRef) -> &Flow {
        &self.flows[r.flow]
    }

    pub fn step(&self, r: StepRef) -> &Step {
        &self.flows[r.flow].steps[r.step]
    }

    /// `flow.step`, the way positions and timers name a step.
    pub fn qualified(&self, r: StepRef) -> String {
        format!("{}.{}", self.flows[r.flow].name, self.step(r).name)
    }

    /// The step called `step` in the flow called `flow`.
    pub fn find(&self, flow: &str, step: &str) -> Option<StepRef> {
        let f = self.flows.iter().position(|f| f.name == flow)?;
        let s = *self.flows[f].index.get(step)?;
        Some(StepRef { flow: f, step: s })
    }

    /// A qualified `flow.step` name, or a flow name (its start step).
    pub fn find_qualified(&self, name: &str) -> Option<StepRef> {
        match name.split_once('.') {
            Some((flow, step)) => self.find(flow, step),
            None => {
                let f = self.flows.iter().position(|f| f.name == name)?;
                Some(StepRef { flow: f, step: self.flows[f].start })
            }
        }
    }
}

impl Action {
    /// Run the action with rendered arguments; the answer becomes `result`.
    pub fn run(&self, args: &Map<String, Value>) -> Value {
        match self {
            Action::Lookup { key, rows } => {
                let wanted = args.get(key).and_then(Value::as_str).unwrap_or_default().trim();
                let row = rows.iter().find(|(k, _)| k.eq_ignore_ascii_case(wanted)).map(|(_, v)| v);
                let mut result = match row {
                    Some(Value::Object(fields)) => fields.clone(),
                    Some(other) => Map::from_iter([("value".to_string(), other.clone())]),
                    None => Map::new(),
                };
                result.insert("found".into(), Value::Bool(row.is_some()));
                Value::Object(result)
            }
        }
    }
}
