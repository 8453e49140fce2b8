//! `tandem`: run a bot and work on its flows. `serve` runs a bot for its customers, `check`
//! reports problems in flow files, `schema` prints the JSON Schema for editors, `chat` talks
//! to a bot in the terminal, `test` runs conversation tests, `bench` measures.

mod agent_console;
mod bench;
mod bench_floor;
mod bench_http;
mod bench_scale;
mod bench_script;
mod chat;
mod check;
mod conversation_tests;
mod nlu;
mod output;
mod serve;
mod terminal;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use tandem_flow::schema::{FileKind, schema_json};

/// mimalloc: the engine allocates many small strings and maps per turn, and glibc's malloc
/// spent a third of a benchmark turn in free and consolidation. Version 2 (the `v2` feature):
/// version 3 kept the pages of memory freed on another thread (a step's rows are built on a
/// tokio worker and freed by the store's writer thread) and grew to 1 GiB where 200 MiB were
/// in use.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "tandem", version, about = "Customer chat bots that work in tandem with named human agents")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a bot for its customers: the web chat's API on a port, conversations in SQLite,
    /// until Ctrl-C. A restart resumes every conversation.
    Serve {
        /// The bot's folder (with bot.yaml).
        bot: PathBuf,
        /// Where to listen (port 0: any free port, printed at start).
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: std::net::SocketAddr,
        /// The SQLite file conversations are kept in (default: tandem.sqlite in the bot's folder).
        #[arg(long, conflicts_with = "postgres")]
        db: Option<PathBuf>,
        /// Keep conversations in PostgreSQL at $TANDEM_DATABASE_URL instead of a SQLite file.
        #[arg(long)]
        postgres: bool,
    },
    /// Check bots and flow files; errors and warnings with file:line:col. Exit code 1 on errors.
    Check {
        /// Bot folders (with bot.yaml), flow files, folders of flows, or test files. Default: every bot in ./bots.
        paths: Vec<PathBuf>,
    },
    /// Print the JSON Schema (draft-07) of flow, bot or conversation-test files.
    Schema {
        #[arg(value_enum, default_value = "flow")]
        kind: SchemaKind,
    },
    /// Talk to a bot in the terminal. Restarting resumes the same conversation.
    Chat {
        /// The bot's folder (with bot.yaml).
        bot: PathBuf,
        /// The SQLite file conversations are kept in (default: tandem.sqlite in the bot's folder).
        #[arg(long, conflicts_with = "postgres")]
        db: Option<PathBuf>,
        /// Keep conversations in PostgreSQL at $TANDEM_DATABASE_URL instead of a SQLite file.
        #[arg(long)]
        postgres: bool,
        /// Your name, as the bot will see it (default: $USER).
        #[arg(long)]
        name: Option<String>,
        /// Which conversation to continue: a new id starts another one.
        #[arg(long, default_value = "local")]
        chat: String,
    },
    /// Run conversation tests (*.test.yaml) in files or folders (default: ./flows).
    Test { paths: Vec<PathBuf> },
    /// Run the reference support-dialogue workload and print one JSON line.
    Bench {
        #[arg(long, default_value_t = 10_000)]
        conversations: usize,
        #[arg(long, value_enum, default_value = "memory")]
        mode: bench::Mode,
        /// Another bot to run the workload through (default: the benchmark's own).
        #[arg(long)]
        bot: Option<PathBuf>,
        /// With `--mode scale`: new conversations whose timers are timed after the restart.
        #[arg(long, default_value_t = 1_000)]
        hot: usize,
        /// With `--mode scale`: restart on this seeded file instead of seeding one.
        #[arg(long)]
        db: Option<PathBuf>,
        /// SQLite modes: MiB of live conversations' state kept in memory beside the file (0:
        /// every step loads its conversation from the file).
        #[arg(long, default_value_t = tandem_store::DEFAULT_LIVE_STATE_BYTES >> 20)]
        live_state_mib: u64,
        /// With `--mode http-concurrent`: connections posting at once.
        #[arg(long, default_value_t = bench_http::CONNECTIONS)]
        connections: usize,
    },
    /// Try a bot's understanding: one JSON line per line of stdin.
    Nlu {
        #[command(subcommand)]
        what: NluCommand,
    },
    /// Measure understanding on public labelled data.
    Eval {
        #[command(subcommand)]
        what: EvalCommand,
    },
}

#[derive(Subcommand)]
enum NluCommand {
    /// The intents of each line, with confidences.
    Intents {
        #[arg(long)]
        bot: PathBuf,
    },
    /// The sentiment of each line: Tandem's score and plain VADER's.
    Sentiment {
        /// Include this bot's own sentiment cues.
        #[arg(long)]
        bot: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum EvalCommand {
    /// Intent classification on CLINC150 and BANKING77: in-scope accuracy, out-of-scope
    /// recall, macro-F1, train time, time per message.
    Intents {
        /// The folder with clinc150_data_full.json and banking77_*.csv.
        #[arg(long, default_value = "../shared/data/intent")]
        data: PathBuf,
        /// Measure on at most this many test messages per dataset.
        #[arg(long)]
        limit: Option<usize>,
    },
    /// Sentiment on the four VADER human-rated sets: Pearson r and 3-class macro-F1.
    Sentiment {
        /// The folder with the *_GroundTruth.txt files.
        #[arg(long, default_value = "../shared/data/sentiment")]
        data: PathBuf,
        /// Measure on at most this many texts per set.
        #[arg(long)]
        limit: Option<usize>,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum SchemaKind {
    Flow,
    Bot,
    Test,
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TANDEM_LOG").unwrap_or_else(|_| "warn,sqlx=error".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { bot, listen, db, postgres } => {
            let keep = if postgres { chat::Keep::Postgres } else { chat::Keep::Sqlite(db) };
            runtime().and_then(|rt| rt.block_on(serve::run(&bot, keep, listen)))
        }
        Command::Check { paths } => check::run(&paths),
        Command::Schema { kind } => {
            let kind = match kind {
                SchemaKind::Flow => FileKind::Flow,
                SchemaKind::Bot => FileKind::Bot,
                SchemaKind::Test => FileKind::Test,
            };
            print!("{}", schema_json(kind));
            Ok(ExitCode::SUCCESS)
        }
        Command::Chat { bot, db, postgres, name, chat } => {
            let keep = if postgres { chat::Keep::Postgres } else { chat::Keep::Sqlite(db) };
            runtime().and_then(|rt| rt.block_on(chat::run(&bot, keep, name, chat)))
        }
        Command::Test { paths } => runtime().and_then(|rt| rt.block_on(conversation_tests::run(&paths))),
        Command::Nlu { what: NluCommand::Intents { bot } } => nlu::intents(&bot),
        Command::Bench { conversations, mode: bench::Mode::Scale, hot, db, .. } => runtime()
            .and_then(|rt| match db {
                Some(db) => rt.block_on(bench_scale::restart(&db, hot)),
                None => rt.block_on(bench_scale::run(conversations, hot)),
            })
            .map(|()| ExitCode::SUCCESS),
        Command::Bench { conversations, mode: bench::Mode::Floor, .. } => {
            let (line, right) = bench_floor::run(conversations);
            output::line(line).map_err(Into::into).map(|()| if right { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Bench { conversations, mode, bot, live_state_mib, connections, .. } => {
            let live_state_bytes = live_state_mib << 20;
            runtime().and_then(|rt| rt.block_on(bench::run(conversations, mode, bot, live_state_bytes, connections)))
        }
        Command::Eval { what: EvalCommand::Intents { data, limit } } => nlu::eval_intents(&data, limit),
        Command::Nlu { what: NluCommand::Sentiment { bot } } => nlu::sentiment(bot.as_deref()),
        Command::Eval { what: EvalCommand::Sentiment { data, limit } } => nlu::eval_sentiment(&data, limit),
    };
    match result {
        Ok(code) => code,
        Err(e) if output::is_closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}
