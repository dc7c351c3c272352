//! Metrics of a run, in the two clocks: pause percentiles, the exact minimum mutator
//! utilisation (MMU) curve, the deterministic "work clock", CPU time and peak RSS; and the
//! statistics over replicates: Student-t intervals of a mean, and the paired bootstrap of a
//! ratio of medians that `gclab compare` reports for wall-clock metrics.
//!
//! Definitions follow `methodology.md` §1.4 (MMU: Cheng & Blelloch) and §1.3 (LBO). Everything
//! computed from work units is deterministic; everything in ns is not.

use gclab_core::recorder::CollectionRecord;
use serde::{Deserialize, Serialize};

/// One pause on a time line: `[start, start + len)`, in any integer unit.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// Start.
    pub start: u64,
    /// Length.
    pub len: u64,
}

impl Span {
    fn end(&self) -> u64 {
        self.start + self.len
    }
}

/// Pause percentiles and the exact maximum, in one unit.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Number of pauses.
    pub count: u64,
    /// Median (hdrhistogram, 3 significant digits).
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// The exact maximum.
    pub max: u64,
    /// Sum of all pauses.
    pub total: u64,
}

impl Percentiles {
    /// Percentiles of `values` (hdrhistogram with 3 significant digits; the max is exact).
    pub fn of(values: impl IntoIterator<Item = u64>) -> Percentiles {
        let mut h = match hdrhistogram::Histogram::<u64>::new(3) {
            Ok(h) => h,
            Err(_) => return Percentiles::default(),
        };
        let mut max = 0;
        let mut total = 0u64;
        let mut count = 0;
        for v in values {
            // An auto-resizing histogram accepts any u64; saturate rather than fail.
            let _ = h.record(v);
            max = max.max(v);
            total = total.saturating_add(v);
            count += 1;
        }
        if count == 0 {
            return Percentiles::default();
        }
        let q = |x: f64| h.value_at_quantile(x).min(max);
        Percentiles {
            count,
            p50: q(0.5),
            p90: q(0.9),
            p99: q(0.99),
            p999: q(0.999),
            max,
            total,
        }
    }

    /// The values in the order of the "nines" axis: p50, p90, p99, p99.9, max.
    pub fn nines(&self) -> [u64; 5] {
        [self.p50, self.p90, self.p99, self.p999, self.max]
    }
}

/// Labels of [`Percentiles::nines`].
pub const NINES_LABELS: [&str; 5] = ["50", "90", "99", "99.9", "max"];

/// Turns pauses into sorted, non-overlapping spans clamped to `[0, total)`: the MMU algorithm's
/// precondition. Overlapping spans (possible with wall-clock jitter) are merged.
pub fn normalise(mut spans: Vec<Span>, total: u64) -> Vec<Span> {
    spans.retain(|s| s.len > 0 && s.start < total);
    spans.sort_by_key(|s| s.start);
    let mut out: Vec<Span> = Vec::with_capacity(spans.len());
    for s in spans {
        let s = Span {
            start: s.start,
            len: s.len.min(total - s.start),
        };
        match out.last_mut() {
            Some(last) if s.start <= last.end() => {
                let end = last.end().max(s.end());
                last.len = end - last.start;
            }
            _ => out.push(s),
        }
    }
    out
}

/// Collector time inside `[a, b)`, given sorted non-overlapping `spans` and their prefix sums.
fn gc_in(spans: &[Span], prefix: &[u64], a: u64, b: u64) -> u64 {
    cumulative(spans, prefix, b) - cumulative(spans, prefix, a)
}

/// Collector time in `[0, x)`.
fn cumulative(spans: &[Span], prefix: &[u64], x: u64) -> u64 {
    // k = number of spans starting at or before x.
    let k = spans.partition_point(|s| s.start <= x);
    if k == 0 {
        return 0;
    }
    let last = &spans[k - 1];
    prefix[k - 1] + (x.min(last.end()) - last.start)
}

/// The largest collector time in any window of length `w` within `[0, total]`: computed
/// exactly by evaluating only the breakpoints where the windowed collector time can peak
/// (a window starting at a pause start, or ending at a pause end), plus both ends.
/// `spans` must come from [`normalise`].
pub fn max_gc_in_window(spans: &[Span], total: u64, w: u64) -> u64 {
    if w >= total {
        return spans.iter().map(|s| s.len).sum();
    }
    let mut prefix = Vec::with_capacity(spans.len());
    let mut acc = 0;
    for s in spans {
        prefix.push(acc);
        acc += s.len;
    }
    let last = total - w;
    let mut best = 0;
    let mut eval = |t: u64| {
        let t = t.min(last);
        best = best.max(gc_in(spans, &prefix, t, t + w));
    };
    eval(0);
    eval(last);
    for s in spans {
        eval(s.start);
        eval(s.end().saturating_sub(w));
    }
    best
}

/// Minimum mutator utilisation for window `w`: the lowest fraction of any window of length `w`
/// left to the mutator. 0 for windows no longer than the longest pause; the overall
/// utilisation for `w >= total`.
pub fn mmu(spans: &[Span], total: u64, w: u64) -> f64 {
    if total == 0 || w == 0 {
        return 1.0;
    }
    let w = w.min(total);
    1.0 - max_gc_in_window(spans, total, w) as f64 / w as f64
}

/// Brute force: the worst window over every integer start. For tests.
pub fn max_gc_in_window_brute(spans: &[Span], total: u64, w: u64) -> u64 {
    let w = w.min(total);
    let mut best = 0;
    for t in 0..=(total - w) {
        let gc: u64 = spans
            .iter()
            .map(|s| {
                let a = s.start.max(t);
                let b = s.end().min(t + w);
                b.saturating_sub(a)
            })
            .sum();
        best = best.max(gc);
    }
    best
}

/// The windows an MMU curve is evaluated at: 1, 2, 5, 10, 20, 50, ... up to `total`, plus
/// `total` itself. A fixed grid keeps curves from different runs comparable.
pub fn mmu_windows(total: u64) -> Vec<u64> {
    let mut out = Vec::new();
    let mut decade = 1u64;
    'outer: loop {
        for m in [1u64, 2, 5] {
            let w = decade.saturating_mul(m);
            if w >= total {
                break 'outer;
            }
            out.push(w);
        }
        decade = decade.saturating_mul(10);
    }
    if total > 0 {
        out.push(total);
    }
    out
}

/// An MMU curve: `(window, utilisation)` at [`mmu_windows`].
pub fn mmu_curve(spans: &[Span], total: u64) -> Vec<(u64, f64)> {
    mmu_windows(total)
        .into_iter()
        .map(|w| (w, mmu(spans, total, w)))
        .collect()
}

/// The deterministic work clock of a run: one unit per op, and each collection's work units
/// inserted at the op where it ran. Returns the pauses on that clock and its total length.
pub fn work_clock(collections: &[CollectionRecord], ops: u64) -> (Vec<Span>, u64) {
    let mut shift = 0u64;
    let mut spans = Vec::with_capacity(collections.len());
    for c in collections {
        if c.work > 0 {
            spans.push(Span {
                start: c.at_op + shift,
                len: c.work,
            });
        }
        shift += c.work;
    }
    let total = ops + shift;
    (normalise(spans, total), total)
}

/// Pauses on the wall clock (ns since the run started), clamped to the run's wall time.
pub fn wall_clock(collections: &[CollectionRecord], wall_ns: u64) -> (Vec<Span>, u64) {
    let spans = collections
        .iter()
        .map(|c| Span {
            start: c.start_ns,
            len: c.duration_ns,
        })
        .collect();
    (normalise(spans, wall_ns), wall_ns)
}

/// CPU time consumed by the calling thread so far, ns (0 where the platform has no thread
/// clock). Uses the `cpu-time` crate (`CLOCK_THREAD_CPUTIME_ID` on Linux) rather than an
/// `unsafe` libc call of our own.
pub fn thread_cpu_ns() -> u64 {
    cpu_time::ThreadTime::try_now()
        .map(|t| t.as_duration().as_nanos() as u64)
        .unwrap_or(0)
}

/// The process's peak resident set size so far, bytes (`VmHWM` from `/proc/self/status`; 0 where
/// `/proc` is unavailable). Process-wide, so in a parallel sweep it covers every cell run so far
/// by this process.
pub fn peak_rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

/// Mean and half-width of the 95% Student-t confidence interval of `xs` (half-width 0 for
/// fewer than two values).
pub fn mean_ci95(xs: &[f64]) -> (f64, f64) {
    let n = xs.len();
    if n == 0 {
        return (0.0, 0.0);
    }
    let mean = xs.iter().sum::<f64>() / n as f64;
    if n < 2 {
        return (mean, 0.0);
    }
    let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    (mean, t95(n - 1) * (var / n as f64).sqrt())
}

/// Two-sided 95% Student-t critical value for `df` degrees of freedom.
fn t95(df: usize) -> f64 {
    const T: [f64; 30] = [
        12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160,
        2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056,
        2.052, 2.048, 2.045, 2.042,
    ];
    match df {
        0 => f64::NAN,
        1..=30 => T[df - 1],
        _ => 1.96,
    }
}

/// The median of `xs` (the mean of the two middle values for an even count); NaN for none.
pub fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    median_in_place(&mut v)
}

/// [`median`], reordering `v` instead of copying it.
fn median_in_place(v: &mut [f64]) -> f64 {
    let n = v.len();
    if n == 0 {
        return f64::NAN;
    }
    let (_, hi, _) = v.select_nth_unstable_by(n / 2, f64::total_cmp);
    let hi = *hi;
    if n % 2 == 1 {
        return hi;
    }
    // The lower middle value is the largest of the values before the upper one.
    let lo = v[..n / 2]
        .iter()
        .copied()
        .max_by(f64::total_cmp)
        .unwrap_or(hi);
    (lo + hi) / 2.0
}

/// A ratio `B/A` with a confidence interval.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RatioCi {
    /// The ratio of the samples themselves.
    pub ratio: f64,
    /// Lower end of the interval.
    pub low: f64,
    /// Upper end of the interval.
    pub high: f64,
}

impl RatioCi {
    /// True if the interval contains `x`.
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }
}

/// The ratio of medians `median(b) / median(a)` of paired samples (`a[i]` and `b[i]` measured
/// on the same stream) with its 95% paired percentile-bootstrap interval: `resamples` times,
/// draw `n` pair indices with replacement, take the ratio of the two medians, and report the
/// 2.5th and 97.5th percentiles of those ratios (linear interpolation between order
/// statistics). The draws come from a ChaCha8 stream seeded with `seed`, so the interval is
/// the same on every run and machine.
///
/// `None` unless there are at least two pairs, as many `b` as `a`, `resamples > 0` and every
/// value finite and positive (a ratio of medians needs a positive denominator in every
/// resample).
pub fn bootstrap_median_ratio(
    a: &[f64],
    b: &[f64],
    resamples: usize,
    seed: u64,
) -> Option<RatioCi> {
    use rand::{Rng, SeedableRng};
    let n = a.len();
    let positive = |x: &f64| x.is_finite() && *x > 0.0;
    if n < 2 || b.len() != n || resamples == 0 || !a.iter().chain(b).all(positive) {
        return None;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut ra, mut rb) = (vec![0.0; n], vec![0.0; n]);
    let mut ratios = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for k in 0..n {
            let i = rng.random_range(0..n);
            ra[k] = a[i];
            rb[k] = b[i];
        }
        ratios.push(median_in_place(&mut rb) / median_in_place(&mut ra));
    }
    ratios.sort_by(f64::total_cmp);
    Some(RatioCi {
        ratio: median(b) / median(a),
        low: quantile_sorted(&ratios, 0.025),
        high: quantile_sorted(&ratios, 0.975),
    })
}

/// The `q`-quantile of sorted, non-empty `xs`, interpolating linearly between order statistics
/// (Hyndman and Fan's type 7, the default of R and NumPy).
fn quantile_sorted(xs: &[f64], q: f64) -> f64 {
    let h = (xs.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    xs[lo] + (h - lo as f64) * (xs[hi] - xs[lo])
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn spans_from(raw: &[(u64, u64)], total: u64) -> Vec<Span> {
        // Lay raw (gap, len) pairs end to end.
        let mut t = 0;
        let mut out = Vec::new();
        for &(gap, len) in raw {
            t += gap;
            out.push(Span { start: t, len });
            t += len;
        }
        normalise(out, total)
    }

    proptest! {
        #[test]
        fn mmu_matches_brute_force(
            raw in proptest::collection::vec((0u64..20, 1u64..10), 0..12),
            extra in 0u64..30,
            w in 1u64..200,
        ) {
            let end: u64 = raw.iter().map(|(g, l)| g + l).sum();
            let total = end + extra + 1;
            let spans = spans_from(&raw, total);
            let w = w.min(total);
            prop_assert_eq!(
                max_gc_in_window(&spans, total, w),
                max_gc_in_window_brute(&spans, total, w)
            );
            let m = mmu(&spans, total, w);
            prop_assert!((0.0..=1.0).contains(&m));
            let longest = spans.iter().map(|s| s.len).max().unwrap_or(0);
            if w <= longest {
                prop_assert_eq!(m, 0.0);
            }
        }
    }

    #[test]
    fn mmu_of_whole_run_is_utilisation() {
        let spans = normalise(
            vec![Span { start: 10, len: 5 }, Span { start: 50, len: 15 }],
            100,
        );
        assert!((mmu(&spans, 100, 100) - 0.8).abs() < 1e-12);
        assert_eq!(mmu(&spans, 100, 15), 0.0);
        assert!((mmu(&spans, 100, 30) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn percentiles_max_is_exact() {
        let p = Percentiles::of([1, 2, 3, 1_000_003]);
        assert_eq!(p.max, 1_000_003);
        assert_eq!(p.count, 4);
        assert_eq!(p.p50, 2);
        assert_eq!(p.total, 1_000_009);
    }

    #[test]
    fn work_clock_shifts_later_pauses() {
        let mk = |at_op, work| CollectionRecord {
            at_op,
            start_ns: 0,
            duration_ns: 0,
            work,
            generation: 0,
            examined: 0,
            freed: 0,
            live_bytes_after: 0,
            live_objects_after: 0,
        };
        let (spans, total) = work_clock(&[mk(10, 5), mk(20, 3)], 30);
        assert_eq!(total, 38);
        assert_eq!(
            spans,
            vec![Span { start: 10, len: 5 }, Span { start: 25, len: 3 }]
        );
    }

    #[test]
    fn ci_of_constant_is_zero() {
        let (m, h) = mean_ci95(&[2.0, 2.0, 2.0]);
        assert_eq!(m, 2.0);
        assert_eq!(h, 0.0);
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert!(median(&[]).is_nan());
    }

    /// `n` values around `centre` with a deterministic spread of about ±5%.
    fn noisy(centre: f64, n: usize, seed: u64) -> Vec<f64> {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| centre * (1.0 + rng.random_range(-0.05..0.05)))
            .collect()
    }

    #[test]
    fn bootstrap_recovers_a_known_ratio() {
        let a = noisy(1000.0, 20, 1);
        let b: Vec<f64> = a.iter().map(|x| 1.5 * x).collect();
        let ci = bootstrap_median_ratio(&a, &b, 2000, 7).unwrap();
        assert!((ci.ratio - 1.5).abs() < 1e-12, "{ci:?}");
        assert!(ci.contains(1.5) && !ci.contains(1.0), "{ci:?}");
        // Independent noise on both sides: the ratio is still near 1.5, and the interval
        // holds it.
        let b = noisy(1500.0, 20, 2);
        let ci = bootstrap_median_ratio(&a, &b, 2000, 7).unwrap();
        assert!((ci.ratio - 1.5).abs() < 0.05, "{ci:?}");
        assert!(ci.contains(1.5) && ci.low > 1.3 && ci.high < 1.7, "{ci:?}");
    }

    #[test]
    fn bootstrap_of_identical_samples_contains_one() {
        let a = noisy(1000.0, 5, 3);
        let ci = bootstrap_median_ratio(&a, &a, 1000, 7).unwrap();
        assert_eq!((ci.ratio, ci.low, ci.high), (1.0, 1.0, 1.0));
        assert!(ci.contains(1.0));
        // The same distribution drawn twice: no difference either.
        let ci =
            bootstrap_median_ratio(&noisy(1000.0, 30, 4), &noisy(1000.0, 30, 5), 2000, 7).unwrap();
        assert!(ci.contains(1.0), "{ci:?}");
    }

    #[test]
    fn bootstrap_separates_clearly_different_samples() {
        let a = noisy(1000.0, 3, 6);
        let slower = noisy(1300.0, 3, 8);
        let ci = bootstrap_median_ratio(&a, &slower, 2000, 7).unwrap();
        assert!(ci.low > 1.0, "{ci:?}");
        let faster = noisy(700.0, 3, 9);
        let ci = bootstrap_median_ratio(&a, &faster, 2000, 7).unwrap();
        assert!(ci.high < 1.0, "{ci:?}");
    }

    #[test]
    fn bootstrap_is_reproducible_and_refuses_what_it_cannot_do() {
        let (a, b) = (noisy(10.0, 6, 10), noisy(11.0, 6, 11));
        assert_eq!(
            bootstrap_median_ratio(&a, &b, 500, 7),
            bootstrap_median_ratio(&a, &b, 500, 7)
        );
        assert_eq!(bootstrap_median_ratio(&[1.0], &[2.0], 500, 7), None);
        assert_eq!(bootstrap_median_ratio(&a, &b[..5], 500, 7), None);
        assert_eq!(
            bootstrap_median_ratio(&[0.0, 1.0], &[1.0, 1.0], 500, 7),
            None
        );
        assert_eq!(bootstrap_median_ratio(&a, &b, 0, 7), None);
    }
}
