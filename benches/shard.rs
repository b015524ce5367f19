//! Benchmark and quality tables over real timing data.
//!
//! ```text
//! cargo bench --bench shard -- ../shared/data [--check]
//! ```
//!
//! 1. Balance: every timing file under `DATA/timings` at N = 2 … 64 — `planner shard` for
//!    K = 1..N is an exact cover, and makespan ÷ bound for plain longest-first and the planner.
//! 2. Unseen refreshes: on each series under `DATA/series`, a plan from the last five refreshes up
//!    to t (merged as `timings merge` does) with the items of refresh u, scored with u's times, u
//!    the next refresh or the first about 26 or 52 weeks later; against pytest-split's own
//!    `least_duration` (benches/pytest_split_groups.py) on refresh t's file. Defaults are chosen
//!    on pairs scored on each series' first half; the second half is the result. Then how often
//!    the real busiest shard falls in the plan's p10–p90 band, and the next refresh replayed with
//!    the tail claimed at run time (`plan::claim`) against the static plan.
//! 3. Estimators: the same scores on the first halves, for each statistic and window, and each
//!    prior weight of unseen items' estimates.
//! 4. Speed: `planner shard` and `plan` as whole processes, in turns, on the 15,040-item playwright
//!    file, a synthetic 100,000-item store and a million-item map; beside shard-tests' `plan` when
//!    `PLANNER_BENCH_SHARD_TESTS` names its binary.
//! 5. JUnit reading: `planner timings merge` of a 100,000-testcase report (and, without
//!    `--quick`, a 100 MB one) as a whole process, in MB/s.
//!
//! With `--check`, exits 1 if a bar is missed (exact cover, never worse than longest-first,
//! geometric mean ≤ 1.0005 and worst ≤ 1.01, next refresh on the second halves 0.5% below
//! pytest-split, at most 20% of next refreshes above the band's p90, speed). pytest-split runs in
//! tests/tools/.venv (or `PLANNER_BENCH_PYTHON`).

#![expect(
    clippy::too_many_lines,
    clippy::similar_names,
    reason = "a report script: long, linear, read top to bottom"
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Parser;
use gha_planner::cli::{Cli, Reporter, run};
use gha_planner::plan::{
    Assignment, ClaimShape, DRIFT_PER_YEAR, bound, claim_plan_from, drawn, lpt, partition, replay,
    replay_static, wall_band,
};
use gha_planner::timings::formats::{Ingested, ReadOptions, Unit, read_input};
use gha_planner::timings::{
    EstimateSource, Estimates, Estimator, ItemId, Micros, Observed, Statistic, Store,
};

struct Source {
    label: &'static str,
    /// The input argument, relative to DATA/timings.
    arg: &'static str,
    extra: &'static [&'static str],
}

const SOURCES: &[Source] = &[
    Source {
        label: "conda Linux",
        arg: "conda/durations_Linux.json",
        extra: &[],
    },
    Source {
        label: "conda Windows",
        arg: "conda/durations_Windows.json",
        extra: &[],
    },
    Source {
        label: "conda macOS",
        arg: "conda/durations_macOS.json",
        extra: &[],
    },
    Source {
        label: "onegov-cloud",
        arg: "onegov-cloud/test_durations_2025-08.json",
        extra: &[],
    },
    Source {
        label: "pgmpy",
        arg: "pgmpy/test_durations.json",
        extra: &[],
    },
    Source {
        label: "identity-idp rspec",
        arg: "identity-idp/knapsack_rspec_report.json",
        extra: &[],
    },
    Source {
        label: "sequencescape rspec",
        arg: "sequencescape/knapsack_rspec_report.json",
        extra: &[],
    },
    Source {
        label: "sequencescape cucumber",
        arg: "sequencescape/knapsack_cucumber_report.json",
        extra: &[],
    },
    Source {
        label: "inspec minitest",
        arg: "inspec/knapsack_minitest_report.json",
        extra: &[],
    },
    Source {
        label: "playwright (ms)",
        arg: "playwright/durations_a8756c7.json",
        extra: &["--unit", "ms"],
    },
    Source {
        label: "pytorch default/default",
        arg: "pytorch/test-times.json#default/default",
        extra: &[],
    },
    Source {
        label: "jest JUnit (tests)",
        arg: "junit/jest-test-results.xml",
        extra: &[],
    },
    Source {
        label: "pulsar JUnit (tests)",
        arg: "junit/pulsar-test-report.xml",
        extra: &[],
    },
];

const SIZES: &[usize] = &[2, 4, 8, 16, 32, 64];

fn planner(args: &[&str]) -> Result<Vec<u8>, String> {
    let mut argv = vec!["planner", "--quiet"];
    argv.extend_from_slice(args);
    let cli = Cli::try_parse_from(&argv).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    let mut reporter = Reporter::memory();
    run(cli, &mut out, &mut reporter).map_err(|e| e.to_string())?;
    Ok(out)
}

fn read_map(arg: &str, unit: Unit) -> BTreeMap<ItemId, Micros> {
    let opts = ReadOptions {
        unit,
        ..ReadOptions::default()
    };
    match read_input(arg, &opts) {
        Ok(Ingested::Durations { durations, .. }) => durations,
        Ok(Ingested::Store(_)) => panic!("{arg}: expected timings, got a store"),
        Err(e) => panic!("{arg}: {e}"),
    }
}

fn geomean(v: &[f64]) -> f64 {
    (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp()
}

struct Failures(Vec<String>);

fn balance(data: &Path, fails: &mut Failures) {
    println!("## 1. Balance: makespan ÷ bound, bound = max(longest item, total ÷ N)\n");
    print!("| timing file | items |");
    for n in SIZES {
        print!(" N={n} LPT | N={n} planner |");
    }
    println!();
    print!("|---|---:|");
    for _ in SIZES {
        print!("---:|---:|");
    }
    println!();
    let (mut all_lpt, mut all_planner) = (Vec::new(), Vec::new());
    let mut worst = (0.0f64, String::new());
    for s in SOURCES {
        let arg = data.join("timings").join(s.arg).display().to_string();
        let unit = if s.extra.contains(&"ms") {
            Unit::Millis
        } else {
            Unit::Seconds
        };
        let map = read_map(&arg, unit);
        let weights: Vec<Micros> = map.values().copied().collect();
        print!("| {} | {} |", s.label, map.len());
        for &n in SIZES {
            let b = bound(&weights, n).0 as f64;
            let plain = lpt(&weights, n).makespan().0 as f64 / b;
            // The real command, once per shard: an exact cover, and the loads it implies.
            let total = n.to_string();
            let mut seen: BTreeMap<String, usize> = BTreeMap::new();
            let mut makespan = 0u64;
            for k in 1..=n {
                let kk = k.to_string();
                // JSON, because real test names hold line breaks.
                let mut args = vec![
                    "shard",
                    "--index",
                    &kk,
                    "--total",
                    &total,
                    "--format",
                    "json",
                    "--timings",
                    &arg,
                ];
                args.extend_from_slice(s.extra);
                let out = planner(&args).unwrap_or_else(|e| panic!("{}: {e}", s.label));
                let shard: serde_json::Value =
                    serde_json::from_slice(&out).unwrap_or_else(|e| panic!("{}: {e}", s.label));
                let mut load = 0u64;
                for item in shard["items"].as_array().into_iter().flatten() {
                    let id = item.as_str().unwrap_or_default();
                    *seen.entry(id.to_owned()).or_default() += 1;
                    load += map.get(&ItemId::from(id)).map_or(0, |m| m.0);
                }
                makespan = makespan.max(load);
            }
            let cover = seen.len() == map.len() && seen.values().all(|&c| c == 1);
            if !cover {
                fails
                    .0
                    .push(format!("{} N={n}: not an exact cover", s.label));
            }
            let ratio = makespan as f64 / b;
            if ratio > plain + 1e-12 {
                fails.0.push(format!(
                    "{} N={n}: {ratio:.5} is worse than longest-first {plain:.5}",
                    s.label
                ));
            }
            if ratio > worst.0 {
                worst = (ratio, format!("{} N={n}", s.label));
            }
            all_lpt.push(plain);
            all_planner.push(ratio);
            print!(
                " {plain:.4} | {ratio:.4}{} |",
                if cover { "" } else { " ✗cover" }
            );
        }
        println!();
    }
    let (gl, gp) = (geomean(&all_lpt), geomean(&all_planner));
    let wl = all_lpt.iter().copied().fold(0.0, f64::max);
    println!(
        "\ngeometric mean: longest-first {gl:.5}, planner {gp:.5}; worst: longest-first {wl:.5}, planner {:.5} ({})\n",
        worst.0, worst.1
    );
    if gp > 1.0005 {
        fails.0.push(format!("geometric mean {gp:.5} > 1.0005"));
    }
    if worst.0 > 1.01 {
        fails
            .0
            .push(format!("worst case {:.4} > 1.01 ({})", worst.0, worst.1));
    }
}

struct Series {
    name: String,
    path: PathBuf,
    snapshots: Vec<(chrono::NaiveDate, BTreeMap<ItemId, Micros>)>,
}

fn read_series(path: &Path) -> Series {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let snapshots = v["snapshots"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    let durations = s["durations"]
                        .as_object()
                        .map(|m| {
                            m.iter()
                                .filter_map(|(k, v)| {
                                    Some((
                                        ItemId::from(k.as_str()),
                                        Micros::from_secs_f64(v.as_f64()?).ok()?,
                                    ))
                                })
                                .collect()
                        })
                        .unwrap_or_default();
                    let date = s["date"].as_str().unwrap_or_default();
                    let date = chrono::NaiveDate::parse_from_str(date, "%Y-%m-%d")
                        .unwrap_or_else(|e| panic!("{}: date {date:?}: {e}", path.display()));
                    (date, durations)
                })
                .collect()
        })
        .unwrap_or_default();
    Series {
        name: v["series"].as_str().unwrap_or("?").to_owned(),
        path: path.to_owned(),
        snapshots,
    }
}

fn score(groups: &[usize], items: &[ItemId], actual: &BTreeMap<ItemId, Micros>, n: usize) -> f64 {
    let mut loads = vec![0u64; n];
    let weights: Vec<Micros> = items.iter().map(|i| actual[i]).collect();
    for (i, &g) in groups.iter().enumerate() {
        loads[g] += weights[i].0;
    }
    let makespan = loads.into_iter().max().unwrap_or(0);
    makespan as f64 / bound(&weights, n).0 as f64
}

const SERIES_N: &[usize] = &[4, 16, 64];

/// How a plan made at one refresh is scored: on the next refresh, or on the first refresh about
/// 26 or 52 weeks later (new tests, removed tests and a year of drift included).
#[derive(Clone, Copy, PartialEq)]
enum Protocol {
    Next,
    Stale(i64),
}

impl Protocol {
    const ALL: [Protocol; 3] = [Protocol::Next, Protocol::Stale(26), Protocol::Stale(52)];

    fn label(self) -> String {
        match self {
            Protocol::Next => "next refresh".to_owned(),
            Protocol::Stale(w) => format!("{w} weeks later"),
        }
    }

    /// (plan refresh, scored refresh) pairs of the series.
    fn pairs(self, s: &Series) -> Vec<(usize, usize)> {
        let len = s.snapshots.len();
        match self {
            Protocol::Next => (0..len.saturating_sub(1)).map(|t| (t, t + 1)).collect(),
            Protocol::Stale(weeks) => (0..len)
                .filter_map(|t| {
                    let due = s.snapshots[t].0 + chrono::Duration::weeks(weeks);
                    let u = (t + 1..len).find(|&u| s.snapshots[u].0 >= due)?;
                    // "About" that long: not more than six weeks past it.
                    (s.snapshots[u].0 <= due + chrono::Duration::weeks(6)).then_some((t, u))
                })
                .collect(),
        }
    }
}

/// Each series is cut in two by refresh: what the estimator's statistic, window and priors were
/// chosen on (pairs scored on the first half) and what is reported (scored on the second half).
fn tuned_on(s: &Series, u: usize) -> bool {
    u < s.snapshots.len() / 2
}

/// The planner's history at refresh t: the last five refreshes up to t, merged as
/// `timings merge` does.
fn history_at(s: &Series, t: usize) -> BTreeMap<ItemId, Vec<gha_planner::timings::Sample>> {
    let mut store = Store::default();
    for (date, durations) in &s.snapshots[t.saturating_sub(4)..=t] {
        store.merge(&Observed {
            source: date.to_string(),
            kind: "flat-map".into(),
            runner_class: "default".into(),
            at: None,
            durations: durations.clone(),
            ..Default::default()
        });
    }
    store.classes.remove("default").unwrap_or_default()
}

/// Planner groups for `items` (sorted) from a history; with `reveal`, the items without history
/// are planned at their real times instead (what the unseen items alone cost the plan).
fn planner_groups(
    history: &BTreeMap<ItemId, Vec<gha_planner::timings::Sample>>,
    items: &[ItemId],
    n: usize,
    est: &Estimator,
    reveal: Option<&BTreeMap<ItemId, Micros>>,
) -> Vec<usize> {
    let estimates = est.estimate(history, Some(items));
    let weights: Vec<Micros> = estimates
        .items
        .iter()
        .map(|(id, &(m, source))| match reveal {
            Some(real) if source != EstimateSource::History => real[id],
            _ => m,
        })
        .collect();
    let a = partition(&weights, n);
    // estimates are in id order; items are too.
    a.shard_of.iter().map(|&s| s as usize).collect()
}

/// pytest-split's own `least_duration` groups for each (t, u, n), in one Python process.
fn pytest_split_groups(
    python: &Path,
    s: &Series,
    problems: &[(usize, usize, usize)],
) -> Result<Vec<Vec<usize>>, String> {
    use std::io::Write as _;
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/pytest_split_groups.py");
    let mut child = std::process::Command::new(python)
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{}: {e}", python.display()))?;
    let request = serde_json::json!({ "series": s.path, "problems": problems });
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(request.to_string().as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("{} exited with {}", script.display(), out.status));
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

/// The series under DATA/series, and every (t, u) pair of each protocol with its refresh's items.
fn load_series(data: &Path) -> Vec<Series> {
    let mut dir: Vec<PathBuf> = std::fs::read_dir(data.join("series"))
        .map(|d| d.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    dir.sort();
    dir.iter().map(|p| read_series(p)).collect()
}

/// Scores of one estimator on every (protocol, pair, n) of a series, in the order of `cases`.
fn planner_scores(
    s: &Series,
    cases: &[(Protocol, usize, usize, usize)],
    est: &Estimator,
    reveal_unseen: bool,
) -> Vec<f64> {
    let mut histories: BTreeMap<usize, _> = BTreeMap::new();
    cases
        .iter()
        .map(|&(_, t, u, n)| {
            let history = histories.entry(t).or_insert_with(|| history_at(s, t));
            let next = &s.snapshots[u].1;
            let items: Vec<ItemId> = next.keys().cloned().collect();
            let reveal = reveal_unseen.then_some(next);
            score(
                &planner_groups(history, &items, n, est, reveal),
                &items,
                next,
                n,
            )
        })
        .collect()
}

fn series_cases(s: &Series) -> Vec<(Protocol, usize, usize, usize)> {
    let mut cases = Vec::new();
    for p in Protocol::ALL {
        for (t, u) in p.pairs(s) {
            for &n in SERIES_N {
                cases.push((p, t, u, n));
            }
        }
    }
    cases
}

fn next_refresh(data: &Path, python: &Path, fails: &mut Failures, estimators: bool) {
    let series = load_series(data);
    println!(
        "## 2. Plans scored on refreshes they did not see: planner against pytest-split's own code\n"
    );
    println!(
        "Geometric mean of makespan ÷ bound over N = 4, 16, 64 and every pair. pytest-split \
         0.11.0 `least_duration` splits refresh u's tests with refresh t's file; the planner \
         plans from the last five refreshes up to t. Each series is cut in two: its defaults were \
         chosen on pairs scored on the first half (table 3), the second half is the result. The \
         target is planner ≤ 0.99 × pytest-split on every second half; `--check` enforces 0.995 \
         on the next refresh, where the target is not met on every series yet, and prints the \
         rest. The last column plans the tests without history at their real times: what is \
         left to an estimate of new tests, the rest being drift of the old ones.\n"
    );
    println!(
        "| series | scored on | half | pairs | pytest-split least_duration | planner | planner ÷ pytest-split | target 0.99 | planner, new tests' real times |"
    );
    println!("|---|---|---|---:|---:|---:|---:|---|---:|");
    for s in &series {
        let cases = series_cases(s);
        let problems: Vec<(usize, usize, usize)> =
            cases.iter().map(|&(_, t, u, n)| (t, u, n)).collect();
        let base: Vec<f64> = match pytest_split_groups(python, s, &problems) {
            Ok(groups) => cases
                .iter()
                .zip(groups)
                .map(|(&(_, _, u, n), g)| {
                    let next = &s.snapshots[u].1;
                    let items: Vec<ItemId> = next.keys().cloned().collect();
                    score(&g, &items, next, n)
                })
                .collect(),
            Err(e) => {
                fails
                    .0
                    .push(format!("{}: pytest-split did not run: {e}", s.name));
                continue;
            }
        };
        let ours = planner_scores(s, &cases, &Estimator::default(), false);
        let revealed = planner_scores(s, &cases, &Estimator::default(), true);
        for p in Protocol::ALL {
            for tuned in [true, false] {
                let pick = |v: &[f64]| -> Vec<f64> {
                    cases
                        .iter()
                        .zip(v)
                        .filter(|((q, _, u, _), _)| *q == p && tuned_on(s, *u) == tuned)
                        .map(|(_, &x)| x)
                        .collect()
                };
                let (b, o) = (pick(&base), pick(&ours));
                if b.is_empty() {
                    continue;
                }
                let (gb, go) = (geomean(&b), geomean(&o));
                let gr = geomean(&pick(&revealed));
                let half = if tuned {
                    "first (tuned on)"
                } else {
                    "**second (result)**"
                };
                let verdict = match (tuned, go <= 0.99 * gb) {
                    (true, _) => "",
                    (false, true) => "met",
                    (false, false) => "missed",
                };
                println!(
                    "| {} | {} | {half} | {} | {gb:.4} | {go:.4} | {:.4} | {verdict} | {gr:.4} |",
                    s.name,
                    p.label(),
                    b.len() / SERIES_N.len(),
                    go / gb
                );
                if !tuned && p == Protocol::Next && go > 0.995 * gb {
                    fails.0.push(format!(
                        "{} {}: planner {go:.4} is not 0.5% below pytest-split's {gb:.4}",
                        s.name,
                        p.label()
                    ));
                }
            }
        }
    }
    println!();
    band_table(&series, fails);
    claim_table(&series);
    if estimators {
        estimator_table(&series);
    }
}

/// Refresh u's items planned into n shards from a history, with u's real times.
struct Planned {
    estimates: Estimates,
    weights: Vec<Micros>,
    a: Assignment,
    actual: Vec<Micros>,
}

fn planned(
    history: &BTreeMap<ItemId, Vec<gha_planner::timings::Sample>>,
    next: &BTreeMap<ItemId, Micros>,
    n: usize,
    est: &Estimator,
) -> Planned {
    let items: Vec<ItemId> = next.keys().cloned().collect();
    let estimates = est.estimate(history, Some(&items));
    let weights: Vec<Micros> = estimates.durations().map(|(_, m)| m).collect();
    let a = partition(&weights, n);
    let actual = items.iter().map(|i| next[i]).collect();
    Planned {
        estimates,
        weights,
        a,
        actual,
    }
}

/// A series, whether its first half, N: the static plan's scores and each claim shape's.
type ClaimRow = (String, bool, usize, Vec<f64>, Vec<Vec<f64>>);

/// The next refresh replayed with the tail claimed at run time (`plan::claim`), against the
/// static plan on the same estimates: each chunk pays 0.4 s for its claim and 1 s of start-up.
/// The tail's share and the chunks' floor are chosen on the first halves. The targets (below
/// static everywhere, conda ≤ 1.03) are printed, not enforced: conda's is not met yet.
fn claim_table(series: &[Series]) {
    let per_chunk = Micros::ms(1_400);
    let mut shapes: Vec<ClaimShape> = Vec::new();
    for tail_share in [0.1, 0.2, 0.3, 0.5] {
        for max_cost_share in [0.05, 0.1, 0.25, 0.5] {
            for alone_above in [1.0, 0.5, 0.3] {
                shapes.push(ClaimShape {
                    tail_share,
                    per_chunk,
                    max_cost_share,
                    alone_above,
                    ..ClaimShape::default()
                });
            }
        }
    }
    let est = Estimator::default();
    // (series, tuned, n) → static scores, and claim scores per shape.
    let mut rows: Vec<ClaimRow> = Vec::new();
    for s in series {
        let mut histories: BTreeMap<usize, _> = BTreeMap::new();
        for tuned in [true, false] {
            for &n in SERIES_N {
                let (mut fixed, mut claimed) = (Vec::new(), vec![Vec::new(); shapes.len()]);
                for (t, u) in Protocol::Next.pairs(s) {
                    if tuned_on(s, u) != tuned {
                        continue;
                    }
                    let history = histories.entry(t).or_insert_with(|| history_at(s, t));
                    let p = planned(history, &s.snapshots[u].1, n, &est);
                    let unseen: Vec<bool> = p
                        .estimates
                        .items
                        .values()
                        .map(|(_, source)| *source != EstimateSource::History)
                        .collect();
                    let b = bound(&p.actual, n).0 as f64;
                    fixed.push(replay_static(&p.a, &p.actual, &[]).0 as f64 / b);
                    for (k, &shape) in shapes.iter().enumerate() {
                        let plan = claim_plan_from(&p.weights, &p.a, shape, &unseen);
                        claimed[k].push(replay(&plan, &p.actual, per_chunk, &[]).0 as f64 / b);
                    }
                }
                if !fixed.is_empty() {
                    rows.push((s.name.clone(), tuned, n, fixed, claimed));
                }
            }
        }
    }
    let first_half = |k: usize| {
        let v: Vec<f64> = rows
            .iter()
            .filter(|r| r.1)
            .flat_map(|r| r.4[k].iter().copied())
            .collect();
        geomean(&v)
    };
    let pick = (0..shapes.len())
        .min_by(|&x, &y| first_half(x).total_cmp(&first_half(y)))
        .unwrap_or(0);
    let chosen = shapes[pick];
    println!(
        "Claiming the tail, replayed on the next refresh (0.4 s a claim + 1 s start-up a chunk): geometric mean of makespan ÷ bound. Chosen on the first halves: tail {:.0}% of the work, no chunk under {:.0}× its cost, an item alone in its head from {:.0}% of the mean shard ({:.4} there, of {} shapes). Targets, printed and not enforced: below static on every series and N, conda ≤ 1.03.\n",
        chosen.tail_share * 100.0,
        1.0 / chosen.max_cost_share,
        chosen.alone_above * 100.0,
        first_half(pick),
        shapes.len()
    );
    println!("| series | half | N | static | claiming | target |");
    println!("|---|---|---:|---:|---:|---|");
    let mut conda_report = Vec::new();
    for (name, tuned, n, fixed, claimed) in &rows {
        let (gs, gc) = (geomean(fixed), geomean(&claimed[pick]));
        let verdict = match (tuned, gc < gs) {
            (true, _) => "",
            (false, true) => "met",
            (false, false) => "missed",
        };
        println!(
            "| {name} | {} | {n} | {gs:.4} | {gc:.4} | {verdict} |",
            if *tuned { "first" } else { "second" }
        );
        if !tuned && name.starts_with("conda") {
            conda_report.extend(claimed[pick].iter().copied());
        }
    }
    if !conda_report.is_empty() {
        let g = geomean(&conda_report);
        let verdict = if g <= 1.03 { "met" } else { "missed" };
        println!("\nconda, second half, claiming: {g:.4} of the bound (target 1.03): {verdict}\n");
    }
}

/// One scored case of the band, planned once: what the band is drawn from, and the real busiest
/// shard.
struct BandCase {
    series: String,
    protocol: Protocol,
    tuned: bool,
    items: Vec<gha_planner::plan::Drawn>,
    shards: usize,
    spread: Option<f64>,
    /// From the history's newest run (refresh t) to the run (refresh u).
    age_days: Option<u32>,
    actual: Micros,
}

impl BandCase {
    /// Whether the real busiest shard is in the band drawn with `drift_per_year`, and above it.
    fn lands(&self, drift_per_year: f64) -> (bool, bool) {
        let band = wall_band(
            &self.items,
            &vec![Micros::ZERO; self.shards],
            Micros::ZERO,
            self.shards,
            self.spread,
            self.age_days,
            drift_per_year,
        );
        (
            band.p10_ms <= self.actual && self.actual <= band.p90_ms,
            self.actual > band.p90_ms,
        )
    }
}

/// Every pair of every series, planned.
fn band_cases(series: &[Series]) -> Vec<BandCase> {
    let est = Estimator::default();
    let mut out = Vec::new();
    for s in series {
        let mut histories: BTreeMap<usize, _> = BTreeMap::new();
        for (p, t, u, n) in series_cases(s) {
            let history = histories.entry(t).or_insert_with(|| history_at(s, t));
            let planned = planned(history, &s.snapshots[u].1, n, &est);
            out.push(BandCase {
                series: s.name.clone(),
                protocol: p,
                tuned: tuned_on(s, u),
                items: drawn(&planned.estimates, &planned.a.shard_of),
                shards: n,
                spread: planned.estimates.spread,
                age_days: u32::try_from((s.snapshots[u].0 - s.snapshots[t].0).num_days()).ok(),
                actual: replay_static(&planned.a, &planned.actual, &[]),
            });
        }
    }
    out
}

/// The drift per year the band is drawn with: of a grid, the one whose bands on the first halves
/// (every protocol pooled) hold the real busiest shard closest to 80% of the time, the band's
/// claim; the smaller on a tie.
fn choose_drift(cases: &[BandCase]) -> f64 {
    const GRID: [f64; 10] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 1.0];
    println!(
        "Drift per year of the whole suite (a common factor, growing with the square root of the history's age), on the first halves, every protocol pooled:\n"
    );
    println!("| drift per year | cases | in the band | above p90 |");
    println!("|---:|---:|---:|---:|");
    let first: Vec<&BandCase> = cases.iter().filter(|b| b.tuned).collect();
    let mut best = (f64::INFINITY, 0.0);
    for c in GRID {
        let (inside, above) = band_rates(&first, c);
        println!("| {c:.2} | {} | {inside:.0}% | {above:.0}% |", first.len());
        let miss = (inside - 80.0).abs();
        if miss < best.0 - 1e-9 {
            best = (miss, c);
        }
    }
    println!();
    best.1
}

/// Percent of `cases` whose real busiest shard is in the band drawn with `drift_per_year`, and
/// above it.
fn band_rates(cases: &[&BandCase], drift_per_year: f64) -> (f64, f64) {
    let (mut inside, mut above) = (0usize, 0usize);
    for case in cases {
        let (i, a) = case.lands(drift_per_year);
        inside += usize::from(i);
        above += usize::from(a);
    }
    let n = cases.len().max(1) as f64;
    (100.0 * inside as f64 / n, 100.0 * above as f64 / n)
}

/// How often the refresh's real makespan falls inside the plan's p10–p90 band, and above it.
fn band_table(series: &[Series], fails: &mut Failures) {
    let all = band_cases(series);
    let chosen = choose_drift(&all);
    if (chosen - DRIFT_PER_YEAR).abs() > 1e-9 {
        fails.0.push(format!(
            "the band's drift per year chosen on the first halves is {chosen}, the planner's DRIFT_PER_YEAR {DRIFT_PER_YEAR}"
        ));
    }
    println!(
        "How often the scored refresh's busiest shard falls in the plan's p10–p90 band of the predicted busiest shard, drawn with the chosen drift of {chosen:.2} a year (ideal: 80% in, 10% above; `--check` fails above 20% on the next refresh's second half):\n"
    );
    println!("| series | scored on | half | cases | in the band | above p90 |");
    println!("|---|---|---|---:|---:|---:|");
    for s in series {
        for p in Protocol::ALL {
            for tuned in [true, false] {
                let cases: Vec<&BandCase> = all
                    .iter()
                    .filter(|b| b.series == s.name && b.protocol == p && b.tuned == tuned)
                    .collect();
                if cases.is_empty() {
                    continue;
                }
                let (inside, above) = band_rates(&cases, chosen);
                // The band says "one run in ten above p90": on the next refresh it must hold
                // within a factor of two.
                if !tuned && p == Protocol::Next && above > 20.0 {
                    fails.0.push(format!(
                        "{} {}: {above:.0}% of refreshes above the band's p90 (bar 20%)",
                        s.name,
                        p.label(),
                    ));
                }
                println!(
                    "| {} | {} | {} | {} | {inside:.0}% | {above:.0}% |",
                    s.name,
                    p.label(),
                    if tuned { "first" } else { "second" },
                    cases.len(),
                );
            }
        }
    }
    println!();
}

fn estimator_table(series: &[Series]) {
    println!("## 3. Estimators, on the first halves only (what the defaults were chosen on)\n");
    let stats: &[(&str, Statistic)] = &[
        ("median", Statistic::Median),
        ("mean", Statistic::Mean),
        ("trimmed mean", Statistic::TrimmedMean),
        ("EWMA 0.3", Statistic::Ewma(0.3)),
        ("EWMA 0.5", Statistic::Ewma(0.5)),
        ("EWMA 0.7", Statistic::Ewma(0.7)),
        ("p75", Statistic::Quantile(0.75)),
        ("last", Statistic::Last),
    ];
    let windows = [1usize, 3, 5];
    print!("| statistic |");
    for s in series {
        for w in windows {
            print!(" {} window {w} |", s.name);
        }
    }
    for w in windows {
        print!(" both, window {w} |");
    }
    println!();
    println!(
        "|---|{}",
        "---:|".repeat(windows.len() * (series.len() + 1))
    );
    let tuning: Vec<Vec<(Protocol, usize, usize, usize)>> = series
        .iter()
        .map(|s| {
            series_cases(s)
                .into_iter()
                .filter(|&(_, _, u, _)| tuned_on(s, u))
                .collect()
        })
        .collect();
    let default = Estimator::default();
    for &(name, stat) in stats {
        let mut all = vec![Vec::new(); windows.len()];
        let mut row = Vec::new();
        for (s, cases) in series.iter().zip(&tuning) {
            for (wi, w) in windows.into_iter().enumerate() {
                let est = Estimator {
                    statistic: stat,
                    window: w,
                    ..default
                };
                let v = planner_scores(s, cases, &est, false);
                row.push(format!("{:.4}", geomean(&v)));
                all[wi].extend(v);
            }
        }
        row.extend(all.iter().map(|v| format!("{:.4}", geomean(v))));
        let mark = if stat == default.statistic {
            " (default)"
        } else {
            ""
        };
        println!("| {name}{mark} | {} |", row.join(" | "));
    }
    println!();
    prior_table(series, &tuning);
}

/// The prior weight of unseen items' estimates, on the first halves.
fn prior_table(series: &[Series], tuning: &[Vec<(Protocol, usize, usize, usize)>]) {
    println!(
        "Unseen items: the suite's mean shrunk towards each group's (parametrizations, class, \
         file, directories) with prior weight k; Σ estimate ÷ Σ actual over the unseen items of \
         every pair.\n"
    );
    print!("| k |");
    for s in series {
        print!(
            " {} makespan ÷ bound | {} unseen Σ est ÷ Σ actual |",
            s.name, s.name
        );
    }
    println!(" both |");
    println!("|---|{}---:|", "---:|---:|".repeat(series.len()));
    let default = Estimator::default();
    for k in [0.0, 1.0, 3.0, 10.0, 30.0, f64::INFINITY] {
        let est = Estimator {
            prior_weight: k,
            ..default
        };
        let mut all = Vec::new();
        let mut row = Vec::new();
        for (s, cases) in series.iter().zip(tuning) {
            let v = planner_scores(s, cases, &est, false);
            let (mut e_sum, mut a_sum) = (0u64, 0u64);
            let mut pairs: Vec<(usize, usize)> = cases.iter().map(|&(_, t, u, _)| (t, u)).collect();
            pairs.dedup();
            for (t, u) in pairs {
                let history = history_at(s, t);
                let next = &s.snapshots[u].1;
                let unseen: Vec<ItemId> = next
                    .keys()
                    .filter(|i| !history.contains_key(*i))
                    .cloned()
                    .collect();
                e_sum += est.estimate(&history, Some(&unseen)).total().0;
                a_sum += unseen.iter().map(|i| next[i].0).sum::<u64>();
            }
            row.push(format!(
                "{:.4} | {:.3}",
                geomean(&v),
                e_sum as f64 / a_sum.max(1) as f64
            ));
            all.extend(v);
        }
        let mark = if k.to_bits() == default.prior_weight.to_bits() {
            " (default)"
        } else {
            ""
        };
        println!("| {k}{mark} | {} | {:.4} |", row.join(" | "), geomean(&all));
    }
    println!();
}

/// One command as a whole process: its program and arguments.
struct Case {
    label: String,
    program: PathBuf,
    args: Vec<String>,
}

impl Case {
    fn planner(label: impl Into<String>, args: &[&str]) -> Self {
        let mut all = vec!["--quiet".to_owned()];
        all.extend(args.iter().map(|a| (*a).to_owned()));
        Case {
            label: label.into(),
            program: PathBuf::from(env!("CARGO_BIN_EXE_planner")),
            args: all,
        }
    }

    /// Runs it once: wall milliseconds and the bytes it printed.
    fn once(&self) -> (f64, usize) {
        let t = Instant::now();
        let out = std::process::Command::new(&self.program)
            .args(&self.args)
            .stderr(std::process::Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("{}: {e}", self.label));
        let ms = t.elapsed().as_secs_f64() * 1000.0;
        assert!(out.status.success(), "{}: {}", self.label, out.status);
        (ms, out.stdout.len())
    }
}

/// Runs the cases in rounds, each once a round in turn (so that they share the machine's state),
/// prints a row each, and returns their medians in milliseconds.
fn paired(cases: &[Case], rounds: usize) -> Vec<f64> {
    let mut times = vec![Vec::with_capacity(rounds); cases.len()];
    let mut bytes = vec![0; cases.len()];
    for _ in 0..rounds {
        for (k, c) in cases.iter().enumerate() {
            let (ms, b) = c.once();
            times[k].push(ms);
            bytes[k] = b;
        }
    }
    cases
        .iter()
        .zip(&mut times)
        .zip(&bytes)
        .map(|((c, t), b)| {
            t.sort_by(f64::total_cmp);
            println!(
                "| {} | {rounds} | {:.1} | {:.1} | {:.1} | {b} |",
                c.label,
                t[0],
                t[t.len() / 2],
                t[t.len() - 1]
            );
            t[t.len() / 2]
        })
        .collect()
}

/// Runs one planner command `calls` times as a whole process, prints a row, and returns the
/// median in milliseconds.
fn time_calls(label: &str, args: &[&str], calls: usize) -> f64 {
    paired(&[Case::planner(label, args)], calls)[0]
}

/// A speed bar: `what` took `ms`, at most `limit`.
fn speed_bar(fails: &mut Failures, what: &str, ms: f64, limit: f64) {
    let verdict = if ms <= limit { "met" } else { "MISSED" };
    println!("- {what}: {ms:.1} ms, bar {limit:.1} ms: {verdict}");
    if ms > limit {
        fails
            .0
            .push(format!("{what}: {ms:.1} ms over the bar of {limit:.1} ms"));
    }
}

/// A heavy-tailed synthetic suite of `n` items, 100 tests a file, from a fixed-seed generator.
fn synthetic(n: u64, seed: u64) -> BTreeMap<ItemId, Micros> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ seed;
    let mut durations = BTreeMap::new();
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let u = (x >> 11) as f64 / (1u64 << 53) as f64;
        let ms = (20.0 * (-(1.0 - u).ln()).powf(2.5)) as u64 + 1;
        durations.insert(
            ItemId::new(format!(
                "tests/d{:03}/test_{:05}.py::test_{i}",
                i / 100 % 1000,
                i / 100
            )),
            Micros::ms(ms),
        );
    }
    durations
}

fn speed(data: &Path, fails: &mut Failures) {
    println!(
        "## 4. Speed of `planner shard` and `plan` (whole command: read, estimate, partition, print)\n"
    );
    println!("| case | calls | min ms | median ms | max ms | output bytes |");
    println!("|---|---:|---:|---:|---:|---:|");
    let dir = std::env::temp_dir().join(format!("planner-bench-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let path = |name: &str| dir.join(name).display().to_string();
    // playwright's 15,040 durations as a map of seconds, which every tool here reads.
    let pw_map: serde_json::Map<String, serde_json::Value> = read_map(
        &data
            .join("timings/playwright/durations_a8756c7.json")
            .display()
            .to_string(),
        Unit::Millis,
    )
    .into_iter()
    .map(|(id, d)| (id.as_str().to_owned(), serde_json::json!(d.as_secs_f64())))
    .collect();
    let pw = path("playwright-seconds.json");
    let _ = std::fs::write(&pw, serde_json::Value::Object(pw_map).to_string());
    let pw_args = |n: &'static str| -> Vec<String> {
        ["--total", n, "--timings", pw.as_str()]
            .iter()
            .map(|s| (*s).to_owned())
            .collect()
    };
    let run = |label: &str, cmd: &[&str], rest: &[String], calls: usize| {
        let mut args: Vec<&str> = cmd.to_vec();
        args.extend(rest.iter().map(String::as_str));
        time_calls(label, &args, calls)
    };
    run(
        "playwright 15,040 items, shard K=1 of 4",
        &["shard", "--index", "1"],
        &pw_args("4"),
        20,
    );
    let pinned = path("playwright-plan.json");
    let mut plan_args = pw_args("64");
    plan_args.extend(["--out".to_owned(), pinned.clone()]);
    run(
        "playwright 15,040 items, plan --total 64",
        &["plan"],
        &plan_args,
        5,
    );
    // Paired, round by round: the shard recomputed, the shard read from the pinned plan, and
    // shard-tests' `plan` (the whole partition, once) when its binary is given.
    let mut pairs = vec![
        Case::planner(
            "playwright 15,040 items, shard K=1 of 64",
            &["shard", "--index", "1", "--total", "64", "--timings", &pw],
        ),
        Case::planner(
            "playwright 15,040 items, shard K=1 of 64 from the plan",
            &["shard", "--index", "1", "--total", "64", "--plan", &pinned],
        ),
    ];
    let peer = std::env::var_os("PLANNER_BENCH_SHARD_TESTS").map(PathBuf::from);
    if let Some(program) = &peer {
        pairs.push(Case {
            label: "shard-tests 0.1.16 `plan --units-from-timings`, 64 shards".to_owned(),
            program: program.clone(),
            args: [
                "plan",
                "--units-from-timings",
                "--timings",
                pw.as_str(),
                "--min-shards",
                "64",
                "--max-shards",
                "64",
                "--output",
                &path("shard-tests-plan.json"),
            ]
            .iter()
            .map(|s| (*s).to_owned())
            .collect(),
        });
    }
    let medians = paired(&pairs, 40);
    let (recompute, from_plan) = (medians[0], medians[1]);
    // A synthetic 100,000-item suite as a store of three observations, and a million-item map.
    let store_path = path("synthetic-store.json");
    let mut store = Store::default();
    for obs in 0..3 {
        store.merge(&Observed {
            source: format!("synthetic {obs}"),
            kind: "flat-map".into(),
            runner_class: "default".into(),
            at: None,
            durations: synthetic(100_000, obs),
            ..Default::default()
        });
    }
    let mut shard_100k = 0.0;
    let mut plan_100k = 0.0;
    if std::fs::write(&store_path, store.to_json()).is_ok() {
        run(
            "synthetic 100,000 items (store), shard K=1 of 16",
            &[
                "shard",
                "--index",
                "1",
                "--total",
                "16",
                "--timings",
                &store_path,
            ],
            &[],
            5,
        );
        // Paired, round by round, as the bar compares them.
        let out = path("p.json");
        let medians = paired(
            &[
                Case::planner(
                    "synthetic 100,000 items (store), shard K=1 of 256",
                    &[
                        "shard",
                        "--index",
                        "1",
                        "--total",
                        "256",
                        "--timings",
                        &store_path,
                    ],
                ),
                Case::planner(
                    "synthetic 100,000 items (store), plan --total 256",
                    &[
                        "plan",
                        "--total",
                        "256",
                        "--timings",
                        &store_path,
                        "--out",
                        &out,
                    ],
                ),
            ],
            9,
        );
        (shard_100k, plan_100k) = (medians[0], medians[1]);
    }
    let million: serde_json::Map<String, serde_json::Value> = synthetic(1_000_000, 7)
        .into_iter()
        .map(|(id, d)| (id.as_str().to_owned(), serde_json::json!(d.as_secs_f64())))
        .collect();
    let million_path = path("million.json");
    let mut shard_1m = f64::INFINITY;
    if std::fs::write(
        &million_path,
        serde_json::Value::Object(million).to_string(),
    )
    .is_ok()
    {
        shard_1m = run(
            "synthetic 1,000,000 items (map), shard K=1 of 64",
            &[
                "shard",
                "--index",
                "1",
                "--total",
                "64",
                "--timings",
                &million_path,
            ],
            &[],
            3,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!();
    speed_bar(fails, "shard of 1,000,000 items", shard_1m, 2000.0);
    speed_bar(
        fails,
        "plan --total 256 of 100,000 items (3 × its shard)",
        plan_100k,
        3.0 * shard_100k,
    );
    speed_bar(
        fails,
        "shard recomputing 15,040 items (1.5 × reading the pinned plan)",
        recompute,
        1.5 * from_plan,
    );
    match medians.get(2) {
        Some(&peer) => speed_bar(
            fails,
            "shard recomputing 15,040 items (no slower than shard-tests' plan)",
            recompute,
            peer,
        ),
        None => println!(
            "- shard-tests' plan: not measured (set PLANNER_BENCH_SHARD_TESTS to its binary)"
        ),
    }
    println!();
}

/// A pytest-style JUnit report of `cases` testcases in `files` files, with failures and skips
/// mixed in, as pytest writes it (one `<testcase>` per line, a `<failure>` with its text).
fn junit_report(cases: usize, files: usize) -> String {
    use std::fmt::Write as _;
    let mut xml = String::with_capacity(cases * 160);
    xml.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<testsuites name=\"pytest tests\"><testsuite name=\"pytest\" errors=\"0\" failures=\"0\" skipped=\"0\" tests=\"0\" time=\"1.0\" timestamp=\"2026-11-24T10:00:00.000000+00:00\" hostname=\"runner\">\n");
    for i in 0..cases {
        let f = i % files;
        let attrs = format!(
            "classname=\"tests.pkg{}.test_mod{f}.TestThing\" name=\"test_case_{i}[param-{}]\" time=\"{}.{:03}\"",
            f % 37,
            i % 11,
            i % 3,
            i % 1000
        );
        let _ = match i % 50 {
            0 => writeln!(
                xml,
                "<testcase {attrs}><failure message=\"assert 1 == 2\">def test():\n&gt;       assert 1 == 2\nE       assert 1 == 2\n\ntests/x.py:10: AssertionError</failure></testcase>"
            ),
            1 => writeln!(
                xml,
                "<testcase {attrs}><skipped type=\"pytest.skip\" message=\"not here\">tests/x.py:3: not here</skipped></testcase>"
            ),
            _ => writeln!(xml, "<testcase {attrs} />"),
        };
    }
    xml.push_str("</testsuite></testsuites>\n");
    xml
}

/// `planner timings merge` of one JUnit file as a whole process: the read, the merge and the
/// store's write, wall-clock, best and median of `runs`.
fn junit_speed(quick: bool) {
    println!("## 5. Reading JUnit (`planner timings merge FILE`, whole process)\n");
    println!("| report | testcases | MB | runs | best s | median s | MB/s (median) |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    let dir = std::env::temp_dir().join(format!("planner-bench-junit-{}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    let mut cases = vec![("100,000 testcases", 100_000, 2_000)];
    if !quick {
        cases.push(("100 MB", 910_000, 10_000));
    }
    for (label, n, files) in cases {
        let xml = junit_report(n, files);
        let path = dir.join("report.xml");
        if std::fs::write(&path, &xml).is_err() {
            continue;
        }
        let mb = xml.len() as f64 / 1e6;
        let mut times = Vec::new();
        for _ in 0..3 {
            let store = dir.join("store.json");
            let _ = std::fs::remove_file(&store);
            let t = Instant::now();
            let status = std::process::Command::new(env!("CARGO_BIN_EXE_planner"))
                .args(["--quiet", "timings", "merge"])
                .arg(&path)
                .arg("--out")
                .arg(&store)
                .stderr(std::process::Stdio::null())
                .status();
            if !status.is_ok_and(|s| s.success()) {
                println!("| {label} | merge failed | | | | | |");
                break;
            }
            times.push(t.elapsed().as_secs_f64());
        }
        if times.is_empty() {
            continue;
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        println!(
            "| {label} | {n} | {mb:.1} | {} | {:.2} | {median:.2} | {:.0} |",
            times.len(),
            times[0],
            mb / median
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!();
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let check = args.iter().any(|a| a == "--check");
    let quick = args.iter().any(|a| a == "--quick");
    let Some(data) = args
        .iter()
        .find(|a| !a.starts_with("--"))
        .map(PathBuf::from)
    else {
        eprintln!("usage: cargo bench --bench shard -- DATA_DIR [--check] [--quick]");
        std::process::exit(2);
    };
    // pytest-split's own code runs in the tests' Python environment (tests/tools/install.sh).
    let python = std::env::var_os("PLANNER_BENCH_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tools/.venv/bin/python"),
        PathBuf::from,
    );
    // --only=2,3 runs those sections alone (while tuning); a check needs them all.
    let only: Option<Vec<u32>> = args
        .iter()
        .find_map(|a| a.strip_prefix("--only="))
        .map(|v| v.split(',').filter_map(|x| x.parse().ok()).collect());
    let runs = |k: u32| only.as_ref().is_none_or(|o| o.contains(&k));
    if check && only.is_some() {
        eprintln!("--check runs every section; drop --only");
        std::process::exit(2);
    }
    let mut fails = Failures(Vec::new());
    if runs(1) {
        balance(&data, &mut fails);
    }
    if runs(2) || runs(3) {
        next_refresh(&data, &python, &mut fails, runs(3) && !quick);
    }
    if runs(4) {
        speed(&data, &mut fails);
    }
    if runs(5) {
        junit_speed(quick);
    }
    if check {
        if fails.0.is_empty() {
            println!("check: every quality bar is met");
        } else {
            for f in &fails.0 {
                println!("check failed: {f}");
            }
            std::process::exit(1);
        }
    }
}
