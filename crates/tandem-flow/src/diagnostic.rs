//! Problems found in flow and bot files, reported cargo-style: severity, message,
//! `file:line:col` and the source line with a caret.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::span::Pos;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn label(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// One problem at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub file: PathBuf,
    pub pos: Pos,
    pub message: String,
}

impl Diagnostic {
    /// `file:line:col: severity: message`, one line.
    pub fn short(&self) -> String {
        format!(
            "{}:{}:{}: {}: {}",
            self.file.display(),
            self.pos.line,
            self.pos.col,
            self.severity.label(),
            self.message
        )
    }
}

/// Every diagnostic of a load, with the sources they point into.
#[derive(Debug, Default)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
    sources: HashMap<PathBuf, String>,
}

impl Report {
    pub fn add_source(&mut self, file: &Path, text: &str) {
        self.sources.insert(file.to_path_buf(), text.to_string());
    }

    pub fn source(&self, file: &Path) -> Option<&str> {
        self.sources.get(file).map(String::as_str)
    }

    pub fn error(&mut self, file: &Path, pos: Pos, message: impl Into<String>) {
        self.push(Severity::Error, file, pos, message.into());
    }

    pub fn warning(&mut self, file: &Path, pos: Pos, message: impl Into<String>) {
        self.push(Severity::Warning, file, pos, message.into());
    }

    fn push(&mut self, severity: Severity, file: &Path, pos: Pos, message: String) {
        let diagnostic = Diagnostic { severity, file: file.to_path_buf(), pos, message };
        if !self.diagnostics.contains(&diagnostic) {
            self.diagnostics.push(diagnostic);
        }
    }

    pub fn merge(&mut self, other: Report) {
        self.sources.extend(other.sources);
        for d in other.diagnostics {
            self.push(d.severity, &d.file, d.pos, d.message);
        }
    }

    pub fn has_errors(&self) -> bool {
        self.count(Severity::Error) > 0
    }

    pub fn count(&self, severity: Severity) -> usize {
        self.diagnostics.iter().filter(|d| d.severity == severity).count()
    }

    /// Diagnostics in file, line, column order.
    pub fn sorted(&self) -> Vec<&Diagnostic> {
        let mut all: Vec<&Diagnostic> = self.diagnostics.iter().collect();
        all.sort_by(|a, b| {
            (&a.file, a.pos.line, a.pos.col, a.severity).cmp(&(&b.file, b.pos.line, b.pos.col, b.severity))
        });
        all
    }

    /// One diagnostic the way cargo shows one: the message, the place and the source line.
    pub fn render(&self, diagnostic: &Diagnostic) -> String {
        let mut out = format!("{}: {}\n", diagnostic.severity.label(), diagnostic.message);
        let Pos { line, col, len } = diagnostic.pos;
        let _ = writeln!(out, "  --> {}:{}:{}", diagnostic.file.display(), line, col);
        let text = self.sources.get(&diagnostic.file).and_then(|s| s.lines().nth(line.saturating_sub(1) as usize));
        if let (Some(text), true) = (text, line > 0) {
            let gutter = " ".repeat(line.to_string().len());
            let caret_pad = " ".repeat(col.saturating_sub(1) as usize);
            let carets = "^".repeat(len.clamp(1, 80) as usize);
            let _ = writeln!(out, "{gutter} |\n{line} | {text}\n{gutter} | {caret_pad}{carets}");
        }
        out
    }

    /// Every diagnostic rendered, then a summary line.
    pub fn render_all(&self) -> String {
        let mut out = String::new();
        for d in self.sorted() {
            out.push_str(&self.render(d));
            out.push('\n');
        }
        let (errors, warnings) = (self.count(Severity::Error), self.count(Severity::Warning));
        let _ = writeln!(out, "{errors} error{}, {warnings} warning{}", plural(errors), plural(warnings));
        out
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
