//! The config file (`.github/planner.yml`): the suites a workflow shards, how to list and run
//! their items, and where. Its JSON Schema (`schema/planner.schema.json`) is derived from these
//! types, and a test keeps the checked-in copy equal to it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::runner::Runner;
use crate::timings::formats::Granularity;

pub mod lanes;
pub use lanes::{Lane, PathFilter, Verdict};

pub const CONFIG_VERSION: u32 = 1;

/// Where pytest's usual command, as a suite runs it, writes its JUnit.
const PYTEST_JUNIT: &str = "junit.xml";

/// gha-planner's config: the suites a workflow shards by their timing history.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    /// The config format's version: 1.
    pub version: u32,
    /// Timing history read for every suite: stores, JUnit files or globs, JSON maps. Missing
    /// history is a warning, not an error.
    #[serde(default)]
    pub timings: Vec<String>,
    /// Branches whose pushes run the workflow (pull requests always do). Timings are saved from
    /// the first one.
    #[serde(default = "default_branches")]
    pub branches: Vec<String>,
    /// On the repository's default branch, every suite runs, whatever their `paths`: the history
    /// saved there stays whole. `false` lets its pushes skip suites too.
    #[serde(default = "default_true")]
    pub default_branch_runs_all: bool,
    /// The gate passes a run whose every failing test is a known flake (the history saw it fail
    /// and pass in its recent runs), and nothing else failed. Off: any failure fails the gate.
    #[serde(default)]
    pub pass_on_known_flakes: bool,
    /// The suites, by name. Names are shown in job names; any text is safe.
    pub suites: BTreeMap<String, Suite>,
}

/// One suite: a set of items sharded together.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Suite {
    /// The test runner: decides how a shard's items become its arguments.
    pub runner: Runner,
    /// How to list the items. Without it, the items are those in the timings.
    #[serde(default)]
    pub items: Option<Items>,
    /// What one item is: a test, a file, or a class.
    #[serde(default)]
    pub by: Granularity,
    /// The command that runs a subset; the shard's arguments are appended
    /// [default: the runner's usual one, e.g. `python -m pytest`].
    #[serde(default)]
    pub command: Option<String>,
    /// The runner label(s) of the shard jobs.
    #[serde(default = "default_runs_on")]
    pub runs_on: RunsOnConfig,
    /// Steps before the shard runs (after checkout): toolchains, caches, installs. Workflow
    /// code, copied as written.
    #[serde(default)]
    #[schemars(with = "Vec<serde_json::Map<String, serde_json::Value>>")]
    pub setup: Vec<serde_yaml::Value>,
    /// Where the command is run, relative to the repository.
    #[serde(default)]
    pub working_directory: Option<String>,
    /// The JUnit report(s) the command writes (file, directory or glob), uploaded for the report.
    #[serde(default)]
    pub junit: Option<String>,
    /// Fixed cost of a shard before its first item, in seconds [default: 30].
    #[serde(default)]
    #[schemars(range(min = 0.0))]
    pub overhead_seconds: Option<f64>,
    /// The fewest shards predicted to finish within this wall time, in seconds.
    #[serde(default)]
    #[schemars(extend("exclusiveMinimum" = 0))]
    pub target_seconds: Option<f64>,
    /// How many of its shards run at once (the account's concurrent jobs); the rendered matrix
    /// gets it as `max-parallel` [default: 20, GitHub Free's; 5 on macOS runners].
    #[serde(default)]
    #[schemars(range(min = 1, max = 1000))]
    pub capacity: Option<u32>,
    /// Never more shards than this.
    #[serde(default = "default_max_shards")]
    #[schemars(range(min = 1, max = 256))]
    pub max_shards: u32,
    /// Timeout of each shard job, in minutes.
    #[serde(default = "default_timeout")]
    #[schemars(range(min = 1, max = 360))]
    pub timeout_minutes: u32,
    /// Timing history for this suite only, read after the top-level `timings`.
    #[serde(default)]
    pub timings: Vec<String>,
    /// The paths the suite depends on, with GitHub's filter patterns (`src/**`, `!src/docs/**`):
    /// given changed files (`plan --changed-files`, `--changed-since`), the suite runs only when
    /// one of them matches. Without it, every change runs the suite.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Changed files that never run the suite (`**.md`): it is skipped when every changed file
    /// matches these (or misses `paths`).
    #[serde(default)]
    pub paths_ignore: Vec<String>,
}

// Read through `ItemsField`, so that the documented mapping form parses (serde_yaml would read an
// enum's variant from a YAML tag) and each mistake gets its own message.
/// How the items are listed at planning time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Items {
    /// A glob of test files, relative to the working directory (`tests/**/test_*.py`), with
    /// shell braces (`spec/{models,requests}/**/*_spec.rb`), less the files an `exclude`
    /// pattern matches.
    Glob {
        pattern: String,
        exclude: Vec<String>,
    },
    /// A command printing one item per line (`pytest --collect-only -q | grep ::`).
    Command(String),
}

/// `items` as written: one of two keys, and `exclude` beside `glob`.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ItemsField {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    glob: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    exclude: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    command: Option<String>,
}

impl JsonSchema for Items {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Items".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "How the items are listed at planning time.",
            "oneOf": [
                {
                    "description": "A glob of test files, relative to the working directory (`tests/**/test_*.py`), with shell braces (`spec/{models,requests}/**/*_spec.rb`), less the files an `exclude` pattern matches.",
                    "type": "object",
                    "properties": {
                        "glob": {"type": "string"},
                        "exclude": {"type": "array", "items": {"type": "string"}}
                    },
                    "required": ["glob"],
                    "additionalProperties": false
                },
                {
                    "description": "A command printing one item per line (`pytest --collect-only -q | grep ::`).",
                    "type": "object",
                    "properties": {"command": {"type": "string"}},
                    "required": ["command"],
                    "additionalProperties": false
                }
            ]
        })
    }
}

impl<'de> Deserialize<'de> for Items {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error as _;
        match ItemsField::deserialize(d)? {
            ItemsField {
                glob: Some(g),
                command: None,
                exclude,
            } => Ok(Items::Glob {
                pattern: g,
                exclude: exclude.unwrap_or_default(),
            }),
            ItemsField {
                glob: None,
                command: Some(c),
                exclude: None,
            } => Ok(Items::Command(c)),
            ItemsField {
                glob: None,
                command: Some(_),
                exclude: Some(_),
            } => Err(D::Error::custom(
                "items: `exclude` leaves files out of a `glob`, not of a command's lines",
            )),
            ItemsField {
                glob: None,
                command: None,
                ..
            } => Err(D::Error::custom(
                "items: expected `glob` or `command`, such as {glob: \"tests/**/test_*.py\"}",
            )),
            ItemsField { .. } => Err(D::Error::custom(
                "items: expected `glob` or `command`, not both",
            )),
        }
    }
}

impl Serialize for Items {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let (glob, exclude, command) = match self {
            Items::Glob { pattern, exclude } => (
                Some(pattern.clone()),
                (!exclude.is_empty()).then(|| exclude.clone()),
                None,
            ),
            Items::Command(c) => (None, None, Some(c.clone())),
        };
        ItemsField {
            glob,
            exclude,
            command,
        }
        .serialize(s)
    }
}

/// A label, or a list of labels a runner must all have.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RunsOnConfig {
    One(String),
    All(Vec<String>),
}

impl RunsOnConfig {
    /// Whether the suite runs on macOS runners, which GitHub Free runs fewer of at once.
    pub fn is_macos(&self) -> bool {
        self.labels()
            .iter()
            .any(|l| crate::runner::is_macos_label(l))
    }

    pub fn labels(&self) -> &[String] {
        match self {
            RunsOnConfig::One(l) => std::slice::from_ref(l),
            RunsOnConfig::All(l) => l,
        }
    }

    /// As written: a string, or a list.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            RunsOnConfig::One(l) => serde_json::Value::from(l.clone()),
            RunsOnConfig::All(l) => serde_json::Value::from(l.clone()),
        }
    }
}

impl<'de> Deserialize<'de> for RunsOnConfig {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Labels;
        impl<'de> serde::de::Visitor<'de> for Labels {
            type Value = RunsOnConfig;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a runner label, or a list of labels")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RunsOnConfig, E> {
                Ok(RunsOnConfig::One(v.to_owned()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<RunsOnConfig, A::Error> {
                let mut labels = Vec::new();
                while let Some(l) = seq.next_element::<String>()? {
                    labels.push(l);
                }
                Ok(RunsOnConfig::All(labels))
            }
        }
        d.deserialize_any(Labels)
    }
}

impl Serialize for RunsOnConfig {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.to_json().serialize(s)
    }
}

impl JsonSchema for RunsOnConfig {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "RunsOnConfig".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A label, or a list of labels a runner must all have.",
            "anyOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}}
            ]
        })
    }
}

fn default_true() -> bool {
    true
}
fn default_branches() -> Vec<String> {
    vec!["main".to_owned()]
}
fn default_runs_on() -> RunsOnConfig {
    RunsOnConfig::One("ubuntu-latest".to_owned())
}
fn default_max_shards() -> u32 {
    16
}
fn default_timeout() -> u32 {
    30
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: not a config this planner reads")]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_yaml::Error,
    },
    #[error("{path}: {field}: {message}")]
    Field {
        path: PathBuf,
        field: String,
        message: String,
    },
}

impl Config {
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let config: Config = serde_yaml::from_str(text).map_err(|source| ConfigError::Parse {
            path: path.to_owned(),
            source,
        })?;
        let field = |field: String, message: &str| ConfigError::Field {
            path: path.to_owned(),
            field,
            message: message.to_owned(),
        };
        if config.version != CONFIG_VERSION {
            return Err(field(
                "version".into(),
                &format!("expected {CONFIG_VERSION}, the only version there is"),
            ));
        }
        // Branch filters are patterns GitHub reads itself (and evaluates `${{ }}` in), so they
        // are held to what a branch pattern can be.
        for (i, b) in config.branches.iter().enumerate() {
            let ok = !b.is_empty()
                && b.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._/-*+!".contains(c));
            if !ok {
                return Err(field(
                    format!("branches[{i}]"),
                    &format!(
                        "{b:?} is not a branch pattern (letters, digits, and . _ / - * + ! only)"
                    ),
                ));
            }
        }
        if config.suites.is_empty() {
            return Err(field("suites".into(), "name at least one suite"));
        }
        for (name, suite) in &config.suites {
            let at = |f: &str| format!("suites.{name}.{f}");
            if name.trim().is_empty() {
                return Err(field("suites".into(), "a suite's name is empty"));
            }
            if suite.setup.iter().any(|s| !s.is_mapping()) {
                return Err(field(at("setup"), "expected a list of steps (mappings)"));
            }
            let labels = suite.runs_on.labels();
            if labels.is_empty() || labels.iter().any(|l| l.trim().is_empty()) {
                return Err(field(at("runs-on"), "expected a runner label"));
            }
            suite
                .lane()
                .map_err(|(f, i, e)| field(format!("suites.{name}.{f}[{i}]"), &e.to_string()))?;
        }
        Ok(config)
    }

    /// The JSON Schema of this file, as checked in at `schema/planner.schema.json`.
    pub fn schema() -> String {
        let schema = schemars::schema_for!(Config);
        let mut s = serde_json::to_string_pretty(&schema).unwrap_or_default();
        s.push('\n');
        s
    }
}

impl Suite {
    /// The command as written, or the runner's usual one; for pytest, which writes JUnit when
    /// asked on its command line, asked to (`--junitxml=junit.xml`), so that the report has it.
    pub fn command(&self) -> String {
        match (&self.command, self.runner) {
            (Some(c), _) => c.clone(),
            (None, Runner::Pytest) => format!(
                "{} --junitxml={PYTEST_JUNIT}",
                self.runner.default_command()
            ),
            (None, r) => r.default_command().to_owned(),
        }
    }

    pub fn runs_on(&self) -> serde_json::Value {
        self.runs_on.to_json()
    }

    /// The paths it depends on, when it names any; the error names the field, the pattern's
    /// index and what is wrong with it.
    pub fn lane(&self) -> Result<Option<Lane>, (&'static str, usize, lanes::PatternError)> {
        let filter = |field: &'static str, written: &[String]| {
            if written.is_empty() {
                return Ok(None);
            }
            PathFilter::parse(written)
                .map(Some)
                .map_err(|(i, e)| (field, i, e))
        };
        let paths = filter("paths", &self.paths)?;
        let ignore = filter("paths-ignore", &self.paths_ignore)?;
        Ok(self.has_lane().then_some(Lane { paths, ignore }))
    }

    /// Whether it names the paths it depends on (`paths` or `paths-ignore`).
    pub fn has_lane(&self) -> bool {
        !self.paths.is_empty() || !self.paths_ignore.is_empty()
    }

    /// The JUnit the command writes, where the runner has a usual place.
    pub fn junit(&self) -> Option<String> {
        self.junit.clone().or_else(|| match self.runner {
            Runner::Nextest => Some("target/nextest/ci/junit.xml".into()),
            Runner::Pytest if self.command.is_none() => Some(PYTEST_JUNIT.into()),
            _ => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_by_path() {
        let cause = |text: &str| {
            let err = Config::parse(text, Path::new("p.yml")).unwrap_err();
            assert_eq!(err.to_string(), "p.yml: not a config this planner reads");
            std::error::Error::source(&err)
                .map(ToString::to_string)
                .unwrap_or_default()
        };
        let e = cause("version: 1\nsuites:\n  unit: {runner: pytst}\n");
        assert!(
            e.contains("suites.unit.runner: unknown variant `pytst`"),
            "{e}"
        );
        let e = cause("version: 1\nsuite: {}\n");
        assert!(e.contains("unknown field `suite`"), "{e}");
        let e = cause("version: 1\nsuites:\n  unit: {runner: pytest, runs-on: {a: 1}}\n");
        assert!(
            e.contains("expected a runner label, or a list of labels"),
            "{e}"
        );
        let e =
            cause("version: 1\nsuites:\n  unit: {runner: pytest, items: {glob: a, command: b}}\n");
        assert!(
            e.contains("suites.unit: items: expected `glob` or `command`, not both"),
            "{e}"
        );
        let e = cause("version: 1\nsuites:\n  unit: {runner: pytest, items: {globs: a}}\n");
        assert!(e.contains("unknown field `globs`"), "{e}");
    }

    #[test]
    fn items_parse_in_the_documented_mapping_form() {
        let c = Config::parse(
            "version: 1\nsuites:\n  a: {runner: pytest, items: {glob: \"tests/**/test_*.py\"}}\n  b: {runner: go, items: {command: go list ./...}, runs-on: [self-hosted, linux]}\n",
            Path::new("p.yml"),
        )
        .unwrap();
        assert_eq!(
            c.suites["a"].items,
            Some(Items::Glob {
                pattern: "tests/**/test_*.py".into(),
                exclude: Vec::new()
            })
        );
        assert_eq!(
            c.suites["b"].items,
            Some(Items::Command("go list ./...".into()))
        );
        assert_eq!(c.suites["b"].runs_on.labels(), ["self-hosted", "linux"]);
    }

    #[test]
    fn a_glob_takes_excludes_and_a_command_does_not() {
        let c = Config::parse(
            "version: 1\nsuites:\n  a: {runner: rspec, items: {glob: \"spec/{models,api}/**/*_spec.rb\", exclude: [\"spec/api/slow/**\"]}}\n",
            Path::new("p.yml"),
        )
        .unwrap();
        assert_eq!(
            c.suites["a"].items,
            Some(Items::Glob {
                pattern: "spec/{models,api}/**/*_spec.rb".into(),
                exclude: vec!["spec/api/slow/**".into()],
            })
        );
        let err = Config::parse(
            "version: 1\nsuites:\n  a: {runner: go, items: {command: go list, exclude: [x]}}\n",
            Path::new("p.yml"),
        )
        .unwrap_err();
        let cause = std::error::Error::source(&err)
            .map(ToString::to_string)
            .unwrap_or_default();
        assert!(
            cause.contains("`exclude` leaves files out of a `glob`"),
            "{cause}"
        );
    }
}
