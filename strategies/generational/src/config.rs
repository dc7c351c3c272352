//! The strategy's configuration (its resolved parameters) and why a collection ran.

/// The strategy's configuration (resolved parameters).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// `gc.set_threshold` values at start (C ints; 0 and negatives as CPython treats them).
    pub thresholds: [i64; 3],
    /// 3.12+: schedule automatic collections and run them at the next safe point.
    pub deferred: bool,
    /// `gc.isenabled()` at start.
    pub enabled: bool,
    /// A `gc.callbacks` hook is installed (two `info` dicts per collection).
    pub callbacks: bool,
    /// Manual policy: collect `manual_generation` every this many ops (0: off).
    pub every_ops: u64,
    /// Manual policy: collect `manual_generation` every this many ms of wall time (0: off).
    pub every_ms: u64,
    /// Manual policy: collect `manual_generation` when the workload emits this event.
    pub on_event: Option<String>,
    /// `gc.freeze()` when the workload emits this event (`startup` in a recording: the program's
    /// start-up is over).
    pub freeze_on_event: Option<String>,
    /// The generation the manual policies collect.
    pub manual_generation: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            thresholds: [700, 10, 10],
            deferred: false,
            enabled: true,
            callbacks: false,
            every_ops: 0,
            every_ms: 0,
            on_event: None,
            freeze_on_event: None,
            manual_generation: 2,
        }
    }
}

/// Why a collection ran (for the counters).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum Reason {
    /// The allocation trigger (`count0 > threshold0`).
    Automatic,
    /// `gc.collect()`.
    Manual,
    /// A manual policy of a disabled collector (every N ops, every T ms, on an event).
    Policy,
}
