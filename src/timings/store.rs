//! The store: per runner class and item, the most recent samples, each tied to the observation
//! (a report, a refresh of a timing file, a workflow run) it came from.
//!
//! Merging is idempotent: an observation carries a digest of its content, and one already in the
//! store is not merged again. Observations are ordered as they were merged, oldest first, and an
//! item keeps its `keep` most recent samples.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::Write as _;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::overhead::{
    HiddenCost, KEEP_SHARD_COSTS, KEEP_STARTUPS, MeasuredOverhead, ShardCost, StartUp,
};
use super::{ItemId, Micros};

pub const STORE_FORMAT: &str = "gha-planner-store";
pub const STORE_VERSION: u32 = 1;
/// Samples kept per item and runner class unless told otherwise.
pub const DEFAULT_KEEP: usize = 20;
/// Observation records kept for recognising re-merges once none of their samples is left.
const MAX_OBSERVATIONS: usize = 1000;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Store {
    pub format: String,
    pub version: u32,
    /// How many samples an item keeps per runner class.
    pub keep: usize,
    /// Oldest first.
    pub observations: Vec<Observation>,
    /// Runner class → item → samples, oldest first.
    #[serde(deserialize_with = "unique_classes")]
    pub classes: BTreeMap<String, BTreeMap<ItemId, Vec<Sample>>>,
    /// Runner class → the start-up overhead of its recent jobs, oldest first (from workflow runs
    /// fetched from the API).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub overheads: BTreeMap<String, Vec<StartUp>>,
    /// Suite (`name on runner class`) → what its recent shards cost beyond their tests' times,
    /// oldest first (from `report`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub shard_costs: BTreeMap<String, Vec<ShardCost>>,
    /// Test → the observations it failed in, oldest first (from `report`): what tells a test
    /// that fails now and then from one that has just broken.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub failures: BTreeMap<String, Vec<Failure>>,
}

/// Failures kept per test: its outcomes are read over this many recent runs.
pub const KEEP_FAILURES: usize = 20;

/// A test's failure in one observation, written `[seq, flaky]`: flaky when it passed on a later
/// attempt of the same run, or its runner's retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Failure(pub u64, pub bool);

/// A test's recent runs in the history, newest [`KEEP_FAILURES`]: how many, how many failed, and
/// whether it is a known flake: it failed and passed in one run, or it failed in two streaks
/// with a pass between (a test that breaks and is then fixed fails in one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FlakeRecord {
    pub runs: usize,
    pub failures: usize,
    pub known_flaky: bool,
}

/// A JSON object read into a map, refusing a key that repeats: JSON allows it, and the last one
/// would silently win over the first.
struct UniqueMap<K, V>(BTreeMap<K, V>);

impl<'de, K, V> Deserialize<'de> for UniqueMap<K, V>
where
    K: Deserialize<'de> + Ord + std::fmt::Display,
    V: Deserialize<'de>,
{
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<K, V>(std::marker::PhantomData<(K, V)>);
        impl<'de, K, V> serde::de::Visitor<'de> for Visit<K, V>
        where
            K: Deserialize<'de> + Ord + std::fmt::Display,
            V: Deserialize<'de>,
        {
            type Value = UniqueMap<K, V>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an object with no key twice")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = BTreeMap::new();
                while let Some(k) = m.next_key::<K>()? {
                    let v = m.next_value::<V>()?;
                    if out.contains_key(&k) {
                        return Err(serde::de::Error::custom(format!("`{k}` appears twice")));
                    }
                    out.insert(k, v);
                }
                Ok(UniqueMap(out))
            }
        }
        d.deserialize_map(Visit(std::marker::PhantomData))
    }
}

type Classes = BTreeMap<String, BTreeMap<ItemId, Vec<Sample>>>;

fn unique_classes<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Classes, D::Error> {
    let UniqueMap(classes) = UniqueMap::<String, UniqueMap<ItemId, Vec<Sample>>>::deserialize(d)?;
    Ok(classes
        .into_iter()
        .map(|(c, UniqueMap(items))| (c, items))
        .collect())
}

/// One observation of many items: a JUnit report (or a run's reports), a timing file, a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Observation {
    /// Position in merge order; samples point at it.
    pub seq: u64,
    /// Content digest (`sha256:…`): the same observation merged twice is recognised by it.
    pub id: String,
    /// Where it was read from, as given.
    pub source: String,
    /// What kind of input it was (`junit`, `flat-map`, `store`).
    pub kind: String,
    pub runner_class: String,
    /// How many items it timed.
    pub items: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempt: Option<u32>,
}

/// One observed duration, written `[ms, seq]` (milliseconds, with decimals below one).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sample(pub Micros, pub u64);

impl Sample {
    pub fn duration(self) -> Micros {
        self.0
    }
    pub fn observation(self) -> u64 {
        self.1
    }
}

/// A new observation, before it is merged.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observed {
    pub source: String,
    pub kind: String,
    pub runner_class: String,
    pub at: Option<DateTime<Utc>>,
    pub durations: BTreeMap<ItemId, Micros>,
    /// The workflow run it came from, when it came from one.
    pub run: Option<RunRef>,
    /// Start-up overhead of the jobs observed, `(queue, setup)` each.
    pub startups: Vec<(Micros, Micros)>,
    /// A suite's shards as they ran (from `report`): its key (`cost_key`) and each shard's
    /// `(files, hidden cost)`.
    pub shard_costs: Option<(String, Vec<(u32, Micros)>)>,
    /// The tests that failed in it (from `report`), each flaky when it then passed.
    pub failures: Vec<(String, bool)>,
}

/// The key of a suite's shard costs in the store.
pub fn cost_key(suite: &str, runner_class: &str) -> String {
    format!("{suite} on {runner_class}")
}

/// A workflow run attempt: what makes two runs with equal timings two observations.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunRef {
    pub run_id: u64,
    pub attempt: u32,
    pub commit: Option<String>,
}

impl Observed {
    /// The content digest: runner class and every (item, duration), in order; the run, the
    /// start-ups and the shard costs when there are any (so that digests of reports and timing files stay as they
    /// were).
    pub fn digest(&self) -> String {
        self.digest_of(&self.durations)
    }

    /// The digest it would have with `durations` as its own.
    fn digest_of(&self, durations: &BTreeMap<ItemId, Micros>) -> String {
        let mut h = Sha256::new();
        h.update(self.runner_class.as_bytes());
        h.update([0]);
        for (id, ms) in durations {
            h.update(id.0.as_bytes());
            h.update([0]);
            // Whole milliseconds as they always were, so that a digest made before microseconds
            // still names the same observation.
            if ms.0.is_multiple_of(1000) {
                h.update((ms.0 / 1000).to_le_bytes());
            } else {
                h.update(b"\0us");
                h.update(ms.0.to_le_bytes());
            }
        }
        if let Some(run) = &self.run {
            h.update(b"\0run");
            h.update(run.run_id.to_le_bytes());
            h.update(run.attempt.to_le_bytes());
        }
        for (queue, setup) in &self.startups {
            h.update(queue.as_millis().to_le_bytes());
            h.update(setup.as_millis().to_le_bytes());
        }
        // Two runs whose tests took the same times are still two runs when their shards did not.
        if let Some((key, costs)) = &self.shard_costs {
            h.update(b"\0costs");
            h.update(key.as_bytes());
            for (files, hidden) in costs {
                h.update(files.to_le_bytes());
                h.update(hidden.0.to_le_bytes());
            }
        }
        if !self.failures.is_empty() {
            h.update(b"\0failures");
            for (test, flaky) in &self.failures {
                h.update(test.as_bytes());
                h.update([0, u8::from(*flaky)]);
            }
        }
        hex_digest(h)
    }
}

pub(crate) fn hex_digest(h: Sha256) -> String {
    format!("sha256:{}", hex(&h.finalize()))
}

/// Bytes as lower-case hexadecimal.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// What a merge did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MergeOutcome {
    pub observations_added: usize,
    pub observations_already_present: usize,
    pub samples_added: usize,
    pub new_items: usize,
}

impl std::ops::AddAssign for MergeOutcome {
    fn add_assign(&mut self, o: Self) {
        self.observations_added += o.observations_added;
        self.observations_already_present += o.observations_already_present;
        self.samples_added += o.samples_added;
        self.new_items += o.new_items;
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new(DEFAULT_KEEP)
    }
}

impl Store {
    pub fn new(keep: usize) -> Self {
        Store {
            format: STORE_FORMAT.to_owned(),
            version: STORE_VERSION,
            keep: keep.max(1),
            observations: Vec::new(),
            classes: BTreeMap::new(),
            overheads: BTreeMap::new(),
            shard_costs: BTreeMap::new(),
            failures: BTreeMap::new(),
        }
    }

    /// A test's recent outcomes, when it has failed in the history: its runs are the
    /// observations that timed it (or its file) and those it failed in, and when `now` is
    /// `Some(flaky)`, a failure in one more run, the newest (flaky: it then passed in that run).
    pub fn flake_record_with(&self, test: &str, now: Option<bool>) -> Option<FlakeRecord> {
        let marks = self.failures.get(test)?;
        let file = test.split_once("::").map(|(f, _)| ItemId::from(f));
        let id = ItemId::from(test);
        // Observation → failed (and flaky), or passed.
        let mut runs: BTreeMap<u64, Option<bool>> = BTreeMap::new();
        for class in self.classes.values() {
            let samples = class
                .get(&id)
                .or_else(|| file.as_ref().and_then(|f| class.get(f)));
            for sample in samples.into_iter().flatten() {
                runs.entry(sample.observation()).or_insert(None);
            }
        }
        for f in marks {
            runs.insert(f.0, Some(f.1));
        }
        let recent: Vec<Option<bool>> = now
            .map(Some)
            .into_iter()
            .chain(runs.into_values().rev())
            .take(KEEP_FAILURES)
            .collect();
        // Separate streaks of failures: a test that breaks and is fixed has one.
        let streaks = recent
            .iter()
            .enumerate()
            .filter(|&(k, o)| o.is_some() && (k == 0 || recent[k - 1].is_none()))
            .count();
        Some(FlakeRecord {
            runs: recent.len(),
            failures: recent.iter().filter(|o| o.is_some()).count(),
            known_flaky: streaks >= 2 || recent.contains(&Some(true)),
        })
    }

    /// True if a workflow run attempt was merged before (its jobs are not fetched again).
    pub fn has_run(&self, run_id: u64, attempt: u32) -> bool {
        self.observations
            .iter()
            .any(|o| o.run_id == Some(run_id) && o.attempt == Some(attempt))
    }

    /// The measured start-up overhead: of the first of `classes` that has any, else pooled over
    /// every class.
    pub fn measured_overhead(&self, classes: &[&str]) -> Option<MeasuredOverhead> {
        for class in classes {
            if let Some(s) = self.overheads.get(*class).filter(|s| !s.is_empty()) {
                return MeasuredOverhead::of(s, Some((*class).to_owned()));
            }
        }
        let pooled: Vec<StartUp> = self.overheads.values().flatten().copied().collect();
        let only = (self.overheads.len() == 1)
            .then(|| self.overheads.keys().next().cloned())
            .flatten();
        MeasuredOverhead::of(&pooled, only)
    }

    /// The hidden cost fitted over a suite's recent shards, if `report` has seen any.
    pub fn hidden_cost(&self, suite: &str, runner_class: &str) -> Option<HiddenCost> {
        HiddenCost::fit(self.shard_costs.get(&cost_key(suite, runner_class))?)
    }

    pub fn is_empty(&self) -> bool {
        self.classes.values().all(BTreeMap::is_empty)
    }

    pub fn item_count(&self) -> usize {
        self.classes.values().map(BTreeMap::len).sum()
    }

    pub fn sample_count(&self) -> usize {
        self.classes
            .values()
            .flat_map(BTreeMap::values)
            .map(Vec::len)
            .sum()
    }

    fn next_seq(&self) -> u64 {
        self.observations.last().map_or(0, |o| o.seq + 1)
    }

    /// Merges one observation as the newest. Merging one that is already present changes nothing.
    pub fn merge(&mut self, observed: &Observed) -> MergeOutcome {
        self.merge_durations(observed, None)
    }

    /// `merge`, taking the durations instead of copying them: what reading a history does.
    pub fn merge_owned(&mut self, mut observed: Observed) -> MergeOutcome {
        let durations = std::mem::take(&mut observed.durations);
        self.merge_durations(&observed, Some(durations))
    }

    /// Merges `observed`, whose durations are `owned` when given (and then not its own).
    fn merge_durations(
        &mut self,
        observed: &Observed,
        owned: Option<BTreeMap<ItemId, Micros>>,
    ) -> MergeOutcome {
        let id = match &owned {
            Some(durations) => observed.digest_of(durations),
            None => observed.digest(),
        };
        let count = owned
            .as_ref()
            .map_or(observed.durations.len(), BTreeMap::len);
        if self.observations.iter().any(|o| o.id == id) {
            return MergeOutcome {
                observations_already_present: 1,
                ..MergeOutcome::default()
            };
        }
        let seq = self.next_seq();
        self.observations.push(Observation {
            seq,
            id,
            source: observed.source.clone(),
            kind: observed.kind.clone(),
            runner_class: observed.runner_class.clone(),
            items: count,
            at: observed.at,
            commit: observed.run.as_ref().and_then(|r| r.commit.clone()),
            run_id: observed.run.as_ref().map(|r| r.run_id),
            attempt: observed.run.as_ref().map(|r| r.attempt),
        });
        let mut outcome = MergeOutcome {
            observations_added: 1,
            ..MergeOutcome::default()
        };
        if count > 0 {
            let keep = self.keep;
            let class = self
                .classes
                .entry(observed.runner_class.clone())
                .or_default();
            match owned {
                Some(d) => merge_sorted(
                    class,
                    d.into_iter().map(|(k, v)| (Cow::Owned(k), v)),
                    seq,
                    keep,
                    &mut outcome,
                ),
                None => merge_sorted(
                    class,
                    observed
                        .durations
                        .iter()
                        .map(|(k, v)| (Cow::Borrowed(k), *v)),
                    seq,
                    keep,
                    &mut outcome,
                ),
            }
        }
        let startups = observed.startups.iter().map(|&(q, s)| StartUp(q, s, seq));
        push_newest(
            &mut self.overheads,
            &observed.runner_class,
            startups,
            KEEP_STARTUPS,
        );
        if let Some((key, costs)) = &observed.shard_costs {
            let costs = costs
                .iter()
                .map(|&(files, hidden)| ShardCost(files, hidden, seq));
            push_newest(&mut self.shard_costs, key, costs, KEEP_SHARD_COSTS);
        }
        for (test, flaky) in &observed.failures {
            push_newest(
                &mut self.failures,
                test,
                [Failure(seq, *flaky)],
                KEEP_FAILURES,
            );
        }
        self.forget_unreferenced_observations();
        outcome
    }

    /// Merges another store's observations, oldest first, as newer than this store's.
    pub fn merge_store(&mut self, other: &Store, source: &str) -> MergeOutcome {
        let mut outcome = MergeOutcome::default();
        for obs in &other.observations {
            if self.observations.iter().any(|o| o.id == obs.id) {
                outcome.observations_already_present += 1;
                continue;
            }
            let durations: BTreeMap<ItemId, Micros> = other
                .classes
                .get(&obs.runner_class)
                .into_iter()
                .flatten()
                .filter_map(|(item, samples)| {
                    samples
                        .iter()
                        .find(|s| s.observation() == obs.seq)
                        .map(|s| (item.clone(), s.duration()))
                })
                .collect();
            let startups: Vec<StartUp> = other
                .overheads
                .get(&obs.runner_class)
                .into_iter()
                .flatten()
                .filter(|s| s.observation() == obs.seq)
                .copied()
                .collect();
            let costs: Vec<(&String, Vec<ShardCost>)> = other
                .shard_costs
                .iter()
                .map(|(key, c)| (key, c.iter().filter(|c| c.2 == obs.seq).copied().collect()))
                .filter(|(_, c): &(_, Vec<ShardCost>)| !c.is_empty())
                .collect();
            let failures: Vec<(&String, bool)> = other
                .failures
                .iter()
                .filter_map(|(test, f)| f.iter().find(|f| f.0 == obs.seq).map(|f| (test, f.1)))
                .collect();
            // A fetched run with nothing usable is kept: it tells the next fetch to skip it.
            if durations.is_empty()
                && startups.is_empty()
                && costs.is_empty()
                && failures.is_empty()
                && obs.run_id.is_none()
            {
                continue;
            }
            let seq = self.next_seq();
            let mut record = obs.clone();
            record.seq = seq;
            if record.source.is_empty() {
                source.clone_into(&mut record.source);
            }
            record.items = durations.len();
            self.observations.push(record);
            outcome.observations_added += 1;
            if !durations.is_empty() {
                let keep = self.keep;
                let class = self.classes.entry(obs.runner_class.clone()).or_default();
                for (item, ms) in durations {
                    push_sample(class, item, Sample(ms, seq), keep, &mut outcome);
                }
            }
            let startups = startups
                .into_iter()
                .map(|s| StartUp(s.queue(), s.setup(), seq));
            push_newest(
                &mut self.overheads,
                &obs.runner_class,
                startups,
                KEEP_STARTUPS,
            );
            for (test, flaky) in failures {
                push_newest(
                    &mut self.failures,
                    test,
                    [Failure(seq, flaky)],
                    KEEP_FAILURES,
                );
            }
            for (key, c) in costs {
                let c = c.into_iter().map(|c| ShardCost(c.0, c.1, seq));
                push_newest(&mut self.shard_costs, key, c, KEEP_SHARD_COSTS);
            }
        }
        self.forget_unreferenced_observations();
        outcome
    }

    /// When the newest dated observation was timed (undated ones, flat files, do not count).
    pub fn newest_at(&self) -> Option<DateTime<Utc>> {
        self.observations.iter().filter_map(|o| o.at).max()
    }

    /// Keeps every observation a sample points at, and the newest unreferenced ones up to a cap,
    /// so that re-merging a recent input is still recognised.
    /// The items of each runner class whose newest sample comes from a run more than `span`
    /// before the class's newest run: tests renamed or deleted, which would otherwise stay in the
    /// store, and in every plan without an item list, for ever. Only dated observations (JUnit
    /// timestamps, workflow runs) count; an item last seen in an undated one is kept.
    pub fn stale_items(&self, span: chrono::Duration) -> BTreeMap<String, Vec<ItemId>> {
        let at: BTreeMap<u64, DateTime<Utc>> = self
            .observations
            .iter()
            .filter_map(|o| o.at.map(|t| (o.seq, t)))
            .collect();
        let mut stale = BTreeMap::new();
        for (class, items) in &self.classes {
            let newest = items
                .values()
                .flat_map(|s| s.iter())
                .filter_map(|s| at.get(&s.observation()))
                .max();
            let Some(cutoff) = newest.and_then(|n| n.checked_sub_signed(span)) else {
                continue;
            };
            let old: Vec<ItemId> = items
                .iter()
                .filter(|(_, samples)| {
                    samples
                        .iter()
                        .map(|s| s.observation())
                        .max()
                        .and_then(|seq| at.get(&seq))
                        .is_some_and(|t| *t < cutoff)
                })
                .map(|(id, _)| id.clone())
                .collect();
            if !old.is_empty() {
                stale.insert(class.clone(), old);
            }
        }
        stale
    }

    /// Removes the items `stale_items` found; how many.
    pub fn retire(&mut self, stale: &BTreeMap<String, Vec<ItemId>>) -> usize {
        let mut n = 0;
        for (class, ids) in stale {
            if let Some(items) = self.classes.get_mut(class) {
                for id in ids {
                    n += usize::from(items.remove(id).is_some());
                }
            }
        }
        self.classes.retain(|_, items| !items.is_empty());
        n
    }

    fn forget_unreferenced_observations(&mut self) {
        if self.observations.len() <= MAX_OBSERVATIONS {
            return;
        }
        let mut referenced = std::collections::BTreeSet::new();
        for samples in self.classes.values().flat_map(BTreeMap::values) {
            referenced.extend(samples.iter().map(|s| s.observation()));
        }
        for startups in self.overheads.values() {
            referenced.extend(startups.iter().map(|s| s.observation()));
        }
        for costs in self.shard_costs.values() {
            referenced.extend(costs.iter().map(|c| c.2));
        }
        for failures in self.failures.values() {
            referenced.extend(failures.iter().map(|f| f.0));
        }
        let mut spare = MAX_OBSERVATIONS.saturating_sub(referenced.len());
        let mut kept: Vec<Observation> = Vec::with_capacity(self.observations.len());
        for obs in self.observations.drain(..).rev() {
            if referenced.contains(&obs.seq) {
                kept.push(obs);
            } else if spare > 0 {
                spare -= 1;
                kept.push(obs);
            }
        }
        kept.reverse();
        self.observations = kept;
    }

    /// Why replacing `old` with `self` would lose history, if it would: an item `old` has that
    /// `self` lacks, or fewer samples of one than `self` keeps room for.
    pub fn loses_from(&self, old: &Store) -> Option<String> {
        if self.keep < old.keep {
            return Some(format!(
                "the new store keeps {} samples per item where the old one kept {}",
                self.keep, old.keep
            ));
        }
        for (class, items) in &old.classes {
            let new_items = self.classes.get(class);
            for (item, samples) in items {
                let have = new_items.and_then(|m| m.get(item)).map_or(0, Vec::len);
                if have < samples.len().min(self.keep) {
                    return Some(if have == 0 {
                        format!("item `{item}` (runner class `{class}`) would be dropped")
                    } else {
                        format!(
                            "item `{item}` (runner class `{class}`) would keep {have} of its {} samples",
                            samples.len()
                        )
                    });
                }
            }
        }
        if let Some((class, have, had)) = fewer(&old.overheads, &self.overheads, KEEP_STARTUPS) {
            return Some(format!(
                "the start-up overhead of runner class `{class}` would keep {have} of its {had} jobs"
            ));
        }
        if let Some((key, have, had)) = fewer(&old.shard_costs, &self.shard_costs, KEEP_SHARD_COSTS)
        {
            return Some(format!(
                "the shard costs of suite {key} would keep {have} of their {had}"
            ));
        }
        if let Some((test, have, had)) = fewer(&old.failures, &self.failures, KEEP_FAILURES) {
            return Some(format!(
                "test `{test}` would keep {have} of its {had} recorded failures"
            ));
        }
        None
    }

    /// The store as JSON: the header pretty-printed, then one line per item, so that a store kept
    /// in git diffs by item.
    pub fn to_json(&self) -> String {
        let mut out = String::new();
        let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
        let _ = writeln!(out, "{{");
        let _ = writeln!(out, "  \"format\": {},", q(&self.format));
        let _ = writeln!(out, "  \"version\": {},", self.version);
        let _ = writeln!(out, "  \"keep\": {},", self.keep);
        let _ = write!(out, "  \"observations\": [");
        for (i, o) in self.observations.iter().enumerate() {
            let sep = if i == 0 { "\n" } else { ",\n" };
            let line = serde_json::to_string(o).unwrap_or_default();
            let _ = write!(out, "{sep}    {line}");
        }
        let close = if self.observations.is_empty() {
            ""
        } else {
            "\n  "
        };
        let _ = writeln!(out, "{close}],");
        let _ = write!(out, "  \"classes\": {{");
        for (ci, (class, items)) in self.classes.iter().enumerate() {
            let sep = if ci == 0 { "\n" } else { ",\n" };
            let _ = write!(out, "{sep}    {}: {{", q(class));
            for (ii, (item, samples)) in items.iter().enumerate() {
                let sep = if ii == 0 { "\n" } else { ",\n" };
                let s = serde_json::to_string(samples).unwrap_or_default();
                let _ = write!(out, "{sep}      {}: {s}", q(&item.0));
            }
            let close = if items.is_empty() { "" } else { "\n    " };
            let _ = write!(out, "{close}}}");
        }
        let close = if self.classes.is_empty() { "" } else { "\n  " };
        let _ = write!(out, "{close}}}");
        write_keyed(&mut out, "overheads", &self.overheads);
        write_keyed(&mut out, "shard_costs", &self.shard_costs);
        write_keyed(&mut out, "failures", &self.failures);
        let _ = writeln!(out);
        let _ = writeln!(out, "}}");
        out
    }
}

/// The first key whose list `new` holds fewer of than `old` did (up to `keep`, the most a list
/// holds): the key, how many `new` holds, how many `old` did.
fn fewer<'a, T>(
    old: &'a BTreeMap<String, Vec<T>>,
    new: &BTreeMap<String, Vec<T>>,
    keep: usize,
) -> Option<(&'a str, usize, usize)> {
    old.iter().find_map(|(key, list)| {
        let have = new.get(key).map_or(0, Vec::len);
        (have < list.len().min(keep)).then_some((key.as_str(), have, list.len()))
    })
}

/// Appends `new` to the list under `key` (made when there is anything to put in it), keeping its
/// newest `keep`.
fn push_newest<T>(
    map: &mut BTreeMap<String, Vec<T>>,
    key: &str,
    new: impl IntoIterator<Item = T>,
    keep: usize,
) {
    let mut new = new.into_iter().peekable();
    if new.peek().is_none() {
        return;
    }
    let kept = map.entry(key.to_owned()).or_default();
    kept.extend(new);
    let excess = kept.len().saturating_sub(keep);
    kept.drain(..excess);
}

/// A map of lists, one line per key, after the fields before it; nothing when it is empty.
fn write_keyed<T: Serialize>(out: &mut String, name: &str, map: &BTreeMap<String, Vec<T>>) {
    if map.is_empty() {
        return;
    }
    let q = |s: &str| serde_json::to_string(s).unwrap_or_default();
    let _ = write!(out, ",\n  {}: {{", q(name));
    for (i, (key, list)) in map.iter().enumerate() {
        let sep = if i == 0 { "\n" } else { ",\n" };
        let s = serde_json::to_string(list).unwrap_or_default();
        let _ = write!(out, "{sep}    {}: {s}", q(key));
    }
    let _ = write!(out, "\n  }}");
}

/// Adds one observation's durations (each the newest sample of its item, at most `keep` kept)
/// by walking the two sorted maps side by side: a tree insertion per item compared its long,
/// shared-prefix ids a log of the store's size times over.
fn merge_sorted<'a>(
    class: &mut BTreeMap<ItemId, Vec<Sample>>,
    durations: impl ExactSizeIterator<Item = (Cow<'a, ItemId>, Micros)>,
    seq: u64,
    keep: usize,
    outcome: &mut MergeOutcome,
) {
    let old = std::mem::take(class);
    let mut merged: Vec<(ItemId, Vec<Sample>)> = Vec::with_capacity(old.len() + durations.len());
    let mut new = durations.peekable();
    let fresh = |d: Micros, outcome: &mut MergeOutcome| {
        // Most items keep one sample or a few: room for one, not the four a first push makes.
        let mut samples = Vec::with_capacity(1);
        append_sample(&mut samples, Sample(d, seq), keep, outcome);
        outcome.new_items += 1;
        samples
    };
    for (id, mut samples) in old {
        while let Some((nid, d)) = new.next_if(|(nid, _)| **nid < id) {
            merged.push((nid.into_owned(), fresh(d, outcome)));
        }
        if let Some((_, d)) = new.next_if(|(nid, _)| **nid == id) {
            append_sample(&mut samples, Sample(d, seq), keep, outcome);
        }
        merged.push((id, samples));
    }
    for (nid, d) in new {
        merged.push((nid.into_owned(), fresh(d, outcome)));
    }
    // In order already: the tree is built from it without comparing ids again.
    *class = merged.into_iter().collect();
}

/// Appends a sample as the item's newest, keeping at most `keep`.
fn push_sample(
    class: &mut BTreeMap<ItemId, Vec<Sample>>,
    item: ItemId,
    sample: Sample,
    keep: usize,
    outcome: &mut MergeOutcome,
) {
    let samples = class.entry(item).or_insert_with(|| {
        outcome.new_items += 1;
        Vec::new()
    });
    append_sample(samples, sample, keep, outcome);
}

/// Adds `sample` as the newest of `samples`, keeping at most `keep`.
fn append_sample(
    samples: &mut Vec<Sample>,
    sample: Sample,
    keep: usize,
    outcome: &mut MergeOutcome,
) {
    samples.push(sample);
    if samples.len() > keep {
        let excess = samples.len() - keep;
        samples.drain(..excess);
    }
    outcome.samples_added += 1;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn observed(pairs: &[(&str, u64)]) -> Observed {
        Observed {
            source: "t".into(),
            kind: "flat-map".into(),
            runner_class: "default".into(),
            at: None,
            durations: pairs
                .iter()
                .map(|&(k, v)| (ItemId::from(k), Micros::ms(v)))
                .collect(),
            ..Default::default()
        }
    }

    #[test]
    fn merging_the_same_observation_twice_changes_nothing() {
        let mut s = Store::new(5);
        let o = observed(&[("a", 10), ("b", 20)]);
        s.merge(&o);
        let once = s.clone();
        let again = s.merge(&o);
        assert_eq!(again.observations_already_present, 1);
        assert_eq!(s, once);
    }

    /// The side-by-side merge gives what one insertion per item gave, whatever the overlap.
    #[test]
    fn merging_sorted_equals_inserting_one_by_one() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for round in 0..200 {
            let (mut fast, mut slow) = (BTreeMap::new(), BTreeMap::new());
            let (mut a, mut b) = (MergeOutcome::default(), MergeOutcome::default());
            for seq in 0..4 {
                let durations: BTreeMap<ItemId, Micros> = (0..next() % 30)
                    .map(|_| {
                        (
                            ItemId::new(format!("t{}", next() % 40)),
                            Micros(next() % 1000),
                        )
                    })
                    .collect();
                merge_sorted(
                    &mut fast,
                    durations.iter().map(|(k, v)| (Cow::Borrowed(k), *v)),
                    seq,
                    3,
                    &mut a,
                );
                for (id, &d) in &durations {
                    push_sample(&mut slow, id.clone(), Sample(d, seq), 3, &mut b);
                }
            }
            assert_eq!(fast, slow, "round {round}");
            assert_eq!(a, b, "round {round}");
        }
    }

    #[test]
    fn keeps_the_most_recent_samples() {
        let mut s = Store::new(3);
        for v in 1..=5 {
            s.merge(&observed(&[("a", v)]));
        }
        let samples: Vec<u64> = s.classes["default"][&ItemId::from("a")]
            .iter()
            .map(|x| x.duration().as_millis())
            .collect();
        assert_eq!(samples, [3, 4, 5]);
    }

    #[test]
    fn json_round_trips() {
        let mut s = Store::new(4);
        s.merge(&observed(&[("a \"quoted\"", 10), ("b", 20)]));
        s.merge(&observed(&[("a \"quoted\"", 12)]));
        let back: Store = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(back, s);
        let empty: Store = serde_json::from_str(&Store::new(2).to_json()).unwrap();
        assert_eq!(empty, Store::new(2));
    }

    #[test]
    fn a_store_missing_an_item_loses_data() {
        let mut old = Store::new(4);
        old.merge(&observed(&[("a", 10), ("b", 20)]));
        let mut new = Store::new(4);
        new.merge(&observed(&[("a", 10)]));
        assert!(new.loses_from(&old).unwrap().contains("`b`"));
        assert_eq!(old.loses_from(&new), None);
    }

    fn run_observed(run_id: u64, attempt: u32, pairs: &[(&str, u64)]) -> Observed {
        Observed {
            kind: "github-jobs".into(),
            runner_class: "ubuntu-latest".into(),
            run: Some(RunRef {
                run_id,
                attempt,
                commit: Some("abc".into()),
            }),
            startups: vec![(Micros::ms(2_000), Micros::ms(30_000))],
            ..observed(pairs)
        }
    }

    #[test]
    fn runs_with_equal_timings_are_two_observations_and_carry_their_start_ups() {
        let mut s = Store::new(5);
        s.merge(&run_observed(7, 1, &[("lint", 60_000)]));
        s.merge(&run_observed(8, 1, &[("lint", 60_000)]));
        assert_eq!(s.observations.len(), 2);
        assert_eq!(s.classes["ubuntu-latest"][&ItemId::from("lint")].len(), 2);
        assert!(s.has_run(7, 1) && s.has_run(8, 1) && !s.has_run(7, 2));
        assert_eq!(s.observations[0].commit.as_deref(), Some("abc"));
        assert_eq!(s.overheads["ubuntu-latest"].len(), 2);
        let m = s.measured_overhead(&["macos-14", "ubuntu-latest"]).unwrap();
        assert_eq!(m.total, Micros::ms(32_000));
        assert_eq!(m.class.as_deref(), Some("ubuntu-latest"));

        let back: Store = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(back, s);

        // A run with nothing usable is remembered, and makes no empty class.
        let mut marker = run_observed(9, 2, &[]);
        marker.startups.clear();
        s.merge(&marker);
        assert!(s.has_run(9, 2));
        assert_eq!(s.classes.len(), 1);

        let mut copy = Store::new(5);
        copy.merge_store(&s, "s.json");
        assert!(copy.has_run(9, 2));
        assert_eq!(copy.overheads, s.overheads);
        assert_eq!(copy.loses_from(&s), None);
        assert!(Store::new(5).loses_from(&s).is_some());
        let mut fewer = copy.clone();
        fewer.overheads.get_mut("ubuntu-latest").unwrap().pop();
        assert!(fewer.loses_from(&s).unwrap().contains("start-up overhead"));
    }

    #[test]
    fn merging_a_store_brings_its_observations_once() {
        let mut a = Store::new(5);
        a.merge(&observed(&[("x", 1)]));
        let mut b = Store::new(5);
        b.merge(&observed(&[("x", 2), ("y", 3)]));
        let first = a.merge_store(&b, "b.json");
        assert_eq!(first.observations_added, 1);
        let second = a.merge_store(&b, "b.json");
        assert_eq!(second.observations_added, 0);
        assert_eq!(a.classes["default"][&ItemId::from("x")].len(), 2);
    }

    /// Runs of `t/a.py::x`, oldest first: `P` passed (timed), `F` failed, `K` failed and passed
    /// in the same run.
    fn history_of(outcomes: &str) -> Store {
        let mut store = Store::default();
        for (k, o) in outcomes.chars().enumerate() {
            let mut obs = observed(&[("t/a.py::y", 100 + k as u64)]);
            match o {
                'P' => {
                    obs.durations.insert("t/a.py::x".into(), Micros::ms(10));
                }
                'F' => obs.failures.push(("t/a.py::x".into(), false)),
                _ => obs.failures.push(("t/a.py::x".into(), true)),
            }
            store.merge(&obs);
        }
        store
    }

    #[test]
    fn a_known_flake_alternates_or_flaked_in_a_run_and_a_fix_is_not_one() {
        let record = |o: &str| history_of(o).flake_record_with("t/a.py::x", None);
        assert_eq!(record("PPPP"), None, "never failed");
        let r = record("PFPF").unwrap();
        assert_eq!((r.runs, r.failures, r.known_flaky), (4, 2, true));
        // Broken, then fixed: one change of outcome is no flake; nor is breaking once.
        assert!(!record("PPFFPP").unwrap().known_flaky);
        assert!(!record("PPPF").unwrap().known_flaky);
        assert!(
            record("PPKP").unwrap().known_flaky,
            "it flaked within a run"
        );
        // Only the newest runs count: an old alternation is forgotten.
        let old = format!("PFPF{}", "F".repeat(KEEP_FAILURES));
        let r = record(&old).unwrap();
        assert_eq!(
            (r.runs, r.failures, r.known_flaky),
            (KEEP_FAILURES, KEEP_FAILURES, false)
        );
    }

    #[test]
    fn failures_survive_a_store_merge_and_are_never_dropped() {
        let store = history_of("PFPF");
        let mut copy = Store::default();
        copy.merge_store(&store, "s");
        assert_eq!(
            copy.flake_record_with("t/a.py::x", None),
            store.flake_record_with("t/a.py::x", None)
        );
        let json = store.to_json();
        let back: Store = serde_json::from_str(&json).unwrap();
        assert_eq!(back, store);
        let mut less = store.clone();
        less.failures.clear();
        assert!(
            less.loses_from(&store)
                .is_some_and(|w| w.contains("t/a.py::x") && w.contains("failures")),
        );
    }
}
