//! `strategy.matrix` expanded into the jobs GitHub runs, named as GitHub shows them.
//!
//! The rules are GitHub's: the product of the keys in order; `exclude` drops every combination
//! that matches all of an entry's pairs; then each `include` entry is added to every original
//! combination whose original values it does not overwrite (values added by an earlier include
//! may be overwritten), and becomes a combination of its own when it fits none.

use serde_yaml::{Mapping, Value};

use super::model::{is_expression, scalar_string};

/// One combination: keys in the order GitHub lists their values in the job's name.
pub type Combination = Vec<(String, Value)>;

/// What a matrix expands to.
#[derive(Clone, Debug, PartialEq)]
pub enum Expansion {
    /// No matrix: the job runs once.
    Single,
    /// The combinations, in GitHub's order.
    Combinations(Vec<Combination>),
    /// Known only at run time (`fromJSON` of an output, say): the reason, quoted from the file.
    Dynamic(String),
    /// More combinations before `exclude` than are worth expanding (GitHub refuses over 256
    /// after it): how many, counted without building them.
    TooLarge(u128),
}

/// Past this many combinations before `exclude`, a matrix is counted, not expanded.
pub const MAX_EXPANDED: u128 = 65_536;

/// GitHub refuses a matrix of more jobs than this.
pub const MAX_COMBINATIONS: usize = 256;

pub fn expand(matrix: Option<&Value>) -> Expansion {
    let Some(matrix) = matrix else {
        return Expansion::Single;
    };
    let map = match matrix {
        Value::Mapping(m) => m,
        Value::String(s) if is_expression(s) => return Expansion::Dynamic(s.clone()),
        Value::Null => return Expansion::Single,
        _ => return Expansion::Dynamic(format!("{matrix:?}")),
    };
    let mut keys: Vec<(String, Vec<Value>)> = Vec::new();
    let mut include = Vec::new();
    let mut exclude = Vec::new();
    for (k, v) in map {
        let Some(k) = scalar_string(k) else { continue };
        let entries = |v: &Value| -> Result<Vec<Mapping>, String> {
            match v {
                Value::Sequence(list) => Ok(list
                    .iter()
                    .filter_map(|e| match e {
                        Value::Mapping(m) => Some(m.clone()),
                        _ => None,
                    })
                    .collect()),
                Value::String(s) => Err(format!("{k}: {s}")),
                _ => Err(format!("{k} is not a list")),
            }
        };
        match k.as_str() {
            "include" => match entries(v) {
                Ok(e) => include = e,
                Err(why) => return Expansion::Dynamic(why),
            },
            "exclude" => match entries(v) {
                Ok(e) => exclude = e,
                Err(why) => return Expansion::Dynamic(why),
            },
            _ => match v {
                Value::Sequence(values) => keys.push((k, values.clone())),
                Value::String(s) if is_expression(s) => {
                    return Expansion::Dynamic(format!("{k}: {s}"));
                }
                // A single value is a one-value list to GitHub.
                other => keys.push((k, vec![other.clone()])),
            },
        }
    }
    // A list whose values are expressions still has its length: `[${{ a }}, ${{ b }}]` is two
    // jobs, named with the expressions as written.

    // Counted before it is built: 10^8 combinations once ran out of memory.
    let count = keys
        .iter()
        .fold(1u128, |n, (_, vs)| n.saturating_mul(vs.len() as u128));
    if !keys.is_empty() && count > MAX_EXPANDED {
        return Expansion::TooLarge(count);
    }
    let mut combos: Vec<Combination> = if keys.is_empty() {
        Vec::new()
    } else {
        let mut acc: Vec<Combination> = vec![Vec::new()];
        for (k, values) in &keys {
            acc = acc
                .into_iter()
                .flat_map(|c| {
                    values.iter().map(move |v| {
                        let mut c = c.clone();
                        c.push((k.clone(), v.clone()));
                        c
                    })
                })
                .collect();
        }
        acc
    };
    combos.retain(|c| !exclude.iter().any(|e| matches_all(c, e)));

    let extra = apply_include(&mut combos, &keys, &include);
    combos.extend(extra);
    if combos.is_empty() {
        // GitHub skips a job whose matrix is empty; it still appears once in the graph.
        return Expansion::Combinations(Vec::new());
    }
    Expansion::Combinations(combos)
}

/// Adds each include entry to the original combinations it fits; returns those that fit none.
fn apply_include(
    combos: &mut [Combination],
    keys: &[(String, Vec<Value>)],
    include: &[Mapping],
) -> Vec<Combination> {
    let original = combos.len();
    let is_original_key = |k: &str| keys.iter().any(|(key, _)| key == k);
    let mut extra: Vec<Combination> = Vec::new();
    for entry in include {
        let mut fitted = false;
        for combo in combos.iter_mut().take(original) {
            let fits = entry.iter().all(|(k, v)| {
                let Some(k) = scalar_string(k) else {
                    return true;
                };
                !is_original_key(&k) || combo.iter().any(|(ck, cv)| *ck == k && cv == v)
            });
            if fits {
                fitted = true;
                for (k, v) in entry {
                    let Some(k) = scalar_string(k) else { continue };
                    if is_original_key(&k) {
                        continue;
                    }
                    match combo.iter_mut().find(|(ck, _)| *ck == k) {
                        Some(slot) => slot.1 = v.clone(),
                        None => combo.push((k, v.clone())),
                    }
                }
            }
        }
        if !fitted {
            extra.push(
                entry
                    .iter()
                    .filter_map(|(k, v)| scalar_string(k).map(|k| (k, v.clone())))
                    .collect(),
            );
        }
    }
    extra
}

fn matches_all(combo: &Combination, entry: &Mapping) -> bool {
    entry.iter().all(|(k, v)| {
        let Some(k) = scalar_string(k) else {
            return false;
        };
        combo
            .iter()
            .any(|(ck, cv)| *ck == k && value_matches(cv, v))
    })
}

/// An exclude entry matches an object value when every pair it gives matches (GitHub matches
/// partial objects).
fn value_matches(have: &Value, want: &Value) -> bool {
    match (have, want) {
        (Value::Mapping(h), Value::Mapping(w)) => w
            .iter()
            .all(|(k, wv)| h.get(k).is_some_and(|hv| value_matches(hv, wv))),
        _ => have == want,
    }
}

/// A value as GitHub prints it in a job's name: scalars as text, objects and lists by their
/// leaves, comma-separated.
pub fn display_value(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Sequence(list) => list
            .iter()
            .map(display_value)
            .collect::<Vec<_>>()
            .join(", "),
        Value::Mapping(m) => m.values().map(display_value).collect::<Vec<_>>().join(", "),
        Value::Tagged(t) => display_value(&t.value),
        other => scalar_string(other).unwrap_or_default(),
    }
}

/// Replaces `${{ matrix.key }}` (and `${{ matrix.key.sub }}`) with the combination's values.
/// Returns the text and whether any other expression is left in it.
pub fn substitute(text: &str, combo: &Combination) -> (String, bool) {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    let mut unresolved = false;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let Some(end) = after.find("}}") else {
            out.push_str(&rest[start..]);
            return (out, true);
        };
        let inner = after[..end].trim();
        if let Some(v) = lookup(inner, combo) {
            out.push_str(&display_value(v));
        } else {
            unresolved = true;
            out.push_str(&rest[start..start + 3 + end + 2]);
        }
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    (out, unresolved)
}

fn lookup<'c>(expr: &str, combo: &'c Combination) -> Option<&'c Value> {
    let path = expr.strip_prefix("matrix.")?;
    let mut parts = path.split('.');
    let first = parts.next()?;
    let mut v = combo.iter().find(|(k, _)| k == first).map(|(_, v)| v)?;
    for part in parts {
        if !part
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
        {
            return None;
        }
        v = v.as_mapping()?.get(part)?;
    }
    Some(v)
}

/// Whether a text refers to the matrix at all.
pub fn mentions_matrix(text: &str) -> bool {
    text.contains("matrix.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn combos(yaml: &str) -> Vec<String> {
        let v: Value = serde_yaml::from_str(yaml).unwrap();
        match expand(Some(&v)) {
            Expansion::Combinations(c) => c
                .iter()
                .map(|c| {
                    c.iter()
                        .map(|(k, v)| format!("{k}={}", display_value(v)))
                        .collect::<Vec<_>>()
                        .join(",")
                })
                .collect(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn include_follows_githubs_documented_example() {
        // The example in GitHub's docs, "Expanding or adding matrix configurations".
        let got = combos(
            "fruit: [apple, pear]
animal: [cat, dog]
include:
  - color: green
  - color: pink
    animal: cat
  - fruit: apple
    shape: circle
  - fruit: banana
  - fruit: banana
    animal: cat
",
        );
        assert_eq!(
            got,
            [
                "fruit=apple,animal=cat,color=pink,shape=circle",
                "fruit=apple,animal=dog,color=green,shape=circle",
                "fruit=pear,animal=cat,color=pink",
                "fruit=pear,animal=dog,color=green",
                "fruit=banana",
                "fruit=banana,animal=cat",
            ]
        );
    }

    #[test]
    fn exclude_drops_partial_matches_before_include_adds() {
        let got = combos(
            "os: [macos, windows]
version: [12, 14, 16]
environment: [staging, production]
exclude:
  - os: macos
    version: 12
    environment: production
  - os: windows
    version: 16
include:
  - os: windows
    version: 16
",
        );
        // GitHub's docs: 12 combinations, one macos and two windows excluded → 9, and the
        // include entry matches no remaining original combination, so it is added: 10.
        assert_eq!(got.len(), 10);
        assert!(!got.contains(&"os=macos,version=12,environment=production".to_owned()));
        assert_eq!(got.last().unwrap(), "os=windows,version=16");
    }

    #[test]
    fn expressions_make_a_matrix_dynamic() {
        let v: Value = serde_yaml::from_str("os: ${{ fromJSON(needs.a.outputs.os) }}").unwrap();
        assert!(matches!(expand(Some(&v)), Expansion::Dynamic(_)));
        let v: Value = serde_yaml::from_str("'${{ fromJSON(x) }}'").unwrap();
        assert!(matches!(expand(Some(&v)), Expansion::Dynamic(_)));
        let v: Value = serde_yaml::from_str("include: [{a: 1}, {a: 2}]").unwrap();
        assert_eq!(
            expand(Some(&v)),
            Expansion::Combinations(vec![
                vec![("a".into(), Value::from(1))],
                vec![("a".into(), Value::from(2))]
            ])
        );
    }

    #[test]
    fn matrix_references_are_substituted_others_kept() {
        let combo: Combination = vec![
            ("os".into(), Value::from("ubuntu-latest")),
            (
                "run".into(),
                serde_yaml::from_str("{target: x86, os: linux}").unwrap(),
            ),
        ];
        assert_eq!(
            substitute("${{ matrix.os }}", &combo),
            ("ubuntu-latest".into(), false)
        );
        assert_eq!(
            substitute("test ${{matrix.run.target}} on ${{ github.ref }}", &combo),
            ("test x86 on ${{ github.ref }}".into(), true)
        );
    }
}
