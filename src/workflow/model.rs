//! A workflow file as the planner needs it: its jobs, what they need, where they run.
//!
//! Read with serde_yaml into plain values first, then field by field, so that a wrong field is
//! reported by its path (`jobs.test.needs`) and everything the planner does not need is ignored.

use std::path::{Path, PathBuf};

use serde_yaml::{Mapping, Value};

use super::WorkflowError;

/// A workflow: its display name and its jobs in file order.
#[derive(Clone, Debug, PartialEq)]
pub struct Workflow {
    pub path: PathBuf,
    pub name: Option<String>,
    pub jobs: Vec<Job>,
}

/// One job as written (before the matrix is expanded).
#[derive(Clone, Debug, PartialEq)]
pub struct Job {
    pub id: String,
    /// The `name:` as written, expressions and all.
    pub name: Option<String>,
    pub needs: Vec<String>,
    pub runs_on: RunsOn,
    pub timeout_minutes: Option<Timeout>,
    /// The `if:` condition, as written.
    pub condition: Option<String>,
    /// `uses:` of a job that calls a reusable workflow.
    pub uses: Option<String>,
    pub concurrency: Option<String>,
    pub matrix: Option<Value>,
    /// `strategy.max-parallel`: at most this many of the job's matrix runs at once (a number;
    /// an expression is unknown until the run, and not counted).
    pub max_parallel: Option<usize>,
    /// The needed jobs whose outputs or results this job reads (`needs.<id>.…`).
    pub outputs_of: Vec<String>,
    /// A gate `optimize` wrote for the shards of this job: it is named as the job was, so the
    /// history under its name is the job's from before it was sharded, not the gate's.
    pub gate_of: Option<String>,
}

/// Where a job runs.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RunsOn {
    /// Labels a runner must have (one string or a list).
    Labels(Vec<String>),
    /// A runner group, with optional labels.
    Group { group: String, labels: Vec<String> },
    /// An expression known only at run time.
    Expression(String),
    /// A call of a reusable workflow: its own jobs choose.
    Reusable,
}

impl RunsOn {
    /// The label that names the runner pool this job draws from.
    pub fn pool(&self) -> String {
        match self {
            RunsOn::Labels(labels) => labels.first().cloned().unwrap_or_default(),
            RunsOn::Group { group, .. } => format!("group:{group}"),
            RunsOn::Expression(_) => "(decided at run time)".to_owned(),
            RunsOn::Reusable => "(reusable workflow)".to_owned(),
        }
    }
}

/// `timeout-minutes`: a number, or an expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Timeout {
    Minutes(f64),
    Expression(String),
}

/// Whether a string holds a `${{ }}` expression.
pub fn is_expression(s: &str) -> bool {
    s.contains("${{")
}

pub fn parse_workflow(text: &str, path: &Path) -> Result<Workflow, WorkflowError> {
    let value: Value = serde_yaml::from_str(text).map_err(|e| WorkflowError::Yaml {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    let field = |field: &str, expected: &str| WorkflowError::Field {
        path: path.to_owned(),
        field: field.to_owned(),
        expected: expected.to_owned(),
    };
    let Value::Mapping(top) = value else {
        return Err(field("(top level)", "expected a mapping with `jobs`"));
    };
    let name = top.get("name").and_then(scalar_string);
    let Some(jobs) = top.get("jobs") else {
        return Err(field("jobs", "missing; a workflow needs at least one job"));
    };
    let Value::Mapping(jobs) = jobs else {
        return Err(field("jobs", "expected a mapping of job ids to jobs"));
    };
    let mut out = Vec::with_capacity(jobs.len());
    for (id, job) in jobs {
        let Some(id) = scalar_string(id) else {
            return Err(field("jobs", "expected job ids to be strings"));
        };
        let Value::Mapping(job) = job else {
            return Err(field(&format!("jobs.{id}"), "expected a mapping"));
        };
        out.push(parse_job(&id, job, &field)?);
    }
    if out.is_empty() {
        return Err(field("jobs", "empty; a workflow needs at least one job"));
    }
    planned_matrices(&mut out, jobs);
    Ok(Workflow {
        path: path.to_owned(),
        name,
        jobs: out,
    })
}

/// A matrix the planner's plan job makes (`fromJSON(needs.P.outputs.matrix)`, with P running the
/// planner's action with `command: plan` and a `total`) is known before the run: its shards, as
/// the plan writes them (`shard` 1..total, `total`).
fn planned_matrices(jobs: &mut [Job], raw: &Mapping) {
    let total_of = |plan: &str| -> Option<u64> {
        let steps = raw.get(plan)?.get("steps")?.as_sequence()?;
        steps.iter().find_map(|s| {
            let uses = s.get("uses").and_then(Value::as_str)?;
            let with = s.get("with")?;
            (uses.contains("gha-planner")
                && with.get("command").and_then(Value::as_str) == Some("plan"))
            .then(|| {
                with.get("total")
                    .and_then(scalar_string)?
                    .trim()
                    .parse()
                    .ok()
            })
            .flatten()
        })
    };
    for job in jobs.iter_mut() {
        let Some(Value::String(m)) = &job.matrix else {
            continue;
        };
        let from = job
            .needs
            .iter()
            .find(|p| m.trim() == format!("${{{{ fromJSON(needs.{p}.outputs.matrix) }}}}"));
        let Some(total) = from
            .and_then(|p| total_of(p))
            .filter(|&t| (1..=256).contains(&t))
        else {
            continue;
        };
        let include: Vec<Value> = (1..=total)
            .map(|k| {
                let mut m = Mapping::new();
                m.insert("shard".into(), k.into());
                m.insert("total".into(), total.into());
                Value::Mapping(m)
            })
            .collect();
        let mut matrix = Mapping::new();
        matrix.insert("include".into(), Value::Sequence(include));
        job.matrix = Some(Value::Mapping(matrix));
    }
}

fn parse_job(
    id: &str,
    job: &Mapping,
    field: &dyn Fn(&str, &str) -> WorkflowError,
) -> Result<Job, WorkflowError> {
    let at = |name: &str| format!("jobs.{id}.{name}");
    let needs = match job.get("needs") {
        None | Some(Value::Null) => Vec::new(),
        Some(v) => {
            if let Some(one) = scalar_string(v) {
                vec![one]
            } else if let Value::Sequence(list) = v {
                list.iter()
                    .map(|n| {
                        scalar_string(n)
                            .ok_or_else(|| field(&at("needs"), "expected job ids (strings)"))
                    })
                    .collect::<Result<_, _>>()?
            } else {
                return Err(field(
                    &at("needs"),
                    "expected a job id or a list of job ids",
                ));
            }
        }
    };
    let uses = job.get("uses").and_then(scalar_string);
    let runs_on = match (job.get("runs-on"), &uses) {
        (None, Some(_)) => RunsOn::Reusable,
        (None, None) => {
            return Err(field(
                &at("runs-on"),
                "missing; a job needs `runs-on` or `uses`",
            ));
        }
        (Some(v), _) => parse_runs_on(v).ok_or_else(|| {
            field(
                &at("runs-on"),
                "expected a label, a list of labels, or a mapping with `group` and/or `labels`",
            )
        })?,
    };
    let timeout_minutes = match job.get("timeout-minutes") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) => n.as_f64().map(Timeout::Minutes),
        Some(Value::String(s)) if is_expression(s) => Some(Timeout::Expression(s.clone())),
        Some(Value::String(s)) => {
            Some(Timeout::Minutes(s.trim().parse().map_err(|_| {
                field(&at("timeout-minutes"), "expected a number of minutes")
            })?))
        }
        Some(_) => {
            return Err(field(
                &at("timeout-minutes"),
                "expected a number of minutes",
            ));
        }
    };
    let concurrency = match job.get("concurrency") {
        None => None,
        Some(Value::Mapping(m)) => m.get("group").and_then(scalar_string),
        Some(v) => scalar_string(v),
    };
    let matrix = match job.get("strategy") {
        None | Some(Value::Null) => None,
        Some(Value::Mapping(s)) => s.get("matrix").cloned(),
        Some(Value::String(s)) if is_expression(s) => Some(Value::String(s.clone())),
        Some(_) => return Err(field(&at("strategy"), "expected a mapping")),
    };
    let max_parallel = max_parallel(job.get("strategy").and_then(|s| s.get("max-parallel")))
        .map_err(|why| field(&at("strategy.max-parallel"), why))?;
    let text = serde_yaml::to_string(job).unwrap_or_default();
    let outputs_of = needs
        .iter()
        .filter(|n| text.contains(&format!("needs.{n}.")))
        .cloned()
        .collect();
    Ok(Job {
        id: id.to_owned(),
        outputs_of,
        name: job.get("name").and_then(scalar_string),
        needs,
        runs_on,
        timeout_minutes,
        condition: job.get("if").and_then(scalar_string),
        uses,
        concurrency,
        matrix,
        max_parallel,
        gate_of: job
            .get("env")
            .and_then(|e| e.get(GATE_MARK))
            .and_then(scalar_string),
    })
}

/// The job-level variable that marks the gate `optimize` writes for a sharded job: its value is
/// that job's id.
pub const GATE_MARK: &str = "PLANNER_GATE_OF";

/// `strategy.max-parallel`: a whole number of jobs, or an expression (unknown until the run).
fn max_parallel(v: Option<&Value>) -> Result<Option<usize>, &'static str> {
    let bad = "expected a whole number of jobs, 1 or more";
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => match n.as_u64() {
            Some(k) if k >= 1 => Ok(Some(usize::try_from(k).unwrap_or(usize::MAX))),
            _ => Err(bad),
        },
        Some(Value::String(s)) if is_expression(s) => Ok(None),
        Some(_) => Err(bad),
    }
}

fn parse_runs_on(v: &Value) -> Option<RunsOn> {
    let labels = |v: &Value| -> Option<Vec<String>> {
        match v {
            Value::Sequence(list) => list.iter().map(scalar_string).collect(),
            other => scalar_string(other).map(|s| vec![s]),
        }
    };
    match v {
        Value::String(s) if is_expression(s) => Some(RunsOn::Expression(s.clone())),
        Value::Mapping(m) => {
            let group = m.get("group").and_then(scalar_string);
            let labels = m.get("labels").map_or(Some(Vec::new()), labels)?;
            match group {
                Some(group) => Some(RunsOn::Group { group, labels }),
                None if !labels.is_empty() => Some(RunsOn::Labels(labels)),
                None => None,
            }
        }
        other => {
            let labels = labels(other)?;
            if labels.iter().any(|l| is_expression(l)) {
                Some(RunsOn::Expression(labels.join(", ")))
            } else if labels.is_empty() {
                None
            } else {
                Some(RunsOn::Labels(labels))
            }
        }
    }
}

/// A scalar as GitHub reads it: strings as they are, numbers and booleans as their text.
pub fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Workflow, WorkflowError> {
        parse_workflow(text, Path::new("ci.yml"))
    }

    #[test]
    fn needs_runs_on_and_timeouts_take_every_documented_shape() {
        let wf = parse(
            "name: CI
on: push
jobs:
  a: {runs-on: ubuntu-latest, timeout-minutes: 10}
  b: {needs: a, runs-on: [self-hosted, linux], timeout-minutes: '${{ inputs.t }}'}
  c: {needs: [a, b], runs-on: {group: big, labels: [x64]}}
  d: {needs: [c], uses: ./.github/workflows/r.yml}
  e: {runs-on: '${{ matrix.os }}', if: github.event_name == 'push', concurrency: {group: e}}
",
        )
        .unwrap();
        let ids: Vec<_> = wf.jobs.iter().map(|j| j.id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c", "d", "e"], "file order is kept");
        assert_eq!(wf.jobs[1].needs, ["a"]);
        assert_eq!(wf.jobs[2].needs, ["a", "b"]);
        assert_eq!(
            wf.jobs[1].runs_on,
            RunsOn::Labels(vec!["self-hosted".into(), "linux".into()])
        );
        assert_eq!(wf.jobs[2].runs_on.pool(), "group:big");
        assert_eq!(wf.jobs[3].runs_on, RunsOn::Reusable);
        assert!(matches!(wf.jobs[4].runs_on, RunsOn::Expression(_)));
        assert_eq!(wf.jobs[0].timeout_minutes, Some(Timeout::Minutes(10.0)));
        assert!(matches!(
            wf.jobs[1].timeout_minutes,
            Some(Timeout::Expression(_))
        ));
        assert_eq!(wf.jobs[4].concurrency.as_deref(), Some("e"));
    }

    #[test]
    fn a_wrong_field_is_named_by_its_path() {
        let err = parse("jobs:\n  a: {runs-on: x, needs: {b: 1}}\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "ci.yml: jobs.a.needs: expected a job id or a list of job ids"
        );
        let err = parse("jobs:\n  a: {steps: []}\n").unwrap_err();
        assert!(err.to_string().contains("jobs.a.runs-on: missing"), "{err}");
        let err = parse("jobs: [\n").unwrap_err();
        assert!(
            err.to_string().starts_with("ci.yml: not valid YAML"),
            "{err}"
        );
        for bad in ["0", "-1", "two", "1.5"] {
            let err = parse(&format!(
                "jobs:\n  a: {{runs-on: x, strategy: {{max-parallel: {bad}, matrix: {{k: [1]}}}}}}\n"
            ))
            .unwrap_err();
            assert_eq!(
                err.to_string(),
                "ci.yml: jobs.a.strategy.max-parallel: expected a whole number of jobs, 1 or more",
                "{bad}"
            );
        }
    }
}
