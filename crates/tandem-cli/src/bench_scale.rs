//! `tandem bench --mode scale`: many stored conversations, each with a pending timer, in
//! SQLite. Seeds N conversations through the real engine and store (each waiting for an
//! answer, its "are you still there?" timer due tomorrow), reopens the file as a restarted
//! server would, and reports the start-up time and memory, then how late timers fire while
//! all those others wait: `hot` new conversations get the 2-second nudge of the scale bot,
//! and the lag is when the nudge reached the channel minus when it was due.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::Utc;
use tandem_core::{
    Channel, ChannelError, Conversation, ConversationId, Inbound, Outbound, Store, SystemClock, UserProfile,
};
use tandem_engine::{Input, Runtime};
use tandem_store::SqliteStore;
use tokio::task::JoinSet;

use crate::bench::{percentile, rss_kib};
use crate::chat::load_engine;
use crate::output;

/// The scale bot, next to this crate.
pub const SCALE_BOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/bench/scale");
/// The scale bot's timeout on its first question.
const NUDGE_AFTER: Duration = Duration::from_secs(2);
/// Commits in flight while seeding (they share transactions).
const IN_FLIGHT: usize = 2048;
/// One seeded conversation in this many also asks for a person.
const ASKING_FOR_PEOPLE: usize = 100;

/// When each hot conversation's nudge arrived.
#[derive(Default)]
struct Nudges(Mutex<HashMap<String, Instant>>);

#[async_trait]
impl Channel for Nudges {
    fn name(&self) -> &str {
        "scale"
    }
    async fn send(&self, id: &ConversationId, message: &Outbound) -> Result<(), ChannelError> {
        if message.text.starts_with("Are you still there?") {
            self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(id.chat().to_string(), Instant::now());
        }
        Ok(())
    }
}

/// Seed a fresh file, then restart on it in a new process (so its memory is a restarted
/// server's, not the seeder's) and print that process's figures with the seeding's.
pub async fn run(conversations: usize, hot: usize) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("scale.sqlite");
    let seeding = Instant::now();
    seed(&path, Arc::new(load_engine(Path::new(SCALE_BOT))?), conversations).await?;
    let seed_s = seeding.elapsed().as_secs_f64();
    let db_bytes: u64 = std::fs::read_dir(dir.path())?.filter_map(|e| e.ok()?.metadata().ok()).map(|m| m.len()).sum();
    let mut command = std::process::Command::new(std::env::current_exe()?);
    command.args(["bench", "--mode", "scale", "--hot", &hot.to_string(), "--db"]).arg(&path);
    let restarted = tokio::task::spawn_blocking(move || command.output()).await??;
    anyhow::ensure!(
        restarted.status.success(),
        "the restarted process failed: {}",
        String::from_utf8_lossy(&restarted.stderr)
    );
    let mut line: serde_json::Map<String, serde_json::Value> = serde_json::from_slice(&restarted.stdout)?;
    line.insert("conversations".into(), conversations.into());
    line.insert("seed_s".into(), ((seed_s * 10.0).round() / 10.0).into());
    line.insert("db_MiB".into(), (db_bytes / 1_048_576).into());
    output::line(serde_json::Value::Object(line))?;
    Ok(())
}

/// Start on a seeded file as a restarted server would (open it, rebuild the desk, find the
/// next timer), then time the nudges of `hot` new conversations while every seeded timer
/// waits. Prints one JSON object.
pub async fn restart(path: &Path, hot: usize) -> anyhow::Result<()> {
    let engine = Arc::new(load_engine(Path::new(SCALE_BOT))?);
    let rss_before = rss_kib("VmRSS");
    let starting = Instant::now();
    let store = Arc::new(SqliteStore::open(path).await?);
    // The stored conversations are listed in the background after opening (if the listing
    // fails, the store keeps asking the file and the figure is left out).
    let listing = {
        let store = store.clone();
        tokio::spawn(tokio::time::timeout(Duration::from_secs(120), async move {
            while !store.knows_every_stored_conversation() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
            starting.elapsed()
        }))
    };
    let nudges = Arc::new(Nudges::default());
    let runtime = Arc::new(Runtime::new(engine, store.clone(), Arc::new(SystemClock)).with_channel(nudges.clone()));
    runtime.restore().await?;
    let next_due = store.next_timer_due().await?;
    let startup_ms = starting.elapsed().as_secs_f64() * 1000.0;
    let rss_started = rss_kib("VmRSS");
    anyhow::ensure!(next_due.is_some(), "no pending timers in {}", path.display());
    let pending = store.pending_timers().await?;
    let with_people = store.handoff_conversations().await?.len();

    // Timers fire from a loop as in a server, while hot conversations start.
    let firing = tokio::spawn(runtime.clone().run_background(Duration::from_millis(20)));
    let mut due = HashMap::with_capacity(hot);
    for c in 0..hot {
        let chat = format!("hot-{c}");
        due.insert(chat.clone(), Instant::now() + NUDGE_AFTER);
        runtime.handle(message(&chat, "hi")).await?;
    }
    let deadline = Instant::now() + NUDGE_AFTER + Duration::from_secs(120);
    while nudges.0.lock().unwrap_or_else(|e| e.into_inner()).len() < hot && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    firing.abort();
    let listed = listing.await?.ok();
    let arrived = nudges.0.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut lags: Vec<f64> = arrived
        .iter()
        .filter_map(|(chat, at)| due.get(chat).map(|d| at.saturating_duration_since(*d).as_secs_f64() * 1000.0))
        .collect();
    lags.sort_by(f64::total_cmp);
    let round = |x: f64| (x * 10.0).round() / 10.0;
    let mib = |kib: u64| round(kib as f64 / 1024.0);
    let line = serde_json::json!({
        "framework": format!("tandem {} (scale, sqlite)", env!("CARGO_PKG_VERSION")),
        "pending_timers": pending,
        "chats_with_people": with_people,
        "startup_ms": round(startup_ms),
        "rss_before_open_MiB": mib(rss_before),
        "rss_started_MiB": mib(rss_started),
        "conversations_listed_ms": listed.map(|listed| round(listed.as_secs_f64() * 1000.0)),
        "hot": hot,
        "nudged": lags.len(),
        "fire_lag_ms_p50": round(percentile(&lags, 0.5).unwrap_or(f64::NAN)),
        "fire_lag_ms_p99": round(percentile(&lags, 0.99).unwrap_or(f64::NAN)),
        "fire_lag_ms_max": round(lags.last().copied().unwrap_or(f64::NAN)),
        "rss_peak_MiB": mib(rss_kib("VmHWM")),
    });
    output::line(line)?;
    anyhow::ensure!(lags.len() == hot, "{} of {hot} nudges arrived", lags.len());
    Ok(())
}

fn message(chat: &str, text: &str) -> Inbound {
    Inbound {
        conversation: ConversationId::new("scale", chat),
        user: UserProfile { id: chat.into(), name: "Customer".into() },
        text: text.into(),
        button: None,
        platform_id: Some(compact_str::format_compact!("{chat}-1")),
        sentiment: None,
    }
}

/// `n` conversations that said "hi" and wait, each with its nudge due tomorrow: through the
/// engine's step and the store's commit, many commits in flight. Then one in
/// [`ASKING_FOR_PEOPLE`] more asks for a person, through the runtime and its desk: two take
/// the agents' ten places, the rest wait in line at the restart.
async fn seed(path: &Path, engine: Arc<tandem_engine::Engine>, n: usize) -> anyhow::Result<()> {
    let store = SqliteStore::open(path).await?;
    let tomorrow = Utc::now() + chrono::Duration::days(1);
    let mut tasks = JoinSet::new();
    for c in 0..n {
        if tasks.len() >= IN_FLIGHT
            && let Some(done) = tasks.join_next().await
        {
            done??;
        }
        let (engine, store) = (engine.clone(), store.clone());
        tasks.spawn(async move {
            let inbound = message(&format!("seed-{c}"), "hi");
            let start = Conversation::new(inbound.conversation.clone(), inbound.user.clone(), tomorrow);
            let input = Input::Message { text: inbound.text, button: None, sentiment: None };
            let commit = engine.step(start, input, tomorrow).into_commit(inbound.platform_id, None);
            // Sent before the restart: nothing is left for the outbox to redeliver.
            if let tandem_core::CommitOutcome::Committed(sent) = store.commit(commit).await? {
                store.mark_delivered(&sent.iter().map(|m| m.id).collect::<Vec<_>>()).await?;
            }
            Ok::<_, tandem_core::StoreError>(())
        });
    }
    while let Some(done) = tasks.join_next().await {
        done??;
    }
    let runtime = Runtime::new(engine, Arc::new(store.clone()), Arc::new(SystemClock));
    for c in (0..n).step_by(ASKING_FOR_PEOPLE) {
        let mut ask = message(&format!("people-{c}"), "hi");
        runtime.handle(ask.clone()).await?;
        ask.text = "agent".into();
        ask.platform_id = Some(compact_str::format_compact!("people-{c}-2"));
        runtime.handle(ask).await?;
    }
    store.flush().await?;
    Ok(())
}
