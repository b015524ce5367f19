//! Since the previous report: the headline measures then and now, per run and per suite, and a
//! warning when a suite's wall time grew, with the measure that explains it.

use serde::{Deserialize, Serialize};

use super::advice::{Advice, AdviceKind, Severity};
use super::format::{REPORT_FORMAT, REPORT_VERSION};
use super::measures::{RunMeasures, SuiteMeasures, fmt_s, ratio};
use crate::timings::formats::strip_position;

/// The measures an earlier report is read for. Any report of this format has them; fields added
/// later are optional, so that an older report still reads.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct EarlierMeasures {
    #[serde(default)]
    pub suite: Option<String>,
    pub wall_seconds: f64,
    pub sequential_seconds: f64,
    #[serde(default)]
    pub speedup: Option<f64>,
    #[serde(default)]
    pub utilization: Option<f64>,
    #[serde(default)]
    pub imbalance: Option<f64>,
    #[serde(default)]
    pub runner_minutes: Option<u64>,
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

/// An earlier report, as `--json` wrote it.
#[derive(Clone, Debug, Deserialize)]
pub struct Earlier {
    pub format: String,
    pub version: u32,
    #[serde(default)]
    pub run_id: Option<u64>,
    pub run: EarlierMeasures,
    #[serde(default)]
    pub suites: Vec<EarlierMeasures>,
}

/// Reads an earlier `--json` report; the error names the line and what was expected.
pub fn read_earlier(bytes: &[u8]) -> Result<Earlier, String> {
    let e: Earlier = serde_json::from_slice(bytes).map_err(|e| {
        format!(
            "line {} column {}: not a report this planner wrote: {}",
            e.line(),
            e.column(),
            strip_position(&e.to_string())
        )
    })?;
    if e.format != REPORT_FORMAT || e.version > REPORT_VERSION {
        return Err(format!(
            "report format `{}` version {} is not one this planner reads (`{REPORT_FORMAT}` version {})",
            e.format, e.version, REPORT_VERSION
        ));
    }
    Ok(e)
}

/// One measure, then and now.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Change {
    /// The suite, or none for the run as a whole.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    pub measure: &'static str,
    pub previous: f64,
    pub current: f64,
    /// (current − previous) / previous; none when the previous was zero.
    pub change: Option<f64>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Trend {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_run_id: Option<u64>,
    pub changes: Vec<Change>,
}

/// A suite's wall time that grew by this share, and by this many seconds, is worth a warning.
const GREW: f64 = 0.2;
const GREW_SECONDS: f64 = 30.0;
/// Work that grew by this share explains a slower suite.
const WORK_GREW: f64 = 0.15;

fn change(
    suite: Option<&str>,
    measure: &'static str,
    then: Option<f64>,
    now: Option<f64>,
) -> Option<Change> {
    let (previous, current) = (then?, now?);
    Some(Change {
        suite: suite.map(str::to_owned),
        measure,
        previous,
        current,
        change: ratio(current - previous, previous),
    })
}

fn changes(suite: Option<&str>, then: &EarlierMeasures, now: &EarlierMeasures) -> Vec<Change> {
    [
        change(
            suite,
            "wall_seconds",
            Some(then.wall_seconds),
            Some(now.wall_seconds),
        ),
        change(
            suite,
            "sequential_seconds",
            Some(then.sequential_seconds),
            Some(now.sequential_seconds),
        ),
        change(suite, "speedup", then.speedup, now.speedup),
        change(suite, "utilization", then.utilization, now.utilization),
        change(suite, "imbalance", then.imbalance, now.imbalance),
        change(
            suite,
            "runner_minutes",
            then.runner_minutes.map(|m| m as f64),
            now.runner_minutes.map(|m| m as f64),
        ),
        change(suite, "cost_usd", then.cost_usd, now.cost_usd),
    ]
    .into_iter()
    .flatten()
    .collect()
}

fn of_run(r: &RunMeasures) -> EarlierMeasures {
    EarlierMeasures {
        suite: None,
        wall_seconds: r.wall_seconds,
        sequential_seconds: r.sequential_seconds,
        speedup: r.speedup,
        utilization: None,
        imbalance: None,
        runner_minutes: Some(r.runner_minutes),
        cost_usd: Some(r.cost_usd),
    }
}

fn of_suite(m: &SuiteMeasures) -> EarlierMeasures {
    EarlierMeasures {
        suite: Some(m.suite.clone()),
        wall_seconds: m.wall_seconds,
        sequential_seconds: m.sequential_seconds,
        speedup: m.speedup,
        utilization: m.utilization,
        imbalance: m.imbalance,
        runner_minutes: Some(m.runner_minutes),
        cost_usd: Some(m.cost_usd),
    }
}

/// The changes since `earlier`: the run's, then each suite's that both reports have.
pub fn trend(earlier: &Earlier, run: &RunMeasures, suites: &[SuiteMeasures]) -> Trend {
    let mut out = changes(None, &earlier.run, &of_run(run));
    for m in suites {
        if let Some(then) = earlier
            .suites
            .iter()
            .find(|e| e.suite.as_deref() == Some(&m.suite))
        {
            out.extend(changes(Some(&m.suite), then, &of_suite(m)));
        }
    }
    Trend {
        previous_run_id: earlier.run_id,
        changes: out,
    }
}

/// A warning for each suite whose wall time grew, saying which measure moved with it.
pub fn trend_advice(earlier: &Earlier, suites: &[SuiteMeasures]) -> Vec<Advice> {
    let mut out = Vec::new();
    for m in suites {
        let Some(then) = earlier
            .suites
            .iter()
            .find(|e| e.suite.as_deref() == Some(&m.suite))
        else {
            continue;
        };
        let grew = m.wall_seconds - then.wall_seconds;
        if then.wall_seconds <= 0.0 || grew < GREW_SECONDS || grew < GREW * then.wall_seconds {
            continue;
        }
        let work_then = then.sequential_seconds;
        let why = if m.sequential_seconds > work_then * (1.0 + WORK_GREW) {
            format!(
                "the tests themselves take longer: sequential time {} → {}",
                fmt_s(work_then),
                fmt_s(m.sequential_seconds)
            )
        } else if let (Some(a), Some(b)) = (then.imbalance, m.imbalance)
            && b > a
        {
            format!(
                "the work is about the same ({} → {}) but the shards are less even (imbalance {a:.2}× → {b:.2}×): the history is stale for the tests that changed; let this run's times into it (--timings-out)",
                fmt_s(work_then),
                fmt_s(m.sequential_seconds)
            )
        } else {
            format!(
                "the work ({} → {}) and the balance are about the same: start-up or the runners were slower",
                fmt_s(work_then),
                fmt_s(m.sequential_seconds)
            )
        };
        out.push(Advice {
            suite: m.suite.clone(),
            kind: AdviceKind::Trend,
            severity: Severity::Warning,
            message: format!(
                "wall time grew from {} to {} (+{:.0}%) since the previous report; {why}",
                fmt_s(then.wall_seconds),
                fmt_s(m.wall_seconds),
                grew / then.wall_seconds * 100.0
            ),
        });
    }
    out
}
