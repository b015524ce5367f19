//! Planning: partitioning items into shards, choosing how many shards, and the Plan contract.

mod band;
mod choose;
mod claim;
mod claim_refs;
mod contract;
mod partition;
mod shard_index;

pub use band::{DRIFT_PER_YEAR, Drawn, WallBand, drawn, drift_at, wall_band};
pub use choose::{
    Choice, ChoiceMode, CostModel, CurvePoint, SHOWN_COUNTS, billed_minutes, choose, choose_shards,
    curve, wall_with_capacity, waves,
};
pub use claim::{ClaimPlan, ClaimShape, claim_plan, claim_plan_from, replay, replay_static};
pub use claim_refs::{
    CLAIMS_ROOT, ClaimError, Claimer, Created, Ledger, RefError, Refs, claims_by_run, claims_prefix,
};
pub use contract::{
    Bound, BoundTerm, CapacitySource, EstimateCounts, LaneDecision, OverheadSource, PLAN_FORMAT,
    PLAN_VERSION, Plan, PlannedItem, RunSpec, RunnerCapacity, ShardPlan, SuitePlan, SuiteSettings,
    assign, item_granularity, plan_suite, weighted_items,
};
pub use partition::{Assignment, LongestFirst, bound, lpt, lpt_in, partition, refine};
pub use shard_index::ShardIndex;
