//! Checks over a whole compiled bot: variables that templates and conditions read but nothing
//! sets, steps nothing leads to, and dead ends (steps from which no path reaches an `end`
//! or a handoff: the runaround that traps customers).

use std::collections::{HashSet, VecDeque};
use std::path::PathBuf;

use serde_json::{Map, Value};

use crate::bot::{Flow, RouteCondition, StepRef, Target};
use crate::compile::VarUsage;
use crate::diagnostic::Report;
use crate::span::Pos;

/// Fields of `user` every channel fills in.
pub const USER_FIELDS: [&str; 4] = ["id", "name", "first_name", "channel"];
/// Variables the engine itself sets.
pub const BUILT_INS: [&str; 9] =
    ["answer", "fallbacks", "intent", "intent.confidence", "user", "sentiment", "agent", "queue", "team"];

/// Where a flow and its steps were written.
pub struct FlowSite {
    pub file: PathBuf,
    pub steps: Vec<Pos>,
}

/// Report every variable read that nothing sets.
pub fn check_variables(usage: &VarUsage, bot_vars: &Map<String, Value>, report: &mut Report) {
    for read in &usage.reads {
        let name = read.name.as_str();
        if name == "this" || name.starts_with('@') || name.starts_with("../") || name.starts_with("this.") {
            continue;
        }
        let (root, field) = name.split_once('.').map_or((name, None), |(r, f)| (r, Some(f)));
        let problem = match (root, field) {
            ("user", Some(f)) if !USER_FIELDS.contains(&f) => Some(format!(
                "`{name}` is not known: the customer's fields are {}",
                USER_FIELDS.map(|f| format!("user.{f}")).join(", ")
            )),
            ("bot", Some(f)) if !bot_vars.contains_key(f.split('.').next().unwrap_or(f)) => {
                Some(format!("`{name}` is never set: add `{f}` under `vars:` in bot.yaml"))
            }
            ("bot", _) | ("user", _) => None,
            ("result", _) if !usage.calls_actions => {
                Some(format!("`{name}` is the answer of a `call`, but no step calls an action"))
            }
            ("result", _) => None,
            (root, _) if BUILT_INS.contains(&root) || BUILT_INS.contains(&name) || usage.set.contains(root) => None,
            _ => Some(format!("variable `{root}` is never set by any `set`, `capture` or action")),
        };
        if let Some(message) = problem {
            report.error(&read.file, read.pos, message);
        }
    }
}

/// Report unreachable steps (warnings) and dead ends (errors).
pub fn check_graph(flows: &[Flow], sites: &[FlowSite], roots: &[StepRef], report: &mut Report) {
    let all: Vec<StepRef> = flows
        .iter()
        .enumerate()
        .flat_map(|(f, flow)| (0..flow.steps.len()).map(move |s| StepRef { flow: f, step: s }))
        .collect();
    let edges = |r: StepRef| successors(flows, r);

    let reached = closure(roots.iter().copied(), edges);
    for &r in &all {
        if !reached.contains(&r) {
            let name = &flows[r.flow].steps[r.step].name;
            report.warning(
                &sites[r.flow].file,
                sites[r.flow].steps[r.step],
                format!("step `{name}` is unreachable: no start, route, timeout or intent leads to it"),
            );
        }
    }

    let terminals = all.iter().copied().filter(|&r| {
        let step = &flows[r.flow].steps[r.step];
        step.end || step.handoff.is_some()
    });
    let predecessors =
        |r: StepRef| all.iter().copied().filter(|&p| successors(flows, p).contains(&r)).collect::<Vec<_>>();
    let can_finish = closure(terminals, predecessors);
    for &r in &all {
        if !can_finish.contains(&r) {
            let name = &flows[r.flow].steps[r.step].name;
            report.error(
                &sites[r.flow].file,
                sites[r.flow].steps[r.step],
                format!("dead end: from step `{name}` no path leads to an `end` or a `handoff`, so a customer who gets here is stuck"),
            );
        }
    }
}

/// Every step reachable from `start` by `next` (including `start`).
fn closure<I, F>(start: I, next: F) -> HashSet<StepRef>
where
    I: IntoIterator<Item = StepRef>,
    F: Fn(StepRef) -> Vec<StepRef>,
{
    let mut seen: HashSet<StepRef> = HashSet::new();
    let mut queue: VecDeque<StepRef> = start.into_iter().collect();
    while let Some(r) = queue.pop_front() {
        if seen.insert(r) {
            queue.extend(next(r));
        }
    }
    seen
}

/// The steps a step can lead to, by any route, fallback, timeout or follow-up.
pub fn successors(flows: &[Flow], r: StepRef) -> Vec<StepRef> {
    let flow = &flows[r.flow];
    let step = &flow.steps[r.step];
    let fallback = flow.fallback.map(|s| Target::Step(StepRef { flow: r.flow, step: s }));
    let has_else = step.routes.iter().any(|route| matches!(route.condition, RouteCondition::Else));
    let mut targets: Vec<Target> = step.gotos().collect();
    if step.capture.as_ref().is_some_and(|capture| capture.fallback.is_none()) {
        targets.extend(fallback);
    }
    if step.waits() && !has_else {
        targets.extend(fallback);
    }
    targets.extend(step.timeout.iter().chain(&step.follow_up).map(|d| Target::Step(d.goto)));
    if let Some(handoff) = &step.handoff {
        targets.extend(handoff.offline.iter().chain(&handoff.on_return).map(|s| Target::Step(*s)));
    }
    let mut out = Vec::new();
    for target in targets {
        match target {
            Target::Step(s) => out.push(s),
            Target::Repeat => out.extend(repeatable_steps(flow, r.flow)),
        }
    }
    out
}

/// The steps `goto: repeat` can return to: those whose unmatched answers go to the fallback.
fn repeatable_steps(flow: &Flow, index: usize) -> Vec<StepRef> {
    (0..flow.steps.len())
        .filter(|&s| {
            let step = &flow.steps[s];
            step.waits() && !step.routes.iter().any(|r| matches!(r.condition, RouteCondition::Else))
        })
        .map(|s| StepRef { flow: index, step: s })
        .collect()
}
