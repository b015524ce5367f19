//! Lanes: a suite runs only when a change touches the paths it depends on.
//!
//! `paths` and `paths-ignore` are read with GitHub's filter-pattern rules, as the `on.push.paths`
//! of a workflow are: `*` is any run of characters but `/`, `**` any run at all (`**/` any
//! directories, or none), `?` and `+` make the character or class before them optional or
//! repeated, `[a-z0-9]` is one of a set, `\` takes the next character as it is, and a leading `!`
//! makes a later match undo an earlier one. Patterns match whole paths from the repository's root.

use std::collections::HashSet;
use std::fmt;

/// One pattern, compiled.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Pattern {
    tokens: Vec<Token>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    /// `*`: any characters but `/`.
    Star,
    /// `**`: any characters.
    Any,
    /// `**/`: nothing, or any characters ending in `/`.
    Dirs,
    /// A character or a class, once, optionally (`?`) or once or more (`+`).
    One(Atom, Repeat),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Repeat {
    Once,
    Optional,
    OneOrMore,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Atom {
    Char(char),
    /// `[...]`: inclusive ranges (a single character is a range of one).
    Class(Vec<(char, char)>),
}

impl Atom {
    fn accepts(&self, c: char) -> bool {
        match self {
            Atom::Char(x) => *x == c,
            Atom::Class(ranges) => ranges.iter().any(|&(lo, hi)| lo <= c && c <= hi),
        }
    }
}

/// Why a pattern cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError(String);

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn class(chars: &[char], at: usize) -> Result<(Atom, usize), PatternError> {
    let mut ranges = Vec::new();
    let mut i = at + 1;
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(PatternError(
                "a `[` is never closed (write `\\[` for the character itself)".into(),
            ));
        };
        if c == ']' && !ranges.is_empty() {
            return Ok((Atom::Class(ranges), i + 1));
        }
        if chars.get(i + 1) == Some(&'-') && chars.get(i + 2).is_some_and(|&e| e != ']') {
            let hi = chars[i + 2];
            if hi < c {
                return Err(PatternError(format!("the range `{c}-{hi}` runs backwards")));
            }
            ranges.push((c, hi));
            i += 3;
        } else {
            ranges.push((c, c));
            i += 1;
        }
    }
}

impl Pattern {
    fn parse(text: &str) -> Result<Pattern, PatternError> {
        let chars: Vec<char> = text.chars().collect();
        let mut tokens: Vec<Token> = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            match c {
                '*' if chars.get(i + 1) == Some(&'*') => {
                    if chars.get(i + 2) == Some(&'/') {
                        tokens.push(Token::Dirs);
                        i += 3;
                    } else {
                        tokens.push(Token::Any);
                        i += 2;
                    }
                }
                '*' => {
                    tokens.push(Token::Star);
                    i += 1;
                }
                '?' | '+' => {
                    let repeat = if c == '?' {
                        Repeat::Optional
                    } else {
                        Repeat::OneOrMore
                    };
                    match tokens.last_mut() {
                        Some(Token::One(_, r @ Repeat::Once)) => *r = repeat,
                        // After a wildcard, which already takes any number of characters.
                        Some(Token::Star | Token::Any | Token::Dirs) => {}
                        _ => {
                            return Err(PatternError(format!(
                                "`{c}` repeats the character before it, and there is none (write `\\{c}` for the character itself)"
                            )));
                        }
                    }
                    i += 1;
                }
                '[' => {
                    let (atom, next) = class(&chars, i)?;
                    tokens.push(Token::One(atom, Repeat::Once));
                    i = next;
                }
                '\\' => {
                    let Some(&next) = chars.get(i + 1) else {
                        return Err(PatternError(
                            "it ends in `\\`, which escapes the character after it".into(),
                        ));
                    };
                    tokens.push(Token::One(Atom::Char(next), Repeat::Once));
                    i += 2;
                }
                _ => {
                    tokens.push(Token::One(Atom::Char(c), Repeat::Once));
                    i += 1;
                }
            }
        }
        Ok(Pattern { tokens })
    }

    fn matches(&self, path: &str) -> bool {
        let s: Vec<char> = path.chars().collect();
        let mut dead = HashSet::new();
        self.from(0, 0, &s, &mut dead)
    }

    /// Whether tokens `t..` match `s[p..]`; `dead` remembers the states that do not, so that no
    /// pattern takes more than (tokens × characters) steps.
    fn from(&self, t: usize, p: usize, s: &[char], dead: &mut HashSet<(usize, usize)>) -> bool {
        let Some(token) = self.tokens.get(t) else {
            return p == s.len();
        };
        if dead.contains(&(t, p)) {
            return false;
        }
        let ok = match token {
            Token::Star => {
                let run = s[p..].iter().take_while(|&&c| c != '/').count();
                (p..=p + run).any(|q| self.from(t + 1, q, s, dead))
            }
            Token::Any => (p..=s.len()).any(|q| self.from(t + 1, q, s, dead)),
            Token::Dirs => {
                self.from(t + 1, p, s, dead)
                    || (p + 1..s.len()).any(|q| s[q] == '/' && self.from(t + 1, q + 1, s, dead))
            }
            Token::One(atom, repeat) => {
                let run = s[p..].iter().take_while(|&&c| atom.accepts(c)).count();
                match repeat {
                    Repeat::Once => run >= 1 && self.from(t + 1, p + 1, s, dead),
                    Repeat::Optional => {
                        (run >= 1 && self.from(t + 1, p + 1, s, dead))
                            || self.from(t + 1, p, s, dead)
                    }
                    Repeat::OneOrMore => (1..=run).any(|k| self.from(t + 1, p + k, s, dead)),
                }
            }
        };
        if !ok {
            dead.insert((t, p));
        }
        ok
    }
}

/// A list of patterns, read in order: a later match decides, `!` ones excluding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PathFilter {
    patterns: Vec<(bool, Pattern)>,
    written: Vec<String>,
}

impl PathFilter {
    /// The patterns as written; the error names the one (by index) that cannot be read.
    pub fn parse(written: &[String]) -> Result<PathFilter, (usize, PatternError)> {
        let mut patterns = Vec::new();
        for (i, w) in written.iter().enumerate() {
            let (negated, body) = match w.strip_prefix('!') {
                Some(rest) => (true, rest),
                None => (false, w.as_str()),
            };
            if body.is_empty() {
                return Err((i, PatternError("the pattern is empty".into())));
            }
            patterns.push((negated, Pattern::parse(body).map_err(|e| (i, e))?));
        }
        Ok(PathFilter {
            patterns,
            written: written.to_vec(),
        })
    }

    /// Whether the path is matched: the last pattern that matches it decides.
    pub fn matches(&self, path: &str) -> bool {
        let mut hit = false;
        for (negated, p) in &self.patterns {
            if hit == *negated && p.matches(path) {
                hit = !negated;
            }
        }
        hit
    }

    pub fn written(&self) -> &[String] {
        &self.written
    }
}

/// What a suite depends on: the changes that run it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lane {
    pub paths: Option<PathFilter>,
    pub ignore: Option<PathFilter>,
}

/// Whether a suite runs, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// This changed file is one it depends on.
    Runs(String),
    /// None of the changed files (this many) is.
    Skips(usize),
}

impl Lane {
    /// Whether a change to this file runs the suite: it matches `paths` (when given) and not
    /// `paths-ignore`.
    pub fn touched_by(&self, file: &str) -> bool {
        self.paths.as_ref().is_none_or(|p| p.matches(file))
            && !self.ignore.as_ref().is_some_and(|p| p.matches(file))
    }

    pub fn verdict<'a>(&self, changed: impl IntoIterator<Item = &'a str>) -> Verdict {
        let mut count = 0;
        for file in changed {
            if self.touched_by(file) {
                return Verdict::Runs(file.to_owned());
            }
            count += 1;
        }
        Verdict::Skips(count)
    }

    /// The patterns, as the preview shows them: `src/**, !src/docs/**; ignoring **.md`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = &self.paths {
            parts.push(format!("paths {}", p.written().join(", ")));
        }
        if let Some(p) = &self.ignore {
            parts.push(format!("paths-ignore {}", p.written().join(", ")));
        }
        parts.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(patterns: &[&str]) -> PathFilter {
        let written: Vec<String> = patterns.iter().map(|p| (*p).to_owned()).collect();
        PathFilter::parse(&written).unwrap()
    }

    /// GitHub's filter pattern cheat sheet, pattern by pattern, with the paths it names as
    /// matching and some it does not.
    #[test]
    fn the_cheat_sheets_patterns_match_as_documented() {
        let cases: &[(&str, &[&str], &[&str])] = &[
            ("*", &["README.md", "server.rb"], &["docs/README.md"]),
            (
                "*.jsx?",
                &["page.js", "page.jsx"],
                &["page.jsxx", "src/page.js"],
            ),
            ("**", &["all/the/files.md", "a"], &[]),
            ("*.js", &["app.js", "index.js"], &["js/index.js"]),
            (
                "**.js",
                &["index.js", "js/index.js", "src/js/app.js"],
                &["app.jsx"],
            ),
            (
                "docs/*",
                &["docs/README.md", "docs/file.txt"],
                &["docs/mona/octocat.txt"],
            ),
            (
                "docs/**",
                &["docs/README.md", "docs/mona/octocat.txt"],
                &["README.md", "mydocs/a"],
            ),
            (
                "docs/**/*.md",
                &[
                    "docs/README.md",
                    "docs/mona/hello-world.md",
                    "docs/a/markdown/already-exists.md",
                ],
                &["docs/a.txt"],
            ),
            (
                "**/docs/**",
                &[
                    "docs/hello.md",
                    "dir/docs/my-file.txt",
                    "space/docs/plan/space.doc",
                ],
                &["docsx/a"],
            ),
            (
                "**/README.md",
                &["README.md", "js/README.md"],
                &["README.mdx"],
            ),
            (
                "**/*src/**",
                &["a/src/app.js", "my-src/code/js/app.js"],
                &["src-a/app.js"],
            ),
            (
                "**/*-post.md",
                &["my-post.md", "path/their-post.md"],
                &["post.md"],
            ),
            (
                "**/migrate-*.sql",
                &[
                    "migrate-10909.sql",
                    "db/migrate-v1.0.sql",
                    "db/sept/migrate-v1.sql",
                ],
                &["migrate.sql"],
            ),
            ("Octo+cat", &["Octocat", "Octoooocat"], &["Octcat"]),
            ("[CB]at", &["Cat", "Bat"], &["Rat", "CBat"]),
            ("[1-2]00", &["100", "200"], &["300"]),
            ("v2\\*", &["v2*"], &["v2", "v2x"]),
        ];
        for (pattern, yes, no) in cases {
            let f = filter(&[pattern]);
            for p in *yes {
                assert!(f.matches(p), "{pattern} should match {p}");
            }
            for p in *no {
                assert!(!f.matches(p), "{pattern} should not match {p}");
            }
        }
    }

    #[test]
    fn a_later_pattern_decides_and_negation_excludes() {
        let f = filter(&["sub-project/**", "!sub-project/docs/**"]);
        assert!(f.matches("sub-project/src/a.rs"));
        assert!(!f.matches("sub-project/docs/a.md"));
        let f = filter(&["*.md", "!README*", "README*"]);
        assert!(
            f.matches("README.md"),
            "a positive match after a negative one includes"
        );
    }

    #[test]
    fn unreadable_patterns_say_which_and_why() {
        let err = |p: &[&str]| {
            let w: Vec<String> = p.iter().map(|s| (*s).to_owned()).collect();
            let (i, e) = PathFilter::parse(&w).unwrap_err();
            format!("{i}: {e}")
        };
        assert!(err(&["ok/**", "src/[a-z"]).starts_with("1: a `[` is never closed"));
        assert!(err(&["+x"]).starts_with("0: `+` repeats the character before it"));
        assert_eq!(err(&["!"]), "0: the pattern is empty");
        assert!(err(&["a\\"]).contains("ends in `\\`"));
        assert!(err(&["[z-a]"]).contains("runs backwards"));
    }

    #[test]
    fn a_lane_runs_on_the_first_touching_file_and_counts_the_rest() {
        let lane = Lane {
            paths: Some(filter(&["src/**"])),
            ignore: Some(filter(&["**.md"])),
        };
        assert_eq!(lane.verdict(["README.md", "src/a.md"]), Verdict::Skips(2));
        assert_eq!(
            lane.verdict(["src/a.md", "src/lib.rs", "x"]),
            Verdict::Runs("src/lib.rs".into())
        );
        let everything = Lane {
            paths: None,
            ignore: Some(filter(&["docs/**"])),
        };
        assert_eq!(everything.verdict(["docs/a"]), Verdict::Skips(1));
        assert_eq!(everything.verdict(["b"]), Verdict::Runs("b".into()));
    }

    #[test]
    fn a_long_path_of_stars_is_matched_without_blowing_up() {
        let f = filter(&["**a**a**a**a**a**a**a**b"]);
        let long = "a".repeat(2000);
        assert!(!f.matches(&long));
    }
}
