//! The human side of a turn: escalation rules on customer messages, handoff requests, the
//! desk's decisions (assigned, queued, parked), and agent actions (take, reply, note,
//! transfer, hand back, resolve). Every change of owner is journaled with actor and reason.

use chrono::Duration;
use serde_json::{Map, Value, json};
use tandem_core::{
    ActionRefusal, AssignedAgent, EscalationFired, Event, Handoff, HandoffRequest, Owner, OwnerChange,
    SENTIMENT_WINDOW, Sentiment, TimerKind, Wants,
};
use tandem_flow::StepRef;
use tandem_flow::bot::HandoffStep;
use tandem_flow::condition::Variables;
use tandem_flow::template::TemplateId;
use tandem_handoff::{Decision, plain_words};

use crate::engine::AgentAction;
use crate::turn::Turn;

/// Added to the priority of a VIP customer's handoff.
const VIP_PRIORITY: i64 = 100;

impl Turn<'_> {
    /// Keep `sentiment.score` (this message), `sentiment.trend` (this score minus the mean of
    /// the turns before it) and `sentiment.min`.
    pub(crate) fn note_sentiment(&mut self, score: f64) {
        let score = score.clamp(-1.0, 1.0);
        // A state stored before `Conversation::sentiment` keeps it among the variables.
        let old = Some(std::mem::take(&mut self.conv.sentiment)).filter(|s| !s.is_unscored()).or_else(|| {
            let stored = self.conv.vars.remove("sentiment")?;
            serde_json::from_value::<Sentiment>(stored).ok()
        });
        let (mut history, min) = match old {
            Some(old) => (old.history, old.min.min(score)),
            None => (Default::default(), score),
        };
        let trend = if history.is_empty() { 0.0 } else { score - history.iter().sum::<f64>() / history.len() as f64 };
        // The oldest goes first, so that the scores never outgrow their inline room.
        if history.len() >= SENTIMENT_WINDOW {
            history.drain(..=history.len() - SENTIMENT_WINDOW);
        }
        history.push(score);
        let rounded = |x: f64| (x * 1000.0).round() / 1000.0;
        self.conv.sentiment = Sentiment { score: rounded(score), trend: rounded(trend), min: rounded(min), history };
    }

    /// Check the bot's escalation rules; the first that holds brings in a human.
    pub(crate) fn escalate_by_rules(&mut self, text: &str) -> bool {
        let bot = self.bot();
        if bot.escalation.is_empty() {
            return false;
        }
        let data = self.data();
        let vars = Variables::from_json(&data);
        for rule in &bot.escalation {
            if !rule.when.as_ref().is_none_or(|c| c.holds(&vars)) {
                continue;
            }
            let keyword = match &rule.keywords {
                Some(words) => match words.find(text) {
                    Some(m) => Some(m.as_str().to_string()),
                    None => continue,
                },
                None => None,
            };
            let mut values: Map<String, Value> =
                rule.when.iter().flat_map(|c| c.variables()).map(|name| (name.clone(), lookup(&data, &name))).collect();
            if let Some(k) = keyword {
                values.insert("keyword".into(), Value::String(k));
            }
            let values = Value::Object(values);
            self.record(Event::EscalationTriggered(Box::new(EscalationFired {
                rule: rule.name.clone(),
                reason: rule.reason.clone(),
                values: values.clone(),
            })));
            let handoff = Handoff {
                reason: rule.reason.clone(),
                rule: Some(format!("{}: {values}", rule.name)),
                wants: rule.wants.clone(),
                priority: rule.priority + self.vip_bonus(),
                requested_at: self.now,
                step: None,
                on_return: self.return_step(),
            };
            self.request_handoff(handoff);
            return true;
        }
        false
    }

    pub(crate) fn handoff_from_step(&self, at: StepRef, step: &HandoffStep) -> Handoff {
        Handoff {
            reason: step.reason.clone(),
            rule: None,
            wants: step.wants.clone(),
            priority: step.priority + self.vip_bonus(),
            requested_at: self.now,
            step: Some(self.bot().qualified(at)),
            on_return: step.on_return.map(|r| self.bot().qualified(r)).or_else(|| self.return_step()),
        }
    }

    fn vip_bonus(&self) -> i64 {
        let vip = self.bot().vip.as_ref().is_some_and(|c| c.holds(&Variables::from_json(&self.data())));
        if vip { VIP_PRIORITY } else { 0 }
    }

    fn return_step(&self) -> Option<String> {
        self.bot().handoff.on_return.map(|r| self.bot().qualified(r))
    }

    /// Ask for a human: the chat waits in line until the desk decides.
    pub(crate) fn request_handoff(&mut self, handoff: Handoff) {
        if let Owner::Parked { bot, .. } = &mut self.conv.owner {
            *bot = None; // the offline step asked again: it already waits for its agent
            return;
        }
        if self.conv.human_side() {
            return;
        }
        self.cancel_timeout();
        self.record(Event::HandoffRequested(Box::new(HandoffRequest {
            reason: handoff.reason.clone(),
            skills: handoff.wants.skills.clone(),
            team: handoff.wants.team.clone(),
            agent: handoff.wants.agent.clone(),
        })));
        let reason = handoff.reason.clone();
        self.set_owner(Owner::Queued { handoff: Box::new(handoff), position: 0 }, "bot", &reason);
        self.fx.route = true;
    }

    /// The desk's decision on the request.
    pub fn on_routed(&mut self, decision: &Decision) {
        let Some(handoff) = self.waiting_handoff() else { return };
        match decision {
            Decision::Assign { agent } => self.assign_agent(agent, handoff, "routing"),
            Decision::Queue { position, eta } => {
                self.conv.vars.insert("queue".into(), json!({ "position": position, "eta": eta_words(*eta) }));
                let reason = format!("every fitting agent is busy; number {position} in line");
                self.set_owner(Owner::Queued { handoff: handoff.clone(), position: *position }, "routing", &reason);
                let message = self.step_message(&handoff, |s| s.queued).unwrap_or(self.bot().handoff.say.queued);
                self.announce(message);
            }
            Decision::Park { until } => self.park(handoff, *until),
        }
    }

    fn park(&mut self, handoff: Box<Handoff>, until: Option<chrono::DateTime<chrono::Utc>>) {
        let back = until.map(|u| plain_words(u, self.now, self.bot().roster.tz));
        self.conv.vars.insert("team".into(), json!({ "back": back }));
        let reason = match &back {
            Some(b) => format!("nobody who fits is on shift; back {b}"),
            None => "nobody who fits ever works: waiting for someone to take it".to_string(),
        };
        let offline = self.handoff_step(&handoff).and_then(|s| s.offline);
        let message = self.step_message(&handoff, |s| s.offline_say).unwrap_or(self.bot().handoff.say.offline);
        self.set_owner(Owner::Parked { handoff, until, bot: None }, "routing", &reason);
        if let Some(at) = until {
            self.set_timer(at, TimerKind::ShiftStart);
        }
        self.announce(message);
        if let Some(step) = offline {
            self.enter(step);
        }
    }

    /// The customer wrote while waiting for a person: say so, if the bot has a `waiting`
    /// message, until the agent's first reply.
    pub(crate) fn acknowledge_waiting(&mut self) {
        let Some(message) = self.bot().handoff.say.waiting else { return };
        let waiting = match &self.conv.owner {
            Owner::Queued { .. } => true,
            Owner::Agent { .. } => !self.conv.agent_replied(),
            _ => false,
        };
        if waiting {
            self.announce(message);
        }
    }

    /// A parked chat's first fitting shift starts: back in line, to be routed.
    pub(crate) fn on_shift_start(&mut self) {
        self.record(Event::TimerFired { kind: "shift_start".into(), step: String::new() });
        if let Owner::Parked { handoff, .. } = &self.conv.owner {
            let handoff = handoff.clone();
            self.set_owner(Owner::Queued { handoff, position: 0 }, "routing", "a fitting agent's shift starts");
            self.fx.route = true;
        }
    }

    pub fn on_queue_moved(&mut self, position: u32, eta: Duration) {
        if let Owner::Queued { position: told, .. } = &mut self.conv.owner {
            *told = position;
            self.conv.vars.insert("queue".into(), json!({ "position": position, "eta": eta_words(eta) }));
            self.announce(self.bot().handoff.say.moved);
        }
    }

    pub fn on_agent(&mut self, agent: &str, action: &AgentAction) {
        let mine = matches!(&self.conv.owner, Owner::Agent { agent: a, .. } if a == agent);
        let refuse = |turn: &mut Self, why: String| {
            turn.record(Event::ActionRefused(Box::new(ActionRefusal {
                agent: agent.to_string(),
                action: format!("{action:?}"),
                why: why.clone(),
            })));
            turn.fx.refused = Some(why);
        };
        match action {
            AgentAction::Note(text) => self.record(Event::AgentNote { agent: agent.to_string(), text: text.clone() }),
            AgentAction::Take => match &self.conv.owner {
                Owner::Queued { handoff, .. } | Owner::Parked { handoff, .. } => {
                    let handoff = handoff.clone();
                    self.assign_agent(agent, handoff, agent);
                }
                Owner::Agent { agent: other, .. } if other != agent => {
                    refuse(self, format!("{other} already has this chat"))
                }
                Owner::Agent { .. } => {}
                _ => refuse(self, "the bot has this chat; nobody asked for a person".into()),
            },
            _ if !mine => refuse(
                self,
                format!("only the agent who has the chat can do that; it is {}", self.conv.owner.describe()),
            ),
            AgentAction::Reply(text) => {
                match (&mut self.conv.agent, self.conv.vars.get_mut("agent")) {
                    (Some(assigned), _) => assigned.replied = true,
                    // A state stored before `Conversation::agent`.
                    (None, Some(Value::Object(about))) => _ = about.insert("replied".into(), Value::Bool(true)),
                    (None, _) => {}
                }
                let name = self.agent_name(agent);
                self.deliver(Some(name), text.clone(), Vec::new());
            }
            AgentAction::Transfer(wants) => {
                self.back_in_line(wants.clone(), agent, "transferred", self.bot().handoff.say.transferred)
            }
            AgentAction::Requeue => {
                let wants = self.conv.owner.handoff().map(|h| h.wants.clone()).unwrap_or_default();
                self.back_in_line(wants, agent, "the agent went offline", self.bot().handoff.say.requeued);
            }
            AgentAction::HandBack(step) => {
                let handoff = self.conv.owner.handoff().cloned();
                let wanted = step.clone().or(handoff.and_then(|h| h.on_return));
                let target = wanted.and_then(|s| self.bot().find_qualified(&s)).unwrap_or(self.bot().start);
                let (flow, step) = self.names(target);
                let bot = Owner::Bot { flow: flow.into(), step: step.into(), waiting: false };
                self.set_owner(bot, agent, "handed back to the bot");
                self.conv.fallbacks = 0;
                self.enter(target);
            }
            AgentAction::Resolve { csat } => {
                self.set_owner(Owner::Closed, agent, "resolved");
                self.record(Event::Ended);
                if let Some(flow) = self.bot().handoff.csat.filter(|_| *csat) {
                    self.enter(flow);
                }
            }
        }
    }

    /// The chat goes back in line (transfer, or the agent left), to be routed again.
    fn back_in_line(&mut self, wants: Wants, actor: &str, reason: &str, message: TemplateId) {
        let Some(mut handoff) = self.conv.owner.handoff().cloned() else { return };
        handoff.wants = wants;
        self.conv.last_agent = None;
        self.announce(message);
        self.set_owner(Owner::Queued { handoff: Box::new(handoff), position: 0 }, actor, reason);
        self.fx.route = true;
    }

    fn assign_agent(&mut self, agent: &str, handoff: Box<Handoff>, actor: &str) {
        let roster = &self.bot().roster;
        let (name, team) = match roster.agent(agent) {
            Some(a) => (a.name.clone(), roster.team_label(a, &handoff.wants)),
            None => (agent.to_string(), "our team".to_string()),
        };
        self.conv.agent =
            Some(Box::new(AssignedAgent { id: agent.into(), name: name.into(), team: team.into(), replied: false }));
        self.conv.vars.remove("agent"); // as a state stored before `Conversation::agent` kept it
        self.conv.last_agent = Some(agent.into());
        let message = self.step_message(&handoff, |s| s.say).unwrap_or(self.bot().handoff.say.assigned);
        let reason = handoff.reason.clone();
        self.set_owner(Owner::Agent { agent: agent.to_string(), handoff }, actor, &reason);
        self.announce(message);
    }

    fn set_owner(&mut self, owner: Owner, actor: &str, reason: &str) {
        let from = self.conv.owner.describe();
        self.record(Event::OwnerChanged(Box::new(OwnerChange {
            from,
            to: owner.describe(),
            actor: actor.to_string(),
            reason: reason.to_string(),
        })));
        self.conv.owner = owner;
    }

    /// A handoff message: said by the bot even though a person has (or will have) the chat.
    fn announce(&mut self, template: TemplateId) {
        let text = self.render(template);
        self.deliver(None, text, Vec::new());
    }

    fn waiting_handoff(&self) -> Option<Box<Handoff>> {
        match &self.conv.owner {
            Owner::Queued { handoff, .. } => Some(handoff.clone()),
            _ => None,
        }
    }

    fn handoff_step(&self, handoff: &Handoff) -> Option<&HandoffStep> {
        let bot = self.bot();
        handoff.step.as_deref().and_then(|s| bot.find_qualified(s)).and_then(|r| bot.step(r).handoff.as_ref())
    }

    fn step_message(&self, handoff: &Handoff, pick: impl Fn(&HandoffStep) -> Option<TemplateId>) -> Option<TemplateId> {
        self.handoff_step(handoff).and_then(pick)
    }

    fn agent_name(&self, agent: &str) -> String {
        self.bot().roster.agent(agent).map_or_else(|| agent.to_string(), |a| a.name.clone())
    }
}

/// A value at a dotted path in the template data.
fn lookup(data: &Map<String, Value>, path: &str) -> Value {
    let mut parts = path.split('.');
    let first = parts.next().and_then(|p| data.get(p)).cloned().unwrap_or(Value::Null);
    parts.fold(first, |v, p| v.get(p).cloned().unwrap_or(Value::Null))
}

/// A wait in words: "a minute", "5 minutes", "2 hours".
pub fn eta_words(eta: Duration) -> String {
    let minutes = eta.num_minutes().max(1);
    match minutes {
        1 => "a minute".to_string(),
        2..=89 => format!("{minutes} minutes"),
        _ => format!("{} hours", (minutes + 30) / 60),
    }
}
