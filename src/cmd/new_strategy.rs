//! `gclab new-strategy NAME`: writes a new strategy crate `strategies/NAME/` from the template in
//! `templates/strategy/` and registers it: in the root `Cargo.toml`, one line in
//! `[workspace.dependencies]` and one `.workspace = true` line in `[dependencies]`, as every
//! strategy is declared; one line in `src/registry.rs`'s `registry!(...)`. Nothing else lists
//! strategies (the conformance test, the peers bench and the CLI iterate the registry, and the
//! crate declares its own conformance guarantee). See `docs/adding-a-strategy.md`.
//!
//! The template files are compiled into the binary (`include_str!`), so the command works from
//! any checkout; the placeholders `{{name}}`, `{{crate}}`, `{{crate_ident}}` and `{{Type}}` are
//! replaced by the strategy name, the crate name (`gclab-NAME`), the crate's Rust identifier
//! (`gclab_NAME`) and the strategy type's name (`NAME` in CamelCase).

use std::path::{Path, PathBuf};

/// The template files: (path inside the new crate, contents with placeholders).
pub const TEMPLATE: &[(&str, &str)] = &[
    (
        "Cargo.toml",
        include_str!("../../templates/strategy/Cargo.toml.tmpl"),
    ),
    (
        "src/lib.rs",
        include_str!("../../templates/strategy/src/lib.rs.tmpl"),
    ),
    (
        "tests/verify.rs",
        include_str!("../../templates/strategy/tests/verify.rs.tmpl"),
    ),
    (
        "tests/conformance.rs",
        include_str!("../../templates/strategy/tests/conformance.rs.tmpl"),
    ),
];

/// Why a strategy crate could not be generated.
#[derive(Debug, thiserror::Error)]
pub enum NewStrategyError {
    /// The name is not usable as a crate and strategy name.
    #[error("invalid strategy name '{0}': use lowercase ASCII letters, digits and single '-', starting with a letter (e.g. 'my-collector')")]
    BadName(String),
    /// The type name is not a Rust identifier.
    #[error("invalid type name '{0}': use an UpperCamelCase Rust identifier (e.g. 'MyCollector')")]
    BadType(String),
    /// The root does not look like the gclab workspace.
    #[error("{0} is not the gclab workspace root (no Cargo.toml with [workspace] and src/registry.rs); run from the root or pass --root")]
    NotWorkspace(PathBuf),
    /// The crate directory exists already.
    #[error("{0} already exists; choose another name or remove it")]
    Exists(PathBuf),
    /// The registry or Cargo.toml does not have the expected shape.
    #[error("cannot register automatically: {0}; add the lines printed below by hand")]
    Shape(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// The names derived from a strategy name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Names {
    /// The strategy name (`trial-deletion`), also the directory under `strategies/`.
    pub name: String,
    /// The crate name (`gclab-trial-deletion`).
    pub krate: String,
    /// The crate as a Rust path (`gclab_trial_deletion`).
    pub crate_ident: String,
    /// The strategy type (`TrialDeletion`).
    pub ty: String,
}

impl Names {
    /// Derives the names from `name`; `ty` overrides the type name.
    pub fn new(name: &str, ty: Option<&str>) -> Result<Names, NewStrategyError> {
        let ok = name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !name.ends_with('-')
            && !name.contains("--");
        if !ok {
            return Err(NewStrategyError::BadName(name.to_string()));
        }
        let ty = match ty {
            Some(t) => {
                let ok = t.starts_with(|c: char| c.is_ascii_uppercase())
                    && t.chars().all(|c| c.is_ascii_alphanumeric());
                if !ok {
                    return Err(NewStrategyError::BadType(t.to_string()));
                }
                t.to_string()
            }
            None => name
                .split('-')
                .map(|part| {
                    let mut cs = part.chars();
                    match cs.next() {
                        Some(f) => f.to_ascii_uppercase().to_string() + cs.as_str(),
                        None => String::new(),
                    }
                })
                .collect(),
        };
        Ok(Names {
            name: name.to_string(),
            krate: format!("gclab-{name}"),
            crate_ident: format!("gclab_{}", name.replace('-', "_")),
            ty,
        })
    }

    /// Replaces the template's placeholders.
    pub fn fill(&self, template: &str) -> String {
        template
            .replace("{{name}}", &self.name)
            .replace("{{crate}}", &self.krate)
            .replace("{{crate_ident}}", &self.crate_ident)
            .replace("{{Type}}", &self.ty)
    }

    /// The line for the root `Cargo.toml`'s `[workspace.dependencies]`.
    pub fn workspace_dependency_line(&self) -> String {
        format!("{} = {{ path = \"strategies/{}\" }}", self.krate, self.name)
    }

    /// The line for the root `Cargo.toml`'s `[dependencies]`.
    pub fn dependency_line(&self) -> String {
        format!("{}.workspace = true", self.krate)
    }

    /// The entry for `registry!(...)` in `src/registry.rs`.
    pub fn registry_entry(&self) -> String {
        format!("{}::{}", self.crate_ident, self.ty)
    }
}

/// What [`generate`] did.
#[derive(Clone, Debug)]
pub struct Generated {
    /// The new crate's directory.
    pub dir: PathBuf,
    /// Files written.
    pub files: Vec<PathBuf>,
    /// True if `Cargo.toml` and `src/registry.rs` were edited.
    pub registered: bool,
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> NewStrategyError + '_ {
    move |source| NewStrategyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Writes `strategies/NAME/` under `root` from the template and, if `register`, adds the
/// dependency line to `root/Cargo.toml` and the entry to `root/src/registry.rs`.
pub fn generate(root: &Path, names: &Names, register: bool) -> Result<Generated, NewStrategyError> {
    let cargo = root.join("Cargo.toml");
    let registry = root.join("src/registry.rs");
    let cargo_text = std::fs::read_to_string(&cargo).unwrap_or_default();
    if register && (!cargo_text.contains("[workspace]") || !registry.is_file()) {
        return Err(NewStrategyError::NotWorkspace(root.to_path_buf()));
    }
    let dir = root.join("strategies").join(&names.name);
    if dir.exists() {
        return Err(NewStrategyError::Exists(dir));
    }
    // Check the edits apply before writing anything.
    let edits = if register {
        let reg_text = std::fs::read_to_string(&registry).map_err(io(&registry))?;
        Some((
            add_dependencies(&cargo_text, names)?,
            add_registry_entry(&reg_text, &names.registry_entry())?,
        ))
    } else {
        None
    };
    let mut files = Vec::new();
    for (rel, text) in TEMPLATE {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(io(parent))?;
        }
        std::fs::write(&path, names.fill(text)).map_err(io(&path))?;
        files.push(path);
    }
    if let Some((c, r)) = &edits {
        std::fs::write(&cargo, c).map_err(io(&cargo))?;
        std::fs::write(&registry, r).map_err(io(&registry))?;
    }
    Ok(Generated {
        dir,
        files,
        registered: edits.is_some(),
    })
}

/// Declares the strategy crate in the root `Cargo.toml` as every strategy is: its path in
/// `[workspace.dependencies]`, and `.workspace = true` in the root package's `[dependencies]`.
pub fn add_dependencies(cargo_toml: &str, names: &Names) -> Result<String, NewStrategyError> {
    let with_ws = add_to_table(
        cargo_toml,
        "[workspace.dependencies]",
        &names.workspace_dependency_line(),
    )?;
    add_to_table(&with_ws, "[dependencies]", &names.dependency_line())
}

/// Inserts `line` (a `key = ...` or `key.workspace = true` entry) into the table whose header
/// is `table`: after the table's last `gclab-` entry (the strategies come last, in registry
/// order), or as its first entry if it has none.
pub fn add_to_table(cargo_toml: &str, table: &str, line: &str) -> Result<String, NewStrategyError> {
    let key = line
        .split(['=', '.'])
        .next()
        .unwrap_or("")
        .trim()
        .to_string();
    let lines: Vec<&str> = cargo_toml.lines().collect();
    let Some(header) = lines.iter().position(|l| l.trim() == table) else {
        return Err(NewStrategyError::Shape(format!(
            "Cargo.toml has no {table} table"
        )));
    };
    let end = lines[header + 1..]
        .iter()
        .position(|l| l.trim().starts_with('['))
        .map_or(lines.len(), |i| header + 1 + i);
    let body = &lines[header + 1..end];
    if body.iter().any(|l| {
        let t = l.trim();
        t.starts_with(&format!("{key} ")) || t.starts_with(&format!("{key}."))
    }) {
        return Err(NewStrategyError::Shape(format!(
            "Cargo.toml's {table} already has {key}"
        )));
    }
    let at = body
        .iter()
        .rposition(|l| l.trim().starts_with("gclab-"))
        .map_or(header + 1, |i| header + 2 + i);
    let mut out = String::with_capacity(cargo_toml.len() + line.len() + 1);
    for (i, l) in lines.iter().enumerate() {
        if i == at {
            out.push_str(line);
            out.push('\n');
        }
        out.push_str(l);
        out.push('\n');
    }
    if at == lines.len() {
        out.push_str(line);
        out.push('\n');
    }
    Ok(out)
}

/// Appends `entry` to the `registry!(...)` invocation, one entry per line.
pub fn add_registry_entry(registry_rs: &str, entry: &str) -> Result<String, NewStrategyError> {
    let shape = || NewStrategyError::Shape("src/registry.rs has no `registry!(...);` line".into());
    // The invocation, not the `macro_rules! registry` definition: the one followed by a type path.
    let start = if registry_rs.starts_with("registry!(") {
        0
    } else {
        registry_rs
            .match_indices("\nregistry!(")
            .map(|(i, _)| i + 1)
            .next()
            .ok_or_else(shape)?
    };
    let open = start + "registry!(".len();
    let close = open + registry_rs[open..].find(");").ok_or_else(shape)?;
    let mut entries: Vec<String> = registry_rs[open..close]
        .split(',')
        .map(|e| e.trim().to_string())
        .filter(|e| !e.is_empty())
        .collect();
    if entries.iter().any(|e| e == entry) {
        return Err(NewStrategyError::Shape(format!(
            "{entry} is registered already"
        )));
    }
    entries.push(entry.to_string());
    let mut body = String::from("\n");
    for e in &entries {
        body.push_str("    ");
        body.push_str(e);
        body.push_str(",\n");
    }
    Ok(format!(
        "{}{}{}",
        &registry_rs[..open],
        body,
        &registry_rs[close..]
    ))
}

/// The `gclab new-strategy` command: generates, registers (unless `no_register`) and prints
/// what it did and what to do next.
pub fn create(
    root: &Path,
    name: &str,
    ty: Option<&str>,
    no_register: bool,
) -> Result<String, NewStrategyError> {
    let names = Names::new(name, ty)?;
    let g = generate(root, &names, !no_register)?;
    let mut msg = format!("wrote {}/ ({} files)\n", g.dir.display(), g.files.len());
    let lines = format!(
        "  Cargo.toml [workspace.dependencies]: {}\n  Cargo.toml [dependencies]:           {}\n  src/registry.rs registry!(...):      {},\n",
        names.workspace_dependency_line(),
        names.dependency_line(),
        names.registry_entry()
    );
    if g.registered {
        msg.push_str("registered it:\n");
    } else {
        msg.push_str("to register it, add\n");
    }
    msg.push_str(&lines);
    msg.push_str(&format!(
        "next: cargo fmt --all && cargo test -p {k} && cargo run -- run -s {n} -w cycles --verify\n\
         then edit {d}/src/lib.rs (see docs/adding-a-strategy.md)\n",
        k = names.krate,
        n = names.name,
        d = g.dir.display()
    ));
    Ok(msg)
}

/// Arguments of `gclab new-strategy`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Strategy name: lowercase letters, digits and '-' (the crate is `gclab-NAME`).
    pub name: String,
    /// Name of the strategy type (default: NAME in CamelCase).
    #[arg(long = "type", value_name = "TYPE")]
    pub ty: Option<String>,
    /// Workspace root.
    #[arg(long, default_value = ".")]
    pub root: PathBuf,
    /// Only write the crate; print the two lines to add instead of adding them.
    #[arg(long)]
    pub no_register: bool,
}

/// Runs `gclab new-strategy` ([`create`]) and prints what it did.
pub fn run(a: Args) -> crate::classify::CmdResult {
    print!(
        "{}",
        create(&a.root, &a.name, a.ty.as_deref(), a.no_register)?
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        let n = Names::new("trial-deletion", None).unwrap();
        assert_eq!(n.krate, "gclab-trial-deletion");
        assert_eq!(n.crate_ident, "gclab_trial_deletion");
        assert_eq!(n.ty, "TrialDeletion");
        assert_eq!(Names::new("cpython314", None).unwrap().ty, "Cpython314");
        assert_eq!(
            Names::new("cpython314", Some("CPython314")).unwrap().ty,
            "CPython314"
        );
        for bad in ["", "Foo", "9x", "a_b", "a--b", "a-", "a.b"] {
            assert!(Names::new(bad, None).is_err(), "{bad}");
        }
        assert!(Names::new("a", Some("lower")).is_err());
    }

    #[test]
    fn fill_leaves_no_placeholder() {
        let n = Names::new("my-gc", None).unwrap();
        for (_, t) in TEMPLATE {
            let f = n.fill(t);
            assert!(!f.contains("{{"), "{f}");
        }
    }

    #[test]
    fn registry_edit() {
        let src = "macro_rules! registry {\n    ($($ty:ty),*) => {};\n}\n\n// One line per strategy crate.\nregistry!(gclab_none::NoCollection, gclab_refcount::RefCount,);\n\nfn x() {}\n";
        let out = add_registry_entry(src, "gclab_my_gc::MyGc").unwrap();
        assert!(out.contains(
            "registry!(\n    gclab_none::NoCollection,\n    gclab_refcount::RefCount,\n    gclab_my_gc::MyGc,\n);\n\nfn x() {}\n"
        ), "{out}");
        assert!(add_registry_entry(&out, "gclab_my_gc::MyGc").is_err());
        assert!(add_registry_entry("fn main() {}", "a::B").is_err());
    }

    #[test]
    fn dependency_edit() {
        let src = "[workspace]\n[workspace.dependencies]\ngclab-core = { path = \"core\" }\ngclab-none = { path = \"strategies/none\" }\nrand = \"0.9\"\n\n[dependencies]\ngclab-core.workspace = true\ngclab-none.workspace = true\nanyhow.workspace = true\n";
        let n = Names::new("x", None).unwrap();
        let out = add_dependencies(src, &n).unwrap();
        assert!(
            out.contains(
                "gclab-none = { path = \"strategies/none\" }\ngclab-x = { path = \"strategies/x\" }\nrand"
            ),
            "{out}"
        );
        assert!(
            out.contains("gclab-none.workspace = true\ngclab-x.workspace = true\nanyhow"),
            "{out}"
        );
        assert!(add_dependencies(&out, &n).is_err());
        assert!(add_dependencies("[package]\n", &n).is_err());
        // An empty table, last in the file: the line is its first entry.
        let out = add_to_table("[dependencies]", "[dependencies]", "a = 1").unwrap();
        assert_eq!(out, "[dependencies]\na = 1\n");
    }

    #[test]
    fn generate_into_temp_root() {
        let root = std::env::temp_dir().join(format!("gclab-newstrat-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = []\n\n[workspace.dependencies]\n\n[dependencies]\n",
        )
        .unwrap();
        std::fs::write(root.join("src/registry.rs"), "registry!(a::B,);\n").unwrap();
        let msg = create(&root, "toy-gc", None, false).unwrap();
        assert!(msg.contains("registered"), "{msg}");
        let lib = std::fs::read_to_string(root.join("strategies/toy-gc/src/lib.rs")).unwrap();
        assert!(lib.contains("pub struct ToyGc"));
        let reg = std::fs::read_to_string(root.join("src/registry.rs")).unwrap();
        assert!(reg.contains("gclab_toy_gc::ToyGc,"), "{reg}");
        let cargo = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
        assert!(
            cargo.contains(
                "[workspace.dependencies]\ngclab-toy-gc = { path = \"strategies/toy-gc\" }\n"
            ),
            "{cargo}"
        );
        assert!(
            cargo.contains("[dependencies]\ngclab-toy-gc.workspace = true\n"),
            "{cargo}"
        );
        assert!(matches!(
            create(&root, "toy-gc", None, false),
            Err(NewStrategyError::Exists(_))
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
