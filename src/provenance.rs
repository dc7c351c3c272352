//! Provenance of a run: which gclab, built from which commit by which compiler, on which CPU,
//! and on which day.

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
    /// The UTC date the run was made, `YYYY-MM-DD` (absent from rows written before it was
    /// recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
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
            date: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .ok()
                .map(|d| utc_date(d.as_secs() / 86_400)),
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

/// The UTC calendar date of `days` since 1970-01-01, `YYYY-MM-DD` (Howard Hinnant's
/// `civil_from_days`, http://howardhinnant.github.io/date_algorithms.html; a date crate for one
/// line of provenance is not worth the dependency).
fn utc_date(days: u64) -> String {
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::utc_date;

    #[test]
    fn days_since_the_epoch_become_calendar_dates() {
        assert_eq!(utc_date(0), "1970-01-01");
        assert_eq!(utc_date(19_723), "2024-01-01");
        assert_eq!(utc_date(19_782), "2024-02-29");
        assert_eq!(utc_date(11_016), "2000-02-29");
        assert_eq!(utc_date(20_794), "2026-12-07");
    }
}
