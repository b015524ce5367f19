//! Raw arguments → validated settings: every check on values happens here, before any work.

use crate::Error;
use crate::timings::formats::{FormatChoice, Granularity, ReadOptions, Unit};
use crate::timings::{Estimator, Millis, Statistic};

use super::args::{ByArg, InputFormat, ReadArgs, SourceArgs, StatisticArg, UnitArg};

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
        by: match read.by {
            ByArg::Test => Granularity::Test,
            ByArg::File => Granularity::File,
            ByArg::Class => Granularity::Class,
        },
        include_failed: read.include_failed,
    }
}

/// Seconds from a flag, checked: finite, not negative, not absurd.
pub fn seconds(flag: &str, value: f64) -> Result<Millis, Error> {
    Millis::from_secs_f64(value).map_err(|e| Error::Usage(format!("{flag}: {e}")))
}

pub fn estimator(source: &SourceArgs) -> Result<Estimator, Error> {
    let default = seconds("--default-seconds", source.default_seconds)?;
    if default.0 == 0 {
        return Err(Error::Usage(
            "--default-seconds must be more than zero: no item is ever free".into(),
        ));
    }
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
    })
}
