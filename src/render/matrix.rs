//! Matrix JSON for `strategy.matrix: ${{ fromJSON(needs.plan.outputs.matrix) }}`, made by serde
//! from the plan, never by a template. A suite with nothing to run still gets a valid one-entry
//! matrix (GitHub rejects an empty one); the `skip` output says to leave it out.

use serde::Serialize;

use crate::plan::SuitePlan;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Matrix {
    pub include: Vec<MatrixEntry>,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct MatrixEntry {
    pub suite: String,
    pub shard: u32,
    pub total: u32,
    /// The shard jobs' `runs-on`, when the suite comes from a config.
    #[serde(rename = "runs-on", skip_serializing_if = "Option::is_none")]
    pub runs_on: Option<serde_json::Value>,
}

pub fn matrix(suite: &SuitePlan) -> Matrix {
    let total = u32::try_from(suite.shards.len().max(1)).unwrap_or(u32::MAX);
    Matrix {
        include: (1..=total)
            .map(|shard| MatrixEntry {
                suite: suite.name.clone(),
                shard,
                total,
                runs_on: suite.run.as_ref().map(|r| r.runs_on.clone()),
            })
            .collect(),
    }
}

/// The matrix on one line, as `$GITHUB_OUTPUT` and `fromJSON` want it.
pub fn matrix_json(suite: &SuitePlan) -> String {
    serde_json::to_string(&matrix(suite)).unwrap_or_else(|_| String::from("{\"include\":[]}"))
}
