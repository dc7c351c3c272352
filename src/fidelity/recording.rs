//! A recording replayed under the model preset of the interpreter that recorded it, against the
//! real run's collector log: the library behind `gclab fidelity --recording FILE`.
//!
//! Two checks. **Collections**: the model's collections (generation, objects collected), in
//! order, must equal the real run's, and so the counts per generation. **Reference counting**:
//! `refcount` replaying the recording must free exactly what the real run freed by reference
//! counting (the deaths outside collections, and the deaths inside one that the collection's
//! garbage did not hold).

use super::FidelityError;
use crate::runner::{self, RunSpec, Source};
use gclab_record::convert::RealCollection;
use gclab_record::files::{self, RecordingMeta};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The model preset for a recording made by CPython `version` (`major.minor.micro`).
pub fn preset_for(version: &str) -> Result<&'static str, FidelityError> {
    let mut it = version.split('.');
    let minor = match (it.next(), it.next()) {
        (Some("3"), Some(m)) => m,
        _ => "",
    };
    match minor {
        "11" => Ok("cpython-3.11"),
        "12" => Ok("cpython-3.12"),
        "13" => Ok("cpython-3.13"),
        _ => Err(FidelityError::Usage(format!(
            "no preset models the collector of CPython {version} for a recording; \
             recordings of CPython 3.11, 3.12 and 3.13 can be checked"
        ))),
    }
}

/// The comparison for one recording.
#[derive(Clone, Debug)]
pub struct RecordingCheck {
    /// The trace.
    pub trace: PathBuf,
    /// What is known about the run.
    pub meta: RecordingMeta,
    /// The model preset replayed.
    pub preset: String,
    /// The real collections.
    pub real: Vec<RealCollection>,
    /// The model's collections: (generation, objects collected).
    pub model: Vec<(u64, u64)>,
    /// Objects `refcount` freed replaying the recording.
    pub refcount_frees: u64,
    /// Objects the real run freed by reference counting.
    pub refcount_expected: u64,
}

impl RecordingCheck {
    /// The real collections as (generation, collected).
    pub fn real_pairs(&self) -> Vec<(u64, u64)> {
        self.real
            .iter()
            .map(|c| (c.generation as u64, c.collected))
            .collect()
    }

    /// Index of the first collection that differs.
    pub fn first_difference(&self) -> Option<usize> {
        let r = self.real_pairs();
        (0..r.len().max(self.model.len())).find(|&i| r.get(i) != self.model.get(i))
    }

    /// Collections equal, position by position.
    pub fn equal(&self) -> usize {
        self.real_pairs()
            .iter()
            .zip(&self.model)
            .filter(|(a, b)| a == b)
            .count()
    }

    /// Collections per generation: (real, model).
    pub fn per_generation(&self) -> ([u64; 3], [u64; 3]) {
        let count = |v: &[(u64, u64)]| {
            let mut n = [0; 3];
            for &(g, _) in v {
                n[(g as usize).min(2)] += 1;
            }
            n
        };
        (count(&self.real_pairs()), count(&self.model))
    }

    /// Every collection and the reference-counting check agree.
    pub fn matches(&self) -> bool {
        self.first_difference().is_none() && self.refcount_frees == self.refcount_expected
    }
}

fn replay(trace: &Path, strategy: &str) -> Result<runner::RunOutput, FidelityError> {
    let spec = RunSpec {
        strategy: strategy.to_string(),
        strategy_params: Vec::new(),
        source: Source::Trace(trace.to_path_buf()),
        seed: 0,
        verify: false,
        max_heap: None,
    };
    runner::run(&spec).map_err(|source| FidelityError::Model {
        case: trace.display().to_string(),
        source,
    })
}

/// Replays the recording `trace` under its interpreter's preset (or `preset`) and under
/// `refcount`, and compares both with the real run.
pub fn check_recording(
    trace: &Path,
    preset: Option<&str>,
) -> Result<RecordingCheck, FidelityError> {
    let bad = |e: files::FilesError| FidelityError::Usage(format!("{e}"));
    let meta = files::read_meta(trace).map_err(bad)?;
    let real = files::read_log(&files::log_path(trace)).map_err(bad)?;
    let preset = match preset {
        Some(p) => p.to_string(),
        None => preset_for(&meta.python_version)?.to_string(),
    };
    let model = replay(trace, &preset)?
        .collections
        .iter()
        .map(|c| (c.generation.max(0) as u64, c.freed))
        .collect();
    let rc = replay(trace, "refcount")?;
    let d = &meta.diagnostics;
    Ok(RecordingCheck {
        trace: trace.to_path_buf(),
        refcount_frees: rc.record.frees,
        refcount_expected: d.refcount_deaths + d.collection_deaths,
        meta,
        preset,
        real,
        model,
    })
}

/// The check as markdown: a summary table, then the first collections that differ.
pub fn recording_table(c: &RecordingCheck) -> String {
    let (rg, mg) = c.per_generation();
    let sum = |v: &[(u64, u64)]| v.iter().map(|p| p.1).sum::<u64>();
    let mut s = String::new();
    let _ = writeln!(
        s,
        "| recording | CPython | preset | collections equal | per generation (real) | per generation (model) | collected (real) | collected (model) | refcount frees (real) | refcount frees (model) |"
    );
    let _ = writeln!(s, "|---|---|---|---:|---|---|---:|---:|---:|---:|");
    let _ = writeln!(
        s,
        "| {} | {} | {} | {}/{} | {}/{}/{} | {}/{}/{} | {} | {} | {} | {} |",
        c.meta.program.join(" "),
        c.meta.python_version,
        c.preset,
        c.equal(),
        c.real.len().max(c.model.len()),
        rg[0],
        rg[1],
        rg[2],
        mg[0],
        mg[1],
        mg[2],
        sum(&c.real_pairs()),
        sum(&c.model),
        c.refcount_expected,
        c.refcount_frees,
    );
    if let Some(i) = c.first_difference() {
        let _ = writeln!(s);
        let _ = writeln!(s, "First difference at collection {i}:");
        let r = c.real_pairs();
        for j in i..(i + 5).min(r.len().max(c.model.len())) {
            let _ = writeln!(
                s,
                "- collection {j}: real {:?}, model {:?} (generation, collected)",
                r.get(j),
                c.model.get(j)
            );
        }
    }
    s
}
