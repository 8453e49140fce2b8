//! `tandem check` and `tandem schema` as a flow author uses them.

use crate::tandem;

#[test]
fn the_example_bot_checks_clean() {
    let out = tandem(&["check", "bots/acme-support"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 errors, 0 warnings"));
    let all = tandem(&["check"]);
    assert!(all.status.success(), "`tandem check` with no path checks every bot");
}

#[test]
fn errors_exit_1_and_show_file_line_column_and_the_source() {
    let out =
        tandem(&["check", "tests/flows-broken/15-unknown-intent.yaml", "tests/flows-broken/10-unreachable-step.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stderr);
    let expected = "error: unknown intent `track_ordr` (did you mean `track_order`?)\n  \
                    --> tests/flows-broken/15-unknown-intent.yaml:9:19\n  |\n\
                    9 |       - { intent: track_ordr, goto: done }\n  |                   ^^^^^^^^^^\n";
    assert!(text.contains(expected), "{text}");
    assert!(text.contains("warning: step `forgotten` is unreachable"), "{text}");
    assert!(text.ends_with("1 error, 1 warning\n"), "{text}");
}

#[test]
fn warnings_alone_do_not_fail() {
    let out = tandem(&["check", "tests/flows-broken/10-unreachable-step.yaml"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_test_file_is_checked_with_its_bot() {
    let out = tandem(&["check", "flows/acme-support/orders.test.yaml"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn schema_prints_draft_07() {
    for kind in ["flow", "bot", "test"] {
        let out = tandem(&["schema", kind]);
        let schema: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
        assert_eq!(schema["$schema"], "http://json-schema.org/draft-07/schema#");
    }
}
