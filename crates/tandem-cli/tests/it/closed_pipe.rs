//! A reader that stops early (`tandem nlu sentiment | head -1`) ends the command quietly.

use crate::tandem_process;
use std::io::Write;

#[test]
fn a_closed_stdout_ends_the_command_without_a_panic() {
    let mut child = tandem_process(["nlu", "sentiment"]).spawn().expect("tandem starts");
    drop(child.stdout.take());
    let mut stdin = child.stdin.take().expect("stdin");
    // The command may end before it has read everything: a failed write here is expected.
    for _ in 0..20_000 {
        if writeln!(stdin, "this is the third time I write 😡").is_err() {
            break;
        }
    }
    drop(stdin);
    let output = child.wait_with_output().expect("tandem ends");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(output.status.success(), "{:?}: {stderr}", output.status);
}
