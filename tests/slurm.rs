//! The Slurm recipe of docs/scale-out.md on a real single-node cluster (scripts/slurm_cluster.sh):
//! the job-array and merge scripts are taken from the doc's code blocks and submitted as they
//! are; the merged `runs.jsonl` equals a single-process sweep's in every deterministic column.
//! Then an array task is cancelled mid-run and rerun by index, and `--resume` completes its
//! shard with every cell exactly once.
//!
//! Skips (saying why, and passing) where there is no Slurm: not root, Slurm or munge not
//! installed (`scripts/ci/install-slurm.sh` installs them), or the daemons do not come up. With
//! `GCLAB_REQUIRE_SLURM=1` a cluster that does not come up fails the test instead.

use gclab::results::{deterministic_by_cell, read_rows};
use std::collections::BTreeMap;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_gclab");
const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/scripts/slurm_cluster.sh");
const DOC: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/scale-out.md");
/// The documented scripts' experiment, relative to the directory jobs are submitted from.
const EXP_DIR: &str = "results/strategy-matrix";
/// How long one job may take before the test gives up (the cells are tiny).
const JOB_TIMEOUT: Duration = Duration::from_secs(150);

/// A running cluster; dropping it stops every daemon it started (by their pid files), on every
/// path out of the test, panics included.
struct Cluster {
    dir: PathBuf,
    conf: PathBuf,
}

impl Cluster {
    /// Starts a cluster in `dir`: `None` (with the reason printed) when it cannot run here.
    fn start(dir: &Path) -> Option<Cluster> {
        let cluster = Cluster {
            dir: dir.to_path_buf(),
            conf: dir.join("slurm.conf"),
        };
        let (ctld, slurmd) = (free_port(), free_port());
        let out = Command::new("bash")
            .arg(SCRIPT)
            .arg("start")
            .arg(dir)
            .arg(ctld.to_string())
            .arg(slurmd.to_string())
            .output()
            .expect("run scripts/slurm_cluster.sh");
        let why = String::from_utf8_lossy(&out.stderr).into_owned();
        match out.status.code() {
            Some(0) => Some(cluster),
            Some(77) => {
                eprintln!("skipping the Slurm test: {}", why.trim());
                None
            }
            _ if std::env::var_os("GCLAB_REQUIRE_SLURM").is_some_and(|v| v == "1") => {
                panic!("the Slurm cluster did not come up ({}):\n{why}", out.status)
            }
            _ => {
                eprintln!(
                    "skipping the Slurm test: the cluster did not come up ({}):\n{why}",
                    out.status
                );
                None
            }
        }
    }

    /// Runs a Slurm client (`sbatch`, `scontrol`, ...) against this cluster from `cwd`.
    fn client(&self, cwd: &Path, prog: &str, args: &[&str]) -> Output {
        Command::new(prog)
            .args(args)
            .current_dir(cwd)
            .env("SLURM_CONF", &self.conf)
            .output()
            .unwrap_or_else(|e| panic!("run {prog}: {e}"))
    }

    /// `sbatch --parsable ARGS` from `cwd`: the job id.
    fn sbatch(&self, cwd: &Path, args: &[&str]) -> String {
        let mut all = vec!["--parsable"];
        all.extend_from_slice(args);
        let out = self.client(cwd, "sbatch", &all);
        assert!(
            out.status.success(),
            "sbatch {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let id = String::from_utf8_lossy(&out.stdout);
        let id = id.trim().split(';').next().unwrap_or_default().to_string();
        assert!(
            !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()),
            "sbatch printed no job id: {id:?}"
        );
        id
    }

    /// The states of job `id` (one per array task), as `scontrol` reports them.
    fn states(&self, id: &str) -> Vec<String> {
        let out = self.client(&self.dir, "scontrol", &["show", "job", "-o", id]);
        String::from_utf8_lossy(&out.stdout)
            .split_whitespace()
            .filter_map(|w| w.strip_prefix("JobState="))
            .map(str::to_string)
            .collect()
    }

    /// Waits until no task of job `id` is pending, running or completing; its final states.
    fn wait(&self, id: &str) -> Vec<String> {
        let deadline = Instant::now() + JOB_TIMEOUT;
        loop {
            let states = self.states(id);
            let live = |s: &String| matches!(s.as_str(), "PENDING" | "RUNNING" | "COMPLETING");
            if !states.is_empty() && !states.iter().any(live) {
                return states;
            }
            assert!(
                Instant::now() < deadline,
                "job {id} still not finished after {JOB_TIMEOUT:?}: {states:?}\n{}",
                self.logs()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The daemons' logs' tails, for failure messages.
    fn logs(&self) -> String {
        let mut s = String::new();
        for name in ["slurmctld.log", "slurmd.log"] {
            let text = std::fs::read_to_string(self.dir.join("log").join(name)).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            s += &format!(
                "---- {name}\n{}\n",
                lines[lines.len().saturating_sub(15)..].join("\n")
            );
        }
        s
    }

    /// Stops the daemons (also done on drop).
    fn stop(&self) {
        let st = Command::new("bash")
            .arg(SCRIPT)
            .arg("stop")
            .arg(&self.dir)
            .status();
        if !matches!(st, Ok(s) if s.success()) {
            eprintln!(
                "scripts/slurm_cluster.sh stop {}: {st:?}",
                self.dir.display()
            );
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A TCP port free now (the daemons bind it a moment later; another cluster on the machine, a
/// CI run beside a developer's, gets other ports).
fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().expect("local address").port()
}

/// The first ```bash block after `marker` in `doc`.
fn block_after(doc: &str, marker: &str) -> String {
    let at = doc
        .find(marker)
        .unwrap_or_else(|| panic!("docs/scale-out.md has no {marker:?}"));
    let rest = &doc[at..];
    let start = rest
        .find("```bash\n")
        .expect("a bash block after the marker")
        + 8;
    let len = rest[start..].find("\n```").expect("the block's end");
    format!("{}\n", &rest[start..start + len])
}

/// The `--array=` spec of the documented submission `sbatch --array=SPEC sweep.sbatch`.
fn documented_array(doc: &str) -> String {
    let at = doc
        .find("`sbatch --array=")
        .expect("docs/scale-out.md documents `sbatch --array=... sweep.sbatch`")
        + "`sbatch --array=".len();
    let spec = doc[at..].split_whitespace().next().unwrap_or_default();
    assert!(
        doc[at + spec.len()..].starts_with(" sweep.sbatch`"),
        "the documented submission is `sbatch --array={spec} sweep.sbatch`"
    );
    spec.to_string()
}

/// `n_workloads` cycle workloads of `count` objects, two strategies, two replicates.
fn experiment(n_workloads: usize, count: u64) -> String {
    let mut t = String::from("replicates = 2\ntimeline_every = 2000\n");
    t.push_str("[[strategy]]\nname = \"refcount\"\n[[strategy]]\nname = \"none\"\n");
    for i in 0..n_workloads {
        t.push_str(&format!(
            "[[workload]]\nname = \"cycles\"\nlabel = \"c{i}\"\nparams = {{ count = {count}, strings = {} }}\n",
            i % 4
        ));
    }
    t
}

/// A directory to submit the documented scripts from: the experiment at `EXP_DIR`, the binary
/// at `./target/release/gclab`, `logs/`, and the doc's `sweep.sbatch` and `merge.sbatch`.
fn submit_dir(root: &Path, doc: &str, toml: &str) {
    std::fs::create_dir_all(root.join(EXP_DIR)).unwrap();
    std::fs::write(root.join(EXP_DIR).join("experiment.toml"), toml).unwrap();
    std::fs::create_dir_all(root.join("target/release")).unwrap();
    std::os::unix::fs::symlink(BIN, root.join("target/release/gclab")).unwrap();
    std::fs::create_dir_all(root.join("logs")).unwrap();
    std::fs::write(
        root.join("sweep.sbatch"),
        block_after(doc, "`sweep.sbatch` (submit with"),
    )
    .unwrap();
    std::fs::write(
        root.join("merge.sbatch"),
        block_after(doc, "merge.sbatch`):"),
    )
    .unwrap();
}

fn det(path: &Path) -> BTreeMap<String, serde_json::Value> {
    let (rows, _) = read_rows(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    deterministic_by_cell(&rows)
}

/// The cells of a runs file, in file order (duplicates kept).
fn cells(path: &Path) -> Vec<String> {
    read_rows(path)
        .map(|(rows, _)| rows.into_iter().map(|r| r.cell).collect())
        .unwrap_or_default()
}

/// `gclab sweep DIR -q ARGS` in this process's machine, outside Slurm.
fn local_sweep(dir: &Path, args: &[&str]) {
    let st = Command::new(BIN)
        .arg("sweep")
        .arg(dir)
        .arg("-q")
        .args(args)
        .env_remove("SLURM_ARRAY_TASK_ID")
        .env_remove("SLURM_ARRAY_TASK_COUNT")
        .status()
        .expect("run gclab sweep");
    assert!(st.success(), "gclab sweep {args:?} failed");
}

/// Processes whose working directory is under `dir` (the jobs' processes run in there).
fn processes_under(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .bytes()
                .all(|b| b.is_ascii_digit())
        })
        .filter(|e| std::fs::read_link(e.path().join("cwd")).is_ok_and(|c| c.starts_with(dir)))
        .map(|e| {
            let cmd = std::fs::read(e.path().join("cmdline")).unwrap_or_default();
            format!(
                "{} {}",
                e.file_name().to_string_lossy(),
                String::from_utf8_lossy(&cmd)
            )
        })
        .collect()
}

/// Whether any pid recorded in `run/*.pid` under the cluster's directory is still alive.
fn daemons_alive(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir.join("run")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| {
            let pid = std::fs::read_to_string(e.path()).ok()?;
            let pid = pid.trim().to_string();
            Path::new("/proc")
                .join(&pid)
                .exists()
                .then(|| format!("{} (pid {pid})", e.file_name().to_string_lossy()))
        })
        .collect()
}

#[test]
fn documented_job_array_and_merge_on_a_real_cluster() {
    let tmp = tempfile::tempdir().unwrap();
    let doc = std::fs::read_to_string(DOC).expect("read docs/scale-out.md");
    let t0 = Instant::now();
    let Some(cluster) = Cluster::start(&tmp.path().join("cluster")) else {
        return;
    };
    eprintln!("slurm: cluster up in {:.1?}", t0.elapsed());
    array_and_merge(&cluster, tmp.path(), &doc);
    eprintln!(
        "slurm: array, merge and checks done at {:.1?}",
        t0.elapsed()
    );
    cancelled_task_resumes(&cluster, tmp.path(), &doc);
    eprintln!(
        "slurm: cancelled and rerun task checked at {:.1?}",
        t0.elapsed()
    );

    // Nothing is left running: no job process, no daemon.
    cluster.stop();
    eprintln!("slurm: cluster stopped at {:.1?}", t0.elapsed());
    let left = processes_under(tmp.path());
    assert!(left.is_empty(), "processes left running: {left:?}");
    let alive = daemons_alive(&cluster.dir);
    assert!(alive.is_empty(), "daemons left running: {alive:?}");
}

/// The documented array and its dependent merge (which also plots), on 16 tiny cells: every
/// task and the merge complete, and the merged file equals a single-process sweep's.
fn array_and_merge(cluster: &Cluster, tmp: &Path, doc: &str) {
    let run = tmp.join("run");
    submit_dir(&run, doc, &experiment(4, 200));
    let array = format!("--array={}", documented_array(doc));
    let job = cluster.sbatch(&run, &[&array, "sweep.sbatch"]);
    let dep = format!("--dependency=afterok:{job}");
    let merge = cluster.sbatch(&run, &[&dep, "merge.sbatch"]);
    let merge_states = cluster.wait(&merge);
    let states = cluster.wait(&job);
    assert!(
        states.len() > 1 && states.iter().all(|s| s == "COMPLETED"),
        "array tasks: {states:?}\n{}",
        cluster.logs()
    );
    let logs = std::fs::read_dir(run.join("logs")).map_or(0, |d| d.count());
    assert_eq!(logs, states.len(), "one log file per array task");
    let merge_out = std::fs::read_to_string(run.join(format!("slurm-{merge}.out")));
    assert_eq!(
        merge_states,
        ["COMPLETED"],
        "the merge job: {}",
        merge_out.unwrap_or_default()
    );
    let single = tmp.join("single").join(EXP_DIR);
    std::fs::create_dir_all(&single).unwrap();
    std::fs::copy(
        run.join(EXP_DIR).join("experiment.toml"),
        single.join("experiment.toml"),
    )
    .unwrap();
    local_sweep(&single, &["-j", "2"]);
    let merged = det(&run.join(EXP_DIR).join("runs.jsonl"));
    assert_eq!(merged.len(), 16, "every cell of the experiment");
    assert_eq!(merged, det(&single.join("runs.jsonl")));
    let figure = run.join(EXP_DIR).join("figures/timeline.svg");
    assert!(
        figure.is_file(),
        "the merge job plotted no {}",
        figure.display()
    );
}

/// The array task the test cancels and reruns, and its shard's cells: 48 workloads x 2
/// strategies x 2 replicates = 192 cells, 12 in each of the 16 shards.
const TASK: &str = "5";
const TASK_CELLS: usize = 12;

/// Task `TASK` alone (`--array=5`), cancelled with `scancel` once it has written rows, then
/// rerun by index: `--resume` completes its shard with every cell exactly once, equal to the
/// same shard run outside Slurm. Where the task ends before it can be cancelled (a fast
/// machine), it is tried again with cells three times bigger.
fn cancelled_task_resumes(cluster: &Cluster, tmp: &Path, doc: &str) {
    let array = format!("--array={TASK}");
    let mut count = 40_000;
    let (rerun, before) = loop {
        let rerun = tmp.join(format!("rerun-{count}"));
        submit_dir(&rerun, doc, &experiment(48, count));
        let before = cancel_when_started(cluster, &rerun, &array);
        if before.len() < TASK_CELLS || count > 1_000_000 {
            break (rerun, before);
        }
        eprintln!("slurm: task {TASK} ended before it was cancelled; bigger cells");
        count *= 3;
    };
    eprintln!(
        "slurm: task cancelled with {} of {TASK_CELLS} cells done",
        before.len()
    );
    assert!(
        !before.is_empty() && before.len() < TASK_CELLS,
        "the task was to be cancelled mid-run; it had {} of {TASK_CELLS} cells",
        before.len(),
    );
    let second = cluster.sbatch(&rerun, &[&array, "sweep.sbatch"]);
    assert_eq!(cluster.wait(&second), ["COMPLETED"], "the rerun task");
    let shard = rerun
        .join(EXP_DIR)
        .join(format!("shards/shard-{TASK}-of-16.jsonl"));
    let mut after = cells(&shard);
    let lost: Vec<_> = before.iter().filter(|c| !after.contains(c)).collect();
    assert!(lost.is_empty(), "--resume lost the rows of {lost:?}");
    after.sort();
    let n = after.len();
    after.dedup();
    assert_eq!(n, after.len(), "a cell appears twice in the resumed shard");
    assert_eq!(n, TASK_CELLS, "every cell of the shard");
    assert!(
        !rerun
            .join(EXP_DIR)
            .join("shards/shard-0-of-1.jsonl")
            .exists(),
        "a rerun by index ran the whole experiment as one shard"
    );
    let expected = tmp.join("expected-shard.jsonl");
    let shard_arg = format!("{TASK}/16");
    let out_arg = expected.to_string_lossy().into_owned();
    local_sweep(
        &rerun.join(EXP_DIR),
        &["-j", "2", "--shard", &shard_arg, "--out", &out_arg],
    );
    assert_eq!(
        det(&shard),
        det(&expected),
        "the resumed shard, cell by cell"
    );
}

/// Submits `sbatch ARRAY sweep.sbatch` from `dir`, cancels the task as soon as its shard has a
/// row, waits until it is cancelled (or ended): the cells its shard then has.
fn cancel_when_started(cluster: &Cluster, dir: &Path, array: &str) -> Vec<String> {
    let shard = dir
        .join(EXP_DIR)
        .join(format!("shards/shard-{TASK}-of-16.jsonl"));
    let job = cluster.sbatch(dir, &[array, "sweep.sbatch"]);
    let deadline = Instant::now() + JOB_TIMEOUT;
    while cells(&shard).is_empty() {
        assert!(
            Instant::now() < deadline,
            "no row from task {job}_{TASK} after {JOB_TIMEOUT:?}: {:?}",
            cluster.states(&job)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = cluster.client(dir, "scancel", &[&format!("{job}_{TASK}")]);
    assert!(out.status.success(), "scancel: {out:?}");
    let states = cluster.wait(&job);
    let before = cells(&shard);
    if before.len() < TASK_CELLS {
        assert_eq!(states, ["CANCELLED"], "the cancelled task");
    }
    before
}
