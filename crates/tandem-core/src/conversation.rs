//! A conversation with one customer on one channel, and who owns it right now.

use std::borrow::Cow;
use std::fmt;
use std::hash::{BuildHasher, Hash, Hasher};

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use smallvec::SmallVec;
use smol_str::SmolStr;

use crate::Variables;

/// Identifies a conversation: the channel it happens on and the chat within that channel.
/// Held as its store key, `channel:chat`: inline when it is 23 bytes or shorter (a Telegram
/// chat's, the benchmark's), else in one shared allocation ([`SmolStr`]). An id is copied into
/// the message's lock, every outbox row and the desk's entries, so a copy is a copy of 24 bytes
/// or a count, never two new strings; inline, a copy touches no shared count and a comparison
/// reads no other memory. The chat may contain ':'; a channel's name should not, since a key
/// read back from a store ([`ConversationId::from_key`]) is split at its first ':'. The key's
/// hash is made once, with the id: a message looks its conversation up in several maps (its
/// lock, the store's records, the desk's), and each hashed the whole key again.
#[derive(Clone)]
pub struct ConversationId {
    key: SmolStr,
    channel_len: u32,
    hash: u32,
}

impl ConversationId {
    pub fn new(channel: impl AsRef<str>, chat: impl AsRef<str>) -> Self {
        let (channel, chat) = (channel.as_ref(), chat.as_ref());
        let key: SmolStr = [channel, ":", chat].into_iter().collect();
        let channel_len = u32::try_from(channel.len()).expect("a channel's name is short");
        // A fixed seed: equal keys, equal hashes. Maps mix it with their own seeds.
        let hash = foldhash::fast::FixedState::with_seed(0).hash_one(key.as_str()) as u32;
        Self { key, channel_len, hash }
    }

    /// An id from its store key, `channel:chat` (split at the first ':').
    pub fn from_key(key: &str) -> Self {
        let (channel, chat) = key.split_once(':').unwrap_or(("", key));
        Self::new(channel, chat)
    }

    pub fn channel(&self) -> &str {
        &self.key[..self.channel_len as usize]
    }

    pub fn chat(&self) -> &str {
        &self.key[self.channel_len as usize + 1..]
    }

    /// The stable text key used by stores: `channel:chat`.
    pub fn key(&self) -> &str {
        &self.key
    }
}

impl PartialEq for ConversationId {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.channel_len == other.channel_len && self.key == other.key
    }
}

impl Eq for ConversationId {}

impl Hash for ConversationId {
    /// The hash made with the id: equal ids have equal keys, so equal hashes.
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u32(self.hash);
    }
}

impl Ord for ConversationId {
    /// By channel, then chat.
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (self.channel(), self.chat()).cmp(&(other.channel(), other.chat()))
    }
}

impl PartialOrd for ConversationId {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Debug for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConversationId").field("channel", &self.channel()).field("chat", &self.chat()).finish()
    }
}

impl fmt::Display for ConversationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.key)
    }
}

/// An id as JSON: `{"channel": ..., "chat": ...}`.
#[derive(Serialize, Deserialize)]
struct IdJson<'a> {
    #[serde(borrow)]
    channel: Cow<'a, str>,
    #[serde(borrow)]
    chat: Cow<'a, str>,
}

impl Serialize for ConversationId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        IdJson { channel: self.channel().into(), chat: self.chat().into() }.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for ConversationId {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let id = IdJson::deserialize(deserializer)?;
        Ok(Self::new(id.channel, id.chat))
    }
}

/// What the bot knows of the customer, as given by the channel.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct UserProfile {
    /// The channel's id for the customer.
    pub id: CompactString,
    /// Display name, as the channel gives it ("Dana Scully").
    pub name: CompactString,
}

impl UserProfile {
    /// The first word of the display name, the way a person would greet them.
    pub fn first_name(&self) -> &str {
        self.name.split_whitespace().next().unwrap_or("")
    }
}

/// Where the bot is in its flows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BotAt {
    pub flow: CompactString,
    pub step: CompactString,
    /// True while the bot waits for the customer's answer.
    pub waiting: bool,
}

/// Where the bot is, borrowed from a conversation ([`Conversation::bot_at`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BotPosition<'a> {
    pub flow: &'a str,
    pub step: &'a str,
    /// True while the bot waits for the customer's answer.
    pub waiting: bool,
}

/// Who is talking to the customer: the ownership state machine,
/// `Bot -> Queued -> Agent -> Bot | Closed`, with `Parked` when nobody who fits is on shift.
/// The handoff is boxed: most conversations are with the bot, and an owner was as large as
/// its largest variant (264 bytes, the conversation 528; the JSON is the same).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Owner {
    /// The bot, at a step of a flow. `waiting` is true while it waits for the customer's answer.
    Bot { flow: CompactString, step: CompactString, waiting: bool },
    /// Waiting for an agent; `position` is the place in line the customer was last told.
    Queued { handoff: Box<Handoff>, position: u32 },
    /// Nobody who fits is on shift: waiting for `until` (the first fitting shift start, if
    /// any). Meanwhile the bot may run the handoff's `offline` step (`bot`).
    Parked { handoff: Box<Handoff>, until: Option<DateTime<Utc>>, bot: Option<Box<BotAt>> },
    /// A named human agent is talking; the bot is silent.
    Agent { agent: String, handoff: Box<Handoff> },
    /// Nobody: the conversation has ended. A new customer message starts it again.
    Closed,
}

impl Owner {
    /// The handoff under way, when a human owns or is about to.
    pub fn handoff(&self) -> Option<&Handoff> {
        match self {
            Owner::Queued { handoff, .. } | Owner::Parked { handoff, .. } | Owner::Agent { handoff, .. } => {
                Some(handoff)
            }
            Owner::Bot { .. } | Owner::Closed => None,
        }
    }

    /// A short label: bot, queued, parked, agent, closed.
    pub fn label(&self) -> &'static str {
        match self {
            Owner::Bot { .. } => "bot",
            Owner::Queued { .. } => "queued",
            Owner::Parked { .. } => "parked",
            Owner::Agent { .. } => "agent",
            Owner::Closed => "closed",
        }
    }

    /// `bot`, `queued`, `parked`, `closed` or `agent <id>`, as tests and logs show it.
    pub fn describe(&self) -> String {
        match self {
            Owner::Agent { agent, .. } => format!("agent {agent}"),
            other => other.label().to_string(),
        }
    }
}

/// Who a handoff wants.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wants {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub skills: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
    /// A named agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
}

/// A request for a human: why, who, how urgent, and where the bot resumes afterwards.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Handoff {
    pub reason: String,
    /// The escalation rule that fired, and the values that made it fire, if a rule did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub wants: Wants,
    /// Higher goes first in the queue (VIP and upset customers).
    pub priority: i64,
    pub requested_at: DateTime<Utc>,
    /// The handoff step (`flow.step`) whose messages and steps apply, if a step asked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// Where the bot resumes when the agent hands back (`flow.step`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_return: Option<String>,
}

/// The customer's mood so far: `score` (the last message, in [-1, 1]), `trend` (that score less
/// the mean of the ones before it), `min`, and the last few raw scores. A struct rather than a
/// JSON map among the variables: every conversation holds one, and a map of four entries took
/// a 640-byte B-tree node, its keys and an array of values (the JSON is the same). The scores
/// are kept inline: a conversation is copied on every message, and a list of its own was an
/// allocation and a free each time. Unscored (no scores yet) until the first message that has
/// a score: a field, not an `Option`, which would add 8 bytes to every conversation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sentiment {
    pub score: f64,
    pub trend: f64,
    pub min: f64,
    pub history: SmallVec<[f64; SENTIMENT_WINDOW]>,
}

/// Raw scores kept in [`Sentiment::history`]: the trend is measured against the last few messages.
pub const SENTIMENT_WINDOW: usize = 5;

impl Sentiment {
    /// True until a message has been scored.
    pub fn is_unscored(&self) -> bool {
        self.history.is_empty()
    }
}

/// The whole durable state of one conversation: everything the step function needs.
/// Fields at their default (no tries, no pending timeout, ...) are left out of its JSON: a
/// state is written on every message and, in SQLite, kept in memory while live (578 -> 520
/// bytes mid-dialogue in the benchmark). A state that holds them still reads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub user: UserProfile,
    pub owner: Owner,
    /// Flow variables (`set`, `capture`), plus `result` of the last action and `answer`.
    pub vars: Variables,
    /// How the customer's messages have felt, read as `sentiment.*` beside the variables once
    /// scored (and written only then). A state stored before this field holds it as the
    /// variable `sentiment` instead.
    #[serde(default, skip_serializing_if = "Sentiment::is_unscored")]
    pub sentiment: Sentiment,
    /// Failed capture attempts at the current step.
    #[serde(default, skip_serializing_if = "is_default")]
    pub tries: u32,
    /// Consecutive answers the bot did not understand.
    #[serde(default, skip_serializing_if = "is_default")]
    pub fallbacks: u32,
    /// The agent who last helped this customer (sticky routing).
    #[serde(default, skip_serializing_if = "is_default")]
    pub last_agent: Option<Box<str>>,
    /// The agent the chat was last given to, read as `agent.*` beside the variables. A state
    /// stored before this field holds it as the variable `agent` instead.
    #[serde(default, skip_serializing_if = "is_default")]
    pub agent: Option<Box<AssignedAgent>>,
    /// The step an unmatched answer came in at, for `goto: repeat`.
    #[serde(default, skip_serializing_if = "is_default")]
    pub repeat: Option<Box<(CompactString, CompactString)>>,
    /// The pending timeout of the step the bot waits at, to cancel it when an answer comes.
    #[serde(default, skip_serializing_if = "is_default")]
    pub timeout: Option<Box<str>>,
    /// Sequence numbers: journal events and timers of this conversation.
    pub journal_seq: u64,
    #[serde(default, skip_serializing_if = "is_default")]
    pub timer_seq: u64,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The agent a chat was given to, as flows read it (`agent.id`, `agent.name`, `agent.team`,
/// and `agent.replied` once they have answered). A field of its own rather than a JSON object
/// among the variables: a `serde_json` map takes a 632-byte B-tree node however few entries it
/// holds, and its six strings an allocation each (the same JSON either way).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssignedAgent {
    pub id: CompactString,
    pub name: CompactString,
    /// The team, as customers are told it ("our orders team").
    pub team: CompactString,
    #[serde(default, skip_serializing_if = "is_default")]
    pub replied: bool,
}

/// True for a field at its default value, which the state's JSON leaves out.
fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    *value == T::default()
}

impl Conversation {
    /// A conversation that has not started yet: nothing said, owned by nobody.
    pub fn new(id: ConversationId, user: UserProfile, now: DateTime<Utc>) -> Self {
        Self {
            id,
            user,
            owner: Owner::Closed,
            vars: Variables::new(),
            sentiment: Sentiment::default(),
            agent: None,
            tries: 0,
            fallbacks: 0,
            last_agent: None,
            repeat: None,
            timeout: None,
            journal_seq: 0,
            timer_seq: 0,
            started_at: now,
            updated_at: now,
        }
    }

    /// A variable as flows read it: `sentiment` and `agent` from their own fields, the rest
    /// from `vars`.
    pub fn variable(&self, name: &str) -> Option<Value> {
        match name {
            "sentiment" if !self.sentiment.is_unscored() => serde_json::to_value(&self.sentiment).ok(),
            "agent" if self.agent.is_some() => serde_json::to_value(&self.agent).ok(),
            _ => self.vars.get(name).cloned(),
        }
    }

    /// Whether the agent the chat was given to has answered yet (from the variable `agent`
    /// in a state stored before [`Conversation::agent`]).
    pub fn agent_replied(&self) -> bool {
        match &self.agent {
            Some(agent) => agent.replied,
            None => self.vars.get("agent").and_then(|a| a.get("replied")) == Some(&Value::Bool(true)),
        }
    }

    /// True once an `end` step has closed the conversation.
    pub fn is_closed(&self) -> bool {
        matches!(self.owner, Owner::Closed)
    }

    /// Where the bot is: when it owns the conversation, or runs the offline step of a
    /// parked one. Borrowed: it is asked on every message.
    pub fn bot_at(&self) -> Option<BotPosition<'_>> {
        match &self.owner {
            Owner::Bot { flow, step, waiting } => Some(BotPosition { flow, step, waiting: *waiting }),
            Owner::Parked { bot: Some(at), .. } => {
                Some(BotPosition { flow: &at.flow, step: &at.step, waiting: at.waiting })
            }
            _ => None,
        }
    }

    /// `flow.step` where the bot is, if it is at a step.
    pub fn position(&self) -> Option<String> {
        self.bot_at().map(|at| format!("{}.{}", at.flow, at.step))
    }

    /// True while a human owns the chat or it waits for one: the bot must not speak for itself.
    pub fn human_side(&self) -> bool {
        matches!(self.owner, Owner::Queued { .. } | Owner::Agent { .. } | Owner::Parked { bot: None, .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_its_key_inline_or_shared_and_its_json_is_channel_and_chat() {
        let id = ConversationId::new("telegram", "42:7");
        assert_eq!(
            (id.channel(), id.chat(), id.key(), id.to_string()),
            ("telegram", "42:7", "telegram:42:7", id.key().into())
        );
        assert_eq!(ConversationId::from_key(id.key()), id, "the chat may hold ':'");
        let copy = id.clone();
        assert!(!std::ptr::eq(copy.key(), id.key()), "a short key is inline: a copy is a copy");
        let long = ConversationId::new("discord", "1234567890123456789");
        assert!(std::ptr::eq(long.clone().key(), long.key()), "a copy of a long key shares it");
        assert_eq!((long.channel(), long.chat()), ("discord", "1234567890123456789"));
        assert_eq!(ConversationId::from_key(long.key()), long);
        let json = serde_json::json!({ "channel": "telegram", "chat": "42:7" });
        assert_eq!(serde_json::to_value(&id).unwrap(), json);
        assert_eq!(serde_json::from_value::<ConversationId>(json).unwrap(), id);
        assert_eq!(
            serde_json::from_str::<ConversationId>(r#"{"chat":"a\"b","channel":"web"}"#).unwrap().chat(),
            "a\"b"
        );
        // Ordered by channel, then chat, as when they were two strings ("a-b" < "a:" as keys).
        assert!(ConversationId::new("a", "z") < ConversationId::new("a-b", "a"));
        assert_ne!(ConversationId::new("a:b", "c"), ConversationId::new("a", "b:c"));
        assert_eq!(format!("{id:?}"), r#"ConversationId { channel: "telegram", chat: "42:7" }"#);
    }

    #[test]
    fn an_id_hashes_as_its_key_was_hashed_once_and_equal_ids_are_one_map_key() {
        let hash = |id: &ConversationId| foldhash::fast::FixedState::with_seed(7).hash_one(id);
        let (id, again) = (ConversationId::new("web", "17"), ConversationId::from_key("web:17"));
        assert_eq!((&id, hash(&id)), (&again, hash(&again)));
        assert_ne!(hash(&id), hash(&ConversationId::new("web", "18")));
        let ids: std::collections::HashSet<ConversationId> =
            [id.clone(), again, ConversationId::new("web:1", "7"), ConversationId::new("web", "1:7")].into();
        assert_eq!(ids.len(), 3, "the same key split elsewhere is another id");
        assert_eq!(std::mem::size_of::<ConversationId>(), 32, "a key of 23 bytes inline and the hash");
    }

    #[test]
    fn an_owner_is_small_and_its_handoff_json_is_unboxed() {
        // Every live conversation holds one, most of them the bot's.
        assert!(std::mem::size_of::<Owner>() <= 80, "{}", std::mem::size_of::<Owner>());
        let handoff = Handoff {
            reason: "upset".into(),
            rule: None,
            wants: Wants::default(),
            priority: 1,
            requested_at: DateTime::UNIX_EPOCH,
            step: None,
            on_return: None,
        };
        let queued = Owner::Queued { handoff: Box::new(handoff), position: 2 };
        let json = serde_json::json!({
            "kind": "queued", "position": 2,
            "handoff": { "reason": "upset", "wants": {}, "priority": 1, "requested_at": "1970-01-01T00:00:00Z" }
        });
        assert_eq!(serde_json::to_value(&queued).unwrap(), json);
        assert_eq!(serde_json::from_value::<Owner>(json).unwrap(), queued);
    }

    #[test]
    fn the_agent_reads_as_the_variable_it_was_and_a_state_with_that_variable_still_reads() {
        let mut c = Conversation::new(ConversationId::new("web", "1"), UserProfile::default(), DateTime::UNIX_EPOCH);
        assert!(serde_json::to_value(&c).unwrap().get("agent").is_none(), "none yet: not written");
        let object = serde_json::json!({ "id": "alice", "name": "Alice", "team": "our orders team" });
        // Stored before the field: the agent among the variables.
        c.vars.insert("agent".into(), object.clone());
        assert_eq!((c.variable("agent"), c.agent_replied()), (Some(object.clone()), false));
        c.vars.insert("agent".into(), serde_json::json!({ "id": "alice", "replied": true }));
        assert!(c.agent_replied());
        c.vars.remove("agent");
        c.agent = Some(Box::new(AssignedAgent {
            id: "alice".into(),
            name: "Alice".into(),
            team: "our orders team".into(),
            replied: false,
        }));
        assert_eq!((c.variable("agent"), c.agent_replied()), (Some(object), false));
        c.agent.as_mut().unwrap().replied = true;
        assert_eq!(c.variable("agent").unwrap()["replied"], true);
        assert_eq!(serde_json::from_value::<Conversation>(serde_json::to_value(&c).unwrap()).unwrap(), c);
    }

    #[test]
    fn fields_at_their_default_are_left_out_and_a_state_that_has_them_reads() {
        let mut c = Conversation::new(ConversationId::new("web", "1"), UserProfile::default(), DateTime::UNIX_EPOCH);
        let json = serde_json::to_value(&c).unwrap();
        for left_out in ["tries", "fallbacks", "last_agent", "repeat", "timeout", "timer_seq"] {
            assert!(json.get(left_out).is_none(), "{left_out} in {json}");
        }
        let mut written_before = json.clone();
        for (field, value) in [("tries", 0.into()), ("fallbacks", 0.into()), ("timer_seq", 0.into())] {
            written_before[field] = value;
        }
        for field in ["last_agent", "repeat", "timeout"] {
            written_before[field] = Value::Null;
        }
        assert_eq!(serde_json::from_value::<Conversation>(written_before).unwrap(), c);

        c.tries = 2;
        c.last_agent = Some("alice".into());
        c.repeat = Some(Box::new(("support".into(), "ask".into())));
        c.timer_seq = 3;
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!((json["tries"].clone(), json["timer_seq"].clone()), (2.into(), 3.into()));
        assert_eq!(serde_json::from_value::<Conversation>(json).unwrap(), c);
    }

    #[test]
    fn the_sentiment_is_kept_beside_the_variables_and_may_be_missing() {
        let mut c = Conversation::new(ConversationId::new("web", "1"), UserProfile::default(), DateTime::UNIX_EPOCH);
        let json = serde_json::to_value(&c).unwrap();
        assert!(json.get("sentiment").is_none(), "none yet: not written");
        assert_eq!(serde_json::from_value::<Conversation>(json).unwrap(), c, "a state without it reads");
        c.sentiment = Sentiment { score: -0.5, trend: -1.0, min: -0.5, history: [0.5, -0.5].as_slice().into() };
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json["sentiment"],
            serde_json::json!({ "score": -0.5, "trend": -1.0, "min": -0.5, "history": [0.5, -0.5] })
        );
        assert_eq!(serde_json::from_value::<Conversation>(json).unwrap(), c);
    }
}
