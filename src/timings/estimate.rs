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

use std::collections::{BTreeMap, HashMap};

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
    SuiteMedian,
    Default,
}

impl EstimateSource {
    pub fn describe(self) -> &'static str {
        match self {
            EstimateSource::History => "from history",
            EstimateSource::SameFile => "same file",
            EstimateSource::SameDirectory => "same directory",
            EstimateSource::SuiteMedian => "suite median",
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
}

impl Default for Estimator {
    fn default() -> Self {
        Estimator {
            statistic: Statistic::Ewma(0.7),
            window: 5,
            default: Micros::ms(1000),
        }
    }
}

/// Estimates for a set of items, in id order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Estimates {
    pub items: BTreeMap<ItemId, (Micros, EstimateSource)>,
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

    /// Estimates for `items` (or, with `None`, for every item with history) from `history`.
    pub fn estimate(
        &self,
        history: &BTreeMap<ItemId, Vec<Sample>>,
        items: Option<&[ItemId]>,
    ) -> Estimates {
        let known: BTreeMap<&ItemId, Micros> = history
            .iter()
            .filter_map(|(id, samples)| {
                let ms: Vec<Micros> = samples.iter().map(|s| s.duration()).collect();
                self.of_samples(&ms).map(|m| (id, m))
            })
            .collect();
        let mut out = Estimates::default();
        let Some(items) = items else {
            out.items = known
                .into_iter()
                .map(|(id, ms)| (id.clone(), (ms, EstimateSource::History)))
                .collect();
            return out;
        };
        let mut family: Option<Family> = None;
        for id in items {
            let entry = if let Some(&ms) = known.get(id) {
                (ms, EstimateSource::History)
            } else {
                family
                    .get_or_insert_with(|| Family::new(&known))
                    .estimate(id.as_str())
                    .unwrap_or((self.default.max(Micros::ms(1)), EstimateSource::Default))
            };
            out.items.insert(id.clone(), entry);
        }
        out
    }
}

/// Medians of known estimates by file, by directory and over the suite.
struct Family {
    by_file: HashMap<String, Micros>,
    by_dir: HashMap<String, Micros>,
    suite: Option<Micros>,
}

impl Family {
    fn new(known: &BTreeMap<&ItemId, Micros>) -> Self {
        let mut files: HashMap<String, Vec<Micros>> = HashMap::new();
        let mut dirs: HashMap<String, Vec<Micros>> = HashMap::new();
        for (id, &ms) in known {
            let file = item_file(id.as_str());
            files.entry(file.to_owned()).or_default().push(ms);
            for dir in item_ancestors(file) {
                dirs.entry(dir.to_owned()).or_default().push(ms);
            }
        }
        let all: Vec<Micros> = known.values().copied().collect();
        Family {
            by_file: files.into_iter().map(|(k, v)| (k, median(&v))).collect(),
            by_dir: dirs.into_iter().map(|(k, v)| (k, median(&v))).collect(),
            suite: (!all.is_empty()).then(|| median(&all)),
        }
    }

    fn estimate(&self, id: &str) -> Option<(Micros, EstimateSource)> {
        let file = item_file(id);
        // An item that is a file has no siblings in itself; its family starts at its directory.
        if file != id
            && let Some(&ms) = self.by_file.get(file)
        {
            return Some((ms, EstimateSource::SameFile));
        }
        for dir in item_ancestors(file) {
            if let Some(&ms) = self.by_dir.get(dir) {
                return Some((ms, EstimateSource::SameDirectory));
            }
        }
        self.suite.map(|ms| (ms, EstimateSource::SuiteMedian))
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

/// The median, at least 1 ms (an estimate is never zero).
fn median(values: &[Micros]) -> Micros {
    super::micros::median(values.to_vec())
        .unwrap_or_default()
        .max(Micros::ms(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: &[u64]) -> Vec<Micros> {
        v.iter().copied().map(Micros::ms).collect()
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
        let est = Estimator::default().estimate(&history, Some(&items));
        let got = |id: &str| est.items[&ItemId::from(id)];
        assert_eq!(
            got("tests/a/test_x.py::new"),
            (Micros::ms(200), EstimateSource::SameFile)
        );
        assert_eq!(
            got("tests/a/test_new.py::t"),
            (Micros::ms(300), EstimateSource::SameDirectory)
        );
        assert_eq!(
            got("other/test_q.py::t"),
            (Micros::ms(200), EstimateSource::SuiteMedian)
        );
        assert_eq!(
            got("tests/a/test_y.py::t1"),
            (Micros::ms(5000), EstimateSource::History)
        );

        let nothing = Estimator::default().estimate(&BTreeMap::new(), Some(&items));
        assert!(
            nothing
                .items
                .values()
                .all(|&(m, s)| m == Micros::ms(1000) && s == EstimateSource::Default)
        );
    }
}
