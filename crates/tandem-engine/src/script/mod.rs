//! Runs conversation tests (`*.test.yaml`): each test is a fresh conversation through the
//! real [`Runtime`] on an in-memory store and a fake clock. A failure names the file, line
//! and column of the turn that failed, with what was expected and what happened.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tandem_flow::diagnostic::Report;
use tandem_flow::load::{is_test_file, load_bot, read_and_parse};
use tandem_flow::span::At;
use tandem_flow::test_file::TestFile;

use crate::Engine;

mod agent;
mod expect;
mod session;

pub use session::DEFAULT_CLOCK;
use session::run_case;

/// The result of one test.
#[derive(Debug)]
pub struct TestOutcome {
    pub name: String,
    /// `None` when the test passed; else `file:line:col: what went wrong`.
    pub failure: Option<String>,
}

/// The results of one test file.
#[derive(Debug)]
pub struct FileOutcome {
    pub file: PathBuf,
    /// The file, or its bot, could not be loaded: the rendered diagnostics.
    pub load_error: Option<String>,
    pub tests: Vec<TestOutcome>,
    /// Every step (`flow.step`) some test of the file entered: its coverage.
    pub entered: BTreeSet<String>,
}

impl FileOutcome {
    pub fn passed(&self) -> bool {
        self.load_error.is_none() && self.tests.iter().all(|t| t.failure.is_none())
    }
}

/// Every `*.test.yaml` below `root`, sorted.
pub fn find_test_files(root: &Path) -> Vec<PathBuf> {
    if root.is_file() {
        return vec![root.to_path_buf()];
    }
    let mut found = Vec::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.is_dir() {
                dirs.push(path);
            } else if is_test_file(&path) {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

/// Run every test of one file.
pub async fn run_file(file: &Path) -> FileOutcome {
    let mut report = Report::default();
    let Some(tests) = read_and_parse::<TestFile>(file, &mut report) else {
        return FileOutcome {
            file: file.to_path_buf(),
            load_error: Some(report.render_all()),
            tests: Vec::new(),
            entered: BTreeSet::new(),
        };
    };
    let bot_dir = file.parent().unwrap_or(Path::new(".")).join(&tests.bot.value);
    let loaded = load_bot(&bot_dir);
    let engine = match loaded.bot.map(Engine::new) {
        Some(Ok(engine)) => Arc::new(engine),
        Some(Err(e)) => return load_failure(file, &tests.bot, e.to_string()),
        None => return load_failure(file, &tests.bot, loaded.report.render_all()),
    };
    let mut outcomes = Vec::new();
    let mut entered = BTreeSet::new();
    for case in &tests.tests {
        let failure = run_case(&engine, case, &mut entered)
            .await
            .err()
            .map(|(pos, message)| format!("{}:{}:{}: {message}", file.display(), pos.line, pos.col));
        outcomes.push(TestOutcome { name: case.name.value.clone(), failure });
    }
    FileOutcome { file: file.to_path_buf(), load_error: None, tests: outcomes, entered }
}

fn load_failure(file: &Path, bot: &At<String>, detail: String) -> FileOutcome {
    let head = format!("{}:{}:{}: the bot `{}` does not load", file.display(), bot.pos.line, bot.pos.col, bot.value);
    FileOutcome {
        file: file.to_path_buf(),
        load_error: Some(format!("{head}\n{detail}")),
        tests: Vec::new(),
        entered: BTreeSet::new(),
    }
}
