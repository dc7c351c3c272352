//! The repository's map is true and the repository stands on its own.
//!
//! * `ARCHITECTURE.md` names only paths that exist. Every code span (text between backticks)
//!   that looks like a repository path is checked. A span looks like a path when it has no
//!   spaces, only path characters (letters, digits, `_`, `-`, `.`, `*`, `/`) and a letter, and
//!   either ends in `.rs`, `.md`, `.toml`, `.sh` or `.py`, or contains a `/` and also ends in
//!   `/`, has a file extension, or starts with a top-level entry of the repository. So
//!   `Heap::free`, `--verify`, `gc.callbacks`, `ExecConfig.max_heap` or `rc`/`gc_refs` are not
//!   paths, and `core/src/heap.rs`, `strategies/`, `src/cmd_*.rs` (a glob: some file must match)
//!   and `kind.rs` are. Fenced code blocks are skipped.
//!
//!   The module map (a table whose rows start with a path, such as `core/` or `.` for the root) is
//!   checked strictly: the row's own path must exist from the root, and every other path in the row
//!   must exist from the root or under the row's path (`kind.rs` in the `core/` row is
//!   `core/src/kind.rs`; in the root's row, `.`, from the root only). Elsewhere, a path must exist
//!   from the root or be the tail of some path of the repository (`figures/*.svg` in a sentence
//!   about result directories). A path that leaves the repository (`../x`, `/x`, `~/x`) always
//!   fails. The test names every path that fails, with its line.
//! * No file of the repository refers to the `shared` directory that sits beside it on the
//!   project's development machines and that a clone does not have: neither the relative path
//!   (dot-dot, slash, `shared`) nor that directory's own paths (its `DESIGN.md`, `reference/`
//!   and `seed/`). The files are those git tracks plus untracked files git does not ignore
//!   (`git ls-files`), or, without git, every file under the root except `target/` and `.git/`.
//!   The needles are assembled at run time so that this file does not contain them.
//! * Each module of `src/` imports (`use crate::…` or a `crate::…` path in its code, comments
//!   aside) only the modules that the table under "What each module of `src/` may import" in
//!   `ARCHITECTURE.md` allows it, and every file of `src/` has a row there: the layering the map
//!   describes is the layering the code has.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The repository root.
fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

// ----- the paths of the repository -----

/// Every file and directory under `root` (relative, `/`-separated, directories flagged),
/// skipping `target/` and `.git/` at any depth.
fn walk(root: &Path) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    let mut stack = vec![PathBuf::new()];
    while let Some(rel) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&rel)) else {
            continue;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let Ok(ft) = e.file_type() else { continue };
            let r = rel.join(&name);
            let s = r.to_string_lossy().replace('\\', "/");
            if ft.is_dir() {
                if name == "target" || name == ".git" {
                    continue;
                }
                out.push((s, true));
                stack.push(r);
            } else {
                out.push((s, false));
            }
        }
    }
    out.sort();
    out
}

/// The files to search for references outside the repository: tracked plus untracked but not
/// ignored (`git ls-files`), or every file of [`walk`] when git is not available.
fn repository_files(root: &Path) -> Vec<String> {
    let git = Command::new("git")
        .arg("-C")
        .arg(root)
        .args([
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ])
        .output();
    if let Ok(o) = git {
        if o.status.success() && !o.stdout.is_empty() {
            let mut files: Vec<String> = o
                .stdout
                .split(|&b| b == 0)
                .filter(|p| !p.is_empty())
                .map(|p| String::from_utf8_lossy(p).into_owned())
                .collect();
            files.sort();
            files.dedup();
            return files;
        }
    }
    walk(root)
        .into_iter()
        .filter(|(_, dir)| !dir)
        .map(|(p, _)| p)
        .collect()
}

// ----- code spans and paths in markdown -----

/// A code span of a markdown text: its 1-based line, its text, and, when it sits in a table
/// row, that row's path (`Some("")` for the root, `None` when the row starts with no path).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Span {
    line: usize,
    text: String,
    in_table: bool,
    row_path: Option<String>,
    first_cell: bool,
}

/// Lines inside fenced code blocks are blanked (kept as empty lines, so line numbers hold).
fn without_fences(text: &str) -> Vec<&str> {
    let mut fenced = false;
    text.lines()
        .map(|l| {
            let t = l.trim_start();
            if t.starts_with("```") || t.starts_with("~~~") {
                fenced = !fenced;
                ""
            } else if fenced {
                ""
            } else {
                l
            }
        })
        .collect()
}

/// The code spans of one line: text between a run of backticks and the next run of the same
/// length. Spans do not cross lines here (a dangling backtick run opens nothing).
fn line_spans(line: &str) -> Vec<(usize, String)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'`' {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && b[i] == b'`' {
            i += 1;
        }
        let run = i - start;
        // find the closing run of exactly `run` backticks
        let mut j = i;
        let mut close = None;
        while j < b.len() {
            if b[j] == b'`' {
                let s = j;
                while j < b.len() && b[j] == b'`' {
                    j += 1;
                }
                if j - s == run {
                    close = Some(s);
                    break;
                }
            } else {
                j += 1;
            }
        }
        match close {
            Some(c) => {
                out.push((start, line[i..c].trim().to_string()));
                i = c + run;
            }
            None => break,
        }
    }
    out
}

/// Every code span of `text`, with its table context (`top_level` as for [`looks_like_path`]).
fn spans(text: &str, top_level: &[String]) -> Vec<Span> {
    let mut out = Vec::new();
    for (n, line) in without_fences(text).into_iter().enumerate() {
        let t = line.trim_start();
        let in_table = t.starts_with('|');
        // the first cell ends at the second `|` of the row
        let first_cell_end = if in_table {
            let lead = line.len() - t.len();
            t[1..].find('|').map_or(line.len(), |k| lead + 1 + k)
        } else {
            0
        };
        let found = line_spans(line);
        let row_path = if in_table {
            found
                .iter()
                .filter(|(at, _)| *at < first_cell_end)
                .find_map(|(_, s)| {
                    if s == "." {
                        Some(String::new())
                    } else if looks_like_path(s, top_level) {
                        Some(s.trim_end_matches('/').to_string())
                    } else {
                        None
                    }
                })
        } else {
            None
        };
        for (at, s) in found {
            out.push(Span {
                line: n + 1,
                text: s,
                in_table,
                row_path: row_path.clone(),
                first_cell: in_table && at < first_cell_end,
            });
        }
    }
    out
}

/// Whether the code span `s` looks like a repository path (see the module docs).
/// `top_level` holds the names of the repository's top-level entries.
fn looks_like_path(s: &str, top_level: &[String]) -> bool {
    let chars_ok = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '*' | '/' | '~'));
    if s.is_empty()
        || !chars_ok
        || s.starts_with('-')
        || !s.chars().any(|c| c.is_ascii_alphabetic())
    {
        return false;
    }
    let last = s.trim_end_matches('/').rsplit('/').next().unwrap_or("");
    let has_ext = |exts: &[&str]| {
        exts.iter()
            .any(|e| last.len() > e.len() && last.ends_with(e))
    };
    if has_ext(&[".rs", ".md", ".toml", ".sh", ".py"]) {
        return true;
    }
    if !s.contains('/') {
        return false;
    }
    let extension = last.rsplit_once('.').is_some_and(|(stem, ext)| {
        !stem.is_empty() && ext.chars().any(|c| c.is_ascii_alphabetic())
    });
    let first = s.split('/').next().unwrap_or("");
    s.ends_with('/')
        || extension
        || s.starts_with("../")
        || s.starts_with('/')
        || s.starts_with("~/")
        || top_level.iter().any(|t| t == first)
}

// ----- matching paths against the repository -----

/// Glob match of one path component (`*` any run of characters, `?` one character).
fn component_matches(pat: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pat.chars().collect(), name.chars().collect());
    // classic two-pointer wildcard match
    let (mut i, mut j, mut star, mut mark) = (0, 0, None, 0);
    while j < n.len() {
        if i < p.len() && (p[i] == '?' || p[i] == n[j]) {
            i += 1;
            j += 1;
        } else if i < p.len() && p[i] == '*' {
            star = Some(i);
            mark = j;
            i += 1;
        } else if let Some(s) = star {
            i = s + 1;
            mark += 1;
            j = mark;
        } else {
            return false;
        }
    }
    while i < p.len() && p[i] == '*' {
        i += 1;
    }
    i == p.len()
}

/// Whether the path components `path` end with the pattern components `pat`.
fn tail_matches(pat: &[&str], path: &[&str]) -> bool {
    path.len() >= pat.len()
        && pat
            .iter()
            .zip(&path[path.len() - pat.len()..])
            .all(|(p, n)| component_matches(p, n))
}

/// Where a path must be found.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
enum Rule<'a> {
    /// From the root only (a module map row's own path).
    Root,
    /// From the root, or under this directory (`""`: anywhere).
    RootOrUnder(&'a str),
}

/// Checks one candidate path; `Err` says why it fails.
fn check_path(cand: &str, rule: Rule, paths: &[(String, bool)]) -> Result<(), String> {
    if cand.starts_with("../") || cand.starts_with('/') || cand.starts_with("~/") || cand == ".." {
        return Err("outside the repository (a clone does not have it)".into());
    }
    let want_dir = cand.ends_with('/');
    let pat: Vec<&str> = cand
        .trim_end_matches('/')
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    let kind_ok = |dir: bool| !want_dir || dir;
    let split = |p: &str| p.split('/').map(str::to_owned).collect::<Vec<_>>();
    // from the root
    let from_root = paths.iter().any(|(p, dir)| {
        let comps = split(p);
        let comps: Vec<&str> = comps.iter().map(String::as_str).collect();
        kind_ok(*dir) && comps.len() == pat.len() && tail_matches(&pat, &comps)
    });
    if from_root {
        return Ok(());
    }
    let under = match rule {
        Rule::Root => return Err("no such file or directory from the repository root".into()),
        Rule::RootOrUnder(base) => base,
    };
    let prefix: Vec<&str> = under.split('/').filter(|c| !c.is_empty()).collect();
    let found = paths.iter().any(|(p, dir)| {
        let comps = split(p);
        let comps: Vec<&str> = comps.iter().map(String::as_str).collect();
        kind_ok(*dir)
            && comps.len() > prefix.len()
            && comps.starts_with(&prefix)
            && tail_matches(&pat, &comps[prefix.len()..])
    });
    if found {
        Ok(())
    } else if under.is_empty() {
        Err("no such file or directory (from the root, or as the tail of any path)".into())
    } else {
        Err(format!(
            "no such file or directory (from the root, or under `{under}/`, the row's path)"
        ))
    }
}

/// The failures of `text` (a markdown file named `name`) against the paths of the repository.
fn stale_paths(name: &str, text: &str, paths: &[(String, bool)]) -> Vec<String> {
    let top: Vec<String> = paths
        .iter()
        .filter(|(p, _)| !p.contains('/'))
        .map(|(p, _)| p.clone())
        .collect();
    let mut failures = BTreeSet::new();
    for s in spans(text, &top) {
        if !looks_like_path(&s.text, &top) {
            continue;
        }
        let rule = match (&s.row_path, s.first_cell) {
            (Some(_), true) => Rule::Root,
            // the root's row: from the root only
            (Some(base), false) if base.is_empty() => Rule::Root,
            (Some(base), false) => Rule::RootOrUnder(base),
            (None, _) => Rule::RootOrUnder(""),
        };
        if let Err(why) = check_path(&s.text, rule, paths) {
            let ctx = match (&s.row_path, s.in_table) {
                (Some(b), true) if !s.first_cell => {
                    format!(" [module map row `{}`]", if b.is_empty() { "." } else { b })
                }
                (_, true) => " [table]".to_string(),
                _ => String::new(),
            };
            failures.insert((
                s.line,
                format!("{name}:{}: `{}`: {why}{ctx}", s.line, s.text),
            ));
        }
    }
    failures.into_iter().map(|(_, f)| f).collect()
}

// ----- the tests -----

#[test]
fn architecture_md_names_only_paths_that_exist() {
    let root = root();
    let path = root.join("ARCHITECTURE.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let paths = walk(&root);
    let failures = stale_paths("ARCHITECTURE.md", &text, &paths);
    assert!(
        failures.is_empty(),
        "ARCHITECTURE.md names {} path(s) that do not exist:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
}

#[test]
fn no_file_refers_to_the_shared_directory_outside_the_repository() {
    let root = root();
    let dir = "shared";
    let needles = [
        format!("{}/{dir}", ".."),
        format!("{dir}/{}", "DESIGN.md"),
        format!("{dir}/{}/", "reference"),
        format!("{dir}/{}/", "seed"),
    ];
    let mut hits = Vec::new();
    for f in repository_files(&root) {
        let Ok(bytes) = std::fs::read(root.join(&f)) else {
            continue; // listed by git but deleted in the work tree
        };
        let text = String::from_utf8_lossy(&bytes);
        for (n, line) in text.lines().enumerate() {
            if let Some(nd) = needles.iter().find(|nd| line.contains(nd.as_str())) {
                hits.push(format!("{f}:{}: refers to `{nd}`", n + 1));
            }
        }
    }
    assert!(
        hits.is_empty(),
        "{} line(s) refer to a directory outside the repository (a clone does not have it; \
         point at docs/ instead):\n  {}",
        hits.len(),
        hits.join("\n  ")
    );
}

/// The extraction itself: what counts as a path, and how table rows resolve.
#[test]
fn extraction_keeps_paths_and_skips_code() {
    let top = vec!["core".to_string(), "src".to_string(), "results".to_string()];
    for p in [
        "core/src/heap.rs",
        "strategies/",
        "src/cmd_*.rs",
        "kind.rs",
        "Cargo.toml",
        "scripts/reproduce.sh",
        "figures/*.svg",
        "core/src",
        "fuzz/README.md",
    ] {
        assert!(looks_like_path(p, &top), "{p} should be a path");
    }
    for p in [
        "Heap::free",
        "--verify",
        "gc.callbacks",
        "ExecConfig.max_heap",
        "rc",
        "u32",
        "[cap, len, items..]",
        "let t = heap.begin_collection(generation);",
        "min_heap=auto",
        "3/2",
        "prev/next",
        ".rs",
        "Strategy::heap_budget",
    ] {
        assert!(!looks_like_path(p, &top), "{p} should not be a path");
    }

    let md = "\
Prose naming `core/src/heap.rs`, `Heap::free` and `../elsewhere/X.md`.

```
`not/checked.rs` inside a fence
```

| path | what |
| --- | --- |
| `core/` | the heap (`heap.rs`), `missing.rs`, `--verify` |
| `.` (root) | `src/main.rs` and `src/gone_*.rs` |
| `nothere/` | nothing |
";
    let paths: Vec<(String, bool)> = [
        ("core", true),
        ("core/src", true),
        ("core/src/heap.rs", false),
        ("src", true),
        ("src/main.rs", false),
    ]
    .iter()
    .map(|(p, d)| (p.to_string(), *d))
    .collect();
    let f = stale_paths("T.md", md, &paths);
    let expect = [
        "T.md:1: `../elsewhere/X.md`: outside the repository",
        "T.md:9: `missing.rs`: no such file or directory (from the root, or under `core/`",
        "T.md:10: `src/gone_*.rs`: no such file or directory from the repository root [module map row `.`]",
        "T.md:11: `nothere/`: no such file or directory from the repository root",
    ];
    assert_eq!(f.len(), expect.len(), "{f:#?}");
    for (got, want) in f.iter().zip(expect) {
        assert!(got.starts_with(want), "{got}\n  should start with\n{want}");
    }
}

// ----- what each module of `src/` may import -----

/// The rows of the table under the heading that starts with `### What each module of`: each a
/// path (a file or a folder ending in `/`) and the modules it may import (`any` for all).
fn import_rules(text: &str) -> Vec<(String, Option<BTreeSet<String>>)> {
    let mut rules = Vec::new();
    let mut in_section = false;
    for line in text.lines() {
        if line.starts_with('#') {
            in_section = line.starts_with("### What each module of");
            continue;
        }
        if !in_section || !line.starts_with("| `") {
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let (Some(path), Some(allowed)) = (cells.get(1), cells.get(2)) else {
            continue;
        };
        let path = path.trim_matches('`').to_string();
        let allowed = match *allowed {
            "any" => None,
            "nothing" => Some(BTreeSet::new()),
            list => Some(
                list.split(',')
                    .map(|m| m.trim().trim_matches('`').to_string())
                    .collect(),
            ),
        };
        rules.push((path, allowed));
    }
    rules
}

/// The first component of every `crate::name` path in the code (not the comments) of `src`.
fn crate_imports(src: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in src.lines() {
        let code = line.split("//").next().unwrap_or("");
        let mut rest = code;
        while let Some(i) = rest.find("crate::") {
            let after = &rest[i + "crate::".len()..];
            let name: String = after
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
            rest = after;
        }
    }
    out
}

/// The `src/` module a file belongs to: `src/plot/fig.rs` is `plot`, `src/sweep.rs` is `sweep`.
fn module_of(rel: &str) -> String {
    let inner = rel.trim_start_matches("src/");
    let first = inner.split('/').next().unwrap_or(inner);
    first.trim_end_matches(".rs").to_string()
}

#[test]
fn src_modules_import_only_what_the_map_allows() {
    let root = root();
    let text = std::fs::read_to_string(root.join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    let rules = import_rules(&text);
    assert!(
        rules.len() >= 10,
        "the import table of ARCHITECTURE.md was not found"
    );
    let mut files: Vec<String> = walk(&root.join("src"))
        .into_iter()
        .filter(|(p, dir)| !dir && p.ends_with(".rs"))
        .map(|(p, _)| format!("src/{p}"))
        .collect();
    files.sort();
    let mut problems = Vec::new();
    for file in &files {
        let rule = rules.iter().find(|(path, _)| {
            path == file || (path.ends_with('/') && file.starts_with(path.as_str()))
        });
        let Some((path, allowed)) = rule else {
            problems.push(format!(
                "{file}: no row in the import table of ARCHITECTURE.md"
            ));
            continue;
        };
        let Some(allowed) = allowed else { continue };
        let own = module_of(file);
        let src = std::fs::read_to_string(root.join(file)).expect("source file");
        for m in crate_imports(&src) {
            if m != own && !allowed.contains(&m) {
                problems.push(format!(
                    "{file} imports crate::{m}, which the row `{path}` does not allow"
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn import_extraction_skips_comments_and_finds_paths() {
    let src = "use crate::results::{RunRow, ResultSet};\n//! see [`crate::runner`]\nlet x = crate::metrics::mmu(); // crate::sweep\n";
    let found: Vec<String> = crate_imports(src).into_iter().collect();
    assert_eq!(found, ["metrics", "results"]);
    assert_eq!(module_of("src/plot/fig.rs"), "plot");
    assert_eq!(module_of("src/sweep.rs"), "sweep");
    let rules = import_rules("### What each module of `src/` may import\n| path | may import |\n| --- | --- |\n| `src/a.rs` | `b`, `c` |\n| `src/d/` | any |\n| `src/e.rs` | nothing |\n## next\n| `src/x.rs` | `y` |\n");
    assert_eq!(rules.len(), 3);
    assert_eq!(rules[0].1.as_ref().map(|s| s.len()), Some(2));
    assert!(rules[1].1.is_none());
    assert_eq!(rules[2].1.as_ref().map(|s| s.len()), Some(0));
}
