//! `tandem serve` as a customer's page sees it: the web chat's API on a loopback port, over a
//! SQLite file. Killed mid-conversation (SIGKILL) and started again, it carries on where the
//! conversation was; stopped with SIGTERM, it finishes and says so.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStderr};

use tandem_web::{CustomerMessage, TranscriptLine, WebChatClient};

use crate::tandem_process;

/// A running `tandem serve` of the benchmark's bot, and where it listens.
struct Serve {
    child: Child,
    addr: SocketAddr,
    stderr: BufReader<ChildStderr>,
}

impl Serve {
    fn start(db: &Path) -> Self {
        let mut command =
            tandem_process(["serve", "crates/tandem-cli/bench/support-dialogue", "--listen", "127.0.0.1:0"]);
        let mut child = command.arg("--db").arg(db).spawn().expect("tandem serve starts");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr"));
        let mut line = String::new();
        let addr = loop {
            line.clear();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "tandem serve stopped before serving");
            if let Some(at) = line.split("http://").nth(1) {
                break at.split_whitespace().next().unwrap().parse().expect("an address");
            }
        };
        Self { child, addr, stderr }
    }

    /// The rest of what it wrote to stderr, once it has stopped.
    fn rest_of_stderr(mut self) -> (std::process::ExitStatus, String) {
        let status = self.child.wait().unwrap();
        let mut rest = String::new();
        std::io::Read::read_to_string(&mut self.stderr, &mut rest).unwrap();
        (status, rest)
    }
}

async fn say(page: &mut WebChatClient, text: &str) -> Vec<String> {
    let message = CustomerMessage { name: Some("Kim Park".into()), ..CustomerMessage::text(text) };
    page.say("kim", &message).await.unwrap().messages.into_iter().map(|m| m.text).collect()
}

#[tokio::test]
async fn killed_mid_conversation_it_carries_on_after_a_restart_and_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("serve.sqlite");

    let mut first = Serve::start(&db);
    let mut page = WebChatClient::connect(first.addr).await.unwrap();
    assert_eq!(say(&mut page, "hi").await, ["Hi! I'm the support bot. What is your order number?"]);
    assert_eq!(say(&mut page, "my order is ORD-00042").await, ["Thanks, order ORD-00042. Please describe the issue."]);
    first.child.kill().unwrap();
    first.child.wait().unwrap();

    let second = Serve::start(&db);
    let mut page = WebChatClient::connect(second.addr).await.unwrap();
    assert_eq!(
        say(&mut page, "The package arrived damaged, can you help?").await,
        ["I've opened a ticket for ORD-00042. Anything else?"],
        "the order number captured before the kill is still known"
    );
    let lines = page.transcript("kim").await.unwrap().lines;
    assert_eq!(lines.len(), 6, "{lines:?}");
    assert_eq!(lines[0], TranscriptLine::Customer { text: "hi".into(), button: None });

    let pid = second.child.id().to_string();
    assert!(std::process::Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    let (status, said) = second.rest_of_stderr();
    assert!(status.success(), "{status}: {said}");
    assert!(said.contains("stopped; every conversation is kept"), "{said}");
}
