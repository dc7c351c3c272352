//! The recorder against real interpreters: CPython 3.11, 3.12 and 3.13 (each test skips, saying
//! why, when its interpreter is missing), read back with the small raw-log reader below.
//!
//! Interpreters are looked up as `$GCLAB_TEST_PYTHON3<minor>`, then under `$PYENV_ROOT` (or
//! `~/.pyenv`) `versions/3.<minor>.*/bin/python3`, then `python3.<minor>` on `PATH`. The recorder
//! is built once per interpreter into a cache under cargo's target temporary directory.
//!
//! Checked, for each version:
//! * a program with cycles and automatic and explicit collections: header, END and its count,
//!   TYPE before use, the shape of object records (EDGE... then SIZE), GC_START/GC_STOP pairs,
//!   the collections and their `collected` counts equal to what the program's own gc callback
//!   and `gc.get_stats()` saw, MARK start/collect/end, CREATE and DESTROY present (collector
//!   deaths among them);
//! * sizes in SIZE and DESTROY records equal `__sizeof__` for ints, strs, bytes, floats, tuples,
//!   lists, dicts, sets and instances;
//! * `sys.exit(3)` exits 3 and the log still ends with END; an uncaught exception exits 1 and
//!   prints the same traceback as without the recorder, a syntax error the same report;
//!   `KeyboardInterrupt` ends by SIGINT;
//! * what the program sees (argv, sys.path\[0\], `__file__`, environment, the gc functions'
//!   results and errors) and prints is byte-identical with and without the recorder, for a
//!   script and for `-m`;
//! * containers nested 100000 deep are freed (CPython's trashcan still bounds the recursion with
//!   the dealloc trampolines in place), one DESTROY per CREATE;
//! * threads and a forked child do not break the log; a program that closes the log's
//!   descriptor and reuses its number never receives records.
//!
//! And: `--python` at 3.10 is a usage error mentioning 3.11; a missing script is a usage error;
//! two concurrent first builds both succeed.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use gclab_record::build;
use gclab_record::launch::{self, ExitStatusInfo, Program, RecordOptions};
use gclab_record::python::{self, Interpreter, Mechanism};
use gclab_record::RecordError;

// ----- the raw log -----

const CREATE: u8 = 0;
const DESTROY: u8 = 1;
const GC_START: u8 = 2;
const GC_STOP: u8 = 3;
const SNAP_OBJ: u8 = 4;
const EDGE: u8 = 5;
const MARK: u8 = 6;
const GCSTATE: u8 = 7;
const COUNTS: u8 = 8;
const THRESH: u8 = 9;
const UNTRACKED: u8 = 10;
const TIME: u8 = 11;
const TYPE: u8 = 12;
const INIT_OBJ: u8 = 13;
const END: u8 = 14;
const SIZE: u8 = 15;

const F_IN_GC: u8 = 4;

const MARK_COLLECT: u8 = 1;
const MARK_DISABLE: u8 = 5;
const MARK_ENABLE: u8 = 4;
const MARK_START: u8 = 7;
const MARK_END: u8 = 8;

const ADDR: u64 = (1 << 48) - 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rec {
    a: u64,
    b: u32,
    c: u16,
    kind: u8,
    flags: u8,
}

impl Rec {
    fn tid(&self) -> u16 {
        (self.a >> 48) as u16
    }
    fn addr(&self) -> u64 {
        self.a & ADDR
    }
}

/// A raw log: header fields, records (TYPE name chunks skipped) and the declared types.
struct Raw {
    format: u32,
    version: u32,
    recs: Vec<Rec>,
    /// tid -> name, with the index of its TYPE record.
    types: HashMap<u16, (String, usize)>,
}

fn read_raw(path: &Path) -> Raw {
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert!(data.len() >= 16, "no header: {} bytes", data.len());
    assert_eq!(&data[..8], b"GCLABRAW", "magic");
    let u32_at = |o: usize| u32::from_le_bytes(data[o..o + 4].try_into().unwrap());
    let (format, version) = (u32_at(8), u32_at(12));
    assert_eq!(data.len() % 16, 0, "the file is whole 16-byte units");
    let mut recs = Vec::new();
    let mut types = HashMap::new();
    let mut off = 16;
    while off < data.len() {
        let u = &data[off..off + 16];
        let r = Rec {
            a: u64::from_le_bytes(u[0..8].try_into().unwrap()),
            b: u32::from_le_bytes(u[8..12].try_into().unwrap()),
            c: u16::from_le_bytes(u[12..14].try_into().unwrap()),
            kind: u[14],
            flags: u[15],
        };
        off += 16;
        if r.kind == TYPE {
            let len = r.b as usize;
            let chunks = len.div_ceil(16) * 16;
            assert!(off + chunks <= data.len(), "TYPE name runs past the end");
            let name = String::from_utf8_lossy(&data[off..off + len]).into_owned();
            assert!(
                data[off + len..off + chunks].iter().all(|&b| b == 0),
                "zero padding"
            );
            off += chunks;
            let tid = r.a as u16;
            assert!(
                types.insert(tid, (name, recs.len())).is_none(),
                "tid {tid} declared twice"
            );
        }
        recs.push(r);
    }
    Raw {
        format,
        version,
        recs,
        types,
    }
}

impl Raw {
    fn count(&self, kind: u8) -> usize {
        self.recs.iter().filter(|r| r.kind == kind).count()
    }
    fn marks(&self, kind: u8) -> Vec<(usize, u64)> {
        self.recs
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind == MARK && r.flags == kind)
            .map(|(i, r)| (i, r.a))
            .collect()
    }
    fn type_name(&self, r: &Rec) -> &str {
        &self.types[&r.tid()].0
    }
}

/// What every complete log satisfies, whatever the program.
fn check_structure(raw: &Raw, interp: &Interpreter) {
    assert_eq!(raw.format, 1);
    assert_eq!(raw.version, interp.hexversion, "header version");
    let last = raw.recs.last().expect("records");
    assert_eq!(last.kind, END, "the log ends with END");
    assert_eq!(
        last.a,
        (raw.recs.len() - 1) as u64,
        "END counts the records before it"
    );
    assert_eq!(raw.count(END), 1);
    // TYPE before use
    for (i, r) in raw.recs.iter().enumerate() {
        if matches!(r.kind, CREATE | DESTROY | SNAP_OBJ | INIT_OBJ) {
            let (_, at) = raw
                .types
                .get(&r.tid())
                .unwrap_or_else(|| panic!("record {i} uses undeclared tid {}", r.tid()));
            assert!(*at < i, "record {i} uses tid {} before its TYPE", r.tid());
        }
    }
    // object records: EDGE* then exactly one SIZE; EDGE and SIZE nowhere else
    let mut i = 0;
    while i < raw.recs.len() {
        let r = raw.recs[i];
        if matches!(r.kind, SNAP_OBJ | INIT_OBJ) {
            assert!(r.flags <= 3, "generation flag {}", r.flags);
            i += 1;
            while raw.recs[i].kind == EDGE {
                i += 1;
            }
            assert_eq!(raw.recs[i].kind, SIZE, "record {i}: SIZE closes an object");
        } else {
            assert!(
                !matches!(r.kind, EDGE | SIZE),
                "record {i}: stray {}",
                r.kind
            );
        }
        i += 1;
    }
    // MARK start before everything the tracer writes, MARK end just before the final state
    let start = raw.marks(MARK_START);
    let end = raw.marks(MARK_END);
    assert_eq!(start.len(), 1, "one MARK start");
    assert_eq!(end.len(), 1, "one MARK end");
    assert!(start[0].0 < end[0].0);
    assert!(raw.recs[..start[0].0].iter().all(|r| matches!(
        r.kind,
        GCSTATE | COUNTS | THRESH | TYPE | INIT_OBJ | EDGE | SIZE
    )));
    let tail: Vec<u8> = raw.recs[end[0].0..].iter().map(|r| r.kind).collect();
    assert_eq!(tail, vec![MARK, GCSTATE, COUNTS, THRESH, END]);
    // collections: START, TIME, GCSTATE, COUNTS, THRESH, snapshots, UNTRACKED..., TIME, STOP
    let mut open: Option<u64> = None;
    let mut last_time = 0;
    for (i, r) in raw.recs.iter().enumerate() {
        match r.kind {
            GC_START => {
                assert!(open.is_none(), "record {i}: nested GC_START");
                assert!(r.a <= 2, "generation {}", r.a);
                let next: Vec<u8> = raw.recs[i + 1..i + 5].iter().map(|r| r.kind).collect();
                assert_eq!(next, vec![TIME, GCSTATE, COUNTS, THRESH]);
                open = Some(r.a);
            }
            GC_STOP => {
                assert_eq!(
                    open,
                    Some(u64::from(r.flags)),
                    "record {i}: GC_STOP generation"
                );
                assert_eq!(raw.recs[i - 1].kind, TIME);
                open = None;
            }
            SNAP_OBJ => {
                let g = open.unwrap_or_else(|| panic!("record {i}: SNAP_OBJ outside a collection"));
                assert!(
                    u64::from(r.flags) <= g,
                    "snapshot of generation {} in a gen {g}",
                    r.flags
                );
            }
            UNTRACKED => assert!(open.is_some(), "record {i}: UNTRACKED outside a collection"),
            TIME => {
                assert!(r.a >= last_time, "TIME goes forward");
                last_time = r.a;
            }
            _ => {}
        }
    }
    assert!(open.is_none(), "a collection never stopped");
}

// ----- interpreters -----

/// The interpreter for 3.`minor`, if this machine has one.
fn find_python(minor: u32) -> Option<PathBuf> {
    if let Some(p) = std::env::var_os(format!("GCLAB_TEST_PYTHON3{minor}")) {
        return Some(PathBuf::from(p));
    }
    let root = std::env::var_os("PYENV_ROOT")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".pyenv")));
    if let Some(root) = root {
        if let Ok(entries) = std::fs::read_dir(root.join("versions")) {
            let prefix = format!("3.{minor}.");
            let mut found: Vec<PathBuf> = entries
                .flatten()
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with(&prefix) && n[prefix.len()..].chars().all(|c| c.is_ascii_digit())
                })
                .map(|e| e.path().join("bin").join("python3"))
                .filter(|p| p.is_file())
                .collect();
            found.sort();
            if let Some(p) = found.pop() {
                return Some(p);
            }
        }
    }
    let name = format!("python3.{minor}");
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(&name))
        .find(|p| p.is_file())
}

/// The probed interpreter for 3.`minor`, or `None` after printing why the test skips.
fn interpreter(minor: u32, test: &str) -> Option<Interpreter> {
    let Some(path) = find_python(minor) else {
        println!("SKIP {test}: no CPython 3.{minor} found (set GCLAB_TEST_PYTHON3{minor})");
        return None;
    };
    match python::probe(Some(&path)) {
        Ok(i) if i.version.1 == minor => Some(i),
        Ok(i) => {
            println!("SKIP {test}: {} is {}", path.display(), i.version_string());
            None
        }
        Err(e) => {
            println!("SKIP {test}: {e}");
            None
        }
    }
}

fn cache_root() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR")).join("recorder-cache")
}

fn program(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("programs")
        .join(name)
}

fn script(name: &str, args: &[&str]) -> Program {
    Program::Script {
        path: program(name),
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}

fn options(interp: &Interpreter, program: Program, raw: &Path) -> RecordOptions {
    RecordOptions {
        python: Some(interp.path.clone()),
        program,
        raw_out: raw.to_path_buf(),
        env: vec![],
    }
}

/// Records with captured output (the recorder's own `record` inherits stdio).
fn record_captured(opts: &RecordOptions, cwd: Option<&Path>) -> Output {
    let mut prepared = launch::prepare(opts, &cache_root()).expect("prepare");
    if let Some(d) = cwd {
        prepared.command.current_dir(d);
    }
    prepared.command.output().expect("run the recorded program")
}

/// The same program without the recorder.
fn plain(interp: &Interpreter, args: &[&std::ffi::OsStr], cwd: Option<&Path>) -> Output {
    let mut c = Command::new(&interp.path);
    c.args(args);
    if let Some(d) = cwd {
        c.current_dir(d);
    }
    c.output().expect("run python")
}

fn status(o: &Output) -> ExitStatusInfo {
    use std::os::unix::process::ExitStatusExt;
    match o.status.code() {
        Some(c) => ExitStatusInfo::Code(c),
        None => ExitStatusInfo::Signal(o.status.signal().unwrap_or(-1)),
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

// ----- the tests, once per version -----

fn cycles(minor: u32) {
    let Some(interp) = interpreter(minor, "cycles") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let raw_path = dir.path().join("cycles.raw");
    let seen_path = dir.path().join("seen.json");
    let opts = options(
        &interp,
        script("cycles.py", &[seen_path.to_str().unwrap()]),
        &raw_path,
    );
    let outcome = launch::record_in(&opts, &cache_root()).expect("record");
    assert_eq!(outcome.status, ExitStatusInfo::Code(0));
    assert_eq!(outcome.interpreter.version.1, minor);
    assert!(outcome.wall_ns > 0);
    let expected_mechanism = if minor >= 13 {
        Mechanism::RefTracer
    } else {
        Mechanism::Interposition
    };
    assert_eq!(outcome.interpreter.mechanism, expected_mechanism);

    let raw = read_raw(&raw_path);
    check_structure(&raw, &interp);

    let seen: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&seen_path).unwrap()).unwrap();
    // the program's window: from its first gc.disable() MARK to its last
    let disables = raw.marks(MARK_DISABLE);
    assert_eq!(disables.len(), 2, "the program disables twice");
    let (from, to) = (disables[0].0, disables[1].0);
    let stops: Vec<(u64, u64, u64)> = raw.recs[from..to]
        .iter()
        .filter(|r| r.kind == GC_STOP)
        .map(|r| (u64::from(r.flags), r.a, u64::from(r.b)))
        .collect();
    let starts = raw.recs[from..to]
        .iter()
        .filter(|r| r.kind == GC_START)
        .count();
    let cb = seen["callbacks"].as_array().unwrap();
    let cb_starts = cb.iter().filter(|c| c[0] == "start").count();
    let cb_stops: Vec<(u64, u64, u64)> = cb
        .iter()
        .filter(|c| c[0] == "stop")
        .map(|c| {
            (
                c[1].as_u64().unwrap(),
                c[2].as_u64().unwrap(),
                c[3].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(
        starts >= 2,
        "automatic collections and gc.collect(): {starts}"
    );
    assert_eq!(starts, cb_starts, "collections the program saw");
    assert_eq!(
        stops, cb_stops,
        "(generation, collected, uncollectable) per collection"
    );
    let stats: u64 = (0..3)
        .map(|g| seen["after"][g].as_u64().unwrap() - seen["before"][g].as_u64().unwrap())
        .sum();
    assert_eq!(stats as usize, starts, "gc.get_stats() collections");
    // the explicit gc.collect(): a MARK with generation 2, then a full collection
    let collects = raw.marks(MARK_COLLECT);
    assert_eq!(collects.len(), 1);
    assert_eq!(collects[0].1, 2);
    let next_start = raw.recs[collects[0].0..]
        .iter()
        .find(|r| r.kind == GC_START)
        .expect("gc.collect() collects");
    assert_eq!(next_start.a, 2);
    let last_stop = cb_stops.last().unwrap();
    assert_eq!(last_stop.1, seen["collected"].as_u64().unwrap());

    assert!(raw.count(CREATE) > 20_000, "CREATE {}", raw.count(CREATE));
    assert!(
        raw.count(DESTROY) > 20_000,
        "DESTROY {}",
        raw.count(DESTROY)
    );
    let collector_deaths = raw
        .recs
        .iter()
        .filter(|r| r.kind == DESTROY && r.flags & F_IN_GC != 0)
        .count();
    assert!(
        collector_deaths >= 4 * 6000 - 6000 / 50 * 4,
        "the collector freed the cycles: {collector_deaths}"
    );
    let node_creates = raw
        .recs
        .iter()
        .filter(|r| r.kind == CREATE && raw.type_name(r) == "Node")
        .count();
    assert_eq!(node_creates, 12_000, "Node instances created");
    assert!(raw.count(INIT_OBJ) > 1000, "the heap at start");
    assert!(raw.count(SNAP_OBJ) > 0 && raw.count(EDGE) > 0);
}

fn sizes(minor: u32) {
    let Some(interp) = interpreter(minor, "sizes") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let raw_path = dir.path().join("sizes.raw");
    let info_path = dir.path().join("sizes.json");
    let opts = options(
        &interp,
        script("sizes.py", &[info_path.to_str().unwrap()]),
        &raw_path,
    );
    let outcome = launch::record_in(&opts, &cache_root()).expect("record");
    assert_eq!(outcome.status, ExitStatusInfo::Code(0));
    let raw = read_raw(&raw_path);
    check_structure(&raw, &interp);
    let info: Vec<(u64, u64, String, bool)> =
        serde_json::from_str(&std::fs::read_to_string(&info_path).unwrap()).unwrap();

    // the last snapshot of each tracked object: SNAP_OBJ ... SIZE
    let mut snap_size = HashMap::new();
    for (i, r) in raw.recs.iter().enumerate() {
        if r.kind == SNAP_OBJ {
            let size = raw.recs[i..].iter().find(|r| r.kind == SIZE).unwrap().a;
            snap_size.insert(r.addr(), (size, raw.type_name(r).to_string()));
        }
    }
    // deaths between the program's gc.disable() and gc.enable()
    let (from, to) = (raw.marks(MARK_DISABLE)[0].0, raw.marks(MARK_ENABLE)[0].0);
    let mut death_size = HashMap::new();
    for r in &raw.recs[from..to] {
        if r.kind == DESTROY {
            death_size
                .entry(r.addr())
                .or_insert((u64::from(r.b), r.flags));
        }
    }
    let mut wrong = Vec::new();
    for (addr, sizeof, ty, tracked) in &info {
        match death_size.get(addr) {
            Some((size, _)) if size == sizeof => {}
            other => wrong.push(format!("{ty}: __sizeof__ {sizeof}, at death {other:?}")),
        }
        if *tracked {
            match snap_size.get(addr) {
                Some((size, name)) if size == sizeof && name == ty => {}
                other => wrong.push(format!("{ty}: __sizeof__ {sizeof}, snapshot {other:?}")),
            }
        }
    }
    assert!(wrong.is_empty(), "3.{minor} sizes:\n{}", wrong.join("\n"));
}

fn exits(minor: u32) {
    let Some(interp) = interpreter(minor, "exits") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    // sys.exit(3)
    let raw_path = dir.path().join("exit.raw");
    let opts = options(&interp, script("exit3.py", &["talk"]), &raw_path);
    let out = record_captured(&opts, None);
    assert_eq!(
        status(&out),
        ExitStatusInfo::Code(3),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "leaving with 3\n");
    assert_eq!(text(&out.stderr), "");
    check_structure(&read_raw(&raw_path), &interp);
    // the same through record_in (inherited stdio; silent)
    let opts = options(&interp, script("exit3.py", &[]), &raw_path);
    let outcome = launch::record_in(&opts, &cache_root()).unwrap();
    assert_eq!(outcome.status, ExitStatusInfo::Code(3));

    // an uncaught exception: exit 1, the traceback Python prints
    let raw_path = dir.path().join("raises.raw");
    let opts = options(&interp, script("raises.py", &[]), &raw_path);
    let out = record_captured(&opts, None);
    let reference = plain(&interp, &[program("raises.py").as_os_str()], None);
    assert_eq!(status(&out), ExitStatusInfo::Code(1));
    assert_eq!(status(&reference), ExitStatusInfo::Code(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("Traceback (most recent call last):"),
        "{stderr}"
    );
    assert!(
        stderr.contains("ValueError: the program failed"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("_gclab_boot"),
        "boot frames hidden: {stderr}"
    );
    assert_eq!(stderr, text(&reference.stderr), "the same traceback");
    assert_eq!(out.stdout, reference.stdout);
    check_structure(&read_raw(&raw_path), &interp);

    // a syntax error: exit 1 and Python's report, no traceback frames
    let bad = dir.path().join("syntax_error.py");
    std::fs::write(&bad, "print('never')\ndef f(:\n    pass\n").unwrap();
    let raw_path = dir.path().join("syntax.raw");
    let opts = options(
        &interp,
        Program::Script {
            path: bad.clone(),
            args: vec![],
        },
        &raw_path,
    );
    let out = record_captured(&opts, None);
    let reference = plain(&interp, &[bad.as_os_str()], None);
    assert_eq!(status(&out), ExitStatusInfo::Code(1));
    assert!(
        text(&out.stderr).contains("SyntaxError"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stderr), text(&reference.stderr));
    assert_eq!(text(&out.stdout), "");
    check_structure(&read_raw(&raw_path), &interp);

    // KeyboardInterrupt: the traceback, then death by SIGINT, as without the recorder
    let raw_path = dir.path().join("interrupt.raw");
    let opts = options(&interp, script("interrupt.py", &[]), &raw_path);
    let out = record_captured(&opts, None);
    let reference = plain(&interp, &[program("interrupt.py").as_os_str()], None);
    assert_eq!(status(&reference), ExitStatusInfo::Signal(2));
    assert_eq!(status(&out), ExitStatusInfo::Signal(2));
    assert_eq!(text(&out.stderr), text(&reference.stderr));
    check_structure(&read_raw(&raw_path), &interp);
}

fn identical_output(minor: u32) {
    let Some(interp) = interpreter(minor, "identical_output") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let raw_path = dir.path().join("behaviour.raw");
    // a script by a relative path (cargo runs tests in the package root), with arguments and an
    // extra environment variable
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rel = Path::new("tests").join("programs").join("behaviour.py");
    let mut opts = options(
        &interp,
        Program::Script {
            path: rel.clone(),
            args: vec!["one".into(), "two words".into()],
        },
        &raw_path,
    );
    let extra = root.join("tests").join("no-such-dir");
    opts.env = vec![
        ("GCLAB_PROBE_VAR".into(), "set".into()),
        ("PYTHONPATH".into(), extra.to_string_lossy().into_owned()),
    ];
    let out = record_captured(&opts, Some(root));
    let mut p = Command::new(&interp.path);
    p.arg(&rel)
        .args(["one", "two words"])
        .current_dir(root)
        .env("GCLAB_PROBE_VAR", "set")
        .env("PYTHONPATH", &extra);
    let reference = p.output().unwrap();
    assert_eq!(
        status(&reference),
        ExitStatusInfo::Code(0),
        "{}",
        text(&reference.stderr)
    );
    assert_eq!(
        status(&out),
        ExitStatusInfo::Code(0),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), text(&reference.stdout), "stdout");
    assert_eq!(text(&out.stderr), text(&reference.stderr), "stderr");
    let raw = read_raw(&raw_path);
    check_structure(&raw, &interp);
    // the wrappers marked the valid calls only
    let marks: Vec<(u8, u64)> = raw
        .recs
        .iter()
        .filter(|r| r.kind == MARK && !matches!(r.flags, MARK_START | MARK_END))
        .map(|r| (r.flags, r.a))
        .collect();
    let t = |a: u64, b: u64, c: u64| a | (b << 21) | (c << 42);
    let (t1, t2) = (10, 10); // the defaults the program's gc.set_threshold(500) keeps
    let expected_prefix = [
        (MARK_COLLECT, 0),
        (MARK_COLLECT, 1),
        (MARK_COLLECT, 2),
        (6, t(500, t1, t2)),
        (6, t(600, 11, 12)),
    ];
    assert_eq!(&marks[..5], &expected_prefix[..], "marks {marks:?}");
    assert_eq!(
        marks[6..].iter().map(|m| m.0).collect::<Vec<_>>(),
        vec![MARK_DISABLE, MARK_ENABLE, 2, 3],
        "marks {marks:?}"
    );

    // python -m pkg.main_mod, from the programs directory, success and failure
    let cwd = program("");
    for args in [vec!["ok"], vec!["fail"]] {
        let opts = options(
            &interp,
            Program::Module {
                name: "pkg.main_mod".into(),
                args: args.iter().map(|s| s.to_string()).collect(),
            },
            &raw_path,
        );
        let out = record_captured(&opts, Some(&cwd));
        let mut argv: Vec<&std::ffi::OsStr> = vec!["-m".as_ref(), "pkg.main_mod".as_ref()];
        argv.extend(args.iter().map(|s| std::ffi::OsStr::new(*s)));
        let reference = plain(&interp, &argv, Some(&cwd));
        assert_eq!(status(&out), status(&reference), "{}", text(&out.stderr));
        assert_eq!(text(&out.stdout), text(&reference.stdout));
        assert_eq!(text(&out.stderr), text(&reference.stderr));
        check_structure(&read_raw(&raw_path), &interp);
    }
}

fn threads_and_fork(minor: u32) {
    let Some(interp) = interpreter(minor, "threads_and_fork") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let raw_path = dir.path().join("forks.raw");
    let out = record_captured(&options(&interp, script("forks.py", &[]), &raw_path), None);
    assert_eq!(
        status(&out),
        ExitStatusInfo::Code(0),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "child 0\n");
    let raw = read_raw(&raw_path);
    check_structure(&raw, &interp);
    // the child's 5000 self-referencing dicts are not in the parent's log; the threads' are
    let dicts = raw
        .recs
        .iter()
        .filter(|r| r.kind == CREATE && raw.type_name(r) == "dict")
        .count();
    assert!(
        (3 * 3000 + 2000..3 * 3000 + 2000 + 5000).contains(&dicts),
        "{dicts}"
    );
}

fn deep_nesting(minor: u32) {
    let Some(interp) = interpreter(minor, "deep_nesting") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let raw_path = dir.path().join("deep.raw");
    let out = record_captured(&options(&interp, script("deep.py", &[]), &raw_path), None);
    assert_eq!(
        status(&out),
        ExitStatusInfo::Code(0),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "freed\n");
    let raw = read_raw(&raw_path);
    check_structure(&raw, &interp);
    let (from, to) = (raw.marks(MARK_DISABLE)[0].0, raw.marks(MARK_ENABLE)[0].0);
    for ty in ["list", "dict", "tuple"] {
        let count = |kind| {
            raw.recs[from..to]
                .iter()
                .filter(|r| r.kind == kind && raw.type_name(r) == ty)
                .count()
        };
        assert!(count(CREATE) >= 100_000, "{ty} CREATE {}", count(CREATE));
        assert_eq!(
            count(DESTROY),
            count(CREATE),
            "{ty}: one DESTROY per CREATE"
        );
    }
}

fn closed_descriptor(minor: u32) {
    let Some(interp) = interpreter(minor, "closed_descriptor") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let raw_path = dir.path().join("closes.raw");
    let out = record_captured(
        &options(&interp, script("closes_fds.py", &[]), &raw_path),
        None,
    );
    assert_eq!(
        status(&out),
        ExitStatusInfo::Code(0),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(
        text(&out.stdout),
        "intact\n",
        "no file got the recorder's records"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("gclab: writing the raw event log") && stderr.contains("Bad file"),
        "{stderr}"
    );
    // what was written before the descriptor was lost is a readable, unfinished log
    let data = std::fs::read(&raw_path).unwrap();
    assert_eq!(&data[..8], b"GCLABRAW");
}

macro_rules! per_version {
    ($($module:ident => $minor:expr),*) => {$(
        mod $module {
            #[test]
            fn cycles_collections_and_marks() {
                super::cycles($minor);
            }
            #[test]
            fn sizes_match_sizeof() {
                super::sizes($minor);
            }
            #[test]
            fn exit_status_and_traceback() {
                super::exits($minor);
            }
            #[test]
            fn output_identical_with_and_without_the_recorder() {
                super::identical_output($minor);
            }
            #[test]
            fn threads_and_fork() {
                super::threads_and_fork($minor);
            }
            #[test]
            fn deeply_nested_containers_are_freed() {
                super::deep_nesting($minor);
            }
            #[test]
            fn a_closed_descriptor_is_never_written() {
                super::closed_descriptor($minor);
            }
        }
    )*};
}

per_version!(py311 => 11, py312 => 12, py313 => 13);

// ----- errors and the cache -----

#[test]
fn python_310_is_refused_with_what_is_needed() {
    let Some(path) = find_python(10) else {
        println!("SKIP python_310_is_refused_with_what_is_needed: no CPython 3.10 found");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let opts = RecordOptions {
        python: Some(path),
        program: script("exit3.py", &[]),
        raw_out: dir.path().join("x.raw"),
        env: vec![],
    };
    let e = launch::record_in(&opts, &cache_root()).unwrap_err();
    assert!(e.is_usage(), "{e}");
    assert!(
        matches!(e, RecordError::Unsupported { .. }),
        "{e:?} is Unsupported"
    );
    assert!(e.to_string().contains("needs CPython 3.11 or later"), "{e}");
    assert!(!dir.path().join("x.raw").exists(), "nothing written");
}

#[test]
fn a_missing_script_or_python_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let opts = RecordOptions {
        python: None,
        program: script("no_such_script.py", &[]),
        raw_out: dir.path().join("x.raw"),
        env: vec![],
    };
    let e = launch::record_in(&opts, &cache_root()).unwrap_err();
    assert!(matches!(e, RecordError::ScriptNotFound { .. }), "{e:?}");
    assert!(e.is_usage());
    assert!(e.to_string().contains("no_such_script.py"), "{e}");

    let opts = RecordOptions {
        python: Some(dir.path().join("no-python-here")),
        program: script("exit3.py", &[]),
        raw_out: dir.path().join("x.raw"),
        env: vec![],
    };
    let e = launch::record_in(&opts, &cache_root()).unwrap_err();
    assert!(matches!(e, RecordError::PythonNotFound { .. }), "{e:?}");
    assert!(e.is_usage());

    let opts = RecordOptions {
        python: None,
        program: Program::Module {
            name: "not a module".into(),
            args: vec![],
        },
        raw_out: dir.path().join("x.raw"),
        env: vec![],
    };
    let e = launch::record_in(&opts, &cache_root()).unwrap_err();
    assert!(matches!(e, RecordError::BadModuleName { .. }), "{e:?}");
}

#[test]
fn odd_environment_entries_give_errors_not_panics() {
    let Some(interp) = interpreter(13, "odd_environment_entries_give_errors_not_panics")
        .or_else(|| interpreter(12, "odd_environment_entries_give_errors_not_panics"))
    else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    for (k, v) in [
        ("NUL\0KEY", "x"),
        ("KEY", "nul\0value"),
        ("", "x"),
        ("A=B", "c"),
    ] {
        let mut opts = options(&interp, script("exit3.py", &[]), &dir.path().join("x.raw"));
        opts.env = vec![(k.to_string(), v.to_string())];
        match launch::record_in(&opts, &cache_root()) {
            Ok(outcome) => assert_eq!(outcome.status, ExitStatusInfo::Code(3), "{k:?}={v:?}"),
            Err(e) => assert!(
                matches!(e, RecordError::Launch { .. }),
                "{k:?}={v:?}: {e:?}"
            ),
        }
    }
}

#[test]
fn an_unwritable_raw_path_is_a_usage_error() {
    let Some(interp) = interpreter(13, "an_unwritable_raw_path_is_a_usage_error")
        .or_else(|| interpreter(12, "an_unwritable_raw_path_is_a_usage_error"))
    else {
        return;
    };
    let opts = options(
        &interp,
        script("exit3.py", &[]),
        Path::new("/nonexistent-dir/x.raw"),
    );
    let e = launch::record_in(&opts, &cache_root()).unwrap_err();
    assert!(matches!(e, RecordError::RawOutput { .. }), "{e:?}");
    assert!(e.is_usage());
}

#[test]
fn concurrent_first_builds_both_succeed() {
    let Some(interp) = interpreter(13, "concurrent_first_builds_both_succeed")
        .or_else(|| interpreter(12, "concurrent_first_builds_both_succeed"))
    else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    let results: Vec<build::Built> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|_| s.spawn(|| build::ensure_built_in(&interp, root.path()).expect("build")))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results[0].dir, results[1].dir);
    assert!(results[0].extension.is_file() && results[0].boot.is_file());
    let entries: HashSet<String> = std::fs::read_dir(root.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries.len(), 1, "no temporary directory left: {entries:?}");
    // and the next use finds it
    let again = build::ensure_built_in(&interp, root.path()).unwrap();
    assert!(!again.compiled);
    assert_eq!(again.dir, results[0].dir);
}

#[test]
fn a_compile_failure_carries_the_compiler_output() {
    let Some(mut interp) = interpreter(13, "a_compile_failure_carries_the_compiler_output")
        .or_else(|| interpreter(12, "a_compile_failure_carries_the_compiler_output"))
    else {
        return;
    };
    let root = tempfile::tempdir().unwrap();
    interp.include_dir = root.path().join("no-headers"); // Python.h not found
    let e = build::ensure_built_in(&interp, root.path()).unwrap_err();
    match &e {
        RecordError::CompileFailed { stderr, .. } => {
            assert!(stderr.contains("Python.h"), "{stderr}")
        }
        other => panic!("{other:?}"),
    }
    assert!(!e.is_usage());
    let left: Vec<_> = std::fs::read_dir(root.path()).unwrap().flatten().collect();
    assert!(left.is_empty(), "the failed build's directory is removed");
}
