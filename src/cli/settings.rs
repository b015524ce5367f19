//! Raw arguments and the config file → validated settings, once, before any work.
//!
//! Every value is checked here, and only here, with where it came from: a flag or a config
//! field. The same bad value gives the same message and the same exit code whichever way it
//! arrives. Nothing past this file sees a clap type.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::config::{Config, Items, Suite};
use crate::plan::{CapacitySource, ChoiceMode, OverheadSource, RunnerCapacity, SuiteSettings};
use crate::report::Rates;
use crate::timings::formats::{FormatChoice, Granularity, ReadOptions, Unit};
use crate::timings::{Estimator, Micros, Statistic};
use crate::workflow::Capacity;

use super::args::{
    ByArg, InputFormat, JobsArgs, PlanArgs, ReadArgs, ReportArgs, SourceArgs, StatisticArg, UnitArg,
};

/// Where a value came from, named the way the user wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    Flag(&'static str),
    /// An environment variable, by name.
    Env(String),
    Config {
        path: PathBuf,
        field: String,
    },
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::Flag(flag) => f.write_str(flag),
            Origin::Env(name) => write!(f, "${name}"),
            Origin::Config { path, field } => write!(f, "{}: {field}", path.display()),
        }
    }
}

/// A value that is not what its setting takes.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{origin}: {message}")]
pub struct SettingError {
    pub origin: Origin,
    pub message: String,
}

impl SettingError {
    pub fn new(origin: Origin, message: impl Into<String>) -> Self {
        SettingError {
            origin,
            message: message.into(),
        }
    }

    pub fn flag(flag: &'static str, message: impl Into<String>) -> Self {
        SettingError::new(Origin::Flag(flag), message)
    }
}

/// Seconds, checked: finite, not negative, not absurd.
pub fn seconds(origin: &Origin, value: f64) -> Result<Micros, SettingError> {
    Micros::from_secs_f64(value).map_err(|e| SettingError::new(origin.clone(), e.to_string()))
}

/// Seconds that must be more than zero (a target, a default duration).
pub fn positive_seconds(origin: &Origin, value: f64, why: &str) -> Result<Micros, SettingError> {
    let ms = seconds(origin, value)?;
    if ms.0 == 0 {
        return Err(SettingError::new(
            origin.clone(),
            format!("expected more than 0 seconds{why}, got {value}"),
        ));
    }
    Ok(ms)
}

/// A number of 0 or more, from a flag's text (`--rate`, `--sla`).
fn non_negative(origin: &Origin, text: &str) -> Result<f64, SettingError> {
    let v = text.trim().parse::<f64>().unwrap_or(f64::NAN);
    if v.is_finite() && v >= 0.0 {
        Ok(v)
    } else {
        Err(SettingError::new(
            origin.clone(),
            format!("expected a number of 0 or more, got `{text}`"),
        ))
    }
}

pub fn granularity(by: ByArg) -> Granularity {
    match by {
        ByArg::Test => Granularity::Test,
        ByArg::File => Granularity::File,
        ByArg::Class => Granularity::Class,
    }
}

pub fn read_options(format: InputFormat, read: &ReadArgs) -> ReadOptions {
    ReadOptions {
        format: match format {
            InputFormat::Auto => FormatChoice::Auto,
            InputFormat::Junit => FormatChoice::Junit,
            InputFormat::Json => FormatChoice::Json,
            InputFormat::Store => FormatChoice::Store,
        },
        unit: match read.unit {
            UnitArg::Seconds => Unit::Seconds,
            UnitArg::Millis => Unit::Millis,
        },
        by: granularity(read.by),
        include_failed: read.include_failed,
    }
}

/// `--retire-after DAYS`: the span, or none for 0.
pub fn retire_after(days: u32) -> Option<chrono::Duration> {
    (days > 0).then(|| chrono::Duration::days(i64::from(days)))
}

/// Where a suite's items come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ItemSource {
    /// Every item in the timings.
    Timings,
    /// A file of one id per line, `-` for standard input.
    File(String),
    /// The files these globs match from the working directory, less the excluded (`--glob`).
    Glob {
        patterns: Vec<String>,
        exclude: Vec<String>,
    },
    /// Listed by a config's glob or command (the suite and where to run it are kept for messages).
    Config {
        suite: String,
        items: Items,
        dir: PathBuf,
        /// The config file, for messages.
        config: PathBuf,
    },
}

/// How a suite's history is read and estimated, for `plan`, `shard` and `analyze`.
#[derive(Clone, Debug)]
pub struct HistorySettings {
    pub timings: Vec<String>,
    pub items: ItemSource,
    pub read: ReadOptions,
    pub runner_class: String,
    pub estimator: Estimator,
    pub strict: bool,
    pub allow_empty: bool,
    /// Items not seen for this long before the newest run are left out.
    pub retire_after: Option<chrono::Duration>,
}

pub fn estimator(source: &SourceArgs) -> Result<Estimator, SettingError> {
    let default = positive_seconds(
        &Origin::Flag("--default-seconds"),
        source.default_seconds,
        ": no item is ever free",
    )?;
    Ok(Estimator {
        statistic: match source.statistic {
            StatisticArg::Median => Statistic::Median,
            StatisticArg::Mean => Statistic::Mean,
            StatisticArg::TrimmedMean => Statistic::TrimmedMean,
            StatisticArg::P75 => Statistic::Quantile(0.75),
            StatisticArg::Ewma => Statistic::Ewma(0.7),
            StatisticArg::Last => Statistic::Last,
        },
        window: source.window as usize,
        default,
        ..Estimator::default()
    })
}

/// The history of a suite given by flags.
pub fn history(source: &SourceArgs) -> Result<HistorySettings, SettingError> {
    Ok(HistorySettings {
        timings: source.timings.clone(),
        items: if source.glob.is_empty() {
            source
                .items
                .clone()
                .map_or(ItemSource::Timings, ItemSource::File)
        } else {
            ItemSource::Glob {
                patterns: source.glob.clone(),
                exclude: source.exclude.clone(),
            }
        },
        read: read_options(source.input_format, &source.read),
        runner_class: source.read.runner_class.clone(),
        estimator: estimator(source)?,
        strict: source.strict,
        allow_empty: source.allow_empty,
        retire_after: retire_after(source.read.retire_after),
    })
}

/// A suite, validated: everything but the overhead that its history may measure.
#[derive(Clone, Debug)]
pub struct SuiteSettingsDraft {
    pub name: String,
    pub history: HistorySettings,
    /// An overhead given by a flag or the config; else measured, else assumed.
    pub overhead: Option<(Micros, OverheadSource)>,
    /// The runner classes whose measured start-up applies, best first.
    pub classes: Vec<String>,
    pub mode: ChoiceMode,
    pub max_shards: usize,
    pub max_extra_cost: f64,
    pub capacity: RunnerCapacity,
}

/// The per-shard overhead when nothing gives or measures it.
pub const ASSUMED_OVERHEAD: Micros = Micros::ms(30_000);

/// The raw values of one suite, from flags or a config, each with its origin.
struct SuiteRequest {
    name: String,
    history: HistorySettings,
    overhead: Option<(f64, Origin, OverheadSource)>,
    classes: Vec<String>,
    total: Option<u32>,
    target: Option<(f64, Origin)>,
    max_shards: (u32, Origin),
    max_extra_cost: f64,
    /// Given by a flag or the config; else GitHub Free's, for macOS runners or others.
    capacity: Option<(u32, CapacitySource)>,
    macos: bool,
}

/// A suite's overhead, target and shard cap, checked: the values a flag and a config field can
/// both give.
struct SuiteValues {
    overhead: Option<Micros>,
    target: Option<Micros>,
    max_shards: usize,
}

fn suite_values(
    overhead: Option<(f64, &Origin)>,
    target: Option<(f64, &Origin)>,
    (max_shards, origin): (u32, &Origin),
) -> Result<SuiteValues, SettingError> {
    if !(1..=256).contains(&max_shards) {
        return Err(SettingError::new(
            origin.clone(),
            format!(
                "expected 1 to 256 shards (GitHub runs at most 256 jobs per matrix), got {max_shards}"
            ),
        ));
    }
    Ok(SuiteValues {
        overhead: overhead.map(|(v, o)| seconds(o, v)).transpose()?,
        target: target
            .map(|(t, o)| positive_seconds(o, t, ""))
            .transpose()?,
        max_shards: max_shards as usize,
    })
}

/// The one place a suite's values are checked, whichever way they came.
fn resolve(r: SuiteRequest) -> Result<SuiteSettingsDraft, SettingError> {
    let values = suite_values(
        r.overhead.as_ref().map(|(v, o, _)| (*v, o)),
        r.target.as_ref().map(|(v, o)| (*v, o)),
        (r.max_shards.0, &r.max_shards.1),
    )?;
    let overhead = values.overhead.zip(r.overhead.map(|(_, _, source)| source));
    let extra = r.max_extra_cost;
    if !(extra.is_finite() && extra >= 0.0) {
        return Err(SettingError::flag(
            "--max-extra-cost",
            format!("expected a percentage of 0 or more, got {extra}"),
        ));
    }
    let mode = match (r.total, values.target) {
        (Some(n), _) => ChoiceMode::Fixed {
            requested: n as usize,
        },
        (None, Some(target_ms)) => ChoiceMode::Target { target_ms },
        (None, None) => ChoiceMode::Cost {
            max_extra_cost: extra / 100.0,
        },
    };
    Ok(SuiteSettingsDraft {
        name: r.name,
        history: r.history,
        overhead,
        classes: r.classes,
        mode,
        max_shards: values.max_shards,
        max_extra_cost: extra / 100.0,
        capacity: match r.capacity {
            Some((runners, source)) => RunnerCapacity {
                runners: runners.max(1) as usize,
                source,
            },
            None => RunnerCapacity::github_free(r.macos),
        },
    })
}

/// `planner plan` without a config: one suite from the flags.
pub fn suite_from_flags(args: &PlanArgs) -> Result<SuiteSettingsDraft, SettingError> {
    let history = history(&args.source)?;
    resolve(SuiteRequest {
        name: args.suite.clone(),
        classes: vec![history.runner_class.clone()],
        history,
        overhead: args
            .overhead_seconds
            .map(|s| (s, Origin::Flag("--overhead-seconds"), OverheadSource::Flag)),
        total: args.total,
        target: args
            .target_seconds
            .map(|t| (t, Origin::Flag("--target-seconds"))),
        max_shards: (args.max_shards, Origin::Flag("--max-shards")),
        max_extra_cost: args.max_extra_cost,
        capacity: args.capacity.map(|c| (c, CapacitySource::Flag)),
        macos: false,
    })
}

/// The folder a config's relative paths start from: the config's own, or for a config inside
/// `.github/` the repository's (the folder above), as for GitHub's own files there.
pub fn config_base(path: &Path) -> PathBuf {
    let dir = path.parent().unwrap_or(Path::new(""));
    let base = if dir.file_name().is_some_and(|n| n == ".github") {
        dir.parent().unwrap_or(Path::new(""))
    } else {
        dir
    };
    base.to_path_buf()
}

/// `p` as seen from the working directory, when `p` is relative to `base`.
fn under(base: &Path, p: &str) -> String {
    if base.as_os_str().is_empty() || Path::new(p).is_absolute() {
        p.to_owned()
    } else {
        base.join(p).display().to_string()
    }
}

/// Checks every suite of a config (values the schema cannot express are checked here too), as
/// `plan --config` and `render` both need.
pub fn check_config(config: &Config, path: &Path) -> Result<(), SettingError> {
    for (name, suite) in &config.suites {
        let at = |f: &str| Origin::Config {
            path: path.to_owned(),
            field: format!("suites.{name}.{f}"),
        };
        let (overhead, target) = (at("overhead-seconds"), at("target-seconds"));
        suite_values(
            suite.overhead_seconds.map(|v| (v, &overhead)),
            suite.target_seconds.map(|v| (v, &target)),
            (suite.max_shards, &at("max-shards")),
        )?;
        if !(1..=360).contains(&suite.timeout_minutes) {
            return Err(SettingError::new(
                at("timeout-minutes"),
                format!("expected 1 to 360 minutes, got {}", suite.timeout_minutes),
            ));
        }
    }
    Ok(())
}

/// `planner plan --config`: each suite of the config, with the flags that apply to all of them.
pub fn suites_from_config(
    config: &Config,
    path: &Path,
    args: &PlanArgs,
) -> Result<Vec<SuiteSettingsDraft>, SettingError> {
    check_config(config, path)?;
    let base = config_base(path);
    let mut suites = Vec::new();
    for (name, suite) in &config.suites {
        suites.push(suite_from_config(config, path, &base, name, suite, args)?);
    }
    Ok(suites)
}

fn suite_from_config(
    config: &Config,
    path: &Path,
    base: &Path,
    name: &str,
    suite: &Suite,
    args: &PlanArgs,
) -> Result<SuiteSettingsDraft, SettingError> {
    let at = |f: &str| Origin::Config {
        path: path.to_owned(),
        field: format!("suites.{name}.{f}"),
    };
    let mut history = history(&args.source)?;
    history.timings = config
        .timings
        .iter()
        .chain(&suite.timings)
        .map(|t| under(base, t))
        .chain(args.source.timings.iter().cloned())
        .collect();
    history.read.by = suite.by;
    history.allow_empty = true;
    history.items = match &suite.items {
        Some(items) => ItemSource::Config {
            suite: name.to_owned(),
            items: items.clone(),
            config: path.to_owned(),
            dir: PathBuf::from(under(
                base,
                suite.working_directory.as_deref().unwrap_or("."),
            )),
        },
        None => ItemSource::Timings,
    };
    // Jobs fetched from the API are classed by their labels, joined as `timings fetch` joins
    // them; a measured start-up of the suite's own runners comes first.
    let classes = vec![
        suite.runs_on.labels().join(","),
        history.runner_class.clone(),
    ];
    resolve(SuiteRequest {
        name: name.to_owned(),
        history,
        overhead: suite
            .overhead_seconds
            .map(|s| (s, at("overhead-seconds"), OverheadSource::Config)),
        classes,
        total: None,
        target: suite.target_seconds.map(|t| (t, at("target-seconds"))),
        max_shards: (suite.max_shards, at("max-shards")),
        max_extra_cost: args.max_extra_cost,
        capacity: args
            .capacity
            .map(|c| (c, CapacitySource::Flag))
            .or(suite.capacity.map(|c| (c, CapacitySource::Config))),
        macos: suite.runs_on.is_macos(),
    })
}

impl SuiteSettingsDraft {
    /// The settings the planner plans with, once the history may have measured the overhead.
    pub fn finish(
        &self,
        measured: impl FnOnce(&[&str]) -> Option<crate::timings::MeasuredOverhead>,
        hidden: Option<crate::timings::HiddenCost>,
    ) -> SuiteSettings {
        let classes: Vec<&str> = self.classes.iter().map(String::as_str).collect();
        let (overhead, overhead_source, overhead_detail) = match self.overhead {
            Some((ms, source)) => (ms, source, None),
            None => match measured(&classes) {
                Some(m) => (m.total, OverheadSource::Measured, Some(m.describe())),
                None => (ASSUMED_OVERHEAD, OverheadSource::Assumed, None),
            },
        };
        SuiteSettings {
            name: self.name.clone(),
            granularity: self.history.read.by,
            runner_class: self.history.runner_class.clone(),
            overhead,
            overhead_source,
            overhead_detail,
            hidden,
            mode: self.mode,
            max_shards: self.max_shards,
            max_extra_cost: self.max_extra_cost,
            capacity: self.capacity,
        }
    }
}

/// `planner report`'s goals and prices.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ReportSettings {
    pub rates: Rates,
    /// A wall-time budget for every suite, and per suite.
    pub sla_all: Option<f64>,
    pub sla_per: BTreeMap<String, f64>,
    pub target_seconds: Option<f64>,
}

/// `--rate KIND=USD`, repeatable and comma-separated (`linux=0.008,windows=0.016`).
fn rates(specs: &[String]) -> Result<Rates, SettingError> {
    let origin = Origin::Flag("--rate");
    let mut r = Rates::default();
    for spec in specs.iter().flat_map(|s| s.split(',')) {
        let spec = spec.trim();
        let (kind, usd) = spec.split_once('=').ok_or_else(|| {
            SettingError::new(
                origin.clone(),
                format!("`{spec}`: expected KIND=USD, such as linux=0.008"),
            )
        })?;
        let usd = non_negative(&origin, usd)?;
        match kind.trim() {
            "linux" => r.linux = usd,
            "windows" => r.windows = usd,
            "macos" => r.macos = usd,
            other => {
                return Err(SettingError::new(
                    origin,
                    format!("`{spec}`: unknown runner kind `{other}` (linux, windows or macos)"),
                ));
            }
        }
    }
    Ok(r)
}

pub fn report(args: &ReportArgs) -> Result<ReportSettings, SettingError> {
    let sla = Origin::Flag("--sla");
    let mut sla_all = None;
    let mut sla_per = BTreeMap::new();
    for spec in &args.sla {
        match spec.rsplit_once('=') {
            Some((suite, secs)) => {
                sla_per.insert(suite.to_owned(), non_negative(&sla, secs)?);
            }
            None => sla_all = Some(non_negative(&sla, spec)?),
        }
    }
    let target_seconds = match args.target_seconds {
        Some(t) => Some(positive_seconds(&Origin::Flag("--target-seconds"), t, "")?.as_secs_f64()),
        None => None,
    };
    Ok(ReportSettings {
        rates: rates(&args.rate)?,
        sla_all,
        sla_per,
        target_seconds,
    })
}

/// `planner analyze`'s assumptions.
#[derive(Clone, Debug)]
pub struct AnalyzeSettings {
    pub capacity: Capacity,
    pub default: Micros,
    pub overhead: Micros,
    pub read: ReadOptions,
}

pub fn analyze(args: &JobsArgs) -> Result<AnalyzeSettings, SettingError> {
    let mut capacity = Capacity::default();
    for spec in &args.capacity {
        capacity
            .set(spec)
            .map_err(|e| SettingError::flag("--capacity", e))?;
    }
    let read = ReadArgs {
        unit: UnitArg::Seconds,
        by: ByArg::Test,
        runner_class: "default".to_owned(),
        include_failed: false,
        retire_after: 0,
    };
    Ok(AnalyzeSettings {
        capacity,
        default: positive_seconds(
            &Origin::Flag("--default-seconds"),
            args.default_seconds,
            ": no job is ever free",
        )?,
        overhead: seconds(&Origin::Flag("--overhead-seconds"), args.overhead_seconds)?,
        read: read_options(args.input_format, &read),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_config_in_dot_github_resolves_from_the_repository() {
        assert_eq!(config_base(Path::new(".github/planner.yml")), Path::new(""));
        assert_eq!(
            config_base(Path::new("repo/.github/planner.yml")),
            Path::new("repo")
        );
        assert_eq!(config_base(Path::new("ci/planner.yml")), Path::new("ci"));
        assert_eq!(under(Path::new("repo"), "t.json"), "repo/t.json");
        assert_eq!(under(Path::new(""), "t.json"), "t.json");
        assert_eq!(under(Path::new("repo"), "/abs/t.json"), "/abs/t.json");
    }

    #[test]
    fn rates_take_a_comma_separated_list_as_the_help_shows() {
        let r = rates(&["linux=0.008,windows=0.016".into(), "macos=0.08".into()]).unwrap();
        assert_eq!((r.linux, r.windows, r.macos), (0.008, 0.016, 0.08));
        let e = rates(&["linux=0.008,bsd=1".into()]).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--rate: `bsd=1`: unknown runner kind `bsd` (linux, windows or macos)"
        );
    }
}
