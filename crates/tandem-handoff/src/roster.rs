//! The team as bot.yaml declares it: named agents with skills, teams, languages, time zones,
//! weekly shifts and a chat capacity; teams with business hours and holidays.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use tandem_core::Wants;

use crate::schedule::WeeklyHours;

/// A person who answers customers.
#[derive(Debug, Clone)]
pub struct Agent {
    pub id: String,
    /// The name the customer sees ("Sarah").
    pub name: String,
    pub skills: Vec<String>,
    pub teams: Vec<String>,
    pub languages: Vec<String>,
    pub tz: Tz,
    pub shifts: WeeklyHours,
    /// How many chats at once.
    pub max_chats: usize,
}

/// A group of agents.
#[derive(Debug, Clone)]
pub struct Team {
    pub id: String,
    /// How the customer hears it: "our orders team".
    pub name: String,
    pub tz: Tz,
    /// When the team works (agents of the team serve only then); none: their shifts decide.
    pub hours: Option<WeeklyHours>,
    pub holidays: Vec<NaiveDate>,
}

/// Everyone, and the brand's defaults.
#[derive(Debug, Clone)]
pub struct Roster {
    /// The brand's time zone: customers hear times in it.
    pub tz: Tz,
    pub agents: Vec<Agent>,
    pub teams: Vec<Team>,
    /// The expected time an agent spends on a chat, until handle times are measured.
    pub handle_time: Duration,
}

impl Default for Roster {
    fn default() -> Self {
        Self { tz: chrono_tz::UTC, agents: Vec::new(), teams: Vec::new(), handle_time: Duration::minutes(8) }
    }
}

impl Roster {
    pub fn agent(&self, id: &str) -> Option<&Agent> {
        self.agents.iter().find(|a| a.id == id)
    }

    pub fn team(&self, id: &str) -> Option<&Team> {
        self.teams.iter().find(|t| t.id == id)
    }

    /// Has the agent what the handoff wants?
    pub fn fits(&self, agent: &Agent, wants: &Wants) -> bool {
        wants.agent.as_ref().is_none_or(|a| *a == agent.id)
            && wants.team.as_ref().is_none_or(|t| agent.teams.contains(t))
            && wants.skills.iter().all(|s| agent.skills.contains(s))
    }

    /// On shift now, within their teams' hours, and no team of theirs on holiday.
    pub fn on_duty(&self, agent: &Agent, now: DateTime<Utc>) -> bool {
        agent.shifts.is_open(now, agent.tz)
            && self.teams_of(agent).all(|t| {
                !t.holidays.contains(&now.with_timezone(&t.tz).date_naive())
                    && t.hours.as_ref().is_none_or(|h| h.is_open(now, t.tz))
            })
    }

    /// When the agent's next shift starts (skipping their teams' holidays).
    pub fn next_on_duty(&self, agent: &Agent, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let holidays: Vec<NaiveDate> = self.teams_of(agent).flat_map(|t| t.holidays.iter().copied()).collect();
        agent.shifts.next_opening(now, agent.tz, &holidays)
    }

    /// How the customer hears the agent's team: the wanted team if they are in it, else
    /// their first team, else "our team".
    pub fn team_label(&self, agent: &Agent, wants: &Wants) -> String {
        let team = wants
            .team
            .as_deref()
            .filter(|t| agent.teams.iter().any(|a| a == t))
            .or(agent.teams.first().map(String::as_str));
        team.and_then(|t| self.team(t)).map_or_else(|| "our team".to_string(), |t| t.name.clone())
    }

    fn teams_of<'a>(&'a self, agent: &'a Agent) -> impl Iterator<Item = &'a Team> + 'a {
        agent.teams.iter().filter_map(|t| self.team(t))
    }
}
