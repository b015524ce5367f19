//! Timing history: items, samples, the store, and estimates drawn from it.

pub mod align;
mod estimate;
pub mod formats;
mod item;
mod micros;
mod overhead;
mod store;

pub use estimate::{EstimateSource, Estimates, Estimator, Statistic};
pub use item::{ItemId, file_count, is_test_id, item_ancestors, item_file, looks_like_file};
#[cfg(test)]
pub(crate) use micros::ms_list;
pub use micros::{DurationError, Micros, median};
pub use overhead::{
    HiddenCost, KEEP_SHARD_COSTS, KEEP_STARTUPS, MeasuredOverhead, ShardCost, StartUp,
};
pub(crate) use store::hex_digest;
pub use store::{
    DEFAULT_KEEP, Failure, FlakeRecord, KEEP_FAILURES, MergeOutcome, Observation, Observed, RunRef,
    STORE_FORMAT, STORE_VERSION, Sample, Store, cost_key, hex,
};
