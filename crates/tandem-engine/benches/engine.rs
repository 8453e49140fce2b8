//! Time per operation on the engine's hot path, with the reference workload's bot
//! (crates/tandem-cli/bench/support-dialogue): the pure step function for each kind of turn,
//! template rendering, route matching, a commit to the in-memory store, and a whole message
//! through the runtime (the memory benchmark's work, steadier than its wall clock).
//! `cargo bench -p tandem-engine`.

use std::cell::RefCell;
use std::hint::black_box;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use serde_json::json;
use tandem_core::{
    Channel, ChannelError, Conversation, ConversationId, Inbound, Outbound, Store, SystemClock, UserProfile,
};
use tandem_engine::{Engine, Input, MemoryStore, Runtime};
use tandem_flow::bot::RouteCondition;
use tandem_flow::template::Templates;

/// The allocator the `tandem` binary runs with, so that these figures are the binary's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const BOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../tandem-cli/bench/support-dialogue");

fn engine() -> Engine {
    let loaded = tandem_flow::load_bot(Path::new(BOT));
    Engine::new(loaded.bot.expect("the bench bot loads")).expect("the bench bot compiles")
}

fn message(text: &str) -> Input {
    Input::Message { text: text.into(), button: None, sentiment: None }
}

fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 24, 9, 0, 0).single().expect("a valid time")
}

/// The conversation after the customer said each of `said`, in order.
fn after(engine: &Engine, said: &[&str]) -> Conversation {
    let id = ConversationId::new("bench", "1");
    let user = UserProfile { id: "1".into(), name: "Customer".into() };
    said.iter().fold(Conversation::new(id, user, now()), |c, text| engine.step(c, message(text), now()).conversation)
}

fn step(c: &mut Criterion) {
    let engine = engine();
    let turns: [(&str, &[&str], &str); 5] = [
        ("step: first message (greeting)", &[], "hi"),
        ("step: capture fails (retry)", &["hi"], "it's 12345"),
        ("step: capture + templated prompt", &["hi", "it's 12345"], "my order is ORD-00042"),
        (
            "step: route to ticket",
            &["hi", "it's 12345", "my order is ORD-00042"],
            "The package arrived damaged, can you help?",
        ),
        (
            "step: route to handoff",
            &["hi", "it's 12345", "my order is ORD-00042"],
            "This is the worst service ever, I am furious!",
        ),
    ];
    for (name, before, text) in turns {
        let conversation = after(&engine, before);
        let input = message(text);
        c.bench_function(name, |b| {
            b.iter_batched(
                || (conversation.clone(), input.clone()),
                |(conv, input)| black_box(engine.step(conv, input, now())),
                BatchSize::SmallInput,
            )
        });
    }
}

fn template(c: &mut Criterion) {
    let mut templates = Templates::default();
    let plain = templates.add("Glad I could help. Goodbye!").expect("a template");
    let filled = templates.add("Thanks, order {{order}}. Please describe the issue.").expect("a template");
    let data = json!({ "order": "ORD-00042", "user": { "name": "Customer" }, "fallbacks": 0 });
    c.bench_function("template: plain text", |b| b.iter(|| black_box(templates.render(plain, &data))));
    c.bench_function("template: one variable", |b| b.iter(|| black_box(templates.render(filled, &data))));
}

fn routes(c: &mut Criterion) {
    let engine = engine();
    let describe = after(&engine, &["hi", "it's 12345", "my order is ORD-00042"]);
    let at = describe.bot_at().expect("at a step");
    let step = engine.bot.find(at.flow, at.step).expect("the describe step");
    let routes = &engine.bot.step(step).routes;
    // The first route whose `match:` holds, or the `else` route.
    let choose = |text: &str| {
        routes.iter().position(|r| match &r.condition {
            RouteCondition::Match(regex) => regex.is_match(text),
            RouteCondition::Else => true,
            _ => false,
        })
    };
    c.bench_function("route: match the describe step's routes", |b| {
        b.iter(|| black_box(choose(black_box("The package arrived damaged, can you help?"))))
    });
    let acme = Engine::new(
        tandem_flow::load_bot(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../bots/acme-support"))
            .bot
            .expect("the example bot loads"),
    )
    .expect("the example bot compiles");
    c.bench_function("route: understand intents (acme-support)", |b| {
        b.iter(|| black_box(acme.understand(black_box("I'd like to send the scarf back, it doesn't fit"))))
    });
}

fn commit(c: &mut Criterion) {
    let engine = engine();
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    let store = RefCell::new(MemoryStore::new());
    let start = after(&engine, &["hi"]);
    let mut n = 0u64;
    c.bench_function("commit: one turn to the memory store", |b| {
        b.iter_batched(
            || {
                // Ten thousand conversations, as the benchmark's default, five turns each, then
                // a new store. A new conversation every time grew the store by a million per
                // run, and its table's growth swamped the figure; one store for the whole run
                // gave each conversation hundreds of seen ids, and the figure grew with the
                // run's length (2.7-7.8 µs).
                if n.is_multiple_of(COMMITS_PER_STORE) {
                    *store.borrow_mut() = MemoryStore::new();
                }
                n += 1;
                let mut conv = start.clone();
                conv.id = ConversationId::new("bench", (n % 10_000).to_string());
                engine.step(conv, message("it's 12345"), now()).into_commit(Some(n.to_string().into()), None)
            },
            |commit| black_box(rt.block_on(store.borrow().commit(commit))),
            BatchSize::SmallInput,
        )
    });
}

/// Commits to one memory store in the commit bench: five turns of the benchmark's 10,000
/// conversations.
const COMMITS_PER_STORE: u64 = 50_000;

/// A channel that delivers nowhere.
struct Nowhere;

#[async_trait]
impl Channel for Nowhere {
    fn name(&self) -> &str {
        "bench"
    }
    async fn send(&self, _: &ConversationId, _: &Outbound) -> Result<(), ChannelError> {
        Ok(())
    }
    fn try_send(&self, _: &ConversationId, _: &Outbound) -> Option<Result<(), ChannelError>> {
        Some(Ok(()))
    }
}

/// Conversations of the runtime bench: the dialogue runs step-major over these, as in
/// `tandem bench`, on a new store every 5 × this many messages.
const LIVE: usize = 1_000;

/// What conversation `c` says at `turn` (0-4): the benchmark's dialogue, every fifth angry.
fn line(c: usize, turn: usize) -> String {
    let angry = c.is_multiple_of(5);
    match turn {
        0 => "hi".into(),
        1 => "it's 12345".into(),
        2 => format!("my order is ORD-{c:05}"),
        3 if angry => "This is the worst service ever, I am furious!".into(),
        3 => "The package arrived damaged, can you help?".into(),
        _ => "thanks".into(),
    }
}

fn runtime(c: &mut Criterion) {
    let engine = Arc::new(engine());
    let rt = tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a runtime");
    let fresh = || {
        Runtime::new(engine.clone(), Arc::new(MemoryStore::new()), Arc::new(SystemClock))
            .with_channel(Arc::new(Nowhere))
    };
    c.bench_function("runtime: one message, memory store", |b| {
        b.iter_custom(|iters| {
            let mut took = Duration::ZERO;
            let mut done = 0;
            while done < iters {
                let runtime = fresh();
                let batch = (iters - done).min(5 * LIVE as u64) as usize;
                let inbound: Vec<Inbound> = (0..batch)
                    .map(|k| {
                        let (c, turn) = (k % LIVE, k / LIVE);
                        Inbound {
                            conversation: ConversationId::new("bench", c.to_string()),
                            user: UserProfile { id: c.to_string().into(), name: "Customer".into() },
                            text: line(c, turn),
                            button: None,
                            platform_id: Some(format!("{c}-{turn}").into()),
                            sentiment: None,
                        }
                    })
                    .collect();
                let started = Instant::now();
                rt.block_on(async {
                    for message in inbound {
                        black_box(runtime.handle(message).await.expect("handled"));
                    }
                });
                took += started.elapsed();
                done += batch as u64;
            }
            took
        })
    });
}

criterion_group!(benches, step, template, routes, commit, runtime);
criterion_main!(benches);
