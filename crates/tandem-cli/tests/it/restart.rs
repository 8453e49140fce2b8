//! Kill and restart: `tandem chat` on a SQLite file is killed with SIGKILL mid-conversation,
//! restarted, and the conversation goes on at the right step with its variables; a timeout
//! pending at the kill fires once, after the restart.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
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

impl Chat {
    fn start(db: &Path) -> Self {
        let mut child = tandem_process(["chat", "tests/bots/restart", "--name", "Kim Park", "--db"])
            .arg(db)
            .stderr(Stdio::null())
            .spawn()
            .expect("tandem chat starts");
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

/// How many timers fired in the conversation, read from the journal in the file.
fn timer_firings(db: &Path) -> usize {
    let rt = tokio_runtime();
    rt.block_on(async {
        use tandem_core::{ConversationId, Event, Store};
        let store = tandem_store::SqliteStore::open(db).await.expect("open");
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
    let db = dir.path().join("chat.sqlite");

    let mut first = Chat::start(&db);
    first.say("hi");
    first.expect("Ava: What's your name?");
    first.say("Kim");
    first.expect("Ava: Thanks Kim! What's your favourite colour?");
    first.kill();

    let mut second = Chat::start(&db);
    second.expect("Ava: Thanks Kim! What's your favourite colour?"); // shown again on resuming
    second.say("green");
    second.expect("Ava: And your size, Kim?");
    second.kill(); // the 3-second timeout is pending in the file

    std::thread::sleep(Duration::from_millis(3500));
    let mut third = Chat::start(&db);
    let seen = third.collect_for(Duration::from_secs(3));
    let nudges = seen.iter().filter(|l| l.contains("Still there, Kim? I'll keep your green order open.")).count();
    assert_eq!(nudges, 1, "the timeout fires once after the restart: {seen:?}");
    third.kill();

    let mut fourth = Chat::start(&db);
    fourth.collect_for(Duration::from_millis(1500));
    fourth.kill();
    assert_eq!(timer_firings(&db), 1, "and never again");
}
