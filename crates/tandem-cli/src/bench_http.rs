//! `tandem bench --mode http|http-concurrent`: the workload over loopback HTTP, as Rasa's REST
//! channel was measured. Each message is posted to the web chat's API (`tandem serve`'s),
//! served in this process on 127.0.0.1 over SQLite (every turn committed before it is
//! answered), and its replies are checked from the answer. `http`: one message at a time on
//! one kept-alive connection; `http-concurrent`: several connections at once (by default
//! [`CONNECTIONS`]), each with its share of the conversations.

use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use tandem_core::SystemClock;
use tandem_engine::Runtime;
use tandem_store::SqliteStore;
use tandem_web::{CustomerMessage, WebChannel, WebChatClient, router};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use crate::bench::{Reading, Tally, nanos, rss_kib, spec_line};
use crate::bench_script::{reply, says};
use crate::output;

/// Connections of `http-concurrent`: pages talking at once, each waiting for its answer
/// before it posts again, enough to fill the store's group commits.
pub const CONNECTIONS: usize = 64;

/// Run the workload over `connections` connections and print its JSON line as `mode`'s.
pub async fn run(
    conversations: usize,
    engine: Arc<tandem_engine::Engine>,
    mode: &str,
    connections: usize,
    live_state_bytes: u64,
) -> anyhow::Result<ExitCode> {
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open_with_live_states(&dir.path().join("bench.sqlite"), live_state_bytes).await?;
    let web = Arc::new(WebChannel::new());
    let runtime = Arc::new(Runtime::new(engine, Arc::new(store), Arc::new(SystemClock)).with_channel(web.clone()));
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let server = tokio::spawn(tandem_web::serve(listener, router(runtime, web), async {
        let _ = stopped.await;
    }));

    let tally = Arc::new(Mutex::new(Tally::for_messages(conversations * 5)));
    let mut pages = Vec::with_capacity(connections);
    for _ in 0..connections {
        pages.push(WebChatClient::connect(addr).await?);
    }
    let rss_base = rss_kib("VmRSS");
    let mut rss_live = 0;
    let started = Instant::now();
    for turn in 1..=5 {
        let mut talking = tokio::task::JoinSet::new();
        for (k, mut page) in pages.drain(..).enumerate() {
            let tally = tally.clone();
            talking.spawn(async move {
                for c in (k..conversations).step_by(connections) {
                    let outcome = exchange(&mut page, c, turn).await?;
                    tally.lock().unwrap_or_else(|e| e.into_inner()).add(outcome);
                }
                anyhow::Ok(page)
            });
        }
        while let Some(page) = talking.join_next().await {
            pages.push(page??);
        }
        if turn == 4 {
            rss_live = rss_kib("VmRSS");
        }
    }
    let wall = started.elapsed().as_secs_f64();
    drop(pages);
    let _ = stop.send(());
    server.await??;

    let tally = Arc::into_inner(tally).expect("the pages are done").into_inner().unwrap_or_else(|e| e.into_inner());
    let mismatches = tally.mismatches();
    let framework = format!("tandem {} ({mode})", env!("CARGO_PKG_VERSION"));
    output::line(spec_line(&framework, tally, Reading { base: rss_base, live: rss_live }, wall))?;
    Ok(if mismatches == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Conversation `c` posts its line of `turn`; the latency in ns and, if the answer was not
/// the one reply expected, what was wrong.
async fn exchange(page: &mut WebChatClient, c: usize, turn: usize) -> anyhow::Result<(u64, Option<String>)> {
    let mut chat = itoa::Buffer::new();
    let chat = chat.format(c);
    let message = CustomerMessage {
        text: says(c, turn).text(),
        button: None,
        id: Some(format!("{c}-{turn}")),
        name: Some("Customer".into()),
    };
    let sent = Instant::now();
    let replies = page.say(chat, &message).await?;
    let latency = nanos(sent.elapsed());
    let expected = reply(c, turn);
    let wrong = match &replies.messages[..] {
        [only] if expected.is(&only.text) => None,
        got => {
            let got: Vec<&str> = got.iter().map(|m| m.text.as_str()).collect();
            Some(format!("mismatch: conversation {c}, turn {turn}: got {got:?}, expected [{:?}]", expected.text()))
        }
    };
    Ok((latency, wrong))
}
