//! `Millis`: a duration in whole milliseconds, the planner's only unit inside the core.
//!
//! Integers keep every runner's arithmetic identical, so ten runners computing the same partition
//! agree to the byte; floats appear only where seconds are read or shown.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Serialize};

/// The longest duration a single observation may claim: a week. Anything longer is a unit mix-up
/// (milliseconds read as seconds) or garbage, and is rejected rather than planned around.
pub const MAX_PLAUSIBLE: Millis = Millis(7 * 24 * 3600 * 1000);

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
pub struct Millis(pub u64);

#[derive(Clone, Copy, Debug, PartialEq, thiserror::Error)]
pub enum DurationError {
    #[error("duration is not a number")]
    NotANumber,
    #[error("duration {0} is negative")]
    Negative(f64),
    #[error("duration {0} is not finite")]
    Infinite(f64),
    #[error("duration of {0} s is implausible (over a week; is it in milliseconds? see --unit)")]
    Absurd(f64),
}

impl Millis {
    pub const ZERO: Millis = Millis(0);

    pub const fn get(self) -> u64 {
        self.0
    }

    /// Converts seconds (as read from a file) to milliseconds, rounding to the nearest.
    pub fn from_secs_f64(seconds: f64) -> Result<Self, DurationError> {
        Self::from_scaled(seconds, 1000.0, seconds)
    }

    /// Seconds the planner computed (a measure, a difference), to the nearest millisecond; a
    /// negative or NaN value is zero. Not for input: that is `from_secs_f64`, which validates.
    pub fn from_secs_lossy(seconds: f64) -> Self {
        Millis((seconds * 1000.0).round().max(0.0) as u64)
    }

    /// Converts a value in milliseconds, validating it the same way.
    pub fn from_millis_f64(millis: f64) -> Result<Self, DurationError> {
        Self::from_scaled(millis, 1.0, millis / 1000.0)
    }

    fn from_scaled(value: f64, scale: f64, seconds: f64) -> Result<Self, DurationError> {
        if value.is_nan() {
            return Err(DurationError::NotANumber);
        }
        if value.is_infinite() {
            return Err(DurationError::Infinite(value));
        }
        if value < 0.0 {
            return Err(DurationError::Negative(value));
        }
        let ms = (value * scale).round();
        if ms > MAX_PLAUSIBLE.0 as f64 {
            return Err(DurationError::Absurd(seconds));
        }
        Ok(Millis(ms as u64))
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }

    /// From `start` to `end`, when both are known and in order.
    pub fn between(
        start: Option<chrono::DateTime<chrono::Utc>>,
        end: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Option<Millis> {
        let ms = (end? - start?).num_milliseconds();
        u64::try_from(ms).ok().map(Millis)
    }

    #[must_use]
    pub fn saturating_sub(self, other: Millis) -> Millis {
        Millis(self.0.saturating_sub(other.0))
    }
}

impl Add for Millis {
    type Output = Millis;
    fn add(self, rhs: Millis) -> Millis {
        Millis(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Millis {
    fn add_assign(&mut self, rhs: Millis) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Sub for Millis {
    type Output = Millis;
    fn sub(self, rhs: Millis) -> Millis {
        self.saturating_sub(rhs)
    }
}

impl std::iter::Sum for Millis {
    fn sum<I: Iterator<Item = Millis>>(iter: I) -> Millis {
        iter.fold(Millis::ZERO, Add::add)
    }
}

/// Human form: `850ms`, `12.3s`, `4m 05s`, `1h 02m`.
impl fmt::Display for Millis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        let text = if ms < 1000 {
            format!("{ms}ms")
        } else if ms < 60_000 {
            format!("{:.1}s", ms as f64 / 1000.0)
        } else if ms < 3_600_000 {
            let s = (ms + 500) / 1000;
            format!("{}m {:02}s", s / 60, s % 60)
        } else {
            let m = (ms + 30_000) / 60_000;
            format!("{}h {:02}m", m / 60, m % 60)
        };
        f.pad(&text)
    }
}

/// The median of `values` (the mean of the middle two, rounded up, for an even count).
pub fn median(mut values: Vec<Millis>) -> Option<Millis> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        Millis((values[n / 2 - 1].0 + values[n / 2].0).div_ceil(2))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_to_nearest_millisecond() {
        assert_eq!(Millis::from_secs_f64(0.0004), Ok(Millis(0)));
        assert_eq!(Millis::from_secs_f64(0.0005), Ok(Millis(1)));
        assert_eq!(Millis::from_secs_f64(1.2345), Ok(Millis(1235)));
    }

    #[test]
    fn rejects_what_cannot_be_a_duration() {
        assert_eq!(
            Millis::from_secs_f64(f64::NAN),
            Err(DurationError::NotANumber)
        );
        assert_eq!(
            Millis::from_secs_f64(-0.5),
            Err(DurationError::Negative(-0.5))
        );
        assert!(matches!(
            Millis::from_secs_f64(f64::INFINITY),
            Err(DurationError::Infinite(_))
        ));
        assert!(matches!(
            Millis::from_secs_f64(1e9),
            Err(DurationError::Absurd(_))
        ));
        assert_eq!(Millis::from_millis_f64(23326.0), Ok(Millis(23326)));
    }

    #[test]
    fn displays_for_people() {
        assert_eq!(Millis(850).to_string(), "850ms");
        assert_eq!(Millis(12_340).to_string(), "12.3s");
        assert_eq!(Millis(245_000).to_string(), "4m 05s");
        assert_eq!(Millis(3_720_000).to_string(), "1h 02m");
    }
}
