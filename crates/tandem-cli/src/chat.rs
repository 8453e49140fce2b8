//! `tandem chat`: talk to a bot in the terminal, on the same stores (SQLite, or PostgreSQL)
//! and runtime as production. Restarting resumes the conversation where it was.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tandem_core::{ConversationId, Event, Inbound, Outbound, Store, SystemClock, UserProfile};
use tandem_engine::{Engine, Handled, Runtime};
use tandem_store::{PostgresStore, SqliteStore};
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::agent_console::{self, AgentCommand};
use crate::terminal::Terminal;

/// Where `tandem chat` and `tandem serve` keep conversations.
pub enum Keep {
    /// A SQLite file (default: tandem.sqlite in the bot's folder).
    Sqlite(Option<PathBuf>),
    /// PostgreSQL at `TANDEM_DATABASE_URL`.
    Postgres,
}

impl Keep {
    /// Open the store: the SQLite file, or a pool of connections to PostgreSQL.
    pub async fn open(self, bot_dir: &Path) -> anyhow::Result<Arc<dyn Store>> {
        Ok(match self {
            Keep::Sqlite(db) => {
                let db = db.unwrap_or_else(|| bot_dir.join("tandem.sqlite"));
                Arc::new(SqliteStore::open(&db).await.with_context(|| format!("opening {}", db.display()))?)
            }
            Keep::Postgres => {
                let url = std::env::var("TANDEM_DATABASE_URL")
                    .context("--postgres: set TANDEM_DATABASE_URL (postgres://user@host:port/database)")?;
                Arc::new(PostgresStore::connect(&url, 4).await?)
            }
        })
    }
}

pub async fn run(bot_dir: &Path, keep: Keep, name: Option<String>, chat: String) -> anyhow::Result<ExitCode> {
    let engine = Arc::new(load_engine(bot_dir)?);
    let store = keep.open(bot_dir).await?;
    let speaker = engine.bot.vars.get("name").and_then(|v| v.as_str()).unwrap_or("bot").to_string();
    let terminal = Arc::new(Terminal::new(speaker));
    let runtime = Arc::new(Runtime::new(engine, store.clone(), Arc::new(SystemClock)).with_channel(terminal.clone()));

    let id = ConversationId::new(Terminal::NAME, chat);
    let name = name.or_else(|| std::env::var("USER").ok()).unwrap_or_else(|| "friend".into());
    let user = UserProfile { id: id.chat().into(), name: name.into() };
    greet(&*store, &id, &terminal).await?;
    runtime.restore().await?;
    tokio::spawn(runtime.clone().run_background(Duration::from_millis(250)));

    let interactive = std::io::stdin().is_terminal();
    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    let mut sequence = 0u64;
    loop {
        if interactive {
            eprint!("you> ");
        }
        let Some(line) = lines.next_line().await? else {
            break;
        };
        if line.trim().is_empty() {
            continue;
        }
        if let Some(command) = agent_console::parse(&line) {
            act(&runtime, &id, command).await?;
            continue;
        }
        sequence += 1;
        let (text, button) = terminal.interpret(&line);
        let platform_id = compact_str::format_compact!("{}-{sequence}", chrono::Utc::now().timestamp_micros());
        let inbound = Inbound {
            conversation: id.clone(),
            user: user.clone(),
            text,
            button,
            platform_id: Some(platform_id),
            sentiment: None,
        };
        runtime.handle(inbound).await?;
    }
    store.flush().await?;
    Ok(ExitCode::SUCCESS)
}

/// Carry out an agent line; problems are printed, not fatal.
async fn act(
    runtime: &Runtime,
    id: &ConversationId,
    command: Result<(String, AgentCommand), String>,
) -> anyhow::Result<()> {
    let (agent, command) = match command {
        Ok(c) => c,
        Err(help) => {
            eprintln!("{help}");
            return Ok(());
        }
    };
    match command {
        AgentCommand::Act(action) => match runtime.agent_action(id, &agent, action).await {
            Ok(Handled::Refused(why)) => eprintln!("({agent} cannot: {why})"),
            Ok(_) => {}
            Err(e) => eprintln!("({agent} cannot: {e})"),
        },
        AgentCommand::Presence { online } => runtime.agent_presence(&agent, online).await?,
        AgentCommand::Transcript => {
            let conversation = runtime.store().load(id).await?;
            let owner = conversation.as_ref().map_or("nobody".into(), |c| c.owner.describe());
            let reason = conversation
                .as_ref()
                .and_then(|c| c.owner.handoff())
                .map_or(String::new(), |h| format!(", because: {}", h.reason));
            println!("--- transcript for {agent} (owner: {owner}{reason})");
            print!("{}", agent_console::transcript(&runtime.store().journal(id).await?));
        }
    }
    Ok(())
}

/// Load a bot, or fail with its diagnostics.
pub fn load_engine(bot_dir: &Path) -> anyhow::Result<Engine> {
    let loaded = tandem_flow::load_bot(bot_dir);
    match loaded.bot {
        Some(bot) => {
            if !loaded.report.diagnostics.is_empty() {
                eprint!("{}", loaded.report.render_all());
            }
            Ok(Engine::new(bot)?)
        }
        None => anyhow::bail!("the bot in {} does not load:\n{}", bot_dir.display(), loaded.report.render_all()),
    }
}

/// Say how to chat, and show where a resumed conversation left off.
async fn greet(store: &dyn Store, id: &ConversationId, terminal: &Terminal) -> anyhow::Result<()> {
    eprintln!("Talking to the bot as {id}. A number presses a button; Ctrl-D leaves (the chat is kept).");
    eprintln!("Play an agent too: {}", agent_console::HELP);
    let journal = store.journal(id).await?;
    if journal.is_empty() {
        return Ok(());
    }
    eprintln!("(resuming the conversation)");
    let last_customer = journal.iter().rposition(|e| matches!(e.event, Event::CustomerSaid { .. }));
    let since = last_customer.map_or(0, |i| i + 1);
    for entry in &journal[since..] {
        if let Event::BotSaid { text, buttons } = &entry.event {
            terminal.show(&Outbound { from: None, text: text.clone(), buttons: buttons.clone() });
        }
    }
    Ok(())
}
