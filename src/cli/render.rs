//! `planner render`: the config's workflow, to stdout or a file.

use std::io::Write;

use super::Error;
use crate::render::render_workflow;

use super::args::RenderArgs;
use super::files::{read_config, write_atomic};
use super::settings::check_config;

pub fn run(args: &RenderArgs, out: &mut dyn Write) -> Result<(), Error> {
    let config = read_config(&args.config)?;
    check_config(&config, &args.config)?;
    let template = args
        .template
        .as_ref()
        .map(|p| {
            std::fs::read_to_string(p)
                .map(|t| (p.display().to_string(), t))
                .map_err(|e| Error::io("read the template", p, e))
        })
        .transpose()?;
    let config_path = args.config.display().to_string().replace('\\', "/");
    let yaml = render_workflow(
        &config,
        &config_path,
        template.as_ref().map(|(n, t)| (n.as_str(), t.as_str())),
    )?;
    match &args.out {
        Some(path) => write_atomic(path, yaml.as_bytes()),
        None => out
            .write_all(yaml.as_bytes())
            .map_err(|e| Error::io("write", "standard output", e)),
    }
}
