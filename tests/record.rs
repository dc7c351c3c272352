//! `gclab record` end to end, with every installed CPython (3.11, 3.12, 3.13; a missing one is
//! skipped, saying so): two small programs are recorded, and replaying each recording under its
//! interpreter's preset must reproduce the real run collection by collection
//! (`gclab fidelity --recording`); the program's exit status and output pass through; bad input
//! exits 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_gclab");

/// The newest pyenv build of CPython `version` (e.g. "3.12"), if installed.
fn python(version: &str) -> Option<PathBuf> {
    let home = std::env::var_os("HOME")?;
    let dir = Path::new(&home).join(".pyenv/versions");
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir(&dir)
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let patch: u32 = name.strip_prefix(&format!("{version}."))?.parse().ok()?;
            let py = e.path().join("bin/python3");
            py.is_file().then_some((patch, py))
        })
        .collect();
    found.sort();
    found.pop().map(|(_, p)| p)
}

fn gclab(args: &[&str], dir: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(dir)
        .env("PYTHONHASHSEED", "0")
        .output()
        .expect("gclab runs")
}

/// Reference cycles of instances, dicts and lists, some kept, some garbage; one explicit
/// collection; a threshold change.
const CYCLES: &str = r#"
import gc
class Node:
    def __init__(self, i):
        self.i = i
        self.peer = None
        self.data = [i, str(i)]
keep = []
for i in range(6000):
    a = Node(i); b = Node(-i); a.peer = b; b.peer = a
    d = {"k": i, "v": [i], "t": (i, str(i))}
    if i % 50 == 0:
        keep.append((a, d))
gc.collect()
gc.set_threshold(500, 5, 5)
for i in range(5000):
    x = [Node(i)]; x.append(x)
print("kept", len(keep))
"#;

/// A JSON round trip with nested containers and a class with `__del__`.
const JSON: &str = r#"
import json
class Res:
    def __init__(self): self.me = self
    def __del__(self): pass
data = [{"id": i, "tags": ["a", "b", str(i)], "pos": [i * 0.5, -i]} for i in range(4000)]
for r in range(3):
    text = json.dumps(data)
    data = json.loads(text)
    junk = [Res() for _ in range(300)]
print(len(text))
"#;

#[test]
fn recordings_replay_like_the_real_run() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let dir = tmp.path();
    std::fs::write(dir.join("cycles.py"), CYCLES).expect("write");
    std::fs::write(dir.join("json_rt.py"), JSON).expect("write");
    let mut ran = 0;
    for v in ["3.11", "3.12", "3.13"] {
        let Some(py) = python(v) else {
            eprintln!("skipped CPython {v}: not installed under ~/.pyenv/versions");
            continue;
        };
        let py = py.to_string_lossy().to_string();
        for prog in ["cycles.py", "json_rt.py"] {
            let trace = format!("{prog}-{v}.gctrace");
            let plain = Command::new(&py)
                .arg(prog)
                .current_dir(dir)
                .env("PYTHONHASHSEED", "0")
                .output()
                .expect("python runs");
            let rec = gclab(&["record", "--python", &py, "-o", &trace, "--", prog], dir);
            assert!(
                rec.status.success(),
                "record {prog} with {v}: {}",
                String::from_utf8_lossy(&rec.stderr)
            );
            assert_eq!(
                rec.stdout, plain.stdout,
                "{prog} prints the same under the recorder"
            );
            let fid = gclab(&["fidelity", "--recording", &trace], dir);
            let out = String::from_utf8_lossy(&fid.stdout);
            assert!(
                fid.status.success(),
                "fidelity of {prog} under {v}:\n{out}\n{}",
                String::from_utf8_lossy(&fid.stderr)
            );
            assert!(out.contains("all "), "{out}");
            ran += 1;
        }
    }
    if ran == 0 {
        eprintln!("skipped: no CPython 3.11-3.13 installed");
    }
}

#[test]
fn exit_status_passes_through_and_the_recording_stays_valid() {
    let Some(py) = python("3.13")
        .or_else(|| python("3.12"))
        .or_else(|| python("3.11"))
    else {
        eprintln!("skipped: no CPython 3.11-3.13 installed");
        return;
    };
    let py = py.to_string_lossy().to_string();
    let tmp = tempfile::tempdir().expect("a temp dir");
    let dir = tmp.path();
    std::fs::write(
        dir.join("exit3.py"),
        "import sys\nx = [[i] for i in range(1000)]\nsys.exit(3)\n",
    )
    .expect("write");
    std::fs::write(dir.join("raises.py"), "x = {}\nraise ValueError('boom')\n").expect("write");
    let r = gclab(
        &[
            "record",
            "--python",
            &py,
            "-o",
            "e.gctrace",
            "--",
            "exit3.py",
        ],
        dir,
    );
    assert_eq!(
        r.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let run = gclab(&["run", "-w", "trace:e.gctrace", "-s", "refcount"], dir);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let r = gclab(
        &[
            "record",
            "--python",
            &py,
            "-o",
            "r.gctrace",
            "--",
            "raises.py",
        ],
        dir,
    );
    assert_eq!(r.status.code(), Some(1));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(err.contains("ValueError: boom"), "{err}");
    let run = gclab(&["run", "-w", "trace:r.gctrace", "-s", "cpython-3.13"], dir);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

#[test]
fn bad_input_exits_2() {
    let tmp = tempfile::tempdir().expect("a temp dir");
    let dir = tmp.path();
    let r = gclab(&["record", "--", "no-such-script.py"], dir);
    assert_eq!(
        r.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let r = gclab(&["record"], dir);
    assert_eq!(r.status.code(), Some(2));
    if let Some(old) = python("3.10") {
        std::fs::write(dir.join("p.py"), "print(1)\n").expect("write");
        let r = gclab(
            &["record", "--python", &old.to_string_lossy(), "--", "p.py"],
            dir,
        );
        assert_eq!(r.status.code(), Some(2));
        let err = String::from_utf8_lossy(&r.stderr);
        assert!(err.contains("3.11"), "{err}");
    }
    let r = gclab(&["fidelity", "--recording", "missing.gctrace"], dir);
    assert_eq!(r.status.code(), Some(2));
    // Real runs: a missing file, a bad policy, a program without a recording.
    let r = gclab(&["fidelity", "--real-runs", "missing.jsonl"], dir);
    assert_eq!(r.status.code(), Some(2));
    let line = |policy: &str, program: &str| {
        format!(
            "{{\"program\":\"{program}\",\"version\":\"3.13.0\",\"policy\":\"{policy}\",\
             \"run\":0,\"wall_s\":0.5,\"peak_rss_kb\":10000,\"collections\":[[0,1,1000]]}}\n"
        )
    };
    std::fs::write(dir.join("bad.jsonl"), line("sometimes", "p")).expect("write");
    let r = gclab(&["fidelity", "--real-runs", "bad.jsonl"], dir);
    assert_eq!(r.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&r.stderr).contains("unknown policy 'sometimes'"));
    std::fs::write(dir.join("none.jsonl"), line("default", "p")).expect("write");
    let r = gclab(
        &[
            "fidelity",
            "--real-runs",
            "none.jsonl",
            "--recordings",
            "nowhere",
        ],
        dir,
    );
    assert_eq!(r.status.code(), Some(2));
    let err = String::from_utf8_lossy(&r.stderr);
    assert!(
        err.contains("no recording") && err.contains("record_corpus.sh"),
        "{err}"
    );
}
