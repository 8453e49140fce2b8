//! `tandem check`: load bots, flows and test files and report every problem.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use tandem_flow::diagnostic::Report;
use tandem_flow::load::{flow_files, is_test_file, load_bot, load_flows, read_and_parse};
use tandem_flow::test_file::TestFile;

/// Check each path; print diagnostics cargo-style; exit 1 when there are errors.
pub fn run(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let paths = if paths.is_empty() { default_paths()? } else { paths.to_vec() };
    let mut report = Report::default();
    for path in &paths {
        report.merge(check_path(path)?);
    }
    eprint!("{}", report.render_all());
    Ok(if report.has_errors() { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// Every bot folder under ./bots.
fn default_paths() -> anyhow::Result<Vec<PathBuf>> {
    let mut bots: Vec<PathBuf> = std::fs::read_dir("bots")
        .map_err(|e| anyhow::anyhow!("no path given and ./bots cannot be read: {e}"))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("bot.yaml").is_file())
        .collect();
    bots.sort();
    Ok(bots)
}

/// What one path holds, checked.
pub fn check_path(path: &Path) -> anyhow::Result<Report> {
    if path.is_dir() && path.join("bot.yaml").is_file() {
        return Ok(load_bot(path).report);
    }
    if path.is_dir() {
        let files = flow_files(path)?;
        anyhow::ensure!(!files.is_empty(), "{} holds no bot.yaml and no flow files", path.display());
        return Ok(load_flows(&files).report);
    }
    if path.file_name().is_some_and(|n| n == "bot.yaml") {
        return Ok(load_bot(path.parent().unwrap_or(Path::new("."))).report);
    }
    if is_test_file(path) {
        let mut report = Report::default();
        if let Some(tests) = read_and_parse::<TestFile>(path, &mut report) {
            report.merge(load_bot(&path.parent().unwrap_or(Path::new(".")).join(&tests.bot.value)).report);
        }
        return Ok(report);
    }
    anyhow::ensure!(path.exists(), "{} does not exist", path.display());
    Ok(load_flows(&[path.to_path_buf()]).report)
}
