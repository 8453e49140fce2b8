//! `tandem serve`: run a bot for its customers until Ctrl-C (or SIGTERM): the web chat's API
//! on a port, conversations in SQLite (or PostgreSQL), and timers and the outbox worked in
//! the background. A restart resumes every conversation from the store.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tandem_core::SystemClock;
use tandem_engine::Runtime;
use tandem_web::{WebChannel, router};
use tokio::net::TcpListener;

use crate::chat::{Keep, load_engine};

/// How often, at the longest, timers and undelivered messages are looked for.
const BACKGROUND_EVERY: Duration = Duration::from_millis(250);

pub async fn run(bot_dir: &Path, keep: Keep, listen: SocketAddr) -> anyhow::Result<ExitCode> {
    let engine = Arc::new(load_engine(bot_dir)?);
    let bot = engine.bot.id.clone();
    let store = keep.open(bot_dir).await?;
    let web = Arc::new(WebChannel::new());
    let runtime = Arc::new(Runtime::new(engine, store.clone(), Arc::new(SystemClock)).with_channel(web.clone()));
    runtime.restore().await?;
    let background = tokio::spawn(runtime.clone().run_background(BACKGROUND_EVERY));
    let listener = TcpListener::bind(listen).await.with_context(|| format!("listening on {listen}"))?;
    let at = listener.local_addr()?;
    eprintln!("serving {bot} at http://{at} (web chat: POST /api/chats/<chat>/messages); Ctrl-C stops");
    tandem_web::serve(listener, router(runtime, web), stopped()).await?;
    background.abort();
    store.flush().await?;
    eprintln!("stopped; every conversation is kept");
    Ok(ExitCode::SUCCESS)
}

/// Ctrl-C, or SIGTERM (a service manager's stop).
async fn stopped() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("waiting for Ctrl-C: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(e) => {
                tracing::error!("waiting for SIGTERM: {e}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
}
