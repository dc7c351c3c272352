//! `gclab reproduce --check` passes on freshly generated results and fails, naming the
//! difference, when a committed number, a deterministic figure or the deterministic part of an
//! HTML report is changed by hand (and not when only the report's wall-clock part differs).

use std::path::Path;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gclab");

fn reproduce(root: &Path, extra: &[&str]) -> (i32, String) {
    let out = Command::new(BIN)
        .arg("reproduce")
        .arg("--root")
        .arg(root)
        .args(["--no-png", "-j", "2"])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

#[test]
fn check_catches_a_number_or_a_figure_changed_by_hand() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("results");
    let dir = root.join("tiny");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("experiment.toml"),
        "replicates = 2\ntimeline_every = 200\n\
         [[strategy]]\nname = \"refcount\"\n[[strategy]]\nname = \"none\"\n\
         [[workload]]\nname = \"cycles\"\nparams = { count = 300 }\n",
    )
    .unwrap();
    let (code, out) = reproduce(&root, &[]);
    assert_eq!(code, 0, "{out}");
    assert!(dir.join("figures/peak_memory.svg").is_file());
    assert!(std::fs::read_to_string(dir.join("README.md"))
        .unwrap()
        .contains("BEGIN gclab report"));
    let (code, out) = reproduce(&root, &["--check"]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = reproduce(&root, &["--check", "--quick"]);
    assert_eq!(code, 0, "{out}");

    // A committed number changed by hand.
    let runs = dir.join("runs.jsonl");
    let original = std::fs::read_to_string(&runs).unwrap();
    let first = original.lines().next().unwrap();
    let key = "\"leaked_bytes\":";
    let at = first.find(key).unwrap() + key.len();
    let end = at + first[at..].find(|c: char| !c.is_ascii_digit()).unwrap();
    let n: u64 = first[at..end].parse().unwrap();
    let changed = format!("{}{}{}", &first[..at], n + 1, &first[end..]);
    std::fs::write(&runs, original.replacen(first, &changed, 1)).unwrap();
    let (code, out) = reproduce(&root, &["--check"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("cycles|refcount|s1|r0"), "{out}");
    assert!(out.contains("leaked_bytes"), "{out}");
    std::fs::write(&runs, &original).unwrap();

    // A deterministic figure changed by hand.
    let fig = dir.join("figures/lbo.svg");
    let svg = std::fs::read_to_string(&fig).unwrap();
    std::fs::write(&fig, svg.replacen("<svg", "<svg data-x=\"1\"", 1)).unwrap();
    let (code, out) = reproduce(&root, &["--check"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("figures/lbo.svg"), "{out}");
    std::fs::write(&fig, &svg).unwrap();
    check_catches_an_html_report_changed_by_hand(&root, &dir);
}

/// The result's page and the index of results: a change in the page's wall-clock part passes,
/// one in its deterministic part or in the index fails.
fn check_catches_an_html_report_changed_by_hand(root: &Path, dir: &Path) {
    let page = dir.join("index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("<svg"), "figures inline");
    assert!(root.join("index.html").is_file());
    let wall = "<section class=\"wall\">";
    assert!(html.contains(wall));
    std::fs::write(
        &page,
        html.replacen(wall, &format!("{wall}<p>1.23 ms</p>"), 1),
    )
    .unwrap();
    let (code, out) = reproduce(root, &["--check"]);
    assert_eq!(code, 0, "{out}");
    std::fs::write(&page, html.replacen("<h1>", "<h1>x", 1)).unwrap();
    let (code, out) = reproduce(root, &["--check"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("index.html: differs outside its wall-clock part"),
        "{out}"
    );
    std::fs::write(&page, &html).unwrap();
    let index = root.join("index.html");
    let text = std::fs::read_to_string(&index).unwrap();
    std::fs::write(&index, text.replacen("tiny", "small", 1)).unwrap();
    let (code, out) = reproduce(root, &["--check"]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("index.html: differs from the index"), "{out}");
}

#[test]
fn an_unknown_only_name_is_a_usage_error_naming_the_results() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tiny");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("experiment.toml"), "").unwrap();
    let (code, out) = reproduce(tmp.path(), &["--check", "--only", "tiny", "--only", "tnyi"]);
    assert_eq!(code, 2, "{out}");
    assert!(out.contains("--only tnyi") && out.contains("tiny"), "{out}");
}
