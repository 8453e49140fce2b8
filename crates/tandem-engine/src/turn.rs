//! One turn of a conversation: what the bot does with one input, step by step. Everything
//! here is pure; the effects are collected and returned to the shell.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};
use tandem_core::{BotAt, CompactString, Conversation, Event, JournalEntry, Outbound, Owner, Timer, TimerKind};
use tandem_flow::bot::{Assignment, RouteCondition, SetValue, Step};
use tandem_flow::condition::Variables;
use tandem_flow::template::{TemplateData, TemplateId};
use tandem_flow::{StepRef, Target};
use tandem_nlu::IntentScore;

use crate::answer::validate;
use crate::engine::{Effects, Engine};

/// The confidence a global intent (e.g. `human`) needs to interrupt the step the bot is at.
const GLOBAL_MIN_CONFIDENCE: f64 = 0.8;

/// Steps entered in one turn before the bot decides the flow loops and stops.
const MAX_HOPS: usize = 64;

pub(crate) struct Turn<'a> {
    pub(crate) engine: &'a Engine,
    pub(crate) conv: &'a mut Conversation,
    pub(crate) fx: Effects,
    pub(crate) now: DateTime<Utc>,
    pub(crate) intents: Vec<IntentScore>,
    pub(crate) hops: usize,
    /// Enter the next waiting step without asking its question (it is already answered).
    pub(crate) quiet_prompt: bool,
}

impl<'a> Turn<'a> {
    pub fn new(engine: &'a Engine, conv: &'a mut Conversation, now: DateTime<Utc>) -> Self {
        Self { engine, conv, fx: Effects::default(), now, intents: Vec::new(), hops: 0, quiet_prompt: false }
    }

    /// The bot, for as long as the turn lasts (not tied to a borrow of the turn).
    pub(crate) fn bot(&self) -> &'a tandem_flow::Bot {
        &self.engine.bot
    }

    pub fn finish(self) -> Effects {
        self.conv.updated_at = self.now;
        self.fx
    }

    /// Journal `event`, numbered on from the conversation's last, at the step's time.
    pub(crate) fn record(&mut self, event: Event) {
        self.conv.journal_seq += 1;
        self.fx.events.push(JournalEntry { seq: self.conv.journal_seq, at: self.now, event });
    }

    // ----- inputs -----

    /// The customer's message: journaled first, its text moved there once the turn has read it.
    pub fn on_message(&mut self, text: String, button: Option<String>, sentiment: Option<f64>) {
        let said = self.fx.events.len();
        self.record(Event::CustomerSaid { text: String::new(), button: None });
        self.respond(&text, button.as_deref(), sentiment);
        if let Some(Event::CustomerSaid { text: journaled, button: pressed }) =
            self.fx.events.get_mut(said).map(|entry| &mut entry.event)
        {
            (*journaled, *pressed) = (text, button);
        }
    }

    /// What the bot does with the customer's message.
    fn respond(&mut self, text: &str, button: Option<&str>, sentiment: Option<f64>) {
        // A score from upstream wins; otherwise the engine scores the text itself.
        let score = match (sentiment, button) {
            (Some(score), _) => Some(score),
            (None, None) => Some(self.engine.sentiment.score(text)),
            (None, Some(_)) => None, // a button press says nothing about mood
        };
        if let Some(score) = score {
            self.note_sentiment(score);
        }
        if self.conv.human_side() {
            // Kept in the journal for the agent; the bot does not answer for itself.
            self.acknowledge_waiting();
            return;
        }
        let answer = button.unwrap_or(text);
        self.conv.vars.set_text("answer", answer);
        self.intents = self.engine.intents.classify(answer);
        self.note_intent();
        let bot_owns = matches!(self.conv.owner, Owner::Bot { .. } | Owner::Closed);
        if bot_owns && self.escalate_by_rules(text) {
            return;
        }
        self.cancel_timeout();

        let global = if button.is_none() { self.global_intent() } else { None };
        let waiting_at = self.conv.bot_at().filter(|at| at.waiting).and_then(|at| self.bot().find(at.flow, at.step));
        match (global, waiting_at) {
            (Some(target), _) => {
                self.conv.fallbacks = 0;
                self.enter(target);
            }
            (None, Some(at)) => self.answer(at, answer, button.is_some()),
            (None, None) if bot_owns => {
                // A new conversation, one that ended, or one resting at a step with no way on.
                self.conv.fallbacks = 0;
                self.open(answer, button.is_some());
            }
            (None, None) => {} // parked, the offline step done: kept for the agent
        }
    }

    /// `intent` and `intent.confidence` of the message just classified. When none was
    /// recognised they are unset rather than stored as null (every stored state is 40 bytes
    /// shorter); templates and conditions still read them as null (`DataView`).
    fn note_intent(&mut self) {
        match self.intents.first().cloned() {
            Some(top) => {
                self.conv.vars.insert("intent".into(), Value::String(top.intent.clone()));
                self.conv.vars.insert("intent.confidence".into(), serde_json::json!(top.confidence));
                self.record(Event::IntentDetected { intent: top.intent, confidence: top.confidence });
            }
            None => {
                self.conv.vars.remove("intent");
                self.conv.vars.remove("intent.confidence");
            }
        }
    }

    /// Start at the bot's start step. When the opening message already answers it ("where
    /// is my order?"), greet without asking and take the route at once.
    fn open(&mut self, text: &str, pressed: bool) {
        let start = self.bot().start;
        let step = self.bot().step(start);
        let answered = step.waits()
            && step.capture.is_none()
            && step.routes.iter().any(|r| {
                matches!(r.condition, RouteCondition::Intent(..) | RouteCondition::Match(_))
                    && self.route_matches(&r.condition, text, pressed)
            });
        if !answered {
            self.enter(start);
            return;
        }
        self.quiet_prompt = true;
        self.enter(start);
        self.quiet_prompt = false;
        self.answer(start, text, pressed);
    }

    pub fn on_timer(&mut self, timer: &Timer) {
        let (flow, step, goto) = match &timer.kind {
            TimerKind::ShiftStart => return self.on_shift_start(),
            TimerKind::Timeout { flow, step, goto } => {
                let current = self.conv.bot_at().is_some_and(|at| at.waiting && at.flow == flow && at.step == step);
                if !current || self.conv.timeout.as_deref() != Some(timer.id.as_str()) {
                    return; // the customer answered in time: a stale timer
                }
                self.conv.timeout = None;
                (flow, step, goto)
            }
            TimerKind::FollowUp { flow, step, goto } => (flow, step, goto),
        };
        self.record(Event::TimerFired { kind: timer.kind.label().into(), step: format!("{flow}.{step}") });
        if self.conv.human_side() {
            // A person has the chat: the bot's timers say nothing.
            self.record(Event::BotSilenced { text: format!("{} of {flow}.{step}", timer.kind.label()) });
            return;
        }
        self.cancel_timeout();
        match self.bot().find_qualified(goto) {
            Some(target) => self.enter(target),
            None => self.enter(self.bot().start),
        }
    }

    /// A global intent interrupts any step only when the bot is sure of it.
    fn global_intent(&self) -> Option<StepRef> {
        let bot = self.bot();
        self.intents
            .iter()
            .filter(|s| s.confidence >= GLOBAL_MIN_CONFIDENCE)
            .find_map(|s| bot.global_intents.iter().find(|(name, _)| *name == s.intent).map(|(_, r)| *r))
    }

    pub(crate) fn cancel_timeout(&mut self) {
        if let Some(id) = self.conv.timeout.take() {
            self.fx.cancel_timers.push(id.into());
        }
    }

    // ----- answers -----

    fn answer(&mut self, at: StepRef, text: &str, pressed: bool) {
        let step = self.bot().step(at);
        if let Some(capture) = &step.capture {
            match validate(capture, text, &step.buttons, self.now) {
                Ok(value) => {
                    self.conv.tries = 0;
                    self.set_var(&capture.var, value);
                }
                Err(()) => {
                    self.conv.tries += 1;
                    self.record(Event::CaptureRejected { var: capture.var.clone(), tries: self.conv.tries });
                    if self.conv.tries < capture.max_tries {
                        let retry = capture.retry.map(|t| self.render(t));
                        self.reprompt(at, retry);
                        return;
                    }
                    self.conv.tries = 0;
                    match capture.fallback {
                        Some(target) => self.go(target, at),
                        None => self.fallback(at),
                    }
                    return;
                }
            }
        }
        if step.routes.is_empty() {
            self.conv.fallbacks = 0;
            match step.goto {
                Some(target) => self.go(target, at),
                None if step.capture.is_some() => self.rest(),
                None => self.fallback(at),
            }
            return;
        }
        let chosen = step.routes.iter().position(|route| self.route_matches(&route.condition, text, pressed));
        match chosen {
            Some(i) => {
                let route = &step.routes[i];
                // An `else` after a capture is a branch, not a misunderstanding.
                if matches!(route.condition, RouteCondition::Else) && step.capture.is_none() {
                    self.count_fallback(at);
                } else {
                    self.conv.fallbacks = 0;
                }
                self.take_route(at, i);
            }
            None => self.fallback(at),
        }
    }

    fn route_matches(&self, condition: &RouteCondition, text: &str, pressed: bool) -> bool {
        match condition {
            RouteCondition::Intent(name, min) => self.intents.iter().any(|s| s.intent == *name && s.confidence >= *min),
            RouteCondition::Match(regex) => regex.is_match(text),
            RouteCondition::Button(label) => text.trim().eq_ignore_ascii_case(label) || (pressed && text == label),
            RouteCondition::When(condition) => condition.holds(&Variables::from_json(&self.data())),
            RouteCondition::Else => true,
        }
    }

    fn take_route(&mut self, at: StepRef, index: usize) {
        let route = &self.bot().step(at).routes[index];
        self.assign(&route.set);
        for &t in &route.say {
            self.say(t, Vec::new());
        }
        match route.goto {
            Some(target) => self.go(target, at),
            None => self.wait_again(at),
        }
    }

    fn count_fallback(&mut self, at: StepRef) {
        self.conv.fallbacks += 1;
        if self.bot().goes_back {
            let (flow, step) = self.names(at);
            self.conv.repeat = Some(Box::new((flow.into(), step.into())));
        }
        self.record(Event::Fallback { count: self.conv.fallbacks });
    }

    /// The answer was not understood: the flow's fallback step, or the bot's fallback
    /// message and the question again.
    fn fallback(&mut self, at: StepRef) {
        self.count_fallback(at);
        match self.bot().flow(at).fallback {
            Some(step) => self.enter(StepRef { flow: at.flow, step }),
            None => self.reprompt(at, None),
        }
    }

    // ----- steps -----

    fn go(&mut self, target: Target, from: StepRef) {
        match target {
            Target::Step(r) => self.enter(r),
            Target::Repeat => {
                // Back to the step whose answer was not understood: its question again.
                match self.conv.repeat.take().and_then(|at| self.bot().find(&at.0, &at.1)) {
                    Some(back) => {
                        self.prompt(back);
                        self.wait_again(back);
                    }
                    None => self.enter(from),
                }
            }
        }
    }

    /// Enter a step: set, call, say, then end, hand off, wait or go on.
    pub(crate) fn enter(&mut self, at: StepRef) {
        self.hops += 1;
        let (flow, step_name) = self.names(at);
        if self.hops > MAX_HOPS {
            self.record(Event::LoopStopped { flow: flow.into(), step: step_name.into() });
            self.rest();
            return;
        }
        self.place(flow, step_name, false);
        self.conv.tries = 0;
        self.record(Event::StepEntered { flow: flow.into(), step: step_name.into() });
        let step: &Step = self.bot().step(at);
        self.assign(&step.set);
        if let Some(call) = &step.call {
            self.call(call);
        }
        let last = step.say.len().saturating_sub(1);
        let buttons_on_say = step.ask.is_none() && !step.buttons.is_empty();
        for (i, &t) in step.say.iter().enumerate() {
            let buttons = if buttons_on_say && i == last { step.buttons.clone() } else { Vec::new() };
            self.say(t, buttons);
        }
        if let Some(delay) = &step.follow_up {
            let kind = self.timer_kind(at, delay.goto, true);
            self.set_timer(self.now + delay.after, kind);
        }
        if step.end {
            self.close();
        } else if let Some(handoff) = &step.handoff {
            let request = self.handoff_from_step(at, handoff);
            self.request_handoff(request);
        } else if step.waits() {
            if !self.quiet_prompt && (step.ask.is_some() || step.say.is_empty()) {
                self.prompt(at);
            }
            self.wait_again(at);
        } else if let Some(i) = step.routes.iter().position(|r| self.route_matches(&r.condition, "", false)) {
            self.take_route(at, i);
        } else if let Some(target) = step.goto {
            self.go(target, at);
        } else {
            self.rest();
        }
    }

    /// Ask the step's question (with its buttons); a step without `ask` shows its buttons
    /// under its last message.
    fn prompt(&mut self, at: StepRef) {
        let step = self.bot().step(at);
        match (step.ask, step.say.last()) {
            (Some(ask), _) => self.say(ask, step.buttons.clone()),
            (None, Some(&last)) => self.say(last, step.buttons.clone()),
            (None, None) if !step.buttons.is_empty() => {
                let text = self.render(self.bot().fallback_message);
                self.send(text, step.buttons.clone());
            }
            (None, None) => {}
        }
    }

    /// After an answer that did not work: a capture's `retry` message (with the buttons), or
    /// the bot's fallback message and the question again. Then wait.
    fn reprompt(&mut self, at: StepRef, retry: Option<String>) {
        match retry {
            Some(text) => self.send(text, self.bot().step(at).buttons.clone()),
            None => {
                let sorry = self.render(self.bot().fallback_message);
                self.send(sorry, Vec::new());
                self.prompt(at);
            }
        }
        self.wait_again(at);
    }

    /// Wait at `at` for the customer's answer, with the step's timeout armed.
    fn wait_again(&mut self, at: StepRef) {
        let (flow, step) = self.names(at);
        self.place(flow, step, true);
        self.cancel_timeout();
        if let Some(delay) = &self.bot().step(at).timeout {
            let kind = self.timer_kind(at, delay.goto, false);
            let id = self.set_timer(self.now + delay.after, kind);
            self.conv.timeout = Some(id.into());
        }
    }

    /// Put the bot at a step: as the owner, or inside a parked chat (its offline step).
    /// A bot already at a step keeps the names that do not change (most steps stay in their
    /// flow; a name longer than 24 bytes is not inline).
    fn place(&mut self, flow: &str, step: &str, waiting: bool) {
        fn set(name: &mut CompactString, to: &str) {
            if name != to {
                *name = to.into();
            }
        }
        let (at_flow, at_step, at_waiting) = match &mut self.conv.owner {
            Owner::Bot { flow, step, waiting } => (flow, step, waiting),
            Owner::Parked { bot: Some(at), .. } => {
                let at = &mut **at;
                (&mut at.flow, &mut at.step, &mut at.waiting)
            }
            Owner::Parked { bot, .. } => {
                *bot = Some(Box::new(BotAt { flow: flow.into(), step: step.into(), waiting }));
                return;
            }
            owner => {
                *owner = Owner::Bot { flow: flow.into(), step: step.into(), waiting };
                return;
            }
        };
        set(at_flow, flow);
        set(at_step, step);
        *at_waiting = waiting;
    }

    pub(crate) fn rest(&mut self) {
        match &mut self.conv.owner {
            Owner::Bot { waiting, .. } => *waiting = false,
            Owner::Parked { bot: Some(at), .. } => at.waiting = false,
            _ => {}
        }
    }

    /// The flow ends: the conversation closes, or a parked one goes on waiting for its agent.
    pub(crate) fn close(&mut self) {
        self.cancel_timeout();
        if let Owner::Parked { bot, .. } = &mut self.conv.owner {
            *bot = None;
            return;
        }
        self.conv.owner = Owner::Closed;
        self.conv.fallbacks = 0;
        self.record(Event::Ended);
    }

    // ----- effects -----

    pub(crate) fn say(&mut self, template: TemplateId, buttons: Vec<String>) {
        let text = self.render(template);
        self.send(text, buttons);
    }

    /// The bot speaks: never while a person has the chat (or it waits for one).
    fn send(&mut self, text: String, buttons: Vec<String>) {
        if self.conv.human_side() {
            self.record(Event::BotSilenced { text });
            return;
        }
        self.deliver(None, text, buttons);
    }

    /// A message to the customer: the bot's (`from` none) or an agent's.
    pub(crate) fn deliver(&mut self, from: Option<String>, text: String, buttons: Vec<String>) {
        if text.trim().is_empty() && buttons.is_empty() {
            return;
        }
        match &from {
            Some(agent) => self.record(Event::AgentSaid { agent: agent.clone(), text: text.clone() }),
            None => self.record(Event::BotSaid { text: text.clone(), buttons: buttons.clone() }),
        }
        self.fx.outbound.push(Outbound { from, text, buttons });
    }

    pub(crate) fn set_timer(&mut self, due: DateTime<Utc>, kind: TimerKind) -> String {
        self.conv.timer_seq += 1;
        let id = format!("{}#{}", self.conv.id.key(), self.conv.timer_seq);
        self.fx.set_timers.push(Timer { id: id.clone(), conversation: self.conv.id.clone(), due, kind });
        id
    }

    fn timer_kind(&self, at: StepRef, goto: StepRef, follow_up: bool) -> TimerKind {
        let (flow, step) = self.names(at);
        let (flow, step) = (flow.to_string(), step.to_string());
        let goto = self.bot().qualified(goto);
        if follow_up { TimerKind::FollowUp { flow, step, goto } } else { TimerKind::Timeout { flow, step, goto } }
    }

    pub(crate) fn assign(&mut self, assignments: &[Assignment]) {
        for a in assignments {
            let value = match &a.value {
                SetValue::Literal(v) => v.clone(),
                SetValue::Template(t) => Value::String(self.render(*t)),
            };
            self.set_var(&a.var, value);
        }
    }

    fn call(&mut self, call: &tandem_flow::bot::Call) {
        let args: Map<String, Value> =
            call.args.iter().map(|(k, t)| (k.clone(), Value::String(self.render(*t)))).collect();
        let result = match self.bot().actions.get(&call.action) {
            Some(action) => action.run(&args),
            None => json!({ "found": false }),
        };
        self.set_var("result", result);
    }

    pub(crate) fn set_var(&mut self, name: &str, value: Value) {
        self.record(Event::VariableSet { name: name.to_string(), value: value.clone() });
        self.conv.vars.insert(name.into(), value);
    }

    // ----- data for templates and conditions -----

    pub(crate) fn render(&self, template: TemplateId) -> String {
        let templates = &self.bot().templates;
        templates.render_with(template, || self.view(templates.roots(template)))
    }

    /// Everything templates and conditions can read, as an owned map (for conditions).
    pub(crate) fn data(&self) -> Map<String, Value> {
        match serde_json::to_value(self.view(None)) {
            Ok(Value::Object(map)) => map,
            _ => Map::new(),
        }
    }

    /// What templates and conditions can read (all of it, or only the top-level names in
    /// `only`), borrowed from the conversation.
    fn view<'v>(&'v self, only: Option<&'v [String]>) -> DataView<'v> {
        DataView { conv: self.conv, bot_vars: &self.bot().vars, only }
    }

    /// The flow's and the step's names, borrowed from the bot.
    pub(crate) fn names(&self, at: StepRef) -> (&'a str, &'a str) {
        (&self.bot().flow(at).name, &self.bot().step(at).name)
    }
}

/// The variables of a conversation plus `sentiment`, `agent`, `user`, `bot` and `fallbacks`,
/// serialised straight from the conversation without copying it first (rendering is on every
/// reply).
struct DataView<'a> {
    conv: &'a Conversation,
    bot_vars: &'a Map<String, Value>,
    only: Option<&'a [String]>,
}

/// Names the view fills from the conversation and the bot, never from a variable of the name.
const VIEW_OWN_NAMES: [&str; 3] = ["user", "bot", "fallbacks"];

impl TemplateData for DataView<'_> {
    /// A variable's text. The view's own names, and `sentiment` and `agent` (the
    /// conversation's fields, when it has them), are left to Handlebars.
    fn text(&self, name: &str) -> Option<&str> {
        if VIEW_OWN_NAMES.contains(&name) || name == "sentiment" || name == "agent" {
            return None;
        }
        self.conv.vars.get(name)?.as_str()
    }
}

impl serde::Serialize for DataView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let wanted = |name: &str| self.only.is_none_or(|only| only.iter().any(|n| n == name));
        let user = &self.conv.user;
        let mut map = serializer.serialize_map(None)?;
        let sentiment = Some(&self.conv.sentiment).filter(|s| !s.is_unscored() && wanted("sentiment"));
        let agent = self.conv.agent.as_deref().filter(|_| wanted("agent"));
        // A variable of the name of a field (as states stored before the field kept it) is
        // shown only when the field is unset.
        let in_a_field = |name: &str| match name {
            "sentiment" => sentiment.is_some(),
            "agent" => agent.is_some(),
            _ => false,
        };
        let shown = |name: &str| !VIEW_OWN_NAMES.contains(&name) && wanted(name) && !in_a_field(name);
        for (name, value) in self.conv.vars.iter().filter(|(name, _)| shown(name)) {
            map.serialize_entry(name, value)?;
        }
        // Unset when the last message had no intent (see `note_intent`); read as null, as
        // when they were stored so.
        for name in ["intent", "intent.confidence"] {
            if wanted(name) && !self.conv.vars.contains_key(name) {
                map.serialize_entry(name, &Value::Null)?;
            }
        }
        if let Some(sentiment) = sentiment {
            map.serialize_entry("sentiment", sentiment)?;
        }
        if let Some(agent) = agent {
            map.serialize_entry("agent", agent)?;
        }
        if wanted("user") {
            map.serialize_entry(
                "user",
                &json!({ "id": user.id, "name": user.name, "first_name": user.first_name(), "channel": self.conv.id.channel() }),
            )?;
        }
        if wanted("bot") {
            map.serialize_entry("bot", self.bot_vars)?;
        }
        if wanted("fallbacks") {
            map.serialize_entry("fallbacks", &self.conv.fallbacks)?;
        }
        map.end()
    }
}
