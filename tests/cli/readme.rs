//! The README is part of the interface, so it is tested: every command in its shell blocks runs
//! (or is named below with why it cannot run here) and exits 0, printing what the README shows
//! where it shows output; every YAML block parses, and every config among them (and in
//! `examples/`) is accepted by the planner and by check-jsonschema against the checked-in schema,
//! which must also agree on configs that are wrong; every flag it names exists.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::{check_jsonschema, fixture, planner, tmp, write};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A fenced block: its language, its text and the line it starts on.
struct Block {
    lang: String,
    text: String,
    line: usize,
    /// The prose line just before it.
    before: String,
}

fn blocks(markdown: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    let mut prose = String::new();
    for (n, line) in markdown.lines().enumerate() {
        match (&mut open, line.strip_prefix("```")) {
            (None, Some(lang)) => {
                open = Some(Block {
                    lang: lang.trim().to_owned(),
                    text: String::new(),
                    line: n + 1,
                    before: prose.clone(),
                });
            }
            (Some(_), Some("")) => out.extend(open.take()),
            (Some(b), _) => {
                b.text.push_str(line);
                b.text.push('\n');
            }
            (None, None) => {
                if !line.trim().is_empty() {
                    line.clone_into(&mut prose);
                }
            }
        }
    }
    out
}

/// Commands in shell blocks that are not run here, and why.
const NOT_RUN: &[(&str, &str)] = &[
    ("cargo test", "it is this run"),
    ("tests/tools/install.sh", "the tests run it themselves"),
    (
        "cargo bench",
        "CI runs the benchmark on ../shared/data, which a test does not have",
    ),
    (
        "bash benches/pytest_scale.sh",
        "it downloads a suite and pytest-split from PyPI and runs for minutes",
    ),
    (
        "tests/fixtures/make_fixtures.sh",
        "it runs the real test runners to remake fixtures",
    ),
    ("planner timings fetch", "it needs the GitHub API"),
];

/// One command of a block: continuation lines joined, the `$ ` of a console dropped, with the
/// output a console shows after it.
struct Shell {
    command: String,
    output: Option<String>,
    line: usize,
}

fn commands(b: &Block) -> Vec<Shell> {
    let mut out: Vec<Shell> = Vec::new();
    let console = b.lang == "console";
    let mut pending = String::new();
    for (k, line) in b.text.lines().enumerate() {
        let line_no = b.line + 1 + k;
        if console && !line.starts_with("$ ") && pending.is_empty() {
            if let Some(last) = out.last_mut() {
                let o = last.output.get_or_insert_with(String::new);
                o.push_str(line);
                o.push('\n');
            }
            continue;
        }
        let text = line.strip_prefix("$ ").unwrap_or(line);
        // A comment after the command is prose.
        let text = text.split("  #").next().unwrap_or(text).trim_end();
        if let Some(head) = text.strip_suffix('\\') {
            pending.push_str(head);
            continue;
        }
        pending.push_str(text);
        if !pending.trim().is_empty() {
            out.push(Shell {
                command: pending.trim().to_owned(),
                output: None,
                line: line_no,
            });
        }
        pending.clear();
    }
    out
}

/// A command without the `NAME=value` assignments before it (a value may be `$(…)`).
fn without_env(command: &str) -> String {
    let mut rest = command.trim_start();
    loop {
        let name_end = rest
            .find(|c: char| !(c.is_ascii_uppercase() || c == '_'))
            .unwrap_or(0);
        if name_end == 0 || !rest[name_end..].starts_with('=') {
            return rest.to_owned();
        }
        let value = &rest[name_end + 1..];
        let end = if value.starts_with("$(") {
            value.find(')').map_or(value.len(), |k| k + 1)
        } else {
            value.find(' ').unwrap_or(value.len())
        };
        rest = value[end..].trim_start();
    }
}

/// A folder where the report example finds a plan, the shards' JUnit and a run id (the API it
/// then asks is a closed port, so the report warns and goes on from the JUnit, as it says).
fn report_example() -> tempfile::TempDir {
    let dir = tmp();
    let d = dir.path();
    let junit = fixture("junit/pytest.xml");
    std::fs::create_dir_all(d.join("junit")).expect("mkdir");
    std::fs::copy(&junit, d.join("junit/shard-1.xml")).expect("copy");
    let (code, _, err) = crate::split(
        &planner()
            .current_dir(d)
            .args([
                "plan",
                "--timings",
                &junit,
                "--total",
                "1",
                "--out",
                "plan.json",
            ])
            .output()
            .expect("runs"),
    );
    assert_eq!(code, 0, "{err}");
    dir
}

#[test]
fn every_command_in_the_readme_runs_and_prints_what_it_shows() {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_planner"));
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    let mut last_stdout = None;
    for b in blocks(&readme) {
        if b.lang == "text" && b.before.ends_with("prints:") {
            let shown = last_stdout
                .take()
                .unwrap_or_else(|| panic!("README.md:{}: output shown for no command run", b.line));
            assert_eq!(b.text, shown, "README.md:{}: the output shown", b.line);
        }
        if b.lang != "sh" && b.lang != "console" {
            continue;
        }
        let mut cwd = root();
        let example = report_example();
        for c in commands(&b) {
            if let Some(dir) = c.command.strip_prefix("cd ") {
                cwd = root().join(dir);
                continue;
            }
            let runnable = c.command.replace("cargo run --release -q -- ", "planner ");
            let bare = without_env(&runnable);
            if NOT_RUN.iter().any(|(p, _)| bare.starts_with(p)) {
                continue;
            }
            assert!(
                bare.starts_with("planner "),
                "README.md:{}: `{}` neither runs here nor is listed in NOT_RUN with a reason",
                c.line,
                c.command
            );
            let dir = if bare.starts_with("planner report") {
                example.path().to_path_buf()
            } else {
                cwd.clone()
            };
            let out = std::process::Command::new("bash")
                .args(["-c", &runnable])
                .current_dir(&dir)
                .env("PATH", &path)
                .env_remove("GITHUB_ACTIONS")
                .env("GITHUB_RUN_ID", "1")
                .env("GITHUB_REPOSITORY", "octo-org/octo-repo")
                .env("GITHUB_API_URL", "http://127.0.0.1:9")
                .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
                .output()
                .expect("bash runs");
            let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
            assert_eq!(
                out.status.code(),
                Some(0),
                "README.md:{}: `{}` in {}:\n{}{}",
                c.line,
                c.command,
                dir.display(),
                stdout,
                String::from_utf8_lossy(&out.stderr)
            );
            if let Some(shown) = &c.output {
                assert_eq!(shown, &stdout, "README.md:{}: the output shown", c.line);
            }
            ran += 1;
            last_stdout = Some(stdout);
        }
    }
    assert!(ran >= 3, "only {ran} README commands ran");
}

/// The YAML blocks of the README and the configs of `examples/`, as (where, text).
fn yaml_blocks() -> Vec<(String, String)> {
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let mut out: Vec<(String, String)> = blocks(&readme)
        .into_iter()
        .filter(|b| b.lang == "yaml" || b.lang == "yml")
        .map(|b| (format!("README.md:{}", b.line), b.text))
        .collect();
    let pattern = root().join("examples/**/*.yml").display().to_string();
    for p in glob::glob(&pattern)
        .expect("pattern")
        .filter_map(Result::ok)
    {
        out.push((
            p.display().to_string(),
            std::fs::read_to_string(&p).expect("read"),
        ));
    }
    out
}

fn is_config(yaml: &serde_yaml::Value) -> bool {
    yaml.get("version").is_some() && yaml.get("suites").is_some()
}

/// (planner accepts, schema accepts, what they said) for a config's text.
fn judged(dir: &Path, name: &str, text: &str) -> (bool, bool, String) {
    let path = write(dir, name, text);
    let (code, _, err) = crate::run(&["render", "--config", path.to_str().expect("utf-8")]);
    let schema = root().join("schema/planner.schema.json");
    let (ok, out) = check_jsonschema(&["--schemafile", schema.to_str().expect("utf-8")], &[&path]);
    (code == 0, ok, format!("planner: {err}\nschema: {out}"))
}

#[test]
fn every_yaml_block_parses_and_every_config_passes_planner_and_schema() {
    let dir = tmp();
    let mut configs = 0;
    for (k, (at, text)) in yaml_blocks().into_iter().enumerate() {
        let yaml: serde_yaml::Value =
            serde_yaml::from_str(&text).unwrap_or_else(|e| panic!("{at}: not YAML: {e}"));
        if !is_config(&yaml) {
            continue;
        }
        configs += 1;
        let (planner_ok, schema_ok, said) = judged(dir.path(), &format!("c{k}.yml"), &text);
        assert!(planner_ok && schema_ok, "{at}:\n{said}");
    }
    assert!(configs >= 2, "the README's config and examples/planner.yml");
}

#[test]
fn planner_and_schema_refuse_the_same_wrong_configs() {
    let dir = tmp();
    let ok = "version: 1\nsuites:\n  unit:\n    runner: pytest\n";
    let (p, s, said) = judged(dir.path(), "ok.yml", ok);
    assert!(p && s, "{said}");
    let wrong = [
        "version: 1\nsuites:\n  unit: {runner: pytst}\n",
        "version: 1\nsuites:\n  unit: {runner: pytest, max-shards: 0}\n",
        "version: 1\nsuites:\n  unit: {runner: pytest, max-shards: 257}\n",
        "version: 1\nsuites:\n  unit: {runner: pytest, target-seconds: 0}\n",
        "version: 1\nsuites:\n  unit: {runner: pytest, overhead-seconds: -1}\n",
        "version: 1\nsuites:\n  unit: {runner: pytest, timeout-minutes: 0}\n",
        "version: 1\nsuites:\n  unit: {runner: pytest, by: fle}\n",
        "version: 1\nsuites:\n  unit: {runner: pytest, items: {glob: a, command: b}}\n",
        "version: 1\nsuites:\n  unit: {runner: pytest, items: {globs: a}}\n",
        "version: 1\nsuites:\n  unit: {runner: pytest, items: \"tests/*.py\"}\n",
        "version: 1\nsuites:\n  unit: {runner: pytest, runs-on: 3}\n",
        "version: 1\nsuites:\n  unit: {runner: pytest, colour: red}\n",
        "suites:\n  unit: {runner: pytest}\n",
    ];
    for (k, text) in wrong.iter().enumerate() {
        let (p, s, said) = judged(dir.path(), &format!("w{k}.yml"), text);
        assert!(
            !p && !s,
            "both must refuse:\n{text}planner refused: {}, schema refused: {}\n{said}",
            !p,
            !s
        );
    }
    // Right in both, though the schema spells it another way.
    let items = [
        "version: 1\nsuites:\n  unit: {runner: pytest, items: {glob: \"t/*.py\"}, runs-on: [self-hosted, linux]}\n",
        "version: 1\nsuites:\n  unit: {runner: go, items: {command: go list ./...}, target-seconds: 0.5}\n",
    ];
    for (k, text) in items.iter().enumerate() {
        let (p, s, said) = judged(dir.path(), &format!("r{k}.yml"), text);
        assert!(p && s, "both must accept:\n{text}{said}");
    }
}

/// Flags in `--help` of each command, and of all of them together.
fn help_flags(args: &[&str]) -> BTreeSet<String> {
    let mut a = args.to_vec();
    a.push("--help");
    let (code, out, err) = crate::run(&a);
    assert_eq!(code, 0, "{err}");
    flags_in(&out)
}

fn flags_in(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = text.as_bytes();
    let mut i = 0;
    while let Some(k) = text[i..].find("--") {
        let at = i + k;
        let before_ok = at == 0 || !(b[at - 1].is_ascii_alphanumeric() || b[at - 1] == b'-');
        let end = text[at + 2..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .map_or(text.len(), |e| at + 2 + e);
        let name = &text[at + 2..end];
        if before_ok && name.chars().next().is_some_and(|c| c.is_ascii_lowercase()) {
            out.insert(format!("--{name}"));
        }
        i = end.max(at + 2);
    }
    out
}

/// Other tools' flags the README names, in the tools' own commands.
const FOREIGN: &[&str] = &[
    "--release",
    "--locked",
    "--path",
    "--bench",
    "--check",
    "--collect-only",
    "--name-only",
    "--no-renames",
    "--junitxml",
    "--splits",
    "--group",
    "--split-by",
    "--shard",
    "--partition",
    "--runTestsByPath",
    "--listTests",
    "--tool-config-file",
    "--list",
    "--reporter",
    "--filesOnly",
    "--exclude",
    "--junit-xml-report-dir",
    "--node-index",
    "--node-total",
    "--tests-glob",
];

/// The options the pytest plugin adds (`group.addoption("--planner-items", …)`).
fn pytest_plugin_flags() -> Vec<String> {
    let plugin = std::fs::read_to_string(root().join("src/runner/pytest/planner_select.py"))
        .expect("the pytest plugin");
    plugin
        .split("addoption(")
        .skip(1)
        .filter_map(|rest| {
            let rest = rest.trim_start().strip_prefix('"')?;
            Some(rest[..rest.find('"')?].to_owned())
        })
        .collect()
}

#[test]
fn every_flag_the_readme_names_exists() {
    let commands: &[&[&str]] = &[
        &["timings", "merge"],
        &["timings", "fetch"],
        &["plan"],
        &["shard"],
        &["report"],
        &["analyze"],
        &["optimize"],
        &["render"],
        &["schema"],
    ];
    let per: Vec<(String, BTreeSet<String>)> = commands
        .iter()
        .map(|c| (format!("planner {}", c.join(" ")), help_flags(c)))
        .collect();
    let all: BTreeSet<String> = per
        .iter()
        .flat_map(|(_, f)| f.iter().cloned())
        .chain(help_flags(&[]))
        .chain(FOREIGN.iter().map(|f| (*f).to_owned()))
        .chain(pytest_plugin_flags())
        .collect();
    let readme = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let mut checked = 0;
    // Shell continuations make one line of each command.
    let joined = readme.replace("\\\n", " ");
    // A command's output shown in a `text` block is checked against what it prints, not here:
    // its lines are the program's (a diff of someone's workflow holds their tools' flags).
    let mut in_output = false;
    for (n, line) in joined.lines().enumerate() {
        if let Some(lang) = line.strip_prefix("```") {
            in_output = !in_output && lang.trim() == "text";
            continue;
        }
        if in_output {
            continue;
        }
        // A flag after `planner COMMAND` on its line (or in its table cell) is that command's.
        let context = per
            .iter()
            .filter_map(|(name, f)| line.find(&format!("{name} ")).map(|at| (at, name, f)))
            .max_by_key(|(at, name, _)| (usize::MAX - at, name.len()));
        for flag in flags_in(line) {
            checked += 1;
            let after = context.filter(|(at, _, _)| line[*at..].contains(&flag));
            match after {
                Some((_, name, f)) if !FOREIGN.contains(&flag.as_str()) => assert!(
                    f.contains(&flag),
                    "README.md, near line {}: `{name}` has no {flag}",
                    n + 1
                ),
                _ => assert!(
                    all.contains(&flag),
                    "README.md, near line {}: no command has {flag}",
                    n + 1
                ),
            }
        }
    }
    assert!(checked > 30, "only {checked} flags seen");
}

#[test]
fn the_readme_checks_fail_on_what_they_guard() {
    // A wrong flag after a command, and one no command has.
    let per = help_flags(&["plan"]);
    assert!(!per.contains("--splits"));
    assert!(flags_in("planner plan --dry-run `--max-extra-cost 25`").contains("--max-extra-cost"));
    assert!(!flags_in("a-b--c and ---x").contains("--c"));
    // A console's output is kept with its command; continuations are joined.
    let b = Block {
        lang: "console".into(),
        text: "$ planner plan \\\n  --dry-run\nout 1\nout 2\n".into(),
        line: 1,
        before: String::new(),
    };
    assert_eq!(
        without_env("A=1 TOKEN=$(gh auth token) planner plan"),
        "planner plan"
    );
    let c = commands(&b);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].command, "planner plan   --dry-run");
    assert_eq!(c[0].output.as_deref(), Some("out 1\nout 2\n"));
}
