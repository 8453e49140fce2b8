//! Compiles the human side of bot.yaml: the roster (agents, teams, time zones, shifts,
//! holidays), the escalation rules and the handoff defaults, reporting every problem with
//! its position.

use std::path::Path;
use std::str::FromStr;

use chrono::NaiveDate;
use chrono_tz::Tz;
use regex::RegexBuilder;
use tandem_core::Wants;
use tandem_handoff::{Agent, Roster, Team, WeeklyHours};

use crate::bot::{EscalationRule, HandoffMessages, HandoffSettings};
use crate::bot_file::{BotFile, EscalationDef};
use crate::compile::{Compiler, suggest};
use crate::diagnostic::Report;
use crate::duration::parse_duration;
use crate::span::{At, Entries, Pos};

const ASSIGNED: &str = "I'm bringing in {{agent.name}} from {{agent.team}}. They'll be with you in a moment.";
const QUEUED: &str = "Everyone on our team is helping other customers right now. You're number {{queue.position}} in line; the wait is about {{queue.eta}}.";
const MOVED: &str = "You're now number {{queue.position}} in line, about {{queue.eta}} to go. Thanks for waiting!";
const OFFLINE: &str = "Our team isn't available right now{{#if team.back}} and will be back {{team.back}}{{/if}}. Your messages are kept, and the first person in will pick up right here, so you won't need to repeat anything.";
const REQUEUED: &str = "I'm sorry, {{agent.name}} had to step away. I'm finding you someone else.";
const TRANSFERRED: &str = "I'm passing you to a colleague who can help with this. One moment, please.";

/// A time zone by its IANA name.
pub fn time_zone(report: &mut Report, file: &Path, name: &At<String>) -> Option<Tz> {
    Tz::from_str(&name.value)
        .map_err(|_| {
            report.error(
                file,
                name.pos,
                format!("`{}` is not a time zone: use an IANA name like Europe/London", name.value),
            )
        })
        .ok()
}

/// The roster, or the problems in it.
pub fn roster(report: &mut Report, file: &Path, bot: &BotFile) -> Roster {
    let brand = bot.timezone.as_ref().and_then(|tz| time_zone(report, file, tz)).unwrap_or(chrono_tz::UTC);
    let mut roster = Roster { tz: brand, ..Roster::default() };
    if let Some(handle) = bot.handoff.as_ref().and_then(|h| h.handle_time.as_ref()) {
        match parse_duration(&handle.value) {
            Ok(d) => roster.handle_time = d,
            Err(e) => report.error(file, handle.pos, e),
        }
    }
    for (id, def) in bot.teams.iter() {
        let tz = def.timezone.as_ref().and_then(|tz| time_zone(report, file, tz)).unwrap_or(brand);
        let hours = (!def.hours.is_empty()).then(|| weekly(report, file, &def.hours));
        let holidays = def
            .holidays
            .iter()
            .filter_map(|d| {
                NaiveDate::parse_from_str(&d.value, "%Y-%m-%d")
                    .map_err(|_| report.error(file, d.pos, format!("`{}` is not a date like 2026-12-25", d.value)))
                    .ok()
            })
            .collect();
        roster.teams.push(Team { id: id.value.clone(), name: def.name.clone(), tz, hours, holidays });
    }
    for (id, def) in bot.agents.iter() {
        for team in &def.teams {
            check_team(report, file, &roster, team);
        }
        if def.shifts.is_empty() {
            report.warning(
                file,
                id.pos,
                format!("agent `{}` has no `shifts`, so no chat is ever routed to them", id.value),
            );
        }
        let max = def.max_chats.as_ref().map_or(3, |m| m.value);
        if let Some(m) = def.max_chats.as_ref().filter(|m| m.value == 0) {
            report.error(file, m.pos, "`max_chats` must be at least 1");
        }
        roster.agents.push(Agent {
            id: id.value.clone(),
            name: def.name.value.clone(),
            skills: def.skills.clone(),
            teams: def.teams.iter().map(|t| t.value.clone()).collect(),
            languages: def.languages.clone(),
            tz: def.timezone.as_ref().and_then(|tz| time_zone(report, file, tz)).unwrap_or(brand),
            shifts: weekly(report, file, &def.shifts),
            max_chats: max as usize,
        });
    }
    roster
}

fn weekly(report: &mut Report, file: &Path, entries: &Entries<At<String>>) -> WeeklyHours {
    let mut hours = WeeklyHours::default();
    for (days, ranges) in entries.iter() {
        if let Err(e) = hours.add(&days.value, &ranges.value) {
            let pos = if e.contains("not a day") { days.pos } else { ranges.pos };
            report.error(file, pos, e);
        }
    }
    hours
}

fn check_team(report: &mut Report, file: &Path, roster: &Roster, team: &At<String>) {
    if roster.team(&team.value).is_none() {
        let known: Vec<String> = roster.teams.iter().map(|t| t.id.clone()).collect();
        let hint = suggest(&team.value, &known);
        report.error(file, team.pos, format!("unknown team `{}`{hint}", team.value));
    }
}

/// Check who a handoff or rule wants against the roster, and build it.
pub fn wants(
    report: &mut Report,
    file: &Path,
    roster: &Roster,
    skills: &[String],
    team: &Option<At<String>>,
    agent: &Option<At<String>>,
    pos: Pos,
) -> Wants {
    if let Some(team) = team {
        check_team(report, file, roster, team);
    }
    if let Some(agent) = agent
        && roster.agent(&agent.value).is_none()
    {
        let known: Vec<String> = roster.agents.iter().map(|a| a.id.clone()).collect();
        let hint = suggest(&agent.value, &known);
        report.error(file, agent.pos, format!("unknown agent `{}`{hint}", agent.value));
    }
    let wants = Wants {
        skills: skills.to_vec(),
        team: team.as_ref().map(|t| t.value.clone()),
        agent: agent.as_ref().map(|a| a.value.clone()),
    };
    if !roster.agents.is_empty() && !roster.agents.iter().any(|a| roster.fits(a, &wants)) {
        report.warning(file, pos, "no agent has everything this handoff wants, so it will always wait for nobody");
    }
    wants
}

/// The escalation rules, compiled.
pub fn escalation(c: &mut Compiler, file: &Path, roster: &Roster, rules: &[At<EscalationDef>]) -> Vec<EscalationRule> {
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let def = &rule.value;
        if def.when.is_none() && def.keywords.is_empty() {
            c.report.error(file, rule.pos, "an escalation rule needs `when`, `keywords` or both");
            continue;
        }
        let when = def.when.as_ref().and_then(|w| c.condition(file, w));
        let keywords = (!def.keywords.is_empty()).then(|| {
            let words: Vec<String> = def.keywords.iter().map(|k| regex::escape(k.trim())).collect();
            RegexBuilder::new(&format!(r"\b(?:{})\b", words.join("|"))).case_insensitive(true).build().ok()
        });
        let what = def
            .when
            .as_ref()
            .map(|w| w.value.clone())
            .unwrap_or_else(|| format!("keywords: {}", def.keywords.join(", ")));
        out.push(EscalationRule {
            name: format!("rule {} ({what})", i + 1),
            when,
            keywords: keywords.flatten(),
            reason: def.reason.clone(),
            wants: wants(c.report, file, roster, &def.skills, &def.team, &def.agent, rule.pos),
            priority: def.priority.unwrap_or(0),
        });
    }
    out
}

/// The handoff defaults: messages, where to resume, the CSAT flow.
pub fn settings(c: &mut Compiler, file: Option<&Path>, bot: Option<&BotFile>) -> Option<HandoffSettings> {
    let defaults = bot.and_then(|b| b.handoff.as_ref());
    let file = file.unwrap_or(Path::new(""));
    let mut message = |given: Option<&At<String>>, default: &str| match given {
        Some(t) => c.template(file, &t.value, t.pos),
        None => c.template(file, default, Pos::default()),
    };
    let say = HandoffMessages {
        assigned: message(defaults.and_then(|d| d.say.as_ref()), ASSIGNED)?,
        queued: message(defaults.and_then(|d| d.queued.as_ref()), QUEUED)?,
        moved: message(defaults.and_then(|d| d.moved.as_ref()), MOVED)?,
        offline: message(defaults.and_then(|d| d.offline_say.as_ref()), OFFLINE)?,
        requeued: message(defaults.and_then(|d| d.requeued.as_ref()), REQUEUED)?,
        transferred: message(defaults.and_then(|d| d.transferred.as_ref()), TRANSFERRED)?,
        waiting: None,
    };
    let waiting = defaults.and_then(|d| d.waiting.as_ref()).and_then(|w| c.template(file, &w.value, w.pos));
    let mut step = |given: Option<&At<String>>, key: &str| {
        given.and_then(|g| {
            c.names.resolve_step(None, &g.value).map_err(|e| c.report.error(file, g.pos, format!("`{key}` {e}"))).ok()
        })
    };
    let on_return = step(defaults.and_then(|d| d.on_return.as_ref()), "on_return");
    let csat = step(defaults.and_then(|d| d.csat.as_ref()), "csat");
    Some(HandoffSettings { on_return, csat, say: HandoffMessages { waiting, ..say } })
}
