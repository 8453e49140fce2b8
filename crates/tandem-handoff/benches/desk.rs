//! The desk with a long line: two full agents and 10,000 chats waiting. Each message of a
//! waiting chat asks for its place, and each new request is routed and queued.

use chrono::{DateTime, Duration, Utc};
use criterion::{Criterion, criterion_group, criterion_main};
use tandem_core::{Conversation, ConversationId, Handoff, Owner, UserProfile, Wants};
use tandem_handoff::{Agent, Desk, Roster, WeeklyHours};

const WAITING: usize = 10_000;

fn agent(id: &str) -> Agent {
    let mut shifts = WeeklyHours::default();
    shifts.add("mon-sun", "00:00-23:59").expect("hours");
    Agent {
        id: id.into(),
        name: id.into(),
        skills: vec![],
        teams: vec![],
        languages: vec![],
        tz: chrono_tz::UTC,
        shifts,
        max_chats: 5,
    }
}

fn request(priority: i64, at: DateTime<Utc>) -> Handoff {
    Handoff {
        reason: "bench".into(),
        rule: None,
        wants: Wants::default(),
        priority,
        requested_at: at,
        step: None,
        on_return: None,
    }
}

/// Two agents with five chats each, and `WAITING` chats in line (one in ten with priority).
fn long_line(now: DateTime<Utc>) -> Desk {
    let mut desk = Desk::new(Roster { agents: vec![agent("sam"), agent("kai")], ..Roster::default() });
    for n in 0..10 + WAITING {
        let id = ConversationId::new("bench", n.to_string());
        let handoff = request(i64::from(n % 10 == 0), now - Duration::seconds((WAITING - n.min(WAITING)) as i64));
        let decision = desk.route(&id, &handoff, None, now);
        let mut conversation = Conversation::new(id, UserProfile::default(), now);
        conversation.owner = match decision {
            tandem_handoff::Decision::Assign { agent } => Owner::Agent { agent, handoff: Box::new(handoff) },
            tandem_handoff::Decision::Queue { position, .. } => Owner::Queued { handoff: Box::new(handoff), position },
            tandem_handoff::Decision::Park { .. } => unreachable!("the agents work every day"),
        };
        desk.observe(&conversation, now);
    }
    desk
}

fn desk(c: &mut Criterion) {
    let now = DateTime::parse_from_rfc3339("2026-01-05T10:00:00Z").expect("time").with_timezone(&Utc);
    let mut desk = long_line(now);
    // Not a priority chat (those are every tenth): about the 5,400th place.
    let middle = ConversationId::new("bench", (WAITING / 2 + 1).to_string());
    c.bench_function("desk position in a line of 10,000", |b| b.iter(|| desk.position(&middle)));
    c.bench_function("desk next_assignments, all agents full", |b| b.iter(|| desk.next_assignments(now)));
    let newcomer = ConversationId::new("bench", "new");
    let upset = request(1, now);
    c.bench_function("desk route a request into a line of 10,000, and out again", |b| {
        b.iter(|| {
            let decision = desk.route(&newcomer, &upset, None, now);
            desk.observe(&Conversation::new(newcomer.clone(), UserProfile::default(), now), now);
            decision
        })
    });
}

/// An agent with 1,000 chats; each message in one of them is observed after its commit.
fn busy_agent(c: &mut Criterion) {
    let now = DateTime::parse_from_rfc3339("2026-01-05T10:00:00Z").expect("time").with_timezone(&Utc);
    let mut sam = agent("sam");
    sam.max_chats = 2_000;
    let mut desk = Desk::new(Roster { agents: vec![sam, agent("kai")], ..Roster::default() });
    let mut chat = None;
    for n in 0..1_000 {
        let mut conversation =
            Conversation::new(ConversationId::new("bench", n.to_string()), UserProfile::default(), now);
        let handoff = Box::new(request(0, now));
        conversation.owner = Owner::Agent { agent: "sam".into(), handoff };
        desk.observe(&conversation, now);
        chat = Some(conversation);
    }
    let chat = chat.expect("a chat");
    c.bench_function("desk observe a message of a chat with an agent who has 1,000", |b| {
        b.iter(|| desk.observe(&chat, now))
    });
}

/// Nobody waits, and the desk is asked after every input whether someone can be given an agent.
fn empty_line(c: &mut Criterion) {
    let now = DateTime::parse_from_rfc3339("2026-01-05T10:00:00Z").expect("time").with_timezone(&Utc);
    let mut desk = Desk::new(Roster { agents: vec![agent("sam"), agent("kai")], ..Roster::default() });
    c.bench_function("desk next_assignments, nobody waiting", |b| b.iter(|| desk.next_assignments(now)));
}

criterion_group!(benches, desk, busy_agent, empty_line);
criterion_main!(benches);
