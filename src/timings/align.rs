//! History and items named from different roots: the same files, one side under a folder the
//! other leaves out. playwright names files from its `testDir` (`math.spec.ts`) where
//! `git ls-files` names them from the repository (`e2e/math.spec.ts`); a runner started in a
//! sub-folder does the same. Found once for the whole list, as one folder to add or strip, so an
//! id never moves to a file it only happens to share a name with.

use std::collections::{BTreeMap, HashMap, HashSet};

use sha1::{Digest, Sha1};

use super::{ItemId, Sample};

/// The folder one side's ids are under and the other's are not.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reroot {
    /// The history leaves out this folder: add it to the history's ids.
    Add(String),
    /// The history names this folder and the items do not: strip it.
    Strip(String),
}

impl Reroot {
    /// The id as the items name it; `None` for an id that is not under the stripped folder.
    pub fn apply(&self, id: &str) -> Option<ItemId> {
        match self {
            Reroot::Add(p) => Some(ItemId::new(format!("{p}{id}"))),
            Reroot::Strip(p) => id.strip_prefix(p.as_str()).map(ItemId::from),
        }
    }

    /// For a message: what was done.
    pub fn describe(&self) -> String {
        match self {
            Reroot::Add(p) => format!("`{p}` added before the history's ids"),
            Reroot::Strip(p) => format!("`{p}` left out of the history's ids"),
        }
    }
}

/// The item list, indexed once for `find_reroot`: its names, and each name by what follows each
/// of its folders (`e2e/sub/a.ts` under `sub/a.ts` and `a.ts`), so that a history is matched
/// against it in the history's size, not the list's. A report's JUnit is matched against the same
/// plan's items once per report.
#[derive(Debug)]
pub struct Listed<'a> {
    names: HashSet<&'a str>,
    /// rest → (folder, whole name) for every `folder + rest` in the list.
    under: HashMap<&'a str, Vec<(&'a str, &'a str)>>,
}

impl<'a> Listed<'a> {
    pub fn new(ids: impl Iterator<Item = &'a str>) -> Self {
        let mut names = HashSet::new();
        let mut under: HashMap<&str, Vec<(&str, &str)>> = HashMap::new();
        for id in ids {
            names.insert(id);
            for (pos, _) in id.match_indices('/') {
                let (folder, rest) = id.split_at(pos + 1);
                if !rest.is_empty() {
                    under.entry(rest).or_default().push((folder, id));
                }
            }
        }
        Listed { names, under }
    }

    pub fn contains(&self, id: &str) -> bool {
        self.names.contains(id)
    }
}

/// The most counted folder; of equal counts the shortest, then the first in order.
fn best(counts: HashMap<&str, usize>) -> Option<(&str, usize)> {
    counts
        .into_iter()
        .max_by(|(pa, ca), (pb, cb)| ca.cmp(cb).then(pb.len().cmp(&pa.len())).then(pb.cmp(pa)))
}

/// The one folder that, added to or stripped from the history's ids, makes more of them name a
/// listed item than match as they are; `None` when none does.
pub fn find_reroot<'a>(
    history: impl Iterator<Item = &'a ItemId>,
    listed: &Listed<'_>,
) -> Option<Reroot> {
    let h: HashSet<&str> = history.map(ItemId::as_str).collect();
    let direct = h.iter().filter(|id| listed.contains(id)).count();
    let (mut add, mut strip): (HashMap<&str, usize>, HashMap<&str, usize>) = Default::default();
    for &id in h.iter().filter(|id| !listed.contains(id)) {
        // A history id `a.spec.ts` under a listed `e2e/a.spec.ts` that the history does not
        // hold as it is: add `e2e/` to the history.
        for &(folder, whole) in listed.under.get(id).into_iter().flatten() {
            if !h.contains(whole) {
                *add.entry(folder).or_default() += 1;
            }
        }
        // A history id `e2e/a.spec.ts` whose `a.spec.ts` is listed and not in the history as
        // it is: strip `e2e/`.
        for (pos, _) in id.match_indices('/') {
            let (folder, rest) = id.split_at(pos + 1);
            if !rest.is_empty() && listed.contains(rest) && !h.contains(rest) {
                *strip.entry(folder).or_default() += 1;
            }
        }
    }
    let candidates = [
        best(add).map(|(p, c)| (Reroot::Add(p.to_owned()), c)),
        best(strip).map(|(p, c)| (Reroot::Strip(p.to_owned()), c)),
    ];
    candidates
        .into_iter()
        .flatten()
        .filter(|(_, c)| *c > direct)
        .max_by(|(ra, ca), (rb, cb)| {
            ca.cmp(cb)
                .then(matches!(rb, Reroot::Add(_)).cmp(&matches!(ra, Reroot::Add(_))))
        })
        .map(|(r, _)| r)
}

/// `map` with the ids that `listed` does not hold renamed by `reroot`, where the new name is
/// listed and not already taken; the others as they were.
pub fn rerooted<V: Clone>(
    map: &BTreeMap<ItemId, V>,
    listed: impl Fn(&str) -> bool,
    reroot: &Reroot,
) -> BTreeMap<ItemId, V> {
    let mut out: BTreeMap<ItemId, V> = BTreeMap::new();
    let mut moved = Vec::new();
    for (id, v) in map {
        if !listed(id.as_str())
            && let Some(new) = reroot.apply(id.as_str())
            && listed(new.as_str())
        {
            moved.push((new, v.clone()));
        } else {
            out.insert(id.clone(), v.clone());
        }
    }
    for (id, v) in moved {
        out.entry(id).or_insert(v);
    }
    out
}

/// A history of tests (`tests/a.py::test_x`) for a list of files: each file's samples summed from
/// its tests', observation by observation, for the files the history does not hold itself. `None`
/// when the list holds no file (an id without `::`) or the history no test of a file it lacks.
pub fn tests_into_files(
    history: &BTreeMap<ItemId, Vec<Sample>>,
    listed: &[ItemId],
) -> Option<(BTreeMap<ItemId, Vec<Sample>>, usize)> {
    if !listed.iter().any(|id| !id.as_str().contains("::")) {
        return None;
    }
    let mut sums: BTreeMap<&str, BTreeMap<u64, super::Micros>> = BTreeMap::new();
    for (id, samples) in history {
        let Some((file, _)) = id.as_str().split_once("::") else {
            continue;
        };
        if file.is_empty() || history.contains_key(&ItemId::from(file)) {
            continue;
        }
        let per = sums.entry(file).or_default();
        for s in samples {
            *per.entry(s.observation()).or_default() += s.duration();
        }
    }
    if sums.is_empty() {
        return None;
    }
    let files = sums.len();
    let mut out = history.clone();
    for (file, per) in sums {
        out.insert(
            ItemId::from(file),
            per.into_iter().map(|(o, d)| Sample(d, o)).collect(),
        );
    }
    Some((out, files))
}

/// playwright's own test ids, `FILEID-TESTID`: 20 hex digits of the SHA-1 of the file's path
/// from `testDir`, a dash, 20 more of the test's.
pub fn is_playwright_id(id: &str) -> bool {
    let b = id.as_bytes();
    b.len() == 41
        && b[20] == b'-'
        && b.iter()
            .enumerate()
            .all(|(i, c)| i == 20 || c.is_ascii_digit() || (b'a'..=b'f').contains(c))
}

/// A history keyed by playwright's test ids (its `durations.json`), as the listed files: each id
/// goes to the listed file whose path, from some folder of it (the `testDir`), hashes to the id's
/// file part, and a file's samples of one observation add up. `None` when the history is not
/// mostly such ids; ids that name no listed file stay as they are. Also how many ids moved.
pub fn playwright_files(
    history: &BTreeMap<ItemId, Vec<Sample>>,
    listed: &[ItemId],
) -> Option<(BTreeMap<ItemId, Vec<Sample>>, usize)> {
    let hashed = history
        .keys()
        .filter(|id| is_playwright_id(id.as_str()))
        .count();
    if hashed * 2 <= history.len() {
        return None;
    }
    let file_id = |path: &str| {
        let digest = Sha1::digest(path.as_bytes());
        let mut hex = super::hex(&digest);
        hex.truncate(20);
        hex
    };
    // Every listed file under each of its folders, nearest first: `e2e/sub/a.spec.ts` is
    // `e2e/sub/a.spec.ts`, `sub/a.spec.ts` and `a.spec.ts` from the testDirs it may have.
    let mut files: HashMap<String, &ItemId> = HashMap::new();
    for item in listed {
        let path = item.as_str();
        let starts = std::iter::once(0).chain(path.match_indices('/').map(|(p, _)| p + 1));
        for start in starts {
            files.entry(file_id(&path[start..])).or_insert(item);
        }
    }
    let mut out: BTreeMap<ItemId, Vec<Sample>> = BTreeMap::new();
    let mut by_file: BTreeMap<&ItemId, BTreeMap<u64, super::Micros>> = BTreeMap::new();
    let mut moved = 0;
    for (id, samples) in history {
        let file = is_playwright_id(id.as_str())
            .then(|| files.get(&id.as_str()[..20]))
            .flatten();
        match file {
            Some(file) => {
                moved += 1;
                let per_obs = by_file.entry(file).or_default();
                for s in samples {
                    *per_obs.entry(s.observation()).or_default() += s.duration();
                }
            }
            None => {
                out.insert(id.clone(), samples.clone());
            }
        }
    }
    for (file, per_obs) in by_file {
        let samples = per_obs.into_iter().map(|(seq, d)| Sample(d, seq)).collect();
        out.insert(file.clone(), samples);
    }
    Some((out, moved))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timings::Micros;

    fn ids(v: &[&str]) -> Vec<ItemId> {
        v.iter().map(|s| ItemId::from(*s)).collect()
    }

    fn reroot_of(history: &[ItemId], listed: &[ItemId]) -> Option<Reroot> {
        find_reroot(
            history.iter(),
            &Listed::new(listed.iter().map(ItemId::as_str)),
        )
    }

    #[test]
    fn finds_the_folder_one_side_leaves_out() {
        let history = ids(&["math.spec.ts", "sub/strings.spec.ts"]);
        let listed = ids(&[
            "e2e/math.spec.ts",
            "e2e/sub/strings.spec.ts",
            "e2e/new.spec.ts",
        ]);
        assert_eq!(
            reroot_of(&history, &listed),
            Some(Reroot::Add("e2e/".into()))
        );
        assert_eq!(
            reroot_of(&listed, &history),
            Some(Reroot::Strip("e2e/".into()))
        );
        // Tests under their files move with them.
        let history = ids(&["math.spec.ts::adds"]);
        let listed = ids(&["e2e/math.spec.ts::adds"]);
        assert_eq!(
            reroot_of(&history, &listed),
            Some(Reroot::Add("e2e/".into()))
        );
    }

    #[test]
    fn leaves_a_history_that_matches_as_it_is() {
        // Most ids match as they are; one file shares a name with a file in a folder.
        let history = ids(&["a.py", "b.py", "c.py"]);
        let listed = ids(&["a.py", "b.py", "c.py", "sub/a.py"]);
        assert_eq!(reroot_of(&history, &listed), None);
        assert_eq!(reroot_of(&history, &history), None);
        assert_eq!(reroot_of(&history, &ids(&["x/y.py"])), None);
    }

    /// Ids as playwright 1.65 makes them: `math.spec.ts` from its testDir hashes to
    /// `1ea80860c8eab5452f69`, `sub/strings.spec.ts` to `af18343022fd097670b3`.
    #[test]
    fn playwright_ids_go_to_the_files_they_hash_from() {
        let sample = |ms, seq| Sample(crate::timings::Micros::ms(ms), seq);
        let history: BTreeMap<ItemId, Vec<Sample>> = [
            (
                "1ea80860c8eab5452f69-0b71ac4de6797cfe7fc0",
                vec![sample(57, 1)],
            ),
            (
                "1ea80860c8eab5452f69-ccb1b04ee56555d6146e",
                vec![sample(2, 1)],
            ),
            (
                "af18343022fd097670b3-a23f5743e7d74870b25f",
                vec![sample(35, 1)],
            ),
            (
                "ffffffffffffffffffff-a23f5743e7d74870b25f",
                vec![sample(9, 1)],
            ),
        ]
        .into_iter()
        .map(|(k, v)| (ItemId::from(k), v))
        .collect();
        let listed = ids(&["e2e/math.spec.ts", "e2e/sub/strings.spec.ts"]);
        let (files, moved) = playwright_files(&history, &listed).expect("playwright ids");
        assert_eq!(moved, 3);
        assert_eq!(files[&listed[0]], [sample(59, 1)], "a file's tests add up");
        assert_eq!(files[&listed[1]], [sample(35, 1)]);
        assert!(files.contains_key(&ItemId::from("ffffffffffffffffffff-a23f5743e7d74870b25f")));
        let plain: BTreeMap<ItemId, Vec<Sample>> =
            [(ItemId::from("a.spec.ts"), vec![sample(1, 1)])].into();
        assert_eq!(playwright_files(&plain, &listed), None);
    }

    #[test]
    fn renames_only_into_listed_free_names() {
        let map: BTreeMap<ItemId, u32> = [("a.ts", 1), ("b.ts", 2), ("gone.ts", 3)]
            .into_iter()
            .map(|(k, v)| (ItemId::from(k), v))
            .collect();
        let listed: HashSet<&str> = ["e2e/a.ts", "e2e/b.ts"].into_iter().collect();
        let out = rerooted(&map, |id| listed.contains(id), &Reroot::Add("e2e/".into()));
        let keys: Vec<&str> = out.keys().map(ItemId::as_str).collect();
        assert_eq!(keys, ["e2e/a.ts", "e2e/b.ts", "gone.ts"]);
    }

    #[test]
    fn a_files_history_is_its_tests_summed_by_observation() {
        let ms = |m: u64| Micros::ms(m);
        let mut history: BTreeMap<ItemId, Vec<Sample>> = BTreeMap::new();
        history.insert(
            "t/a.py::x".into(),
            vec![Sample(ms(10), 0), Sample(ms(12), 1)],
        );
        history.insert("t/a.py::y".into(), vec![Sample(ms(5), 1)]);
        history.insert("t/b.py".into(), vec![Sample(ms(7), 0)]);
        history.insert("t/b.py::z".into(), vec![Sample(ms(99), 0)]);
        let (out, files) = tests_into_files(&history, &ids(&["t/a.py", "t/b.py"])).unwrap();
        assert_eq!(files, 1, "t/b.py has its own history");
        assert_eq!(
            out[&ItemId::from("t/a.py")],
            vec![Sample(ms(10), 0), Sample(ms(17), 1)]
        );
        assert_eq!(out[&ItemId::from("t/b.py")], vec![Sample(ms(7), 0)]);
        assert!(tests_into_files(&history, &ids(&["t/a.py::x"])).is_none());
    }
}
