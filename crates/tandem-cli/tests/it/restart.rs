//! Kill and restart: `tandem chat` on a SQLite file, and on PostgreSQL, is killed with SIGKILL
//! mid-conversation, restarted, and the conversation goes on at the right step with its
//! variables; a timeout pending at the kill fires once, after the restart.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

use crate::tandem_process;

struct Chat {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
    seen: Vec<String>,
}

/// Where the chat keeps its conversations.
enum Keep {
    Sqlite(PathBuf),
    /// A server url with the test's own schema as the search path.
    Postgres(String),
}

impl Chat {
    fn start(keep: &Keep) -> Self {
        let mut command = tandem_process(["chat", "tests/bots/restart", "--name", "Kim Park"]);
        match keep {
            Keep::Sqlite(db) => command.arg("--db").arg(db),
            Keep::Postgres(url) => command.arg("--postgres").env("TANDEM_DATABASE_URL", url),
        };
        let mut child = command.stderr(Stdio::null()).spawn().expect("tandem chat starts");
        let stdin = child.stdin.take().expect("stdin");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Chat { child, stdin, lines, seen: Vec::new() }
    }

    fn say(&mut self, text: &str) {
        writeln!(self.stdin, "{text}").expect("write");
        self.stdin.flush().expect("flush");
    }

    /// Wait (up to 20 s) for a line containing `wanted`.
    fn expect(&mut self, wanted: &str) {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(100)) {
                self.seen.push(line.clone());
                if line.contains(wanted) {
                    return;
                }
            }
        }
        panic!("no line with {wanted:?}; saw {:?}", self.seen);
    }

    /// Everything printed during `period`.
    fn collect_for(&mut self, period: Duration) -> Vec<String> {
        let deadline = Instant::now() + period;
        while Instant::now() < deadline {
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(50)) {
                self.seen.push(line);
            }
        }
        self.seen.clone()
    }

    fn kill(mut self) {
        // SIGKILL: no shutdown code runs.
        self.child.kill().expect("kill");
        self.child.wait().expect("reaped");
    }
}

/// How many timers fired in the conversation, read from the stored journal.
fn timer_firings(keep: &Keep) -> usize {
    tokio_runtime().block_on(async {
        use tandem_core::{ConversationId, Event, Store};
        let store: Box<dyn Store> = match keep {
            Keep::Sqlite(db) => Box::new(tandem_store::SqliteStore::open(db).await.expect("open")),
            Keep::Postgres(url) => Box::new(tandem_store::PostgresStore::connect(url, 1).await.expect("connect")),
        };
        let journal = store.journal(&ConversationId::new("terminal", "local")).await.expect("journal");
        journal.iter().filter(|e| matches!(e.event, Event::TimerFired { .. })).count()
    })
}

fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime")
}

#[test]
fn a_killed_chat_resumes_at_its_step_and_a_pending_timeout_fires_once_after_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    kill_and_restart(&Keep::Sqlite(dir.path().join("chat.sqlite")));
}

#[test]
fn the_same_on_postgresql() {
    use tandem_store::PostgresStore;
    let url = std::env::var("TANDEM_TEST_DATABASE_URL").unwrap_or_else(|_| PostgresStore::LOCAL_URL.into());
    let schema = format!("tandem_test_chat_{}", std::process::id());
    let created = tokio_runtime().block_on(async {
        PostgresStore::drop_schema(&url, &schema).await?;
        PostgresStore::connect_in_schema(&url, &schema, 1).await.map(drop)
    });
    if let Err(e) = created {
        assert!(!std::env::var("CI").is_ok_and(|v| v == "true"), "PostgreSQL at {url}: {e}");
        eprintln!("skipped: no PostgreSQL at {url} ({e})");
        return;
    }
    kill_and_restart(&Keep::Postgres(PostgresStore::url_in_schema(&url, &schema).expect("a schema name")));
    tokio_runtime().block_on(PostgresStore::drop_schema(&url, &schema)).expect("drop the schema");
}

/// The conversation of tests/bots/restart, with three kills and restarts.
fn kill_and_restart(keep: &Keep) {
    let mut first = Chat::start(keep);
    first.say("hi");
    first.expect("Ava: What's your name?");
    first.say("Kim");
    first.expect("Ava: Thanks Kim! What's your favourite colour?");
    first.kill();

    let mut second = Chat::start(keep);
    second.expect("Ava: Thanks Kim! What's your favourite colour?"); // shown again on resuming
    second.say("green");
    second.expect("Ava: And your size, Kim?");
    second.kill(); // the 3-second timeout is pending in the file

    std::thread::sleep(Duration::from_millis(3500));
    let mut third = Chat::start(keep);
    let seen = third.collect_for(Duration::from_secs(3));
    let nudges = seen.iter().filter(|l| l.contains("Still there, Kim? I'll keep your green order open.")).count();
    assert_eq!(nudges, 1, "the timeout fires once after the restart: {seen:?}");
    third.kill();

    let mut fourth = Chat::start(keep);
    fourth.collect_for(Duration::from_millis(1500));
    fourth.kill();
    assert_eq!(timer_firings(keep), 1, "and never again");
}
