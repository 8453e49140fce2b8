//! `tandem test`: passes on the repository's flows, fails with expected vs got otherwise.

use crate::tandem;

#[test]
fn the_repository_flows_pass() {
    let out = tandem(&["test"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(text.contains(" passed, 0 failed"), "{text}");
}

#[test]
fn failures_exit_1_with_their_place_and_what_differs() {
    let out = tandem(&["test", "tests/conversations/failing.test.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("FAIL tests/conversations/failing.test.yaml :: wrong greeting"), "{text}");
    assert!(text.contains("tests/conversations/failing.test.yaml:9:9: the bot said something else"), "{text}");
    assert!(text.contains("  expected: Hello there!\n       got: Hi Alex, I'm Ava from Acme. 👋"), "{text}");
    assert!(text.trim_end().ends_with("0 passed, 5 failed"), "{text}");
}
