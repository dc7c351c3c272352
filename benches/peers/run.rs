//! One timed run of one system: the drop counter every node type ticks, the [`Run`] record and
//! [`timed`], which measures a closure's wall and thread CPU time and the nodes it freed.

use std::cell::Cell;
use std::time::{Duration, Instant};

thread_local! {
    static DROPS: Cell<u64> = const { Cell::new(0) };
}

#[inline]
pub fn tally() {
    DROPS.with(|d| d.set(d.get() + 1));
}

pub fn drops() -> u64 {
    DROPS.with(|d| d.get())
}

/// `impl Drop` for each type named: dropping one ticks [`tally`].
macro_rules! count_drops {
    ($($node:ty),+ $(,)?) => {
        $(
            impl Drop for $node {
                fn drop(&mut self) {
                    $crate::run::tally();
                }
            }
        )+
    };
}
pub(crate) use count_drops;

/// A zero-sized field that counts its drops.
pub struct Tally;
count_drops!(Tally);

/// One timed run of one system.
#[derive(Copy, Clone, Debug)]
pub struct Run {
    /// Wall time of the run.
    pub wall: Duration,
    /// Thread CPU time of the run (zero if the clock is unavailable).
    pub cpu: Duration,
    /// Churn nodes freed (the Python program's root list is not a node).
    pub freed: u64,
    /// Collections gclab's heap recorded (`None` for the peers).
    pub collections: Option<u64>,
}

/// Runs `f` and returns its wall time, its thread CPU time and the nodes dropped meanwhile.
pub fn timed(f: impl FnOnce()) -> Run {
    let before = drops();
    let t = Instant::now();
    let c = cpu_time::ThreadTime::try_now().ok();
    f();
    let wall = t.elapsed();
    let cpu = c.and_then(|c| c.try_elapsed().ok()).unwrap_or_default();
    Run {
        wall,
        cpu,
        freed: drops() - before,
        collections: None,
    }
}
