//! The corpus of broken flows and bots under tests/: each gets exactly the diagnostics in its
//! `.expected` file (`file:line:col: severity: message`).
//! `TANDEM_BLESS=1` rewrites the expected files (review the diff before committing).

use std::path::Path;

use tandem_flow::{Report, load_bot, load_flows};

use crate::repo;

fn render(report: &Report, base: &Path) -> String {
    let mut out = String::new();
    for d in report.sorted() {
        let file = d.file.strip_prefix(base).unwrap_or(&d.file).display();
        out.push_str(&format!("{file}:{}:{}: {}: {}\n", d.pos.line, d.pos.col, d.severity.label(), d.message));
    }
    out
}

fn compare(expected_file: &Path, got: &str, failures: &mut Vec<String>) {
    if std::env::var_os("TANDEM_BLESS").is_some() {
        std::fs::write(expected_file, got).expect("write expected");
        return;
    }
    let expected = std::fs::read_to_string(expected_file).unwrap_or_default();
    if expected != got {
        failures.push(format!("{}\n--- expected\n{expected}--- got\n{got}", expected_file.display()));
    }
}

#[test]
fn every_broken_flow_gets_its_exact_diagnostics() {
    let dir = repo().join("tests/flows-broken");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/flows-broken")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 15, "the corpus has {} files", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let loaded = load_flows(std::slice::from_ref(file));
        assert!(!loaded.report.diagnostics.is_empty(), "{} has no diagnostics", file.display());
        compare(&file.with_extension("expected"), &render(&loaded.report, &dir), &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_broken_bot_gets_its_exact_diagnostics() {
    let dir = repo().join("tests/bots-broken");
    let mut failures = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("tests/bots-broken") {
        let bot = entry.expect("entry").path();
        let loaded = load_bot(&bot);
        assert!(loaded.bot.is_none(), "{} loaded despite its errors", bot.display());
        compare(&bot.join("expected.txt"), &render(&loaded.report, &bot), &mut failures);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_example_bot_has_no_problems() {
    let loaded = load_bot(&repo().join("bots/acme-support"));
    assert!(loaded.report.diagnostics.is_empty(), "{}", loaded.report.render_all());
    assert!(loaded.bot.expect("loaded").goes_back, "its flows `goto: repeat`");
}

#[test]
fn a_bot_that_never_goes_back_says_so() {
    let loaded = load_bot(&repo().join("crates/tandem-cli/bench/support-dialogue"));
    assert!(!loaded.bot.expect("the benchmark's bot loads").goes_back, "no step of it goes to `repeat`");
}

#[test]
fn a_diagnostic_is_rendered_with_its_source_line_and_caret() {
    let file = repo().join("tests/flows-broken/04-goto-missing-step.yaml");
    let loaded = load_flows(std::slice::from_ref(&file));
    let text = loaded.report.render_all();
    assert!(text.contains("error: `goto` goes to a missing step `goodbey` (did you mean `goodbye`?)"), "{text}");
    assert!(text.contains("04-goto-missing-step.yaml:5:11"), "{text}");
    assert!(text.contains("5 |     goto: goodbey\n  |           ^^^^^^^"), "{text}");
    assert!(text.ends_with("1 error, 0 warnings\n"), "{text}");
}
