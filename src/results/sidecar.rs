//! The sidecar of a run: its heap timeline and pause log, too long for a JSON line, in a file
//! of its own under `runs/` (gzip-compressed above [`COMPRESS_ABOVE`] bytes).

use super::ResultsError;
use gclab_core::executor::TimelineSample;
use gclab_core::recorder::CollectionRecord;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// Sidecar files larger than this are gzip-compressed.
pub const COMPRESS_ABOVE: usize = 128 * 1024;

/// The sidecar of one run: deterministic arrays too long for a JSON line.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Sidecar {
    /// The cell.
    pub cell: String,
    /// Timeline samples: `[at_op, live_bytes, live_objects, garbage_bytes, garbage_objects]`
    /// (garbage -1 when not measured).
    pub timeline: Vec<[i64; 5]>,
    /// Every collection: `[at_op, work, generation, examined, freed, live_bytes_after,
    /// live_objects_after]` (empty unless the experiment keeps pause logs).
    pub pauses: Vec<[i64; 7]>,
}

impl Sidecar {
    /// The sidecar of a run of `cell`: its timeline samples, and its pause log if `keep_pauses`.
    pub fn of_run(
        cell: &str,
        timeline: &[TimelineSample],
        collections: &[CollectionRecord],
        keep_pauses: bool,
    ) -> Sidecar {
        Sidecar {
            cell: cell.to_string(),
            timeline: timeline
                .iter()
                .map(|t| {
                    [
                        t.at_op as i64,
                        t.live_bytes as i64,
                        t.live_objects as i64,
                        t.garbage_bytes.map_or(-1, |x| x as i64),
                        t.garbage_objects.map_or(-1, |x| x as i64),
                    ]
                })
                .collect(),
            pauses: if keep_pauses {
                collections
                    .iter()
                    .map(|c| {
                        [
                            c.at_op as i64,
                            c.work as i64,
                            c.generation as i64,
                            c.examined as i64,
                            c.freed as i64,
                            c.live_bytes_after as i64,
                            c.live_objects_after as i64,
                        ]
                    })
                    .collect()
            } else {
                Vec::new()
            },
        }
    }
}

/// A file name for a cell's sidecar: readable, and unique through a hash of the key.
pub fn sidecar_stem(key: &str) -> String {
    let slug: String = key
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes() {
        h ^= b as u64;
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!(
        "{}-{:08x}",
        slug.chars().take(80).collect::<String>(),
        h as u32
    )
}

/// Reads a sidecar (plain or gzip-compressed JSON).
pub fn read_sidecar(path: &Path) -> Result<Sidecar, ResultsError> {
    let bytes = std::fs::read(path).map_err(|e| ResultsError::io(path, e))?;
    let text = if path.extension().is_some_and(|e| e == "gz") {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut s)
            .map_err(|e| ResultsError::io(path, e))?;
        s
    } else {
        String::from_utf8(bytes).map_err(|e| ResultsError::io(path, e))?
    };
    serde_json::from_str(&text).map_err(|e| ResultsError::io(path, e))
}

/// Writes a sidecar under `dir/runs/` (to a temporary name, then renamed) and returns its path
/// relative to `dir`, as the row records it.
pub fn write_sidecar(dir: &Path, sc: &Sidecar) -> Result<String, ResultsError> {
    let runs = dir.join("runs");
    std::fs::create_dir_all(&runs).map_err(|e| ResultsError::io(&runs, e))?;
    let json = serde_json::to_vec(sc).map_err(|e| ResultsError::io(&runs, e))?;
    let stem = sidecar_stem(&sc.cell);
    let (name, bytes) = if json.len() > COMPRESS_ABOVE {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
        enc.write_all(&json)
            .map_err(|e| ResultsError::io(&runs, e))?;
        (
            format!("{stem}.json.gz"),
            enc.finish().map_err(|e| ResultsError::io(&runs, e))?,
        )
    } else {
        (format!("{stem}.json"), json)
    };
    let path = runs.join(&name);
    let tmp = runs.join(format!("{name}.tmp"));
    std::fs::write(&tmp, bytes).map_err(|e| ResultsError::io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| ResultsError::io(&path, e))?;
    Ok(format!("runs/{name}"))
}
