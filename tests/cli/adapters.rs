//! `planner shard --format RUNNER`, run through the real runners: each shard runs exactly its
//! items, and the shards together run every item once.

use std::path::Path;
use std::process::Command;

use crate::{fixture, python, run, tmp, write};

/// The items a report holds, read back by the planner itself (one shard of one: all of them).
fn ids_in(report: &Path, by: &str) -> Vec<String> {
    let report = report.display().to_string();
    let (code, out, err) = run(&[
        "shard",
        "--timings",
        &report,
        "--by",
        by,
        "--include-failed",
        "--strict",
        "--index",
        "1",
        "--total",
        "1",
    ]);
    assert_eq!(code, 0, "{err}");
    out.lines().map(str::to_owned).collect()
}

/// `planner shard` of the items in `timings`: shard K's items, or its runner arguments.
fn shard(timings: &str, by: &str, k: u32, total: u32, format: Option<&str>) -> String {
    let (k, total) = (k.to_string(), total.to_string());
    let mut args = vec![
        "shard",
        "--timings",
        timings,
        "--by",
        by,
        "--include-failed",
        "--index",
        &k,
        "--total",
        &total,
    ];
    if let Some(f) = format {
        args.extend(["--format", f]);
    }
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    out
}

/// For each shard of `total`: the runner's arguments, written to a file and handed to `exec`,
/// which runs the runner and returns its JUnit report. Asserts exact cover.
fn check_exact_cover(
    timings: &str,
    by: &str,
    format: &str,
    total: u32,
    mut exec: impl FnMut(&Path, u32) -> std::path::PathBuf,
) {
    let dir = tmp();
    let all = ids_in(Path::new(timings), by);
    assert!(all.len() >= 2, "a fixture worth splitting: {all:?}");
    let mut seen: Vec<String> = Vec::new();
    for k in 1..=total {
        let (args, expected) = (
            shard(timings, by, k, total, Some(format)),
            shard(timings, by, k, total, None),
        );
        let args_file = write(dir.path(), &format!("shard{k}.args"), &args);
        let report = exec(&args_file, k);
        let mut ran = ids_in(&report, by);
        let mut want: Vec<String> = expected.lines().map(str::to_owned).collect();
        ran.sort();
        want.sort();
        assert_eq!(ran, want, "shard {k} of {total} ran exactly its items");
        seen.extend(ran);
    }
    seen.sort();
    let mut all_sorted = all.clone();
    all_sorted.sort();
    assert_eq!(seen, all_sorted, "together the shards ran every item once");
}

fn ok(cmd: &mut Command) {
    let out = cmd.output().expect("the runner starts");
    // A sample test fails on purpose; only a runner that did not run at all is a failure here.
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{cmd:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn pytest_runs_exactly_its_shard() {
    let project = fixture("projects/pytest_sample");
    let out = tmp();
    check_exact_cover(
        &fixture("junit/pytest.xml"),
        "test",
        "pytest",
        3,
        |args, k| {
            let report = out.path().join(format!("pytest{k}.xml"));
            ok(Command::new(python())
                .current_dir(&project)
                .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
                .arg(format!("--junitxml={}", report.display()))
                .arg(format!("@{}", args.display())));
            report
        },
    );
}

#[test]
fn nextest_runs_exactly_its_shard() {
    let project = fixture("projects/nextest_sample");
    let out = tmp();
    check_exact_cover(
        &fixture("junit/nextest.xml"),
        "test",
        "nextest",
        2,
        |args, k| {
            let text = std::fs::read_to_string(args).expect("args");
            ok(Command::new("cargo")
                .current_dir(&project)
                .args(["nextest", "run", "--profile", "ci", "--no-fail-fast"])
                .args(text.lines()));
            let report = out.path().join(format!("nextest{k}.xml"));
            std::fs::copy(
                Path::new(&project).join("target/nextest/ci/junit.xml"),
                &report,
            )
            .expect("nextest wrote its report");
            report
        },
    );
}

#[test]
fn jest_runs_exactly_its_shard() {
    let project = jest_sample();
    let out = tmp();
    check_exact_cover(&fixture("junit/jest.xml"), "file", "jest", 2, |args, k| {
        let text = std::fs::read_to_string(args).expect("args");
        let report = out.path().join(format!("jest{k}.xml"));
        ok(Command::new("npx")
            .current_dir(&project)
            .env("JEST_JUNIT_OUTPUT_DIR", out.path())
            .env("JEST_JUNIT_OUTPUT_NAME", format!("jest{k}.xml"))
            .args(["jest", "--ci", "--reporters=jest-junit"])
            .args(text.lines()));
        report
    });
}

#[test]
fn file_runners_refuse_a_plan_of_single_tests() {
    let (code, _, err) = run(&[
        "shard",
        "--timings",
        &fixture("junit/jest.xml"),
        "--index",
        "1",
        "--total",
        "2",
        "--format",
        "jest",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("plan this suite with `--by file`"), "{err}");
}

/// The arguments of shard 1 of 1 of `map` (a JSON map) in a runner's format, one per line.
fn args_of(map: &Path, format: &str) -> Vec<String> {
    shard(map.to_str().expect("utf-8"), "test", 1, 1, Some(format))
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The jest sample, its packages installed.
fn jest_sample() -> String {
    crate::installed("jest_sample");
    fixture("projects/jest_sample")
}

/// An id that starts with `-` reached pytest as an option: `--collect-only` made a shard pass
/// having run nothing. Given through `./`, pytest runs exactly that test; an id that is only an
/// option is no test at all, and pytest fails on it rather than passing.
#[test]
fn pytest_never_reads_an_id_as_an_option() {
    let dir = tmp();
    let d = dir.path();
    write(d, "-dash_test.py", "def test_dash():\n    pass\n");
    write(d, "test_plain.py", "def test_plain():\n    pass\n");
    let pytest = |ids: &[&str]| {
        let map: Vec<String> = ids.iter().map(|i| format!("{i:?}: 1.0")).collect();
        let map = write(d, "t.json", &format!("{{{}}}", map.join(", ")));
        let args = args_of(&map, "pytest");
        let file = write(d, "shard.txt", &format!("{}\n", args.join("\n")));
        let out = Command::new(python())
            .current_dir(d)
            .args(["-m", "pytest", "-p", "no:cacheprovider", "-q", "-rA"])
            .arg(format!("@{}", file.display()))
            .output()
            .expect("pytest runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let (code, out) = pytest(&["-dash_test.py::test_dash"]);
    assert_eq!(code, Some(0), "{out}");
    assert!(
        out.contains("PASSED -dash_test.py::test_dash") && out.contains("1 passed"),
        "{out}"
    );
    assert!(!out.contains("test_plain"), "{out}");
    let (code, out) = pytest(&["--collect-only"]);
    assert_ne!(
        code,
        Some(0),
        "an option given as an id must not pass: {out}"
    );
}

/// jest ran every suite when handed `-dash.test.js` as a path; after `--` it runs that file only.
#[test]
fn jest_never_reads_an_id_as_an_option() {
    let project = jest_sample();
    let jest = Path::new(&project).join("node_modules/.bin/jest");
    let dir = tmp();
    let d = dir.path();
    write(
        d,
        "package.json",
        "{\"name\": \"dash\", \"private\": true}\n",
    );
    std::os::unix::fs::symlink(
        Path::new(&project).join("node_modules"),
        d.join("node_modules"),
    )
    .expect("link node_modules");
    write(
        d,
        "-dash.test.js",
        "test('dash', () => expect(1).toBe(1));\n",
    );
    write(
        d,
        "plain.test.js",
        "test('plain', () => expect(1).toBe(1));\n",
    );
    let map = write(d, "t.json", "{\"-dash.test.js\": 1.0}");
    let args = args_of(&map, "jest");
    assert_eq!(args, ["--runTestsByPath", "--", "-dash.test.js"]);
    let out = Command::new(&jest)
        .current_dir(d)
        .args(["--ci", "--rootDir", "."])
        .args(&args)
        .output()
        .expect("jest runs");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{said}");
    assert!(said.contains("Tests:       1 passed, 1 total"), "{said}");
}

#[test]
fn vitest_refuses_an_id_it_would_read_as_an_option() {
    let dir = tmp();
    let map = write(
        dir.path(),
        "t.json",
        "{\"-x.test.ts\": 1.0, \"a.test.ts\": 2.0}",
    );
    let (code, _, err) = run(&[
        "shard",
        "--timings",
        map.to_str().expect("utf-8"),
        "--index",
        "1",
        "--total",
        "1",
        "--format",
        "vitest",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("starts with `-`, and vitest would read it as an option"),
        "{err}"
    );
}

/// `(classname, name)` of every testcase in a JUnit report, subtests included, as written.
fn raw_testcases(report: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(report).expect("a JUnit report");
    let mut reader = quick_xml::Reader::from_str(&text);
    let mut out = Vec::new();
    loop {
        match reader.read_event().expect("well-formed JUnit") {
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.name().as_ref() == b"testcase" =>
            {
                let attr = |key: &[u8]| {
                    e.try_get_attribute(key)
                        .ok()
                        .flatten()
                        .map(|a| a.unescape_value().expect("attribute").into_owned())
                        .unwrap_or_default()
                };
                out.push((attr(b"classname"), attr(b"name")));
            }
            quick_xml::events::Event::Eof => break,
            _ => {}
        }
    }
    out
}

/// The words of a shell line, as the workflow's `eval "set -- $line"` makes them.
fn shell_words(line: &str) -> Vec<String> {
    let words = Command::new("bash")
        .args(["-c", "eval \"set -- $1\"; printf '%s\\0' \"$@\"", "-", line])
        .output()
        .expect("bash runs");
    String::from_utf8_lossy(&words.stdout)
        .split('\0')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The go sample's environment: its own build cache, and no network (the module has no
/// dependencies).
fn go_env<'a>(cmd: &'a mut Command, cache: &Path) -> &'a mut Command {
    cmd.env("GOCACHE", cache)
        .env("GOFLAGS", "-mod=mod")
        .env("GOPROXY", "off")
        .env("GOTOOLCHAIN", "local")
}

/// A per-test plan of go tests with subtests, nested subtests, names that are prefixes of each
/// other and an example, run as the shipped workflow runs it (items from its own `go test -list`
/// step, one gotestsum per printed line): every test, subtest and example runs exactly once
/// across the shards. Listed by `^Test` alone, the example ran in no shard. Before
/// subtests were folded into their parent, a plan from gotestsum's report ran `TestAdd/small` on
/// two shards.
#[test]
fn go_runs_every_subtest_exactly_once() {
    crate::tools();
    let project = fixture("projects/go_sample");
    let dir = tmp();
    let d = dir.path();
    let cache = d.join("gocache");
    let gotestsum = |junit: &Path, args: &[String]| {
        let out = go_env(&mut Command::new("gotestsum"), &cache)
            .current_dir(&project)
            .arg("--junitfile")
            .arg(junit)
            .arg("--")
            .args(args)
            .output()
            .expect("gotestsum runs");
        assert!(
            out.status.success(),
            "gotestsum {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    // The history: one full run.
    let full = d.join("full.xml");
    gotestsum(&full, &["./...".to_owned()]);
    let mut everything = raw_testcases(&full);
    assert!(
        everything.iter().any(|(_, n)| n == "TestAdd/outer/inner"),
        "the sample has nested subtests: {everything:?}"
    );
    // The items, listed by the shipped workflow's own step, in a copy of the project.
    let workflow: serde_yaml::Value = serde_yaml::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/workflows/go.yml"))
            .expect("go.yml"),
    )
    .expect("YAML");
    let list = workflow["jobs"]["plan"]["steps"]
        .as_sequence()
        .expect("steps")
        .iter()
        .find(|s| s["name"] == "List the tests")
        .and_then(|s| s["run"].as_str())
        .expect("the plan job lists the tests");
    let copy = d.join("project");
    ok(Command::new("cp").arg("-r").arg(&project).arg(&copy));
    ok(go_env(&mut Command::new("bash"), &cache)
        .current_dir(&copy)
        .args(["-eo", "pipefail", "-c", list]));
    let items = copy.join("items.txt");
    let (full_s, items_s) = (full.display().to_string(), items.display().to_string());
    everything.sort();
    // As the workflow runs it (items from `go test -list`), and from the history alone.
    for items in [Some(items_s.as_str()), None] {
        let total = 3;
        let mut ran = Vec::new();
        for k in 1..=total {
            let shard = |format: Option<&str>| {
                let (k, total) = (k.to_string(), total.to_string());
                let mut args = vec![
                    "shard",
                    "--timings",
                    &full_s,
                    "--index",
                    &k,
                    "--total",
                    &total,
                ];
                args.extend(items.map(|i| ["--items", i]).into_iter().flatten());
                args.extend(format.map(|f| ["--format", f]).into_iter().flatten());
                let (code, out, err) = run(&args);
                assert_eq!(code, 0, "{err}");
                out
            };
            let lines = shard(Some("go"));
            let mut shard_ran = Vec::new();
            for (n, line) in lines.lines().enumerate() {
                let args = shell_words(line);
                let junit = d.join(format!("shard{k}-{n}.xml"));
                gotestsum(&junit, &args);
                shard_ran.extend(raw_testcases(&junit));
            }
            // The shard ran exactly its items' tests (a subtest counts under its parent).
            let mut tops: Vec<String> = shard_ran
                .iter()
                .filter(|(_, n)| !n.contains('/'))
                .map(|(c, n)| format!("{c}::{n}"))
                .collect();
            let mut want: Vec<String> = shard(None).lines().map(str::to_owned).collect();
            tops.sort();
            want.sort();
            assert_eq!(
                tops, want,
                "shard {k} of {total} ran exactly its items ({items:?})"
            );
            ran.extend(shard_ran);
        }
        ran.sort();
        assert_eq!(
            ran, everything,
            "every test and subtest ran exactly once ({items:?})"
        );
    }
}

/// rspec with rspec_junit_formatter, as the shipped workflow runs it: a plan by spec file, each
/// shard's files given to rspec, and together the shards run every example once.
#[test]
fn rspec_runs_exactly_its_shard() {
    crate::tools();
    let project = fixture("projects/rspec_sample");
    let out = tmp();
    let rspec = |k: &str, files: &[String]| {
        let report = out.path().join(format!("rspec{k}.xml"));
        ok(Command::new("rspec")
            .current_dir(&project)
            .args(["--format", "RspecJunitFormatter", "--out"])
            .arg(&report)
            .args(files));
        report
    };
    let full = rspec("-full", &[]);
    let full_s = full.display().to_string();
    check_exact_cover(&full_s, "file", "rspec", 2, |args, k| {
        let text = std::fs::read_to_string(args).expect("args");
        let files: Vec<String> = text.lines().map(str::to_owned).collect();
        rspec(&k.to_string(), &files)
    });
    // Examples, not only files: each example of the full run ran on exactly one shard.
    let mut ran: Vec<_> = (1..=2)
        .flat_map(|k| raw_testcases(&out.path().join(format!("rspec{k}.xml"))))
        .collect();
    let mut all = raw_testcases(&full);
    ran.sort();
    all.sort();
    assert_eq!(ran, all, "every example ran exactly once");
    // rspec cannot be given one example of a file exactly: a per-test plan is refused.
    let (code, _, err) = run(&[
        "shard",
        "--timings",
        &full_s,
        "--index",
        "1",
        "--total",
        "1",
        "--format",
        "rspec",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("plan this suite with `--by file`"), "{err}");
}

/// A spec file that starts with `-` reached rspec as an option; given from `./`, rspec runs that
/// file and only it.
#[test]
fn rspec_never_reads_a_file_as_an_option() {
    crate::tools();
    let dir = tmp();
    let d = dir.path();
    write(
        d,
        "-dash_spec.rb",
        "RSpec.describe('Dash') { it('runs') {} }\n",
    );
    write(
        d,
        "plain_spec.rb",
        "RSpec.describe('Plain') { it('runs') {} }\n",
    );
    let map = write(d, "t.json", r#"{"-dash_spec.rb": 1.0}"#);
    let args = args_of(&map, "rspec");
    assert_eq!(args, ["./-dash_spec.rb"]);
    let out = Command::new("rspec")
        .current_dir(d)
        .args(["--format", "documentation"])
        .args(&args)
        .output()
        .expect("rspec runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("Dash") && text.contains("1 example, 0 failures"),
        "{text}"
    );
    assert!(!text.contains("Plain"), "{text}");
}

/// pytest with the planner's plugin (`-p planner_select --planner-items FILE`), the selection the
/// pytest workflow uses: pytest collects as usual and keeps the shard's tests.
pub fn pytest_with_plugin(project: &str, items: &Path, junit: &Path) -> std::process::Output {
    let plugin = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/runner/pytest");
    Command::new(python())
        .current_dir(project)
        .env("PYTHONPATH", plugin)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "planner_select",
        ])
        .arg(format!("--planner-items={}", items.display()))
        .arg(format!("--junitxml={}", junit.display()))
        .output()
        .expect("pytest runs")
}

#[test]
fn pytest_plugin_runs_exactly_its_shard() {
    let project = fixture("projects/pytest_sample");
    let out = tmp();
    for (by, total) in [("test", 3), ("file", 2)] {
        check_exact_cover(
            &fixture("junit/pytest.xml"),
            by,
            "pytest",
            total,
            |args, k| {
                let report = out.path().join(format!("plugin-{by}-{k}.xml"));
                let run = pytest_with_plugin(&project, args, &report);
                assert!(
                    run.status.code().is_some_and(|c| c <= 1),
                    "{}",
                    String::from_utf8_lossy(&run.stdout)
                );
                report
            },
        );
    }
}

/// An item of the shard that pytest does not collect (renamed, deleted) fails the run by name,
/// where node ids given as arguments and pytest-split's selection would pass without it.
#[test]
fn pytest_plugin_fails_on_an_item_it_cannot_find() {
    let project = fixture("projects/pytest_sample");
    let dir = tmp();
    let first = shard(&fixture("junit/pytest.xml"), "test", 1, 1, None);
    let first = first.lines().next().expect("an item");
    let items = write(
        dir.path(),
        "items.txt",
        &format!("{first}\ntests/gone.py::test_gone\n"),
    );
    let run = pytest_with_plugin(&project, &items, &dir.path().join("j.xml"));
    let text = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(4), "{text}");
    assert!(
        text.contains("1 item(s) of the shard name no collected test"),
        "{text}"
    );
    assert!(text.contains("tests/gone.py::test_gone"), "{text}");
    // An empty shard (more shards than items) passes, running nothing.
    let empty = write(dir.path(), "empty.txt", "");
    let run = pytest_with_plugin(&project, &empty, &dir.path().join("e.xml"));
    let text = String::from_utf8_lossy(&run.stdout);
    assert_eq!(run.status.code(), Some(0), "{text}");
    assert!(text.contains("10 deselected"), "{text}");
}

/// `shard --exec` of a pytest suite (the rendered workflows' way) gives pytest the shard through
/// the plugin, not as node ids: pytest reports the rest as deselected, and the shards together
/// run every test once.
#[test]
fn pytest_exec_selects_through_the_plugin() {
    let project = fixture("projects/pytest_sample");
    let dir = tmp();
    let d = dir.path();
    let config = format!(
        "version: 1\ntimings: [{timings}]\nsuites:\n  unit:\n    runner: pytest\n    command: {py} -m pytest -q -p no:cacheprovider --junitxml={junit}\n    junit: {junit}\n    working-directory: {project}\n    max-shards: 2\n    overhead-seconds: 0\n    target-seconds: 0.01\n",
        timings = fixture("junit/pytest.xml"),
        py = python().display(),
        junit = d.join("junit.xml").display(),
    );
    let config = write(d, "planner.yml", &config);
    let plan = d.join("plan.json");
    crate::plan_to(&config, &plan);
    let plan = plan.display().to_string();
    let mut ran = Vec::new();
    for k in ["1", "2"] {
        let to = d.join(format!("junit-{k}"));
        let out = crate::planner()
            .args([
                "shard",
                "--plan",
                &plan,
                "--index",
                k,
                "--total",
                "2",
                "--exec",
                "--junit-to",
            ])
            .arg(&to)
            .output()
            .expect("runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.code().is_some_and(|c| c <= 1),
            "{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            text.contains("deselected"),
            "pytest selected the shard itself: {text}"
        );
        ran.extend(ids_in(&to, "test"));
    }
    ran.sort();
    let mut all = ids_in(Path::new(&fixture("junit/pytest.xml")), "test");
    all.sort();
    assert_eq!(ran, all, "every test ran once");
}

/// CircleCI's `circleci tests glob 'spec/**/*_spec.rb' | circleci tests split --split-by=timings`
/// in one line: `planner shard --glob … --exclude … --timings JUNIT`, with braces, on the real
/// rspec sample; each shard's files run by the real rspec, the two together every listed file's
/// examples once, the excluded folder's none.
#[test]
fn a_glob_with_braces_and_excludes_lists_the_items_circleci_would() {
    crate::tools();
    let project = fixture("projects/rspec_sample");
    let out = tmp();
    let full = out.path().join("full.xml");
    ok(Command::new("rspec")
        .current_dir(&project)
        .args(["--format", "RspecJunitFormatter", "--out"])
        .arg(&full));
    let shard = |k: u32, glob: &str, exclude: &[&str]| -> Vec<String> {
        let mut args = vec!["shard", "--glob", glob];
        for x in exclude {
            args.extend(["--exclude", x]);
        }
        let k = k.to_string();
        let full = full.to_str().expect("utf-8");
        args.extend(["--timings", full, "--index", &k, "--total", "2"]);
        let (code, printed, err) = crate::split(
            &crate::planner()
                .current_dir(&project)
                .args(&args)
                .output()
                .expect("planner"),
        );
        assert_eq!(code, 0, "{err}");
        printed.lines().map(str::to_owned).collect()
    };
    let mut listed: Vec<String> = (1..=2)
        .flat_map(|k| shard(k, "spec/**/*_spec.rb", &["spec/nested/**"]))
        .collect();
    listed.sort();
    assert_eq!(
        listed,
        [
            "spec/calc_spec.rb",
            "spec/slow_spec.rb",
            "spec/strings_spec.rb"
        ]
    );
    let mut braced: Vec<String> = (1..=2)
        .flat_map(|k| shard(k, "spec/{calc,nested/deep}_spec.rb", &[]))
        .collect();
    braced.sort();
    assert_eq!(braced, ["spec/calc_spec.rb", "spec/nested/deep_spec.rb"]);
    // Each shard's files through rspec: every example of the listed files once.
    let mut ran = Vec::new();
    for k in 1..=2 {
        let files = shard(k, "spec/**/*_spec.rb", &["spec/nested/**"]);
        let report = out.path().join(format!("shard{k}.xml"));
        ok(Command::new("rspec")
            .current_dir(&project)
            .args(["--format", "RspecJunitFormatter", "--out"])
            .arg(&report)
            .args(&files));
        ran.extend(raw_testcases(&report));
    }
    let mut want: Vec<_> = raw_testcases(&full)
        .into_iter()
        .filter(|case| !format!("{case:?}").contains("nested"))
        .collect();
    ran.sort();
    want.sort();
    assert!(!want.is_empty());
    assert_eq!(ran, want, "every example of the listed files ran once");
    // A pattern that cannot be read names itself.
    let (code, _, err) = crate::split(
        &crate::planner()
            .current_dir(&project)
            .args([
                "shard",
                "--glob",
                "spec/{a,b",
                "--index",
                "1",
                "--total",
                "1",
            ])
            .output()
            .expect("planner"),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--glob: `spec/{a,b`: a `{` is never closed"),
        "{err}"
    );
}
