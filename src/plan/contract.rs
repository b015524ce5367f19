//! The Plan: versioned JSON, the contract between `plan`, `shard`, `render` and `report`.
//!
//! A plan is computed once per workflow run and pinned: every shard, and every re-run of a failed
//! shard, reads the same plan. Without a plan, `planner shard` computes the same partition from the
//! same inputs through the same function, `assign`.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ShardIndex;
use super::band::{WallBand, drawn, wall_band};
use super::choose::{Choice, ChoiceMode, CostModel, CurvePoint, choose};
use super::partition::{Assignment, bound, partition};
use crate::timings::formats::Granularity;
use crate::timings::{
    EstimateSource, Estimates, HiddenCost, ItemId, Micros, file_count, is_test_id, looks_like_file,
};

pub const PLAN_FORMAT: &str = "gha-planner-plan";
pub const PLAN_VERSION: u32 = 1;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    pub format: String,
    pub version: u32,
    /// The planner that wrote it (`gha-planner 0.1.0`).
    pub generator: String,
    /// The shards claim their suites' tails at run time (`plan --claim`): decided here, once
    /// for the whole run, and read by every shard.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub claim: bool,
    pub suites: Vec<SuitePlan>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SuitePlan {
    pub name: String,
    pub granularity: Granularity,
    pub runner_class: String,
    /// Nothing to run: the matrix still has one (empty) shard, and the `skip` output is true.
    pub skip: bool,
    /// Digest of the (item, estimate) snapshot the plan was made from.
    pub timings_digest: String,
    pub item_count: usize,
    pub total_ms: Micros,
    pub longest_ms: Micros,
    pub overhead_ms: Micros,
    pub overhead_source: OverheadSource,
    /// How a measured overhead was measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub overhead_detail: Option<String>,
    /// What a shard's process costs beyond its tests' JUnit times, learned by `report` from past
    /// shards; absent until a report has seen some.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden: Option<HiddenCost>,
    pub estimates: EstimateCounts,
    pub choice: Choice,
    pub bound: Bound,
    /// The busiest shard's estimated work.
    pub predicted_makespan_ms: Micros,
    /// Overhead + makespan, in waves when the shards outnumber the runners.
    pub predicted_wall_ms: Micros,
    /// How far the wall may fall either side, item times drawn around their estimates (absent
    /// from plans made before it was).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wall_band: Option<WallBand>,
    /// The runners that run the shards at once (absent from plans made before it was modelled).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<RunnerCapacity>,
    pub runner_minutes: u64,
    pub curve: Vec<CurvePoint>,
    pub shards: Vec<ShardPlan>,
    /// How a shard runs, for `planner shard --exec`: set when the suite comes from a config.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<RunSpec>,
    /// Whether the run's changes ran the suite, when it names the paths it depends on and the
    /// plan was given the changes. A skipped suite is planned with no items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lane: Option<LaneDecision>,
}

/// A lane's decision: the suite runs, or is skipped, and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LaneDecision {
    pub runs: bool,
    /// `src/app.py matches its paths`, `none of the 3 changed files matches paths src/**`.
    pub reason: String,
}

/// How to run a subset of the suite: the runner (which decides the arguments), the command they
/// are appended to, where, and the JUnit it writes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunSpec {
    pub runner: crate::runner::Runner,
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub junit: Option<String>,
    /// The `runs-on` of the shard jobs, carried into the matrix.
    pub runs_on: serde_json::Value,
}

/// Where a suite's per-shard overhead came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OverheadSource {
    /// Nothing gave or measured it: 30 s.
    Assumed,
    /// `--overhead-seconds`.
    Flag,
    /// The config's `overhead-seconds`.
    Config,
    /// The start-up of past runs' jobs (`timings fetch`).
    Measured,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EstimateCounts {
    pub history: usize,
    pub same_file: usize,
    pub same_directory: usize,
    #[serde(alias = "suite_median")]
    pub suite_mean: usize,
    pub default: usize,
    /// What an item with nothing to go by was assumed to take (`--default-seconds`), when any was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assumed_ms: Option<Micros>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BoundTerm {
    /// The longest item cannot be split.
    LongestItem,
    /// Total work ÷ shards.
    Average,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bound {
    pub ms: Micros,
    pub binds: BoundTerm,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ShardPlan {
    pub index: ShardIndex,
    /// Its items' estimated work.
    pub estimate_ms: Micros,
    /// What its process is expected to spend beyond that (the suite's learned hidden cost for
    /// the files it touches): its predicted wall is this + `estimate_ms`.
    #[serde(default, skip_serializing_if = "Micros::is_zero")]
    pub hidden_ms: Micros,
    /// In id order.
    pub items: Vec<PlannedItem>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedItem {
    pub id: ItemId,
    pub ms: Micros,
    /// Never seen: its estimate is borrowed (its file's, its directory's, the suite's). A
    /// claiming shard claims these first, before the tail's longest.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unseen: bool,
}

/// What a suite is planned with, resolved from flags and config.
#[derive(Clone, Debug, PartialEq)]
pub struct SuiteSettings {
    pub name: String,
    pub granularity: Granularity,
    pub runner_class: String,
    pub overhead: Micros,
    pub overhead_source: OverheadSource,
    pub overhead_detail: Option<String>,
    /// The suite's learned hidden cost, if any.
    pub hidden: Option<HiddenCost>,
    pub mode: ChoiceMode,
    pub max_shards: usize,
    pub max_extra_cost: f64,
    pub capacity: RunnerCapacity,
}

/// How many runners run a suite's shards at once, and who said so.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunnerCapacity {
    pub runners: usize,
    pub source: CapacitySource,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapacitySource {
    /// `--capacity`.
    Flag,
    /// The suite's `capacity` in the config.
    Config,
    /// GitHub Free's concurrent jobs: 20, of which 5 macOS.
    Default,
}

impl RunnerCapacity {
    /// GitHub Free runs 20 jobs at once, 5 of them on macOS.
    pub fn github_free(macos: bool) -> RunnerCapacity {
        RunnerCapacity {
            runners: crate::runner::github_free_capacity(macos) as usize,
            source: CapacitySource::Default,
        }
    }
}

impl Plan {
    pub fn new(suites: Vec<SuitePlan>) -> Self {
        Plan {
            format: PLAN_FORMAT.to_owned(),
            version: PLAN_VERSION,
            generator: format!("gha-planner {}", env!("CARGO_PKG_VERSION")),
            claim: false,
            suites,
        }
    }

    /// The plan, its shards claiming their tails or not.
    #[must_use]
    pub fn claiming(mut self, claim: bool) -> Self {
        self.claim = claim;
        self
    }

    pub fn suite(&self, name: Option<&str>) -> Option<&SuitePlan> {
        match name {
            Some(n) => self.suites.iter().find(|s| s.name == n),
            None if self.suites.len() == 1 => self.suites.first(),
            None => None,
        }
    }
}

impl SuitePlan {
    pub fn shard(&self, index: ShardIndex) -> Option<&ShardPlan> {
        self.shards.get(index.zero_based())
    }
}

/// The items and their weights in id order: the one input order every runner shares.
pub fn weighted_items(estimates: &Estimates) -> (Vec<&ItemId>, Vec<Micros>) {
    estimates.durations().unzip()
}

/// The partition of `estimates` into `n` shards: what `plan` pins and `shard` recomputes.
pub fn assign(estimates: &Estimates, n: usize) -> (Vec<&ItemId>, Vec<Micros>, Assignment) {
    let (ids, weights) = weighted_items(estimates);
    let a = partition(&weights, n);
    (ids, weights, a)
}

pub fn digest(estimates: &Estimates) -> String {
    let mut h = Sha256::new();
    for (id, ms) in estimates.durations() {
        h.update(id.0.as_bytes());
        h.update([0]);
        h.update(ms.0.to_le_bytes());
    }
    crate::timings::hex_digest(h)
}

fn counts(estimates: &Estimates) -> EstimateCounts {
    EstimateCounts {
        history: estimates.count(EstimateSource::History),
        same_file: estimates.count(EstimateSource::SameFile),
        same_directory: estimates.count(EstimateSource::SameDirectory),
        suite_mean: estimates.count(EstimateSource::SuiteMean),
        default: estimates.count(EstimateSource::Default),
        assumed_ms: estimates
            .items
            .values()
            .find(|(_, source)| *source == EstimateSource::Default)
            .map(|(ms, _)| *ms),
    }
}

/// What the items are, whatever the suite was told: a plan made from a map of files (a Knapsack
/// report) holds files though it was read "by test", and one read `--by file` from a per-test
/// store holds tests. Only a unanimous answer overrides what was declared.
pub fn item_granularity(estimates: &Estimates, declared: Granularity) -> Granularity {
    let ids = || estimates.durations().map(|(id, _)| id.as_str());
    if ids().next().is_none() {
        return declared;
    }
    match declared {
        Granularity::Test if ids().all(looks_like_file) => Granularity::File,
        Granularity::File | Granularity::Class if ids().all(is_test_id) => Granularity::Test,
        other => other,
    }
}

/// Plans one suite: the curve, the choice of n, the partition.
pub fn plan_suite(estimates: &Estimates, s: &SuiteSettings) -> SuitePlan {
    let (ids, weights) = weighted_items(estimates);
    // A learned cost per shard is overhead to the choice of n, and so is its per-file part for
    // the files a shard is expected to touch at n; once the partition is known, each shard is
    // charged for the files it does touch.
    let hidden = s.hidden.as_ref();
    let per_shard = hidden.map_or(Micros::ZERO, |h| h.per_shard);
    let per_file = hidden.map_or(Micros::ZERO, |h| h.per_file);
    let files = if per_file.0 > 0 {
        file_count(ids.iter().copied())
    } else {
        0
    };
    let cost = CostModel {
        overhead: s.overhead + per_shard,
        capacity: s.capacity.runners,
        per_file,
        files,
        items: ids.len(),
    };
    let cap = s.max_shards.min(ids.len()).max(1);
    let (points, choice, a) = choose(&weights, cap, cost, s.mode, s.max_extra_cost);
    let n = choice.n;
    let total: Micros = weights.iter().copied().sum();
    let longest = weights.iter().copied().max().unwrap_or_default();
    let b = bound(&weights, n);
    let hidden_of: Vec<Micros> = (0..n)
        .map(|k| {
            hidden.map_or(Micros::ZERO, |h| {
                h.of_shard(file_count(a.items_of(k).map(|i| ids[i])))
            })
        })
        .collect();
    let walls: Vec<Micros> = a
        .loads
        .iter()
        .zip(&hidden_of)
        .map(|(&l, &h)| l + h)
        .collect();
    // In id order, as `ids` and `weights` are.
    let unseen: Vec<bool> = estimates
        .items
        .values()
        .map(|(_, source)| *source != EstimateSource::History)
        .collect();
    let shards = (0..n)
        .map(|k| ShardPlan {
            index: ShardIndex::from_zero_based(k),
            estimate_ms: a.loads[k],
            hidden_ms: hidden_of[k],
            items: a
                .items_of(k)
                .map(|i| PlannedItem {
                    id: ids[i].clone(),
                    ms: weights[i],
                    unseen: unseen[i],
                })
                .collect(),
        })
        .collect();
    SuitePlan {
        name: s.name.clone(),
        granularity: item_granularity(estimates, s.granularity),
        runner_class: s.runner_class.clone(),
        skip: ids.is_empty(),
        timings_digest: digest(estimates),
        item_count: ids.len(),
        total_ms: total,
        longest_ms: longest,
        overhead_ms: s.overhead,
        overhead_source: s.overhead_source,
        overhead_detail: s.overhead_detail.clone(),
        hidden: s.hidden.clone(),
        estimates: counts(estimates),
        choice,
        bound: Bound {
            ms: b,
            binds: if longest >= b {
                BoundTerm::LongestItem
            } else {
                BoundTerm::Average
            },
        },
        predicted_makespan_ms: a.makespan(),
        predicted_wall_ms: super::wall_with_capacity(&walls, s.overhead, s.capacity.runners),
        wall_band: (!ids.is_empty()).then(|| {
            wall_band(
                &drawn(estimates, &a.shard_of),
                &hidden_of,
                s.overhead,
                s.capacity.runners,
                estimates.spread,
                estimates.age_days,
                super::DRIFT_PER_YEAR,
            )
        }),
        capacity: Some(s.capacity),
        runner_minutes: super::billed_minutes(&walls, s.overhead),
        curve: points,
        shards,
        run: None,
        lane: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn estimates(ids: &[&str]) -> Estimates {
        let mut e = Estimates::default();
        for id in ids {
            e.items
                .insert(ItemId::from(*id), (Micros::ms(1), EstimateSource::History));
        }
        e
    }

    /// A plan from a Knapsack map of files said "test"; `--by file` over a per-test store said
    /// "file" while holding tests.
    #[test]
    fn a_plan_says_what_its_items_are() {
        let files = estimates(&["spec/a_spec.rb", "tests/test_b.py"]);
        assert_eq!(
            item_granularity(&files, Granularity::Test),
            Granularity::File
        );
        let tests = estimates(&["t/a.py::x", "t/a.py::y"]);
        assert_eq!(
            item_granularity(&tests, Granularity::File),
            Granularity::Test
        );
        assert_eq!(
            item_granularity(&tests, Granularity::Test),
            Granularity::Test
        );
        // nextest's `binary test` and a mix are left as declared.
        let nextest = estimates(&["planner cli::plan", "planner tests"]);
        assert_eq!(
            item_granularity(&nextest, Granularity::Test),
            Granularity::Test
        );
        let mixed = estimates(&["t/a.py", "t/a.py::x"]);
        assert_eq!(
            item_granularity(&mixed, Granularity::File),
            Granularity::File
        );
    }
}
