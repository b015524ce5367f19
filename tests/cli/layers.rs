//! The shape of the code: modules depend one way, down the layer table, and no files import each
//! other, directly or round a longer circle. Read from the source: every `use` of `crate::`,
//! `super::` and `self::`, and every inline `crate::…` path, resolved through the `pub use`
//! re-exports of `mod.rs` files to the file that defines the item.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Which top-level modules each may use (besides itself). The same table is in the README's
/// "How the code is laid out".
const LAYERS: &[(&str, &[&str])] = &[
    (
        "cli",
        &[
            "render", "report", "config", "plan", "workflow", "runner", "github", "timings",
        ],
    ),
    (
        "render",
        &["report", "config", "plan", "workflow", "runner", "timings"],
    ),
    ("report", &["plan", "runner", "timings"]),
    ("config", &["runner", "timings"]),
    ("plan", &["runner", "timings"]),
    ("workflow", &["runner", "timings"]),
    ("runner", &["timings"]),
    ("github", &["timings"]),
    ("timings", &[]),
];

type Module = Vec<String>;

struct Source {
    files: BTreeMap<Module, PathBuf>,
    /// For each `mod.rs` (and `lib.rs`): a name it re-exports → the path it names, from that
    /// module.
    reexports: BTreeMap<Module, BTreeMap<String, Vec<String>>>,
    text: BTreeMap<Module, String>,
}

/// Drops comments, string and char literals' contents, and what follows `#[cfg(test)]`.
fn code_of(text: &str) -> String {
    let text = match text.find("#[cfg(test)]\nmod ") {
        Some(at) => &text[..at],
        None => text,
    };
    let mut out = String::new();
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    i += 1;
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    if b[i] == b'\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
                out.push_str("\"\"");
            }
            c => {
                out.push(c as char);
                i += 1;
            }
        }
    }
    out
}

/// One use tree under `prefix`, braces expanded.
fn expand(prefix: &str, s: &str, out: &mut Vec<String>) {
    match s.find('{') {
        None => {
            let p = format!("{prefix}{s}");
            out.push(p.trim_end_matches("::self").to_owned());
        }
        Some(open) => {
            let head = &s[..open];
            let inner = &s[open + 1..s.rfind('}').unwrap_or(s.len())];
            let mut depth = 0;
            let mut start = 0;
            let bytes = inner.as_bytes();
            for (k, &c) in bytes.iter().enumerate() {
                match c {
                    b'{' => depth += 1,
                    b'}' => depth -= 1,
                    b',' if depth == 0 => {
                        if start < k {
                            expand(&format!("{prefix}{head}"), &inner[start..k], out);
                        }
                        start = k + 1;
                    }
                    _ => {}
                }
            }
            if start < inner.len() {
                expand(&format!("{prefix}{head}"), &inner[start..], out);
            }
        }
    }
}

/// `a::{b, c::{d as e, self}}` → `a::b`, `a::c::d`, `a::c`.
fn flatten(tree: &str) -> Vec<String> {
    let tree: String = tree.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut words = String::new();
    // Drop `as name` renames.
    let mut parts = tree.split(' ').peekable();
    while let Some(w) = parts.next() {
        if w == "as" {
            parts.next();
            continue;
        }
        words.push_str(w);
    }
    let mut out = Vec::new();
    expand("", &words, &mut out);
    out
}

/// The `use` trees of a file's code, and the inline `crate::`/`super::` paths outside them.
fn references(code: &str) -> (Vec<String>, Vec<String>) {
    let mut uses = Vec::new();
    let mut rest = String::new();
    let mut s = code;
    while let Some(at) = find_use(s) {
        rest.push_str(&s[..at]);
        let after = &s[at..];
        let start = after.find("use ").map_or(0, |k| k + 4);
        let end = after.find(';').unwrap_or(after.len());
        uses.extend(flatten(&after[start..end]));
        s = &after[(end + 1).min(after.len())..];
    }
    rest.push_str(s);
    let mut inline = Vec::new();
    for root in ["crate::", "super::"] {
        let mut from = 0;
        while let Some(k) = rest[from..].find(root) {
            let at = from + k;
            let boundary = at == 0 || {
                let c = rest.as_bytes()[at - 1];
                !(c.is_ascii_alphanumeric() || c == b'_' || c == b':')
            };
            let end = rest[at..]
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
                .map_or(rest.len(), |e| at + e);
            if boundary {
                inline.push(rest[at..end].trim_end_matches(':').to_owned());
            }
            from = end.max(at + root.len());
        }
    }
    (uses, inline)
}

/// The next `use` declaration (`use`, `pub use`, `pub(crate) use`) at the start of a line.
fn find_use(s: &str) -> Option<usize> {
    let mut offset = 0;
    for line in s.split_inclusive('\n') {
        let t = line.trim_start();
        if t.starts_with("use ") || t.starts_with("pub use ") || t.starts_with("pub(crate) use ") {
            return Some(offset + (line.len() - t.len()));
        }
        offset += line.len();
    }
    None
}

fn module_of(src: &Path, file: &Path) -> Module {
    let rel = file.strip_prefix(src).expect("under src");
    let mut parts: Vec<String> = rel
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    if last != "mod.rs" && last != "lib.rs" {
        parts.push(last.trim_end_matches(".rs").to_owned());
    }
    parts
}

fn read(src: &Path) -> Source {
    let mut files = BTreeMap::new();
    let mut text = BTreeMap::new();
    let pattern = format!("{}/**/*.rs", src.display());
    for f in glob::glob(&pattern)
        .expect("pattern")
        .filter_map(Result::ok)
    {
        if f.file_name().is_some_and(|n| n == "main.rs") {
            continue;
        }
        let m = module_of(src, &f);
        text.insert(
            m.clone(),
            code_of(&std::fs::read_to_string(&f).expect("read")),
        );
        files.insert(m, f);
    }
    let mut reexports = BTreeMap::new();
    for (m, f) in &files {
        let name = f.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if name != "mod.rs" && name != "lib.rs" {
            continue;
        }
        let mut map = BTreeMap::new();
        for line in text[m].lines() {
            let t = line.trim_start();
            if let Some(tree) = t
                .strip_prefix("pub use ")
                .or(t.strip_prefix("pub(crate) use "))
            {
                for p in flatten(tree.trim_end_matches(';')) {
                    let segs: Vec<String> = p.split("::").map(str::to_owned).collect();
                    if let Some(last) = segs.last() {
                        map.insert(last.clone(), segs);
                    }
                }
            }
        }
        reexports.insert(m.clone(), map);
    }
    Source {
        files,
        reexports,
        text,
    }
}

impl Source {
    /// The file that defines what `path` (absolute, without `crate`) names.
    fn resolve(&self, path: &[String], depth: usize) -> Option<Module> {
        let mut k = path.len();
        while k > 0 && !self.files.contains_key(&path[..k]) {
            k -= 1;
        }
        let module = path[..k].to_vec();
        if k == path.len() || depth > 8 {
            return Some(module);
        }
        if let Some(target) = self.reexports.get(&module).and_then(|m| m.get(&path[k])) {
            let mut full = module.clone();
            full.extend(target.iter().cloned());
            full.extend(path[k + 1..].iter().cloned());
            return self.resolve(&full, depth + 1);
        }
        Some(module)
    }

    /// `path` as written in the file of `from`, made absolute; `None` for other crates.
    fn absolute(&self, from: &Module, path: &str) -> Option<Vec<String>> {
        let segs: Vec<&str> = path.split("::").filter(|s| !s.is_empty()).collect();
        let (mut base, rest): (Vec<String>, &[&str]) = match segs.first() {
            Some(&"crate") => (Vec::new(), &segs[1..]),
            Some(&("super" | "self")) => (from.clone(), &segs[..]),
            // In a `mod.rs`, `use child::X` names a child module.
            Some(first)
                if self
                    .files
                    .contains_key(&[from.clone(), vec![(*first).to_owned()]].concat()) =>
            {
                (from.clone(), &segs[..])
            }
            _ => return None,
        };
        let mut rest = rest;
        while let Some((&head, tail)) = rest.split_first() {
            match head {
                "super" => {
                    base.pop();
                }
                "self" => {}
                _ => break,
            }
            rest = tail;
        }
        base.extend(rest.iter().map(|s| (*s).to_owned()));
        Some(base)
    }

    /// Every file → the files it uses.
    fn edges(&self) -> BTreeMap<Module, BTreeSet<Module>> {
        let mut edges: BTreeMap<Module, BTreeSet<Module>> = BTreeMap::new();
        for (m, code) in &self.text {
            let is_face = self.reexports.contains_key(m);
            let (uses, inline) = references(code);
            for p in uses.iter().chain(&inline) {
                // A mod.rs's re-exports are its face, not what it depends on.
                if is_face && uses.contains(p) && !p.starts_with("crate") && !p.starts_with("super")
                {
                    continue;
                }
                // A file's module is its own scope: `super` in `a/b.rs` is `a`, in `a/mod.rs` the
                // parent of `a`.
                let Some(abs) = self.absolute(m, p) else {
                    continue;
                };
                let abs: Vec<String> = abs.into_iter().filter(|s| !s.is_empty()).collect();
                if let Some(target) = self.resolve(&abs, 0)
                    && &target != m
                    && !target.is_empty()
                {
                    edges.entry(m.clone()).or_default().insert(target);
                }
            }
        }
        edges
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn name(m: &Module) -> String {
    if m.is_empty() {
        "lib".to_owned()
    } else {
        m.join("::")
    }
}

/// Edges a layer does not allow.
fn layer_violations(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<String> {
    let allowed: BTreeMap<&str, &[&str]> = LAYERS.iter().copied().collect();
    let mut bad = Vec::new();
    for (from, tos) in edges {
        let Some(layer) = from.first() else { continue };
        for to in tos {
            let Some(target) = to.first() else { continue };
            if target == layer {
                continue;
            }
            let ok = allowed
                .get(layer.as_str())
                .is_some_and(|a| a.contains(&target.as_str()));
            if !ok {
                bad.push(format!("{} uses {}", name(from), name(to)));
            }
        }
    }
    bad
}

/// Circles of files, each as a list (Tarjan's strongly connected parts of more than one file).
fn circles(edges: &BTreeMap<Module, BTreeSet<Module>>) -> Vec<Vec<String>> {
    let mut g = petgraph::graph::DiGraph::<Module, ()>::new();
    let mut ix = BTreeMap::new();
    for (from, tos) in edges {
        for m in std::iter::once(from).chain(tos) {
            ix.entry(m.clone()).or_insert_with(|| g.add_node(m.clone()));
        }
    }
    for (from, tos) in edges {
        for to in tos {
            g.add_edge(ix[from], ix[to], ());
        }
    }
    petgraph::algo::tarjan_scc(&g)
        .into_iter()
        .filter(|c| c.len() > 1)
        .map(|c| {
            let mut names: Vec<String> = c.iter().map(|&n| name(&g[n])).collect();
            names.sort();
            names
        })
        .collect()
}

#[test]
fn modules_depend_one_way_down_the_layer_table() {
    let source = read(&src());
    let edges = source.edges();
    assert!(
        edges.len() > 40,
        "the reader found too few files using others: {}",
        edges.len()
    );
    let bad = layer_violations(&edges);
    assert!(
        bad.is_empty(),
        "edges against the layer table:\n{}",
        bad.join("\n")
    );
    // Every top-level module of the crate has a row.
    let rows: BTreeSet<&str> = LAYERS.iter().map(|(l, _)| *l).collect();
    for m in source.files.keys().filter(|m| m.len() == 1) {
        assert!(
            rows.contains(m[0].as_str()),
            "module `{}` has no row in LAYERS",
            m[0]
        );
    }
}

#[test]
fn no_files_import_each_other() {
    let edges = read(&src()).edges();
    let found = circles(&edges);
    assert!(found.is_empty(), "files that import each other: {found:?}");
}

#[test]
fn the_reader_sees_the_edges_it_must_fail_on() {
    // A layer break and a circle, written the ways the source writes imports.
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path();
    let put = |p: &str, t: &str| {
        let f = d.join(p);
        std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
        std::fs::write(f, t).expect("write");
    };
    put(
        "lib.rs",
        "pub mod plan;\npub mod render;\npub mod timings;\npub use plan::Plan;\n",
    );
    put(
        "plan/mod.rs",
        "mod a;\nmod b;\npub use a::{A, Shared};\npub use b::B;\n",
    );
    put(
        "plan/a.rs",
        "use super::B;\npub struct A;\npub struct Shared;\n",
    );
    put(
        "plan/b.rs",
        "use super::{\n    a::Shared,\n};\npub struct B(crate::render::Matrix);\n",
    );
    put("render/mod.rs", "mod matrix;\npub use matrix::Matrix;\n");
    put(
        "render/matrix.rs",
        "use crate::Plan as P;\npub struct Matrix;\n",
    );
    put(
        "timings/mod.rs",
        "// use crate::render::Matrix; in a comment is no edge\n",
    );
    let edges = read(d).edges();
    let bad = layer_violations(&edges);
    assert_eq!(bad, ["plan::b uses render::matrix"]);
    assert_eq!(
        circles(&edges),
        [vec!["plan::a".to_owned(), "plan::b".to_owned()]]
    );
    assert!(!edges.contains_key(&vec!["timings".to_owned()]));
}
