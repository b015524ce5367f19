//! The Actions runtime's conventions, in one place: `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY`,
//! workflow commands (annotations, `::add-mask::`), escaped as the Actions toolkit escapes them.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;

/// GitHub refuses a step summary over 1 MiB (and shows none of it).
pub const STEP_SUMMARY_LIMIT: usize = 1024 * 1024;

/// True when running inside GitHub Actions.
pub fn in_actions() -> bool {
    std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

/// The toolkit's `escapeData`: `%`, CR and LF.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// The toolkit's `escapeProperty`: as `escape_data`, and `:` and `,`, which end a property.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// Text for a runner's log that can start no workflow command, whatever it holds: a line break
/// is shown as `\n` (and CR as `\r`), so one message stays one line, and a line that would read
/// as a command (`::…` at its start, `##[` anywhere) gets a zero-width space that the runner does
/// not trim. For text made of names and ids (tests, jobs, suites), which anyone who can push a
/// test can choose.
pub fn log_line(text: &str) -> String {
    neutralize(&text.replace('\r', "\\r").replace('\n', "\\n"))
}

/// As `log_line`, for text whose own line breaks are meant (a report, an analysis): each line
/// that would read as a workflow command is neutralized.
pub fn log_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(&neutralize(line));
    }
    out
}

fn neutralize(line: &str) -> String {
    let line = line.replace("##[", "#\u{200B}#[");
    if line.trim_start().starts_with("::") {
        let at = line.len() - line.trim_start().len();
        format!("{}\u{200B}{}", &line[..at], &line[at..])
    } else {
        line
    }
}

/// GitHub shows this many annotations of one kind per step, and drops the rest.
pub const MAX_ANNOTATIONS: usize = 10;

/// The level of an annotation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    Notice,
    Warning,
    Error,
}

/// Where an annotation points, when it points at a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: Option<u64>,
    pub title: Option<String>,
}

/// `::warning file=F,line=L,title=T::message`, properties and message escaped.
pub fn annotation(level: Level, location: Option<&Location>, message: &str) -> String {
    let name = match level {
        Level::Notice => "notice",
        Level::Warning => "warning",
        Level::Error => "error",
    };
    let mut props = Vec::new();
    if let Some(loc) = location {
        props.push(format!("file={}", escape_property(&loc.file)));
        if let Some(line) = loc.line {
            props.push(format!("line={line}"));
        }
        if let Some(title) = &loc.title {
            props.push(format!("title={}", escape_property(title)));
        }
    }
    let props = if props.is_empty() {
        String::new()
    } else {
        format!(" {}", props.join(","))
    };
    format!("::{name}{props}::{}", escape_data(message))
}

/// `::warning::message`.
pub fn warning_command(message: &str) -> String {
    annotation(Level::Warning, None, message)
}

/// `::add-mask::value`: the runner hides `value` in every later line of the log. Each line of a
/// multi-line secret is masked on its own, as the runner matches line by line.
pub fn add_mask_commands(secret: &str) -> String {
    let mut out = String::new();
    for line in secret.lines().filter(|l| !l.trim().is_empty()) {
        let _ = writeln!(out, "::add-mask::{}", escape_data(line));
    }
    out
}

/// A delimiter that cannot be guessed in advance: `ghadelimiter_` and 32 random hex digits.
pub fn random_delimiter() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness source: fall back to the clock and process id, still unpredictable to a
        // test name written before the run.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        bytes = (t ^ u128::from(std::process::id())).to_le_bytes();
    }
    format!("ghadelimiter_{}", crate::timings::hex(&bytes))
}

/// The lines to append to `$GITHUB_OUTPUT` for `name` = `value`.
pub fn format_output(name: &str, value: &str, delimiter: &str) -> String {
    format!("{name}<<{delimiter}\n{value}\n{delimiter}\n")
}

/// Appends `outputs` to the file `$GITHUB_OUTPUT` names, one delimited block each.
pub fn append_outputs(path: &Path, outputs: &[(String, String)]) -> std::io::Result<()> {
    let delimiter = random_delimiter();
    let block: String = outputs
        .iter()
        .map(|(k, v)| format_output(k, v, &delimiter))
        .collect();
    append(path, &block)
}

/// `markdown` cut to fit the step summary's limit alongside what the file already holds: whole
/// lines, with a last line saying how much was left out.
pub fn fit_summary(markdown: &str, already: usize) -> String {
    let budget = STEP_SUMMARY_LIMIT.saturating_sub(already);
    if markdown.len() <= budget {
        return markdown.to_owned();
    }
    let note_room = 200;
    let mut cut = budget.saturating_sub(note_room);
    while cut > 0 && !markdown.is_char_boundary(cut) {
        cut -= 1;
    }
    let kept = markdown[..cut].rfind('\n').map_or(0, |i| i + 1);
    let mut out = markdown[..kept].to_owned();
    let _ = writeln!(
        out,
        "\n_… {} more bytes left out: a step summary holds at most 1 MiB._",
        markdown.len() - kept
    );
    out
}

/// Appends `markdown` to the step summary file, cut to stay under 1 MiB with what it holds.
pub fn append_summary(path: &Path, markdown: &str) -> std::io::Result<()> {
    let already = std::fs::metadata(path).map_or(0, |m| m.len() as usize);
    append(path, &fit_summary(markdown, already))
}

/// Appends `text` whole or not at all: a write that fails part-way (a full disk) is cut back to
/// where the file ended, so that no `name<<DELIMITER` block is left open for the runner to read
/// the rest of the file into.
fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    let before = f.metadata()?.len();
    let written = f.write_all(text.as_bytes()).and_then(|()| f.flush());
    if let Err(e) = written {
        let _ = f.set_len(before);
        return Err(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ids printed raw started `::error …::` workflow commands in a runner's log.
    #[test]
    fn names_in_the_log_start_no_workflow_command() {
        let id = "tests/a.py::t\n::error title=x::pwned\r\n  ::add-mask::x ##[error]y";
        let line = log_line(&format!("item {id} is new"));
        assert!(!line.contains('\n') && !line.contains('\r'), "{line}");
        assert!(!line.contains("##["), "{line}");
        assert_eq!(
            log_line("::error::x"),
            "\u{200B}::error::x",
            "a line that starts as a command"
        );
        let text = log_text("suite a: fine\n::error::x\n  ::warning::y\nok ##[group]\n");
        for l in text.lines() {
            assert!(
                !l.trim_start().starts_with("::") && !l.contains("##["),
                "{l:?}"
            );
        }
        assert_eq!(text.lines().count(), 4);
        assert_eq!(log_text("plain\ntext\n"), "plain\ntext\n");
    }

    #[test]
    fn escapes_like_the_toolkit() {
        assert_eq!(
            warning_command("50% done\nnext"),
            "::warning::50%25 done%0Anext"
        );
        let loc = Location {
            file: "tests/a,b.py".into(),
            line: Some(12),
            title: Some("slow: shard 3".into()),
        };
        assert_eq!(
            annotation(Level::Error, Some(&loc), "over budget"),
            "::error file=tests/a%2Cb.py,line=12,title=slow%3A shard 3::over budget"
        );
        assert_eq!(
            add_mask_commands("abc\ndef\n"),
            "::add-mask::abc\n::add-mask::def\n"
        );
    }

    #[test]
    fn multi_line_block() {
        assert_eq!(
            format_output("matrix", "{\"a\":1}", "D"),
            "matrix<<D\n{\"a\":1}\nD\n"
        );
        let d = random_delimiter();
        assert_eq!(d.len(), "ghadelimiter_".len() + 32);
        assert_ne!(d, random_delimiter());
    }

    #[test]
    fn a_summary_is_cut_at_a_line_to_stay_under_the_limit() {
        let line = "| shard | 1 | 2 |\n";
        let big = line.repeat(STEP_SUMMARY_LIMIT / line.len() + 100);
        let fitted = fit_summary(&big, 1000);
        assert!(fitted.len() + 1000 <= STEP_SUMMARY_LIMIT);
        assert!(fitted.ends_with("holds at most 1 MiB._\n"));
        let body = fitted.split("\n_…").next().unwrap();
        assert!(body.lines().all(|l| l.is_empty() || l == line.trim_end()));
        assert_eq!(fit_summary("small\n", 0), "small\n");
    }
}
