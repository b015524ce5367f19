//! Runner pools: how many jobs may run at once, in all and per `runs-on` label.

use super::model::RunsOn;

/// Concurrency limits. A label pattern is a label, or a prefix ending in `*`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Capacity {
    pub total: Option<usize>,
    pub labels: Vec<(String, usize)>,
}

impl Default for Capacity {
    /// GitHub's limits for hosted runners on the Free plan: 20 concurrent jobs, of which at
    /// most 5 on macOS. Larger plans raise both; say so with `--capacity`.
    fn default() -> Self {
        Capacity {
            total: Some(crate::runner::github_free_capacity(false) as usize),
            labels: vec![(
                "macos*".to_owned(),
                crate::runner::github_free_capacity(true) as usize,
            )],
        }
    }
}

impl Capacity {
    pub fn unlimited() -> Self {
        Capacity {
            total: None,
            labels: Vec::new(),
        }
    }

    /// Applies one `LABEL=N` (or `total=N`); a later setting of the same label wins.
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let (label, n) = spec
            .rsplit_once('=')
            .ok_or_else(|| format!("`{spec}`: expected LABEL=N, e.g. ubuntu-latest=20"))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| format!("`{spec}`: the capacity must be a whole number of runners"))?;
        if n == 0 {
            return Err(format!("`{spec}`: a pool needs at least one runner"));
        }
        let label = label.trim();
        if label.is_empty() {
            return Err(format!("`{spec}`: the label is empty"));
        }
        if label == "total" {
            self.total = Some(n);
        } else {
            self.labels.retain(|(l, _)| l != label);
            self.labels.push((label.to_owned(), n));
        }
        Ok(())
    }

    /// The pool a job draws from, or `None` when it takes no runner of this workflow's.
    pub fn pool_of(&self, runs_on: &RunsOn) -> Option<String> {
        match runs_on {
            RunsOn::Reusable => None,
            other => Some(other.pool()),
        }
    }

    /// The limit of a pool: the most specific matching pattern (exact, then longest prefix).
    pub fn limit(&self, pool: Option<&str>) -> Option<usize> {
        let pool = pool?;
        if let Some(&(_, n)) = self.labels.iter().find(|(l, _)| l == pool) {
            return Some(n);
        }
        self.labels
            .iter()
            .filter_map(|(l, n)| {
                let prefix = l.strip_suffix('*')?;
                pool.starts_with(prefix).then_some((prefix.len(), *n))
            })
            .max_by_key(|&(len, _)| len)
            .map(|(_, n)| n)
    }

    /// One line for the report, e.g. `20 jobs at once; macos*: 5`.
    pub fn describe(&self) -> String {
        let mut parts = vec![match self.total {
            Some(t) => format!("{t} jobs at once"),
            None => "unlimited runners".to_owned(),
        }];
        parts.extend(self.labels.iter().map(|(l, n)| format!("{l}: {n}")));
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_specific_pattern_wins() {
        let mut c = Capacity::default();
        c.set("macos-14=2").unwrap();
        c.set("total=50").unwrap();
        assert_eq!(c.total, Some(50));
        assert_eq!(c.limit(Some("macos-14")), Some(2));
        assert_eq!(c.limit(Some("macos-latest")), Some(5));
        assert_eq!(c.limit(Some("ubuntu-latest")), None);
        assert!(c.set("ubuntu=0").is_err());
        assert!(c.set("ubuntu").unwrap_err().contains("LABEL=N"));
    }
}
