//! `tandem bench`: the reference workload of ../shared/bench/support-dialogue.md through the
//! real engine, handoff and store. N conversations, step-major (turn 1 to all, then turn 2,
//! ...), every reply checked against the table; one JSON line out; exit 1 on any mismatch.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use async_trait::async_trait;
use tandem_core::{Channel, ChannelError, ConversationId, Inbound, Outbound, Store, SystemClock, UserProfile};
use tandem_engine::{MemoryStore, Runtime};
use tandem_store::{PostgresStore, SqliteStore};

use crate::bench_http;
use crate::bench_script::{reply, says};
use crate::chat::load_engine;
use crate::output;

/// Where the benchmark's bot and flow live, next to this crate.
pub const BENCH_BOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/support-dialogue");

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Mode {
    /// In-memory store, one message at a time.
    Memory,
    /// SQLite, every turn committed before its reply counts as sent, one message at a time.
    Sqlite,
    /// SQLite, all conversations as concurrent clients.
    Concurrent,
    /// PostgreSQL (`TANDEM_DATABASE_URL`, by default the local server's database `test`), every
    /// turn committed before its reply counts as sent, one message at a time; in a schema of
    /// its own, dropped afterwards.
    Postgres,
    /// PostgreSQL, all conversations as concurrent clients.
    PostgresConcurrent,
    /// Over loopback HTTP to the web chat's API (`tandem serve`'s, on SQLite), one message at
    /// a time on one connection.
    Http,
    /// Over loopback HTTP, 64 connections at once (`--connections`).
    HttpConcurrent,
    /// SQLite with N stored conversations and N pending timers: start-up, memory, timer lag.
    Scale,
    /// The spec's floor: the dialogue as a hand-written `match` state machine, no engine, to
    /// measure what this machine does (the targets are shares of it). `--bot` does not apply.
    Floor,
}

/// Connections the PostgreSQL modes open (the server is on this machine's 2 cores too).
const POSTGRES_CONNECTIONS: u32 = 8;

/// The PostgreSQL server for the `postgres` modes: from the environment (a password stays out
/// of files and shell history), by default the local server's database `test`.
fn database_url() -> String {
    std::env::var("TANDEM_DATABASE_URL").unwrap_or_else(|_| PostgresStore::LOCAL_URL.into())
}

/// Checks each reply as it is sent against the line the script expects of its conversation
/// (its number) at the turn under way, and keeps what it found until the harness takes it: a
/// byte per conversation, made before the run (so not counted as the conversations' memory),
/// and the text of a wrong reply only.
struct Replies {
    turn: AtomicUsize,
    /// Per conversation, this turn: [`RIGHT`] once the right reply came, [`OTHER`] when
    /// another (or a second) came.
    found: Vec<AtomicU8>,
    /// The other replies, and whose.
    wrong: Mutex<Vec<(usize, String)>>,
}

const RIGHT: u8 = 1;
const OTHER: u8 = 2;

impl Replies {
    fn for_conversations(conversations: usize) -> Self {
        let found = (0..conversations).map(|_| AtomicU8::new(0)).collect();
        Self { turn: AtomicUsize::new(0), found, wrong: Mutex::new(Vec::new()) }
    }

    /// Replies from now on are to messages of `turn` (turns do not overlap).
    fn start_turn(&self, turn: usize) {
        self.turn.store(turn, Ordering::Relaxed);
    }

    /// What was wrong with the replies to conversation `c`'s message, if anything.
    fn checked(&self, c: usize, turn: usize) -> Option<String> {
        let found = self.found.get(c).map_or(0, |found| found.swap(0, Ordering::Relaxed));
        if found == RIGHT {
            return None;
        }
        let mut all = self.wrong();
        let (theirs, others): (Vec<_>, Vec<_>) = std::mem::take(&mut *all).into_iter().partition(|(of, _)| *of == c);
        *all = others;
        let wrong: Vec<String> = theirs.into_iter().map(|(_, text)| text).collect();
        let (right, expected) = (found & RIGHT, reply(c, turn).text());
        Some(format!("mismatch: conversation {c}, turn {turn}: {right} right, got {wrong:?}, expected [{expected:?}]"))
    }

    fn wrong(&self) -> std::sync::MutexGuard<'_, Vec<(usize, String)>> {
        self.wrong.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl Channel for Replies {
    fn name(&self) -> &str {
        "bench"
    }
    async fn send(&self, id: &ConversationId, message: &Outbound) -> Result<(), ChannelError> {
        self.check(id, message)
    }

    /// Checked at once, as a channel that hands messages to an in-memory queue would.
    fn try_send(&self, id: &ConversationId, message: &Outbound) -> Option<Result<(), ChannelError>> {
        Some(self.check(id, message))
    }
}

impl Replies {
    /// Record whether `message` is the reply conversation `id` is to get at this turn.
    fn check(&self, id: &ConversationId, message: &Outbound) -> Result<(), ChannelError> {
        let not_ours = || ChannelError { channel: "bench".into(), reason: format!("not a benchmark chat: {id}") };
        let c: usize = id.chat().parse().map_err(|_| not_ours())?;
        let found = self.found.get(c).ok_or_else(not_ours)?;
        let right = reply(c, self.turn.load(Ordering::Relaxed)).is(&message.text)
            && found.fetch_or(RIGHT, Ordering::Relaxed) & RIGHT == 0;
        if !right {
            found.fetch_or(OTHER, Ordering::Relaxed);
            self.wrong().push((c, message.text.clone()));
        }
        Ok(())
    }
}

/// One message of the workload: conversation `c` says its line of `turn`; the replies are
/// checked. Returns the latency in ns and, if the replies were wrong, what was wrong.
async fn exchange(
    runtime: &Runtime,
    replies: &Replies,
    c: usize,
    turn: usize,
) -> anyhow::Result<(u64, Option<String>)> {
    let text = says(c, turn).text();
    let sent = Instant::now();
    runtime.handle(inbound(c, turn, text)).await?;
    let latency = nanos(sent.elapsed());
    Ok((latency, replies.checked(c, turn)))
}

/// The outcomes of the run's messages as they come: each latency in its place, and the
/// mismatches (the first three shown). The latencies' slots are made (and written) before the
/// run, so that the harness's record is not counted as the conversations' memory.
pub(crate) struct Tally {
    latencies: Vec<u64>,
    recorded: usize,
    mismatches: usize,
}

impl Tally {
    pub(crate) fn for_messages(messages: usize) -> Self {
        Self { latencies: vec![u64::MAX; messages], recorded: 0, mismatches: 0 }
    }

    pub(crate) fn add(&mut self, (latency, wrong): (u64, Option<String>)) {
        if let Some(slot) = self.latencies.get_mut(self.recorded) {
            *slot = latency;
            self.recorded += 1;
        }
        if let Some(wrong) = wrong {
            if self.mismatches < 3 {
                eprintln!("{wrong}");
            }
            self.mismatches += 1;
        }
    }

    pub(crate) fn mismatches(&self) -> usize {
        self.mismatches
    }
}

/// A latency in ns.
pub(crate) fn nanos(elapsed: std::time::Duration) -> u64 {
    u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)
}

/// The five turns, done: what every message came to, resident memory after turn 4 (KiB) and
/// the time taken.
struct Turns {
    tally: Tally,
    rss_live: u64,
    wall_s: f64,
}

/// Send every conversation its line of each turn in order, one message at a time or (with
/// `concurrent`) all conversations' messages of a turn at once, each from its own task.
async fn turns(
    runtime: Arc<Runtime>,
    replies: Arc<Replies>,
    conversations: usize,
    concurrent: bool,
    mut tally: Tally,
) -> anyhow::Result<Turns> {
    let mut rss_live = 0;
    let started = Instant::now();
    for turn in 1..=5 {
        replies.start_turn(turn);
        if concurrent {
            let mut tasks = tokio::task::JoinSet::new();
            for c in 0..conversations {
                let (runtime, replies) = (runtime.clone(), replies.clone());
                tasks.spawn(async move { exchange(&runtime, &replies, c, turn).await });
            }
            while let Some(done) = tasks.join_next().await {
                tally.add(done??);
            }
        } else {
            for c in 0..conversations {
                tally.add(exchange(&runtime, &replies, c, turn).await?);
            }
        }
        if turn == 4 {
            rss_live = rss_kib("VmRSS");
        }
    }
    Ok(Turns { tally, rss_live, wall_s: started.elapsed().as_secs_f64() })
}

fn inbound(c: usize, turn: usize, text: String) -> Inbound {
    let (mut chat, mut turn_digits) = (itoa::Buffer::new(), itoa::Buffer::new());
    let chat = chat.format(c);
    // Inline: a platform id of up to 24 bytes costs no allocation.
    let mut platform_id = compact_str::CompactString::new(chat);
    platform_id.push('-');
    platform_id.push_str(turn_digits.format(turn));
    Inbound {
        conversation: ConversationId::new("bench", chat),
        user: UserProfile { id: chat.into(), name: "Customer".into() },
        text,
        button: None,
        platform_id: Some(platform_id),
        sentiment: None,
    }
}

/// Run the workload and print its JSON line; SQLite keeps `live_state_bytes` of live
/// conversations in memory; `http-concurrent` posts on `http_connections` at once.
pub async fn run(
    conversations: usize,
    mode: Mode,
    bot: Option<PathBuf>,
    live_state_bytes: u64,
    http_connections: usize,
) -> anyhow::Result<ExitCode> {
    let engine = Arc::new(load_engine(bot.as_deref().unwrap_or(Path::new(BENCH_BOT)))?);
    let over_http = match mode {
        Mode::Http => Some(1),
        Mode::HttpConcurrent => Some(http_connections.max(1)),
        _ => None,
    };
    if let Some(connections) = over_http {
        return bench_http::run(conversations, engine, mode_name(mode), connections, live_state_bytes).await;
    }
    let dir = tempfile::tempdir()?;
    let postgres = matches!(mode, Mode::Postgres | Mode::PostgresConcurrent).then(database_url);
    let schema = format!("tandem_bench_{}", std::process::id());
    let store: Arc<dyn Store> = match (&postgres, mode) {
        (Some(url), _) => Arc::new(PostgresStore::connect_in_schema(url, &schema, POSTGRES_CONNECTIONS).await?),
        (None, Mode::Memory) => Arc::new(MemoryStore::new()),
        (None, _) => {
            Arc::new(SqliteStore::open_with_live_states(&dir.path().join("bench.sqlite"), live_state_bytes).await?)
        }
    };
    let replies = Arc::new(Replies::for_conversations(conversations));
    let runtime = Arc::new(Runtime::new(engine, store, Arc::new(SystemClock)).with_channel(replies.clone()));

    // The harness's own record of latencies is made and written before the base reading, so
    // that the live memory is the conversations', not the instrument's (it was ~16 bytes a
    // conversation by turn 4, and a list of each turn's outcomes ~32 more).
    let tally = Tally::for_messages(conversations * 5);
    let rss_base = rss_kib("VmRSS");
    let concurrent = matches!(mode, Mode::Concurrent | Mode::PostgresConcurrent);
    let turns = turns(runtime, replies, conversations, concurrent, tally);
    // Concurrent clients are spawned by a task on a worker, as a server's accept loop spawns
    // its connections': spawned from the thread that blocks on the runtime, each went through
    // the runtime's shared queue (concurrent at 10,000: ~70,000 -> ~79,000 msgs/s). One client
    // at a time stays on that thread, where it waits for the store with less scheduling.
    let Turns { tally, rss_live, wall_s: wall } = if concurrent { tokio::spawn(turns).await?? } else { turns.await? };
    let mismatches = tally.mismatches();
    let live = Reading { base: rss_base, live: rss_live };
    output::line(spec_line(&format!("tandem {} ({})", env!("CARGO_PKG_VERSION"), mode_name(mode)), tally, live, wall))?;
    if let Some(url) = &postgres {
        PostgresStore::drop_schema(url, &schema).await?;
    }
    Ok(if mismatches == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Resident memory (KiB) before the first message and after turn 4.
pub(crate) struct Reading {
    pub base: u64,
    pub live: u64,
}

/// The spec's JSON line for a run of `framework` that took `wall` seconds, in the spec's key
/// order, so that it compares as text with other frameworks' lines. Latencies in µs with two
/// decimals (the spec's floors are below one).
pub(crate) fn spec_line(framework: &str, tally: Tally, rss: Reading, wall: f64) -> String {
    let Tally { mut latencies, recorded, mismatches } = tally;
    let messages = latencies.len();
    let conversations = messages / 5;
    latencies.truncate(recorded);
    latencies.sort_unstable();
    let mib = |kib: u64| (kib as f64 / 1024.0 * 10.0).round() / 10.0;
    let us = |p: f64| percentile(&latencies, p).map_or(0.0, |ns| ns as f64 / 1000.0);
    format!(
        concat!(
            r#"{{"framework":"{}","conversations":{},"messages":{},"wall_s":{:.3},"msgs_per_s":{:.0},"#,
            r#""lat_us_p50":{:.2},"lat_us_p90":{:.2},"lat_us_p99":{:.2},"lat_us_max":{:.2},"#,
            r#""rss_base_MiB":{},"rss_live_MiB":{},"rss_peak_MiB":{},"live_state_KiB_per_conv":{:.2},"mismatches":{}}}"#
        ),
        framework,
        conversations,
        messages,
        wall,
        messages as f64 / wall,
        us(0.50),
        us(0.90),
        us(0.99),
        us(1.0),
        mib(rss.base),
        mib(rss.live),
        mib(rss_kib("VmHWM")),
        rss.live.saturating_sub(rss.base) as f64 / conversations.max(1) as f64,
        mismatches,
    )
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::Memory => "memory",
        Mode::Sqlite => "sqlite",
        Mode::Concurrent => "concurrent",
        Mode::Postgres => "postgres",
        Mode::PostgresConcurrent => "postgres-concurrent",
        Mode::Http => "http",
        Mode::HttpConcurrent => "http-concurrent",
        Mode::Scale => "scale",
        Mode::Floor => "floor",
    }
}

/// The value at fraction `p` (0.0-1.0) of `sorted` (nearest rank), if any.
pub(crate) fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    sorted.get(((sorted.len() as f64 - 1.0) * p).round() as usize).copied()
}

/// A `/proc/self/status` field in KiB (0 where there is no /proc).
pub(crate) fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_its_conversations_turn() {
        assert_eq!(inbound(17, 5, "thanks".into()).platform_id.as_deref(), Some("17-5"));
    }

    #[tokio::test]
    async fn a_reply_is_right_only_alone_and_as_expected() {
        let replies = Replies::for_conversations(4);
        let id = ConversationId::new("bench", "3");
        let say = |text: &str| Outbound { from: None, text: text.into(), buttons: vec![] };
        let greeting = reply(3, 1).text();
        replies.start_turn(1);
        replies.send(&id, &say(&greeting)).await.unwrap();
        assert_eq!(replies.checked(3, 1), None);
        assert!(replies.checked(3, 1).is_some(), "no reply");
        replies.send(&id, &say(&greeting)).await.unwrap();
        replies.send(&id, &say(&greeting)).await.unwrap();
        assert!(replies.checked(3, 1).is_some(), "two replies");
        replies.start_turn(2);
        replies.send(&id, &say(&greeting)).await.unwrap();
        assert!(replies.checked(3, 2).unwrap().contains("What is your order number?"), "last turn's reply");
        assert!(replies.wrong().is_empty(), "nothing is kept once taken");
        assert!(replies.send(&ConversationId::new("bench", "4"), &say(&greeting)).await.is_err(), "not ours");
    }
}
