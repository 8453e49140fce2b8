//! One conversation test being played: the runtime on an in-memory store and a fake clock,
//! the customers, what was said to each, and the customer and clock turns.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use tandem_core::{Channel, ChannelError, Clock, ConversationId, Event, Inbound, ManualClock, Outbound, UserProfile};
use tandem_flow::duration::parse_duration;
use tandem_flow::span::{At, Pos};
use tandem_flow::test_file::{TestCase, Turn};

use crate::{Engine, MemoryStore, Runtime};

/// The default start of a test's clock: a Monday morning.
pub const DEFAULT_CLOCK: &str = "2026-01-05T09:00:00Z";
const DEFAULT_USER: &str = "Alex Doe";
/// The id of the test's own customer.
pub const MAIN: &str = "customer";

pub type Failure = (Pos, String);

/// A channel that keeps what each customer was told, for the script to read.
#[derive(Default)]
struct Transcript {
    sent: Mutex<HashMap<ConversationId, VecDeque<Outbound>>>,
}

#[async_trait]
impl Channel for Transcript {
    fn name(&self) -> &str {
        "test"
    }
    async fn send(&self, id: &ConversationId, message: &Outbound) -> Result<(), ChannelError> {
        self.keep(id, message);
        Ok(())
    }
    /// Kept at once: conversation tests take this path, the runtime's tests (`Recorder`) the
    /// waiting one.
    fn try_send(&self, id: &ConversationId, message: &Outbound) -> Option<Result<(), ChannelError>> {
        self.keep(id, message);
        Some(Ok(()))
    }
}

impl Transcript {
    fn keep(&self, id: &ConversationId, message: &Outbound) {
        self.sent.lock().unwrap_or_else(|e| e.into_inner()).entry(id.clone()).or_default().push_back(message.clone());
    }
}

pub struct Session {
    pub runtime: Runtime,
    clock: Arc<ManualClock>,
    transcript: Arc<Transcript>,
    names: HashMap<String, String>,
    offered: HashMap<String, Vec<String>>,
    sequence: u64,
}

pub async fn run_case(engine: &Arc<Engine>, case: &TestCase, entered: &mut BTreeSet<String>) -> Result<(), Failure> {
    let start = match &case.clock {
        Some(c) => parse_time(&c.value).map_err(|e| (c.pos, format!("`clock` {e}")))?,
        None => parse_time(DEFAULT_CLOCK).expect("valid default"),
    };
    let clock = Arc::new(ManualClock::new(start));
    let transcript = Arc::new(Transcript::default());
    let runtime =
        Runtime::new(engine.clone(), Arc::new(MemoryStore::new()), clock.clone()).with_channel(transcript.clone());
    let mut names: HashMap<String, String> = case.customers.iter().map(|(k, v)| (k.value.clone(), v.clone())).collect();
    names.insert(MAIN.into(), case.user.clone().unwrap_or_else(|| DEFAULT_USER.to_string()));
    let mut session = Session { runtime, clock, transcript, names, offered: HashMap::new(), sequence: 0 };
    let played = session.play_all(&case.script).await;
    for customer in session.names.keys().cloned().collect::<Vec<_>>() {
        if let Ok(journal) = session.runtime.store().journal(&session.id(&customer)).await {
            entered.extend(journal.into_iter().filter_map(|e| match e.event {
                Event::StepEntered { flow, step } => Some(format!("{flow}.{step}")),
                _ => None,
            }));
        }
    }
    played?;
    let end = case.script.last().map_or(case.name.pos, |t| t.pos);
    session.nothing_unread_by_anyone(end)
}

/// `text` equals `expected`, or matches it when it is written `/regex/` (an invalid regex
/// matches nothing).
pub fn matches(expected: &str, text: &str) -> bool {
    match expected.strip_prefix('/').and_then(|e| e.strip_suffix('/')) {
        Some(pattern) => regex::Regex::new(pattern).is_ok_and(|r| r.is_match(text)),
        None => text == expected,
    }
}

pub fn parse_time(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("`{text}` is not an RFC 3339 time like {DEFAULT_CLOCK}: {e}"))
}

impl Session {
    async fn play_all(&mut self, script: &[At<Turn>]) -> Result<(), Failure> {
        for turn in script {
            self.play(turn).await?;
        }
        Ok(())
    }

    pub fn id(&self, customer: &str) -> ConversationId {
        ConversationId::new("test", customer)
    }

    async fn play(&mut self, turn: &At<Turn>) -> Result<(), Failure> {
        let pos = turn.pos;
        let t = &turn.value;
        let kinds = [
            t.user.is_some(),
            t.press.is_some(),
            t.bot.is_some(),
            t.wait.is_some(),
            t.clock.is_some(),
            t.expect.is_some(),
            t.agent.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            return Err((
                pos,
                "a turn takes exactly one of `user`, `press`, `bot`, `wait`, `clock`, `expect` or `agent`".into(),
            ));
        }
        if (t.buttons.is_some() || t.from.is_some()) && t.bot.is_none() {
            return Err((pos, "`buttons` and `from` go with a `bot` turn".into()));
        }
        if t.sentiment.is_some() && t.user.is_none() {
            return Err((pos, "`sentiment` goes with a `user` turn".into()));
        }
        let customer = t.customer.clone().unwrap_or_else(|| MAIN.to_string());
        if !self.names.contains_key(&customer) {
            return Err((pos, format!("no customer `{customer}`: add it under `customers:`")));
        }
        if let Some(text) = &t.user {
            self.nothing_unread(&customer, pos)?;
            self.send(&customer, text.clone(), None, t.sentiment, pos).await
        } else if let Some(label) = &t.press {
            self.nothing_unread(&customer, pos)?;
            let offered = self.offered.get(&customer).cloned().unwrap_or_default();
            if !offered.contains(label) {
                return Err((pos, format!("the bot offers no button `{label}`; it offered {offered:?}")));
            }
            self.send(&customer, label.clone(), Some(label.clone()), None, pos).await
        } else if let Some(expected) = &t.bot {
            self.expect_message(&customer, expected, t.buttons.as_deref(), t.from.as_deref(), pos)
        } else if let Some(wait) = &t.wait {
            self.nothing_unread_by_anyone(pos)?;
            let by = parse_duration(wait).map_err(|e| (pos, e))?;
            self.advance_to(self.clock.now() + by, pos).await
        } else if let Some(time) = &t.clock {
            self.nothing_unread_by_anyone(pos)?;
            let to = parse_time(time).map_err(|e| (pos, format!("`clock` {e}")))?;
            self.advance_to(to, pos).await
        } else if let Some(expectation) = &t.expect {
            self.expect_state(&customer, expectation, pos).await
        } else if let Some(agent) = &t.agent {
            self.agent_turn(agent, &customer, t, pos).await
        } else {
            Ok(())
        }
    }

    async fn send(
        &mut self,
        customer: &str,
        text: String,
        button: Option<String>,
        sentiment: Option<f64>,
        pos: Pos,
    ) -> Result<(), Failure> {
        self.sequence += 1;
        let inbound = Inbound {
            conversation: self.id(customer),
            user: UserProfile { id: customer.into(), name: self.names[customer].as_str().into() },
            text,
            button,
            platform_id: Some(self.sequence.to_string().into()),
            sentiment,
        };
        self.runtime.handle(inbound).await.map(|_| ()).map_err(|e| (pos, format!("the engine failed: {e}")))
    }

    /// Move the fake clock to `target`, firing each due timer at its own time, in order.
    async fn advance_to(&mut self, target: DateTime<Utc>, pos: Pos) -> Result<(), Failure> {
        let store = self.runtime.store().clone();
        let failed = |e: &dyn std::fmt::Display| (pos, format!("the engine failed: {e}"));
        while let Some(due) = store.next_timer_due().await.map_err(|e| failed(&e))? {
            if due > target {
                break;
            }
            self.clock.set(due.max(self.clock.now()));
            self.runtime.fire_due_timers().await.map_err(|e| failed(&e))?;
        }
        self.clock.set(target.max(self.clock.now()));
        self.runtime.fire_due_timers().await.map_err(|e| failed(&e))?;
        Ok(())
    }

    fn next_message(&mut self, customer: &str) -> Option<Outbound> {
        let id = self.id(customer);
        let message = self.transcript.sent.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&id)?.pop_front()?;
        if !message.buttons.is_empty() {
            self.offered.insert(customer.to_string(), message.buttons.clone());
        }
        Some(message)
    }

    fn expect_message(
        &mut self,
        customer: &str,
        expected: &str,
        buttons: Option<&[String]>,
        from: Option<&str>,
        pos: Pos,
    ) -> Result<(), Failure> {
        let Some(got) = self.next_message(customer) else {
            return Err((pos, format!("expected the bot to say:\n    {expected}\n  but it said nothing more")));
        };
        if !matches(expected, &got.text) {
            return Err((
                pos,
                format!("the bot said something else\n  expected: {expected}\n       got: {}", got.text),
            ));
        }
        if let Some(buttons) = buttons
            && buttons != got.buttons.as_slice()
        {
            return Err((
                pos,
                format!("the message offers other buttons\n  expected: {buttons:?}\n       got: {:?}", got.buttons),
            ));
        }
        if let Some(from) = from
            && got.from.as_deref() != Some(from)
        {
            return Err((
                pos,
                format!("the message is from someone else\n  expected: {from}\n       got: {:?}", got.from),
            ));
        }
        Ok(())
    }

    pub fn nothing_unread(&mut self, customer: &str, pos: Pos) -> Result<(), Failure> {
        match self.next_message(customer) {
            None => Ok(()),
            Some(extra) => {
                let to = if customer == MAIN { String::new() } else { format!(" to {customer}") };
                Err((
                    pos,
                    format!("the bot said more{to} than the test expects before this point:\n    {}", extra.text),
                ))
            }
        }
    }

    pub fn nothing_unread_by_anyone(&mut self, pos: Pos) -> Result<(), Failure> {
        let mut customers: Vec<String> = self.names.keys().cloned().collect();
        customers.sort_by_key(|c| (c != MAIN, c.clone()));
        customers.iter().try_for_each(|c| self.nothing_unread(c, pos))
    }
}
