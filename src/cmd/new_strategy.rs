//! `gclab new-strategy NAME`: writes a new strategy crate `strategies/NAME/` from the template in
//! `templates/strategy/` and registers it (one dependency line in the root `Cargo.toml`, one line
//! in `src/registry.rs`'s `registry!(...)`). See `docs/adding-a-strategy.md`.
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

    /// The line for the root `Cargo.toml`'s `[dependencies]`.
    pub fn dependency_line(&self) -> String {
        format!("{} = {{ path = \"strategies/{}\" }}", self.krate, self.name)
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
            add_dependency(&cargo_text, &names.dependency_line())?,
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

/// Inserts `line` as the first entry of the root package's `[dependencies]` table.
pub fn add_dependency(cargo_toml: &str, line: &str) -> Result<String, NewStrategyError> {
    let key = line.split('=').next().unwrap_or("").trim();
    let mut out = String::with_capacity(cargo_toml.len() + line.len() + 1);
    let mut done = false;
    let mut in_deps = false;
    for l in cargo_toml.lines() {
        let t = l.trim();
        if t.starts_with('[') {
            in_deps = t == "[dependencies]";
        } else if in_deps
            && (t.starts_with(&format!("{key} ")) || t.starts_with(&format!("{key}.")))
        {
            return Err(NewStrategyError::Shape(format!(
                "Cargo.toml already depends on {key}"
            )));
        }
        out.push_str(l);
        out.push('\n');
        if t == "[dependencies]" && !done {
            out.push_str(line);
            out.push('\n');
            done = true;
        }
    }
    if done {
        Ok(out)
    } else {
        Err(NewStrategyError::Shape(
            "Cargo.toml has no [dependencies] table".into(),
        ))
    }
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
    if g.registered {
        msg.push_str(&format!(
            "registered it:\n  Cargo.toml [dependencies]:  {}\n  src/registry.rs registry!: {},\n",
            names.dependency_line(),
            names.registry_entry()
        ));
    } else {
        msg.push_str(&format!(
            "to register it, add\n  to Cargo.toml [dependencies]:   {}\n  to registry!(...) in src/registry.rs: {},\n",
            names.dependency_line(),
            names.registry_entry()
        ));
    }
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
        let src = "[workspace]\n[workspace.dependencies]\ngclab-core = { path = \"core\" }\n\n[dependencies]\ngclab-core.workspace = true\n";
        let out = add_dependency(src, "gclab-x = { path = \"strategies/x\" }").unwrap();
        assert!(out.contains(
            "[dependencies]\ngclab-x = { path = \"strategies/x\" }\ngclab-core.workspace = true\n"
        ));
        assert!(add_dependency(&out, "gclab-x = { path = \"strategies/x\" }").is_err());
        assert!(add_dependency("[package]\n", "a = 1").is_err());
    }

    #[test]
    fn generate_into_temp_root() {
        let root = std::env::temp_dir().join(format!("gclab-newstrat-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("src")).unwrap();
        std::fs::write(
            root.join("Cargo.toml"),
            "[workspace]\nmembers = []\n\n[dependencies]\n",
        )
        .unwrap();
        std::fs::write(root.join("src/registry.rs"), "registry!(a::B,);\n").unwrap();
        let msg = create(&root, "toy-gc", None, false).unwrap();
        assert!(msg.contains("registered"), "{msg}");
        let lib = std::fs::read_to_string(root.join("strategies/toy-gc/src/lib.rs")).unwrap();
        assert!(lib.contains("pub struct ToyGc"));
        let reg = std::fs::read_to_string(root.join("src/registry.rs")).unwrap();
        assert!(reg.contains("gclab_toy_gc::ToyGc,"), "{reg}");
        assert!(matches!(
            create(&root, "toy-gc", None, false),
            Err(NewStrategyError::Exists(_))
        ));
        std::fs::remove_dir_all(&root).unwrap();
    }
}
