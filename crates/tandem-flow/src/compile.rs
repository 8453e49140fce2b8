//! Turns flow files as written ([`crate::model`]) into runnable steps ([`crate::bot`]),
//! reporting every problem it meets with its file and position: missing steps, bad regexes,
//! template and condition syntax, routes that cannot work.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use regex::{Regex, RegexBuilder};
use serde_json::Value;

use crate::bot::{
    Assignment, Call, Capture, Delay, HandoffStep, Route, RouteCondition, SetValue, Step, StepRef, Target,
};
use tandem_handoff::Roster;

use crate::condition::Condition;
use crate::diagnostic::Report;
use crate::duration::parse_duration;
use crate::model::{CaptureType, DelayDef, FlowFile, HandoffDef, Messages, RouteDef, StepDef};
use crate::span::{At, Entries, Pos};
use crate::template::{self, TemplateId, Templates};

/// The `goto` target that returns to the step whose answer was not understood.
pub const REPEAT: &str = "repeat";

/// Where a variable is read, for the "nothing sets it" check.
#[derive(Debug)]
pub struct VarRead {
    pub name: String,
    pub file: PathBuf,
    pub pos: Pos,
}

/// What the compiler learns about variables across the whole bot.
#[derive(Debug, Default)]
pub struct VarUsage {
    pub set: HashSet<String>,
    pub reads: Vec<VarRead>,
    pub calls_actions: bool,
}

/// The names every flow of a bot can refer to.
pub struct Names {
    pub flows: Vec<String>,
    pub steps: Vec<HashMap<String, usize>>,
    pub starts: Vec<usize>,
    pub intents: HashSet<String>,
    pub actions: HashSet<String>,
}

impl Names {
    /// Resolve a `goto` written in flow `from`: a local step, `flow.step`, or a flow name.
    pub fn resolve(&self, from: usize, name: &str) -> Result<Target, String> {
        if name == REPEAT {
            return Ok(Target::Repeat);
        }
        self.resolve_step(Some(from), name).map(Target::Step)
    }

    /// Resolve a step name that must be a real step (`repeat` is not allowed).
    pub fn resolve_step(&self, from: Option<usize>, name: &str) -> Result<StepRef, String> {
        if let Some(flow) = from
            && let Some(&step) = self.steps[flow].get(name)
        {
            return Ok(StepRef { flow, step });
        }
        if let Some((flow_name, step_name)) = name.split_once('.') {
            let Some(flow) = self.flows.iter().position(|f| f == flow_name) else {
                return Err(format!(
                    "goes to `{name}`, but there is no flow `{flow_name}`{}",
                    suggest(flow_name, &self.flows)
                ));
            };
            return match self.steps[flow].get(step_name) {
                Some(&step) => Ok(StepRef { flow, step }),
                None => {
                    let known: Vec<String> = self.steps[flow].keys().cloned().collect();
                    Err(format!(
                        "goes to `{name}`, but flow `{flow_name}` has no step `{step_name}`{}",
                        suggest(step_name, &known)
                    ))
                }
            };
        }
        if let Some(flow) = self.flows.iter().position(|f| f == name) {
            return Ok(StepRef { flow, step: self.starts[flow] });
        }
        let mut known: Vec<String> = from.map(|f| self.steps[f].keys().cloned().collect()).unwrap_or_default();
        known.extend(self.flows.iter().cloned());
        Err(format!("goes to a missing step `{name}`{}", suggest(name, &known)))
    }
}

/// " (did you mean `x`?)" when a known name is close to `name`.
pub fn suggest(name: &str, known: &[String]) -> String {
    known
        .iter()
        .map(|k| (strsim::levenshtein(name, k), k))
        .filter(|(d, k)| *d <= 2.max(k.len() / 3))
        .min()
        .map(|(_, k)| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

/// Compile a case-insensitive regex written by a flow author.
pub fn author_regex(source: &str) -> Result<Regex, String> {
    RegexBuilder::new(source).case_insensitive(true).size_limit(1 << 20).build().map_err(|e| {
        format!("invalid regex: {}", e.to_string().lines().last().unwrap_or("").trim_start_matches("error: "))
    })
}

/// Compiles the steps of one bot's flows.
pub struct Compiler<'a> {
    pub report: &'a mut Report,
    pub templates: &'a mut Templates,
    pub names: &'a Names,
    pub usage: &'a mut VarUsage,
    pub roster: &'a Roster,
}

impl Compiler<'_> {
    /// Compile a template written at `pos`, noting the variables it reads.
    pub fn template(&mut self, file: &Path, source: &str, pos: Pos) -> Option<TemplateId> {
        let compiled = match template::compile(source) {
            Ok(t) => t,
            Err(e) => {
                self.report.error(file, pos, e);
                return None;
            }
        };
        for name in template::variables(&compiled) {
            self.usage.reads.push(VarRead { name, file: file.to_path_buf(), pos });
        }
        self.templates.add(source).ok()
    }

    fn messages(&mut self, file: &Path, messages: &Option<At<Messages>>) -> Vec<TemplateId> {
        let Some(messages) = messages else {
            return Vec::new();
        };
        let texts: Vec<String> = messages.value.texts().into_iter().map(str::to_string).collect();
        texts.iter().filter_map(|text| self.template(file, text, messages.pos)).collect()
    }

    fn assignments(&mut self, file: &Path, set: &Entries<At<Value>>) -> Vec<Assignment> {
        let mut out = Vec::new();
        for (var, value) in set.iter() {
            self.usage.set.insert(var.value.clone());
            let value = match &value.value {
                Value::String(source) => match self.template(file, source, value.pos) {
                    Some(id) => SetValue::Template(id),
                    None => continue,
                },
                other => SetValue::Literal(other.clone()),
            };
            out.push(Assignment { var: var.value.clone(), value });
        }
        out
    }

    fn target(&mut self, file: &Path, flow: usize, name: &At<String>) -> Option<Target> {
        match self.names.resolve(flow, &name.value) {
            Ok(t) => Some(t),
            Err(e) => {
                self.report.error(file, name.pos, format!("`goto` {e}"));
                None
            }
        }
    }

    fn step_target(&mut self, file: &Path, flow: usize, name: &At<String>, what: &str) -> Option<StepRef> {
        match self.names.resolve_step(Some(flow), &name.value) {
            Ok(r) => Some(r),
            Err(e) => {
                let e = if name.value == REPEAT { format!("cannot go to `{REPEAT}`") } else { e };
                self.report.error(file, name.pos, format!("`{what}` {e}"));
                None
            }
        }
    }

    fn regex(&mut self, file: &Path, source: &At<String>) -> Option<Regex> {
        author_regex(&source.value).map_err(|e| self.report.error(file, source.pos, e)).ok()
    }

    pub fn condition(&mut self, file: &Path, source: &At<String>) -> Option<Condition> {
        let condition = Condition::parse(&source.value).map_err(|e| self.report.error(file, source.pos, e)).ok()?;
        for name in condition.variables() {
            self.usage.reads.push(VarRead { name, file: file.to_path_buf(), pos: source.pos });
        }
        Some(condition)
    }

    fn delay(&mut self, file: &Path, flow: usize, def: &Option<DelayDef>, what: &str) -> Option<Delay> {
        let def = def.as_ref()?;
        let after = parse_duration(&def.after.value).map_err(|e| self.report.error(file, def.after.pos, e)).ok();
        let goto = self.step_target(file, flow, &def.goto, &format!("{what}.goto"));
        Some(Delay { after: after?, goto: goto? })
    }

    /// Compile one step of flow `flow`.
    pub fn step(&mut self, file: &Path, flow: usize, name: &At<String>, def: &StepDef) -> Step {
        let buttons: Vec<String> = def.buttons.iter().flatten().map(|b| b.value.clone()).collect();
        let waits = def.ask.is_some() || def.buttons.is_some() || def.capture.is_some();
        self.check_step_shape(file, name, def, waits);
        let call = def.call.as_ref().map(|call| {
            self.usage.calls_actions = true;
            if !self.names.actions.contains(&call.action.value) {
                let known: Vec<String> = self.names.actions.iter().cloned().collect();
                let hint = suggest(&call.action.value, &known);
                self.report.error(file, call.action.pos, format!("unknown action `{}`{hint}", call.action.value));
            }
            let args = call
                .args
                .iter()
                .filter_map(|(k, v)| self.template(file, &v.value, v.pos).map(|t| (k.value.clone(), t)))
                .collect();
            Call { action: call.action.value.clone(), args }
        });
        let capture = def.capture.as_ref().and_then(|c| self.capture(file, flow, c, &buttons));
        let routes = def
            .next
            .iter()
            .flatten()
            .enumerate()
            .filter_map(|(i, r)| self.route(file, flow, r, def, waits, i + 1 == def.next.as_ref().map_or(0, Vec::len)))
            .collect();
        let handoff = def.handoff.as_ref().map(|h| self.handoff(file, flow, name, h));
        Step {
            name: name.value.clone(),
            set: self.assignments(file, &def.set),
            call,
            say: self.messages(file, &def.say),
            ask: def.ask.as_ref().and_then(|a| self.template(file, &a.value, a.pos)),
            buttons,
            capture,
            routes,
            goto: def.goto.as_ref().and_then(|g| self.target(file, flow, g)),
            end: def.end.as_ref().is_some_and(|e| e.value),
            handoff,
            timeout: self.delay(file, flow, &def.timeout, "timeout"),
            follow_up: self.delay(file, flow, &def.follow_up, "follow_up"),
        }
    }

    fn handoff(&mut self, file: &Path, flow: usize, name: &At<String>, def: &At<HandoffDef>) -> HandoffStep {
        let h = &def.value;
        let wants = crate::team::wants(self.report, file, self.roster, &h.skills, &h.team, &h.agent, def.pos);
        let message = |c: &mut Self, t: &Option<At<String>>| t.as_ref().and_then(|t| c.template(file, &t.value, t.pos));
        HandoffStep {
            wants,
            reason: h.reason.clone().unwrap_or_else(|| format!("flow step {}", name.value)),
            priority: h.priority.unwrap_or(0),
            say: message(self, &h.say),
            queued: message(self, &h.queued),
            offline_say: message(self, &h.offline_say),
            offline: h.offline.as_ref().and_then(|s| self.step_target(file, flow, s, "offline")),
            on_return: h.on_return.as_ref().and_then(|s| self.step_target(file, flow, s, "on_return")),
        }
    }

    /// Combinations of keys that cannot work together in one step.
    fn check_step_shape(&mut self, file: &Path, name: &At<String>, def: &StepDef, waits: bool) {
        let ends = def.end.as_ref().is_some_and(|e| e.value);
        let goes_on = def.goto.is_some() || def.next.is_some();
        let step = &name.value;
        if ends && (waits || goes_on || def.handoff.is_some()) {
            self.report.error(
                file,
                name.pos,
                format!("step `{step}` ends the conversation, so it cannot also wait for an answer, go on or hand off"),
            );
        }
        if def.handoff.is_some() && (waits || goes_on) {
            self.report.error(
                file,
                name.pos,
                format!("step `{step}` hands off to a human, so it cannot also wait for an answer or go on"),
            );
        }
        if def.next.is_some() && def.goto.is_some() {
            self.report.error(
                file,
                name.pos,
                format!("step `{step}` has both `next` and `goto`: put the `goto` in an `else` route"),
            );
        }
        if waits && !goes_on && def.capture.is_none() && def.handoff.is_none() {
            self.report.error(
                file,
                name.pos,
                format!(
                    "step `{step}` waits for an answer but has no `next` or `goto`: nothing says where the answer leads"
                ),
            );
        }
        if def.timeout.is_some() && !waits {
            self.report.error(
                file,
                name.pos,
                format!(
                    "step `{step}` has a `timeout` but does not wait for an answer (`ask`, `buttons` or `capture`)"
                ),
            );
        }
    }

    fn capture(
        &mut self,
        file: &Path,
        flow: usize,
        def: &crate::model::CaptureDef,
        buttons: &[String],
    ) -> Option<Capture> {
        self.usage.set.insert(def.var.value.clone());
        let default_kind = if buttons.is_empty() { CaptureType::Text } else { CaptureType::Button };
        let kind = def.kind.as_ref().map_or(default_kind, |k| k.value);
        if kind == CaptureType::Button && buttons.is_empty() {
            let pos = def.kind.as_ref().map_or(def.var.pos, |k| k.pos);
            self.report.error(file, pos, "a capture of type `button` needs `buttons` on its step");
        }
        let max_tries = def.max_tries.as_ref().map_or(3, |m| m.value);
        if let Some(m) = def.max_tries.as_ref().filter(|m| m.value == 0) {
            self.report.error(file, m.pos, "`max_tries` must be at least 1");
        }
        Some(Capture {
            var: def.var.value.clone(),
            kind,
            pattern: def.pattern.as_ref().and_then(|p| self.regex(file, p)),
            retry: def.retry.as_ref().and_then(|r| self.template(file, &r.value, r.pos)),
            max_tries,
            fallback: def.fallback.as_ref().and_then(|f| self.target(file, flow, f)),
        })
    }

    fn route(
        &mut self,
        file: &Path,
        flow: usize,
        route: &At<RouteDef>,
        step: &StepDef,
        waits: bool,
        last: bool,
    ) -> Option<Route> {
        let def = &route.value;
        let keys = [
            def.intent.as_ref().map(|a| ("intent", a)),
            def.matches.as_ref().map(|a| ("match", a)),
            def.button.as_ref().map(|a| ("button", a)),
            def.when.as_ref().map(|a| ("when", a)),
            def.otherwise.as_ref().map(|a| ("else", a)),
        ];
        let present: Vec<(&str, &At<String>)> = keys.into_iter().flatten().collect();
        let (key, value) = match present.as_slice() {
            [one] => *one,
            [] => {
                self.report.error(
                    file,
                    route.pos,
                    "a route needs one of `intent`, `match`, `button`, `when` or `else`",
                );
                return None;
            }
            [_, (second, at), ..] => {
                self.report.error(file, at.pos, format!("a route takes exactly one of `intent`, `match`, `button`, `when` or `else`; `{second}` is one too many"));
                return None;
            }
        };
        if !waits && matches!(key, "intent" | "match" | "button") {
            self.report.error(file, value.pos, format!("`{key}` routes look at the answer, but this step does not wait for one (add `ask`, `buttons` or `capture`)"));
        }
        if let Some(m) = def.min_confidence.as_ref().filter(|m| key != "intent" || !(0.0..=1.0).contains(&m.value)) {
            self.report.error(file, m.pos, "`min_confidence` is a number from 0 to 1, on an `intent` route");
        }
        if key == "else" && !last {
            self.report.warning(file, value.pos, "routes after an `else` route are never tried");
        }
        let condition = match key {
            "intent" => {
                if value.value == tandem_nlu::OUT_OF_SCOPE {
                    let why = "intent `none` is never an answer (its examples teach what is out of scope); route it with `else`";
                    self.report.error(file, value.pos, why);
                } else if !self.names.intents.contains(&value.value) {
                    let known: Vec<String> = self.names.intents.iter().cloned().collect();
                    let hint = suggest(&value.value, &known);
                    self.report.error(file, value.pos, format!("unknown intent `{}`{hint}", value.value));
                }
                RouteCondition::Intent(
                    value.value.clone(),
                    def.min_confidence.as_ref().map_or(tandem_nlu::DEFAULT_THRESHOLD, |m| m.value),
                )
            }
            "match" => RouteCondition::Match(self.regex(file, value)?),
            "button" => {
                if !step.buttons.iter().flatten().any(|b| b.value == value.value) {
                    self.report.error(file, value.pos, format!("this step has no button `{}`", value.value));
                }
                RouteCondition::Button(value.value.clone())
            }
            "when" => RouteCondition::When(self.condition(file, value)?),
            _ => RouteCondition::Else,
        };
        let goto = match (key, &def.goto) {
            ("else", Some(g)) => {
                self.report.error(file, g.pos, "an `else` route names its step itself (`else: step`); remove `goto`");
                None
            }
            ("else", None) => self.target(file, flow, value),
            (_, Some(g)) => self.target(file, flow, g),
            (_, None) => None,
        };
        Some(Route { condition, say: self.messages(file, &def.say), set: self.assignments(file, &def.set), goto })
    }
}

/// The first problem-free name of every step of a flow file, by index.
pub fn step_index(flow: &FlowFile) -> HashMap<String, usize> {
    flow.steps.iter().enumerate().map(|(i, (k, _))| (k.value.clone(), i)).collect()
}
