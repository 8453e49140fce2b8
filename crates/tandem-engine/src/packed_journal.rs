//! A conversation's journal as the memory store keeps it: each step's run of events (its
//! first number, its time, the events) packed in MessagePack, one run after another in one
//! buffer of exactly its size. As events, a journal took ~1.65 KiB of the ~2.7 a conversation
//! held in the memory benchmark (an event is 56 bytes, and each of its strings and each run a
//! block of its own); packed, it is about the size of its texts. It is only read to show a
//! transcript, so it is unpacked then.

use chrono::DateTime;
use serde::Deserialize;
use tandem_core::{Event, JournalEntry, JournalRun, StoreError};

/// One conversation's packed runs, oldest first.
#[derive(Debug, Default)]
pub(crate) struct PackedJournal(Vec<u8>);

/// Bytes a step's events usually pack into (the benchmark's steps: 96-194).
const PACKED_STEP_BYTES: usize = 256;

/// A run as packed: its first number, its time (seconds and nanoseconds: exact), its events.
type PackedRun<E> = (u64, i64, u32, E);

impl PackedJournal {
    /// A step's numbered events, packed to be appended (before the commit changes anything,
    /// so that a failure leaves it undone).
    pub(crate) fn pack(entries: Vec<JournalEntry>) -> Result<Vec<u8>, StoreError> {
        // Room for a usual step's events: grown from empty, it was reallocated six times.
        let mut packed = Vec::with_capacity(PACKED_STEP_BYTES);
        for run in JournalRun::split(entries) {
            let run: PackedRun<&[Event]> = (run.seq, run.at.timestamp(), run.at.timestamp_subsec_nanos(), &run.events);
            rmp_serde::encode::write(&mut packed, &run)
                .map_err(|e| StoreError::Database(format!("packing journal events: {e}")))?;
        }
        Ok(packed)
    }

    /// Append what [`pack`](Self::pack) gave.
    pub(crate) fn append(&mut self, packed: &[u8]) {
        // Grown by what it needs, not doubled: a journal lives as long as its conversation.
        self.0.reserve_exact(packed.len());
        self.0.extend_from_slice(packed);
    }

    /// Every event, in order.
    pub(crate) fn entries(&self) -> Result<Vec<JournalEntry>, StoreError> {
        let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt(format!("a packed journal: {e}"));
        let mut rest: &[u8] = &self.0;
        let mut entries = Vec::new();
        while !rest.is_empty() {
            let mut reader = rmp_serde::Deserializer::new(&mut rest);
            let (seq, secs, nanos, events): PackedRun<Vec<Event>> =
                Deserialize::deserialize(&mut reader).map_err(|e| corrupt(&e))?;
            let at = DateTime::from_timestamp(secs, nanos).ok_or_else(|| corrupt(&"a time out of range"))?;
            entries.extend((seq..).zip(events).map(|(seq, event)| JournalEntry { seq, at, event }));
        }
        Ok(entries)
    }

    /// Bytes held.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.0.len()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;
    use tandem_core::{ActionRefusal, EscalationFired, HandoffRequest, OwnerChange};

    use super::*;

    fn entry(seq: u64, at: DateTime<Utc>, event: Event) -> JournalEntry {
        JournalEntry { seq, at, event }
    }

    #[test]
    fn every_kind_of_event_reads_back_as_written() {
        let t0 = Utc.timestamp_opt(1_790_000_000, 123_456_789).single().unwrap();
        let t1 = t0 + chrono::Duration::seconds(3);
        let events = [
            Event::CustomerSaid { text: "hi 😡".into(), button: None },
            Event::CustomerSaid { text: "Yes".into(), button: Some("Yes".into()) },
            Event::BotSaid { text: "Pick one".into(), buttons: vec!["A".into(), "B".into()] },
            Event::StepEntered { flow: "support".into(), step: "greet".into() },
            Event::IntentDetected { intent: "track_order".into(), confidence: 0.8125 },
            Event::VariableSet { name: "order".into(), value: json!({"id": "ORD-1", "items": [1, 2.5, null, true]}) },
            Event::CaptureRejected { var: "order".into(), tries: 2 },
            Event::Fallback { count: 1 },
            Event::TimerFired { kind: "timeout".into(), step: "support.ask".into() },
            Event::EscalationTriggered(Box::new(EscalationFired {
                rule: "upset".into(),
                reason: "upset customer".into(),
                values: json!({"sentiment.score": -0.7}),
            })),
            Event::HandoffRequested(Box::new(HandoffRequest {
                reason: "asked".into(),
                skills: vec!["orders".into()],
                team: None,
                agent: Some("alice".into()),
            })),
            Event::OwnerChanged(Box::new(OwnerChange {
                from: "bot".into(),
                to: "agent alice".into(),
                actor: "desk".into(),
                reason: "assigned".into(),
            })),
            Event::AgentSaid { agent: "alice".into(), text: "Hello".into() },
            Event::AgentNote { agent: "alice".into(), text: "VIP".into() },
            Event::BotSilenced { text: "later".into() },
            Event::ActionRefused(Box::new(ActionRefusal {
                agent: "bob".into(),
                action: "take".into(),
                why: "not yours".into(),
            })),
            Event::LoopStopped { flow: "f".into(), step: "s".into() },
            Event::Ended,
        ];
        let written: Vec<JournalEntry> =
            events.into_iter().enumerate().map(|(i, e)| entry(i as u64 + 1, if i < 9 { t0 } else { t1 }, e)).collect();
        let mut journal = PackedJournal::default();
        journal.append(&PackedJournal::pack(written[..4].to_vec()).unwrap());
        journal.append(&PackedJournal::pack(written[4..].to_vec()).unwrap());
        assert_eq!(journal.entries().unwrap(), written);
    }

    #[test]
    fn runs_keep_their_numbers_and_times_and_a_journal_is_about_its_texts_size() {
        let t = Utc.timestamp_opt(1_790_000_000, 0).single().unwrap();
        let mut journal = PackedJournal::default();
        assert_eq!(journal.entries().unwrap(), []);
        let said = |text: &str| Event::BotSaid { text: text.into(), buttons: Vec::new() };
        let step = vec![
            entry(7, t, Event::CustomerSaid { text: "my order is ORD-00042".into(), button: None }),
            entry(8, t, Event::VariableSet { name: "order".into(), value: json!("ORD-00042") }),
            entry(9, t, Event::StepEntered { flow: "support".into(), step: "describe".into() }),
            entry(10, t, said("Thanks, order ORD-00042. Please describe the issue.")),
            // A gap in the numbers and another time: a run of its own.
            entry(12, t + chrono::Duration::milliseconds(1), said("later")),
        ];
        journal.append(&PackedJournal::pack(step.clone()).unwrap());
        assert_eq!(journal.entries().unwrap(), step);
        let texts = 21 + 5 + 9 + 7 + 8 + 51 + 5;
        assert!(journal.len() < texts + 120, "{} bytes for {texts} of text", journal.len());
    }

    #[test]
    fn a_damaged_journal_is_an_error_not_a_panic() {
        let mut journal = PackedJournal::default();
        let t = Utc.timestamp_opt(1_790_000_000, 0).single().unwrap();
        journal.append(&PackedJournal::pack(vec![entry(1, t, Event::Ended)]).unwrap());
        journal.0.truncate(journal.0.len() - 1);
        assert!(matches!(journal.entries(), Err(StoreError::Corrupt(_))));
    }
}
