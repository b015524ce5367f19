//! `Micros`: a duration in whole microseconds, the planner's only unit inside the core.
//!
//! Integers keep every runner's arithmetic identical, so ten runners computing the same partition
//! agree to the byte; floats appear only where seconds are read or shown. Microseconds keep the
//! sub-millisecond tests that many suites are full of (a whole-millisecond unit made them all 0,
//! and a suite of them no better than a split by count).
//!
//! Files (stores, plans, reports) write durations in milliseconds, as they always have: a whole
//! number when the duration is one, else with up to three decimals. A file written before
//! microseconds reads the same.

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The longest duration a single observation may claim: a week. Anything longer is a unit mix-up
/// (milliseconds read as seconds) or garbage, and is rejected rather than planned around.
pub const MAX_PLAUSIBLE: Micros = Micros(7 * 24 * 3600 * 1_000_000);

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Micros(pub u64);

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

impl Micros {
    /// True for no time at all (a field worth leaving out).
    pub fn is_zero(&self) -> bool {
        self.0 == 0
    }

    pub const ZERO: Micros = Micros(0);

    /// A measured duration, saturating at the largest.
    pub fn of(d: std::time::Duration) -> Micros {
        Micros(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
    }

    /// Whole milliseconds.
    pub const fn ms(ms: u64) -> Micros {
        Micros(ms.saturating_mul(1000))
    }

    pub const fn get(self) -> u64 {
        self.0
    }

    /// Whole milliseconds, rounded to the nearest.
    pub const fn as_millis(self) -> u64 {
        self.0.saturating_add(500) / 1000
    }

    /// Converts seconds (as read from a file) to microseconds, rounding to the nearest.
    pub fn from_secs_f64(seconds: f64) -> Result<Self, DurationError> {
        Self::from_scaled(seconds, 1e6, seconds)
    }

    /// Seconds the planner computed (a measure, a difference), to the nearest microsecond; a
    /// negative or NaN value is zero. Not for input: that is `from_secs_f64`, which validates.
    pub fn from_secs_lossy(seconds: f64) -> Self {
        Micros((seconds * 1e6).round().max(0.0) as u64)
    }

    /// Converts a value in milliseconds, validating it the same way.
    pub fn from_millis_f64(millis: f64) -> Result<Self, DurationError> {
        Self::from_scaled(millis, 1000.0, millis / 1000.0)
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
        let us = (value * scale).round();
        if us > MAX_PLAUSIBLE.0 as f64 {
            return Err(DurationError::Absurd(seconds));
        }
        Ok(Micros(us as u64))
    }

    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// From `start` to `end`, when both are known and in order.
    pub fn between(
        start: Option<chrono::DateTime<chrono::Utc>>,
        end: Option<chrono::DateTime<chrono::Utc>>,
    ) -> Option<Micros> {
        let us = (end? - start?).num_microseconds()?;
        u64::try_from(us).ok().map(Micros)
    }

    #[must_use]
    pub fn saturating_sub(self, other: Micros) -> Micros {
        Micros(self.0.saturating_sub(other.0))
    }

    /// Whole minutes, rounded up (GitHub bills each job by the started minute).
    pub const fn minutes_ceil(self) -> u64 {
        self.0.div_ceil(60_000_000)
    }

    /// The milliseconds a file holds: `1500` for 1.5 s, `0.25` for 250 µs.
    pub fn millis_text(self) -> String {
        let (whole, frac) = (self.0 / 1000, self.0 % 1000);
        if frac == 0 {
            whole.to_string()
        } else {
            let digits = format!("{frac:03}");
            format!("{whole}.{}", digits.trim_end_matches('0'))
        }
    }
}

/// Milliseconds, as a whole number when the duration is one (as files always held them).
impl Serialize for Micros {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_multiple_of(1000) {
            s.serialize_u64(self.0 / 1000)
        } else {
            s.serialize_f64(self.0 as f64 / 1000.0)
        }
    }
}

/// Milliseconds, whole or with decimals; refused when negative, not finite or over a week.
impl<'de> Deserialize<'de> for Micros {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit;
        impl serde::de::Visitor<'_> for Visit {
            type Value = Micros;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration in milliseconds")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Micros, E> {
                if v > MAX_PLAUSIBLE.0 / 1000 {
                    return Err(E::custom(DurationError::Absurd(v as f64 / 1000.0)));
                }
                Ok(Micros::ms(v))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Micros, E> {
                match u64::try_from(v) {
                    Ok(v) => self.visit_u64(v),
                    Err(_) => Err(E::custom(DurationError::Negative(v as f64))),
                }
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Micros, E> {
                Micros::from_millis_f64(v).map_err(E::custom)
            }
        }
        d.deserialize_any(Visit)
    }
}

impl Add for Micros {
    type Output = Micros;
    fn add(self, rhs: Micros) -> Micros {
        Micros(self.0.saturating_add(rhs.0))
    }
}

impl AddAssign for Micros {
    fn add_assign(&mut self, rhs: Micros) {
        self.0 = self.0.saturating_add(rhs.0);
    }
}

impl Sub for Micros {
    type Output = Micros;
    fn sub(self, rhs: Micros) -> Micros {
        self.saturating_sub(rhs)
    }
}

impl std::iter::Sum for Micros {
    fn sum<I: Iterator<Item = Micros>>(iter: I) -> Micros {
        iter.fold(Micros::ZERO, Add::add)
    }
}

/// Human form: `250µs`, `850ms`, `12.3s`, `4m 05s`, `1h 02m`.
impl fmt::Display for Micros {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let us = self.0;
        let ms = self.as_millis();
        let text = if us > 0 && us < 1000 {
            format!("{us}µs")
        } else if ms < 1000 {
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
pub fn median(mut values: Vec<Micros>) -> Option<Micros> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let n = values.len();
    Some(if n % 2 == 1 {
        values[n / 2]
    } else {
        Micros((values[n / 2 - 1].0 + values[n / 2].0).div_ceil(2))
    })
}

/// Milliseconds as durations, for tests' weights.
#[cfg(test)]
pub(crate) fn ms_list(v: &[u64]) -> Vec<Micros> {
    v.iter().copied().map(Micros::ms).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_to_nearest_microsecond() {
        assert_eq!(Micros::from_secs_f64(0.0004), Ok(Micros(400)));
        assert_eq!(Micros::from_secs_f64(0.000_000_4), Ok(Micros(0)));
        assert_eq!(Micros::from_secs_f64(1.234_567_8), Ok(Micros(1_234_568)));
    }

    /// Files hold milliseconds: whole ones as before, a fraction only when there is one.
    #[test]
    fn files_hold_milliseconds_with_decimals_only_when_needed() {
        let json = |us| serde_json::to_string(&Micros(us)).unwrap();
        assert_eq!(json(1_500_000), "1500");
        assert_eq!(json(250), "0.25");
        assert_eq!(json(1_234_567), "1234.567");
        assert_eq!(Micros(300).millis_text(), "0.3");
        assert_eq!(Micros(2_000).millis_text(), "2");
        let read = |t: &str| serde_json::from_str::<Micros>(t);
        assert_eq!(read("1500").unwrap(), Micros::ms(1500));
        assert_eq!(read("0.25").unwrap(), Micros(250));
        assert!(read("-1").is_err());
        assert!(read("1e12").is_err(), "over a week");
        for us in [0, 1, 999, 1000, 1001, 123_456_789] {
            assert_eq!(read(&json(us)).unwrap(), Micros(us), "{us} µs round-trips");
        }
    }

    #[test]
    fn rejects_what_cannot_be_a_duration() {
        assert_eq!(
            Micros::from_secs_f64(f64::NAN),
            Err(DurationError::NotANumber)
        );
        assert_eq!(
            Micros::from_secs_f64(-0.5),
            Err(DurationError::Negative(-0.5))
        );
        assert!(matches!(
            Micros::from_secs_f64(f64::INFINITY),
            Err(DurationError::Infinite(_))
        ));
        assert!(matches!(
            Micros::from_secs_f64(1e9),
            Err(DurationError::Absurd(_))
        ));
        assert_eq!(Micros::from_millis_f64(23326.0), Ok(Micros::ms(23326)));
    }

    #[test]
    fn displays_for_people() {
        assert_eq!(Micros(250).to_string(), "250µs");
        assert_eq!(Micros::ms(850).to_string(), "850ms");
        assert_eq!(Micros::ms(12_340).to_string(), "12.3s");
        assert_eq!(Micros::ms(245_000).to_string(), "4m 05s");
        assert_eq!(Micros::ms(3_720_000).to_string(), "1h 02m");
    }
}
