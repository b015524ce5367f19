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

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

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
