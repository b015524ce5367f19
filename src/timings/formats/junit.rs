//! JUnit XML, as every runner writes it: `<testsuites>` or a bare `<testsuite>` root, nested
//! suites, testcases with or without a `file` attribute, `time` missing or written with a comma.
//!
//! A testcase's file, when the report does not say, is derived from its `classname` the way the
//! runner that wrote it builds that name (pytest: `pkg.mod.Class` → `pkg/mod.py`; jest-junit: the
//! suite's file path; nextest: the test binary; JVM runners and gotestsum: the class or package).

use std::path::Path;

use chrono::{DateTime, NaiveDateTime, Utc};
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

use super::{IngestError, line_of};
use crate::timings::{ItemId, Micros};

/// Which runner wrote the report, as far as it shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Pytest,
    Jest,
    Nextest,
    Generic,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    Passed,
    Failed,
    Skipped,
}

/// One timed testcase, with the names it can be scheduled by.
#[derive(Clone, Debug, PartialEq)]
pub struct JunitCase {
    /// The test, named as its runner names it (`tests/a.py::TestC::test_x`).
    pub test: ItemId,
    /// Its file (or the binary, class or package that stands for one).
    pub file: String,
    /// Its class, or its file where the runner has no classes.
    pub class: String,
    pub millis: Option<Micros>,
    pub outcome: Outcome,
    /// The first line of its failure's message (or of the failure's text), when it failed, or
    /// of a failure it then passed through when it was retried.
    pub message: Option<String>,
    /// It failed and passed on a retry in the same run of its runner (`<flakyFailure>` or
    /// `<flakyError>`, as nextest and surefire write them).
    pub flaky: bool,
    /// Line of the `<testcase>` element.
    pub line: usize,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct JunitSummary {
    pub cases: Vec<JunitCase>,
    /// The earliest `timestamp` of a suite, when the report has one.
    pub timestamp: Option<DateTime<Utc>>,
    /// The latest `timestamp` + `time` of a suite: when the run it reports ended.
    pub end: Option<DateTime<Utc>>,
}

/// Elements nested deeper than this are refused: real reports nest suites a few levels deep.
pub const MAX_DEPTH: usize = 256;

/// Line numbers of increasing byte offsets, counted as the reader goes: each byte is looked at
/// once, however many elements a report has.
struct Lines<'a> {
    bytes: &'a [u8],
    offset: usize,
    line: usize,
}

impl Lines<'_> {
    #[expect(
        clippy::naive_bytecount,
        reason = "each byte is counted once; not worth a dependency"
    )]
    fn at(&mut self, pos: usize) -> usize {
        let pos = pos.min(self.bytes.len());
        if pos < self.offset {
            return line_of(self.bytes, pos);
        }
        self.line += self.bytes[self.offset..pos]
            .iter()
            .filter(|&&b| b == b'\n')
            .count();
        self.offset = pos;
        self.line
    }
}

#[derive(Default)]
struct Suite {
    name: String,
    file: Option<String>,
}

#[derive(Default)]
struct Case {
    name: String,
    classname: String,
    file: Option<String>,
    time: Option<String>,
    line: usize,
    outcome: Option<Outcome>,
    /// The message attribute's first line, and the text, of its first failure.
    message: Option<String>,
    text: String,
    flaky: bool,
}

/// The longest a failure's message is kept.
const MESSAGE_CHARS: usize = 300;

/// What a failure says, in one line: its message's first line, else its text's. A Rust panic's
/// message names only where it panicked (`thread 'x' panicked at src/lib.rs:27:9`, as nextest
/// writes it): its text's next line says what failed.
fn failure_line(message: Option<&str>, text: &str) -> Option<String> {
    let message = message.map(str::to_owned).or_else(|| first_line(text))?;
    let panicked = message
        .starts_with("thread '")
        .then(|| message.split_once(" panicked at "))
        .flatten();
    if let Some((_, at)) = panicked {
        let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
        if lines.next().is_some_and(|l| l.starts_with("thread '"))
            && let Some(next) = lines.next().and_then(first_line)
        {
            return Some(format!("{next} (panicked at {})", at.trim_end_matches(':')));
        }
    }
    Some(message)
}

/// The first line of `text` that has anything on it, cut to `MESSAGE_CHARS`.
fn first_line(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(match line.char_indices().nth(MESSAGE_CHARS) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_owned(),
    })
}

/// Reads every testcase of a JUnit report.
#[expect(
    clippy::too_many_lines,
    reason = "one streaming loop over the events; splitting it would scatter the state it carries"
)]
pub fn read_junit(path: &Path, bytes: &[u8]) -> Result<JunitSummary, IngestError> {
    // Whitespace is left in as text events, so that the position before a tag is its `<`.
    let mut reader = Reader::from_reader(bytes);
    let xml_err = |reader: &Reader<&[u8]>, message: String| IngestError::Xml {
        path: path.to_owned(),
        line: line_of(bytes, reader.error_position() as usize),
        message,
    };

    let mut summary = JunitSummary::default();
    let mut dialect = Dialect::Generic;
    let mut suites: Vec<Suite> = Vec::new();
    let mut case: Option<Case> = None;
    // Inside a case's first failure: its text is kept beside its message.
    let mut failure_text = false;
    let mut seen_root = false;
    let mut depth = 0usize;
    let mut lines = Lines {
        bytes,
        offset: 0,
        line: 1,
    };

    loop {
        let pos = reader.buffer_position() as usize;
        let event = reader
            .read_event()
            .map_err(|e| xml_err(&reader, e.to_string()))?;
        let (element, empty) = match &event {
            Event::Start(e) => (Some(e), false),
            Event::Empty(e) => (Some(e), true),
            Event::End(e) => {
                depth = depth.saturating_sub(1);
                match e.local_name().as_ref() {
                    b"testsuite" => {
                        suites.pop();
                    }
                    b"testcase" => {
                        if let Some(c) = case.take() {
                            summary.cases.push(finish(path, &c, &suites, dialect)?);
                        }
                    }
                    _ => failure_text = false,
                }
                continue;
            }
            Event::Text(t) if failure_text => {
                if let Some(c) = case.as_mut() {
                    let text = t.unescape().map_or_else(
                        |_| String::from_utf8_lossy(t).into_owned(),
                        std::borrow::Cow::into_owned,
                    );
                    c.text.push_str(&text);
                }
                continue;
            }
            Event::CData(t) if failure_text => {
                if let Some(c) = case.as_mut() {
                    c.text.push_str(&String::from_utf8_lossy(t));
                }
                continue;
            }
            Event::Eof => break,
            _ => continue,
        };
        let Some(e) = element else { continue };
        let line = lines.at(pos);
        let attrs = attributes(path, line, e)?;
        let get = |k: &str| attrs.get(k);
        let local = e.local_name();
        if !seen_root {
            seen_root = true;
            match local.as_ref() {
                b"testsuites" | b"testsuite" => {}
                other => {
                    return Err(IngestError::NotJunit {
                        path: path.to_owned(),
                        root: String::from_utf8_lossy(other).into_owned(),
                    });
                }
            }
            dialect = match get("name").as_deref() {
                Some("pytest tests" | "pytest") => Dialect::Pytest,
                Some("jest tests") => Dialect::Jest,
                Some("nextest-run") => Dialect::Nextest,
                _ => Dialect::Generic,
            };
        }
        if !empty {
            depth += 1;
            if depth > MAX_DEPTH {
                return Err(IngestError::Xml {
                    path: path.to_owned(),
                    line,
                    message: format!(
                        "elements nested more than {MAX_DEPTH} deep; a JUnit report nests suites a few levels at most"
                    ),
                });
            }
        }
        if matches!(local.as_ref(), b"testsuite" | b"testsuites")
            && let Some(ts) = get("timestamp").and_then(|t| parse_timestamp(&t))
        {
            summary.timestamp = Some(summary.timestamp.map_or(ts, |old| old.min(ts)));
            let secs = get("time")
                .and_then(|t| parse_time(&t))
                .filter(|s| *s >= 0.0);
            // A time too large for the calendar is no end at all, not a panic.
            if let Some(end) = secs
                .and_then(|s| chrono::Duration::try_milliseconds((s * 1000.0).round() as i64))
                .and_then(|d| ts.checked_add_signed(d))
            {
                summary.end = Some(summary.end.map_or(end, |old| old.max(end)));
            }
        }
        match local.as_ref() {
            b"testsuite" if !empty => {
                suites.push(Suite {
                    name: get("name").unwrap_or_default(),
                    file: get("file"),
                });
            }
            b"testcase" => {
                let c = Case {
                    name: get("name").unwrap_or_default(),
                    classname: get("classname").unwrap_or_default(),
                    file: get("file"),
                    time: get("time"),
                    line,
                    outcome: None,
                    message: None,
                    text: String::new(),
                    flaky: false,
                };
                if empty {
                    summary.cases.push(finish(path, &c, &suites, dialect)?);
                } else {
                    case = Some(c);
                }
            }
            b"skipped" => {
                if let Some(c) = case.as_mut() {
                    c.outcome = Some(Outcome::Skipped);
                }
            }
            b"failure" | b"error" | b"flakyFailure" | b"flakyError" => {
                if let Some(c) = case.as_mut()
                    && c.outcome != Some(Outcome::Skipped)
                {
                    if matches!(local.as_ref(), b"flakyFailure" | b"flakyError") {
                        c.flaky = true;
                    } else {
                        c.outcome = Some(Outcome::Failed);
                    }
                    // The first failure's message and text say what went wrong.
                    failure_text = c.message.is_none() && c.text.is_empty() && !empty;
                    if c.message.is_none() {
                        c.message = get("message").as_deref().and_then(first_line);
                    }
                }
            }
            _ => {}
        }
    }
    if !seen_root {
        return Err(IngestError::Xml {
            path: path.to_owned(),
            line: 1,
            message: "no root element".into(),
        });
    }
    if depth != 0 {
        return Err(IngestError::Xml {
            path: path.to_owned(),
            line: line_of(bytes, bytes.len()),
            message: "the document ends inside an element".into(),
        });
    }
    if dialect == Dialect::Generic {
        drop_subtests(&mut summary.cases);
    }
    Ok(summary)
}

/// go test (through gotestsum) reports a subtest `TestTwo/sub` beside its parent `TestTwo`,
/// whose time already holds it. Running the parent runs the subtest, so a plan that held both
/// ran the subtest twice (`-run '^(?:TestTwo)$'` on one shard, `-run '^TestTwo$/^sub$'` on
/// another): a subtest whose parent is in the same report is part of the parent's item.
fn drop_subtests(cases: &mut Vec<JunitCase>) {
    let subtest = |id: &str| {
        id.rsplit_once("::")
            .is_some_and(|(_, name)| name.contains('/'))
    };
    if !cases.iter().any(|c| subtest(c.test.as_str())) {
        return;
    }
    let ids: std::collections::HashSet<String> =
        cases.iter().map(|c| c.test.as_str().to_owned()).collect();
    cases.retain(|c| {
        let id = c.test.as_str();
        let Some((_, name)) = id.rsplit_once("::") else {
            return true;
        };
        let start = id.len() - name.len();
        !name
            .match_indices('/')
            .any(|(at, _)| ids.contains(&id[..start + at]))
    });
}

/// The attributes the reader uses; the others are passed over without being unescaped.
#[derive(Default)]
struct Attrs {
    name: Option<String>,
    classname: Option<String>,
    file: Option<String>,
    time: Option<String>,
    timestamp: Option<String>,
    message: Option<String>,
}

impl Attrs {
    fn get(&self, key: &str) -> Option<String> {
        match key {
            "name" => self.name.clone(),
            "classname" => self.classname.clone(),
            "file" => self.file.clone(),
            "time" => self.time.clone(),
            "timestamp" => self.timestamp.clone(),
            "message" => self.message.clone(),
            _ => None,
        }
    }
}

fn attributes(path: &Path, line: usize, e: &BytesStart<'_>) -> Result<Attrs, IngestError> {
    let mut out = Attrs::default();
    for a in e.attributes() {
        let a = a.map_err(|err| IngestError::Xml {
            path: path.to_owned(),
            line,
            message: err.to_string(),
        })?;
        let slot = match a.key.local_name().as_ref() {
            b"name" => &mut out.name,
            b"classname" => &mut out.classname,
            b"file" => &mut out.file,
            b"time" => &mut out.time,
            b"timestamp" => &mut out.timestamp,
            b"message" => &mut out.message,
            _ => continue,
        };
        let value = a
            .unescape_value()
            .map_err(|err| IngestError::Xml {
                path: path.to_owned(),
                line,
                message: err.to_string(),
            })?
            .into_owned();
        *slot = Some(value);
    }
    Ok(out)
}

fn parse_timestamp(t: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(t)
        .map(|d| d.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|n| n.and_utc())
        })
}

/// `1.5`, `1,5` (a decimal comma) and `1,234.5` (a thousands separator) all read.
fn parse_time(raw: &str) -> Option<f64> {
    let t = raw.trim();
    if !t.contains(',') {
        return t.parse::<f64>().ok();
    }
    let normalized = if t.contains('.') {
        t.replace(',', "")
    } else {
        t.replace(',', ".")
    };
    normalized.parse::<f64>().ok()
}

fn finish(
    path: &Path,
    c: &Case,
    suites: &[Suite],
    dialect: Dialect,
) -> Result<JunitCase, IngestError> {
    let outcome = c.outcome.unwrap_or(Outcome::Passed);
    let millis = match (&c.time, outcome) {
        (_, Outcome::Skipped) | (None, _) => None,
        (Some(raw), _) => {
            let field_err = |message: String| IngestError::Field {
                path: path.to_owned(),
                line: c.line,
                field: format!("testcase `{}` time", c.name),
                message,
            };
            let secs = parse_time(raw)
                .ok_or_else(|| field_err(format!("`{raw}` is not a number of seconds")))?;
            Some(Micros::from_secs_f64(secs).map_err(|e| field_err(e.to_string()))?)
        }
    };
    let suite = suites.last();
    let suite_name = suite.map_or("", |s| s.name.as_str());
    let file_attr = c
        .file
        .as_deref()
        .or_else(|| suite.and_then(|s| s.file.as_deref()))
        .map(normalize_path);
    let name = c.name.trim();
    let classname = c.classname.trim();

    let (test, file, class) = match dialect {
        Dialect::Pytest => {
            let (module, class_parts) = split_python_classname(classname);
            let file = file_attr.unwrap_or_else(|| {
                if module.is_empty() {
                    classname.to_owned()
                } else {
                    format!("{}.py", module.replace('.', "/"))
                }
            });
            let mut test = file.clone();
            let mut class = file.clone();
            for part in &class_parts {
                test.push_str("::");
                test.push_str(part);
                class.push_str("::");
                class.push_str(part);
            }
            test.push_str("::");
            test.push_str(name);
            (test, file, class)
        }
        Dialect::Nextest => {
            let binary = if classname.is_empty() {
                suite_name
            } else {
                classname
            };
            (
                format!("{binary} {name}"),
                binary.to_owned(),
                binary.to_owned(),
            )
        }
        Dialect::Jest => {
            let file = file_attr
                .or_else(|| looks_like_path(suite_name).then(|| normalize_path(suite_name)))
                .unwrap_or_else(|| suite_name.to_owned());
            (format!("{file}::{name}"), file.clone(), file)
        }
        Dialect::Generic => {
            // With a file attribute (rspec, some JVM plugins) a test is named by its file;
            // without, by its class (JUnit, TestNG) or package (gotestsum).
            let class = if classname.is_empty() {
                suite_name.to_owned()
            } else {
                classname.to_owned()
            };
            let test = match &file_attr {
                Some(f) => format!("{f}::{name}"),
                None => format!("{class}::{name}"),
            };
            (test, file_attr.unwrap_or_else(|| class.clone()), class)
        }
    };
    Ok(JunitCase {
        test: ItemId(test),
        file,
        class,
        millis,
        outcome,
        message: failure_line(c.message.as_deref(), &c.text)
            .filter(|_| outcome == Outcome::Failed || c.flaky),
        flaky: c.flaky && outcome == Outcome::Passed,
        line: c.line,
    })
}

/// `tests.unit.test_math.TestDivision.TestInner` → (`tests.unit.test_math`, [`TestDivision`, `TestInner`]):
/// the module ends at the first part that starts with a capital letter, as pytest classes do.
/// `pkg.mod.Class.Inner` → (`pkg.mod`, [`Class`, `Inner`]): the module ends where the first
/// part that starts with a capital begins.
fn split_python_classname(classname: &str) -> (&str, Vec<&str>) {
    let mut start = 0usize;
    for part in classname.split('.') {
        if part.starts_with(|c: char| c.is_ascii_uppercase()) {
            let module = if start == 0 {
                ""
            } else {
                &classname[..start - 1]
            };
            return (module, classname[start..].split('.').collect());
        }
        start += part.len() + 1;
    }
    (classname, Vec::new())
}

fn looks_like_path(s: &str) -> bool {
    s.contains('/') || s.contains('\\') || s.rsplit_once('.').is_some_and(|(_, ext)| ext.len() <= 4)
}

fn normalize_path(p: &str) -> String {
    let p = p.replace('\\', "/");
    p.strip_prefix("./").unwrap_or(&p).to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reader once counted each element's line from byte 0: quadratic in the report's size.
    /// Counting as it goes must still give every testcase, and every error, its own line.
    #[test]
    fn lines_counted_as_the_reader_goes_are_the_lines_of_each_case_and_error() {
        use std::fmt::Write as _;
        let n = 20_000;
        let mut xml = String::from("<testsuites>\n<testsuite name=\"s\">\n");
        for k in 0..n {
            let _ = writeln!(
                xml,
                "  <testcase classname=\"c\" name=\"t{k}\" time=\"0.001\"/>"
            );
        }
        xml.push_str("</testsuite>\n</testsuites>\n");
        let s = read_junit(Path::new("big.xml"), xml.as_bytes()).unwrap();
        assert_eq!(s.cases.len(), n);
        assert!(s.cases.iter().enumerate().all(|(k, c)| c.line == k + 3));
        let broken = xml.replacen("name=\"t19999\"", "name=t19999", 1);
        let e = read_junit(Path::new("big.xml"), broken.as_bytes()).unwrap_err();
        assert!(
            e.to_string().starts_with("big.xml:20002: malformed XML"),
            "{e}"
        );
    }

    /// 10^5 nested suites once took over 30 s; now the nesting is refused at a depth no report has.
    #[test]
    fn deep_nesting_is_refused_with_its_line() {
        let depth = 100_000;
        let xml = format!(
            "{}\n{}",
            "<testsuite>".repeat(depth),
            "</testsuite>".repeat(depth)
        );
        let e = read_junit(Path::new("deep.xml"), xml.as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "deep.xml:1: malformed XML: elements nested more than {MAX_DEPTH} deep; a JUnit report nests suites a few levels at most"
            )
        );
    }

    /// A per-test plan of gotestsum's report held `TestTwo` and `TestTwo/sub`, and ran the
    /// subtest on two shards. (The report's shape is gotestsum's; this test writes it by hand.)
    #[test]
    fn go_subtests_are_part_of_their_parent() {
        let xml = r#"<testsuites><testsuite name="example.com/m/pkg" tests="5">
<testcase classname="example.com/m/pkg" name="TestOne" time="1.0"/>
<testcase classname="example.com/m/pkg" name="TestTwo/a" time="2.0"/>
<testcase classname="example.com/m/pkg" name="TestTwo/a/deep" time="1.0"/>
<testcase classname="example.com/m/pkg" name="TestTwo/b" time="3.0"/>
<testcase classname="example.com/m/pkg" name="TestTwo" time="5.0"/>
<testcase classname="example.com/m/pkg" name="TestLone/x" time="1.5"/>
</testsuite></testsuites>"#;
        let s = read_junit(Path::new("go.xml"), xml.as_bytes()).unwrap();
        let ids: Vec<&str> = s.cases.iter().map(|c| c.test.as_str()).collect();
        assert_eq!(
            ids,
            [
                "example.com/m/pkg::TestOne",
                "example.com/m/pkg::TestTwo",
                "example.com/m/pkg::TestLone/x"
            ],
            "a subtest without its parent in the report stays an item"
        );
    }

    /// A suite `timestamp` plus a huge `time` overflowed chrono and panicked.
    #[test]
    fn a_time_past_the_calendar_is_no_end_and_no_panic() {
        let xml = r#"<testsuite timestamp="2026-11-24T10:00:00" time="1e300"><testcase classname="c" name="t" time="1"/></testsuite>"#;
        let s = read_junit(Path::new("t.xml"), xml.as_bytes()).unwrap();
        assert!(s.timestamp.is_some());
        assert_eq!(s.end, None);
        let xml = r#"<testsuite timestamp="9999-12-31T23:59:59" time="9e15"><testcase classname="c" name="t" time="1"/></testsuite>"#;
        let s = read_junit(Path::new("t.xml"), xml.as_bytes()).unwrap();
        assert_eq!(s.end, None);
    }

    #[test]
    fn a_report_spans_from_its_timestamp_to_timestamp_plus_time() {
        // Reports written by pytest (timestamp on <testsuite>) and nextest (on <testsuites>).
        for (name, bytes, start, end) in [
            (
                "pytest.xml",
                &include_bytes!("../../../tests/fixtures/junit/pytest.xml")[..],
                "2026-11-24T05:19:51.492967Z",
                "2026-11-24T05:19:52.571967Z",
            ),
            (
                "nextest.xml",
                &include_bytes!("../../../tests/fixtures/junit/nextest.xml")[..],
                "2026-11-24T05:19:53.952Z",
                "2026-11-24T05:19:54.281Z",
            ),
        ] {
            let s = read_junit(Path::new(name), bytes).unwrap();
            let parse = |t: &str| DateTime::parse_from_rfc3339(t).unwrap().with_timezone(&Utc);
            assert_eq!(s.timestamp, Some(parse(start)), "{name}");
            assert_eq!(s.end, Some(parse(end)), "{name}");
        }
    }

    #[test]
    fn times_with_commas_and_separators() {
        assert_eq!(parse_time("1,5"), Some(1.5));
        assert_eq!(parse_time("1,234.5"), Some(1234.5));
        assert_eq!(parse_time(" 0.25 "), Some(0.25));
        assert_eq!(parse_time("abc"), None);
    }

    #[test]
    fn python_classnames_split_at_the_class() {
        assert_eq!(
            split_python_classname("tests.io.test_x.TestA.TestB"),
            ("tests.io.test_x", vec!["TestA", "TestB"])
        );
        assert_eq!(
            split_python_classname("tests.test_x"),
            ("tests.test_x", vec![])
        );
    }
}
