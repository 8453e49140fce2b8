//! One person plays customer and agent in `tandem chat`: `@sam ...` lines are the agent's.

use std::io::Write;

use crate::tandem_process;

#[test]
fn an_agent_takes_over_writes_reads_the_transcript_and_hands_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = tandem_process(["chat", "tests/bots/desk", "--name", "Kim Park", "--db"])
        .arg(dir.path().join("desk.sqlite"))
        .spawn()
        .expect("tandem chat starts");
    let script = "hi\n1\nare you there?\n@sam say Hello Kim, Sam here.\n@sam note wants a refund\n@sam transcript\n@priya say hi\n@sam back\n";
    child.stdin.take().expect("stdin").write_all(script.as_bytes()).expect("write");
    let out = child.wait_with_output().expect("finishes at end of input");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let expected_in_order = [
        "Ava: What can I do for you?",
        "Ava: I'm bringing in Sam from our help desk. They'll be with you in a moment.",
        "Sam: Hello Kim, Sam here.",
        "--- transcript for sam (owner: agent sam, because: asked for a person)",
        "customer: are you there?",
        "(note by sam) wants a refund",
        "Ava: What can I do for you?",
    ];
    let mut rest = stdout.as_ref();
    for line in expected_in_order {
        let at = rest.find(line).unwrap_or_else(|| panic!("missing {line:?} in order in:\n{stdout}"));
        rest = &rest[at + line.len()..];
    }
    assert!(stdout.contains("** bot -> queued by bot: asked for a person"), "{stdout}");
    assert!(
        stderr.contains("(priya cannot: only the agent who has the chat can do that; it is agent sam)"),
        "{stderr}"
    );
}
