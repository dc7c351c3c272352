//! zstd-compressed traces through the binary: `gclab trace --zstd[=LEVEL]` writes one, `gclab
//! run -w trace:FILE` replays it with no flag and the same result as the plain trace, and a
//! compressed trace cut short or corrupt is bad input (exit 2) with a message that says where,
//! in the decompressed trace, and how many ops were read.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn gclab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gclab"))
        .args(args)
        .output()
        .expect("the gclab binary runs")
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("gclab-trace-zstd-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir.join(name)
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Writes `cycles` (small) to `name` with the extra arguments; returns the path and stderr.
fn trace(name: &str, extra: &[&str]) -> (PathBuf, String) {
    let path = tmp(name);
    let p = path.to_str().expect("utf-8 temp path");
    let mut args = vec!["trace", "-w", "cycles", "-p", "count=3000", "-o", p];
    args.extend_from_slice(extra);
    let out = gclab(&args);
    ok(&out);
    (path, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn replay(path: &Path) -> Output {
    let t = format!("trace:{}", path.display());
    gclab(&["run", "-s", "generational", "-w", &t])
}

#[test]
fn compressed_traces_replay_like_plain_ones() {
    let (plain, _) = trace("plain.gclt", &[]);
    let (zst, msg) = trace("default.gclt.zst", &["--zstd"]);
    assert!(
        msg.contains("ops,") && msg.contains("zstd level 3"),
        "{msg}"
    );
    let (zst19, _) = trace("best.gclt.zst", &["--zstd=19", "--text"]);
    let bytes = std::fs::read(&zst).unwrap();
    assert_eq!(bytes[..4], [0x28, 0xb5, 0x2f, 0xfd]);
    let plain_len = std::fs::metadata(&plain).unwrap().len();
    assert!(
        (bytes.len() as u64) * 4 < plain_len,
        "{} vs {plain_len}",
        bytes.len()
    );
    let want = ok(&replay(&plain));
    // The summary names the trace file and the wall time; everything else is the same.
    let same = |s: &str, p: &Path| {
        s.replace(&p.display().to_string(), "FILE")
            .lines()
            .filter(|l| !l.contains("wall time"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(same(&ok(&replay(&zst)), &zst), same(&want, &plain));
    assert_eq!(same(&ok(&replay(&zst19)), &zst19), same(&want, &plain));
}

#[test]
fn bad_levels_are_usage_errors() {
    for bad in ["--zstd=0", "--zstd=20", "--zstd=x"] {
        let p = tmp("bad.gclt");
        let out = gclab(&["trace", "-w", "cycles", "-o", p.to_str().unwrap(), bad]);
        assert_eq!(out.status.code(), Some(2), "{bad}");
        assert!(
            String::from_utf8_lossy(&out.stderr).contains("--zstd"),
            "{bad}"
        );
    }
    let help = ok(&gclab(&["trace", "--help"]));
    assert!(help.contains("--zstd[=<LEVEL>]"), "{help}");
}

#[test]
fn cut_or_corrupt_compressed_traces_exit_2_with_where_and_how_many_ops() {
    let (zst, _) = trace("cut.gclt.zst", &["--zstd=1", "-p", "count=40000"]);
    let bytes = std::fs::read(&zst).unwrap();

    let cut = tmp("cut-half.gclt.zst");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let out = replay(&cut);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("truncated compressed trace"), "{err}");
    assert!(err.contains("of the decompressed trace"), "{err}");
    assert!(err.contains("ops were read completely"), "{err}");
    assert!(
        !err.contains(" 0 ops were read"),
        "half a trace holds ops: {err}"
    );

    let mut bad = bytes.clone();
    let n = bad.len();
    bad[n - 2] ^= 0xff; // the frame's checksum
    let corrupt = tmp("corrupt.gclt.zst");
    std::fs::write(&corrupt, &bad).unwrap();
    let out = replay(&corrupt);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("corrupt compressed trace"), "{err}");
    assert!(err.contains("checksum"), "{err}");
}
