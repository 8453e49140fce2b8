//! The journal: every event of a conversation, in order. It is the transcript later shown to
//! agents and the audit trail of every decision the bot made.

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Something that happened in a conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// The customer wrote or pressed a button.
    CustomerSaid { text: String, button: Option<String> },
    /// The bot sent a message.
    BotSaid { text: String, buttons: Vec<String> },
    /// The bot moved to a step.
    StepEntered { flow: CompactString, step: CompactString },
    /// The message was understood as an intent.
    IntentDetected { intent: String, confidence: f64 },
    /// A variable was set by `set`, `capture` or an action.
    VariableSet { name: String, value: Value },
    /// An answer did not pass a capture's validation.
    CaptureRejected { var: String, tries: u32 },
    /// An answer matched no route.
    Fallback { count: u32 },
    /// A timeout or follow-up fired.
    TimerFired { kind: String, step: String },
    /// An escalation rule fired on a customer message.
    EscalationTriggered(Box<EscalationFired>),
    /// The bot asked for a human.
    HandoffRequested(Box<HandoffRequest>),
    /// Who owns the conversation changed.
    OwnerChanged(Box<OwnerChange>),
    /// A named agent wrote to the customer.
    AgentSaid { agent: String, text: String },
    /// A private note by an agent, never shown to the customer.
    AgentNote { agent: String, text: String },
    /// Something the bot would have said while a human owned the chat: not sent.
    BotSilenced { text: String },
    /// An agent action that could not be done.
    ActionRefused(Box<ActionRefusal>),
    /// Steps jumped into each other too many times without waiting: the flow has a loop.
    LoopStopped { flow: String, step: String },
    /// The conversation was closed by an `end` step.
    Ended,
}

// The rare events with many fields are boxed, so that every event is small: an event is as
// large as its largest variant, and a conversation's journal is most of its memory (an
// event took 104 bytes, now 56). Their JSON is the same as a variant with those fields.

/// An escalation rule fired on a customer message: which one and the values that fired it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EscalationFired {
    pub rule: String,
    pub reason: String,
    pub values: Value,
}

/// The bot asked for a human: why, and whom.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HandoffRequest {
    pub reason: String,
    pub skills: Vec<String>,
    pub team: Option<String>,
    pub agent: Option<String>,
}

/// Who owns the conversation changed: from, to, who did it and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnerChange {
    pub from: String,
    pub to: String,
    pub actor: String,
    pub reason: String,
}

/// An agent action that could not be done: who tried what, and why not.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRefusal {
    pub agent: String,
    pub action: String,
    pub why: String,
}

/// An event as stored: its place in the conversation and when it happened.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JournalEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub event: Event,
}

/// Events with consecutive sequence numbers at one time: a step's events, borrowed from the
/// commit's entries. The stores keep a run as one journal row (SQLite, PostgreSQL) or one
/// block in memory, not an entry each: the number and time are kept once, and a step wrote 3-4
/// events a turn. It serialises as the list of its events.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JournalRun<'a>(&'a [JournalEntry]);

impl<'a> JournalRun<'a> {
    /// Numbered events, as runs: a gap in the numbers or another time starts a new one. Nothing
    /// is copied.
    pub fn split(entries: &'a [JournalEntry]) -> impl Iterator<Item = JournalRun<'a>> {
        entries.chunk_by(|a, b| b.seq == a.seq + 1 && b.at == a.at).map(JournalRun)
    }

    /// The first event's sequence number; the others follow it.
    pub fn seq(&self) -> u64 {
        self.0[0].seq // `chunk_by` makes no empty runs
    }

    pub fn at(&self) -> DateTime<Utc> {
        self.0[0].at
    }

    /// The run's entries, in order.
    pub fn entries(&self) -> &'a [JournalEntry] {
        self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Serialize for JournalRun<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.0.iter().map(|entry| &entry.event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn boxed_events_keep_the_json_of_a_variant_with_fields() {
        let change = Event::OwnerChanged(Box::new(OwnerChange {
            from: "bot".into(),
            to: "agent alice".into(),
            actor: "desk".into(),
            reason: "upset".into(),
        }));
        let json = serde_json::json!({
            "type": "owner_changed", "from": "bot", "to": "agent alice", "actor": "desk", "reason": "upset"
        });
        assert_eq!(serde_json::to_value(&change).unwrap(), json);
        assert_eq!(serde_json::from_value::<Event>(json).unwrap(), change);
    }

    fn said(seq: u64, at: i64, text: &str) -> JournalEntry {
        let at = DateTime::from_timestamp_micros(at).unwrap();
        JournalEntry { seq, at, event: Event::BotSaid { text: text.into(), buttons: vec![] } }
    }

    #[test]
    fn a_gap_another_time_or_a_repeated_number_starts_a_run_and_entries_read_back() {
        let entries = vec![said(4, 10, "a"), said(5, 10, "b"), said(7, 10, "c"), said(8, 11, "d"), said(8, 11, "e")];
        let runs: Vec<JournalRun> = JournalRun::split(&entries).collect();
        let shape: Vec<(u64, usize)> = runs.iter().map(|r| (r.seq(), r.len())).collect();
        assert_eq!(shape, [(4, 2), (7, 1), (8, 1), (8, 1)]);
        assert_eq!(runs[0].at(), entries[0].at);
        let events = |run: &JournalRun| serde_json::to_value(run).unwrap();
        assert_eq!(events(&runs[0]), serde_json::to_value([&entries[0].event, &entries[1].event]).unwrap());
        assert_eq!(JournalRun::split(&[]).count(), 0);
    }

    #[test]
    fn an_event_is_small() {
        // The journal is most of a live conversation's memory, whose budget is 1 KiB.
        assert!(std::mem::size_of::<Event>() <= 64, "{}", std::mem::size_of::<Event>());
    }
}
