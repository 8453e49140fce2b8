//! Every conversation's journal as the memory store keeps it: one log that only grows. Each
//! step's run of events (its first number, its time, the events) is packed
//! ([`crate::journal_codec`]) into a block, appended after the last block of any conversation;
//! a block names where its conversation's previous one is, so a transcript is read by walking
//! back from the last.
//!
//! As events, a journal took ~1.65 KiB of the ~2.7 a conversation held in the memory benchmark
//! (an event is 56 bytes, and each of its strings and each run a block of its own). Packed into
//! a buffer per conversation, grown at every step, every step moved the buffer and left the old
//! one free among other conversations' things. In the log a step costs its bytes and a 12-byte
//! header, and nothing is moved. It is only read to show a transcript.

use tandem_core::{JournalEntry, JournalRun, StoreError};

use crate::journal_codec::{Packer, RecurringTexts, Unpacker, corrupt};

/// Where a block starts in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockAt {
    chunk: u32,
    offset: u32,
}

impl BlockAt {
    /// As a block's header names it: chunk and offset in one number, [`NO_BLOCK`] for none.
    fn to_header(at: Option<Self>) -> u64 {
        at.map_or(NO_BLOCK, |at| (u64::from(at.chunk) << 32) | u64::from(at.offset))
    }

    fn from_header(packed: u64) -> Option<Self> {
        (packed != NO_BLOCK).then_some(Self { chunk: (packed >> 32) as u32, offset: packed as u32 })
    }
}

/// All conversations' blocks, in the order they were written.
#[derive(Default)]
pub(crate) struct JournalLog {
    /// Each of [`CHUNK_BYTES`] (or one block's size, if larger), filled in turn and never
    /// reallocated: the log grows without moving what it holds.
    chunks: Vec<Vec<u8>>,
    /// Where a step's events are packed before they are copied into a chunk; kept, so that
    /// packing allocates nothing.
    scratch: Vec<u8>,
    /// Texts the blocks name by number.
    texts: RecurringTexts,
}

/// The size of a chunk of the log. Its pages are only made resident as they are written.
const CHUNK_BYTES: usize = 1 << 20;

/// A block's header: the previous block of its conversation ([`NO_BLOCK`] for none), then the
/// length of what follows, little-endian.
const HEADER_BYTES: usize = 8 + 4;
const NO_BLOCK: u64 = u64::MAX;

impl JournalLog {
    /// Append a step's numbered events as a block after `previous`, its conversation's last
    /// block, and return the conversation's last block now. On an error nothing is appended.
    pub(crate) fn append(
        &mut self,
        previous: Option<BlockAt>,
        entries: &[JournalEntry],
    ) -> Result<Option<BlockAt>, StoreError> {
        if entries.is_empty() {
            return Ok(previous);
        }
        self.scratch.clear();
        let mut packer = Packer::new(&mut self.scratch, &mut self.texts);
        JournalRun::split(entries).try_for_each(|run| packer.run(run))?;
        let len = u32::try_from(self.scratch.len())
            .map_err(|_| StoreError::Database("a step's journal events take over 4 GiB".into()))?;
        let needed = HEADER_BYTES + self.scratch.len();
        if self.chunks.last().is_none_or(|chunk| chunk.capacity() - chunk.len() < needed) {
            self.chunks.push(Vec::with_capacity(needed.max(CHUNK_BYTES)));
        }
        let chunk_index = self.chunks.len() - 1;
        let chunk = &mut self.chunks[chunk_index];
        let at = BlockAt {
            chunk: u32::try_from(chunk_index).map_err(|_| StoreError::Database("the journal log is full".into()))?,
            offset: chunk.len() as u32,
        };
        chunk.extend_from_slice(&BlockAt::to_header(previous).to_le_bytes());
        chunk.extend_from_slice(&len.to_le_bytes());
        chunk.extend_from_slice(&self.scratch);
        Ok(Some(at))
    }

    /// Every event of the conversation whose last block is `last`, in order.
    pub(crate) fn entries(&self, last: Option<BlockAt>) -> Result<Vec<JournalEntry>, StoreError> {
        let mut blocks = Vec::new();
        let mut next = last;
        while let Some(at) = next {
            let (previous, block) = self.block(at)?;
            blocks.push(block);
            next = previous;
        }
        let mut entries = Vec::new();
        for block in blocks.into_iter().rev() {
            Unpacker::new(block, &self.texts).runs_into(&mut entries)?;
        }
        Ok(entries)
    }

    /// The block at `at`: where its conversation's previous block is, and its packed runs.
    fn block(&self, at: BlockAt) -> Result<(Option<BlockAt>, &[u8]), StoreError> {
        let chunk = self.chunks.get(at.chunk as usize).ok_or_else(|| corrupt(&"a block past the end"))?;
        let start = at.offset as usize;
        let header = chunk.get(start..start + HEADER_BYTES).ok_or_else(|| corrupt(&"a cut header"))?;
        let (previous, len) = header.split_at(8);
        let previous = BlockAt::from_header(u64::from_le_bytes(previous.try_into().expect("8 bytes")));
        let len = u32::from_le_bytes(len.try_into().expect("4 bytes")) as usize;
        let body = start + HEADER_BYTES;
        let block = chunk.get(body..body + len).ok_or_else(|| corrupt(&"a cut block"))?;
        // Blocks only point back: anything else would walk in a circle.
        if previous.is_some_and(|p| (p.chunk, p.offset) >= (at.chunk, at.offset)) {
            return Err(corrupt(&"a block that points forward"));
        }
        Ok((previous, block))
    }

    /// Bytes written, headers included.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, TimeZone, Utc};
    use serde_json::json;
    use tandem_core::{ActionRefusal, EscalationFired, Event, HandoffRequest, OwnerChange};

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
        let mut log = JournalLog::default();
        let first = log.append(None, &written[..4]).unwrap();
        let last = log.append(first, &written[4..]).unwrap();
        assert_eq!(log.append(last, &[]).unwrap(), last, "no events, no block");
        assert_eq!(log.entries(last).unwrap(), written);
        assert_eq!(log.entries(first).unwrap(), written[..4]);
    }

    #[test]
    fn conversations_written_in_turn_read_back_apart_across_chunks() {
        let t = Utc.timestamp_opt(1_790_000_000, 0).single().unwrap();
        let said =
            |n: usize| Event::CustomerSaid { text: format!("message {n} {}", "x".repeat(n % 300)), button: None };
        let mut log = JournalLog::default();
        let mut last: [Option<BlockAt>; 3] = [None; 3];
        let mut written: [Vec<JournalEntry>; 3] = Default::default();
        // Enough steps to fill more than one chunk; one step larger than a chunk.
        for n in 0..12_000 {
            let c = n % 3;
            let mut step = vec![entry(written[c].len() as u64 + 1, t, said(n))];
            if n == 6_001 {
                step[0].event = Event::AgentNote { agent: "alice".into(), text: "y".repeat(CHUNK_BYTES + 1) };
            }
            last[c] = log.append(last[c], &step).unwrap();
            written[c].extend(step);
        }
        assert!(log.chunks.len() > 3, "{} chunks", log.chunks.len());
        for c in 0..3 {
            assert_eq!(log.entries(last[c]).unwrap(), written[c]);
        }
        assert_eq!(log.entries(None).unwrap(), []);
    }

    #[test]
    fn runs_keep_their_numbers_and_times_and_a_journal_is_about_its_texts_size() {
        let t = Utc.timestamp_opt(1_790_000_000, 0).single().unwrap();
        let mut log = JournalLog::default();
        let said = |text: &str| Event::BotSaid { text: text.into(), buttons: Vec::new() };
        let step = vec![
            entry(7, t, Event::CustomerSaid { text: "my order is ORD-00042".into(), button: None }),
            entry(8, t, Event::VariableSet { name: "order".into(), value: json!("ORD-00042") }),
            entry(9, t, Event::StepEntered { flow: "support".into(), step: "describe".into() }),
            entry(10, t, said("Thanks, order ORD-00042. Please describe the issue.")),
            // A gap in the numbers and another time: a run of its own.
            entry(12, t + chrono::Duration::milliseconds(1), said("later")),
        ];
        let last = log.append(None, &step).unwrap();
        assert_eq!(log.entries(last).unwrap(), step);
        let texts = 21 + 5 + 9 + 7 + 8 + 51 + 5;
        assert!(log.len() <= texts + 48, "{} bytes for {texts} of text", log.len());
    }

    #[test]
    fn a_damaged_journal_is_an_error_not_a_panic() {
        let mut log = JournalLog::default();
        let t = Utc.timestamp_opt(1_790_000_000, 0).single().unwrap();
        let first = log.append(None, &[entry(1, t, Event::Ended)]).unwrap();
        let last = log.append(first, &[entry(2, t, Event::Ended)]).unwrap();
        log.chunks[0].pop();
        assert!(matches!(log.entries(last), Err(StoreError::Corrupt(_))));
        // A block whose header points at itself.
        let at = first.unwrap().offset as usize;
        log.chunks[0][at..at + 8].copy_from_slice(&0u64.to_le_bytes());
        assert!(matches!(log.entries(first), Err(StoreError::Corrupt(_))));
        let past_the_end = BlockAt { chunk: 1, offset: 0 };
        assert!(matches!(log.entries(Some(past_the_end)), Err(StoreError::Corrupt(_))));
    }
}
