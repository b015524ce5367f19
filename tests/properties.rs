//! Properties of the invariants: exact cover, byte-identical output under shuffled input, and a
//! makespan between the lower bound and plain longest-first, for random item sets and N = 1..300.

#![expect(
    clippy::unwrap_used,
    reason = "a test: a failed unwrap is a failed test"
)]

use std::collections::BTreeMap;
use std::path::Path;

use gha_planner::plan::{assign, bound, lpt};
use gha_planner::timings::formats::{Unit, read_flat_map};
use gha_planner::timings::{Estimator, ItemId, Micros, Sample, Store};
use proptest::prelude::*;

/// A flat timing map's bytes with the entries in the given order.
fn flat_map(entries: &[(String, u64)]) -> Vec<u8> {
    let body: Vec<String> = entries
        .iter()
        .map(|(k, ms)| {
            format!(
                "{}: {}.{:03}",
                serde_json::to_string(k).unwrap(),
                ms / 1000,
                ms % 1000
            )
        })
        .collect();
    format!("{{{}}}", body.join(",\n")).into_bytes()
}

/// What `planner shard` prints for each K, from a flat map's bytes.
fn shards_of(bytes: &[u8], n: usize) -> Vec<Vec<String>> {
    let map = read_flat_map(Path::new("t.json"), bytes, Unit::Seconds, None).unwrap();
    let history: BTreeMap<ItemId, Vec<Sample>> = map
        .into_iter()
        .map(|(k, ms)| (k, vec![Sample(ms, 0)]))
        .collect();
    let estimates = Estimator::default().estimate(&history, None);
    let (ids, _, a) = assign(&estimates, n);
    (0..n)
        .map(|k| a.items_of(k).map(|i| ids[i].to_string()).collect())
        .collect()
}

fn items() -> impl Strategy<Value = Vec<(String, u64)>> {
    // Heavy-tailed durations with many ties, as real suites have.
    prop::collection::btree_map(
        "[a-c]{1,2}/[a-z_]{1,6}\\.py::t[0-9]{0,3}",
        prop_oneof![0u64..5, 5u64..500, 500u64..60_000, Just(1000u64)],
        1..400,
    )
    .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn shards_are_an_exact_cover_and_identical_under_shuffle(
        entries in items(),
        n in 1usize..=300,
        seed in any::<u64>(),
    ) {
        let mut shuffled = entries.clone();
        // Fisher–Yates with a small deterministic generator from the seed.
        let mut x = seed | 1;
        for i in (1..shuffled.len()).rev() {
            x ^= x << 13; x ^= x >> 7; x ^= x << 17;
            shuffled.swap(i, (x % (i as u64 + 1)) as usize);
        }
        let a = shards_of(&flat_map(&entries), n);
        let b = shards_of(&flat_map(&shuffled), n);
        prop_assert_eq!(&a, &b);

        let mut seen: Vec<&String> = a.iter().flatten().collect();
        seen.sort();
        let mut want: Vec<&String> = entries.iter().map(|(k, _)| k).collect();
        want.sort();
        prop_assert_eq!(seen, want);
        prop_assert_eq!(a.len(), n);
    }

    #[test]
    fn makespan_lies_between_the_bound_and_longest_first(
        weights in prop::collection::vec(prop_oneof![0u64..10, 10u64..10_000, 10_000u64..1_000_000], 1..300),
        n in 1usize..=300,
    ) {
        let w: Vec<Micros> = weights.into_iter().map(Micros).collect();
        let plain = lpt(&w, n).makespan();
        let refined = gha_planner::plan::partition(&w, n);
        prop_assert!(refined.makespan() >= bound(&w, n));
        prop_assert!(refined.makespan() <= plain);
        let total: u64 = w.iter().map(|m| m.0).sum();
        prop_assert_eq!(refined.loads.iter().map(|m| m.0).sum::<u64>(), total);
    }

    #[test]
    fn merging_is_idempotent(
        refreshes in prop::collection::vec(prop::collection::btree_map("[a-d]{1,3}", 0u64..10_000, 1..20), 1..6),
        keep in 1usize..8,
    ) {
        let observed = |i: usize, m: &BTreeMap<String, u64>| gha_planner::timings::Observed {
            source: format!("r{i}"),
            kind: "flat-map".into(),
            runner_class: "default".into(),
            at: None,
            durations: m.iter().map(|(k, v)| (ItemId::from(k.as_str()), Micros::ms(*v))).collect(),
            ..Default::default()
        };
        let mut once = Store::new(keep);
        for (i, r) in refreshes.iter().enumerate() {
            once.merge(&observed(i, r));
        }
        let mut twice = once.clone();
        for (i, r) in refreshes.iter().enumerate() {
            twice.merge(&observed(i, r));
        }
        prop_assert_eq!(&once, &twice);
        prop_assert!(once.classes.values().flat_map(|c| c.values()).all(|s| s.len() <= keep));
        prop_assert_eq!(once.loses_from(&once), None);
    }
}
