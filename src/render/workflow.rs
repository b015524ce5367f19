//! `planner render`: a complete workflow from a config, through a minijinja template.
//!
//! The template (`templates/workflow.yml.j2`, embedded; or the user's own) lays out the jobs. What
//! comes from the config reaches it only as JSON strings (`tojson`), or as data the jobs read at
//! run time (the plan's outputs, the matrix); setup steps are workflow code the user wrote and are
//! copied as YAML. Undefined variables are errors, so a template cannot silently drop a field.

use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};
use serde::Serialize;

use crate::config::Config;

pub const DEFAULT_TEMPLATE: &str = include_str!("../../templates/workflow.yml.j2");

#[derive(Debug, thiserror::Error)]
#[error("{template}: the template cannot be rendered")]
pub struct RenderError {
    pub template: String,
    #[source]
    pub source: minijinja::Error,
}

#[derive(Serialize)]
struct SuiteContext {
    /// 1-based position: job ids and outputs are numbered, never named after config text.
    n: usize,
    timeout_minutes: u32,
    /// How many shards run at once: the plan's capacity, as `max-parallel`.
    max_parallel: u32,
    /// The setup steps as YAML, indented to sit in a job's `steps:`.
    setup: String,
}

/// The step that installs the planner in a job: this repository's action at this version, which
/// puts the released binary (checksum verified, cached) on PATH.
fn install_step() -> String {
    format!(
        "      - name: Install planner\n        uses: {}\n        with:\n          command: install",
        crate::runner::action_ref()
    )
}

fn indent(yaml: &str, by: usize) -> String {
    let pad = " ".repeat(by);
    yaml.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Steps as YAML, indented to sit in a job's `steps:` (nothing for none).
fn steps_text<T: Serialize>(steps: &[T]) -> String {
    if steps.is_empty() {
        return String::new();
    }
    indent(
        serde_yaml::to_string(steps).unwrap_or_default().trim_end(),
        6,
    )
}

pub fn render_workflow(
    config: &Config,
    config_path: &str,
    template: Option<(&str, &str)>,
) -> Result<String, RenderError> {
    let (name, source) = template.unwrap_or(("templates/workflow.yml.j2", DEFAULT_TEMPLATE));
    let err = |source: minijinja::Error| RenderError {
        template: name.to_owned(),
        source,
    };
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.add_template(name, source).map_err(err)?;
    let suites: Vec<SuiteContext> = config
        .suites
        .values()
        .enumerate()
        .map(|(k, s)| SuiteContext {
            n: k + 1,
            timeout_minutes: s.timeout_minutes,
            max_parallel: s
                .capacity
                .unwrap_or_else(|| crate::runner::github_free_capacity(s.runs_on.is_macos())),
            setup: steps_text(&s.setup),
        })
        .collect();
    // The plan job lists the items of a suite whose `items` is a command: it needs what that
    // command needs, the suite's setup steps (each step once, in the suites' order).
    let mut plan_steps: Vec<&serde_yaml::Value> = Vec::new();
    for s in config.suites.values() {
        if matches!(s.items, Some(crate::config::Items::Command(_))) {
            for step in &s.setup {
                if !plan_steps.contains(&step) {
                    plan_steps.push(step);
                }
            }
        }
    }
    let plan_setup = steps_text(&plan_steps);
    let tmpl = env.get_template(name).map_err(err)?;
    let mut out = tmpl
        .render(context! {
            config_path => config_path,
            branches => minijinja::Value::from(minijinja::value::Serde(&config.branches)),
            suites => minijinja::Value::from(minijinja::value::Serde(&suites)),
            plan_setup => plan_setup,
            lanes => config.suites.values().any(crate::config::Suite::has_lane),
            default_branch_runs_all => config.default_branch_runs_all,
            pass_on_known_flakes => config.pass_on_known_flakes,
            install => install_step(),
        })
        .map_err(err)?;
    // Empty setup leaves a blank line; keep the file tidy.
    while out.contains("\n\n\n") {
        out = out.replace("\n\n\n", "\n\n");
    }
    out = out.replace(
        "\n\n      - name: Install planner",
        "\n      - name: Install planner",
    );
    if !out.ends_with('\n') {
        out.push('\n');
    }
    Ok(out)
}
