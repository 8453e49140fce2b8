//! Standard output for line-oriented commands: a write error is returned, not a panic, and a
//! reader that stops early (`tandem nlu sentiment | head -1`) ends the command quietly.

use std::io::Write;

/// Write one line to standard output.
pub fn line(text: impl std::fmt::Display) -> std::io::Result<()> {
    writeln!(std::io::stdout().lock(), "{text}")
}

/// Whether an error only says that standard output's reader went away.
pub fn is_closed_pipe(error: &anyhow::Error) -> bool {
    error
        .chain()
        .any(|cause| cause.downcast_ref::<std::io::Error>().is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe))
}
