//! How each test runner is given exactly a shard's items, and nothing else.
//!
//! Each adapter turns item ids (as the planner reads them from that runner's JUnit) into
//! arguments for the runner's command. An invocation is a list of arguments; most runners take
//! one, `go test` one per package (a `-run` pattern applies to every package it is given).

use std::collections::BTreeMap;

use super::Runner;
use crate::timings::ItemId;
use crate::timings::align::is_playwright_id;

#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum AdapterError {
    #[error(
        "{runner} selects whole files, and `{id}` is one test of a file: plan this suite with `--by file`"
    )]
    NeedsFiles { runner: &'static str, id: String },
    #[error("item {id:?} holds a line break, which {runner} cannot be given")]
    LineBreak { runner: &'static str, id: String },
    #[error(
        "`{id}` is one of playwright's own test ids, not a file: list the spec files with --items, and the planner finds the file each id hashes from"
    )]
    TestIdHash { id: String },
    #[error(
        "item {id:?} starts with `-`, and {runner} would read it as an option: it has no way to be told where its options end"
    )]
    OptionLike { runner: &'static str, id: String },
}

/// Items given one to a line (or all on one) must hold no line break; `to` names what they are
/// given to, for the message.
pub fn one_line_each(items: &[ItemId], to: &'static str) -> Result<(), AdapterError> {
    match items.iter().find(|i| i.as_str().contains(['\n', '\r'])) {
        Some(id) => Err(AdapterError::LineBreak {
            runner: to,
            id: id.to_string(),
        }),
        None => Ok(()),
    }
}

/// `path` as a glob that matches that path only.
fn glob_escape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if matches!(
            c,
            '*' | '?' | '[' | ']' | '{' | '}' | '(' | ')' | '!' | '+' | '@' | '\\'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The invocations that run exactly `items` (in id order) of the suite's items `suite` (the
/// shard's among them); none for an empty shard.
pub fn runner_args(
    runner: Runner,
    items: &[ItemId],
    suite: &[ItemId],
) -> Result<Vec<Vec<String>>, AdapterError> {
    one_line_each(items, runner.name())?;
    if items.is_empty() {
        return Ok(Vec::new());
    }
    let ids = || items.iter().map(ItemId::as_str);
    let whole_files = |runner: Runner| -> Result<Vec<String>, AdapterError> {
        ids()
            .map(|id| {
                if crate::timings::is_test_id(id) {
                    Err(AdapterError::NeedsFiles {
                        runner: runner.name(),
                        id: id.to_owned(),
                    })
                } else {
                    Ok(id.to_owned())
                }
            })
            .collect()
    };
    // An id that starts with `-` must never reach a runner as an option (`--collect-only` once
    // made a shard pass having run nothing).
    let dashed = |id: &str| id.starts_with('-');
    let from_dot = |id: &str| {
        if dashed(id) {
            format!("./{id}")
        } else {
            id.to_owned()
        }
    };
    Ok(match runner {
        // Node ids and paths are what pytest takes. pytest reads options after `--` too, so an
        // id that starts with `-` is given as the same path from `./`.
        Runner::Pytest => vec![ids().map(from_dot).collect()],
        // rspec selects an example by line or by id, and rspec_junit_formatter reports neither:
        // only whole spec files can be given exactly. A file that starts with `-` goes from `./`
        // as for pytest (checked by running rspec).
        Runner::Rspec => vec![whole_files(runner)?.iter().map(|f| from_dot(f)).collect()],
        Runner::Nextest => vec![nextest_filtersets(items)],
        // Positional arguments are regular expressions to jest; --runTestsByPath makes them
        // exact paths.
        Runner::Jest => {
            let files = whole_files(runner)?;
            let mut args = vec!["--runTestsByPath".to_owned()];
            // jest ends its options at `--` (checked by running it).
            if files.iter().any(|f| dashed(f)) {
                args.push("--".to_owned());
            }
            args.extend(files);
            vec![args]
        }
        // vitest puts what follows `--` aside rather than reading it as files.
        Runner::Vitest => {
            let files = whole_files(runner)?;
            if let Some(id) = files.iter().find(|f| dashed(f)) {
                return Err(AdapterError::OptionLike {
                    runner: runner.name(),
                    id: id.clone(),
                });
            }
            // vitest runs every test file whose path holds a filter, whatever the case: a file
            // of the suite that holds one of the shard's, and is not one of them, is excluded
            // by name.
            let mine: std::collections::BTreeSet<String> =
                files.iter().map(|f| f.to_lowercase()).collect();
            let mut args = Vec::new();
            for other in suite.iter().map(ItemId::as_str) {
                let low = other.to_lowercase();
                if !mine.contains(&low) && mine.iter().any(|f| low.contains(f.as_str())) {
                    args.push("--exclude".to_owned());
                    args.push(glob_escape(other));
                }
            }
            args.extend(files);
            vec![args]
        }
        // Playwright matches each argument as a regular expression against the file's path:
        // escaped and anchored at a path boundary and the end, it matches that file only.
        Runner::Playwright => vec![
            whole_files(runner)?
                .into_iter()
                .map(|f| {
                    if is_playwright_id(&f) {
                        Err(AdapterError::TestIdHash { id: f })
                    } else {
                        Ok(f)
                    }
                })
                .collect::<Result<Vec<_>, _>>()?
                .iter()
                .map(|f| format!("(^|/){}$", regex_escape(f)))
                .collect(),
        ],
        // Filtersets, anchored patterns and `-run` expressions never start with `-`.
        Runner::Go => go_invocations(items),
    })
}

/// A filterset per argument pair (`-E EXPR`), many items to an expression, each expression
/// kept well under the 128 KiB a single argument may hold on Linux.
fn nextest_filtersets(items: &[ItemId]) -> Vec<String> {
    const MAX_EXPR: usize = 64 * 1024;
    let mut args = Vec::new();
    let mut expr = String::new();
    for id in items {
        let one = match id.as_str().split_once(' ') {
            Some((binary, test)) => format!(
                "(binary_id(={}) & test(={}))",
                filterset_escape(binary),
                filterset_escape(test)
            ),
            None => format!("binary_id(={})", filterset_escape(id.as_str())),
        };
        if !expr.is_empty() && expr.len() + one.len() + 3 > MAX_EXPR {
            args.push("-E".to_owned());
            args.push(std::mem::take(&mut expr));
        }
        if !expr.is_empty() {
            expr.push_str(" | ");
        }
        expr.push_str(&one);
    }
    if !expr.is_empty() {
        args.push("-E".to_owned());
        args.push(expr);
    }
    args
}

/// A matcher's text ends at `)`; a backslash escapes it (and itself).
fn filterset_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '\\' | ')' | ',') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

fn regex_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\.+*?()|[]{}^$/".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `go test -run` applies one pattern to every package given, so each package gets its own
/// invocation: `-run '^(?:TestA|TestB)$' PACKAGE`, or the whole package when the item is one.
/// A subtest (`TestA/case`) needs a pattern per level and gets an invocation of its own.
fn go_invocations(items: &[ItemId]) -> Vec<Vec<String>> {
    let mut by_package: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut whole: Vec<&str> = Vec::new();
    for id in items {
        match id.as_str().rsplit_once("::") {
            Some((package, test)) => by_package.entry(package).or_default().push(test),
            None => whole.push(id.as_str()),
        }
    }
    let mut out: Vec<Vec<String>> = Vec::new();
    if !whole.is_empty() {
        out.push(whole.iter().map(|p| (*p).to_owned()).collect());
    }
    for (package, tests) in by_package {
        let (top, sub): (Vec<&str>, Vec<&str>) = tests.into_iter().partition(|t| !t.contains('/'));
        if !top.is_empty() {
            let alternatives: Vec<String> = top.iter().map(|t| regex_escape(t)).collect();
            out.push(vec![
                "-run".to_owned(),
                format!("^(?:{})$", alternatives.join("|")),
                package.to_owned(),
            ]);
        }
        for t in sub {
            let levels: Vec<String> = t
                .split('/')
                .map(|l| format!("^{}$", regex_escape(l)))
                .collect();
            out.push(vec![
                "-run".to_owned(),
                levels.join("/"),
                package.to_owned(),
            ]);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(v: &[&str]) -> Vec<ItemId> {
        v.iter().map(|s| ItemId::from(*s)).collect()
    }

    /// vitest matches its filters by substring, ignoring case (checked by running it): a file
    /// of the suite whose path holds one of the shard's is excluded, its glob characters
    /// escaped; the shard's own files and the files that hold none are not.
    #[test]
    fn vitest_excludes_the_files_its_filters_would_catch() {
        let suite = ids(&[
            "src/math.test.js",
            "lib/SRC/math.test.js",
            "app/[id]/src/math.test.js",
            "src/util.test.js",
            "src/math.test.jsx",
        ]);
        assert_eq!(
            runner_args(Runner::Vitest, &ids(&["src/math.test.js"]), &suite).unwrap(),
            [[
                "--exclude",
                "lib/SRC/math.test.js",
                "--exclude",
                "app/\\[id\\]/src/math.test.js",
                "--exclude",
                "src/math.test.jsx",
                "src/math.test.js",
            ]]
        );
        assert_eq!(
            runner_args(Runner::Vitest, &ids(&["src/util.test.js"]), &suite).unwrap(),
            [["src/util.test.js"]]
        );
    }

    #[test]
    fn each_runner_gets_exact_selectors() {
        assert_eq!(
            runner_args(
                Runner::Nextest,
                &ids(&["sample tests::a", "sample::it"]),
                &[]
            )
            .unwrap(),
            [[
                "-E",
                "(binary_id(=sample) & test(=tests::a)) | binary_id(=sample::it)"
            ]]
        );
        assert_eq!(
            runner_args(Runner::Jest, &ids(&["src/a.test.js"]), &[]).unwrap(),
            [["--runTestsByPath", "src/a.test.js"]]
        );
        assert_eq!(
            runner_args(Runner::Playwright, &ids(&["tests/a.spec.ts"]), &[]).unwrap(),
            [["(^|/)tests\\/a\\.spec\\.ts$"]]
        );
        assert_eq!(
            runner_args(
                Runner::Go,
                &ids(&[
                    "example.com/m/b::TestB",
                    "example.com/m/a::TestA",
                    "example.com/m/a::TestC/case_1",
                    "example.com/m/a::TestA2"
                ]),
                &[]
            )
            .unwrap(),
            [
                vec!["-run", "^(?:TestA|TestA2)$", "example.com/m/a"],
                vec!["-run", "^TestC$/^case_1$", "example.com/m/a"],
                vec!["-run", "^(?:TestB)$", "example.com/m/b"],
            ]
        );
        assert!(
            runner_args(Runner::Pytest, &[], &[]).unwrap().is_empty(),
            "an empty shard runs nothing"
        );
    }

    #[test]
    fn file_runners_refuse_single_tests() {
        assert_eq!(
            runner_args(Runner::Vitest, &ids(&["src/a.test.ts::adds"]), &[]).unwrap_err(),
            AdapterError::NeedsFiles {
                runner: "vitest",
                id: "src/a.test.ts::adds".into()
            }
        );
    }

    #[test]
    fn large_shards_split_filtersets_under_the_argument_limit() {
        let many: Vec<ItemId> = (0..5000)
            .map(|i| ItemId::new(format!("crate::bin/integration tests::case_{i:05}")))
            .collect();
        let args = &runner_args(Runner::Nextest, &many, &many).unwrap()[0];
        assert!(args.len() > 2, "more than one expression");
        assert!(args.iter().all(|a| a.len() <= 64 * 1024));
        let joined = args
            .iter()
            .filter(|a| *a != "-E")
            .map(String::as_str)
            .collect::<Vec<_>>()
            .join(" | ");
        assert_eq!(joined.matches("test(=").count(), 5000);
    }
}
