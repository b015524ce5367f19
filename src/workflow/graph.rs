//! The job graph: the concrete jobs GitHub runs (matrices expanded) and the `needs` between them.

use petgraph::algo::{tarjan_scc, toposort};
use petgraph::graph::{DiGraph, NodeIndex};

use super::WorkflowError;
use super::matrix::{Combination, Expansion, display_value, expand, mentions_matrix, substitute};
use super::model::{RunsOn, Workflow};

/// One job as GitHub runs it: a matrix combination of a job, or the job itself.
#[derive(Clone, Debug, PartialEq)]
pub struct Instance {
    /// Index of the job in `Workflow::jobs`.
    pub job: usize,
    /// The name GitHub shows, e.g. `test (ubuntu-latest, 3.11)`.
    pub name: String,
    pub runs_on: RunsOn,
    pub combination: Combination,
    /// The job's `strategy.max-parallel`: at most this many of its instances at once.
    pub max_parallel: Option<usize>,
}

/// The workflow's jobs as a graph. Node weights index `instances`; edges point from a job to the
/// jobs that need it.
#[derive(Debug)]
pub struct JobGraph {
    pub instances: Vec<Instance>,
    pub graph: DiGraph<usize, ()>,
    /// A topological order of the instances (file order among equals).
    pub order: Vec<usize>,
    /// Each instance's level: 0 without `needs`, else one more than the deepest job it needs.
    pub levels: Vec<usize>,
    /// Things the file leaves to run time (dynamic matrices, `runs-on` expressions), per job.
    pub notes: Vec<String>,
}

impl JobGraph {
    pub fn build(workflow: &Workflow) -> Result<Self, WorkflowError> {
        let ids = check_needs(workflow)?;
        let (instances, of_job, notes) = expand_jobs(workflow);

        let mut graph = DiGraph::with_capacity(instances.len(), 0);
        let node_of: Vec<NodeIndex> = (0..instances.len()).map(|i| graph.add_node(i)).collect();
        for (j, job) in workflow.jobs.iter().enumerate() {
            for need in &job.needs {
                let n = ids.iter().position(|id| id == need).unwrap_or(j);
                for &from in &of_job[n] {
                    for &to in &of_job[j] {
                        graph.add_edge(node_of[from], node_of[to], ());
                    }
                }
            }
        }
        let order: Vec<usize> = toposort(&graph, None)
            .map_err(|_| cycle_error(workflow, &instances, &graph))?
            .into_iter()
            .map(|n| graph[n])
            .collect();
        let mut g = JobGraph {
            instances,
            graph,
            order,
            levels: Vec::new(),
            notes,
        };
        g.levels = vec![0; g.instances.len()];
        for k in 0..g.order.len() {
            let i = g.order[k];
            g.levels[i] = g
                .predecessors(i)
                .into_iter()
                .map(|p| g.levels[p] + 1)
                .max()
                .unwrap_or(0);
        }
        // petgraph's order depends on its internals; ours must not. (level, index) is
        // topological too, since every edge goes from a lower level to a higher one.
        let levels = &g.levels;
        g.order.sort_by_key(|&i| (levels[i], i));
        Ok(g)
    }

    /// The instances that `i` needs, in index order.
    pub fn predecessors(&self, i: usize) -> Vec<usize> {
        self.neighbors(i, petgraph::Direction::Incoming)
    }

    /// The instances that need `i`, in index order.
    pub fn successors(&self, i: usize) -> Vec<usize> {
        self.neighbors(i, petgraph::Direction::Outgoing)
    }

    fn neighbors(&self, i: usize, direction: petgraph::Direction) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .graph
            .neighbors_directed(NodeIndex::new(i), direction)
            .map(|n| self.graph[n])
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    }
}

/// Every `needs` names a job of the workflow; returns the job ids in file order.
fn check_needs(workflow: &Workflow) -> Result<Vec<&str>, WorkflowError> {
    let ids: Vec<&str> = workflow.jobs.iter().map(|j| j.id.as_str()).collect();
    for job in &workflow.jobs {
        for need in &job.needs {
            if !ids.contains(&need.as_str()) {
                let hint = ids
                    .iter()
                    .find(|id| id.eq_ignore_ascii_case(need))
                    .map(|id| format!(" (did you mean `{id}`?)"))
                    .unwrap_or_default();
                return Err(WorkflowError::UnknownNeed {
                    path: workflow.path.clone(),
                    job: job.id.clone(),
                    missing: need.clone(),
                    hint,
                });
            }
        }
    }
    Ok(ids)
}

/// The instances of every job (matrices expanded), which instances each job has, and notes.
fn expand_jobs(workflow: &Workflow) -> (Vec<Instance>, Vec<Vec<usize>>, Vec<String>) {
    let mut instances = Vec::new();
    let mut notes = Vec::new();
    let mut of_job: Vec<Vec<usize>> = Vec::with_capacity(workflow.jobs.len());
    for (j, job) in workflow.jobs.iter().enumerate() {
        let base = job.name.clone().unwrap_or_else(|| job.id.clone());
        let combos = match expand(job.matrix.as_ref()) {
            Expansion::Single => vec![Vec::new()],
            Expansion::Combinations(c) if c.is_empty() => {
                notes.push(format!(
                    "`{}`: the matrix has no combinations left; GitHub would not run it",
                    job.id
                ));
                vec![Vec::new()]
            }
            // GitHub refuses such a workflow; its jobs are counted as one, so that `needs`
            // between two of them is not a product of their sizes.
            Expansion::Combinations(c) if c.len() > super::matrix::MAX_COMBINATIONS => {
                notes.push(format!(
                    "`{}`: {} matrix combinations, over GitHub's limit of {}; counted as one job",
                    job.id,
                    c.len(),
                    super::matrix::MAX_COMBINATIONS
                ));
                vec![Vec::new()]
            }
            Expansion::TooLarge(n) => {
                notes.push(format!(
                    "`{}`: {n} matrix combinations before `exclude`, far over GitHub's limit of {}; counted as one job",
                    job.id,
                    super::matrix::MAX_COMBINATIONS
                ));
                vec![Vec::new()]
            }
            Expansion::Combinations(c) => c,
            Expansion::Dynamic(why) => {
                notes.push(format!(
                    "`{}`: the matrix is known only at run time ({why}); counted as one job",
                    job.id
                ));
                vec![Vec::new()]
            }
        };
        let mut mine = Vec::with_capacity(combos.len());
        for combo in combos {
            let name = instance_name(&base, job.name.is_some(), &combo);
            let runs_on = match &job.runs_on {
                RunsOn::Expression(e) if !combo.is_empty() => {
                    let (resolved, left) = substitute(e, &combo);
                    if left {
                        RunsOn::Expression(e.clone())
                    } else {
                        RunsOn::Labels(vec![resolved])
                    }
                }
                other => other.clone(),
            };
            mine.push(instances.len());
            instances.push(Instance {
                job: j,
                name,
                runs_on,
                combination: combo,
                max_parallel: job.max_parallel,
            });
        }
        if let Some(RunsOn::Expression(e)) = mine.first().map(|&i| &instances[i].runs_on) {
            notes.push(format!(
                "`{}`: runs-on is decided at run time ({}); its pool is unknown",
                job.id,
                e.trim()
            ));
        }
        of_job.push(mine);
    }
    (instances, of_job, notes)
}

/// The jobs of one cycle, named.
fn cycle_error(
    workflow: &Workflow,
    instances: &[Instance],
    graph: &DiGraph<usize, ()>,
) -> WorkflowError {
    let mut jobs: Vec<String> = tarjan_scc(graph)
        .into_iter()
        .find(|scc| scc.len() > 1 || graph.contains_edge(scc[0], scc[0]))
        .unwrap_or_default()
        .into_iter()
        .map(|n| workflow.jobs[instances[graph[n]].job].id.clone())
        .collect();
    jobs.sort();
    jobs.dedup();
    WorkflowError::Cycle {
        path: workflow.path.clone(),
        jobs,
    }
}

/// The name GitHub shows for a matrix combination.
fn instance_name(base: &str, named: bool, combo: &Combination) -> String {
    if combo.is_empty() {
        return base.to_owned();
    }
    if named && mentions_matrix(base) {
        return substitute(base, combo).0;
    }
    let values: Vec<String> = combo
        .iter()
        .map(|(_, v)| display_value(v))
        .filter(|v| !v.is_empty())
        .collect();
    format!("{base} ({})", values.join(", "))
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::workflow::model::parse_workflow;

    fn graph(text: &str) -> Result<JobGraph, WorkflowError> {
        JobGraph::build(&parse_workflow(text, Path::new("ci.yml")).unwrap())
    }

    #[test]
    fn matrix_jobs_are_named_as_github_shows_them() {
        let g = graph(
            "jobs:
  lint: {runs-on: ubuntu-latest}
  test:
    needs: lint
    runs-on: ${{ matrix.os }}
    strategy: {matrix: {os: [ubuntu-latest, windows-latest], python: ['3.11', '3.12']}}
  named:
    name: build ${{ matrix.target }}
    runs-on: ubuntu-latest
    strategy: {matrix: {target: [x86, arm]}}
",
        )
        .unwrap();
        let names: Vec<_> = g.instances.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "lint",
                "test (ubuntu-latest, 3.11)",
                "test (ubuntu-latest, 3.12)",
                "test (windows-latest, 3.11)",
                "test (windows-latest, 3.12)",
                "build x86",
                "build arm"
            ]
        );
        assert_eq!(
            g.instances[3].runs_on,
            RunsOn::Labels(vec!["windows-latest".into()])
        );
        assert_eq!(g.successors(0), [1, 2, 3, 4]);
        assert_eq!(g.predecessors(4), [0]);
    }

    #[test]
    fn unknown_needs_and_cycles_name_the_jobs() {
        let err =
            graph("jobs:\n  a: {runs-on: x, needs: Build}\n  build: {runs-on: x}\n").unwrap_err();
        assert_eq!(
            err.to_string(),
            "ci.yml: job `a` needs `Build`, which is not a job of this workflow (did you mean `build`?)"
        );
        let err = graph(
            "jobs:\n  a: {runs-on: x, needs: c}\n  b: {runs-on: x, needs: a}\n  c: {runs-on: x, needs: b}\n  d: {runs-on: x}\n",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "ci.yml: the jobs `a` → `b` → `c` need each other in a cycle; GitHub would refuse this workflow"
        );
    }
}
