//! The two clocks a figure can be measured in, as types (criterion's `Measurement` is the
//! model): deterministic [`WorkUnits`], identical on every machine, and the [`WallClock`],
//! which varies from run to run. A figure generic over [`Clock`] is drawn once per clock.

use crate::analysis::Lbo;
use crate::metrics::Percentiles;
use crate::results::Run;

/// A clock: where its figures go, how its axes and titles read, and which of a run's
/// measurements are in it.
pub trait Clock {
    /// The figures' directory, relative to the results directory.
    const DIR: &'static str;
    /// The axis unit, as the axis labels name it.
    const UNIT: &'static str;
    /// Recorded units per axis unit (the wall clock records ns and shows µs).
    const PER_AXIS_UNIT: f64;
    /// Title of the pause-percentile figure.
    const PAUSES_TITLE: &'static str;
    /// Title of the MMU figure.
    const MMU_TITLE: &'static str;
    /// Title of the LBO figure.
    const LBO_TITLE: &'static str;

    /// The run's pause percentiles on this clock, if measured.
    fn pauses<'a>(run: &Run<'a>) -> Option<&'a Percentiles>;
    /// The run's MMU curve on this clock, `(window, utilisation)`, if measured.
    fn mmu<'a>(run: &Run<'a>) -> Option<&'a [(u64, f64)]>;
    /// The LBO on this clock.
    fn lbo(lbo: &Lbo) -> f64;
}

/// Deterministic work units: one per op, plus the collector's objects visited and references
/// traversed. Figures go to `figures/` and are byte-identical on every machine.
pub enum WorkUnits {}

impl Clock for WorkUnits {
    const DIR: &'static str = "figures";
    const UNIT: &'static str = "work units";
    const PER_AXIS_UNIT: f64 = 1.0;
    const PAUSES_TITLE: &'static str =
        "Pause-length percentiles (work units: objects visited + references traversed)";
    const MMU_TITLE: &'static str =
        "Minimum mutator utilisation (work clock: 1 unit per op + collector work)";
    const LBO_TITLE: &'static str =
        "Lower-bound overhead, deterministic work (total / min distilled)";

    fn pauses<'a>(run: &Run<'a>) -> Option<&'a Percentiles> {
        Some(&run.metrics().pauses_work)
    }

    fn mmu<'a>(run: &Run<'a>) -> Option<&'a [(u64, f64)]> {
        Some(&run.metrics().mmu_work)
    }

    fn lbo(lbo: &Lbo) -> f64 {
        lbo.work
    }
}

/// Wall-clock time of this machine. Figures go to `figures/wall/`.
pub enum WallClock {}

impl Clock for WallClock {
    const DIR: &'static str = "figures/wall";
    const UNIT: &'static str = "µs";
    const PER_AXIS_UNIT: f64 = 1e3;
    const PAUSES_TITLE: &'static str = "Pause-length percentiles (wall clock)";
    const MMU_TITLE: &'static str = "Minimum mutator utilisation (wall clock)";
    const LBO_TITLE: &'static str = "Lower-bound overhead, wall time (total / min distilled)";

    fn pauses<'a>(run: &Run<'a>) -> Option<&'a Percentiles> {
        run.wall().map(|w| &w.pauses_ns)
    }

    fn mmu<'a>(run: &Run<'a>) -> Option<&'a [(u64, f64)]> {
        run.wall().map(|w| w.mmu_wall.as_slice())
    }

    fn lbo(lbo: &Lbo) -> f64 {
        lbo.wall
    }
}
