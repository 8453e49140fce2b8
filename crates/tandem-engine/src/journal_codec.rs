//! How the memory store's journal log packs a step's events: MessagePack values one after
//! another (the `rmp` crate), an event as its kind's number and then its fields in order, with
//! no names. A text is written out the first time; when it recurs (the bot's prompts, step and
//! flow names, "thanks"), it is kept once in the log's [`RecurringTexts`] and written as its
//! number there from then on.
//!
//! As serde values (rmp-serde, each event tagged with its kind's name), the benchmark's first
//! four turns took 631 bytes a conversation, most of them kind names and prompts that every
//! conversation repeats; packed this way they take ~250 (the memory benchmark went from 1.59
//! to 1.21 KiB a conversation).

use chrono::DateTime;
use foldhash::fast::RandomState;
use hashbrown::HashTable;
use rmp::Marker;
use serde_json::Value;
use std::hash::BuildHasher;
use tandem_core::{
    ActionRefusal, EscalationFired, Event, HandoffRequest, JournalEntry, JournalRun, OwnerChange, StoreError,
};

/// Texts that recur in the journal, each held once and written in a block as its number. A
/// text is kept when it is seen a second time; texts seen once are remembered by hash in a
/// small table whose slots newer texts take over, so a text that never recurs costs no memory.
/// What is held is bounded; past that, texts are written out.
#[derive(Default)]
pub(crate) struct RecurringTexts {
    /// Every held text, one after another; a text's number indexes `spans`.
    all: String,
    spans: Vec<(u32, u32)>,
    /// Numbers of held texts, by hash.
    numbers: HashTable<u32>,
    /// Hashes of texts seen once, a slot each by hash (empty until the first text).
    seen_once: Vec<u64>,
    hasher: RandomState,
}

/// A text shorter than this costs no more written out than as a number.
const SHORTEST_KEPT: usize = 4;
/// Slots remembering texts seen once (64 KiB).
const SEEN_ONCE_SLOTS: usize = 1 << 13;
/// At most this many bytes of text are held.
const MOST_HELD_BYTES: usize = 16 << 20;

impl RecurringTexts {
    /// The number of `text`, if it is held or now recurs.
    fn number(&mut self, text: &str) -> Option<u32> {
        if text.len() < SHORTEST_KEPT {
            return None;
        }
        let hash = self.hasher.hash_one(text);
        if let Some(&number) = self.numbers.find(hash, |&n| self.text(n) == Some(text)) {
            return Some(number);
        }
        if self.seen_once.is_empty() {
            self.seen_once = vec![0; SEEN_ONCE_SLOTS];
        }
        let slot = &mut self.seen_once[hash as usize % SEEN_ONCE_SLOTS];
        if *slot != hash || self.all.len() + text.len() > MOST_HELD_BYTES {
            *slot = hash;
            return None;
        }
        *slot = 0;
        let number = u32::try_from(self.spans.len()).ok()?;
        self.spans.push((self.all.len() as u32, text.len() as u32));
        self.all.push_str(text);
        let (all, spans, hasher) = (&self.all, &self.spans, &self.hasher);
        self.numbers.insert_unique(hash, number, |&n| {
            let (start, len) = spans[n as usize];
            hasher.hash_one(&all[start as usize..(start + len) as usize])
        });
        Some(number)
    }

    fn text(&self, number: u32) -> Option<&str> {
        let &(start, len) = self.spans.get(number as usize)?;
        self.all.get(start as usize..(start + len) as usize)
    }

    /// Bytes of text held.
    #[cfg(test)]
    pub(crate) fn held_bytes(&self) -> usize {
        self.all.len()
    }
}

// Kinds of event, as numbered in a block. Numbers are never reused.
const CUSTOMER_SAID: u8 = 0;
const BOT_SAID: u8 = 1;
const STEP_ENTERED: u8 = 2;
const INTENT_DETECTED: u8 = 3;
const VARIABLE_SET: u8 = 4;
const CAPTURE_REJECTED: u8 = 5;
const FALLBACK: u8 = 6;
const TIMER_FIRED: u8 = 7;
const ESCALATION_TRIGGERED: u8 = 8;
const HANDOFF_REQUESTED: u8 = 9;
const OWNER_CHANGED: u8 = 10;
const AGENT_SAID: u8 = 11;
const AGENT_NOTE: u8 = 12;
const BOT_SILENCED: u8 = 13;
const ACTION_REFUSED: u8 = 14;
const LOOP_STOPPED: u8 = 15;
const ENDED: u8 = 16;

/// Writes runs of events into a block.
pub(crate) struct Packer<'a> {
    out: &'a mut Vec<u8>,
    texts: &'a mut RecurringTexts,
    /// Times are written as seconds after this one (the log's first), so they stay short.
    epoch: i64,
}

impl<'a> Packer<'a> {
    pub(crate) fn new(out: &'a mut Vec<u8>, texts: &'a mut RecurringTexts, epoch: i64) -> Self {
        Self { out, texts, epoch }
    }

    /// A run: a header of LEB128 numbers (its first number, its time as seconds after the
    /// epoch and microseconds, and how many events), then the events. Times are kept to the
    /// microsecond, as the SQLite and PostgreSQL stores keep them. At the benchmark's times
    /// the header is 6 bytes, where as MessagePack values (nanoseconds) it was 12.
    pub(crate) fn run(&mut self, run: JournalRun<'_>) -> Result<(), StoreError> {
        let (at, entries) = (run.at(), run.entries());
        let seconds = at.timestamp().checked_sub(self.epoch).ok_or_else(|| packing(&"a time out of range"))?;
        push_varint(self.out, run.seq());
        push_signed_varint(self.out, seconds);
        push_varint(self.out, at.timestamp_subsec_micros().into());
        push_varint(self.out, entries.len() as u64);
        entries.iter().try_for_each(|entry| self.event(&entry.event))
    }

    fn event(&mut self, event: &Event) -> Result<(), StoreError> {
        match event {
            Event::CustomerSaid { text, button } => {
                self.kind(CUSTOMER_SAID)?;
                self.text(text)?;
                self.optional_text(button.as_deref())
            }
            Event::BotSaid { text, buttons } => {
                self.kind(BOT_SAID)?;
                self.text(text)?;
                self.uint(buttons.len() as u64)?;
                buttons.iter().try_for_each(|button| self.text(button))
            }
            Event::StepEntered { flow, step } => self.kind_and_texts(STEP_ENTERED, &[flow.as_str(), step.as_str()]),
            Event::IntentDetected { intent, confidence } => {
                self.kind(INTENT_DETECTED)?;
                self.text(intent)?;
                wrote(rmp::encode::write_f64(self.out, *confidence))
            }
            Event::VariableSet { name, value } => {
                self.kind(VARIABLE_SET)?;
                self.text(name)?;
                self.value(value)
            }
            Event::CaptureRejected { var, tries } => {
                self.kind(CAPTURE_REJECTED)?;
                self.text(var)?;
                self.uint((*tries).into())
            }
            Event::Fallback { count } => {
                self.kind(FALLBACK)?;
                self.uint((*count).into())
            }
            Event::TimerFired { kind, step } => self.kind_and_texts(TIMER_FIRED, &[kind, step]),
            Event::EscalationTriggered(fired) => {
                self.kind_and_texts(ESCALATION_TRIGGERED, &[&fired.rule, &fired.reason])?;
                self.value(&fired.values)
            }
            Event::HandoffRequested(request) => {
                self.kind_and_texts(HANDOFF_REQUESTED, &[&request.reason])?;
                self.uint(request.skills.len() as u64)?;
                request.skills.iter().try_for_each(|skill| self.text(skill))?;
                self.optional_text(request.team.as_deref())?;
                self.optional_text(request.agent.as_deref())
            }
            Event::OwnerChanged(change) => {
                self.kind_and_texts(OWNER_CHANGED, &[&change.from, &change.to, &change.actor, &change.reason])
            }
            Event::AgentSaid { agent, text } => self.kind_and_texts(AGENT_SAID, &[agent, text]),
            Event::AgentNote { agent, text } => self.kind_and_texts(AGENT_NOTE, &[agent, text]),
            Event::BotSilenced { text } => self.kind_and_texts(BOT_SILENCED, &[text]),
            Event::ActionRefused(refusal) => {
                self.kind_and_texts(ACTION_REFUSED, &[&refusal.agent, &refusal.action, &refusal.why])
            }
            Event::LoopStopped { flow, step } => self.kind_and_texts(LOOP_STOPPED, &[flow, step]),
            Event::Ended => self.kind(ENDED),
        }
    }

    fn kind(&mut self, kind: u8) -> Result<(), StoreError> {
        self.uint(kind.into())
    }

    fn kind_and_texts(&mut self, kind: u8, texts: &[&str]) -> Result<(), StoreError> {
        self.kind(kind)?;
        texts.iter().try_for_each(|text| self.text(text))
    }

    fn uint(&mut self, n: u64) -> Result<(), StoreError> {
        wrote(rmp::encode::write_uint(self.out, n))
    }

    /// A text: written out (a MessagePack string) or as its number among the recurring texts.
    fn text(&mut self, text: &str) -> Result<(), StoreError> {
        match self.texts.number(text) {
            Some(number) => self.uint(number.into()),
            None => wrote(rmp::encode::write_str(self.out, text)),
        }
    }

    fn optional_text(&mut self, text: Option<&str>) -> Result<(), StoreError> {
        match text {
            Some(text) => self.text(text),
            None => wrote(rmp::encode::write_nil(self.out)),
        }
    }

    /// A JSON value: a string as a text, anything else as its JSON in a MessagePack binary.
    fn value(&mut self, value: &Value) -> Result<(), StoreError> {
        if let Value::String(text) = value {
            return self.text(text);
        }
        let json = serde_json::to_vec(value).map_err(|e| StoreError::Database(format!("packing a value: {e}")))?;
        let len = u32::try_from(json.len()).map_err(|_| StoreError::Database("a value over 4 GiB".into()))?;
        wrote(rmp::encode::write_bin_len(self.out, len))?;
        self.out.extend_from_slice(&json);
        Ok(())
    }
}

/// A write into a `Vec` only fails when memory does; said as an error all the same.
fn wrote<T, E: std::fmt::Display>(result: Result<T, E>) -> Result<(), StoreError> {
    result.map(drop).map_err(|e| packing(&e))
}

fn packing(e: &dyn std::fmt::Display) -> StoreError {
    StoreError::Database(format!("packing journal events: {e}"))
}

/// Reads a block's runs back.
pub(crate) struct Unpacker<'a> {
    rest: &'a [u8],
    texts: &'a RecurringTexts,
    /// As the block was packed with.
    epoch: i64,
}

impl<'a> Unpacker<'a> {
    pub(crate) fn new(block: &'a [u8], texts: &'a RecurringTexts, epoch: i64) -> Self {
        Self { rest: block, texts, epoch }
    }

    /// Every run of the block, appended to `entries`.
    pub(crate) fn runs_into(mut self, entries: &mut Vec<JournalEntry>) -> Result<(), StoreError> {
        while !self.rest.is_empty() {
            let seq = read_varint(&mut self.rest)?;
            let seconds = leb128::read::signed(&mut self.rest).map_err(|e| corrupt(&e))?;
            let micros = read_varint(&mut self.rest)?;
            let nanos = u32::try_from(micros).ok().and_then(|micros| micros.checked_mul(1000));
            let at = self
                .epoch
                .checked_add(seconds)
                .zip(nanos)
                .and_then(|(secs, nanos)| DateTime::from_timestamp(secs, nanos))
                .ok_or_else(|| corrupt(&"a time out of range"))?;
            for i in 0..read_varint(&mut self.rest)? {
                let seq = seq.checked_add(i).ok_or_else(|| corrupt(&"a number past the last"))?;
                entries.push(JournalEntry { seq, at, event: self.event()? });
            }
        }
        Ok(())
    }

    fn event(&mut self) -> Result<Event, StoreError> {
        Ok(match self.number::<u8>()? {
            CUSTOMER_SAID => Event::CustomerSaid { text: self.text()?, button: self.optional_text()? },
            BOT_SAID => Event::BotSaid { text: self.text()?, buttons: self.list_of_texts()? },
            STEP_ENTERED => Event::StepEntered { flow: self.text()?.into(), step: self.text()?.into() },
            INTENT_DETECTED => Event::IntentDetected {
                intent: self.text()?,
                confidence: rmp::decode::read_f64(&mut self.rest).map_err(|e| corrupt(&e))?,
            },
            VARIABLE_SET => Event::VariableSet { name: self.text()?, value: self.value()? },
            CAPTURE_REJECTED => Event::CaptureRejected { var: self.text()?, tries: self.number()? },
            FALLBACK => Event::Fallback { count: self.number()? },
            TIMER_FIRED => Event::TimerFired { kind: self.text()?, step: self.text()? },
            ESCALATION_TRIGGERED => Event::EscalationTriggered(Box::new(EscalationFired {
                rule: self.text()?,
                reason: self.text()?,
                values: self.value()?,
            })),
            HANDOFF_REQUESTED => Event::HandoffRequested(Box::new(HandoffRequest {
                reason: self.text()?,
                skills: self.list_of_texts()?,
                team: self.optional_text()?,
                agent: self.optional_text()?,
            })),
            OWNER_CHANGED => Event::OwnerChanged(Box::new(OwnerChange {
                from: self.text()?,
                to: self.text()?,
                actor: self.text()?,
                reason: self.text()?,
            })),
            AGENT_SAID => Event::AgentSaid { agent: self.text()?, text: self.text()? },
            AGENT_NOTE => Event::AgentNote { agent: self.text()?, text: self.text()? },
            BOT_SILENCED => Event::BotSilenced { text: self.text()? },
            ACTION_REFUSED => Event::ActionRefused(Box::new(ActionRefusal {
                agent: self.text()?,
                action: self.text()?,
                why: self.text()?,
            })),
            LOOP_STOPPED => Event::LoopStopped { flow: self.text()?, step: self.text()? },
            ENDED => Event::Ended,
            unknown => return Err(corrupt(&format_args!("an event of unknown kind {unknown}"))),
        })
    }

    fn next_marker(&self) -> Result<Marker, StoreError> {
        self.rest.first().map(|&byte| Marker::from_u8(byte)).ok_or_else(|| corrupt(&"a cut block"))
    }

    fn uint(&mut self) -> Result<u64, StoreError> {
        rmp::decode::read_int::<u64, _>(&mut self.rest).map_err(|e| corrupt(&e))
    }

    /// An unsigned number that must fit a `T`.
    fn number<T: TryFrom<u64>>(&mut self) -> Result<T, StoreError> {
        let n = self.uint()?;
        T::try_from(n).map_err(|_| corrupt(&format_args!("a number out of range ({n})")))
    }

    fn text(&mut self) -> Result<String, StoreError> {
        self.borrowed_text().map(str::to_owned)
    }

    fn borrowed_text(&mut self) -> Result<&'a str, StoreError> {
        match self.next_marker()? {
            Marker::FixStr(_) | Marker::Str8 | Marker::Str16 | Marker::Str32 => {
                let (text, rest) = rmp::decode::read_str_from_slice(self.rest).map_err(|e| corrupt(&e))?;
                self.rest = rest;
                Ok(text)
            }
            _ => {
                let number = self.number::<u32>()?;
                self.texts.text(number).ok_or_else(|| corrupt(&format_args!("no recurring text {number}")))
            }
        }
    }

    fn optional_text(&mut self) -> Result<Option<String>, StoreError> {
        if self.next_marker()? == Marker::Null {
            self.rest = &self.rest[1..];
            return Ok(None);
        }
        self.text().map(Some)
    }

    fn list_of_texts(&mut self) -> Result<Vec<String>, StoreError> {
        let len = self.uint()?;
        // Each text takes at least a byte: a damaged length cannot ask for more than that.
        let mut texts = Vec::with_capacity((len as usize).min(self.rest.len()));
        for _ in 0..len {
            texts.push(self.text()?);
        }
        Ok(texts)
    }

    fn value(&mut self) -> Result<Value, StoreError> {
        if !matches!(self.next_marker()?, Marker::Bin8 | Marker::Bin16 | Marker::Bin32) {
            return self.text().map(Value::String);
        }
        let len = rmp::decode::read_bin_len(&mut self.rest).map_err(|e| corrupt(&e))? as usize;
        let json = self.rest.get(..len).ok_or_else(|| corrupt(&"a cut value"))?;
        self.rest = &self.rest[len..];
        serde_json::from_slice(json).map_err(|e| corrupt(&e))
    }
}

/// Append `n` as an unsigned LEB128 number. By hand: the `leb128` crate writes through
/// `io::Write`, a copy call for every byte (the memory store's commit took 1.29 -> 1.43 µs
/// with it); the tests check that both write the same bytes, and the crate reads them.
pub(crate) fn push_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// Append `n` as a signed LEB128 number (see [`push_varint`]).
fn push_signed_varint(out: &mut Vec<u8>, mut n: i64) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7; // arithmetic: the sign is kept
        if (n == 0 && byte & 0x40 == 0) || (n == -1 && byte & 0x40 != 0) {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

/// An unsigned LEB128 number, from the front of `rest`.
pub(crate) fn read_varint(rest: &mut &[u8]) -> Result<u64, StoreError> {
    leb128::read::unsigned(rest).map_err(|e| corrupt(&e))
}

pub(crate) fn corrupt(e: &dyn std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("the journal log: {e}"))
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    use super::*;

    const EPOCH: i64 = 1_790_000_000;

    fn pack(texts: &mut RecurringTexts, entries: &[JournalEntry]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut packer = Packer::new(&mut out, texts, EPOCH);
        JournalRun::split(entries).try_for_each(|run| packer.run(run)).unwrap();
        out
    }

    fn unpack(block: &[u8], texts: &RecurringTexts) -> Result<Vec<JournalEntry>, StoreError> {
        let mut entries = Vec::new();
        Unpacker::new(block, texts, EPOCH).runs_into(&mut entries).map(|()| entries)
    }

    fn step(seq: u64, texts: [&str; 3]) -> Vec<JournalEntry> {
        let at = Utc.timestamp_opt(1_790_000_000, 5_000).single().unwrap();
        let [customer, step, bot] = texts;
        [
            Event::CustomerSaid { text: customer.into(), button: None },
            Event::StepEntered { flow: "support".into(), step: step.into() },
            Event::BotSaid { text: bot.into(), buttons: vec!["Yes".into(), "Talk to a person".into()] },
        ]
        .into_iter()
        .zip(seq..)
        .map(|(event, seq)| JournalEntry { seq, at, event })
        .collect()
    }

    #[test]
    fn numbers_are_written_as_the_leb128_crate_writes_and_reads_them() {
        let mut unsigned: Vec<u64> = vec![0, 1, 63, 64, 127, 128, 255, 16_383, 16_384, 999_999, u64::MAX - 1, u64::MAX];
        unsigned.extend((0..64).map(|bit| 1u64 << bit));
        for n in unsigned {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            push_varint(&mut ours, n);
            leb128::write::unsigned(&mut theirs, n).unwrap();
            assert_eq!(ours, theirs, "{n}");
            assert_eq!(read_varint(&mut ours.as_slice()).unwrap(), n);
        }
        let mut signed: Vec<i64> = vec![0, 1, -1, 63, 64, -64, -65, 8_191, -8_192, -8_193, i64::MIN, i64::MAX];
        signed.extend((0..63).flat_map(|bit| [1i64 << bit, -(1i64 << bit)]));
        for n in signed {
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            push_signed_varint(&mut ours, n);
            leb128::write::signed(&mut theirs, n).unwrap();
            assert_eq!(ours, theirs, "{n}");
            assert_eq!(leb128::read::signed(&mut ours.as_slice()).unwrap(), n);
        }
    }

    #[test]
    fn a_text_is_kept_when_it_recurs_and_its_blocks_read_back() {
        let mut texts = RecurringTexts::default();
        let prompt = "Hi! I'm the support bot. What is your order number?";
        let steps: Vec<Vec<JournalEntry>> =
            (0..4).map(|c| step(c * 3 + 1, [&format!("my order is ORD-{c:05}"), "greet", prompt])).collect();
        let blocks: Vec<Vec<u8>> = steps.iter().map(|s| pack(&mut texts, s)).collect();
        // Said once: written out. Said again: kept, and a number from then on.
        assert!(blocks[0].len() > prompt.len() + "my order is ORD-00000".len());
        assert!(blocks[1].len() < 50, "{} bytes", blocks[1].len());
        assert!(blocks[2..].iter().all(|block| block.len() == blocks[1].len()));
        // Kept: the prompt, "support", "greet" and the button, never a customer's own words.
        assert_eq!(texts.held_bytes(), prompt.len() + "support".len() + "greet".len() + "Talk to a person".len());
        for (block, written) in blocks.iter().zip(&steps) {
            assert_eq!(&unpack(block, &texts).unwrap(), written);
        }
    }

    #[test]
    fn short_texts_are_written_out_and_what_is_kept_is_bounded() {
        let mut texts = RecurringTexts::default();
        for _ in 0..3 {
            assert_eq!(texts.number("Yes"), None);
        }
        let long = "x".repeat(1 << 20);
        for n in 0..40 {
            let text = format!("{n} {long}");
            texts.number(&text);
            texts.number(&text);
        }
        assert!(texts.held_bytes() <= MOST_HELD_BYTES, "{}", texts.held_bytes());
        assert!(texts.held_bytes() > MOST_HELD_BYTES / 2);
        assert_eq!(texts.number(&format!("40 {long}")), None);
        assert_eq!(texts.number(&format!("40 {long}")), None, "full: never kept");
        assert!(texts.number(&format!("0 {long}")).is_some(), "what is kept stays");
    }

    #[test]
    fn every_cut_and_damaged_byte_is_an_error_or_events_never_a_panic() {
        let mut texts = RecurringTexts::default();
        let at = Utc.timestamp_opt(1_790_000_000, 0).single().unwrap();
        let events = [
            Event::IntentDetected { intent: "track_order".into(), confidence: 0.5 },
            Event::VariableSet { name: "order".into(), value: json!({"id": [1, "a"]}) },
            Event::EscalationTriggered(Box::new(EscalationFired {
                rule: "upset".into(),
                reason: "upset customer".into(),
                values: json!(-0.7),
            })),
            Event::HandoffRequested(Box::new(HandoffRequest {
                reason: "asked".into(),
                skills: vec!["orders".into()],
                team: Some("eu".into()),
                agent: None,
            })),
            Event::Fallback { count: 2 },
        ];
        let entries: Vec<JournalEntry> =
            events.into_iter().zip(7..).map(|(event, seq)| JournalEntry { seq, at, event }).collect();
        pack(&mut texts, &entries);
        let block = pack(&mut texts, &entries);
        assert_eq!(unpack(&block, &texts).unwrap(), entries);
        for len in 0..block.len() {
            let _ = unpack(&block[..len], &texts);
        }
        for i in 0..block.len() {
            for byte in [0x00, 0x01, 0x11, 0x7f, 0x90, 0xa5, 0xc0, 0xc4, 0xcb, 0xcf, 0xd3, 0xd9, 0xdb, 0xff] {
                let mut damaged = block.clone();
                damaged[i] = byte;
                let _ = unpack(&damaged, &texts);
            }
        }
        let far = [0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x05, 0x10, 0x10];
        assert!(unpack(&far, &texts).is_err(), "numbers past u64::MAX");
        assert!(unpack(&[0x01, 0x00, 0x00, 0x01, 0x11], &texts).is_err(), "a kind that does not exist");
        assert!(unpack(&[0x01, 0x00, 0x00, 0x01, 0x0d, 0x7f], &texts).is_err(), "a text that was never kept");
    }
}
