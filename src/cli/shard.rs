//! `planner shard`: the items of shard K of N, from a pinned plan or recomputed from the same
//! inputs by the same function. Output is in id order, so it is byte-identical on every runner.

use std::io::Write;

use serde::Serialize;

use crate::Error;
use crate::plan::{ShardIndex, assign};
use crate::render::{Runner, runner_args};
use crate::timings::{ItemId, Millis};

use super::Reporter;
use super::args::{ShardArgs, ShardFormat};
use super::files::read_plan;
use super::history::load;

#[derive(Serialize)]
struct ShardJson<'a> {
    suite: &'a str,
    index: u32,
    total: u32,
    estimate_ms: Millis,
    items: Vec<&'a ItemId>,
}

/// POSIX shell quoting: bare when safe, else single quotes with `'\''` for a quote.
pub fn shell_quote(s: &str) -> String {
    let safe = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./:=@%+,".contains(&b));
    if safe {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// What a runner's format prints: one argument per line, or for `go test` one shell-quoted
/// argument list per line.
fn runner_text(runner: Runner, items: &[ItemId]) -> Result<String, Error> {
    let invocations = runner_args(runner, items).map_err(|e| Error::Usage(e.to_string()))?;
    let mut buf = String::new();
    for inv in invocations {
        if runner == Runner::Go {
            let words: Vec<String> = inv.iter().map(|w| shell_quote(w)).collect();
            buf.push_str(&words.join(" "));
            buf.push('\n');
        } else {
            for arg in inv {
                buf.push_str(&arg);
                buf.push('\n');
            }
        }
    }
    Ok(buf)
}

pub fn run(args: &ShardArgs, out: &mut dyn Write, reporter: &mut Reporter) -> Result<(), Error> {
    let Some(index) = ShardIndex::new(args.index, args.total) else {
        return Err(Error::Usage(format!(
            "--index {} is out of range for --total {}: shards are numbered 1 to {}",
            args.index, args.total, args.total
        )));
    };
    let (suite_name, items, estimate): (String, Vec<ItemId>, Millis) = if let Some(path) =
        &args.plan
    {
        let plan = read_plan(path)?;
        let Some(suite) = plan.suite(args.suite.as_deref()) else {
            let names: Vec<&str> = plan.suites.iter().map(|s| s.name.as_str()).collect();
            return Err(Error::Usage(format!(
                "{}: {} (suites in the plan: {})",
                path.display(),
                match &args.suite {
                    Some(s) => format!("no suite `{s}`"),
                    None => "several suites; choose one with --suite".into(),
                },
                names.join(", ")
            )));
        };
        if suite.shards.len() != args.total as usize {
            return Err(Error::Usage(format!(
                "{}: suite `{}` was planned with {} shards, but --total is {}; pass the matrix's `total`",
                path.display(),
                suite.name,
                suite.shards.len(),
                args.total
            )));
        }
        let shard = suite.shard(index).ok_or_else(|| {
            Error::Internal(format!(
                "shard {index} missing from a plan of {}",
                suite.shards.len()
            ))
        })?;
        (
            suite.name.clone(),
            shard.items.iter().map(|i| i.id.clone()).collect(),
            shard.estimate_ms,
        )
    } else {
        let loaded = load(&args.source, reporter)?;
        let (ids, _, a) = assign(&loaded.estimates, args.total as usize);
        let k = index.zero_based();
        let items: Vec<ItemId> = a.items_of(k).map(|i| ids[i].clone()).collect();
        (
            args.suite.clone().unwrap_or_else(|| "default".into()),
            items,
            a.loads.get(k).copied().unwrap_or_default(),
        )
    };
    let write_err = |e| Error::io("write", "standard output", e);
    if let Some(runner) = args.format.runner() {
        let text = runner_text(runner, &items)?;
        out.write_all(text.as_bytes()).map_err(write_err)?;
        return Ok(());
    }
    match args.format {
        ShardFormat::Lines => {
            let mut buf = String::new();
            for id in &items {
                if id.as_str().contains(['\n', '\r']) {
                    return Err(Error::Usage(format!(
                        "item {:?} holds a line break and cannot be printed one per line; use --format json",
                        id.as_str()
                    )));
                }
                buf.push_str(id.as_str());
                buf.push('\n');
            }
            out.write_all(buf.as_bytes()).map_err(write_err)?;
        }
        ShardFormat::Json => {
            let json = serde_json::to_string(&ShardJson {
                suite: &suite_name,
                index: index.get(),
                total: args.total,
                estimate_ms: estimate,
                items: items.iter().collect(),
            })
            .map_err(|e| Error::Internal(e.to_string()))?;
            writeln!(out, "{json}").map_err(write_err)?;
        }
        _ => {
            let words: Vec<String> = items.iter().map(|i| shell_quote(i.as_str())).collect();
            if !words.is_empty() {
                writeln!(out, "{}", words.join(" ")).map_err(write_err)?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::shell_quote;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(shell_quote("tests/a.py::test_x"), "tests/a.py::test_x");
        assert_eq!(shell_quote("t[a b]"), "'t[a b]'");
        assert_eq!(shell_quote("it's $(x)"), "'it'\\''s $(x)'");
        assert_eq!(shell_quote(""), "''");
    }
}
