//! Every conversation's journal as the memory store keeps it: one log that only grows. Each
//! step's run of events (its first number, its time, the events) is packed
//! ([`crate::journal_codec`]) into a block, appended after the last block of any conversation;
//! a block names where its conversation's previous one is, so a transcript is read by walking
//! back from the last.
//!
//! As events, a journal took ~1.65 KiB of the ~2.7 a conversation held in the memory benchmark
//! (an event is 56 bytes, and each of its strings and each run a block of its own). Packed into
//! a buffer per conversation, grown at every step, every step moved the buffer and left the old
//! one free among other conversations' things. In the log a step costs its bytes and a header of
//! a few bytes, and nothing is moved. It is only read to show a transcript.

use std::num::NonZeroU64;

use tandem_core::{JournalEntry, JournalRun, StoreError};

use crate::journal_codec::{Packer, RecurringTexts, Unpacker, corrupt, push_varint, read_varint};

/// Where a block starts in the log: its position counting every byte before it, plus one, so
/// that a conversation's `Option<BlockAt>` takes 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockAt(NonZeroU64);

impl BlockAt {
    fn new(position: u64) -> Self {
        Self(NonZeroU64::MIN.saturating_add(position))
    }

    fn position(self) -> u64 {
        self.0.get() - 1
    }
}

/// All conversations' blocks, in the order they were written.
#[derive(Default)]
pub(crate) struct JournalLog {
    /// Each of [`CHUNK_BYTES`] (or one block's size, if larger), filled in turn and never
    /// reallocated: the log grows without moving what it holds.
    chunks: Vec<Vec<u8>>,
    /// Where each chunk starts, counting every byte of the log before it: a block's header
    /// names its conversation's previous block by the distance back in this count.
    chunk_starts: Vec<u64>,
    /// Where a step's events are packed before they are copied into a chunk; kept, so that
    /// packing allocates nothing.
    scratch: Vec<u8>,
    /// Texts the blocks name by number.
    texts: RecurringTexts,
    /// The second of the first event written: times are packed as seconds after it.
    epoch: Option<i64>,
}

/// The size of a chunk of the log. Its pages are only made resident as they are written.
const CHUNK_BYTES: usize = 1 << 20;

/// A block's header is two LEB128 numbers: how many bytes back its conversation's previous
/// block starts (0: none), and the length of what follows. 4-5 bytes in the benchmark, where
/// fixed-size numbers took 12.
const MOST_HEADER_BYTES: usize = 2 * 10;

impl JournalLog {
    /// Append a step's numbered events as a block after `previous`, its conversation's last
    /// block, and return the conversation's last block now. On an error nothing is appended.
    pub(crate) fn append(
        &mut self,
        previous: Option<BlockAt>,
        entries: &[JournalEntry],
    ) -> Result<Option<BlockAt>, StoreError> {
        let Some(first) = entries.first() else {
            return Ok(previous);
        };
        let epoch = *self.epoch.get_or_insert(first.at.timestamp());
        self.scratch.clear();
        let mut packer = Packer::new(&mut self.scratch, &mut self.texts, epoch);
        JournalRun::split(entries).try_for_each(|run| packer.run(run))?;
        let needed = MOST_HEADER_BYTES + self.scratch.len();
        if self.chunks.last().is_none_or(|chunk| chunk.capacity() - chunk.len() < needed) {
            let start = self.chunk_starts.last().zip(self.chunks.last()).map_or(0, |(s, c)| s + c.len() as u64);
            self.chunks.push(Vec::with_capacity(needed.max(CHUNK_BYTES)));
            self.chunk_starts.push(start);
        }
        let chunk_index = self.chunks.len() - 1;
        let here = self.chunk_starts[chunk_index] + self.chunks[chunk_index].len() as u64;
        let back = match previous {
            None => 0,
            Some(p) => here.checked_sub(p.position()).filter(|&back| back > 0).ok_or_else(|| {
                StoreError::Database("a conversation's last journal block is not before the end".into())
            })?,
        };
        let chunk = &mut self.chunks[chunk_index];
        push_varint(chunk, back);
        push_varint(chunk, self.scratch.len() as u64);
        chunk.extend_from_slice(&self.scratch);
        Ok(Some(BlockAt::new(here)))
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
        let epoch = self.epoch.unwrap_or_default();
        for block in blocks.into_iter().rev() {
            Unpacker::new(block, &self.texts, epoch).runs_into(&mut entries)?;
        }
        Ok(entries)
    }

    /// The block at `at`: where its conversation's previous block is, and its packed runs.
    fn block(&self, at: BlockAt) -> Result<(Option<BlockAt>, &[u8]), StoreError> {
        let position = at.position();
        // The chunk that holds `position`: the last that starts at or before it.
        let index = self.chunk_starts.partition_point(|&start| start <= position);
        let (chunk, start) = index
            .checked_sub(1)
            .and_then(|i| Some((self.chunks.get(i)?, self.chunk_starts[i])))
            .ok_or_else(|| corrupt(&"a block past the end"))?;
        let offset = usize::try_from(position - start).map_err(|e| corrupt(&e))?;
        let mut rest = chunk.get(offset..).ok_or_else(|| corrupt(&"a block past the end"))?;
        let back = read_varint(&mut rest)?;
        let len = usize::try_from(read_varint(&mut rest)?).map_err(|e| corrupt(&e))?;
        let block = rest.get(..len).ok_or_else(|| corrupt(&"a cut block"))?;
        // A distance back, never 0 for a block: a transcript cannot walk in a circle.
        let previous = match back {
            0 => None,
            back => Some(BlockAt::new(position.checked_sub(back).ok_or_else(|| corrupt(&"a block before the log"))?)),
        };
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
    fn times_are_kept_to_the_microsecond_before_and_after_the_first() {
        let t = Utc.timestamp_opt(1_790_000_000, 123_456_789).single().unwrap();
        let mut log = JournalLog::default();
        let first = log.append(None, &[entry(1, t, Event::Ended)]).unwrap();
        let earlier = log.append(first, &[entry(2, t - chrono::Duration::days(400), Event::Ended)]).unwrap();
        let times: Vec<i64> =
            log.entries(earlier).unwrap().iter().map(|e| e.at.timestamp_nanos_opt().unwrap()).collect();
        let micros = 1_790_000_000_123_456_000;
        assert_eq!(times, [micros, micros - 400 * 86_400 * 1_000_000_000]);
    }

    #[test]
    fn every_kind_of_event_reads_back_as_written() {
        let t0 = Utc.timestamp_opt(1_790_000_000, 123_456_000).single().unwrap();
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
        assert!(log.len() <= texts + 32, "{} bytes for {texts} of text", log.len());
    }

    #[test]
    fn a_damaged_journal_is_an_error_not_a_panic() {
        let mut log = JournalLog::default();
        let t = Utc.timestamp_opt(1_790_000_000, 0).single().unwrap();
        let first = log.append(None, &[entry(1, t, Event::Ended)]).unwrap();
        let last = log.append(first, &[entry(2, t, Event::Ended)]).unwrap();
        log.chunks[0].pop();
        assert!(matches!(log.entries(last), Err(StoreError::Corrupt(_))));
        // The first block's header pointing before the log, then a number that never ends.
        let at = first.unwrap().position() as usize;
        log.chunks[0][at] = 1;
        assert!(matches!(log.entries(first), Err(StoreError::Corrupt(_))));
        log.chunks[0][at..].fill(0xff);
        assert!(matches!(log.entries(first), Err(StoreError::Corrupt(_))));
        let past_the_end = BlockAt::new(log.len() as u64 + 1);
        assert!(matches!(log.entries(Some(past_the_end)), Err(StoreError::Corrupt(_))));
    }
}
