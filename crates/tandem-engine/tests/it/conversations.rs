//! `cargo test` runs every conversation test in the repository (flows/ and the test bots), checks that the example
//! bot's tests enter every one of its steps, and that a failing test says where and why.

use std::collections::BTreeSet;

use tandem_engine::script::{find_test_files, run_file};

use crate::repo;

#[tokio::test]
async fn every_conversation_test_in_the_repository_passes() {
    let mut files = find_test_files(&repo().join("flows"));
    files.extend(find_test_files(&repo().join("tests/bots")));
    assert!(files.len() >= 5, "found {files:?}");
    let mut failures = Vec::new();
    let mut count = 0;
    for file in files {
        let outcome = run_file(&file).await;
        if let Some(error) = outcome.load_error {
            failures.push(error);
        }
        for test in outcome.tests {
            count += 1;
            if let Some(f) = test.failure {
                failures.push(format!("{} :: {}\n  {f}", file.display(), test.name));
            }
        }
    }
    assert!(failures.is_empty(), "{} of {count} conversation tests failed:\n{}", failures.len(), failures.join("\n\n"));
    println!("{count} conversation tests passed");
}

#[tokio::test]
async fn the_example_bots_tests_enter_every_step() {
    let mut entered = BTreeSet::new();
    for file in find_test_files(&repo().join("flows/acme-support")) {
        entered.extend(run_file(&file).await.entered);
    }
    let bot = tandem_flow::load_bot(&repo().join("bots/acme-support")).bot.expect("loads");
    let all: BTreeSet<String> =
        bot.flows.iter().flat_map(|f| f.steps.iter().map(move |s| format!("{}.{}", f.name, s.name))).collect();
    let missed: Vec<&String> = all.difference(&entered).collect();
    assert!(missed.is_empty(), "steps no conversation test enters: {missed:?}");
}

#[tokio::test]
async fn a_failing_test_names_its_line_and_shows_expected_and_got() {
    let file = repo().join("tests/conversations/failing.test.yaml");
    let outcome = run_file(&file).await;
    assert!(outcome.load_error.is_none(), "{:?}", outcome.load_error);
    let failures: Vec<String> = outcome.tests.iter().map(|t| t.failure.clone().unwrap_or_default()).collect();
    let shown = file.display().to_string();
    assert_eq!(
        failures[0],
        format!(
            "{shown}:9:9: the bot said something else\n  expected: Hello there!\n       got: Hi Alex, I'm Ava from Acme. 👋"
        )
    );
    assert_eq!(failures[1], format!("{shown}:15:9: expected the bot at `orders.lookup`, got `main.welcome`"));
    assert_eq!(
        failures[2],
        format!(
            "{shown}:20:9: the bot said more than the test expects before this point:\n    How can I help you today?"
        )
    );
    assert_eq!(
        failures[3],
        format!(
            "{shown}:26:9: the bot offers no button `Cancel my order`; it offered [\"Track my order\", \"Start a return\", \"Talk to a person\"]"
        )
    );
    assert_eq!(
        failures[4],
        format!("{shown}:32:9: expected the bot to say:\n    /goodbye/\n  but it said nothing more")
    );
    assert_eq!(failures.len(), 5);
}
