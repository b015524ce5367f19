//! The last word on each test over the reports of one run: a shard's first attempt and its
//! re-runs, in the order they ran (by their `timestamp`, then by path). A test's final outcome is
//! the one of the latest report that holds it, so a test that passed in attempt 1 and was not
//! run again stays passed, and every test has its outcome from exactly one report.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Granularity, JunitSummary, Outcome};
use crate::timings::ItemId;

/// One test over the reports.
#[derive(Clone, Debug, PartialEq)]
pub struct TestOutcome<'a> {
    /// In the latest report that holds it.
    pub outcome: Outcome,
    /// The first line of its latest failure's message.
    pub message: Option<&'a str>,
    /// How many times it failed and passed: per report, and per retry within one.
    pub failures: u32,
    pub passes: u32,
    pub file: &'a str,
    pub class: &'a str,
    /// The latest report that holds it (an index into the reports given).
    pub report: usize,
}

impl TestOutcome<'_> {
    /// It failed, and passed too: the same code, different outcomes.
    pub fn flaky(&self) -> bool {
        self.failures > 0 && self.passes > 0
    }
}

/// The reports' indices in the order they ran: by `timestamp` (none first), then by path.
pub fn run_order(reports: &[(&Path, &JunitSummary)]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..reports.len()).collect();
    order.sort_by(|&a, &b| {
        (reports[a].1.timestamp, reports[a].0).cmp(&(reports[b].1.timestamp, reports[b].0))
    });
    order
}

/// Each test's outcome over `reports`, the latest report's word final. Skipped tests count as
/// neither failing nor passing, and a later skip is their final outcome.
pub fn final_outcomes<'a>(
    reports: &[(&Path, &'a JunitSummary)],
) -> BTreeMap<&'a ItemId, TestOutcome<'a>> {
    let mut out: BTreeMap<&ItemId, TestOutcome> = BTreeMap::new();
    for i in run_order(reports) {
        // A name twice in one report (parameters that print alike) is one test: failed if any
        // of it failed.
        let mut this: BTreeMap<&ItemId, (Outcome, Option<&str>, bool)> = BTreeMap::new();
        for case in &reports[i].1.cases {
            let slot = this
                .entry(&case.test)
                .or_insert((case.outcome, None, false));
            if case.outcome == Outcome::Failed || slot.0 == Outcome::Skipped {
                slot.0 = case.outcome;
            }
            if slot.1.is_none() {
                slot.1 = case.message.as_deref();
            }
            slot.2 |= case.flaky;
            let t = out.entry(&case.test).or_insert_with(|| TestOutcome {
                outcome: case.outcome,
                message: None,
                failures: 0,
                passes: 0,
                file: &case.file,
                class: &case.class,
                report: i,
            });
            t.file = &case.file;
            t.class = &case.class;
        }
        for (id, (outcome, message, retried)) in this {
            let Some(t) = out.get_mut(id) else { continue };
            t.outcome = outcome;
            t.report = i;
            match outcome {
                Outcome::Failed => t.failures += 1,
                Outcome::Passed => t.passes += 1,
                Outcome::Skipped => {}
            }
            if retried {
                // Failed, then passed on a retry of its runner.
                t.failures += 1;
            }
            if message.is_some() {
                t.message = message;
            }
        }
    }
    out
}

/// The items at `by` that a re-run need not run again: every test of theirs in the reports has a
/// final outcome, and none is a failure.
pub fn settled_items(
    outcomes: &BTreeMap<&ItemId, TestOutcome<'_>>,
    by: Granularity,
) -> std::collections::BTreeSet<String> {
    let mut settled: BTreeMap<&str, bool> = BTreeMap::new();
    for (id, t) in outcomes {
        let ok = settled
            .entry(by.pick(id.as_str(), t.file, t.class))
            .or_insert(true);
        *ok &= t.outcome != Outcome::Failed;
    }
    settled
        .into_iter()
        .filter(|(_, ok)| *ok)
        .map(|(item, _)| item.to_owned())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timings::formats::read_junit;
    use std::fmt::Write as _;

    fn report(stamp: &str, cases: &[(&str, &str)]) -> JunitSummary {
        let mut xml =
            format!("<testsuites><testsuite name=\"s\" timestamp=\"{stamp}\" time=\"1\">");
        for (name, outcome) in cases {
            let _ = write!(
                xml,
                "<testcase classname=\"tests.test_a\" name=\"{name}\" time=\"0.1\">{outcome}</testcase>"
            );
        }
        xml.push_str("</testsuite></testsuites>");
        read_junit(Path::new("r.xml"), xml.as_bytes()).expect("reads")
    }

    /// The later attempt's word is final, whichever order the reports come in; a test the
    /// later attempt did not run keeps the earlier outcome; failed-then-passed is flaky.
    #[test]
    fn the_latest_attempt_decides_and_a_flip_is_flaky() {
        let first = report(
            "2026-12-01T10:00:00",
            &[
                ("test_flaky", "<failure message=\"assert 1 == 2\nmore\"/>"),
                ("test_ok", ""),
                ("test_broken", "<error>Traceback\n  boom</error>"),
            ],
        );
        let second = report(
            "2026-12-01T10:30:00",
            &[
                ("test_flaky", ""),
                ("test_broken", "<failure message=\"still\"/>"),
            ],
        );
        let (p1, p2) = (Path::new("a2/junit.xml"), Path::new("a1/junit.xml"));
        let all = final_outcomes(&[(p2, &second), (p1, &first)]);
        let get = |name: &str| {
            all.iter()
                .find(|(id, _)| id.as_str().ends_with(name))
                .map(|(_, t)| t.clone())
                .expect("a test")
        };
        assert_eq!(get("test_flaky").outcome, Outcome::Passed);
        assert!(get("test_flaky").flaky());
        assert_eq!(get("test_flaky").message, Some("assert 1 == 2"));
        assert_eq!(get("test_ok").outcome, Outcome::Passed);
        assert_eq!(get("test_ok").report, 1);
        assert_eq!(get("test_broken").outcome, Outcome::Failed);
        assert!(!get("test_broken").flaky());
        assert_eq!(get("test_broken").message, Some("still"));
        let settled = settled_items(&all, Granularity::Test);
        assert!(settled.iter().any(|i| i.ends_with("test_flaky")));
        assert!(!settled.iter().any(|i| i.ends_with("test_broken")));
        // By file: one test still failing unsettles its file.
        assert!(settled_items(&all, Granularity::File).is_empty());
        // The first report's own failure text, when it has no message attribute.
        let only = final_outcomes(&[(p1, &first)]);
        let broken = only
            .iter()
            .find(|(id, _)| id.as_str().ends_with("test_broken"))
            .expect("broken");
        assert_eq!(broken.1.message, Some("Traceback"));
    }

    /// A test that passed on its runner's own retry (`<flakyFailure>`) is flaky in one report.
    #[test]
    fn a_retry_that_passed_is_flaky() {
        let one = report(
            "2026-12-01T10:00:00",
            &[(
                "test_retried",
                "<flakyFailure message=\"timed out\" type=\"test failure\"/>",
            )],
        );
        let all = final_outcomes(&[(Path::new("r.xml"), &one)]);
        let t = all.values().next().expect("one test");
        assert_eq!(t.outcome, Outcome::Passed);
        assert!(t.flaky());
        assert_eq!(t.message, Some("timed out"));
    }
}
