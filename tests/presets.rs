//! The CPython presets and the releases they stand for: `gclab list` shows every range,
//! `--strategy cpython=VERSION` resolves to the preset of that release (exit 2 for versions no
//! preset covers), and the presets for 3.14.5 and later and for 3.15 collect as the real
//! interpreters do where they differ from 3.13 (`docs/cpython-model.md`, section 2.12).

mod common;

use common::gclab;
use gclab::registry;
use gclab::results::RunRecord;
use gclab_core::strategy::GenerationStats;

fn run(strategy: &str, workload: &str, params: &[&str]) -> RunRecord {
    common::run(strategy, &[], workload, params, 1)
}

/// A run with strategy parameters (`callbacks=true`, as `gclab fidelity` sets them).
fn run_with(
    strategy: &str,
    sparams: &[(&str, &str)],
    workload: &str,
    params: &[&str],
) -> RunRecord {
    common::run(strategy, sparams, workload, params, 1)
}

/// (collections, collected) per generation.
fn per_generation(r: &RunRecord) -> Vec<(u64, u64)> {
    r.strategy_stats
        .generations
        .iter()
        .map(|g: &GenerationStats| (g.collections, g.collected))
        .collect()
}

#[test]
fn list_shows_the_releases_of_every_cpython_model() {
    let (code, out, err) = gclab(&["list"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cpython=VERSION"), "{out}");
    let line_of = |name: &str| {
        out.lines()
            .find(|l| l.trim_start().starts_with(&format!("preset {name} ")))
            .unwrap_or_else(|| panic!("no preset line for {name}:\n{out}"))
            .to_string()
    };
    for (name, want) in [
        ("cpython-3.11", "(CPython 3.11.0-3.11.x)"),
        ("cpython-3.12", "(CPython 3.12.0-3.12.x)"),
        ("cpython-3.13", "(CPython 3.13.0-3.13.x)"),
        ("cpython-3.14.5", "(CPython 3.14.5-3.14.x)"),
        ("cpython-3.15", "(CPython 3.15.0-3.15.x)"),
        ("cpython-3.14.0", "(CPython 3.14.0)"),
        ("guide-800-20-20", "(CPython 3.11.0-3.11.x, configured)"),
        ("gc-disabled", "(CPython 3.11.0-3.11.x, configured)"),
    ] {
        assert!(line_of(name).contains(want), "{name}: {}", line_of(name));
    }
    // cpython-3.14 is a strategy: its default configuration's releases follow its line.
    let lines: Vec<&str> = out.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.starts_with("  cpython-3.14 "))
        .expect("a cpython-3.14 line");
    assert_eq!(lines[at + 1].trim(), "models CPython 3.14.1-3.14.4");
    // Every release range of the registry is on the listing.
    for (name, range) in registry::release_ranges() {
        assert!(
            out.lines()
                .any(|l| l.contains(name) && l.contains(&range.to_string()))
                || lines[at + 1].contains(&range.to_string()),
            "{name} {range} not listed"
        );
    }
}

#[test]
fn a_version_runs_the_preset_of_that_release() {
    let by_version = run("cpython=3.14.6", "fidelity", &["case=mix", "size=3000"]);
    let by_name = run("cpython-3.14.5", "fidelity", &["case=mix", "size=3000"]);
    assert_eq!(per_generation(&by_version), per_generation(&by_name));
    assert_eq!(by_version.collected, by_name.collected);
    assert_eq!(by_version.work, by_name.work);
    let (code, out, err) = gclab(&[
        "run",
        "-s",
        "cpython=3.13.2",
        "-w",
        "cycles",
        "-p",
        "count=200",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("cpython=3.13.2"), "{out}");
}

#[test]
fn versions_no_preset_covers_exit_2_and_say_what_is_covered() {
    for (v, says) in [
        ("3.10.4", "no preset models CPython 3.10.4"),
        ("3.16.0", "no preset models CPython 3.16.0"),
        ("3.14", "give the patch release"),
        ("3.15.0b1", "not a CPython version"),
    ] {
        let spec = format!("cpython={v}");
        let (code, _, err) = gclab(&["run", "-s", &spec, "-w", "cycles", "-p", "count=10"]);
        assert_eq!(code, 2, "{v}: {err}");
        assert!(err.contains(says), "{v}: {err}");
    }
    let (_, _, err) = gclab(&["run", "-s", "cpython=3.9.0", "-w", "cycles"]);
    assert!(
        err.contains("3.14.1-3.14.4 (cpython-3.14)")
            && err.contains("3.15.0-3.15.x (cpython-3.15)"),
        "{err}"
    );
}

/// The `fidelity` workload's `mix` case (20000 steps, seed 1) under the 3.13 model and the
/// 3.14.5 model, with the `gc.callbacks` hook the replay installs (`callbacks=true`, as `gclab
/// fidelity` runs them): the same collections, fewer objects collected under 3.14.5. Both sides
/// were judged against real interpreters (`gclab fidelity`, `docs/cpython-model.md`, 2.12):
/// CPython 3.13.0 collects 429 objects in 1/1/5 collections, 3.14.10 and 3.15.2 collect 420 in
/// 1/1/5, because from 3.14.1 on a tuple of atoms is never tracked, so the ones hanging from
/// garbage cycles are freed by reference counting rather than counted by the collection.
#[test]
fn the_3_14_5_model_differs_from_3_13_where_cpython_does() {
    let cb = [("callbacks", "true")];
    let params = ["case=mix", "size=20000"];
    let m13 = run_with("cpython-3.13", &cb, "fidelity", &params);
    let m145 = run_with("cpython-3.14.5", &cb, "fidelity", &params);
    let m15 = run_with("cpython-3.15", &cb, "fidelity", &params);
    let collections =
        |r: &RunRecord| -> Vec<u64> { per_generation(r).iter().map(|g| g.0).collect() };
    assert_eq!(collections(&m13), vec![1, 1, 5]);
    assert_eq!(collections(&m145), vec![1, 1, 5]);
    assert_eq!(m13.collected, 429);
    assert_eq!(m145.collected, 420);
    // 3.15 runs 3.14.5's collector.
    assert_eq!(per_generation(&m15), per_generation(&m145));
    assert_eq!(m15.work, m145.work);
    // Nothing leaks either way.
    assert_eq!((m13.leaked_objects, m145.leaked_objects), (0, 0));

    // The `thresholds` case: 3.13.0 runs 215/33/9 collections, 3.14.10 and 3.15.2 run 218/33/9,
    // collecting the same 22880 objects.
    let params = ["case=thresholds", "size=20000"];
    let t13 = run_with("cpython-3.13", &cb, "fidelity", &params);
    let t145 = run_with("cpython-3.14.5", &cb, "fidelity", &params);
    assert_eq!(collections(&t13), vec![215, 33, 9]);
    assert_eq!(collections(&t145), vec![218, 33, 9]);
    assert_eq!((t13.collected, t145.collected), (22880, 22880));
}

/// Where the sources say nothing changed, nothing does: the young count moves on allocation in
/// both, so a workload of lists and instances (no dicts, no tuples) collects identically.
#[test]
fn the_3_14_5_model_equals_3_13_without_dicts_or_tuples() {
    let params = ["count=30000", "mix=1:1:0", "acyclic=0"];
    let a = run("cpython-3.13", "cycles", &params);
    let b = run("cpython-3.14.5", "cycles", &params);
    assert_eq!(per_generation(&a), per_generation(&b));
    assert_eq!(a.collected, b.collected);
    assert!(a.collections > 10, "{}", a.collections);
}
