//! `planner analyze`: a workflow's job graph, critical path, phases and advice.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use super::Error;
use crate::github::log_text;
use crate::render::{analysis_markdown, analysis_text};
use crate::timings::{Estimator, ItemId, Sample};
use crate::workflow::{
    Analysis, Assumptions, JobGraph, Workflow, analyze, job_durations, parse_workflow,
};

use super::Reporter;
use super::args::{AnalyzeArgs, JobsArgs, ReportFormat};
use super::files::read_yaml_text;
use super::history::{read_history, warn_if_stale};
use super::settings::{AnalyzeSettings, analyze as analyze_settings};

/// What analyzing a workflow's text needs beyond it, read once: the jobs' history and the
/// settings.
pub(super) struct Analyzer {
    history: BTreeMap<ItemId, Vec<Sample>>,
    estimator: Estimator,
    default: crate::timings::Micros,
    assumptions: Assumptions,
}

impl Analyzer {
    pub(super) fn new(args: &JobsArgs, reporter: &mut Reporter) -> Result<Analyzer, Error> {
        let AnalyzeSettings {
            capacity,
            default,
            overhead,
            read,
        } = analyze_settings(args)?;
        let (store, _) = read_history(&args.timings, read, "default", args.strict, reporter)?;
        warn_if_stale(&store, reporter);
        Ok(Analyzer {
            history: all_classes(&store),
            estimator: Estimator {
                default,
                ..Estimator::default()
            },
            default,
            assumptions: Assumptions { capacity, overhead },
        })
    }

    /// The workflow in `text` (read from `path`), its graph and its analysis.
    pub(super) fn analyze(
        &self,
        text: &str,
        path: &Path,
    ) -> Result<(Workflow, JobGraph, Analysis), Error> {
        let workflow = parse_workflow(text, path)?;
        let graph = JobGraph::build(&workflow)?;
        let durations = job_durations(
            &workflow,
            &graph,
            &self.history,
            &self.estimator,
            self.default,
            self.assumptions.overhead,
        );
        let analysis = analyze(
            &workflow,
            &graph,
            &durations,
            &self.history,
            &self.assumptions,
        );
        Ok((workflow, graph, analysis))
    }
}

pub fn run(args: &AnalyzeArgs, out: &mut dyn Write, reporter: &mut Reporter) -> Result<(), Error> {
    let analyzer = Analyzer::new(&args.jobs, reporter)?;
    let text = read_yaml_text(&args.jobs.workflow)?;
    let (_, _, analysis) = analyzer.analyze(&text, &args.jobs.workflow)?;
    let text = match args.format {
        // Job names are the workflow's: in a log, none of them can start a workflow command.
        ReportFormat::Text => log_text(&analysis_text(&analysis)),
        ReportFormat::Markdown => analysis_markdown(&analysis),
        ReportFormat::Json => {
            let mut j = serde_json::to_string_pretty(&analysis).map_err(|source| Error::Json {
                what: "the analysis",
                source,
            })?;
            j.push('\n');
            j
        }
    };
    out.write_all(text.as_bytes())
        .map_err(|e| Error::io("write", "stdout", e))?;
    Ok(())
}

/// Jobs run on many runner kinds, each its own class in the store; a job's name says which, so
/// the classes are pooled (samples in the order they were observed).
fn all_classes(store: &crate::timings::Store) -> BTreeMap<ItemId, Vec<Sample>> {
    let mut all: BTreeMap<ItemId, Vec<Sample>> = BTreeMap::new();
    for items in store.classes.values() {
        for (id, samples) in items {
            all.entry(id.clone())
                .or_default()
                .extend(samples.iter().copied());
        }
    }
    for samples in all.values_mut() {
        samples.sort_by_key(|s| s.observation());
    }
    all
}
