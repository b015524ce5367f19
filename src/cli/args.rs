//! The raw command line, as clap parses it. Validated into settings before any work starts.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::runner::Runner;

/// Plan CI parallelism from history: balanced, deterministic test shards and what they buy.
#[derive(Debug, Parser)]
#[command(name = "planner", version, about, max_term_width = 100)]
pub struct Cli {
    /// Print no progress or summaries on stderr (warnings and errors still show).
    #[arg(long, short, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Build and update the timing history.
    Timings {
        #[command(subcommand)]
        command: TimingsCommand,
    },
    /// Plan the shards of a suite: plan.json, matrix JSON, or a --dry-run preview.
    Plan(PlanArgs),
    /// Print the items that shard K of N runs: the same on every runner and every re-run.
    Shard(ShardArgs),
    /// A workflow's job graph: phases, critical path, slack, bottlenecks, advice.
    Analyze(AnalyzeArgs),
    /// The workflow with the advice applied, only the changed lines moved: a diff, and the
    /// critical path, wall time and billed minutes before and after.
    Optimize(OptimizeArgs),
    /// Write the workflow that plans, runs and gates a config's suites.
    Render(RenderArgs),
    /// After the run: speedup, efficiency, utilization, bottlenecks and advice, from the plan and
    /// the shards' JUnit reports; a job summary, JSON, and the history updated.
    Report(ReportArgs),
    /// Print the JSON Schema of the config file.
    Schema,
}

#[derive(Debug, Subcommand)]
pub enum TimingsCommand {
    /// Merge timing inputs, oldest first, into a store.
    Merge(MergeArgs),
    /// Add the job timings and start-up overhead of a workflow's past runs, read from the GitHub
    /// API, to a store. Runs already in the store are not read again.
    Fetch(FetchArgs),
    /// Write the current estimates in another tool's timing format (pytest-split's
    /// `.test_durations`, a Knapsack report, cypress-split's, a map of milliseconds), to keep a
    /// committed timing file up to date from the history.
    Export(ExportArgs),
}

/// The timing formats `timings export` writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ExportFormat {
    /// pytest-split's `.test_durations`: test id → seconds.
    PytestSplit,
    /// Knapsack's report: spec file → seconds (tests summed into their files).
    Knapsack,
    /// cypress-split's `{"durations": [{"spec", "duration"}]}`, in milliseconds by spec file.
    CypressSplit,
    /// id → milliseconds (playwright's `durations.json`, and others).
    Ms,
}

#[derive(Clone, Debug, Args)]
pub struct ExportArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// The format to write.
    #[arg(long, value_enum)]
    pub format: ExportFormat,

    /// Write it here (atomically) instead of standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<std::path::PathBuf>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum AttemptsArg {
    /// The latest attempt of each run (and the jobs it kept from earlier ones).
    #[default]
    Latest,
    /// Every attempt of a re-run workflow.
    All,
}

/// How to reach the GitHub API: shared by every command that reads it.
#[derive(Debug, Args)]
pub struct ApiArgs {
    /// The API's base URL [default: $GITHUB_API_URL, set on every runner and on GitHub
    /// Enterprise Server].
    #[arg(
        long,
        env = "GITHUB_API_URL",
        default_value = "https://api.github.com",
        value_name = "URL"
    )]
    pub api_url: String,

    /// The environment variable that holds the token. Without one, requests are anonymous
    /// (60 an hour, public repositories only).
    #[arg(long, default_value = "GITHUB_TOKEN", value_name = "NAME")]
    pub token_env: String,

    /// Seconds to wait for one answer.
    #[arg(long, default_value_t = 30, value_name = "SECONDS", value_parser = clap::value_parser!(u64).range(1..=600))]
    pub timeout: u64,

    /// Retries after a 5xx, a dropped connection or a timeout, with doubling waits from 1 s.
    #[arg(long, default_value_t = 3, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,

    /// The longest wait for a rate limit; a longer one stops reading, keeping what was read.
    #[arg(long, default_value_t = 300, value_name = "SECONDS")]
    pub max_wait: u64,
}

#[derive(Debug, Args)]
pub struct FetchArgs {
    /// The repository [default: $GITHUB_REPOSITORY, set on every runner].
    #[arg(long, env = "GITHUB_REPOSITORY", value_name = "OWNER/NAME")]
    pub repo: String,

    /// The workflow: its file name (`ci.yml`, or a path ending in it) or its numeric id.
    #[arg(long, value_name = "FILE_OR_ID")]
    pub workflow: String,

    /// Only runs on this branch.
    #[arg(long)]
    pub branch: Option<String>,

    /// Only runs triggered by this event (`push`, `pull_request`, `schedule`, …).
    #[arg(long)]
    pub event: Option<String>,

    /// Only runs with this status or conclusion (`completed`, `success`, `failure`, …).
    #[arg(long, default_value = "completed")]
    pub status: String,

    /// At most this many runs, newest first.
    #[arg(long, default_value_t = 50, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub runs: u32,

    /// Only runs created on or after this day.
    #[arg(long, value_name = "YYYY-MM-DD")]
    pub since: Option<chrono::NaiveDate>,

    /// Which attempts of a re-run workflow to read.
    #[arg(long, value_enum, default_value_t = AttemptsArg::Latest)]
    pub attempts: AttemptsArg,

    /// Let failed and timed-out jobs teach durations too.
    #[arg(long)]
    pub include_failed: bool,

    /// A step-name prefix that counts as start-up rather than work (repeatable), beside the
    /// built-in ones (Set up job, checkout, setup-*, caches, Install …, Post …).
    #[arg(long, value_name = "PREFIX")]
    pub setup_step: Vec<String>,

    #[command(flatten)]
    pub api: ApiArgs,

    /// Also write the runs and jobs read, as JSON records.
    #[arg(long, value_name = "FILE")]
    pub records: Option<PathBuf>,

    /// The store to add to (created if missing).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Samples to keep per item and runner class [default: the store's, or 20].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub keep: Option<u32>,

    /// Replace the store even if it is unreadable or the result would hold less.
    #[arg(long)]
    pub force: bool,

    /// Retire jobs not seen for this many days before the newest run; 0 keeps every job.
    #[arg(long, default_value_t = 28, value_name = "DAYS")]
    pub retire_after: u32,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum InputFormat {
    /// Decide by content.
    #[default]
    Auto,
    /// JUnit XML.
    Junit,
    /// A flat JSON map of id → duration (pytest-split, Knapsack, playwright).
    Json,
    /// The planner's own store.
    Store,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum UnitArg {
    /// Seconds (pytest-split, Knapsack, JUnit).
    #[default]
    #[value(name = "s")]
    Seconds,
    /// Milliseconds (playwright's durations.json).
    #[value(name = "ms")]
    Millis,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ByArg {
    /// One item per test.
    #[default]
    Test,
    /// One item per file (or binary, class or package where the runner has no files).
    File,
    /// One item per class.
    Class,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum StatisticArg {
    /// Exponentially weighted mean, the newest weighing 0.7 (the default, chosen by measurement).
    #[default]
    Ewma,
    /// Median of the recent samples.
    Median,
    /// Mean of the recent samples.
    Mean,
    /// Mean without the lowest and highest sample.
    TrimmedMean,
    /// 75th percentile: a cautious estimate.
    P75,
    /// The newest sample only.
    Last,
}

/// How timing inputs are read and estimated.
#[derive(Clone, Debug, Args)]
pub struct ReadArgs {
    /// Unit of the durations in JSON maps.
    #[arg(long, value_enum, default_value_t = UnitArg::Seconds)]
    pub unit: UnitArg,

    /// What one item is, when reading JUnit.
    #[arg(long, value_enum, default_value_t = ByArg::Test)]
    pub by: ByArg,

    /// Runner class (OS or label) the timings belong to.
    #[arg(long, default_value = "default", value_name = "NAME")]
    pub runner_class: String,

    /// Let failed tests teach durations too.
    #[arg(long)]
    pub include_failed: bool,

    /// Retire items not seen for this many days before the newest run (renamed or deleted
    /// tests); 0 keeps every item. Only dated history counts (JUnit timestamps, fetched runs).
    #[arg(long, default_value_t = 28, value_name = "DAYS")]
    pub retire_after: u32,
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Timing inputs, oldest first: JUnit files, directories or globs (one observation each), flat
    /// JSON maps (FILE#GROUP for one group of a nested map), stores.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,

    /// The store to write. If it exists it is read first and added to.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,

    /// Force the input format instead of deciding by content.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub format: InputFormat,

    #[command(flatten)]
    pub read: ReadArgs,

    /// Samples to keep per item and runner class [default: the store's, or 20].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub keep: Option<u32>,

    /// Replace the store even if it is unreadable or the result would hold less.
    #[arg(long)]
    pub force: bool,
}

/// Where the items and their timings come from, for `plan` and `shard`.
#[derive(Clone, Debug, Args)]
pub struct SourceArgs {
    /// Timing history: stores, JUnit files, directories or globs, JSON maps (FILE#GROUP).
    /// Missing or unreadable history is a warning, and items are estimated.
    #[arg(long = "timings", value_name = "FILE", num_args = 1..)]
    pub timings: Vec<String>,

    /// The items to shard, one per line (`-` for stdin) [default: every item in the timings].
    /// New items are estimated; items in the timings but not here are ignored.
    #[arg(long, value_name = "FILE")]
    pub items: Option<String>,

    /// The items are the files these globs match, from the working directory: `**` for any
    /// folders, shell braces (`spec/{models,requests}/**/*_spec.rb`), as `circleci tests glob`.
    #[arg(long, value_name = "PATTERN", conflicts_with = "items")]
    pub glob: Vec<String>,

    /// Leaves out of `--glob` the files this pattern matches (`spec/features/**`).
    #[arg(long, value_name = "PATTERN", requires = "glob")]
    pub exclude: Vec<String>,

    /// Force the format of the timing inputs.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub input_format: InputFormat,

    #[command(flatten)]
    pub read: ReadArgs,

    /// How an item's recent samples become its estimate.
    #[arg(long, value_enum, default_value_t = StatisticArg::Ewma)]
    pub statistic: StatisticArg,

    /// How many recent samples count.
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub window: u32,

    /// Estimate for an item when nothing at all is known.
    #[arg(long, default_value_t = 1.0, value_name = "SECONDS")]
    pub default_seconds: f64,

    /// Treat unreadable timings as an error rather than a warning.
    #[arg(long)]
    pub strict: bool,

    /// An empty item list plans a skipped suite instead of failing.
    #[arg(long)]
    pub allow_empty: bool,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    #[command(flatten)]
    pub source: SourceArgs,

    /// Plan every suite of a config file (.github/planner.yml) into one plan; `--timings` adds
    /// history to the config's. Outputs are numbered by suite: matrix_1, skip_1, total_1, …
    #[arg(long, value_name = "FILE", conflicts_with_all = ["items", "total", "target_seconds", "suite"])]
    pub config: Option<PathBuf>,

    /// Suite name, carried into the plan and the matrix.
    #[arg(long, default_value = "default")]
    pub suite: String,

    /// The shards claim the tails of the suites at run time, through git references of the
    /// repository (`planner shard --exec` reads it from the plan). Decided here, once for the
    /// run: leave it off where the test jobs' token cannot write (`contents: write`), as on a
    /// fork's pull request.
    #[arg(long)]
    pub claim: bool,

    /// Exactly this many shards (capped by the items and --max-shards; at most 256, GitHub's
    /// matrix limit).
    #[arg(long, value_name = "N", conflicts_with = "target_seconds", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub total: Option<u32>,

    /// The fewest shards predicted to finish within this wall time.
    #[arg(long, value_name = "SECONDS")]
    pub target_seconds: Option<f64>,

    /// Never more shards than this (GitHub allows 256 jobs per matrix).
    #[arg(long, default_value_t = 256, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub max_shards: u32,

    /// How many shards run at once (the account's concurrent jobs, or the matrix's
    /// `max-parallel`); more run in waves, which the wall time and the choice of N count
    /// [default: 20, GitHub Free's; 5 for macOS runners].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub capacity: Option<u32>,

    /// Fixed cost per shard before its first item: runner start, checkout, setup [default: 30, assumed].
    #[arg(long, value_name = "SECONDS")]
    pub overhead_seconds: Option<f64>,

    /// Without --total or --target-seconds: the fastest shard count whose billed runner-minutes
    /// stay within this many percent over one runner's.
    #[arg(long, default_value_t = 25.0, value_name = "PERCENT")]
    pub max_extra_cost: f64,

    /// Write the plan here (plan.json), for `planner shard --plan`.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Append `matrix`, `total`, `skip` and `plan` outputs to $GITHUB_OUTPUT.
    #[arg(long)]
    pub github_output: bool,

    /// Show the plan in the terminal and write nothing.
    #[arg(long)]
    pub dry_run: bool,

    #[command(flatten)]
    pub lanes: LaneArgs,
}

/// The run's change, for the lanes of a config's suites.
#[derive(Args, Debug, Clone, Default)]
pub struct LaneArgs {
    /// The files the change touched, one per line, from the repository's root (as `git diff
    /// --name-only` prints them): a config's suites whose `paths` none of them matches are
    /// skipped, their `skip_N` true.
    #[arg(
        long,
        value_name = "FILE",
        requires = "config",
        conflicts_with = "changed_since"
    )]
    pub changed_files: Option<PathBuf>,

    /// The change is the commits since BASE (`git diff --name-only BASE...HEAD` in the config's
    /// repository). When git cannot list them, every suite runs.
    #[arg(long, value_name = "BASE", requires = "config")]
    pub changed_since: Option<String>,

    /// Every suite runs, whatever changed (the rendered workflow passes it on the default branch).
    #[arg(long, requires = "config")]
    pub never_skip: bool,
}

/// How `planner shard` prints the items: plain forms, or a runner's own arguments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ShardFormat {
    /// One item per line.
    #[default]
    Lines,
    /// A JSON object with the shard's items and estimate.
    Json,
    /// The items shell-quoted on one line.
    Shell,
    /// What the runner needs to run exactly the shard.
    Runner(Runner),
}

impl ValueEnum for ShardFormat {
    fn value_variants<'a>() -> &'a [Self] {
        const ALL: [ShardFormat; 3 + Runner::ALL.len()] = {
            let mut all = [ShardFormat::Lines; 3 + Runner::ALL.len()];
            all[1] = ShardFormat::Json;
            all[2] = ShardFormat::Shell;
            let mut k = 0;
            while k < Runner::ALL.len() {
                all[3 + k] = ShardFormat::Runner(Runner::ALL[k]);
                k += 1;
            }
            all
        };
        &ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        use clap::builder::PossibleValue;
        Some(match self {
            ShardFormat::Lines => PossibleValue::new("lines").help("One item per line"),
            ShardFormat::Json => {
                PossibleValue::new("json").help("A JSON object with the shard's items and estimate")
            }
            ShardFormat::Shell => {
                PossibleValue::new("shell").help("The items shell-quoted on one line")
            }
            ShardFormat::Runner(r) => PossibleValue::new(r.name()).help(r.shard_format()),
        })
    }
}

/// A shard's 1-based index; 0, as tools that count from 0 give it, is refused with the form that
/// works.
fn shard_index(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(0) => Err("shards count from 1 here: CircleCI's $CIRCLE_NODE_INDEX and Knapsack's $CI_NODE_INDEX count from 0, so pass --index \"$((CIRCLE_NODE_INDEX + 1))\"".to_owned()),
        Ok(k @ 1..=256) => Ok(k),
        Ok(k) => Err(format!("{k} is not in 1..=256 (GitHub's matrix holds 256 jobs at most)")),
        Err(_) => Err(format!("expected a shard number from 1 to 256, not {value:?}")),
    }
}

#[derive(Debug, Args)]
pub struct ShardArgs {
    /// Which shard, 1-based (CircleCI's `CIRCLE_NODE_INDEX` and Knapsack's `CI_NODE_INDEX`
    /// count from 0: pass `$((CIRCLE_NODE_INDEX + 1))`).
    #[arg(long, value_name = "K", value_parser = shard_index)]
    pub index: u32,

    /// How many shards in all (at most 256, GitHub's matrix limit).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=256))]
    pub total: u32,

    /// A plan written by `planner plan --out`: the shard is read from it, not recomputed.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["timings", "items"])]
    pub plan: Option<PathBuf>,

    /// The suite in the plan [default: the only one].
    #[arg(long)]
    pub suite: Option<String>,

    #[command(flatten)]
    pub source: SourceArgs,

    /// How to print the items.
    #[arg(long, value_enum, default_value_t = ShardFormat::Lines)]
    pub format: ShardFormat,

    /// Run the shard instead of printing it: the suite's command (from a plan made with
    /// `--config`) with the shard's arguments. An empty shard runs nothing and passes.
    #[arg(long, requires = "plan")]
    pub exec: bool,

    /// With --exec: copy the JUnit report(s) the command wrote into this directory.
    #[arg(long, value_name = "DIR", requires = "exec")]
    pub junit_to: Option<PathBuf>,

    /// A re-run of the shard: only its items that did not pass in these JUnit reports (files or
    /// folders: its earlier attempts', the latest report's word final), so the tests that failed
    /// or never ran. A path that does not exist is no earlier report: the whole shard.
    #[arg(long, value_name = "PATH", conflicts_with = "next")]
    pub rerun_failed: Vec<String>,

    #[command(flatten)]
    pub claim: ClaimArgs,
}

/// Where a shard of a plan made with `plan --claim` claims its suite's tail: the run and the
/// repository whose git references hold the claims.
#[derive(Debug, Args)]
pub struct ClaimArgs {
    /// Of a plan made with `plan --claim`, without --exec: claim one chunk of the suite's tail
    /// and print its items; nothing (and exit 0) when none is left. For a script that runs the
    /// chunks itself (the shard's head is what `shard` prints).
    #[arg(long, requires = "plan", conflicts_with = "exec")]
    pub next: bool,

    /// The run whose claims these are [default: $GITHUB_RUN_ID].
    #[arg(long, env = "GITHUB_RUN_ID", value_name = "ID", hide_env_values = true)]
    pub run_id: Option<u64>,

    /// The run's attempt, 1 for its first [default: $GITHUB_RUN_ATTEMPT].
    #[arg(long, env = "GITHUB_RUN_ATTEMPT", value_name = "N", hide_env_values = true, value_parser = clap::value_parser!(u32).range(1..))]
    pub run_attempt: Option<u32>,

    /// The commit the claims' references point at [default: $GITHUB_SHA].
    #[arg(long, env = "GITHUB_SHA", value_name = "SHA", hide_env_values = true)]
    pub sha: Option<String>,

    /// The repository that holds the claims [default: $GITHUB_REPOSITORY].
    #[arg(
        long,
        env = "GITHUB_REPOSITORY",
        value_name = "OWNER/NAME",
        hide_env_values = true
    )]
    pub repo: Option<String>,

    #[command(flatten)]
    pub api: ApiArgs,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// For a terminal.
    #[default]
    Text,
    /// For a job summary or a pull request, with a Mermaid gantt.
    Markdown,
    /// Every number, for scripts.
    Json,
}

#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    #[command(flatten)]
    pub jobs: JobsArgs,

    /// How to print the report.
    #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
    pub format: ReportFormat,
}

/// A workflow, its jobs' history and the runners it has: what `analyze` and `optimize` read.
#[derive(Debug, Args)]
pub struct JobsArgs {
    /// The workflow file (.github/workflows/*.yml).
    #[arg(long, value_name = "FILE")]
    pub workflow: PathBuf,

    /// Job timings (item = the job's name as GitHub shows it): stores, JUnit, JSON maps.
    /// Without them every job counts the same default duration.
    #[arg(long = "timings", value_name = "FILE", num_args = 1..)]
    pub timings: Vec<String>,

    /// Force the format of the timing inputs.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub input_format: InputFormat,

    /// Treat unreadable timings as an error rather than a warning.
    #[arg(long)]
    pub strict: bool,

    /// Runners available, LABEL=N (a label, a prefix ending in `*`, or `total`); repeatable.
    /// [default: GitHub's Free plan, total=20 and macos*=5]
    #[arg(long, value_name = "LABEL=N")]
    pub capacity: Vec<String>,

    /// Duration of a job with no history and nothing to estimate it from.
    #[arg(long, default_value_t = 300.0, value_name = "SECONDS")]
    pub default_seconds: f64,

    /// Start-up cost of one job (runner, checkout, toolchain), for the advice.
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub overhead_seconds: f64,
}

/// A kind of change `optimize` makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, ValueEnum)]
pub enum FixArg {
    /// `timeout-minutes` from the jobs' history (p99 with a margin) where it is missing or far
    /// off.
    Timeouts,
    /// A `needs` that only holds a long job behind a cheap one whose outputs it does not read.
    Needs,
    /// A workflow-level concurrency group: a pull request's superseded runs cancelled, never a
    /// push's.
    Concurrency,
    /// A long pytest, cargo-nextest, jest, playwright or rspec job on the critical path split into
    /// the shards the advice names: a plan job, the shards as a matrix, a report and a gate named as
    /// the job was.
    Shard,
}

#[derive(Debug, Args)]
pub struct OptimizeArgs {
    #[command(flatten)]
    pub jobs: JobsArgs,

    /// The kinds of change to make, comma-separated [default: every kind].
    #[arg(long, value_enum, value_delimiter = ',', value_name = "KIND")]
    pub fix: Vec<FixArg>,

    /// Write the optimized workflow here (atomically) instead of to standard output.
    #[arg(long, value_name = "FILE", conflicts_with = "write")]
    pub out: Option<PathBuf>,

    /// Write the optimized workflow over --workflow (atomically).
    #[arg(long)]
    pub write: bool,

    /// Write nothing: print what would change, the diff and the times before and after.
    #[arg(long, conflicts_with_all = ["out", "write"])]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct RenderArgs {
    /// The config (.github/planner.yml).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// A minijinja template of your own instead of the built-in one.
    #[arg(long, value_name = "FILE")]
    pub template: Option<PathBuf>,

    /// Write the workflow here (atomically) instead of to standard output.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
#[expect(
    clippy::struct_excessive_bools,
    reason = "a command's switches, each a flag of its own"
)]
pub struct ReportArgs {
    /// The plan the run was made from.
    #[arg(long, value_name = "FILE")]
    pub plan: PathBuf,

    /// The shards' JUnit reports: files, directories or globs.
    #[arg(long, value_name = "PATH", num_args = 1.., required = true)]
    pub junit: Vec<String>,

    /// Write the summary (Markdown) here; appended when it is `$GITHUB_STEP_SUMMARY`.
    #[arg(long, value_name = "FILE")]
    pub summary: Option<PathBuf>,

    /// Write every measure as JSON here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Add this run's times to this store (created if missing), passing tests only unless
    /// --include-failed.
    #[arg(long, value_name = "FILE")]
    pub timings_out: Option<PathBuf>,

    /// Let failed tests' times into --timings-out too.
    #[arg(long)]
    pub include_failed: bool,

    /// In --timings-out, retire items not seen for this many days before this run (renamed or
    /// deleted tests); 0 keeps every item.
    #[arg(long, default_value_t = 28, value_name = "DAYS")]
    pub retire_after: u32,

    /// Fail (exit 8) when a shard sent no report.
    #[arg(long)]
    pub require_all: bool,

    /// The wall time a suite should stay within [default: the plan's target, if it had one].
    #[arg(long, value_name = "SECONDS")]
    pub target_seconds: Option<f64>,

    /// A wall-time budget: SECONDS for every suite, or SUITE=SECONDS (repeatable). From 80% it is
    /// a warning, over 100% a violation.
    #[arg(long, value_name = "[SUITE=]SECONDS")]
    pub sla: Vec<String>,

    /// Dollars per billed minute by runner kind: linux=0.008, windows=0.016, macos=0.08
    /// (repeatable).
    #[arg(long, value_name = "KIND=USD")]
    pub rate: Vec<String>,

    /// Append the headline measures to $GITHUB_OUTPUT: `wall-seconds`, `speedup`, `efficiency`,
    /// `utilization`, `runner-minutes`, `missing-shards` (and `report`, `summary`: the paths).
    #[arg(long)]
    pub github_output: bool,

    /// An earlier report (its --json) to compare with. A missing file is a warning: the first
    /// run has none.
    #[arg(long, value_name = "FILE")]
    pub previous: Option<PathBuf>,

    /// Read this workflow run's jobs from the API: each shard's queue, start-up overhead and
    /// timeline (usually "$GITHUB_RUN_ID"; needs `actions: read`).
    #[arg(long, value_name = "ID")]
    pub run_id: Option<u64>,

    /// The repository of --run-id [default: $GITHUB_REPOSITORY, set on every runner].
    #[arg(long, env = "GITHUB_REPOSITORY", value_name = "OWNER/NAME")]
    pub repo: Option<String>,

    /// The run claimed its suites' tails (`planner shard --claim`): read the claims' git
    /// references of --run-id, say which shard took which chunks, fail (exit 8) when a chunk was
    /// never claimed, and delete the references once every shard passed (they are what a
    /// re-run goes by; deleting needs `contents: write`).
    #[arg(long, requires = "run_id")]
    pub claims: bool,

    /// With --claims, also delete the claims of earlier runs that ended DAYS ago or more, or
    /// whose run is gone (twenty runs a report at most, oldest first). GitHub lets a run be
    /// re-run for 30 days: a sweep of fewer days can make a late re-run run again what passed.
    #[arg(long, requires = "claims", value_name = "DAYS")]
    pub sweep_days: Option<u32>,

    /// How the shard jobs are named, beside the rendered `{suite} {shard}/{total}` and GitHub's
    /// `job (suite, shard, total)` (repeatable): a name with {suite}, {shard} and {total}.
    #[arg(long, value_name = "TEMPLATE")]
    pub job_name: Vec<String>,

    #[command(flatten)]
    pub api: ApiArgs,
}
