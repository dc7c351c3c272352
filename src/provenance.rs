//! Provenance of a run: which gclab, built from which commit by which compiler, on which CPU.

use serde::{Deserialize, Serialize};

/// Where a result came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// gclab's version.
    pub gclab_version: String,
    /// The git commit the binary was built from ("unknown" outside a checkout).
    pub git_commit: String,
    /// Whether the work tree had uncommitted changes to tracked files at build time.
    pub git_dirty: bool,
    /// `rustc --version` of the compiler that built the binary.
    pub rustc: String,
    /// The CPU model, from `/proc/cpuinfo` ("unknown" elsewhere).
    pub cpu_model: String,
    /// Logical CPUs available.
    pub logical_cpus: usize,
    /// The operating system and architecture.
    pub target: String,
}

impl Provenance {
    /// Provenance of this process.
    pub fn current() -> Provenance {
        Provenance {
            gclab_version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: env!("GCLAB_GIT_COMMIT").to_string(),
            git_dirty: env!("GCLAB_GIT_DIRTY") == "true",
            rustc: env!("GCLAB_RUSTC").to_string(),
            cpu_model: cpu_model(),
            logical_cpus: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            target: format!("{}-{}", std::env::consts::ARCH, std::env::consts::OS),
        }
    }
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string())
}
