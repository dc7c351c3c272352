//! Sweeps as real processes: a sweep killed with SIGKILL and resumed has every cell exactly
//! once; shards run as separate processes and merged equal a single-process sweep.

use gclab::results::{deterministic_by_cell, read_rows};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gclab");

fn write_experiment(dir: &Path, cells_per_workload: usize, count: u64) {
    let mut t = String::from("replicates = 2\ntimeline_every = 2000\n");
    t.push_str("[[strategy]]\nname = \"refcount\"\n[[strategy]]\nname = \"none\"\n");
    for i in 0..cells_per_workload {
        t.push_str(&format!(
            "[[workload]]\nname = \"cycles\"\nlabel = \"c{i}\"\nparams = {{ count = {}, strings = {} }}\n",
            count,
            i % 4
        ));
    }
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("experiment.toml"), t).unwrap();
}

fn sweep(dir: &Path, extra: &[&str]) {
    let st = Command::new(BIN)
        .arg("sweep")
        .arg(dir)
        .args(["-q"])
        .args(extra)
        .status()
        .unwrap();
    assert!(st.success(), "gclab sweep {extra:?} failed");
}

fn det(path: &Path) -> BTreeMap<String, serde_json::Value> {
    let (rows, _) = read_rows(path).unwrap();
    deterministic_by_cell(&rows)
}

#[test]
fn killed_sweep_resumes_with_every_cell_exactly_once() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("killme");
    write_experiment(&dir, 10, 4000);
    let runs = dir.join("runs.jsonl");
    let mut child = Command::new(BIN)
        .args(["sweep", "-q", "-j", "1"])
        .arg(&dir)
        .spawn()
        .unwrap();
    // Wait for the first rows, then kill it with SIGKILL mid-sweep.
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let n = std::fs::read_to_string(&runs)
            .map(|s| s.lines().count())
            .unwrap_or(0);
        if n >= 2 || Instant::now() > deadline {
            break;
        }
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL on Unix
    child.wait().unwrap();
    let (before, _) = read_rows(&runs).unwrap();
    assert!(
        before.len() < 40,
        "the sweep finished before it could be killed; make the cells bigger"
    );
    // A write cut by the kill: a partial last line.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&runs)
        .unwrap();
    std::io::Write::write_all(&mut f, b"{\"schema\":\"gclab.sweep-row/1\",\"exp").unwrap();
    drop(f);
    sweep(&dir, &["--resume", "-j", "2"]);
    let (after, _) = read_rows(&runs).unwrap();
    let mut keys: Vec<&str> = after.iter().map(|r| r.cell.as_str()).collect();
    keys.sort();
    let n = keys.len();
    keys.dedup();
    assert_eq!(n, keys.len(), "a cell appears twice");
    assert_eq!(n, 40, "every cell exactly once");
    // The resumed results equal a clean sweep's.
    let clean = tmp.path().join("clean");
    std::fs::create_dir_all(&clean).unwrap();
    std::fs::copy(dir.join("experiment.toml"), clean.join("experiment.toml")).unwrap();
    sweep(&clean, &["-j", "2"]);
    let a = det(&runs);
    let b = det(&clean.join("runs.jsonl"));
    // The experiment name differs (directory name); compare everything else.
    let strip = |m: BTreeMap<String, serde_json::Value>| {
        m.into_iter()
            .map(|(k, mut v)| {
                v.as_object_mut().unwrap().remove("experiment");
                (k, v)
            })
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(strip(a), strip(b));
}

#[test]
fn shards_merged_equal_a_single_process_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("sharded");
    write_experiment(&dir, 3, 300);
    sweep(&dir, &["-j", "2"]);
    let single = det(&dir.join("runs.jsonl"));
    std::fs::remove_file(dir.join("runs.jsonl")).unwrap();
    // Three shards as separate processes, one of them through Slurm's variables.
    let children: Vec<_> = (0..3)
        .map(|i| {
            let mut c = Command::new(BIN);
            c.args(["sweep", "-q", "-j", "1"]).arg(&dir);
            if i == 2 {
                c.env("SLURM_ARRAY_TASK_ID", "2")
                    .env("SLURM_ARRAY_TASK_COUNT", "3");
            } else {
                c.arg("--shard").arg(format!("{i}/3"));
            }
            c.spawn().unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let shard = |i: usize| dir.join(format!("shards/shard-{i}-of-3.jsonl"));
    // Missing and duplicate shards are refused (exit code 2, with a message).
    let out = Command::new(BIN)
        .arg("merge")
        .arg(&dir)
        .arg(shard(0))
        .arg(shard(1))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing"));
    let out = Command::new(BIN)
        .arg("merge")
        .arg(&dir)
        .args([shard(0), shard(1), shard(2), shard(1)])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("appears in both"));
    let st = Command::new(BIN)
        .arg("merge")
        .arg(&dir)
        .args([shard(0), shard(1), shard(2)])
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(det(&dir.join("runs.jsonl")), single);
    // The shards' sidecars (under shards/runs/) are copied beside the merged file.
    let (rows, _) = read_rows(&dir.join("runs.jsonl")).unwrap();
    let sidecars: Vec<_> = rows.iter().filter_map(|r| r.sidecar.clone()).collect();
    assert!(
        !sidecars.is_empty(),
        "the cells have timelines, in sidecars"
    );
    for sc in sidecars {
        assert!(sc.starts_with("runs/"), "{sc}");
        assert!(
            dir.join(&sc).is_file(),
            "{sc} is not beside the merged file"
        );
    }
}

/// The GNU parallel recipe of docs/scale-out.md, when `parallel` is installed (skipped, with a
/// note, otherwise).
#[test]
fn gnu_parallel_recipe_drives_the_shards() {
    let have = Command::new("parallel")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !have {
        eprintln!("GNU parallel is not installed; skipping the parallel recipe test");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("par");
    write_experiment(&dir, 2, 300);
    sweep(&dir, &["-j", "2"]);
    let single = det(&dir.join("runs.jsonl"));
    std::fs::remove_file(dir.join("runs.jsonl")).unwrap();
    let st = Command::new("parallel")
        .args(["--will-cite", "--jobs", "2"])
        .arg(format!(
            "{BIN} sweep -q -j 1 --resume --shard {{}}/3 {}",
            dir.display()
        ))
        .args([":::", "0", "1", "2"])
        .status()
        .unwrap();
    assert!(st.success());
    let shards: Vec<_> = (0..3)
        .map(|i| dir.join(format!("shards/shard-{i}-of-3.jsonl")))
        .collect();
    let st = Command::new(BIN)
        .arg("merge")
        .arg(&dir)
        .args(&shards)
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(det(&dir.join("runs.jsonl")), single);
}
