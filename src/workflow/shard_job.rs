//! A long pytest job split into shards planned by the planner, in place: the job becomes the
//! matrix of shards (its steps before the test step untouched, the test step running the
//! shard's tests, the steps after it kept after), and three jobs join it: `<job>-plan` (the job's
//! set-up, the tests listed, the plan from the history), `<job>-report` (the report, the
//! history saved from the default branch) and `<job>-gate`, named as the job was, so that a
//! required check of that name stays green only when every shard passed.

use yaml_serde::{Mapping, Value};

/// The tests a step runs: `pytest …` or `python -m pytest …` on one line, nothing else.
pub fn pytest_line(run: &str) -> Option<&str> {
    let line = run.trim();
    if line.contains('\n') {
        return None;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let is_pytest = match words.as_slice() {
        ["pytest", ..] => true,
        [python, "-m", "pytest", ..] => python.starts_with("python"),
        _ => false,
    };
    is_pytest.then_some(line)
}

/// The pytest line without its `-q`/`-v` flags: listed with exactly one `-q`, pytest prints
/// one node id a line (two print a count per file).
fn without_verbosity(line: &str) -> String {
    line.split_whitespace()
        .filter(|w| {
            let counted = w.len() > 1
                && w.starts_with('-')
                && (w[1..].bytes().all(|b| b == b'q') || w[1..].bytes().all(|b| b == b'v'));
            !counted && !matches!(*w, "--quiet" | "--verbose")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Why a job cannot be sharded here, if it cannot.
pub fn unshardable(job: &Value) -> Option<&'static str> {
    if job.get("strategy").is_some() {
        return Some("it has a strategy (a matrix) of its own");
    }
    if job.get("uses").is_some() {
        return Some("it calls a reusable workflow");
    }
    if job
        .get("if")
        .and_then(Value::as_str)
        .is_some_and(|c| c.contains("${{"))
    {
        return Some("its `if:` is written as an expression");
    }
    if job.get("outputs").is_some() {
        return Some("other jobs read its outputs, which a matrix does not have");
    }
    match test_step(job) {
        None => return Some("no step of it runs pytest on one line"),
        Some(0) => return Some("its first step runs the tests: nothing checks the code out"),
        Some(_) => {}
    }
    None
}

/// The index of the step that runs pytest.
pub fn test_step(job: &Value) -> Option<usize> {
    job.get("steps")?.as_sequence()?.iter().position(|s| {
        s.get("run")
            .and_then(Value::as_str)
            .and_then(pytest_line)
            .is_some()
    })
}

fn map(pairs: Vec<(&str, Value)>) -> Value {
    let mut m = Mapping::new();
    for (k, v) in pairs {
        m.insert(k.into(), v);
    }
    Value::Mapping(m)
}

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

/// The names the new jobs and artifacts take from the job's id.
pub struct Names {
    pub plan: String,
    pub report: String,
    pub gate: String,
    /// The history's cache key prefix and the plan's artifact.
    pub key: String,
}

impl Names {
    pub fn of(job: &str) -> Names {
        Names {
            plan: format!("{job}-plan"),
            report: format!("{job}-report"),
            gate: format!("{job}-gate"),
            key: format!("planner-{job}"),
        }
    }
}

/// The test step, running the shard's tests and writing their JUnit.
pub fn shard_test_step(step: &Value, line: &str) -> Value {
    let mut out = step.as_mapping().cloned().unwrap_or_default();
    let mut env = out
        .get("env")
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    env.insert(
        "PLANNER_PLUGIN".into(),
        s("${{ steps.shard.outputs.pytest-plugin }}"),
    );
    env.insert(
        "PLANNER_ITEMS".into(),
        s("${{ steps.shard.outputs.items-file }}"),
    );
    out.insert("env".into(), Value::Mapping(env));
    out.insert(
        "run".into(),
        s(format!(
            "PYTHONPATH=\"$PLANNER_PLUGIN${{PYTHONPATH:+:$PYTHONPATH}}\" {line} -p planner_select --planner-items=\"$PLANNER_ITEMS\" --junitxml=planner-junit/junit.xml"
        )),
    );
    Value::Mapping(out)
}

/// The step that fetches the plan the plan job kept.
fn fetch_plan(names: &Names) -> Value {
    map(vec![
        ("name", s("Fetch the plan")),
        ("uses", s("actions/download-artifact@v4")),
        ("with", map(vec![("name", s(&names.key))])),
    ])
}

/// A step of the planner's action, `id` its id if it has one.
fn planner_step(id: Option<&str>, action: &str, with: Vec<(&str, Value)>) -> Value {
    let mut pairs = Vec::new();
    if let Some(id) = id {
        pairs.push(("id", s(id)));
    }
    pairs.push(("uses", s(action)));
    pairs.push(("with", map(with)));
    map(pairs)
}

/// The steps the shard runs before its tests: the plan, then which tests are its.
pub fn shard_steps(names: &Names, action: &str) -> Vec<Value> {
    vec![
        fetch_plan(names),
        planner_step(
            Some("shard"),
            action,
            vec![
                ("command", s("shard")),
                ("index", s("${{ matrix.shard }}")),
                ("total", s("${{ matrix.total }}")),
            ],
        ),
    ]
}

/// The step after the tests that keeps the shard's JUnit for the report.
pub fn keep_junit_step(names: &Names) -> Value {
    map(vec![
        ("name", s("Keep the JUnit report")),
        ("if", s("always()")),
        ("uses", s("actions/upload-artifact@v4")),
        (
            "with",
            map(vec![
                (
                    "name",
                    s(format!("{}-junit-${{{{ matrix.shard }}}}", names.key)),
                ),
                ("path", s("planner-junit")),
                ("if-no-files-found", s("ignore")),
                ("overwrite", Value::Bool(true)),
            ]),
        ),
    ])
}

fn history_cache(names: &Names, action: &str) -> Value {
    map(vec![
        ("name", s("Restore the timing history")),
        ("uses", s(format!("actions/cache/{action}@v4"))),
        (
            "with",
            map(vec![
                ("path", s(".planner")),
                (
                    "key",
                    s(format!(
                        "{}-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}",
                        names.key
                    )),
                ),
                ("restore-keys", s(format!("{}-", names.key))),
            ]),
        ),
    ])
}

/// `<job>-plan`: the job's own set-up (`before`), its tests listed, and the plan.
pub fn plan_job(
    job: &Value,
    before: &[Value],
    line: &str,
    shards: usize,
    names: &Names,
    action: &str,
) -> Value {
    let mut steps: Vec<Value> = before.to_vec();
    steps.push(map(vec![
        ("name", s("List the tests")),
        ("shell", s("bash")),
        (
            "run",
            s(format!(
                "{} --collect-only -q{} | grep '::' > planner-items.txt",
                without_verbosity(line),
                if line.contains("no:cacheprovider") {
                    ""
                } else {
                    " -p no:cacheprovider"
                }
            )),
        ),
    ]));
    steps.push(history_cache(names, "restore"));
    steps.push(planner_step(
        Some("plan"),
        action,
        vec![
            ("command", s("plan")),
            ("timings", s(".planner/history.json")),
            ("items", s("planner-items.txt")),
            ("total", s(shards.to_string())),
        ],
    ));
    steps.push(map(vec![
        ("name", s("Keep the plan for every shard and re-run")),
        ("uses", s("actions/upload-artifact@v4")),
        (
            "with",
            map(vec![("name", s(&names.key)), ("path", s("plan.json"))]),
        ),
    ]));
    let mut pairs = vec![];
    if let Some(needs) = job.get("needs") {
        pairs.push(("needs", needs.clone()));
    }
    pairs.push((
        "runs-on",
        job.get("runs-on").cloned().unwrap_or(s("ubuntu-latest")),
    ));
    pairs.push(("timeout-minutes", Value::Number(15.into())));
    pairs.push((
        "outputs",
        map(vec![
            ("matrix", s("${{ steps.plan.outputs.matrix }}")),
            ("skip", s("${{ steps.plan.outputs.skip }}")),
        ]),
    ));
    pairs.push(("steps", Value::Sequence(steps)));
    map(pairs)
}

/// `<job>-report`: what the shards' parallelism bought, and the history learned.
pub fn report_job(job_id: &str, names: &Names, action: &str) -> Value {
    let mut save = history_cache(names, "save");
    if let Value::Mapping(m) = &mut save {
        m.insert("name".into(), s("Save the timing history"));
        m.insert(
            "if".into(),
            s("github.ref == format('refs/heads/{0}', github.event.repository.default_branch)"),
        );
        if let Some(Value::Mapping(with)) = m.get_mut("with") {
            with.remove("restore-keys");
        }
    }
    map(vec![
        ("needs", Value::Sequence(vec![s(&names.plan), s(job_id)])),
        (
            "if",
            s(format!(
                "always() && needs.{}.result == 'success' && needs.{}.outputs.skip != 'true'",
                names.plan, names.plan
            )),
        ),
        ("runs-on", s("ubuntu-latest")),
        ("timeout-minutes", Value::Number(10.into())),
        (
            "permissions",
            map(vec![("contents", s("read")), ("actions", s("read"))]),
        ),
        (
            "steps",
            Value::Sequence(vec![
                history_cache(names, "restore"),
                fetch_plan(names),
                map(vec![
                    ("name", s("Fetch the shards' JUnit")),
                    ("uses", s("actions/download-artifact@v4")),
                    (
                        "with",
                        map(vec![
                            ("pattern", s(format!("{}-junit-*", names.key))),
                            ("path", s("planner-junit")),
                        ]),
                    ),
                ]),
                planner_step(
                    None,
                    action,
                    vec![
                        ("command", s("report")),
                        ("junit", s("planner-junit")),
                        ("timings-out", s(".planner/history.json")),
                    ],
                ),
                save,
            ]),
        ),
    ])
}

/// `<job>-gate`, named as the job was: green only when the plan, every shard and the report
/// were (or the plan found nothing to run).
pub fn gate_job(job_id: &str, name: &str, names: &Names) -> Value {
    map(vec![
        ("name", s(name)),
        (
            "needs",
            Value::Sequence(vec![s(&names.plan), s(job_id), s(&names.report)]),
        ),
        ("env", map(vec![(super::model::GATE_MARK, s(job_id))])),
        ("if", s("always()")),
        ("runs-on", s("ubuntu-latest")),
        ("timeout-minutes", Value::Number(5.into())),
        (
            "steps",
            Value::Sequence(vec![map(vec![
                ("name", s("Every shard passed")),
                ("shell", s("bash")),
                (
                    "env",
                    map(vec![("RESULTS", s("${{ join(needs.*.result, ' ') }}"))]),
                ),
                (
                    "run",
                    s(
                        "for result in $RESULTS; do\n  case \"$result\" in\n    success | skipped) ;;\n    *) echo \"::error::a job of the shards ended: $result\"; exit 1 ;;\n  esac\ndone\n",
                    ),
                ),
            ])]),
        ),
    ])
}
