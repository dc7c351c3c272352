//! Proves `docs/adding-a-strategy.md`: writes a strategy crate from the template with
//! `gclab new-strategy`'s library function into a temporary workspace that depends on this
//! checkout's `gclab-core` (and `gclab-workloads`, `gclab-conformance`) by path, then builds it,
//! lints it and runs its tests (the catalogue under the oracle, and the conformance suite) with
//! cargo, offline.
//!
//! Cost: the temporary workspace builds into `target/guide-test/` (a target directory of its own:
//! the outer `cargo test` holds the lock of the main one), which is kept between runs, so only
//! the first run compiles gclab-core's dependencies.

use gclab::cmd::new_strategy::{generate, Names};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The temporary workspace's `Cargo.toml`: the real workspace's `[workspace.package]` and
/// `[workspace.dependencies]`, with path dependencies made absolute.
fn temp_manifest(repo: &Path) -> String {
    let text = std::fs::read_to_string(repo.join("Cargo.toml")).expect("read Cargo.toml");
    let real: toml::Table = text.parse().expect("parse Cargo.toml");
    let ws = real["workspace"].as_table().expect("[workspace]");
    let mut deps = ws["dependencies"].as_table().expect("deps").clone();
    for (_, v) in deps.iter_mut() {
        if let Some(t) = v.as_table_mut() {
            if let Some(p) = t.get("path").and_then(|p| p.as_str()) {
                let abs = repo.join(p).display().to_string();
                t.insert("path".into(), toml::Value::String(abs));
            }
        }
    }
    // Strategy crates of this checkout are not needed by the probe.
    deps.retain(|k, v| {
        !(k.starts_with("gclab-")
            && v.get("path")
                .and_then(|p| p.as_str())
                .is_some_and(|p| p.contains("/strategies/")))
    });
    let mut w = toml::Table::new();
    w.insert(
        "members".into(),
        toml::Value::Array(vec![toml::Value::String("strategies/*".into())]),
    );
    w.insert("resolver".into(), toml::Value::String("2".into()));
    w.insert("package".into(), ws["package"].clone());
    w.insert("dependencies".into(), toml::Value::Table(deps));
    let mut root = toml::Table::new();
    root.insert("workspace".into(), toml::Value::Table(w));
    toml::to_string(&root).expect("serialise manifest")
}

fn cargo(args: &[&str], manifest: &Path, target: &Path) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(cargo);
    // The outer `cargo test` sets CARGO_* variables describing this package; the inner cargo
    // must not see them (they would point it at the wrong package).
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if (k.starts_with("CARGO_") && k != "CARGO_HOME") || k.starts_with("__CARGO") {
            cmd.env_remove(k);
        }
    }
    // Cargo's own flags go first: anything after a `--` in `args` belongs to the tool.
    let (sub, rest) = args.split_first().expect("a cargo subcommand");
    let out = cmd
        .arg(sub)
        .arg("--offline")
        .arg("--manifest-path")
        .arg(manifest)
        .args(rest)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "cargo {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn template_crate_builds_and_passes_its_tests() {
    let repo = repo();
    let tmp = std::env::temp_dir().join(format!("gclab-guide-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    std::fs::create_dir_all(&tmp).expect("temp dir");
    std::fs::write(tmp.join("Cargo.toml"), temp_manifest(&repo)).expect("write manifest");
    // The lock file pins the versions this checkout uses, so cargo resolves offline.
    std::fs::copy(repo.join("Cargo.lock"), tmp.join("Cargo.lock")).expect("copy Cargo.lock");

    let names = Names::new("guide-probe", None).expect("valid name");
    let g = generate(&tmp, &names, false).expect("generate from the template");
    assert!(g.dir.join("src/lib.rs").is_file());

    let manifest = tmp.join("Cargo.toml");
    let target = repo.join("target").join("guide-test");
    cargo(
        &[
            "clippy",
            "-q",
            "-p",
            "gclab-guide-probe",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ],
        &manifest,
        &target,
    );
    cargo(
        &["test", "-q", "-p", "gclab-guide-probe"],
        &manifest,
        &target,
    );
    std::fs::remove_dir_all(&tmp).expect("clean up");
}
