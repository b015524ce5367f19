//! Estimates: item → expected duration, from an item's recent samples, or, for an item never
//! seen, from its family: the same file, then the nearest directory, then the suite's median,
//! then a default. An estimate for an unseen item is never zero.
//!
//! The statistic and its window were chosen by measurement (`cargo bench --bench shard`, table 3;
//! the README, "how estimates are made"): on successive refreshes of two real projects' timing
//! files, planning from an exponentially weighted mean of the last five samples, the newest
//! weighing 0.7, and scoring on the next refresh gave the lowest makespan over the bound. Tests
//! change speed in steps (a fixture added, a sleep removed); a median of five lags a step by three
//! refreshes, while the last sample alone follows every bit of noise.

use std::collections::BTreeMap;

use rustc_hash::FxHashMap;

use serde::Serialize;

use super::{ItemId, Micros, Sample, item_ancestors, item_file};

/// How an item's samples become one number.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Statistic {
    /// The middle sample (the mean of the two middle ones for an even count).
    Median,
    Mean,
    /// The mean after dropping the lowest and highest sample (with three or more).
    TrimmedMean,
    /// Exponentially weighted, newest weighing `alpha`.
    Ewma(f64),
    /// The q-quantile, nearest rank, 0 < q ≤ 1.
    Quantile(f64),
    /// The newest sample only.
    Last,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EstimateSource {
    History,
    SameFile,
    SameDirectory,
    SuiteMean,
    Default,
}

impl EstimateSource {
    pub fn describe(self) -> &'static str {
        match self {
            EstimateSource::History => "from history",
            EstimateSource::SameFile => "same file",
            EstimateSource::SameDirectory => "same directory",
            EstimateSource::SuiteMean => "suite mean",
            EstimateSource::Default => "default",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Estimator {
    pub statistic: Statistic,
    /// How many of the most recent samples count.
    pub window: usize,
    /// What an item gets when nothing at all is known.
    pub default: Micros,
    /// How many known items' worth the wider group's mean weighs against a group's own, for an
    /// unseen item (0: the nearest group's mean alone; infinite: the suite's mean).
    pub prior_weight: f64,
}

impl Default for Estimator {
    fn default() -> Self {
        Estimator {
            statistic: Statistic::Ewma(0.7),
            window: 5,
            default: Micros::ms(1000),
            prior_weight: 0.0,
        }
    }
}

/// Estimates for a set of items, in id order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Estimates {
    pub items: BTreeMap<ItemId, (Micros, EstimateSource)>,
    /// How far an item's next time has fallen from its estimate, relative to it (see
    /// `Estimator::spread`), when twenty items or more have shown it.
    pub spread: Option<f64>,
    /// How many days before now the newest dated history was timed (unknown for undated files):
    /// the older, the more the suite may have drifted since.
    pub age_days: Option<u32>,
}

impl Estimates {
    pub fn count(&self, source: EstimateSource) -> usize {
        self.items.values().filter(|(_, s)| *s == source).count()
    }

    pub fn total(&self) -> Micros {
        self.items.values().map(|(ms, _)| *ms).sum()
    }

    pub fn durations(&self) -> impl Iterator<Item = (&ItemId, Micros)> {
        self.items.iter().map(|(id, (ms, _))| (id, *ms))
    }
}

impl Estimator {
    /// One item's estimate from its samples (oldest first), or `None` without samples.
    pub fn of_samples(&self, samples: &[Micros]) -> Option<Micros> {
        let recent = &samples[samples.len().saturating_sub(self.window.max(1))..];
        if recent.is_empty() {
            return None;
        }
        let us = match self.statistic {
            Statistic::Last => recent[recent.len() - 1].0,
            Statistic::Mean => mean(recent.iter().map(|m| m.0)),
            Statistic::Median => {
                let s = sorted(recent);
                let n = s.len();
                if n % 2 == 1 {
                    s[n / 2]
                } else {
                    (s[n / 2 - 1] + s[n / 2]).div_ceil(2)
                }
            }
            Statistic::TrimmedMean => {
                let s = sorted(recent);
                if s.len() >= 3 {
                    mean(s[1..s.len() - 1].iter().copied())
                } else {
                    mean(s.iter().copied())
                }
            }
            Statistic::Quantile(q) => {
                let s = sorted(recent);
                let rank = (q.clamp(0.0, 1.0) * s.len() as f64).ceil() as usize;
                s[rank.clamp(1, s.len()) - 1]
            }
            Statistic::Ewma(alpha) => {
                let mut acc = recent[0].0 as f64;
                for m in &recent[1..] {
                    acc = alpha * m.0 as f64 + (1.0 - alpha) * acc;
                }
                acc.round() as u64
            }
        };
        Some(Micros(us))
    }

    /// How far the estimate of an item's next run has been from what it took: over the items
    /// with two or more samples in the window, each newest sample against the estimate from the
    /// ones before it, √(Σ (actual − estimate)² ÷ Σ estimate²) (`Estimates::spread`). Weighted
    /// by time, as a shard's load is: a millisecond test that doubled does not widen the band.
    fn spread(&self, history: &BTreeMap<ItemId, Vec<Sample>>) -> Option<f64> {
        let window = self.window.max(1);
        let (mut err, mut scale, mut items) = (0f64, 0f64, 0usize);
        let mut buf = Vec::new();
        for samples in history.values() {
            let recent = &samples[samples.len().saturating_sub(window + 1)..];
            let Some((last, before)) = recent.split_last() else {
                continue;
            };
            buf.clear();
            buf.extend(before.iter().map(|s| s.duration()));
            let Some(forecast) = self.of_samples(&buf) else {
                continue;
            };
            let (f, a) = (forecast.0 as f64, last.0.0 as f64);
            err += (a - f) * (a - f);
            scale += f * f;
            items += 1;
        }
        (items >= 20 && scale > 0.0).then(|| (err / scale).sqrt())
    }

    /// `estimate` with no item list of a history of one observation, taking its durations:
    /// each item's statistic of its one sample; one sample shows no spread.
    pub fn estimate_one(&self, durations: BTreeMap<ItemId, Micros>) -> Estimates {
        Estimates {
            spread: None,
            age_days: None,
            items: durations
                .into_iter()
                .filter_map(|(id, d)| {
                    self.of_samples(&[d])
                        .map(|ms| (id, (ms, EstimateSource::History)))
                })
                .collect(),
        }
    }

    /// Estimates for `items` (or, with `None`, for every item with history) from `history`.
    pub fn estimate(
        &self,
        history: &BTreeMap<ItemId, Vec<Sample>>,
        items: Option<&[ItemId]>,
    ) -> Estimates {
        let mut out = Estimates {
            spread: self.spread(history),
            ..Estimates::default()
        };
        // One buffer for every item's samples, not an allocation each.
        let mut buf = Vec::new();
        let mut of = |samples: &[Sample]| {
            buf.clear();
            buf.extend(samples.iter().map(|s| s.duration()));
            self.of_samples(&buf)
        };
        let Some(items) = items else {
            out.items = history
                .iter()
                .filter_map(|(id, samples)| {
                    of(samples).map(|ms| (id.clone(), (ms, EstimateSource::History)))
                })
                .collect();
            return out;
        };
        let known: BTreeMap<&ItemId, Micros> = history
            .iter()
            .filter_map(|(id, samples)| of(samples).map(|m| (id, m)))
            .collect();
        let mut family: Option<Family> = None;
        let prior_weight = self.prior_weight;
        for id in items {
            let entry = if let Some(&ms) = known.get(id) {
                (ms, EstimateSource::History)
            } else {
                family
                    .get_or_insert_with(|| Family::new(&known, prior_weight))
                    .estimate(id.as_str())
                    .unwrap_or((self.default.max(Micros::ms(1)), EstimateSource::Default))
            };
            out.items.insert(id.clone(), entry);
        }
        out
    }
}

/// What the known items of each group (a test's parametrizations, its class, its file, each
/// directory above it) sum to and how many there are, for the unseen items' shrunk means.
struct Family<'a> {
    groups: FxHashMap<&'a str, (u128, u64)>,
    suite: (u128, u64),
    prior_weight: f64,
}

/// The groups of an item, nearest first, with what an estimate borrowed from each is called:
/// within its file (its name without parameters, then each `::` scope), its file, then each
/// directory.
fn groups_of(id: &str) -> impl Iterator<Item = (&str, EstimateSource)> {
    let file = item_file(id);
    let within = (file != id)
        .then(|| {
            let bare = id
                .strip_suffix(']')
                .and_then(|s| s.rfind('[').map(|i| &id[..i]))
                .filter(|b| b.len() > file.len());
            let scopes = id
                .rmatch_indices("::")
                .map(|(i, _)| &id[..i])
                .filter(|s| s.len() > file.len());
            bare.into_iter().chain(scopes)
        })
        .into_iter()
        .flatten()
        .chain((file != id).then_some(file))
        .map(|g| (g, EstimateSource::SameFile));
    within.chain(item_ancestors(file).map(|d| (d, EstimateSource::SameDirectory)))
}

impl<'a> Family<'a> {
    fn new(known: &BTreeMap<&'a ItemId, Micros>, prior_weight: f64) -> Self {
        let mut groups: FxHashMap<&'a str, (u128, u64)> = FxHashMap::default();
        let mut suite = (0u128, 0u64);
        for (id, &m) in known {
            let us = u128::from(m.0);
            suite = (suite.0 + us, suite.1 + 1);
            for (g, _) in groups_of(id.as_str()) {
                let e = groups.entry(g).or_default();
                *e = (e.0 + us, e.1 + 1);
            }
        }
        Family {
            groups,
            suite,
            prior_weight,
        }
    }

    /// The suite's mean, moved towards the mean of each group that holds the item, from the
    /// widest to the nearest: a group of c items with sum s gives (s + k·prior) ÷ (c + k). Means
    /// keep the expected total right where medians of skewed durations fall short; the weight k
    /// keeps a group of one or two from deciding alone.
    fn estimate(&self, id: &str) -> Option<(Micros, EstimateSource)> {
        if self.suite.1 == 0 {
            return None;
        }
        let mut est = self.suite.0 as f64 / self.suite.1 as f64;
        let mut source = EstimateSource::SuiteMean;
        let found: Vec<((u128, u64), EstimateSource)> = groups_of(id)
            .filter_map(|(g, src)| self.groups.get(g).map(|&stats| (stats, src)))
            .collect();
        for &((sum, count), src) in found.iter().rev() {
            let k = self.prior_weight;
            est = if k.is_finite() {
                (sum as f64 + k * est) / (count as f64 + k)
            } else {
                est
            };
            source = src;
        }
        Some((Micros(est.round() as u64).max(Micros::ms(1)), source))
    }
}

fn sorted(s: &[Micros]) -> Vec<u64> {
    let mut v: Vec<u64> = s.iter().map(|m| m.0).collect();
    v.sort_unstable();
    v
}

fn mean(values: impl Iterator<Item = u64>) -> u64 {
    let (sum, n) = values.fold((0u128, 0u128), |(s, n), v| (s + u128::from(v), n + 1));
    (sum + n / 2).checked_div(n).unwrap_or(0) as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::timings::ms_list as ms;

    proptest::proptest! {
        /// Estimates drawn directly from one observation's durations are the store's: the same
        /// items, each the same time, whatever the statistic and window.
        #[test]
        fn one_observation_estimates_as_its_store_does(
            times in proptest::collection::btree_map("[a-c/]{1,6}", 0u64..5_000_000, 0..60),
            pick in 0usize..6,
            window in 1usize..4,
        ) {
            let statistic = [
                Statistic::Median,
                Statistic::Mean,
                Statistic::TrimmedMean,
                Statistic::Ewma(0.7),
                Statistic::Quantile(0.9),
                Statistic::Last,
            ][pick];
            let e = Estimator { statistic, window, ..Estimator::default() };
            let durations: BTreeMap<ItemId, Micros> =
                times.into_iter().map(|(k, v)| (ItemId(k), Micros(v))).collect();
            let mut store = crate::timings::Store::default();
            store.merge(&crate::timings::Observed {
                runner_class: "default".into(),
                durations: durations.clone(),
                ..Default::default()
            });
            let empty = BTreeMap::new();
            let history = store.classes.get("default").unwrap_or(&empty);
            proptest::prop_assert_eq!(e.estimate_one(durations), e.estimate(history, None));
        }
    }

    #[test]
    fn statistics_over_the_window() {
        let samples = ms(&[1000, 10, 20, 30, 400, 50]);
        let e = |statistic| {
            Estimator {
                statistic,
                ..Estimator::default()
            }
            .of_samples(&samples)
        };
        // 10, 20, 30, 400, 50 weighted 0.7 towards the newest: 10, 17, 26.1, 287.83, 121.35
        assert_eq!(e(Statistic::Ewma(0.7)), Some(Micros(121_349)));
        // the window of five drops the oldest (1000)
        assert_eq!(e(Statistic::Median), Some(Micros::ms(30)));
        assert_eq!(e(Statistic::Mean), Some(Micros::ms(102)));
        assert_eq!(e(Statistic::TrimmedMean), Some(Micros(33_333)));
        assert_eq!(e(Statistic::Last), Some(Micros::ms(50)));
        assert_eq!(e(Statistic::Quantile(1.0)), Some(Micros::ms(400)));
        assert_eq!(Estimator::default().of_samples(&[]), None);
        // A test seen taking no measurable time is planned as such; only the unseen are floored.
        assert_eq!(
            Estimator::default().of_samples(&ms(&[0])),
            Some(Micros::ms(0))
        );
    }

    #[test]
    fn unseen_items_borrow_from_their_family() {
        let mut history = BTreeMap::new();
        for (id, v) in [
            ("tests/a/test_x.py::t1", 100),
            ("tests/a/test_x.py::t2", 300),
            ("tests/a/test_y.py::t1", 5000),
            ("tests/b/test_z.py::t1", 7),
        ] {
            history.insert(ItemId::from(id), vec![Sample(Micros::ms(v), 0)]);
        }
        let items: Vec<ItemId> = [
            "tests/a/test_x.py::new",
            "tests/a/test_new.py::t",
            "other/test_q.py::t",
            "tests/a/test_y.py::t1",
        ]
        .into_iter()
        .map(ItemId::from)
        .collect();
        let with = |prior_weight| {
            Estimator {
                prior_weight,
                ..Estimator::default()
            }
            .estimate(&history, Some(&items))
        };
        let got = |est: &Estimates, id: &str| est.items[&ItemId::from(id)];
        // The nearest group's mean alone (k = 0): a file's, a directory's, the suite's.
        let nearest = with(0.0);
        assert_eq!(
            got(&nearest, "tests/a/test_x.py::new"),
            (Micros::ms(200), EstimateSource::SameFile)
        );
        assert_eq!(
            got(&nearest, "tests/a/test_new.py::t"),
            (Micros::ms(1800), EstimateSource::SameDirectory)
        );
        assert_eq!(
            got(&nearest, "other/test_q.py::t"),
            (Micros(1_351_750), EstimateSource::SuiteMean)
        );
        assert_eq!(
            got(&nearest, "tests/a/test_y.py::t1"),
            (Micros::ms(5000), EstimateSource::History)
        );
        // k = 3: from the suite's 1351.75 through tests/ (the same four), tests/a (5400 over 3:
        // (5400 + 3 × 1351.75) ÷ 6 = 1575.875) to the file (400 over 2: 1025.525).
        let shrunk = with(3.0);
        assert_eq!(
            got(&shrunk, "tests/a/test_x.py::new"),
            (Micros(1_025_525), EstimateSource::SameFile)
        );
        assert_eq!(
            got(&shrunk, "tests/a/test_new.py::t"),
            (Micros(1_575_875), EstimateSource::SameDirectory)
        );
        // k infinite: every unseen item gets the suite's mean, as pytest-split gives it.
        let suite = with(f64::INFINITY);
        assert_eq!(
            got(&suite, "tests/a/test_x.py::new").0,
            got(&suite, "other/test_q.py::t").0
        );
        // The mean keeps the total where a median would not: a file of nine 1 ms tests and one
        // of 91 ms; ten new tests like them are planned at 100 ms together, not 10.
        let skewed: BTreeMap<ItemId, Vec<Sample>> = (0..10)
            .map(|i| {
                let ms = if i == 0 { 91 } else { 1 };
                (
                    ItemId::new(format!("t/test_s.py::t{i}")),
                    vec![Sample(Micros::ms(ms), 0)],
                )
            })
            .collect();
        let new: Vec<ItemId> = (0..10)
            .map(|i| ItemId::new(format!("t/test_s.py::new{i}")))
            .collect();
        assert_eq!(
            Estimator::default().estimate(&skewed, Some(&new)).total(),
            Micros::ms(100)
        );

        let nothing = Estimator::default().estimate(&BTreeMap::new(), Some(&items));
        assert!(
            nothing
                .items
                .values()
                .all(|&(m, s)| m == Micros::ms(1000) && s == EstimateSource::Default)
        );
    }

    #[test]
    fn a_new_parametrization_borrows_from_its_siblings_before_its_file() {
        let history: BTreeMap<ItemId, Vec<Sample>> = [
            ("tests/test_f.py::t[1]", 10),
            ("tests/test_f.py::t[2]", 30),
            ("tests/test_f.py::u", 1000),
            ("tests/test_f.py::C::v", 400),
            ("tests/test_f.py::C::w", 600),
        ]
        .into_iter()
        .map(|(id, ms)| (ItemId::from(id), vec![Sample(Micros::ms(ms), 0)]))
        .collect();
        let items = [
            "tests/test_f.py::t[3]",
            "tests/test_f.py::C::x",
            "tests/test_f.py::z",
        ]
        .map(ItemId::from);
        let est = Estimator {
            prior_weight: 0.0,
            ..Estimator::default()
        }
        .estimate(&history, Some(&items));
        let ms = |id: &str| est.items[&ItemId::from(id)].0;
        assert_eq!(
            ms("tests/test_f.py::t[3]"),
            Micros::ms(20),
            "t's parametrizations"
        );
        assert_eq!(ms("tests/test_f.py::C::x"), Micros::ms(500), "class C");
        assert_eq!(ms("tests/test_f.py::z"), Micros::ms(408), "the file");
    }
}
