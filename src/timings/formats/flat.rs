//! Flat JSON maps of id → duration: pytest-split's `.test_durations`, Knapsack reports, and
//! playwright's `durations.json` (milliseconds). Nested maps of such maps (pytorch's
//! `{build_env: {test_config: {file: seconds}}}`) are read one group at a time: `FILE#env/config`.
//!
//! The JSON is read with a visitor rather than into a map, so that a duplicate id or a bad
//! duration is reported at its line instead of silently keeping the last one.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::de::{self, DeserializeSeed, MapAccess, Visitor};

use super::{IngestError, Unit};
use crate::timings::{ItemId, Micros};

enum Node {
    Leaf(Micros),
    Map(Vec<(String, Node)>),
}

struct NodeSeed<'a> {
    unit: Unit,
    key: &'a str,
}

impl<'de> DeserializeSeed<'de> for NodeSeed<'_> {
    type Value = Node;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Node, D::Error> {
        d.deserialize_any(self)
    }
}

impl NodeSeed<'_> {
    fn leaf<E: de::Error>(&self, v: f64) -> Result<Node, E> {
        let ms = match self.unit {
            Unit::Seconds => Micros::from_secs_f64(v),
            Unit::Millis => Micros::from_millis_f64(v),
        };
        ms.map(Node::Leaf)
            .map_err(|e| E::custom(format_args!("`{}`: {e}", self.key)))
    }
}

impl<'de> Visitor<'de> for NodeSeed<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a duration in {} or an object of them", self.unit.name())
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        self.leaf(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        self.leaf(v as f64)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        self.leaf(v as f64)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Err(E::custom(format_args!(
            "`{}`: expected a duration in {}, found null",
            self.key,
            self.unit.name()
        )))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Err(E::custom(format_args!(
            "`{}`: expected a duration in {}, found the string {v:?}",
            self.key,
            self.unit.name()
        )))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Err(E::custom(format_args!(
            "`{}`: expected a duration in {}, found {v}",
            self.key,
            self.unit.name()
        )))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        // Each key's hash, to the first entry with it: a key is compared only with keys of
        // the same hash, and never copied (a million-test map held every id twice).
        let mut seen: rustc_hash::FxHashMap<u64, usize> = rustc_hash::FxHashMap::default();
        let mut entries: Vec<(String, Node)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let hash = std::hash::BuildHasher::hash_one(&rustc_hash::FxBuildHasher, &key);
            let duplicate = match seen.get(&hash) {
                None => false,
                Some(&first) if entries[first].0 == key => true,
                // Another key with the same hash: compare with every key, which is rare.
                Some(_) => entries.iter().any(|(k, _)| *k == key),
            };
            if duplicate {
                return Err(de::Error::custom(format_args!("duplicate id `{key}`")));
            }
            seen.entry(hash).or_insert(entries.len());
            let node = map.next_value_seed(NodeSeed {
                unit: self.unit,
                key: &key,
            })?;
            // An empty id was stored and printed as a blank line, and `pytest @file` then ran
            // the whole suite. (An empty group name of a nested map, as pytorch's, is fine.)
            if matches!(node, Node::Leaf(_)) && key.trim().is_empty() {
                return Err(de::Error::custom(format_args!(
                    "an empty id{}, in the entry just before: every item needs a name",
                    if key.is_empty() {
                        String::new()
                    } else {
                        format!(" ({key:?})")
                    }
                )));
            }
            entries.push((key, node));
        }
        Ok(Node::Map(entries))
    }
}

/// Reads a flat map, or with `group` one group of a nested one.
pub fn read_flat_map(
    path: &Path,
    bytes: &[u8],
    unit: Unit,
    group: Option<&str>,
) -> Result<BTreeMap<ItemId, Micros>, IngestError> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let root = NodeSeed { unit, key: "" }
        .deserialize(&mut de)
        .and_then(|node| de.end().map(|()| node))
        .map_err(|e| IngestError::Json {
            path: path.to_owned(),
            line: e.line(),
            column: e.column(),
            message: strip_position(&e.to_string()),
        })?;
    let Node::Map(mut entries) = root else {
        return Err(IngestError::Unsupported {
            path: path.to_owned(),
            message: "expected a JSON object of id → duration".into(),
        });
    };
    let mut selector = group.unwrap_or("").trim_matches('/');
    let mut walked = String::new();
    loop {
        let leaves = entries
            .iter()
            .filter(|(_, n)| matches!(n, Node::Leaf(_)))
            .count();
        if leaves == entries.len() {
            if !selector.is_empty() {
                return Err(IngestError::NoSuchGroup {
                    path: path.to_owned(),
                    group: group.unwrap_or_default().to_owned(),
                    available: "none (this level holds durations)".into(),
                });
            }
            return Ok(entries
                .into_iter()
                .filter_map(|(k, n)| match n {
                    Node::Leaf(ms) => Some((ItemId(k), ms)),
                    Node::Map(_) => None,
                })
                .collect());
        }
        if leaves > 0 {
            return Err(IngestError::Unsupported {
                path: path.to_owned(),
                message: format!(
                    "{}mixes durations and nested objects",
                    if walked.is_empty() {
                        String::new()
                    } else {
                        format!("group `{walked}` ")
                    }
                ),
            });
        }
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        if selector.is_empty() {
            let example = format!("{walked}{}", first_leaf_path(&entries));
            return Err(IngestError::NestedMap {
                path: path.to_owned(),
                example: example.trim_start_matches('/').to_owned(),
                groups: list(&keys),
            });
        }
        // Group names may themselves hold `/` (`dynamo-unittest / dynamo-test (3.11)`): take the
        // longest key that the selector starts with, whole.
        let found = entries
            .iter()
            .enumerate()
            .filter(|(_, (k, _))| {
                selector == k.as_str()
                    || selector
                        .strip_prefix(k.as_str())
                        .is_some_and(|r| r.starts_with('/'))
            })
            .max_by_key(|(_, (k, _))| k.len())
            .map(|(i, _)| i);
        let Some(i) = found else {
            return Err(IngestError::NoSuchGroup {
                path: path.to_owned(),
                group: group.unwrap_or_default().to_owned(),
                available: list(&keys),
            });
        };
        let (key, node) = entries.swap_remove(i);
        selector = selector[key.len()..].trim_start_matches('/');
        walked.push_str(&key);
        walked.push('/');
        // Leaves were counted out above: the node is a map.
        if let Node::Map(inner) = node {
            entries = inner;
        }
    }
}

fn first_leaf_path(entries: &[(String, Node)]) -> String {
    let mut path = String::new();
    let mut level = entries;
    while let Some((k, Node::Map(inner))) = level.first() {
        if inner.iter().all(|(_, n)| matches!(n, Node::Leaf(_))) {
            path.push_str(k);
            break;
        }
        path.push_str(k);
        path.push('/');
        level = inner;
    }
    path
}

fn list(keys: &[&str]) -> String {
    const SHOWN: usize = 8;
    let mut s: Vec<String> = keys.iter().take(SHOWN).map(|k| format!("`{k}`")).collect();
    if keys.len() > SHOWN {
        s.push(format!("… ({} in all)", keys.len()));
    }
    s.join(", ")
}

/// serde_json appends " at line L column C"; the error carries those separately.
/// A serde message without its trailing ` at line L column C` (said apart, in its own words).
pub fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_owned(),
        None => msg.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str, group: Option<&str>) -> Result<BTreeMap<ItemId, Micros>, IngestError> {
        read_flat_map(Path::new("t.json"), json.as_bytes(), Unit::Seconds, group)
    }

    #[test]
    fn duplicate_ids_are_an_error_at_their_line() {
        let err = read("{\n\"a\": 1,\n\"b\": 2,\n\"a\": 3\n}", None)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.json:4:"), "{err}");
        assert!(err.contains("duplicate id `a`"), "{err}");
    }

    #[test]
    fn bad_durations_name_the_item_and_line() {
        let err = read("{\n\"a\": 1,\n\"b\": -2\n}", None)
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("t.json:3:"), "{err}");
        assert!(err.contains("`b`: duration -2 is negative"), "{err}");
        let err = read("{\"a\": null}", None).unwrap_err().to_string();
        assert!(err.contains("found null"), "{err}");
    }

    #[test]
    fn nested_groups_are_chosen_by_path_even_with_slashes_in_names() {
        let json = r#"{"env / x (3.11)": {"default": {"f": 1.5}}, "default": {"default": {"g": 2}, "slow": {"h": 3}}}"#;
        let err = read(json, None).unwrap_err().to_string();
        assert!(err.contains("#env / x (3.11)/default"), "{err}");
        let m = read(json, Some("env / x (3.11)/default")).unwrap();
        assert_eq!(m[&ItemId::from("f")], Micros::ms(1500));
        let m = read(json, Some("default/slow")).unwrap();
        assert_eq!(m.len(), 1);
        assert!(
            read(json, Some("default/nope"))
                .unwrap_err()
                .to_string()
                .contains("`slow`")
        );
    }
}

/// cypress-split's timings file, `{"durations": [{"spec": …, "duration": ms}, …]}`.
#[derive(serde::Deserialize)]
struct CypressSplitFile {
    durations: Vec<CypressSplitEntry>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CypressSplitEntry {
    spec: String,
    duration: f64,
}

/// Whether the JSON is an object whose first key is `durations` holding a list: cypress-split's
/// shape (a flat map's values are numbers).
fn is_cypress_split(bytes: &[u8]) -> bool {
    let mut rest = bytes.trim_ascii_start();
    let Some(r) = rest.strip_prefix(b"{") else {
        return false;
    };
    rest = r.trim_ascii_start();
    let Some(r) = rest.strip_prefix(b"\"durations\"") else {
        return false;
    };
    rest = r.trim_ascii_start();
    rest.strip_prefix(b":")
        .is_some_and(|r| r.trim_ascii_start().starts_with(b"["))
}

/// Reads cypress-split's timings (milliseconds per spec file), when the file has its shape; a
/// spec twice, an empty one or a bad duration is an error naming it and its line.
pub fn read_cypress_split(
    path: &Path,
    bytes: &[u8],
) -> Option<Result<BTreeMap<ItemId, Micros>, IngestError>> {
    if !is_cypress_split(bytes) {
        return None;
    }
    let file: CypressSplitFile = match serde_json::from_slice(bytes) {
        Ok(f) => f,
        Err(e) => {
            return Some(Err(IngestError::Json {
                path: path.to_owned(),
                line: e.line(),
                column: e.column(),
                message: strip_position(&e.to_string()),
            }));
        }
    };
    let field = |k: usize, spec: &str, message: String| {
        // The line of the entry's spec, found in the text (a spec is written as a JSON string).
        let quoted = serde_json::to_string(spec).unwrap_or_default();
        let line = bytes
            .windows(quoted.len().max(1))
            .position(|w| w == quoted.as_bytes())
            .map_or(1, |at| super::line_of(bytes, at));
        IngestError::Field {
            path: path.to_owned(),
            line,
            field: format!("durations[{k}]"),
            message,
        }
    };
    let mut out = BTreeMap::new();
    for (k, entry) in file.durations.into_iter().enumerate() {
        if entry.spec.trim().is_empty() {
            return Some(Err(field(
                k,
                &entry.spec,
                "an empty spec: every entry needs its file".into(),
            )));
        }
        let ms = match Micros::from_millis_f64(entry.duration) {
            Ok(ms) => ms,
            Err(e) => return Some(Err(field(k, &entry.spec, format!("`{}`: {e}", entry.spec)))),
        };
        if out.insert(ItemId(entry.spec.clone()), ms).is_some() {
            return Some(Err(field(
                k,
                &entry.spec,
                format!("`{}` appears twice", entry.spec),
            )));
        }
    }
    Some(Ok(out))
}
