//! `ItemId`: the name of the smallest schedulable unit, and the family it belongs to (its file and
//! the directories above it), which is what estimates for never-seen items are drawn from.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A test, test file, class or CI job, named as the runner names it (`tests/a.py::test_x`,
/// `spec/models/user_spec.rb`, `my-crate::integration end_to_end`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ItemId(pub String);

impl ItemId {
    pub fn new(id: impl Into<String>) -> Self {
        ItemId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for ItemId {
    fn from(s: &str) -> Self {
        ItemId(s.to_owned())
    }
}

/// Whether an item names one test of a file (`FILE::TEST`, as pytest, jest, rspec and go ids
/// do here) rather than a whole file, class or package.
pub fn is_test_id(id: &str) -> bool {
    id.contains("::")
}

/// Whether an item reads as a path to a file: not a test of one, no spaces (a nextest test, a
/// JVM display name), and a folder or an extension.
pub fn looks_like_file(id: &str) -> bool {
    !is_test_id(id)
        && !id.contains(' ')
        && (id.contains('/')
            || id
                .rsplit_once('.')
                .is_some_and(|(_, ext)| (1..=5).contains(&ext.len())))
}

/// How many distinct files (`item_file`) the items come from.
pub fn file_count<'a>(ids: impl IntoIterator<Item = &'a ItemId>) -> usize {
    let mut files: Vec<&str> = ids.into_iter().map(|id| item_file(id.as_str())).collect();
    files.sort_unstable();
    files.dedup();
    files.len()
}

/// The file (or other container: a nextest binary, a JVM class, a playwright spec hash) an item
/// belongs to. For an item that is itself a file, the item.
pub fn item_file(id: &str) -> &str {
    // nextest names a test `binary-id test::path`: binary ids and test paths hold no spaces or
    // slashes, unlike pytest parameters (`f.py::t[a b]`) or jest titles (`a.test.js::x y`).
    if let Some((binary, _)) = id.split_once(' ')
        && !binary.contains(['/', '['])
        && !binary.is_empty()
    {
        return binary;
    }
    if let Some((file, _)) = id.split_once("::") {
        return file;
    }
    // playwright: `<20 hex: file>-<20 hex: test>`.
    if id.len() == 41
        && id.as_bytes()[20] == b'-'
        && id
            .bytes()
            .enumerate()
            .all(|(i, b)| i == 20 || b.is_ascii_hexdigit())
    {
        return &id[..20];
    }
    id
}

/// The groups above a file, nearest first: `a/b/c.py` → `a/b`, `a`. A JVM class
/// `org.acme.FooTest` → `org.acme`, `org`.
pub fn item_ancestors(file: &str) -> impl Iterator<Item = &str> {
    let sep = if file.contains('/') {
        '/'
    } else if file.contains('.')
        && !file.contains(' ')
        && file
            .rsplit('.')
            .next()
            .is_some_and(|last| last.starts_with(|c: char| c.is_ascii_uppercase()))
    {
        '.'
    } else {
        '/'
    };
    let mut rest = file;
    std::iter::from_fn(move || {
        let cut = rest.rfind(sep)?;
        rest = &rest[..cut];
        (!rest.is_empty()).then_some(rest)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_of_each_runner_family() {
        assert_eq!(
            item_file("tests/a/test_x.py::TestC::test_y[a b]"),
            "tests/a/test_x.py"
        );
        assert_eq!(
            item_file("spec/models/user_spec.rb"),
            "spec/models/user_spec.rb"
        );
        assert_eq!(
            item_file("my-crate::integration end_to_end"),
            "my-crate::integration"
        );
        assert_eq!(item_file("src/a.test.js::math adds"), "src/a.test.js");
        assert_eq!(
            item_file("a7c18d784a1185b030dc-16afe05b7d4ab44d2fbd"),
            "a7c18d784a1185b030dc"
        );
        assert_eq!(item_file("org.acme.FooTest::testBar"), "org.acme.FooTest");
    }

    #[test]
    fn ancestors_nearest_first() {
        let a: Vec<_> = item_ancestors("tests/unit/io/test_x.py").collect();
        assert_eq!(a, ["tests/unit/io", "tests/unit", "tests"]);
        let j: Vec<_> = item_ancestors("org.acme.FooTest").collect();
        assert_eq!(j, ["org.acme", "org"]);
        assert_eq!(item_ancestors("test_x.py").count(), 0);
    }
}
