//! Figure provenance: every figure a published result's README (or the project's README and
//! docs) shows or names exists, and is what `gclab plot` draws from that result's own committed
//! files. No hand-placed image can pass: the test redraws every result into a temporary
//! directory from its `experiment.toml`, `runs.jsonl` and sidecars alone, and compares each
//! named figure's SVG byte for byte (a PNG is checked through the SVG drawn with it: bitmaps
//! depend on the machine's font rasteriser). `reproduce --check` separately reruns the
//! experiments and compares the deterministic figures with what is committed.

use gclab::plot::MEASURED;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The figure paths (`figures/...png|svg`) that follow `prefix` in `text`, without the prefix.
fn figure_mentions(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    let needle = format!("{prefix}figures/");
    while let Some(i) = rest.find(&needle) {
        let after = &rest[i + prefix.len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || "_-./".contains(c)))
            .unwrap_or(after.len());
        let path = after[..end].trim_end_matches('.');
        if path.ends_with(".png") || path.ends_with(".svg") {
            // A mention must be preceded by something that is not part of a longer path.
            let before = rest[..i].chars().last();
            if prefix.is_empty() && before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '/') {
                rest = &after[end..];
                continue;
            }
            out.insert(path.to_string());
        }
        rest = &after[end..];
    }
    out
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let p = e.expect("dir entry").path();
        let name = p.file_name().expect("file name");
        if p.is_dir() {
            copy_dir(&p, &to.join(name));
        } else {
            std::fs::copy(&p, to.join(name)).expect("copy");
        }
    }
}

#[test]
fn every_figure_shown_is_drawn_by_gclab_plot_from_its_results() {
    let results = root().join("results");
    // Result name -> figures named anywhere (its README, the project's README, the docs).
    let mut named: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&results)
        .expect("results/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("README.md").is_file())
        .collect();
    dirs.sort();
    for d in &dirs {
        let name = d.file_name().expect("name").to_string_lossy().into_owned();
        let text = std::fs::read_to_string(d.join("README.md")).expect("README");
        named
            .entry(name)
            .or_default()
            .extend(figure_mentions(&text, ""));
    }
    // Every markdown file that may name a result's figure by its full path.
    let mut docs = vec![root().join("README.md"), root().join("ARCHITECTURE.md")];
    if let Ok(it) = std::fs::read_dir(root().join("docs")) {
        docs.extend(it.map(|e| e.expect("entry").path()));
    }
    docs.extend(dirs.iter().map(|d| d.join("README.md")));
    for doc in docs
        .iter()
        .filter(|p| p.extension().is_some_and(|x| x == "md"))
    {
        let text = std::fs::read_to_string(doc).expect("doc");
        for d in &dirs {
            let name = d.file_name().expect("name").to_string_lossy().into_owned();
            let found = figure_mentions(&text, &format!("results/{name}/"));
            named.entry(name).or_default().extend(found);
        }
    }
    let tmp = tempfile::tempdir().expect("temp dir");
    let mut problems = Vec::new();
    let mut checked = 0;
    for d in &dirs {
        let name = d.file_name().expect("name").to_string_lossy().into_owned();
        let figures = &named[&name];
        if figures.is_empty() {
            continue;
        }
        let work = tmp.path().join(&name);
        std::fs::create_dir_all(&work).expect("work dir");
        if d.join("experiment.toml").is_file() {
            for f in ["experiment.toml", "runs.jsonl"] {
                std::fs::copy(d.join(f), work.join(f)).expect("copy result file");
            }
            if d.join("runs").is_dir() {
                copy_dir(&d.join("runs"), &work.join("runs"));
            }
        } else {
            // A result that is not a sweep: only its measurement files, nothing drawn.
            let files: Vec<&str> = MEASURED
                .iter()
                .map(|m| m.file)
                .filter(|f| d.join(f).is_file())
                .collect();
            if files.is_empty() {
                problems.push(format!(
                    "results/{name} shows figures but has neither an experiment.toml nor a \
                     measurement file to draw them from"
                ));
                continue;
            }
            for f in files {
                let to = work.join(f);
                std::fs::create_dir_all(to.parent().expect("parent")).expect("dir");
                std::fs::copy(d.join(f), to).expect("copy measurement file");
            }
        }
        let out = Command::new(env!("CARGO_BIN_EXE_gclab"))
            .args(["plot", "--no-png"])
            .arg(&work)
            .output()
            .expect("run gclab plot");
        assert!(
            out.status.success(),
            "gclab plot results/{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        for fig in figures {
            let committed = d.join(fig);
            if !committed.is_file() {
                problems.push(format!("results/{name}/{fig}: named but not committed"));
                continue;
            }
            let svg = fig
                .trim_end_matches(".png")
                .trim_end_matches(".svg")
                .to_string()
                + ".svg";
            let drawn = std::fs::read(work.join(&svg)).ok();
            if drawn.is_none() {
                problems.push(format!(
                    "results/{name}/{fig}: gclab plot does not draw {svg} from the result's files"
                ));
            } else if drawn != std::fs::read(d.join(&svg)).ok() {
                problems.push(format!(
                    "results/{name}/{svg}: differs from what gclab plot draws from the result's files"
                ));
            }
            checked += 1;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    // The published results show figures: a test that found none would prove nothing.
    assert!(checked >= 10, "only {checked} figures found");
}

#[test]
fn mentions_are_found_and_longer_paths_are_not() {
    let text = "![p](figures/pauses.png) and `figures/wall/throughput.png`, \
                not otherfigures/x.png, and results/a/figures/b.svg.";
    let m = figure_mentions(text, "");
    assert_eq!(
        m.into_iter().collect::<Vec<_>>(),
        ["figures/pauses.png", "figures/wall/throughput.png"]
    );
    let m = figure_mentions(text, "results/a/");
    assert_eq!(m.into_iter().collect::<Vec<_>>(), ["figures/b.svg"]);
}

/// The first image a README embeds (`![...](figures/NAME.png)`), as `NAME`.
fn first_image(readme: &str) -> Option<String> {
    let i = readme.find("](figures/")?;
    let rest = &readme[i + "](figures/".len()..];
    let end = rest.find(".png)")?;
    Some(rest[..end].to_string())
}

/// The `headline = "NAME"` of an experiment file's `[plot]` table.
fn headline(experiment: &str) -> Option<String> {
    let table: toml::Table = experiment.parse().expect("experiment.toml parses");
    table
        .get("plot")?
        .get("headline")?
        .as_str()
        .map(str::to_string)
}

#[test]
fn every_result_with_runs_leads_with_its_headline_figure() {
    let results = root().join("results");
    let mut checked = 0;
    let mut problems = Vec::new();
    for e in std::fs::read_dir(&results).expect("results/") {
        let d = e.expect("entry").path();
        if !d.join("runs.jsonl").is_file() {
            continue;
        }
        let name = d.file_name().expect("name").to_string_lossy().into_owned();
        let exp = std::fs::read_to_string(d.join("experiment.toml")).expect("experiment.toml");
        let readme = std::fs::read_to_string(d.join("README.md")).expect("README.md");
        match (headline(&exp), first_image(&readme)) {
            (None, _) => problems.push(format!("results/{name}: no [plot] headline")),
            (Some(h), first) if first.as_deref() != Some(h.as_str()) => problems.push(format!(
                "results/{name}: the headline is {h}, but the README's first figure is {first:?}"
            )),
            _ => checked += 1,
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 9, "only {checked} results checked");
}

#[test]
fn every_result_without_runs_leads_with_the_figure_of_its_measurements() {
    let results = root().join("results");
    let mut checked = 0;
    let mut problems = Vec::new();
    for e in std::fs::read_dir(&results).expect("results/") {
        let d = e.expect("entry").path();
        if !d.is_dir() || d.join("experiment.toml").is_file() {
            continue;
        }
        let name = d.file_name().expect("name").to_string_lossy().into_owned();
        let Some(m) = MEASURED.iter().find(|m| d.join(m.file).is_file()) else {
            problems.push(format!(
                "results/{name}: no experiment.toml and no measurement file to draw a headline \
                 figure from"
            ));
            continue;
        };
        let Ok(readme) = std::fs::read_to_string(d.join("README.md")) else {
            problems.push(format!("results/{name}: no README.md"));
            continue;
        };
        if first_image(&readme).as_deref() != Some(m.stem) {
            problems.push(format!(
                "results/{name}: the README's first figure should be figures/{}.png (drawn \
                 from {})",
                m.stem, m.file
            ));
        } else {
            checked += 1;
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(checked >= 4, "only {checked} results checked");
}

#[test]
fn plotting_a_directory_with_nothing_to_draw_or_a_bad_measurement_file_exits_2() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let run = |d: &Path| {
        Command::new(env!("CARGO_BIN_EXE_gclab"))
            .args(["plot", "--no-png"])
            .arg(d)
            .output()
            .expect("run gclab plot")
    };
    let out = run(tmp.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("nothing to draw") && err.contains("fidelity.jsonl"),
        "{err}"
    );
    std::fs::write(tmp.path().join("fidelity.jsonl"), "{\"case\": 1}\n").expect("write");
    let out = run(tmp.path());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("fidelity.jsonl") && err.contains("line 1"),
        "{err}"
    );
}

#[test]
fn what_gclab_fidelity_writes_gclab_plot_draws() {
    use gclab::fidelity::{jsonl, FidelityRow, Report, Side};
    let side = |per_gen: [u64; 3], collected| Side {
        collections: Vec::new(),
        per_gen,
        collected,
        count: [0, 0, 0],
    };
    let row = |python: &str, preset: &str| FidelityRow {
        case: "cycles".into(),
        size: 10,
        python: python.into(),
        preset: preset.into(),
        real: side([3, 1, 0], 20),
        model: side([3, 1, 0], 20),
        loop_allocations: 0,
    };
    let report = Report {
        rows: vec![row("3.11.7", "cpython-3.11"), row("3.13.0", "cpython-3.13")],
        skipped: Vec::new(),
    };
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(tmp.path().join("fidelity.jsonl"), jsonl(&report)).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_gclab"))
        .args(["plot", "--no-png"])
        .arg(tmp.path())
        .output()
        .expect("run gclab plot");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let svg = std::fs::read_to_string(tmp.path().join("figures/fidelity.svg")).expect("svg");
    assert!(
        svg.contains("all 2 pairs equal"),
        "the verdict is in the title"
    );
}

#[test]
fn first_image_and_headline_are_read() {
    assert_eq!(
        first_image("text\n![a](figures/pages.png)\n![b](figures/x.png)").as_deref(),
        Some("pages")
    );
    assert_eq!(first_image("no figure"), None);
    assert_eq!(
        headline("[plot]\nheadline = \"claims\"\n").as_deref(),
        Some("claims")
    );
    assert_eq!(headline("seeds = [1]\n"), None);
}

#[test]
fn a_plot_table_naming_what_cannot_be_drawn_exits_2_saying_what_is_valid() {
    let src = root().join("results/default");
    let cases = [
        (
            "headline = \"scatter\"",
            "headline = \"nope\"",
            "the figures are: scatter",
        ),
        (
            "x = \"lbo\"",
            "x = \"run.no_such\"",
            "no run has a value for `run.no_such`",
        ),
        (
            "y = \"run.peak_live_bytes\" }",
            "y = \"run.peak_live_bytes\", strategies = [\"nope\"] }",
            "no strategy is labelled `nope`",
        ),
    ];
    for (from, to, expect) in cases {
        let tmp = tempfile::tempdir().expect("temp dir");
        let exp = std::fs::read_to_string(src.join("experiment.toml")).expect("experiment");
        assert!(
            exp.contains(from),
            "results/default/experiment.toml has {from}"
        );
        std::fs::write(tmp.path().join("experiment.toml"), exp.replace(from, to)).expect("write");
        std::fs::copy(src.join("runs.jsonl"), tmp.path().join("runs.jsonl")).expect("copy");
        copy_dir(&src.join("runs"), &tmp.path().join("runs"));
        let out = Command::new(env!("CARGO_BIN_EXE_gclab"))
            .args(["plot", "--no-png"])
            .arg(tmp.path())
            .output()
            .expect("run gclab plot");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{to}: {err}");
        assert!(err.contains(expect), "{to}: {err}");
    }
}
