//! Edits to a workflow's text that move only what they change: comments, key order, quoting,
//! anchors and blank lines stay as the user wrote them. The edits go through yamlpatch (a
//! tree-sitter view of the file, the node's own span rewritten), except the one it cannot do
//! in place: an entry dropped from a flow sequence (`needs: [a, b]`), rewritten here within the
//! sequence's span.

use std::fmt;

use yamlpatch::{Op, Patch, apply_yaml_patches};
use yamlpath::{Component, Document, FeatureKind, Route};

/// One change to a workflow.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "change", rename_all = "kebab-case")]
pub enum Change {
    /// Sets `jobs.<job>.timeout-minutes`.
    Timeout { job: String, minutes: u64 },
    /// Drops `need` from `jobs.<job>.needs` (the key goes when it was the last).
    DropNeed { job: String, need: String },
    /// Adds a workflow-level `concurrency` that cancels a pull request's superseded runs and
    /// never a push's (each push run is a group of its own).
    Concurrency,
    /// Splits `jobs.<job>` into `shards` shards planned by the planner.
    Shard { job: String, shards: usize },
}

/// The workflow-level concurrency `Change::Concurrency` adds.
pub const CONCURRENCY_GROUP: &str = "${{ github.workflow }}-${{ startsWith(github.event_name, 'pull_request') && github.ref || github.run_id }}";
pub const CONCURRENCY_CANCEL: &str = "${{ startsWith(github.event_name, 'pull_request') }}";

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Timeout { job, minutes } => {
                write!(f, "`{job}`: timeout-minutes: {minutes}")
            }
            Change::DropNeed { job, need } => write!(f, "`{job}`: no longer needs `{need}`"),
            Change::Concurrency => f.write_str(
                "concurrency: a pull request's superseded runs cancelled, never a push's",
            ),
            Change::Shard { job, shards } => write!(f, "`{job}`: split into {shards} shards"),
        }
    }
}

/// Why a change could not be made.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{change}: {message}")]
pub struct EditError {
    pub change: String,
    pub message: String,
}

fn route<'a>(keys: &[&'a str]) -> Route<'a> {
    Route::from(keys.iter().map(|&k| Component::from(k)).collect::<Vec<_>>())
}

/// `text` with every change made, in order.
pub fn apply(text: &str, changes: &[Change]) -> Result<String, EditError> {
    let mut text = text.to_owned();
    for change in changes {
        let fail = |message: String| EditError {
            change: change.to_string(),
            message,
        };
        let doc = Document::new(text.as_str()).map_err(|e| fail(e.to_string()))?;
        let patch = |route: Route, operation: Op| patch_doc(&doc, route, operation, &fail);
        text = match change {
            Change::Timeout { job, minutes } => {
                let value = serde_yaml::Value::Number((*minutes).into());
                let at = route(&["jobs", job, "timeout-minutes"]);
                if doc.query_exists(&at) {
                    patch(at, Op::Replace(value))?
                } else {
                    patch(
                        route(&["jobs", job]),
                        Op::Add {
                            key: "timeout-minutes".to_owned(),
                            value,
                        },
                    )?
                }
            }
            Change::DropNeed { job, need } => drop_need(&doc, job, need, &fail)?,
            Change::Shard { job, shards } => shard(&text, job, *shards, &fail)?,
            Change::Concurrency => {
                let mut value = serde_yaml::Mapping::new();
                value.insert("group".into(), CONCURRENCY_GROUP.into());
                value.insert("cancel-in-progress".into(), CONCURRENCY_CANCEL.into());
                patch(
                    Route::default(),
                    Op::Add {
                        key: "concurrency".to_owned(),
                        value: serde_yaml::Value::Mapping(value),
                    },
                )?
            }
        };
    }
    Ok(text)
}

/// Applies `op` at `route` of `text`.
fn patched(
    text: &str,
    route: Route,
    operation: Op,
    fail: &dyn Fn(String) -> EditError,
) -> Result<String, EditError> {
    let doc = Document::new(text).map_err(|e| fail(e.to_string()))?;
    patch_doc(&doc, route, operation, fail)
}

/// Applies `op` at `route` of a document already parsed.
fn patch_doc(
    doc: &Document,
    route: Route,
    operation: Op,
    fail: &dyn Fn(String) -> EditError,
) -> Result<String, EditError> {
    apply_yaml_patches(doc, &[Patch { route, operation }])
        .map(|d| d.source().to_owned())
        .map_err(|e| fail(e.to_string()))
}

/// `text` with the span of `route`'s value replaced by `new`.
fn respan(
    text: &str,
    at: &Route,
    new: &str,
    fail: &dyn Fn(String) -> EditError,
) -> Result<String, EditError> {
    let doc = Document::new(text).map_err(|e| fail(e.to_string()))?;
    let feature = doc
        .query_exact(at)
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(|| fail("nothing to rewrite".to_owned()))?;
    let (from, to) = feature.location.byte_span;
    Ok(format!("{}{new}{}", &text[..from], &text[to..]))
}

/// `Change::Shard`: see `shard_job`.
fn shard(
    text: &str,
    job: &str,
    shards: usize,
    fail: &dyn Fn(String) -> EditError,
) -> Result<String, EditError> {
    use super::shard_job::{
        Names, gate_job, keep_junit_step, plan_job, report_job, shard_steps, shard_test_step,
        test_step, unshardable, work_dir,
    };
    let whole: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| fail(e.to_string()))?;
    let j = &whole["jobs"][job];
    if let Some(why) = unshardable(j) {
        return Err(fail(format!("not sharded: {why}")));
    }
    let steps = j["steps"].as_sequence().cloned().unwrap_or_default();
    let (p, line) = test_step(j).ok_or_else(|| fail("no test step".to_owned()))?;
    let names = Names::of(job);
    let action = crate::runner::action_ref();
    let display = j["name"].as_str().unwrap_or(job).to_owned();
    let at = |keys: &[&'static str]| -> Route<'_> {
        let mut r: Vec<Component> = vec!["jobs".into(), job.into()];
        r.extend(keys.iter().map(|&k| Component::from(k)));
        Route::from(r)
    };
    let mut appended = shard_steps(&names, &action, line.runner);
    appended.push(shard_test_step(&steps[p], &line));
    appended.push(keep_junit_step(&names, work_dir(j, &steps[p]).as_deref()));
    appended.extend(steps[p + 1..].iter().cloned());
    let mut text = replace_steps_from(text, &at(&["steps"]), p, steps.len(), appended, fail)?;
    // needs: the plan first.
    text = add_need(&text, &at(&["needs"]), &at(&[]), &names.plan, fail)?;
    let skip = format!("needs.{}.outputs.skip != 'true'", names.plan);
    text = match j["if"].as_str() {
        Some(cond) => patched(
            &text,
            at(&["if"]),
            Op::Replace(format!("({cond}) && {skip}").into()),
            fail,
        )?,
        None => patched(
            &text,
            at(&[]),
            Op::Add {
                key: "if".to_owned(),
                value: skip.into(),
            },
            fail,
        )?,
    };
    let shard_name: serde_yaml::Value =
        format!("{display} ${{{{ matrix.shard }}}}/${{{{ matrix.total }}}}").into();
    text = if j.get("name").is_some() {
        patched(&text, at(&["name"]), Op::Replace(shard_name), fail)?
    } else {
        patched(
            &text,
            at(&[]),
            Op::Add {
                key: "name".to_owned(),
                value: shard_name,
            },
            fail,
        )?
    };
    let mut strategy = serde_yaml::Mapping::new();
    strategy.insert("fail-fast".into(), false.into());
    strategy.insert(
        "matrix".into(),
        format!("${{{{ fromJSON(needs.{}.outputs.matrix) }}}}", names.plan).into(),
    );
    text = patched(
        &text,
        at(&[]),
        Op::Add {
            key: "strategy".to_owned(),
            value: strategy.into(),
        },
        fail,
    )?;
    // The shards fetch the plan through the API (a re-run of a failed shard sees the first
    // attempt's artifacts no other way): the token must read actions where permissions are set.
    let reads = |p: &serde_yaml::Value| p.get("actions").is_some() || p.as_str().is_some();
    if j.get("permissions")
        .is_some_and(serde_yaml::Value::is_mapping)
    {
        if !reads(&j["permissions"]) {
            text = patched(&text, at(&["permissions"]), read_actions(), fail)?;
        }
    } else if j.get("permissions").is_none()
        && whole
            .get("permissions")
            .is_some_and(serde_yaml::Value::is_mapping)
        && !reads(&whole["permissions"])
    {
        let top = Route::from(vec![Component::from("permissions")]);
        text = patched(&text, top, read_actions(), fail)?;
    }
    let added = [
        (
            names.plan.clone(),
            plan_job(j, &steps[..p], &steps[p], &line, shards, &names, &action),
        ),
        (names.report.clone(), report_job(job, &names, &action)),
        (names.gate.clone(), gate_job(job, &display, &names)),
    ];
    append_jobs(&text, &added, fail)
}

/// The edit that lets a `permissions:` mapping read actions.
fn read_actions() -> Op<'static> {
    Op::Add {
        key: "actions".to_owned(),
        value: "read".into(),
    }
}

/// `text` with `jobs` added at the end of its `jobs:`, written block style at the indentation
/// of the jobs already there. (yamlpatch's Add misplaces a value nested deeper than one level.)
fn append_jobs(
    text: &str,
    jobs: &[(String, serde_yaml::Value)],
    fail: &dyn Fn(String) -> EditError,
) -> Result<String, EditError> {
    let doc = Document::new(text).map_err(|e| fail(e.to_string()))?;
    let feature = doc
        .query_exact(&Route::from(vec![Component::from("jobs")]))
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(|| fail("the workflow has no jobs".to_owned()))?;
    let column = feature.location.point_span.0.1;
    let end = feature.location.byte_span.1;
    let pad = " ".repeat(column);
    let mut insert = String::new();
    for (key, value) in jobs {
        let mut one = serde_yaml::Mapping::new();
        one.insert(key.as_str().into(), value.clone());
        let yaml = serde_yaml::to_string(&one).map_err(|e| fail(e.to_string()))?;
        insert.push('\n');
        for line in yaml.lines() {
            insert.push('\n');
            if !line.is_empty() {
                insert.push_str(&pad);
                insert.push_str(line);
            }
        }
    }
    // The jobs' span may end with its last newline: one blank line between jobs, not two.
    let head = &text[..end];
    let insert = if head.ends_with('\n') {
        &insert[1..]
    } else {
        &insert[..]
    };
    Ok(format!("{head}{insert}{}", &text[end..]))
}

/// The steps at `steps` from `from` on (of `len`) replaced by `new`: those before are left as
/// they are, comments and all.
fn replace_steps_from(
    text: &str,
    steps: &Route,
    from: usize,
    len: usize,
    new: Vec<serde_yaml::Value>,
    fail: &dyn Fn(String) -> EditError,
) -> Result<String, EditError> {
    let mut text = text.to_owned();
    for k in (from..len).rev() {
        text = patched(&text, steps.with_key(k), Op::Remove, fail)?;
    }
    for value in new {
        text = patched(&text, steps.clone(), Op::Append { value }, fail)?;
    }
    Ok(text)
}

/// `need` added to the needs at `needs` (of the job at `job`), as the file writes them.
fn add_need(
    text: &str,
    needs: &Route,
    job: &Route,
    need: &str,
    fail: &dyn Fn(String) -> EditError,
) -> Result<String, EditError> {
    let doc = Document::new(text).map_err(|e| fail(e.to_string()))?;
    if !doc.query_exists(needs) {
        return patched(
            text,
            job.clone(),
            Op::Add {
                key: "needs".to_owned(),
                value: serde_yaml::Value::Sequence(vec![need.into()]),
            },
            fail,
        );
    }
    let feature = doc.query_exact(needs).map_err(|e| fail(e.to_string()))?;
    let Some(feature) = feature else {
        return patched(
            text,
            needs.clone(),
            Op::Replace(serde_yaml::Value::String(need.to_owned())),
            fail,
        );
    };
    let written = doc.extract(&feature).trim().to_owned();
    match feature.kind() {
        FeatureKind::Scalar => respan(text, needs, &format!("[{written}, {need}]"), fail),
        FeatureKind::FlowSequence => {
            let inner = written.trim_start_matches('[').trim_end_matches(']').trim();
            let list = if inner.is_empty() {
                need.to_owned()
            } else {
                format!("{inner}, {need}")
            };
            respan(text, needs, &format!("[{list}]"), fail)
        }
        _ => patched(text, needs.clone(), Op::Append { value: need.into() }, fail),
    }
}

/// A scalar as the file spells it, unquoted.
fn unquoted(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .or_else(|| s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')))
        .unwrap_or(s)
}

fn drop_need(
    doc: &Document,
    job: &str,
    need: &str,
    fail: &dyn Fn(String) -> EditError,
) -> Result<String, EditError> {
    let at = route(&["jobs", job, "needs"]);
    let feature = doc
        .query_exact(&at)
        .map_err(|e| fail(e.to_string()))?
        .ok_or_else(|| fail("the job's needs are empty".to_owned()))?;
    let span = feature.location.byte_span;
    let written = &doc.source()[span.0..span.1];
    let remove = |route: Route| patch_doc(doc, route, Op::Remove, fail);
    match feature.kind() {
        FeatureKind::Scalar if unquoted(written) == need => remove(at),
        FeatureKind::BlockSequence => {
            // The entries one by one, as the file spells them.
            let entry = |k: usize| at.with_key(k);
            let list: Vec<String> = (0..)
                .map_while(|k| doc.query_exact(&entry(k)).ok().flatten())
                .map(|f| unquoted(doc.extract(&f)).to_owned())
                .collect();
            let Some(k) = list.iter().position(|n| n == need) else {
                return Err(fail(format!("`{need}` is not among its needs")));
            };
            if list.len() == 1 {
                return remove(at);
            }
            remove(entry(k))
        }
        FeatureKind::FlowSequence => {
            // Within the brackets: the entries as written, the one dropped.
            let inner = written
                .trim()
                .strip_prefix('[')
                .and_then(|r| r.strip_suffix(']'))
                .ok_or_else(|| fail(format!("`{written}` is not a flow list")))?;
            let entries: Vec<&str> = inner
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .collect();
            let kept: Vec<&str> = entries
                .iter()
                .copied()
                .filter(|e| unquoted(e) != need)
                .collect();
            if kept.len() == entries.len() {
                return Err(fail(format!("`{need}` is not among its needs")));
            }
            if kept.is_empty() {
                return remove(at);
            }
            let source = doc.source();
            Ok(format!(
                "{}[{}]{}",
                &source[..span.0],
                kept.join(", "),
                &source[span.1..]
            ))
        }
        _ => Err(fail(format!(
            "its needs, `{written}`, are not a job or a list of jobs"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CI: &str = "# the project's CI
name: ci
on: [push, pull_request]   # both

jobs:
  lint:   # quick
    runs-on: ubuntu-latest
    steps:
      - run: echo lint
  test:
    needs: [lint, 'build']  # wait for both
    runs-on: ubuntu-latest
    # the long one
    steps:
      - run: echo test
  build:
    runs-on: ubuntu-latest
    timeout-minutes: 300
    needs:
      - lint
      - other
  other:
    needs: lint
    runs-on: ubuntu-latest
";

    fn changed(changes: &[Change]) -> String {
        apply(CI, changes).expect("the changes apply")
    }

    #[test]
    fn each_change_moves_only_its_node() {
        let out = changed(&[
            Change::Timeout {
                job: "lint".into(),
                minutes: 12,
            },
            Change::Timeout {
                job: "build".into(),
                minutes: 25,
            },
            Change::DropNeed {
                job: "test".into(),
                need: "lint".into(),
            },
            Change::DropNeed {
                job: "build".into(),
                need: "lint".into(),
            },
            Change::DropNeed {
                job: "other".into(),
                need: "lint".into(),
            },
            Change::Concurrency,
        ]);
        let want = CI
            .replace(
                "      - run: echo lint\n",
                "      - run: echo lint\n    timeout-minutes: 12\n",
            )
            .replace("timeout-minutes: 300", "timeout-minutes: 25")
            .replace("needs: [lint, 'build']", "needs: ['build']")
            .replace("      - lint\n      - other\n", "      - other\n")
            .replace("    needs: lint\n    runs-on", "    runs-on")
            + &format!(
                "concurrency:\n  group: {CONCURRENCY_GROUP}\n  cancel-in-progress: {CONCURRENCY_CANCEL}\n"
            );
        assert_eq!(out, want);
    }

    #[test]
    fn the_last_need_takes_its_key_with_it() {
        let out = changed(&[
            Change::DropNeed {
                job: "test".into(),
                need: "lint".into(),
            },
            Change::DropNeed {
                job: "test".into(),
                need: "build".into(),
            },
        ]);
        assert!(!out.contains("needs: ["), "{out}");
        assert!(
            out.contains("    runs-on: ubuntu-latest\n    # the long one"),
            "{out}"
        );
    }

    #[test]
    fn a_need_that_is_not_there_is_an_error_naming_it() {
        let e = apply(
            CI,
            &[Change::DropNeed {
                job: "other".into(),
                need: "build".into(),
            }],
        )
        .expect_err("other needs lint only");
        assert!(
            e.to_string().contains("`other`: no longer needs `build`"),
            "{e}"
        );
    }
}
