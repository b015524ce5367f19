//! One place for warnings that do not stop the run: printed to stderr, and as annotations when
//! running in GitHub Actions.

use std::io::Write;

use crate::github::{MAX_ANNOTATIONS, in_actions, log_line, warning_command};

#[derive(Debug)]
pub struct Reporter {
    annotate: bool,
    quiet: bool,
    sink: Sink,
    warnings: Vec<String>,
    /// Values never to print (a token): replaced by `***` in every line.
    secrets: Vec<String>,
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
            secrets: Vec::new(),
        }
    }

    /// Warnings kept in memory, for tests.
    pub fn memory() -> Self {
        Reporter {
            annotate: false,
            quiet: false,
            sink: Sink::Memory(Vec::new()),
            warnings: Vec::new(),
            secrets: Vec::new(),
        }
    }

    /// From now on, `secret` is printed as `***`.
    pub fn hide(&mut self, secret: &str) {
        if !secret.is_empty() {
            self.secrets.push(secret.to_owned());
        }
    }

    /// `text` with every hidden value replaced by `***`.
    pub fn redact(&self, text: &str) -> String {
        self.secrets
            .iter()
            .fold(text.to_owned(), |t, s| t.replace(s.as_str(), "***"))
    }

    /// True when a progress bar would be seen: stderr is a terminal and not `--quiet`.
    pub fn shows_progress(&self) -> bool {
        use std::io::IsTerminal;
        !self.quiet && matches!(self.sink, Sink::Stderr) && std::io::stderr().is_terminal()
    }

    /// A warning: an annotation inside Actions, up to the number GitHub shows (one short of it,
    /// the last place saying how many more are in the log), a plain line past that and outside.
    pub fn warn(&mut self, message: impl Into<String>) {
        let message = self.redact(&message.into());
        let annotations = self.warnings.len();
        let line = if self.annotate && annotations + 1 < MAX_ANNOTATIONS {
            warning_command(&message)
        } else {
            format!("warning: {}", log_line(&message))
        };
        self.emit(&line);
        self.warnings.push(message);
    }

    /// At the end of a command: how many warnings were not annotations, as the last one.
    pub fn finish(&mut self) {
        let more = self.warnings.len().saturating_sub(MAX_ANNOTATIONS - 1);
        if self.annotate && more > 0 {
            let line = warning_command(&format!(
                "{more} more warning(s) in the log: GitHub shows {MAX_ANNOTATIONS} annotations of a kind per step"
            ));
            self.emit(&line);
        }
    }

    /// Progress and summaries that are not results: stderr, silenced by `--quiet`. Names in
    /// them can start no workflow command.
    pub fn info(&mut self, message: impl AsRef<str>) {
        if !self.quiet {
            let line = log_line(&self.redact(message.as_ref()));
            self.emit(&line);
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
