//! Runs conversation tests (`*.test.yaml`): each test is a fresh conversation through the
//! real [`Runtime`] on an in-memory store and a fake clock. A failure names the file, line
//! and column of the turn that failed, with what was expected and what happened.

use std::collections::{BTreeSet, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use tandem_core::{
    Channel, ChannelError, Clock, ConversationId, Event, Inbound, ManualClock, Outbound, Owner,
    UserProfile,
};
use tandem_flow::diagnostic::Report;
use tandem_flow::duration::parse_duration;
use tandem_flow::load::{is_test_file, load_bot, read_and_parse};
use tandem_flow::span::{At, Pos};
use tandem_flow::test_file::{Expectation, TestCase, TestFile, Turn};

use crate::{Engine, MemoryStore, Runtime};

/// The default start of a test's clock: a Monday morning.
pub const DEFAULT_CLOCK: &str = "2026-01-05T09:00:00Z";
const DEFAULT_USER: &str = "Alex Doe";

/// The result of one test.
#[derive(Debug)]
pub struct TestOutcome {
    pub name: String,
    /// `None` when the test passed; else `file:line:col: what went wrong`.
    pub failure: Option<String>,
}

/// The results of one test file.
#[derive(Debug)]
pub struct FileOutcome {
    pub file: PathBuf,
    /// The file, or its bot, could not be loaded: the rendered diagnostics.
    pub load_error: Option<String>,
    pub tests: Vec<TestOutcome>,
    /// Every step (`flow.step`) some test of the file entered: its coverage.
    pub entered: BTreeSet<String>,
}

impl FileOutcome {
    pub fn passed(&self) -> bool {
        self.load_error.is_none() && self.tests.iter().all(|t| t.failure.is_none())
    }
}

/// Every `*.test.yaml` below `root`, sorted.
pub fn find_test_files(root: &Path) -> Vec<PathBuf> {
    if root.is_file() {
        return vec![root.to_path_buf()];
    }
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.is_dir() {
                dirs.push(path);
            } else if is_test_file(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Run every test of one file.
pub async fn run_file(file: &Path) -> FileOutcome {
    let mut report = Report::default();
    let Some(tests) = read_and_parse::<TestFile>(file, &mut report) else {
        return FileOutcome {
            file: file.to_path_buf(),
            load_error: Some(report.render_all()),
            tests: Vec::new(),
            entered: BTreeSet::new(),
        };
    };
    let bot_dir = file
        .parent()
        .unwrap_or(Path::new("."))
        .join(&tests.bot.value);
    let loaded = load_bot(&bot_dir);
    let engine = match loaded.bot.map(Engine::new) {
        Some(Ok(engine)) => Arc::new(engine),
        Some(Err(e)) => return load_failure(file, &tests.bot, e.to_string()),
        None => return load_failure(file, &tests.bot, loaded.report.render_all()),
    };
    let mut outcomes = Vec::new();
    let mut entered = BTreeSet::new();
    for case in &tests.tests {
        let failure = run_case(&engine, case, &mut entered)
            .await
            .err()
            .map(|(pos, message)| {
                format!("{}:{}:{}: {message}", file.display(), pos.line, pos.col)
            });
        outcomes.push(TestOutcome {
            name: case.name.value.clone(),
            failure,
        });
    }
    FileOutcome {
        file: file.to_path_buf(),
        load_error: None,
        tests: outcomes,
        entered,
    }
}

fn load_failure(file: &Path, bot: &At<String>, detail: String) -> FileOutcome {
    let head = format!(
        "{}:{}:{}: the bot `{}` does not load",
        file.display(),
        bot.pos.line,
        bot.pos.col,
        bot.value
    );
    FileOutcome {
        file: file.to_path_buf(),
        load_error: Some(format!("{head}\n{detail}")),
        tests: Vec::new(),
        entered: BTreeSet::new(),
    }
}

type Failure = (Pos, String);

/// A channel that keeps what the bot says, for the script to read.
struct Transcript {
    sent: Mutex<VecDeque<Outbound>>,
}

#[async_trait]
impl Channel for Transcript {
    fn name(&self) -> &str {
        "test"
    }
    async fn send(&self, _: &ConversationId, message: &Outbound) -> Result<(), ChannelError> {
        self.sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(message.clone());
        Ok(())
    }
}

struct Session {
    runtime: Runtime,
    clock: Arc<ManualClock>,
    transcript: Arc<Transcript>,
    id: ConversationId,
    user: UserProfile,
    offered: Vec<String>,
    sequence: u64,
}

async fn run_case(
    engine: &Arc<Engine>,
    case: &TestCase,
    entered: &mut BTreeSet<String>,
) -> Result<(), Failure> {
    let start = match &case.clock {
        Some(c) => DateTime::parse_from_rfc3339(&c.value)
            .map_err(|e| {
                (
                    c.pos,
                    format!("`clock` is not an RFC 3339 time like {DEFAULT_CLOCK}: {e}"),
                )
            })?
            .with_timezone(&Utc),
        None => DateTime::parse_from_rfc3339(DEFAULT_CLOCK)
            .expect("valid default")
            .with_timezone(&Utc),
    };
    let clock = Arc::new(ManualClock::new(start));
    let transcript = Arc::new(Transcript {
        sent: Mutex::new(VecDeque::new()),
    });
    let runtime = Runtime::new(engine.clone(), Arc::new(MemoryStore::new()), clock.clone())
        .with_channel(transcript.clone());
    let name = case
        .user
        .clone()
        .unwrap_or_else(|| DEFAULT_USER.to_string());
    let mut session = Session {
        runtime,
        clock,
        transcript,
        id: ConversationId::new("test", "customer"),
        user: UserProfile {
            id: "customer".into(),
            name,
        },
        offered: Vec::new(),
        sequence: 0,
    };
    let played = play_all(&mut session, &case.script).await;
    if let Ok(journal) = session.runtime.store().journal(&session.id).await {
        entered.extend(journal.into_iter().filter_map(|e| match e.event {
            Event::StepEntered { flow, step } => Some(format!("{flow}.{step}")),
            _ => None,
        }));
    }
    played?;
    let end = case.script.last().map_or(case.name.pos, |t| t.pos);
    session.nothing_unread(end)
}

async fn play_all(session: &mut Session, script: &[At<Turn>]) -> Result<(), Failure> {
    for turn in script {
        session.play(turn).await?;
    }
    Ok(())
}

impl Session {
    async fn play(&mut self, turn: &At<Turn>) -> Result<(), Failure> {
        let pos = turn.pos;
        let t = &turn.value;
        let given = [
            t.user.is_some(),
            t.press.is_some(),
            t.bot.is_some(),
            t.wait.is_some(),
            t.expect.is_some(),
        ];
        if given.iter().filter(|g| **g).count() != 1 {
            return Err((
                pos,
                "a turn takes exactly one of `user`, `press`, `bot`, `wait` or `expect`".into(),
            ));
        }
        if t.buttons.is_some() && t.bot.is_none() {
            return Err((pos, "`buttons` goes with a `bot` turn".into()));
        }
        if let Some(text) = &t.user {
            self.nothing_unread(pos)?;
            self.send(text.clone(), None, pos).await
        } else if let Some(label) = &t.press {
            self.nothing_unread(pos)?;
            if !self.offered.contains(label) {
                return Err((
                    pos,
                    format!(
                        "the bot offers no button `{label}`; it offered {:?}",
                        self.offered
                    ),
                ));
            }
            self.send(label.clone(), Some(label.clone()), pos).await
        } else if let Some(expected) = &t.bot {
            self.expect_message(expected, t.buttons.as_deref(), pos)
        } else if let Some(wait) = &t.wait {
            self.nothing_unread(pos)?;
            self.wait(wait, pos).await
        } else if let Some(expectation) = &t.expect {
            self.expect_state(expectation, pos).await
        } else {
            Ok(())
        }
    }

    async fn send(
        &mut self,
        text: String,
        button: Option<String>,
        pos: Pos,
    ) -> Result<(), Failure> {
        self.sequence += 1;
        let inbound = Inbound {
            conversation: self.id.clone(),
            user: self.user.clone(),
            text,
            button,
            platform_id: Some(self.sequence.to_string()),
        };
        self.runtime
            .handle(inbound)
            .await
            .map(|_| ())
            .map_err(|e| (pos, format!("the engine failed: {e}")))
    }

    async fn wait(&mut self, wait: &str, pos: Pos) -> Result<(), Failure> {
        let by = parse_duration(wait).map_err(|e| (pos, e))?;
        let target = self.clock.now() + by;
        let store = self.runtime.store().clone();
        let failed = |e: &dyn std::fmt::Display| (pos, format!("the engine failed: {e}"));
        while let Some(due) = store.next_timer_due().await.map_err(|e| failed(&e))? {
            if due > target {
                break;
            }
            self.clock.set(due.max(self.clock.now()));
            self.runtime
                .fire_due_timers()
                .await
                .map_err(|e| failed(&e))?;
        }
        self.clock.set(target);
        Ok(())
    }

    fn next_message(&mut self) -> Option<Outbound> {
        let message = self
            .transcript
            .sent
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .pop_front()?;
        if !message.buttons.is_empty() {
            self.offered = message.buttons.clone();
        }
        Some(message)
    }

    fn expect_message(
        &mut self,
        expected: &str,
        buttons: Option<&[String]>,
        pos: Pos,
    ) -> Result<(), Failure> {
        let Some(got) = self.next_message() else {
            return Err((
                pos,
                format!("expected the bot to say:\n    {expected}\n  but it said nothing more"),
            ));
        };
        let matches = match expected.strip_prefix('/').and_then(|e| e.strip_suffix('/')) {
            Some(pattern) => regex::Regex::new(pattern)
                .map_err(|e| (pos, format!("invalid /regex/ in the test: {e}")))?
                .is_match(&got.text),
            None => got.text == expected,
        };
        if !matches {
            return Err((
                pos,
                format!(
                    "the bot said something else\n  expected: {expected}\n       got: {}",
                    got.text
                ),
            ));
        }
        if let Some(buttons) = buttons
            && buttons != got.buttons.as_slice()
        {
            return Err((
                pos,
                format!(
                    "the message offers other buttons\n  expected: {buttons:?}\n       got: {:?}",
                    got.buttons
                ),
            ));
        }
        Ok(())
    }

    fn nothing_unread(&mut self, pos: Pos) -> Result<(), Failure> {
        match self.next_message() {
            None => Ok(()),
            Some(extra) => Err((
                pos,
                format!(
                    "the bot said more than the test expects before this point:\n    {}",
                    extra.text
                ),
            )),
        }
    }

    async fn expect_state(&mut self, e: &Expectation, pos: Pos) -> Result<(), Failure> {
        let conversation = self
            .runtime
            .store()
            .load(&self.id)
            .await
            .map_err(|err| (pos, format!("the store failed: {err}")))?
            .ok_or((pos, "the conversation has not started".to_string()))?;
        let mut problems = Vec::new();
        if let Some(at) = &e.at {
            let position = conversation.position().unwrap_or_else(|| "(closed)".into());
            if *at != position {
                problems.push(format!("expected the bot at `{at}`, it is at `{position}`"));
            }
        }
        if let Some(ended) = e.ended
            && ended != conversation.is_closed()
        {
            problems.push(format!(
                "expected ended: {ended}, got {}",
                conversation.is_closed()
            ));
        }
        if let Some(waiting) = e.waiting {
            let is_waiting = matches!(conversation.owner, Owner::Bot { waiting: true, .. });
            if waiting != is_waiting {
                problems.push(format!("expected waiting: {waiting}, got {is_waiting}"));
            }
        }
        if let Some(fallbacks) = e.fallbacks
            && fallbacks != conversation.fallbacks
        {
            problems.push(format!(
                "expected fallbacks: {fallbacks}, got {}",
                conversation.fallbacks
            ));
        }
        for (name, expected) in e.vars.iter() {
            let got = conversation
                .vars
                .get(&name.value)
                .cloned()
                .unwrap_or(Value::Null);
            if !same_value(expected, &got) {
                problems.push(format!("expected `{}` = {expected}, got {got}", name.value));
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err((pos, problems.join("\n  ")))
        }
    }
}

/// Equal as JSON, with numbers compared by value (3 == 3.0).
fn same_value(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}
