//! `tandem test`: run conversation tests and print each result, failures with expected vs got.

use std::path::PathBuf;
use std::process::ExitCode;

use tandem_engine::script::{find_test_files, run_file};

use crate::output;

pub async fn run(paths: &[PathBuf]) -> anyhow::Result<ExitCode> {
    let roots = if paths.is_empty() { vec![PathBuf::from("flows")] } else { paths.to_vec() };
    let files: Vec<PathBuf> = roots.iter().flat_map(|r| find_test_files(r)).collect();
    anyhow::ensure!(!files.is_empty(), "no conversation tests (*.test.yaml) found in {roots:?}");
    let (mut passed, mut failed) = (0, 0);
    for file in files {
        let outcome = run_file(&file).await;
        if let Some(error) = &outcome.load_error {
            output::line(format_args!("FAIL {}\n{error}", file.display()))?;
            failed += 1;
            continue;
        }
        for test in &outcome.tests {
            match &test.failure {
                None => {
                    passed += 1;
                    output::line(format_args!("ok   {} :: {}", file.display(), test.name))?;
                }
                Some(failure) => {
                    failed += 1;
                    output::line(format_args!("FAIL {} :: {}\n  {failure}\n", file.display(), test.name))?;
                }
            }
        }
    }
    output::line(format_args!("\n{passed} passed, {failed} failed"))?;
    Ok(if failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
