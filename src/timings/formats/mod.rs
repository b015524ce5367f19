//! Readers for the timing files people already have: JUnit XML from any runner, flat JSON maps
//! (pytest-split, Knapsack, playwright), and the planner's own store. Chosen by content.

mod error;
mod flat;
mod inputs;
mod junit;
mod outcomes;

pub use error::{IngestError, line_of};
pub use flat::{read_flat_map, strip_position};
pub use inputs::{
    FormatChoice, Granularity, Ingested, PROCESS_TIMING_SUFFIX, ReadOptions, Unit, decode_text,
    expand_input, junit_items, junit_view, read_input, read_store,
};
pub use junit::{JunitCase, JunitSummary, Outcome, read_junit};
pub use outcomes::{TestOutcome, final_outcomes, run_order, settled_items};
