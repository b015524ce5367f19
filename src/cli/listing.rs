//! Items listed by glob, as `circleci tests glob` lists them: shell braces (`{a,b}`), `**` for
//! any folders, and patterns that leave files out (`exclude`). The `glob` crate has no braces:
//! they are expanded here first, each alternative a pattern of its own.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::timings::ItemId;

/// The most patterns one may expand into: `{a,b}{c,d}…` doubles with each group.
const MAX_EXPANSIONS: usize = 1024;

/// The top-level alternatives of a brace group's inside (`a,b{c,d}` → `a`, `b{c,d}`).
fn alternatives(inside: &[char]) -> Vec<String> {
    let mut out = vec![String::new()];
    let mut depth = 0usize;
    let mut escaped = false;
    for &c in inside {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '{' {
            depth += 1;
        } else if c == '}' {
            depth = depth.saturating_sub(1);
        } else if c == ',' && depth == 0 {
            out.push(String::new());
            continue;
        }
        if let Some(last) = out.last_mut() {
            last.push(c);
        }
    }
    out
}

/// `a{b,c{d,e}}f` as `abf`, `acdf`, `acef`: the shell's brace expansion. A group without a comma
/// (`{x}`) and an escaped brace (`\{`) stay as they are.
pub fn expand_braces(pattern: &str) -> Result<Vec<String>, String> {
    let chars: Vec<char> = pattern.chars().collect();
    let (mut depth, mut open, mut i) = (0usize, 0usize, 0usize);
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 1,
            '{' => {
                if depth == 0 {
                    open = i;
                }
                depth += 1;
            }
            '}' if depth == 0 => {
                return Err(format!("`{pattern}`: a `}}` closes no `{{`"));
            }
            '}' => {
                depth -= 1;
                let alts = alternatives(&chars[open + 1..i]);
                if depth == 0 && alts.len() > 1 {
                    let pre: String = chars[..open].iter().collect();
                    let post: String = chars[i + 1..].iter().collect();
                    let mut out = Vec::new();
                    for alt in alts {
                        out.extend(expand_braces(&format!("{pre}{alt}{post}"))?);
                        if out.len() > MAX_EXPANSIONS {
                            return Err(format!(
                                "`{pattern}`: its braces make more than {MAX_EXPANSIONS} patterns"
                            ));
                        }
                    }
                    return Ok(out);
                }
            }
            _ => {}
        }
        i += 1;
    }
    if depth > 0 {
        return Err(format!("`{pattern}`: a `{{` is never closed"));
    }
    Ok(vec![pattern.to_owned()])
}

/// The files under `dir` that a pattern matches and no `exclude` does, named from `dir` with
/// `/`, sorted, each once. A bad pattern is an error naming it.
pub fn glob_items(
    dir: &Path,
    patterns: &[String],
    exclude: &[String],
) -> Result<Vec<ItemId>, String> {
    // `./sub` is `sub`: glob's paths come without the `.`, and each is named from `dir`.
    let dir: PathBuf = dir
        .components()
        .filter(|c| !matches!(c, std::path::Component::CurDir))
        .collect();
    let options = glob::MatchOptions {
        require_literal_separator: true,
        ..glob::MatchOptions::new()
    };
    let mut excluded = Vec::new();
    for x in exclude {
        for e in expand_braces(x)? {
            excluded.push(glob::Pattern::new(&e).map_err(|err| format!("`{x}`: {err}"))?);
        }
    }
    let mut items = BTreeSet::new();
    for p in patterns {
        for e in expand_braces(p)? {
            let full = dir.join(&e).display().to_string();
            let paths = glob::glob_with(&full, options).map_err(|err| format!("`{p}`: {err}"))?;
            for path in paths.filter_map(Result::ok).filter(|p| p.is_file()) {
                let Ok(rel) = path.strip_prefix(&dir) else {
                    continue;
                };
                let rel = rel.to_string_lossy().replace('\\', "/");
                if !excluded.iter().any(|x| x.matches_with(&rel, options)) {
                    items.insert(rel);
                }
            }
        }
    }
    Ok(items.into_iter().map(ItemId::new).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn braces_expand_as_the_shell_does() {
        let e = |p: &str| expand_braces(p).unwrap();
        assert_eq!(e("spec/**/*_spec.rb"), ["spec/**/*_spec.rb"]);
        assert_eq!(e("{a,b}/*.rb"), ["a/*.rb", "b/*.rb"]);
        assert_eq!(e("x{a,b{c,d}}y"), ["xay", "xbcy", "xbdy"]);
        assert_eq!(e("{a,b}{1,2}"), ["a1", "a2", "b1", "b2"]);
        assert_eq!(e("keep{x}"), ["keep{x}"], "no comma, no alternatives");
        assert_eq!(e("lit\\{a,b\\}"), ["lit\\{a,b\\}"]);
        assert!(expand_braces("a{b,c").unwrap_err().contains("never closed"));
        assert!(expand_braces("a}b").unwrap_err().contains("closes no"));
        let many = "{a,b}".repeat(11);
        assert!(expand_braces(&many).unwrap_err().contains("more than 1024"));
    }
}
