//! After the run: what the parallelism bought, measured from the shards' reports against the plan;
//! bottlenecks and advice; a job summary, JSON, and this run's times for the history.

mod advice;
mod markdown;
mod measures;
mod run;

pub use advice::{Advice, Goals, Severity, advise};
pub use markdown::{summary_markdown, summary_text};
pub use measures::{
    ItemOff, ItemTime, Rates, RunMeasures, ShardMeasures, SuiteMeasures, measure, measure_run,
};
pub use run::{Report as JunitReport, ShardRun, SuiteRun, collect};

use serde::Serialize;

pub const REPORT_FORMAT: &str = "gha-planner-report";
pub const REPORT_VERSION: u32 = 1;

/// Everything `report` found: the JSON of `--json`, under stable names.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub format: &'static str,
    pub version: u32,
    pub run: RunMeasures,
    pub suites: Vec<SuiteMeasures>,
    pub advice: Vec<Advice>,
    pub notes: Vec<String>,
}

/// Measures and advice for every suite of a run.
pub fn build(runs: &[SuiteRun], rates: &Rates, goals: &dyn Fn(&str) -> Goals) -> Report {
    let suites: Vec<SuiteMeasures> = runs.iter().map(|r| measure(r, rates)).collect();
    let advice = runs
        .iter()
        .zip(&suites)
        .flat_map(|(r, m)| advise(r, m, &goals(&m.suite)))
        .collect();
    let mut notes = Vec::new();
    if suites.iter().any(|m| !m.overhead_known) {
        notes.push("start-up overhead is unknown from JUnit alone: counted as zero".to_owned());
    }
    Report {
        format: REPORT_FORMAT,
        version: REPORT_VERSION,
        run: measure_run(&suites),
        suites,
        advice,
        notes,
    }
}
