//! The probe: every peer run once in a child process on an ordinary 8 MiB stack, so that a peer
//! that overflows its stack or aborts is reported instead of taking the bench down.

use crate::adapters::{replay, BaconRajan, Dumpster, GcModule, NativeRc, RustCc};
use crate::churn::{churn_stream, ROOTS};
use crate::rows::settings;

/// Replays the auto-regime stream once with `system` and prints the nodes freed: run in a
/// child process (see [`probe_all`]) on an ordinary 8 MiB stack, so that a peer that overflows
/// its stack or aborts is reported instead of taking the bench down.
pub fn probe_child(system: &str) {
    let (ops, _, seed) = settings(1_000_000);
    let (stream, created) = churn_stream(ops, ROOTS, seed, 0);
    let system = system.to_string();
    let run = move || match system.as_str() {
        "rc" => replay::<NativeRc>(&stream).freed,
        "gcmodule" => replay::<GcModule>(&stream).freed,
        "dumpster" => replay::<Dumpster>(&stream).freed,
        "rust-cc" => replay::<RustCc>(&stream).freed,
        "bacon_rajan_cc" => replay::<BaconRajan>(&stream).freed,
        _ => 0,
    };
    let freed = std::thread::Builder::new()
        .stack_size(8 << 20)
        .spawn(run)
        .expect("spawn probe thread")
        .join()
        .unwrap_or(0);
    println!("created={created} freed={freed}");
}

/// Runs every peer once in a child process with an 8 MiB stack; prints whether it completed.
pub fn probe_all(ops: u64) {
    let Ok(exe) = std::env::current_exe() else {
        return;
    };
    eprintln!("peers probe (churn ops={ops}, each peer once in a child process, 8 MiB stack):");
    for system in ["rc", "gcmodule", "dumpster", "rust-cc", "bacon_rajan_cc"] {
        let out = std::process::Command::new(&exe)
            .env("GCLAB_PEERS_PROBE", system)
            .env("GCLAB_PEERS_OPS", ops.to_string())
            .output();
        match out {
            Ok(o) if o.status.success() => eprintln!(
                "  {system:<16} ok: {}",
                String::from_utf8_lossy(&o.stdout).trim()
            ),
            Ok(o) => eprintln!(
                "  {system:<16} CRASHED ({}): {}",
                o.status,
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
            ),
            Err(e) => eprintln!("  {system:<16} could not start the probe: {e}"),
        }
    }
}
