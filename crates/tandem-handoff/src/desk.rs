//! The live routing state across conversations: which agent has which chats, who waits in
//! line, who stepped away, and measured handle times. It decides who gets a chat:
//! the agent who last helped the customer when free (sticky), else the least loaded, ties by
//! longest idle; the line is ordered by priority (VIP, upset) then waiting time.
//! It is rebuilt from the store at start-up by observing every handoff conversation.

use std::cmp::Reverse;
use std::collections::{BTreeSet, HashMap, HashSet};

use foldhash::fast::RandomState;

use chrono::{DateTime, Duration, Utc};
use tandem_core::{Conversation, ConversationId, Handoff, Owner};

use crate::roster::{Agent, Roster};

/// What happens to a request for a human.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// This agent takes it now.
    Assign { agent: String },
    /// Fitting agents are on shift but busy: the customer's place in line and the wait.
    Queue { position: u32, eta: Duration },
    /// Nobody who fits is on shift: until when (none if nobody fitting ever works).
    Park { until: Option<DateTime<Utc>> },
}

#[derive(Debug, Clone)]
struct Waiting {
    handoff: Handoff,
    parked: bool,
    told: u32,
    sticky: Option<String>,
}

impl Waiting {
    /// Where the chat stands in line: priority first, then who asked first.
    fn place(&self, id: &ConversationId) -> Place {
        (Reverse(self.handoff.priority), self.handoff.requested_at, id.clone())
    }
}

/// A queued chat's key in line order.
type Place = (Reverse<i64>, DateTime<Utc>, ConversationId);

/// Chats by id. An id's hash is made with it, so a look-up hashes 4 bytes: foldhash, not the
/// standard library's SipHash. An agent's chats were a B-tree set, whose look-ups compared keys
/// along a path: with 2,000 chats with one agent, ~2 % of a benchmark message.
type ById<V> = HashMap<ConversationId, V, RandomState>;

/// Who has which chats and who waits.
#[derive(Debug)]
pub struct Desk {
    roster: Roster,
    away: HashSet<String>,
    chats: HashMap<String, HashSet<ConversationId, RandomState>>,
    assigned_at: ById<DateTime<Utc>>,
    waiting: ById<Waiting>,
    /// The queued (not parked) chats of `waiting`, kept in line order.
    line: BTreeSet<Place>,
    idle_since: HashMap<String, DateTime<Utc>>,
    handled: (Duration, i32),
    /// Bumped by `join_line` and `leave_line`; `moves` has nothing new to say until it changes.
    line_version: u64,
    moves_seen: Option<u64>,
}

impl Desk {
    pub fn new(roster: Roster) -> Self {
        Self {
            roster,
            away: HashSet::new(),
            chats: HashMap::new(),
            assigned_at: ById::default(),
            waiting: ById::default(),
            line: BTreeSet::new(),
            idle_since: HashMap::new(),
            handled: (Duration::zero(), 0),
            line_version: 0,
            moves_seen: None,
        }
    }

    pub fn roster(&self) -> &Roster {
        &self.roster
    }

    /// Take in a conversation's current owner (after every commit, and at start-up).
    pub fn observe(&mut self, conversation: &Conversation, now: DateTime<Utc>) {
        let id = &conversation.id;
        if self.already_with(conversation) {
            return; // every message of a chat with a person: nothing to move
        }
        // Every agent who holds it: during a transfer the next agent is reserved while the
        // first still has it.
        let had: Vec<String> =
            self.chats.iter_mut().filter_map(|(agent, chats)| chats.remove(id).then(|| agent.clone())).collect();
        self.leave_line(id);
        let sticky = conversation.last_agent.as_deref().map(str::to_string);
        let mut now_with = None;
        match &conversation.owner {
            Owner::Agent { agent, .. } => {
                self.chats.entry(agent.clone()).or_default().insert(id.clone());
                now_with = Some(agent);
            }
            Owner::Queued { handoff, position } => {
                self.join_line(
                    id,
                    Waiting { handoff: Handoff::clone(handoff), parked: false, told: *position, sticky },
                );
            }
            Owner::Parked { handoff, .. } => {
                self.join_line(id, Waiting { handoff: Handoff::clone(handoff), parked: true, told: 0, sticky });
            }
            Owner::Bot { .. } | Owner::Closed => {}
        }
        let mut left = false;
        for agent in had.into_iter().filter(|a| Some(a) != now_with) {
            self.idle_since.insert(agent, now);
            left = true;
        }
        // An agent's time with the chat ends when it leaves them, whoever has it next.
        if left && let Some(start) = self.assigned_at.remove(id) {
            self.handled.0 += now - start;
            self.handled.1 += 1;
        }
        if now_with.is_some() {
            self.assigned_at.entry(id.clone()).or_insert(now);
        }
    }

    /// True when the desk already has the chat with its agent, with nobody else, out of line
    /// and with its start noted: observing it again would change nothing.
    fn already_with(&self, conversation: &Conversation) -> bool {
        let (id, Owner::Agent { agent, .. }) = (&conversation.id, &conversation.owner) else { return false };
        self.chats.get(agent).is_some_and(|chats| chats.contains(id))
            && self.chats.iter().all(|(other, chats)| other == agent || !chats.contains(id))
            && self.assigned_at.contains_key(id)
            && !self.waiting.contains_key(id)
    }

    /// Decide for a new request (and reserve the agent, so two requests never overbook one).
    pub fn route(
        &mut self,
        id: &ConversationId,
        handoff: &Handoff,
        sticky: Option<&str>,
        now: DateTime<Utc>,
    ) -> Decision {
        let fitting: Vec<&Agent> = self.roster.agents.iter().filter(|a| self.roster.fits(a, &handoff.wants)).collect();
        let on_duty: Vec<&Agent> = fitting.iter().copied().filter(|a| self.available(a, now)).collect();
        if on_duty.is_empty() {
            let until = fitting
                .iter()
                .filter(|a| !self.away.contains(&a.id))
                .filter_map(|a| self.roster.next_on_duty(a, now))
                .min();
            return Decision::Park { until };
        }
        let entry = Waiting { handoff: handoff.clone(), parked: false, told: 0, sticky: sticky.map(str::to_string) };
        // Someone else in line at or before the newcomer's place goes first.
        let place = entry.place(id);
        let ahead = self
            .line
            .iter()
            .find(|(_, _, other)| other != id)
            .is_some_and(|first| (&first.0, &first.1) <= (&place.0, &place.1));
        let chosen = if ahead { None } else { self.pick(&on_duty, sticky) };
        match chosen {
            Some(agent) => {
                self.chats.entry(agent.clone()).or_default().insert(id.clone());
                self.leave_line(id);
                Decision::Assign { agent }
            }
            None => {
                self.join_line(id, entry);
                let position = self.position(id).unwrap_or(1);
                Decision::Queue { position, eta: self.eta(position, handoff, now) }
            }
        }
    }

    /// Nobody waits and the line is as `moves` last saw it: neither [`next_assignments`] nor
    /// [`moves`] has anything to say, whatever the time, so the caller need not read the clock.
    ///
    /// [`next_assignments`]: Self::next_assignments
    /// [`moves`]: Self::moves
    pub fn is_quiet(&self) -> bool {
        self.waiting.is_empty() && self.moves_seen == Some(self.line_version)
    }

    /// Chats in line that a free agent can take now, in line order, with their agent (reserved).
    pub fn next_assignments(&mut self, now: DateTime<Utc>) -> Vec<(ConversationId, String)> {
        // Checked after every input: with nobody waiting (most of the time) or every agent
        // full (a long line), say so at once; the shifts are only read when someone waits.
        if self.waiting.is_empty() {
            return Vec::new();
        }
        let room = self.roster.agents.iter().any(|a| self.available(a, now) && self.load(&a.id) < a.max_chats);
        if !room {
            return Vec::new();
        }
        let mut out = Vec::new();
        for (id, waiting) in self.line().into_iter().map(|(id, w)| (id.clone(), w.clone())).collect::<Vec<_>>() {
            let on_duty: Vec<&Agent> = self
                .roster
                .agents
                .iter()
                .filter(|a| self.roster.fits(a, &waiting.handoff.wants) && self.available(a, now))
                .collect();
            if let Some(agent) = self.pick(&on_duty, waiting.sticky.as_deref()) {
                self.chats.entry(agent.clone()).or_default().insert(id.clone());
                self.leave_line(&id);
                out.push((id, agent));
            }
        }
        out
    }

    /// Queued chats whose place in line got better than they were told: (chat, place, wait).
    /// Places only change when the line does, so an unchanged line is not walked again.
    pub fn moves(&mut self, now: DateTime<Utc>) -> Vec<(ConversationId, u32, Duration)> {
        if self.moves_seen == Some(self.line_version) {
            return Vec::new();
        }
        self.moves_seen = Some(self.line_version);
        let line = self.line();
        line.iter()
            .enumerate()
            .filter(|(i, (_, w))| (*i as u32 + 1) < w.told)
            .map(|(i, (id, w))| ((*id).clone(), i as u32 + 1, self.eta(i as u32 + 1, &w.handoff, now)))
            .collect()
    }

    /// An agent steps away (their chats go back to the line: the returned ids, in order) or
    /// comes back.
    pub fn set_away(&mut self, agent: &str, away: bool) -> Vec<ConversationId> {
        if away {
            self.away.insert(agent.to_string());
            let mut chats: Vec<ConversationId> = self.chats.get(agent).into_iter().flatten().cloned().collect();
            chats.sort_unstable();
            chats
        } else {
            self.away.remove(agent);
            Vec::new()
        }
    }

    /// The place in line of a queued chat (1 is next).
    pub fn position(&self, id: &ConversationId) -> Option<u32> {
        let waiting = self.waiting.get(id).filter(|w| !w.parked)?;
        Some(self.line.range(..waiting.place(id)).count() as u32 + 1)
    }

    /// The expected wait at `position`: the measured (or configured) handle time for each
    /// round of chats ahead, shared by the fitting agents on duty.
    pub fn eta(&self, position: u32, handoff: &Handoff, now: DateTime<Utc>) -> Duration {
        let handle = if self.handled.1 > 0 { self.handled.0 / self.handled.1 } else { self.roster.handle_time };
        let capacity: usize = self
            .roster
            .agents
            .iter()
            .filter(|a| self.roster.fits(a, &handoff.wants) && self.available(a, now))
            .map(|a| a.max_chats)
            .sum();
        let rounds = (position as usize).div_ceil(capacity.max(1));
        handle * rounds as i32
    }

    fn available(&self, agent: &Agent, now: DateTime<Utc>) -> bool {
        !self.away.contains(&agent.id) && self.roster.on_duty(agent, now)
    }

    fn load(&self, agent: &str) -> usize {
        self.chats.get(agent).map_or(0, HashSet::len)
    }

    /// The sticky agent if free, else the least loaded free agent, ties by longest idle.
    fn pick(&self, candidates: &[&Agent], sticky: Option<&str>) -> Option<String> {
        let free: Vec<&&Agent> = candidates.iter().filter(|a| self.load(&a.id) < a.max_chats).collect();
        if let Some(s) = sticky.and_then(|s| free.iter().find(|a| a.id == s)) {
            return Some(s.id.clone());
        }
        free.into_iter()
            .min_by_key(|a| (self.load(&a.id), self.idle_since.get(&a.id).copied().unwrap_or(DateTime::<Utc>::MIN_UTC)))
            .map(|a| a.id.clone())
    }

    /// Queued (not parked) chats in line order: priority first, then who asked first.
    fn line(&self) -> Vec<(&ConversationId, &Waiting)> {
        self.line.iter().filter_map(|(_, _, id)| self.waiting.get_key_value(id)).collect()
    }

    /// Put a chat in line (replacing its earlier entry), or among the parked.
    fn join_line(&mut self, id: &ConversationId, waiting: Waiting) {
        self.leave_line(id);
        self.line_version += 1;
        if !waiting.parked {
            self.line.insert(waiting.place(id));
        }
        self.waiting.insert(id.clone(), waiting);
    }

    /// Take a chat out of line or out of the parked.
    fn leave_line(&mut self, id: &ConversationId) -> Option<Waiting> {
        let waiting = self.waiting.remove(id)?;
        self.line.remove(&waiting.place(id));
        self.line_version += 1;
        Some(waiting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schedule::WeeklyHours;
    use tandem_core::{UserProfile, Wants};

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn agent(id: &str, skills: &[&str], hours: &str, max_chats: usize) -> Agent {
        let mut shifts = WeeklyHours::default();
        shifts.add("mon-fri", hours).unwrap();
        Agent {
            id: id.into(),
            name: id.to_uppercase(),
            skills: skills.iter().map(|s| s.to_string()).collect(),
            teams: vec![],
            languages: vec![],
            tz: chrono_tz::UTC,
            shifts,
            max_chats,
        }
    }

    fn desk() -> Desk {
        Desk::new(Roster {
            agents: vec![
                agent("ann", &["orders"], "09:00-17:00", 1),
                agent("bob", &["orders", "care"], "09:00-17:00", 2),
            ],
            ..Roster::default()
        })
    }

    fn request(skills: &[&str], priority: i64, at: &str) -> Handoff {
        Handoff {
            reason: "test".into(),
            rule: None,
            wants: Wants { skills: skills.iter().map(|s| s.to_string()).collect(), ..Wants::default() },
            priority,
            requested_at: utc(at),
            step: None,
            on_return: None,
        }
    }

    fn chat(n: &str) -> ConversationId {
        ConversationId::new("t", n)
    }

    fn with_agent(n: &str, agent: &str) -> Conversation {
        let mut c = Conversation::new(chat(n), UserProfile::default(), utc("2026-01-05T09:00:00Z"));
        c.owner =
            Owner::Agent { agent: agent.into(), handoff: Box::new(request(&["orders"], 0, "2026-01-05T09:00:00Z")) };
        c
    }

    const MONDAY: &str = "2026-01-05T10:00:00Z";

    #[test]
    fn skills_decide_who_fits_and_the_least_loaded_gets_it() {
        let mut d = desk();
        let now = utc(MONDAY);
        assert_eq!(
            d.route(&chat("1"), &request(&["care"], 0, MONDAY), None, now),
            Decision::Assign { agent: "bob".into() }
        );
        assert_eq!(
            d.route(&chat("2"), &request(&["orders"], 0, MONDAY), None, now),
            Decision::Assign { agent: "ann".into() }
        );
    }

    #[test]
    fn sticky_beats_least_loaded_and_ties_go_to_the_longest_idle() {
        let mut d = desk();
        let now = utc(MONDAY);
        d.observe(&with_agent("x", "bob"), now);
        assert_eq!(
            d.route(&chat("1"), &request(&["orders"], 0, MONDAY), Some("bob"), now),
            Decision::Assign { agent: "bob".into() }
        );

        let mut d = desk();
        d.observe(&with_agent("y", "ann"), utc("2026-01-05T09:10:00Z"));
        d.observe(&Conversation::new(chat("y"), UserProfile::default(), now), utc("2026-01-05T09:30:00Z")); // ann finished at 9:30
        d.observe(&with_agent("z", "bob"), utc("2026-01-05T09:05:00Z"));
        d.observe(&Conversation::new(chat("z"), UserProfile::default(), now), utc("2026-01-05T09:20:00Z")); // bob at 9:20
        assert_eq!(
            d.route(&chat("1"), &request(&["orders"], 0, MONDAY), None, now),
            Decision::Assign { agent: "bob".into() }
        );
    }

    #[test]
    fn a_full_team_queues_by_priority_then_time_and_frees_in_that_order() {
        let mut d =
            Desk::new(Roster { agents: vec![agent("ann", &["orders"], "09:00-17:00", 1)], ..Roster::default() });
        let now = utc(MONDAY);
        assert_eq!(
            d.route(&chat("a"), &request(&["orders"], 0, MONDAY), None, now),
            Decision::Assign { agent: "ann".into() }
        );
        assert!(d.moves(now).is_empty());
        assert!(d.is_quiet(), "nobody waits and the line was looked at");
        let first = d.route(&chat("b"), &request(&["orders"], 0, "2026-01-05T10:01:00Z"), None, now);
        assert!(!d.is_quiet(), "someone waits");
        assert_eq!(first, Decision::Queue { position: 1, eta: Duration::minutes(8) });
        let vip = d.route(&chat("c"), &request(&["orders"], 100, "2026-01-05T10:02:00Z"), None, now);
        assert_eq!(vip, Decision::Queue { position: 1, eta: Duration::minutes(8) });
        assert_eq!(d.position(&chat("b")), Some(2));
        d.observe(&with_agent("a", "ann"), now); // the assignment committed
        d.observe(&Conversation::new(chat("a"), UserProfile::default(), now), utc("2026-01-05T10:20:00Z"));
        assert_eq!(d.next_assignments(now), vec![(chat("c"), "ann".to_string())]);
        assert!(!d.is_quiet(), "b still waits");
        assert_eq!(d.eta(1, &request(&["orders"], 0, MONDAY), now), Duration::minutes(20), "the measured handle time");
    }

    #[test]
    fn observing_a_chat_again_changes_nothing_and_a_transfer_frees_the_first_agent() {
        let mut d = desk();
        let now = utc(MONDAY);
        let request = request(&["orders"], 0, MONDAY);
        assert_eq!(d.route(&chat("1"), &request, None, now), Decision::Assign { agent: "ann".into() });
        assert!(!d.assigned_at.contains_key(&chat("1")), "reserved, not yet committed");
        d.observe(&with_agent("1", "ann"), now);
        let started = d.assigned_at[&chat("1")];
        d.observe(&with_agent("1", "ann"), utc("2026-01-05T10:05:00Z")); // the customer writes again
        assert_eq!((d.load("ann"), d.assigned_at[&chat("1")]), (1, started));
        // Transferred: bob is reserved while ann still has it; once committed, only bob does.
        // Ann's time with the chat ends then, and bob's starts, whichever of the two the desk
        // finds first.
        d.chats.entry("bob".into()).or_default().insert(chat("1"));
        let transferred = utc("2026-01-05T10:10:00Z");
        d.observe(&with_agent("1", "bob"), transferred);
        assert_eq!((d.load("ann"), d.load("bob")), (0, 1));
        assert_eq!(
            (d.handled, d.idle_since.get("ann"), d.assigned_at[&chat("1")]),
            ((Duration::minutes(10), 1), Some(&transferred), transferred)
        );
        assert_eq!(d.idle_since.get("bob"), None);
        d.observe(&Conversation::new(chat("1"), UserProfile::default(), now), utc("2026-01-05T10:30:00Z")); // handed back
        assert_eq!((d.handled, d.load("bob")), ((Duration::minutes(30), 2), 0));
        assert!(!d.assigned_at.contains_key(&chat("1")));
    }

    #[test]
    fn nobody_on_shift_parks_until_the_first_fitting_shift() {
        let mut d = desk();
        let friday_night = utc("2026-01-09T22:00:00Z");
        let decision = d.route(&chat("1"), &request(&["care"], 0, "2026-01-09T22:00:00Z"), None, friday_night);
        assert_eq!(decision, Decision::Park { until: Some(utc("2026-01-12T09:00:00Z")) });
        let nobody = d.route(&chat("2"), &request(&["french"], 0, "2026-01-09T22:00:00Z"), None, friday_night);
        assert_eq!(nobody, Decision::Park { until: None });
    }

    #[test]
    fn an_agent_who_leaves_hands_back_their_chats_and_gets_no_more() {
        let mut d = desk();
        let now = utc(MONDAY);
        d.observe(&with_agent("x", "ann"), now);
        assert_eq!(d.set_away("ann", true), vec![chat("x")]);
        assert_eq!(
            d.route(&chat("1"), &request(&["orders"], 0, MONDAY), Some("ann"), now),
            Decision::Assign { agent: "bob".into() }
        );
    }
}
