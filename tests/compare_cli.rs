//! `gclab compare` as a user runs it: on two tiny sweeps made here and on the committed result
//! sets. Every deterministic row it prints is checked against the rows of `runs.jsonl`; the
//! markdown is the table it prints; bad input exits 2 and says what is valid.

use gclab::results::{read_rows, RunRow};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_gclab");

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Runs gclab from the repository root: (exit code, stdout, stderr).
fn gclab(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .current_dir(root())
        .output()
        .expect("run gclab");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Writes `experiment.toml` into `dir` and sweeps it.
fn sweep(dir: &Path, experiment: &str) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("experiment.toml"), experiment).unwrap();
    let st = Command::new(BIN)
        .args(["sweep", "-q", "-j", "2"])
        .arg(dir)
        .status()
        .unwrap();
    assert!(st.success(), "gclab sweep {}", dir.display());
}

/// Two tiny result sets sharing the cells of `cycles` under `cpython-3.12` (with another
/// threshold on B), replicates 0 and 1; the rest is on one side only.
fn two_sweeps(tmp: &Path) -> (PathBuf, PathBuf) {
    let a = tmp.join("a");
    let b = tmp.join("b");
    sweep(
        &a,
        "replicates = 6\ntimeline_every = 500\n\
         [[strategy]]\nname = \"refcount\"\n[[strategy]]\nname = \"cpython-3.12\"\n\
         [[workload]]\nname = \"cycles\"\nparams = { count = 300 }\n\
         [[workload]]\nname = \"churn\"\nparams = { ops = 2000 }\n",
    );
    sweep(
        &b,
        "replicates = 2\ntimeline_every = 500\n\
         [[strategy]]\nname = \"cpython-3.12\"\nparams = { t0 = 50 }\n[[strategy]]\nname = \"none\"\n\
         [[workload]]\nname = \"cycles\"\nparams = { count = 300 }\n\
         [[workload]]\nname = \"binary-trees\"\nparams = { depth = 6 }\n",
    );
    (a, b)
}

/// The rows of the markdown table under `### {heading}`, as cells.
fn table(md: &str, heading: &str) -> Vec<Vec<String>> {
    let start = md
        .find(&format!("### {heading}"))
        .unwrap_or_else(|| panic!("no section {heading} in:\n{md}"));
    md[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// A printed number (thousands separators, optional sign and two decimals) as a float.
fn number(s: &str) -> f64 {
    s.replace([',', '+'], "")
        .parse()
        .unwrap_or_else(|_| panic!("not a number: {s}"))
}

/// Checks a printed mean against the exact one, `sum / n`: whole means print without
/// decimals, others rounded to two.
fn assert_mean(printed: &str, sum: i128, n: i128, what: &str) {
    if sum % n == 0 {
        assert_eq!(number(printed), (sum / n) as f64, "{what}: {printed}");
        assert!(!printed.contains('.'), "{what}: {printed}");
    } else {
        let exact = sum as f64 / n as f64;
        assert!(
            (number(printed) - exact).abs() <= 0.005 + 1e-9,
            "{what}: {printed} vs {exact}"
        );
    }
}

/// The values of a metric (a dotted path) on the completed rows `pick` selects, in plan order.
fn values(rows: &[RunRow], path: &str, pick: impl Fn(&RunRow) -> bool) -> Vec<u64> {
    let pointer = format!("/{}", path.replace('.', "/"));
    rows.iter()
        .filter(|r| pick(r))
        .map(|r| {
            serde_json::to_value(r)
                .unwrap()
                .pointer(&pointer)
                .and_then(|v| v.as_u64())
                .unwrap()
        })
        .collect()
}

/// Checks one deterministic row: A, B, B - A, and the runs that differ.
fn check_row(cells: &[String], a: &[u64], b: &[u64], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}");
    let n = a.len() as i128;
    let (sa, sb) = (
        a.iter().map(|&x| x as i128).sum::<i128>(),
        b.iter().map(|&x| x as i128).sum::<i128>(),
    );
    assert_mean(&cells[0], sa, n, what);
    assert_mean(&cells[1], sb, n, what);
    assert_mean(&cells[2], sb - sa, n, what);
    let differing = a.iter().zip(b).filter(|(x, y)| x != y).count();
    assert_eq!(cells[4], format!("{differing} of {n}"), "{what}");
}

fn rows_of(dir: &Path) -> Vec<RunRow> {
    read_rows(&dir.join("runs.jsonl")).unwrap().0
}

#[test]
fn two_sweeps_compare_their_shared_cells_exactly() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = two_sweeps(tmp.path());
    let md_file = tmp.path().join("cmp.md");
    let (a_s, b_s, f) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        md_file.to_str().unwrap(),
    );
    let base = ["compare", a_s, b_s, "--metric", "all"];
    let (code, out, err) = gclab(&[&base[..], &["--markdown", f]].concat());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("2 matched runs in 1 group"), "{out}");
    let md = std::fs::read_to_string(&md_file).unwrap();
    // The same comparison, printed as markdown, is the file.
    let (code, printed, _) = gclab(&[&base[..], &["--format", "markdown"]].concat());
    assert_eq!(code, 0);
    assert_eq!(printed, md);

    let (ra, rb) = (rows_of(&a), rows_of(&b));
    let shared =
        |r: &RunRow| r.workload == "cycles" && r.strategy == "cpython-3.12" && r.replicate < 2;
    let det = table(&md, "Deterministic metrics");
    assert!(det.len() > 20, "{md}");
    for row in &det {
        assert_eq!(
            (row[0].as_str(), row[1].as_str()),
            ("cycles", "cpython-3.12")
        );
        let path = &row[2];
        check_row(
            &row[3..],
            &values(&ra, path, shared),
            &values(&rb, path, shared),
            path,
        );
    }
    // A lower threshold collects more often.
    let collections = det.iter().find(|r| r[2] == "run.collections").unwrap();
    assert!(
        number(&collections[3]) < number(&collections[4]),
        "{collections:?}"
    );

    // Two runs: an interval, and no verdict.
    let wall = table(&md, "Wall-clock metrics");
    assert!(!wall.is_empty());
    for row in &wall {
        assert_eq!(row[8], "2", "{row:?}");
        let no_verdict = [
            "too few runs for a verdict (2; need 6)",
            "zero on both sides",
            "no ratio (a zero value)",
        ];
        assert!(no_verdict.contains(&row[7].as_str()), "{row:?}");
    }
    // What was not compared.
    assert!(md.contains("Only in A, not compared: 22 runs"), "{md}");
    assert!(md.contains("cycles / cpython-3.12 (4)"), "{md}");
    assert!(md.contains("churn / refcount (6)"), "{md}");
    assert!(md.contains("Only in B, not compared: 6 runs"), "{md}");
    assert!(md.contains("binary-trees / none (2)"), "{md}");
}

#[test]
fn two_strategies_of_a_sweep_with_six_runs_get_verdicts() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, _) = two_sweeps(tmp.path());
    let (code, md, err) = gclab(&[
        "compare",
        a.to_str().unwrap(),
        "--strategies",
        "refcount",
        "cpython-3.12",
        "--format",
        "markdown",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(md.contains("12 matched runs in 2 groups (runs matched on workload and stream seed)"));
    let rows = rows_of(&a);
    for row in table(&md, "Deterministic metrics") {
        let (workload, path) = (&row[0], &row[1]);
        let of = |s: &str| {
            values(&rows, path, |r: &RunRow| {
                &r.workload == workload && r.strategy == s
            })
        };
        check_row(&row[2..], &of("refcount"), &of("cpython-3.12"), path);
    }
    let wall = table(&md, "Wall-clock metrics");
    // Wall time is never zero: six runs always give it a verdict.
    let timed = ["B faster", "B slower", "no significant difference"];
    assert!(
        wall.iter()
            .filter(|r| r[1] == "wall.wall_ns")
            .all(|r| timed.contains(&r[6].as_str())),
        "{md}"
    );
    for row in wall {
        assert_eq!(row[7], "6", "{row:?}");
        let verdicts = [
            "B faster",
            "B slower",
            "B shorter",
            "B longer",
            "no significant difference",
            "zero on both sides",
            "no ratio (a zero value)",
        ];
        assert!(verdicts.contains(&row[6].as_str()), "{row:?}");
    }
}

#[test]
fn two_strategies_of_the_committed_strategy_matrix() {
    let (code, md, err) = gclab(&[
        "compare",
        "results/strategy-matrix",
        "--strategies",
        "cpython-3.12",
        "cpython-3.13",
        "--metric",
        "all",
        "--format",
        "markdown",
    ]);
    assert_eq!(code, 0, "{err}");
    let rows = rows_of(&root().join("results/strategy-matrix"));
    let det = table(&md, "Deterministic metrics");
    assert!(det.len() >= 12 * 30, "{}", det.len());
    for row in &det {
        let path = &row[1];
        let of = |s: &str| {
            values(&rows, path, |r: &RunRow| {
                r.workload == row[0] && r.strategy == s
            })
        };
        check_row(&row[2..], &of("cpython-3.12"), &of("cpython-3.13"), path);
    }
    // 3.13 collects less often than 3.12 on `cycles` (its young-generation threshold is 2000, not 700).
    let c = det
        .iter()
        .find(|r| r[0] == "cycles" && r[1] == "run.collections")
        .unwrap();
    assert!(c[4].starts_with('-'), "{c:?}");
}

#[test]
fn a_set_against_its_own_runs_file_shows_no_difference() {
    let (code, md, err) = gclab(&[
        "compare",
        "results/incremental",
        "results/incremental/runs.jsonl",
        "--format",
        "markdown",
    ]);
    assert_eq!(code, 0, "{err}");
    for row in table(&md, "Deterministic metrics") {
        assert_eq!((row[5].as_str(), row[6].as_str()), ("0", "0%"), "{row:?}");
        assert_eq!(row[7], "0 of 3", "{row:?}");
    }
    for row in table(&md, "Wall-clock metrics") {
        if row[7] != "zero on both sides" {
            assert_eq!(
                (row[5].as_str(), row[6].as_str()),
                ("1.000", "[1.000, 1.000]"),
                "{row:?}"
            );
            assert_eq!(row[7], "too few runs for a verdict (3; need 6)", "{row:?}");
        }
    }
    assert!(!md.contains("### Notes"), "{md}");
    // With --changed, nothing is left.
    let (code, out, _) = gclab(&[
        "compare",
        "results/incremental",
        "results/incremental/runs.jsonl",
        "--changed",
    ]);
    assert_eq!(code, 0);
    assert!(
        !out.contains("Deterministic metrics") && out.contains("left out (--changed)"),
        "{out}"
    );
}

#[test]
fn partially_overlapping_committed_sets_name_what_is_on_one_side() {
    let (code, out, err) = gclab(&[
        "compare",
        "results/strategy-matrix",
        "results/incremental",
        "-w",
        "web-service",
        "-w",
        "churn",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("6 matched runs in 2 groups"), "{out}");
    // incremental's web-service has other parameters: other streams.
    assert!(
        out.contains("different stream seeds") && out.contains("web-service / cpython-3.13 (3)"),
        "{out}"
    );
}

#[test]
fn bad_input_exits_2_and_says_what_is_valid() {
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path().to_str().unwrap();
    let (inc, sm) = ("results/incremental", "results/strategy-matrix");
    // (arguments after `compare`, what stderr must say)
    let cases: &[(&[&str], &[&str])] = &[
        (&[sm], &["--strategies"]),
        (
            &["results/no-such-set", inc],
            &["no such file or directory"],
        ),
        (&[t, inc], &["is not a result set (no experiment.toml"]),
        (
            &[inc, "results/incremental/README.md"],
            &["is not a result set", "not a sweep row"],
        ),
        (
            &[sm, "--strategies", "cpython-3.12", "cpython-3.15"],
            &["'cpython-3.15'", "cpython-3.13, gc-disabled"],
        ),
        (
            &[inc, inc, "-m", "peak"],
            &["unknown metric 'peak'", "run.peak_live_bytes"],
        ),
        (&[inc, inc, "-w", "cyclez"], &["'cyclez'", "web-service"]),
        // Two sets without a common cell: what each has.
        (
            &["results/instagram", inc],
            &[
                "share no cells",
                "A has workloads default, gc.disable(),",
                "B has workloads web-service, churn",
            ],
        ),
    ];
    for (args, says) in cases {
        let mut all = vec!["compare"];
        all.extend_from_slice(args);
        let (code, out, err) = gclab(&all);
        assert_eq!(code, 2, "{args:?}: stdout {out}\nstderr {err}");
        assert!(out.is_empty(), "{args:?}: {out}");
        for s in *says {
            assert!(err.contains(s), "{args:?}: {err}");
        }
    }
}
