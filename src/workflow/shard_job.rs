//! A long test job (pytest, cargo-nextest, jest, vitest, playwright, rspec or go test) split
//! into shards planned by the planner, in place: the job becomes the matrix of shards (its steps before the test step untouched, the test step running the
//! shard's tests, the steps after it kept after), and three jobs join it: `<job>-plan` (the job's
//! set-up, the tests listed, the plan from the history), `<job>-report` (the report, the
//! history saved from the default branch) and `<job>-gate`, named as the job was, so that a
//! required check of that name stays green only when every shard passed.

use crate::runner::Runner;
use serde_yaml::{Mapping, Value};

/// The test command of a step, on one line, with the runner it is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestLine {
    pub runner: Runner,
    pub line: String,
}

/// Why a job with no test line the planner splits is left.
const NO_TEST_LINE: &str = "no step of it runs pytest, cargo nextest, jest, vitest, playwright test, rspec, go test or gotestsum on one line";

/// The tests a step runs: `pytest …` (`python -m pytest …`, `uv run pytest …`), `cargo nextest
/// run …`, `jest …`, `vitest [run] …` or `playwright test …` (through npx, yarn, bunx or pnpm),
/// `rspec …` (`bundle exec rspec`, `bin/rspec`), `go test …` or `gotestsum … -- …`, on one
/// line, nothing else.
pub fn test_line(run: &str) -> Option<TestLine> {
    let line = run.trim();
    if line.contains('\n') {
        return None;
    }
    let words: Vec<&str> = line.split_whitespace().collect();
    let runner = match words.as_slice() {
        ["pytest", ..] | ["uv" | "poetry" | "pipenv", "run", "pytest", ..] => Runner::Pytest,
        [python, "-m", "pytest", ..] if python.starts_with("python") => Runner::Pytest,
        ["cargo", "nextest", "run", ..] => Runner::Nextest,
        ["jest", ..]
        | ["npx" | "yarn" | "bunx" | "pnpm", "jest", ..]
        | ["pnpm", "exec", "jest", ..] => Runner::Jest,
        ["vitest", rest @ ..]
        | ["npx" | "yarn" | "bunx" | "pnpm", "vitest", rest @ ..]
        | ["pnpm", "exec", "vitest", rest @ ..]
            if rest
                .first()
                .is_none_or(|w| *w == "run" || w.starts_with('-')) =>
        {
            Runner::Vitest
        }
        ["playwright", "test", ..]
        | ["npx" | "yarn" | "bunx" | "pnpm", "playwright", "test", ..]
        | ["pnpm", "exec", "playwright", "test", ..] => Runner::Playwright,
        ["rspec" | "bin/rspec", ..] | ["bundle", "exec", "rspec", ..] => Runner::Rspec,
        ["go", "test", ..] | ["gotestsum", ..] => Runner::Go,
        _ => return None,
    };
    Some(TestLine {
        runner,
        line: line.to_owned(),
    })
}

/// The flags of `cargo nextest run` that `cargo nextest list` does not take, and whether each
/// takes a value as the next word.
const NEXTEST_RUN_ONLY: [(&str, bool); 13] = [
    ("--no-fail-fast", false),
    ("--fail-fast", false),
    ("--no-capture", false),
    ("--nocapture", false),
    ("--hide-progress-bar", false),
    ("--no-tests", true),
    ("--retries", true),
    ("--test-threads", true),
    ("-j", true),
    ("--max-fail", true),
    ("--failure-output", true),
    ("--success-output", true),
    ("--status-level", true),
];

/// `words` without the flags in `drop` (and the value after each that takes one, or joined to
/// it with `=`), and without everything from `--` on when `tail` is set.
fn without(words: &[&str], drop: &[(&str, bool)], tail: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut it = words.iter();
    while let Some(&w) = it.next() {
        if tail && w == "--" {
            break;
        }
        let flag = w.split('=').next().unwrap_or(w);
        match drop.iter().find(|(d, _)| *d == flag) {
            Some((_, takes)) => {
                if *takes && !w.contains('=') {
                    it.next();
                }
            }
            None => out.push(w.to_owned()),
        }
    }
    out
}

/// The nextest profile a line runs under, and the folder its reports go to.
fn nextest_store(words: &[&str]) -> (String, String) {
    let value = |names: &[&str]| -> Option<String> {
        words.iter().enumerate().find_map(|(i, w)| {
            names.iter().find_map(|n| {
                w.strip_prefix(&format!("{n}="))
                    .map(str::to_owned)
                    .or_else(|| (w == n).then(|| words.get(i + 1).map(|v| (*v).to_owned()))?)
            })
        })
    };
    let profile = value(&["--profile", "-P"]).unwrap_or_else(|| "default".to_owned());
    let target =
        value(&["--target-dir"]).unwrap_or_else(|| "${CARGO_TARGET_DIR:-target}".to_owned());
    (profile, target)
}

/// The flags of `playwright test` that take a value as the next word.
const PLAYWRIGHT_VALUED: [&str; 16] = [
    "--project",
    "-c",
    "--config",
    "-j",
    "--workers",
    "--retries",
    "-g",
    "--grep",
    "--grep-invert",
    "--timeout",
    "--global-timeout",
    "--reporter",
    "--repeat-each",
    "--max-failures",
    "--output",
    "--trace",
];

/// The flags of `vitest` that take a value as the next word.
const VITEST_VALUED: [&str; 21] = [
    "-c",
    "--config",
    "-r",
    "--root",
    "--dir",
    "--project",
    "-t",
    "--testNamePattern",
    "--reporter",
    "--outputFile",
    "--environment",
    "--pool",
    "--exclude",
    "--maxWorkers",
    "--testTimeout",
    "--hookTimeout",
    "--bail",
    "--retry",
    "--mode",
    "--coverage.provider",
    "--coverage.reporter",
];

/// The flags of `rspec` that take a value as the next word.
const RSPEC_VALUED: [&str; 19] = [
    "-r",
    "--require",
    "-f",
    "--format",
    "-o",
    "--out",
    "-t",
    "--tag",
    "-e",
    "--example",
    "-E",
    "--example-matches",
    "-I",
    "--seed",
    "--order",
    "-P",
    "--pattern",
    "--exclude-pattern",
    "--default-path",
];

/// Whether a test line names files or folders of its own: a word after `command` that is
/// neither a flag nor the value of one of the `valued` flags.
fn names_files(words: &[&str], command: &str, valued: &[&str]) -> bool {
    let mut after = words.iter().skip_while(|w| **w != command).skip(1);
    while let Some(w) = after.next() {
        if valued.contains(w) {
            after.next();
        } else if !w.starts_with('-') {
            return true;
        }
    }
    false
}

/// A node script that prints, one a line and sorted, the files of playwright's JSON list.
const PLAYWRIGHT_FILES: &str = "const r = JSON.parse(require('fs').readFileSync(0, 'utf8')); const files = new Set(); (function walk(suites) { for (const s of suites || []) { if (s.file) files.add(s.file); walk(s.suites); } })(r.suites); for (const f of [...files].sort()) console.log(f);";

/// A script that reads the shard's items into the bash array `var`, one a line, and runs
/// `command` with them appended, or nothing when the shard has none; `tail` is what the appended
/// command line ends with.
fn with_items(var: &str, command: &str, tail: &str) -> String {
    format!(
        "mapfile -t {var} < \"$PLANNER_ITEMS\"\n# None would run every test: an empty shard (a re-run whose tests all passed) runs none.\nif [ \"${{#{var}[@]}}\" -eq 0 ]; then echo \"nothing to run\"; exit 0; fi\n{command} ${{{var}[@]+\"${{{var}[@]}}\"}}{tail}\n"
    )
}

/// The flags of `go test` (build, test and test binary flags) that take a value as the next
/// word when written without `=`.
const GO_VALUED: [&str; 42] = [
    "C",
    "p",
    "asmflags",
    "buildmode",
    "compiler",
    "gccgoflags",
    "gcflags",
    "installsuffix",
    "ldflags",
    "mod",
    "modfile",
    "overlay",
    "pgo",
    "pkgdir",
    "tags",
    "toolexec",
    "exec",
    "o",
    "vet",
    "covermode",
    "coverpkg",
    "coverprofile",
    "run",
    "skip",
    "list",
    "bench",
    "benchtime",
    "count",
    "cpu",
    "parallel",
    "timeout",
    "shuffle",
    "fuzz",
    "fuzztime",
    "fuzzminimizetime",
    "outputdir",
    "cpuprofile",
    "memprofile",
    "memprofilerate",
    "blockprofile",
    "mutexprofile",
    "trace",
];

/// A go line's parts: what runs `go test` (gotestsum and its own flags, without a JUnit file of
/// their own), the flags given to `go test` (but `-json`, which gotestsum gives), its packages (none: the current directory's, or
/// `./...` under gotestsum) and everything from `-args` on.
struct GoParts<'a> {
    gotestsum: Option<Vec<&'a str>>,
    flags: Vec<&'a str>,
    packages: Vec<&'a str>,
    tail: Vec<&'a str>,
}

impl<'a> GoParts<'a> {
    fn of(words: &[&'a str]) -> GoParts<'a> {
        let (gotestsum, args) = if words.first() == Some(&"gotestsum") {
            let end = words.iter().position(|w| *w == "--").unwrap_or(words.len());
            let mut own = Vec::new();
            let mut it = words[..end].iter();
            while let Some(&w) = it.next() {
                if w == "--junitfile" {
                    it.next();
                } else if !w.starts_with("--junitfile=") {
                    own.push(w);
                }
            }
            (Some(own), words.get(end + 1..).unwrap_or_default())
        } else {
            (None, words.get(2..).unwrap_or_default())
        };
        let mut parts = GoParts {
            gotestsum,
            flags: Vec::new(),
            packages: Vec::new(),
            tail: Vec::new(),
        };
        let mut it = args.iter().enumerate();
        while let Some((i, &w)) = it.next() {
            if w == "-args" || w == "--args" {
                parts.tail = args[i..].to_vec();
                break;
            }
            if Self::flag(w) == "json" && w.starts_with('-') {
                // gotestsum reads `go test -json` and gives it of its own.
            } else if w.starts_with('-') {
                parts.flags.push(w);
                if !w.contains('=')
                    && GO_VALUED.contains(&Self::flag(w))
                    && let Some((_, &v)) = it.next()
                {
                    parts.flags.push(v);
                }
            } else {
                parts.packages.push(w);
            }
        }
        if parts.packages.is_empty() && parts.gotestsum.is_some() {
            parts.packages.push("./...");
        }
        parts
    }

    /// A flag's name: `-test.run=X` and `--run` are both `run`.
    fn flag(w: &str) -> &str {
        let name = w.trim_start_matches('-');
        let name = name.split('=').next().unwrap_or(name);
        name.strip_prefix("test.").unwrap_or(name)
    }

    /// Whether the line chooses its tests itself, with a flag the shard's `-run` would undo.
    fn chooses(&self) -> bool {
        self.flags.iter().any(|w| {
            w.starts_with('-') && ["run", "skip", "list", "bench", "fuzz"].contains(&Self::flag(w))
        })
    }
}

/// The awk program that prefixes the names `go test -list .` prints (tests, examples and fuzz
/// targets; benchmarks run only under `-bench`) with their package, named on the `ok` line that
/// follows them.
const GO_LIST_AWK: &str = "/^(ok|\\?) / { for (i = 0; i < n; i++) print $2 \"::\" t[i]; n = 0; next } /^(Test|Example|Fuzz)/ { t[n++] = $0 }";

impl TestLine {
    /// Why the line itself stops a split, if it does.
    fn refuses(&self) -> Option<&'static str> {
        let words: Vec<&str> = self.line.split_whitespace().collect();
        if words
            .iter()
            .any(|w| w.starts_with("--shard") || w.starts_with("--partition"))
        {
            return Some("its test command shards itself (`--shard`/`--partition`)");
        }
        let own = match self.runner {
            Runner::Playwright => names_files(&words, "test", &PLAYWRIGHT_VALUED),
            Runner::Vitest => names_files(
                &words,
                if words.contains(&"run") {
                    "run"
                } else {
                    "vitest"
                },
                &VITEST_VALUED,
            ),
            Runner::Rspec => names_files(
                &words,
                words
                    .iter()
                    .find(|w| w.ends_with("rspec"))
                    .unwrap_or(&"rspec"),
                &RSPEC_VALUED,
            ),
            Runner::Go => {
                let parts = GoParts::of(&words);
                if parts.chooses() {
                    return Some(
                        "its test line chooses tests itself (`-run`, `-skip`, `-bench`, `-fuzz`), which the shard's `-run` would undo",
                    );
                }
                if parts.gotestsum.as_ref().is_some_and(|g| {
                    g.iter()
                        .any(|w| w.starts_with("--raw-command") || w.starts_with("--watch"))
                }) {
                    return Some(
                        "its gotestsum runs a command of its own (`--raw-command`, `--watch`)",
                    );
                }
                false
            }
            _ => false,
        };
        own.then_some(
            "its test line names files (or filters) of its own, which the shard's files would add to",
        )
    }

    /// The script of the plan job's step that lists the tests into `planner-items.txt`.
    fn list(&self) -> String {
        let words: Vec<&str> = self.line.split_whitespace().collect();
        match self.runner {
            Runner::Nextest => {
                let mut list = without(&words, &NEXTEST_RUN_ONLY, false);
                if let Some(run) = list.iter().position(|w| w == "run") {
                    "list".clone_into(&mut list[run]);
                }
                format!(
                    "{} --message-format oneline > planner-items.txt",
                    list.join(" ")
                )
            }
            Runner::Playwright => format!(
                "# Every test file, from playwright's own list: named from its testDir, as its JUnit names them.\n{} --list --reporter=json | node -e \"{PLAYWRIGHT_FILES}\" > planner-items.txt\n",
                self.line
            ),
            Runner::Rspec => format!(
                "# Every spec file that has an example, from rspec's own dry run.\n{} --dry-run --format json --out planner-rspec.json > /dev/null\nruby -rjson -e 'puts JSON.parse(File.read(\"planner-rspec.json\"))[\"examples\"].map {{ |e| e[\"file_path\"].delete_prefix(\"./\") }}.uniq.sort' > planner-items.txt\n",
                self.line
            ),
            Runner::Go => {
                let parts = GoParts::of(&words);
                let mut list = vec!["go", "test"];
                list.extend(&parts.flags);
                list.extend(["-list", "."]);
                list.extend(&parts.packages);
                format!(
                    "# Every test, example and fuzz target of every package, from go's own list: PACKAGE::Name, as gotestsum's JUnit names them.\n{} | awk '{GO_LIST_AWK}' > planner-items.txt\n",
                    list.join(" ")
                )
            }
            Runner::Vitest => {
                let mut list: Vec<&str> = words.clone();
                let at = list.iter().position(|w| *w == "vitest").unwrap_or(0) + 1;
                if list.get(at) == Some(&"run") {
                    list[at] = "list";
                } else {
                    list.insert(at, "list");
                }
                format!(
                    "# Every test file, from vitest's own list, as its JUnit names them.\n{} --filesOnly | sort > planner-items.txt\n",
                    list.join(" ")
                )
            }
            Runner::Jest => format!(
                "# Every test file, relative to the repository, as jest-junit names them.\n{} --listTests | sed \"s|^$PWD/||\" | sort > planner-items.txt\n",
                self.line
            ),
            Runner::Pytest => format!(
                "{} --collect-only -q{} | grep '::' > planner-items.txt",
                without_verbosity(&self.line),
                if self.line.contains("no:cacheprovider") {
                    ""
                } else {
                    " -p no:cacheprovider"
                }
            ),
        }
    }

    /// The plan's `args:` input: by file where the runner is given files.
    fn plan_args(&self) -> Option<&'static str> {
        matches!(
            self.runner,
            Runner::Jest | Runner::Vitest | Runner::Playwright | Runner::Rspec
        )
        .then_some("--by\nfile\n")
    }

    /// The test step's environment and script, running the shard's tests (`PLANNER_ITEMS`) and
    /// writing their JUnit under `planner-junit/`.
    fn shard_run(&self) -> (Vec<(&'static str, &'static str)>, String) {
        let words: Vec<&str> = self.line.split_whitespace().collect();
        match self.runner {
            Runner::Nextest => {
                // The shard's filtersets choose its tests; the line's own chose the list.
                let filters = [("-E", true), ("--filterset", true), ("--filter-expr", true)];
                let run = without(&words, &filters, true).join(" ");
                let (profile, target) = nextest_store(&words);
                (
                    vec![],
                    format!(
                        "# The shard's JUnit, through a tool config (the repository's own config wins).\nconfig=\"${{RUNNER_TEMP:-$PWD}}/planner-nextest.toml\"\nprintf '[profile.{profile}.junit]\\npath = \"junit.xml\"\\n' > \"$config\"\nstatus=0\n{}mkdir -p planner-junit\ncp {target}/nextest/{profile}/*.xml planner-junit/ 2> /dev/null || true\nexit \"$status\"\n",
                        with_items(
                            "filters",
                            &format!("{run} --tool-config-file \"planner:$config\""),
                            " || status=$?"
                        )
                    ),
                )
            }
            Runner::Rspec => {
                // Without a formatter of its own, rspec prints none beside the JUnit one.
                let shown = words
                    .iter()
                    .any(|w| *w == "-f" || w.starts_with("--format"));
                (
                    vec![],
                    format!(
                        "mkdir -p planner-junit\n{}",
                        with_items(
                            "specs",
                            &format!(
                                "{}{} --format RspecJunitFormatter --out planner-junit/junit.xml",
                                self.line,
                                if shown { "" } else { " --format progress" }
                            ),
                            ""
                        )
                    ),
                )
            }
            Runner::Go => {
                let parts = GoParts::of(&words);
                let verbose = parts.flags.iter().any(|w| GoParts::flag(w) == "v");
                let gotestsum = parts.gotestsum.map_or_else(
                    || {
                        format!(
                            "gotestsum --format {}",
                            if verbose {
                                "standard-verbose"
                            } else {
                                "standard-quiet"
                            }
                        )
                    },
                    |g| g.join(" "),
                );
                let mut tail = parts.tail.join(" ");
                if !tail.is_empty() {
                    tail.insert(0, ' ');
                }
                let flags: String = parts.flags.iter().flat_map(|f| [" ", f]).collect();
                (
                    vec![],
                    format!(
                        "# gotestsum writes the shard's JUnit: the one on PATH, or installed.\ncommand -v gotestsum > /dev/null || go install gotest.tools/gotestsum@v1.12.0\nPATH=\"$PATH:$(go env GOPATH)/bin\"\nmkdir -p planner-junit\nstatus=0 n=0\n# One `-run '^(?:TestA|TestB)$' PACKAGE` line per package, quoted for the shell.\nwhile IFS= read -r line; do\n  eval \"set -- $line\"\n  {gotestsum} --junitfile \"planner-junit/junit-$((++n)).xml\" --{flags} \"$@\"{tail} || status=1\ndone < \"$PLANNER_ITEMS\"\nexit \"$status\"\n"
                    ),
                )
            }
            // The shard's items are its files, each other file of the suite that holds one of
            // them excluded first (vitest matches its filters by substring).
            Runner::Vitest => (
                vec![],
                with_items(
                    "args",
                    &format!(
                        "{} --reporter=default --reporter=junit --outputFile.junit=planner-junit/junit.xml",
                        self.line
                    ),
                    "",
                ),
            ),
            Runner::Playwright => (
                vec![
                    ("PLAYWRIGHT_JUNIT_OUTPUT_DIR", "planner-junit"),
                    ("PLAYWRIGHT_JUNIT_OUTPUT_NAME", "junit.xml"),
                ],
                with_items("args", &format!("{} --reporter=line,junit", self.line), ""),
            ),
            Runner::Jest => (
                vec![
                    ("JEST_JUNIT_OUTPUT_DIR", "planner-junit"),
                    ("JEST_JUNIT_OUTPUT_NAME", "junit.xml"),
                    // Suites named by their file, as the item list names them.
                    ("JEST_JUNIT_SUITE_NAME", "{filepath}"),
                    ("JEST_JUNIT_ADD_FILE_ATTRIBUTE", "true"),
                ],
                with_items(
                    "args",
                    &format!(
                        "{} --ci --reporters=default --reporters=jest-junit",
                        self.line
                    ),
                    "",
                ),
            ),
            Runner::Pytest => (
                vec![("PLANNER_PLUGIN", "${{ steps.shard.outputs.pytest-plugin }}")],
                format!(
                    "PYTHONPATH=\"$PLANNER_PLUGIN${{PYTHONPATH:+:$PYTHONPATH}}\" {} -p planner_select --planner-items=\"$PLANNER_ITEMS\" --junitxml=planner-junit/junit.xml",
                    self.line
                ),
            ),
        }
    }
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
        None => Some(NO_TEST_LINE),
        Some((0, _)) => Some("its first step runs the tests: nothing checks the code out"),
        Some((_, line)) => line.refuses(),
    }
}

/// The index of the step that runs the tests, and its test line.
pub fn test_step(job: &Value) -> Option<(usize, TestLine)> {
    job.get("steps")?
        .as_sequence()?
        .iter()
        .enumerate()
        .find_map(|(i, s)| Some((i, test_line(s.get("run")?.as_str()?)?)))
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
pub fn shard_test_step(step: &Value, line: &TestLine) -> Value {
    let mut out = step.as_mapping().cloned().unwrap_or_default();
    let mut env = out
        .get("env")
        .and_then(Value::as_mapping)
        .cloned()
        .unwrap_or_default();
    let (vars, run) = line.shard_run();
    for (k, v) in vars {
        env.insert(k.into(), s(v));
    }
    env.insert(
        "PLANNER_ITEMS".into(),
        s("${{ steps.shard.outputs.items-file }}"),
    );
    out.insert("env".into(), Value::Mapping(env));
    if line.runner != Runner::Pytest {
        out.insert("shell".into(), s("bash"));
    }
    out.insert("run".into(), s(run));
    Value::Mapping(out)
}

/// A step that downloads artifacts of this run (`with`: which, and where), earlier attempts'
/// too: a re-run of a failed job sees those only through the API, with the token and the run's
/// id (and `actions: read`).
fn download(name: &str, mut with: Vec<(&str, Value)>) -> Value {
    with.push(("github-token", s("${{ github.token }}")));
    with.push(("run-id", s("${{ github.run_id }}")));
    map(vec![
        ("name", s(name)),
        ("uses", s("actions/download-artifact@v4")),
        ("with", map(with)),
    ])
}

/// The step that fetches the plan the plan job kept.
fn fetch_plan(names: &Names) -> Value {
    download("Fetch the plan", vec![("name", s(&names.key))])
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
pub fn shard_steps(names: &Names, action: &str, runner: Runner) -> Vec<Value> {
    let mut with = vec![
        ("command", s("shard")),
        ("index", s("${{ matrix.shard }}")),
        ("total", s("${{ matrix.total }}")),
    ];
    if runner != Runner::Pytest {
        with.push(("format", s(runner.name())));
    }
    // A re-run runs only the tests that failed or never ran (none earlier: all of them).
    with.push(("rerun-failed", s("planner-earlier")));
    let mut earlier = download(
        "This shard's earlier attempts' JUnit, on a re-run",
        vec![
            (
                "pattern",
                s(format!(
                    "{}-junit-${{{{ matrix.shard }}}}-attempt-*",
                    names.key
                )),
            ),
            ("path", s("planner-earlier")),
        ],
    );
    if let Value::Mapping(m) = &mut earlier {
        m.insert("if".into(), s("github.run_attempt != '1'"));
        m.insert("continue-on-error".into(), Value::Bool(true));
    }
    vec![
        fetch_plan(names),
        earlier,
        planner_step(Some("shard"), action, with),
    ]
}

/// The folder the test step runs in, as a path from the workspace: its own
/// `working-directory`, or the job's `defaults.run`'s; `None` for the workspace itself.
pub fn work_dir(job: &Value, step: &Value) -> Option<String> {
    step.get("working-directory")
        .or_else(|| job.get("defaults")?.get("run")?.get("working-directory"))
        .and_then(Value::as_str)
        .map(|d| d.trim_end_matches('/').to_owned())
        .filter(|d| !d.is_empty() && d != ".")
}

/// `file` in the folder the tests run in: what the test step writes there, as a step that
/// `uses:` an action (which runs in the workspace) names it.
fn in_dir(dir: Option<&str>, file: &str) -> String {
    dir.map_or_else(|| file.to_owned(), |d| format!("{d}/{file}"))
}

/// The step after the tests that keeps the shard's JUnit (under `dir`, where the tests ran) for
/// the report.
pub fn keep_junit_step(names: &Names, dir: Option<&str>) -> Value {
    map(vec![
        ("name", s("Keep the JUnit report")),
        ("if", s("always()")),
        ("uses", s("actions/upload-artifact@v4")),
        (
            "with",
            map(vec![
                (
                    "name",
                    s(format!(
                        "{}-junit-${{{{ matrix.shard }}}}-attempt-${{{{ github.run_attempt }}}}",
                        names.key
                    )),
                ),
                ("path", s(in_dir(dir, "planner-junit"))),
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

/// `<job>-plan`: the job's own set-up (`before`), in its environment, defaults and container; its
/// tests listed where the test step (`test`) runs them; and the plan.
pub fn plan_job(
    job: &Value,
    before: &[Value],
    test: &Value,
    line: &TestLine,
    shards: usize,
    names: &Names,
    action: &str,
) -> Value {
    let mut steps: Vec<Value> = before.to_vec();
    let mut list = vec![("name", s("List the tests")), ("shell", s("bash"))];
    if let Some(dir) = test.get("working-directory") {
        list.push(("working-directory", dir.clone()));
    }
    list.push(("run", s(line.list())));
    steps.push(map(list));
    steps.push(history_cache(names, "restore"));
    let dir = work_dir(job, test);
    let mut with = vec![
        ("command", s("plan")),
        ("timings", s(".planner/history.json")),
        ("items", s(in_dir(dir.as_deref(), "planner-items.txt"))),
        ("total", s(shards.to_string())),
    ];
    if let Some(args) = line.plan_args() {
        with.push(("args", s(args)));
    }
    steps.push(planner_step(Some("plan"), action, with));
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
    // The set-up steps run as they do in the job.
    for key in ["container", "env", "defaults"] {
        if let Some(value) = job.get(key) {
            pairs.push((key, value.clone()));
        }
    }
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
                download(
                    "Fetch the shards' JUnit",
                    vec![
                        ("pattern", s(format!("{}-junit-*", names.key))),
                        ("path", s("planner-junit")),
                    ],
                ),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_lines_are_known_by_their_runner() {
        let runner = |run: &str| test_line(run).map(|t| t.runner);
        assert_eq!(runner("python3 -m pytest -q"), Some(Runner::Pytest));
        assert_eq!(runner("uv run pytest tests"), Some(Runner::Pytest));
        assert_eq!(
            runner("cargo nextest run --workspace"),
            Some(Runner::Nextest)
        );
        assert_eq!(runner("npx jest --coverage"), Some(Runner::Jest));
        assert_eq!(runner("pnpm exec jest"), Some(Runner::Jest));
        assert_eq!(runner("npx vitest run --coverage"), Some(Runner::Vitest));
        assert_eq!(runner("pnpm vitest"), Some(Runner::Vitest));
        assert_eq!(runner("npx vitest bench"), None);
        assert_eq!(
            runner("npx playwright test --project chromium"),
            Some(Runner::Playwright)
        );
        assert_eq!(runner("npx playwright install"), None);
        assert_eq!(runner("bundle exec rspec --tag ~slow"), Some(Runner::Rspec));
        assert_eq!(runner("go test -race ./..."), Some(Runner::Go));
        assert_eq!(runner("gotestsum -- ./..."), Some(Runner::Go));
        assert_eq!(runner("go vet ./..."), None);
        assert_eq!(runner("cargo test --workspace"), None);
        assert_eq!(runner("npx eslint ."), None);
        assert_eq!(runner("pytest\npytest again"), None);
    }

    #[test]
    fn a_line_that_shards_itself_is_left() {
        let line = |run: &str| test_line(run).expect("a test line");
        assert!(line("npx jest --shard=1/2").refuses().is_some());
        assert!(
            line("cargo nextest run --partition count:1/2")
                .refuses()
                .is_some()
        );
        assert_eq!(line("npx jest").refuses(), None);
        assert!(line("npx playwright test e2e/login").refuses().is_some());
        assert!(line("bundle exec rspec spec/models").refuses().is_some());
        assert!(line("npx vitest run src/api").refuses().is_some());
        assert!(line("npx vitest --shard=1/3").refuses().is_some());
        assert_eq!(
            line("npx vitest run --project unit -t parses --coverage").refuses(),
            None
        );
        assert_eq!(line("bundle exec rspec --tag ~slow -f d").refuses(), None);
        assert_eq!(
            line("npx playwright test --project chromium -j 2 --headed").refuses(),
            None
        );
        for chooses in [
            "go test -run TestA ./...",
            "go test -test.run=TestA ./...",
            "go test -bench . ./...",
            "gotestsum -- -skip TestB ./...",
        ] {
            assert!(line(chooses).refuses().is_some(), "{chooses}");
        }
        assert!(line("gotestsum --watch").refuses().is_some());
        assert_eq!(
            line("go test -count 1 -tags integration ./...").refuses(),
            None
        );
    }

    /// A go line keeps its flags (a flag's value is not taken for a package), gives its
    /// packages to the list only, keeps what follows `-args` after the shard's own arguments,
    /// and under gotestsum keeps gotestsum's flags but its own JUnit file.
    #[test]
    fn go_lines_keep_their_flags_and_leave_their_packages_to_the_list() {
        let t =
            test_line("go test -v -tags integration -json ./pkg/... -args -update").expect("go");
        assert!(
            t.list().starts_with(
                "# Every test, example and fuzz target of every package, from go's own list: PACKAGE::Name, as gotestsum's JUnit names them.\ngo test -v -tags integration -list . ./pkg/... | awk"
            ),
            "{}",
            t.list()
        );
        let (_, run) = t.shard_run();
        assert!(
            run.contains(
                "gotestsum --format standard-verbose --junitfile \"planner-junit/junit-$((++n)).xml\" -- -v -tags integration \"$@\" -args -update || status=1"
            ),
            "{run}"
        );
        let t = test_line("gotestsum --format testname --junitfile out.xml").expect("gotestsum");
        assert!(
            t.list().contains("go test -list . ./... | awk"),
            "{}",
            t.list()
        );
        let (_, run) = t.shard_run();
        assert!(
            run.contains("gotestsum --format testname --junitfile \"planner-junit/junit-$((++n)).xml\" -- \"$@\" || status=1"),
            "{run}"
        );
    }

    /// The list takes the line's filters and none of its run-only flags; the shard's run takes
    /// the run-only flags and none of the filters (the shard's own choose its tests).
    #[test]
    fn nextest_lists_with_the_filters_and_runs_with_the_flags() {
        let t =
            test_line("cargo nextest run -P ci --retries 2 --no-fail-fast -E 'kind(lib)' --lib")
                .expect("nextest");
        assert_eq!(
            t.list(),
            "cargo nextest list -P ci -E 'kind(lib)' --lib --message-format oneline > planner-items.txt"
        );
        let (_, run) = t.shard_run();
        assert!(
            run.contains(
                "cargo nextest run -P ci --retries 2 --no-fail-fast --lib --tool-config-file"
            ),
            "{run}"
        );
        assert!(run.contains("[profile.ci.junit]"), "{run}");
        assert!(run.contains("target}/nextest/ci/*.xml"), "{run}");
    }
}
