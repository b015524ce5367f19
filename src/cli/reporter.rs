//! One place for warnings that do not stop the run: printed to stderr, and as annotations when
//! running in GitHub Actions.

use std::io::Write;

use crate::github::{in_actions, warning_command};

#[derive(Debug)]
pub struct Reporter {
    annotate: bool,
    quiet: bool,
    sink: Sink,
    warnings: Vec<String>,
}

#[derive(Debug)]
enum Sink {
    Stderr,
    Memory(Vec<u8>),
}

impl Reporter {
    /// Warnings to stderr; annotations too inside GitHub Actions.
    pub fn stderr(quiet: bool) -> Self {
        Reporter {
            annotate: in_actions(),
            quiet,
            sink: Sink::Stderr,
            warnings: Vec::new(),
        }
    }

    /// Warnings kept in memory, for tests.
    pub fn memory() -> Self {
        Reporter {
            annotate: false,
            quiet: false,
            sink: Sink::Memory(Vec::new()),
            warnings: Vec::new(),
        }
    }

    pub fn warn(&mut self, message: impl Into<String>) {
        let message = message.into();
        let line = if self.annotate {
            warning_command(&message)
        } else {
            format!("warning: {message}")
        };
        self.emit(&line);
        self.warnings.push(message);
    }

    /// Progress and summaries that are not results: stderr, silenced by `--quiet`.
    pub fn info(&mut self, message: impl AsRef<str>) {
        if !self.quiet {
            self.emit(message.as_ref());
        }
    }

    fn emit(&mut self, line: &str) {
        match &mut self.sink {
            Sink::Stderr => {
                let _ = writeln!(std::io::stderr().lock(), "{line}");
            }
            Sink::Memory(buf) => {
                let _ = writeln!(buf, "{line}");
            }
        }
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}
