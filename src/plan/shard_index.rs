//! `ShardIndex`: a 1-based shard number, as jest, playwright and nextest count shards.

use std::fmt;

use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ShardIndex(u32);

impl ShardIndex {
    /// `index` of `total`, both 1-based; `None` when out of range.
    pub fn new(index: u32, total: u32) -> Option<Self> {
        (index >= 1 && index <= total).then_some(ShardIndex(index))
    }

    /// From a 0-based position.
    pub fn from_zero_based(i: usize) -> Self {
        ShardIndex(u32::try_from(i + 1).unwrap_or(u32::MAX))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    pub fn zero_based(self) -> usize {
        self.0 as usize - 1
    }
}

impl fmt::Display for ShardIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
