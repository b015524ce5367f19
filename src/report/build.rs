//! The whole report of a run: every suite measured and advised, and the trend since an earlier one.

use serde::Serialize;

use super::advice::{Advice, Goals, advise};
use super::format::{REPORT_FORMAT, REPORT_VERSION};
use super::measures::{Rates, RunMeasures, SuiteMeasures, measure, measure_run};
use super::run::SuiteRun;
use super::trend::{self, Earlier, Trend};

/// Everything `report` found: the JSON of `--json`, under stable names.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Report {
    pub format: &'static str,
    pub version: u32,
    /// The workflow run, when its jobs were read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_id: Option<u64>,
    pub run: RunMeasures,
    pub suites: Vec<SuiteMeasures>,
    pub advice: Vec<Advice>,
    pub notes: Vec<String>,
    /// Since `--previous`, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trend: Option<Trend>,
    /// What claiming did, when the run claimed (`report --claims`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub claims: Vec<super::SuiteClaims>,
}

/// Measures and advice for every suite of a run, and the trend since an earlier report.
pub fn build(
    runs: &[SuiteRun],
    rates: &Rates,
    goals: &dyn Fn(&str) -> Goals,
    earlier: Option<&Earlier>,
) -> Report {
    let suites: Vec<SuiteMeasures> = runs.iter().map(|r| measure(r, rates)).collect();
    let mut advice: Vec<Advice> = runs
        .iter()
        .zip(&suites)
        .flat_map(|(r, m)| advise(r, m, &goals(&m.suite)))
        .collect();
    if let Some(e) = earlier {
        advice.extend(trend::trend_advice(e, &suites));
    }
    let mut notes = Vec::new();
    if suites.iter().any(|m| !m.overhead_known) {
        notes.push("Start-up overhead is unknown from JUnit alone: it is counted as zero, so the speedup is that of the test time alone (--run-id reads it from the run's jobs).".to_owned());
    }
    let run = measure_run(&suites);
    Report {
        format: REPORT_FORMAT,
        version: REPORT_VERSION,
        run_id: None,
        trend: earlier.map(|e| trend::trend(e, &run, &suites)),
        run,
        suites,
        advice,
        notes,
        claims: Vec::new(),
    }
}
