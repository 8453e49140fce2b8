//! End-to-end tests of the real `tandem` binary on real files.

mod agent_mode;
mod bench;
mod check;
mod closed_pipe;
mod restart;
mod test_command;

use std::path::PathBuf;
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repo root")
}

/// Run `tandem ARGS` in the repository root.
pub fn tandem(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_tandem")).args(args).current_dir(repo()).output().expect("tandem runs")
}
