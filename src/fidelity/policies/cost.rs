//! The cost model of a CPython version's collections: a collection's duration from what the
//! model sees of it ([`Shape`]), fitted to real runs by weighted least squares.

use super::median_f;

/// What the cost model sees of one collection: the objects in the generations collected, the
/// model's work units (objects visited plus references traversed), the objects collected.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// Objects in the generations collected.
    pub visited: u64,
    /// Work units (objects visited plus references traversed, over every phase).
    pub work: u64,
    /// Objects collected.
    pub collected: u64,
}

impl Shape {
    fn term(&self, t: usize) -> f64 {
        match t {
            0 => 1.0,
            1 => self.visited as f64,
            2 => self.work as f64,
            _ => self.collected as f64,
        }
    }
}

/// The cost model of one CPython version: a collection's duration in ns.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct CostModel {
    /// Fixed cost per collection, ns (the `gc.callbacks` calls included).
    pub fixed_ns: f64,
    /// Cost per object in the generations collected, ns.
    pub per_visited_ns: f64,
    /// Cost per work unit (object visited or reference traversed), ns.
    pub per_work_ns: f64,
    /// Cost per object collected, ns.
    pub per_collected_ns: f64,
    /// Collections the fit used.
    pub samples: usize,
    /// Median absolute relative error of the fitted collections.
    pub median_rel_error: f64,
}

impl CostModel {
    /// Predicted duration of a collection of shape `s`, ns.
    pub fn predict(&self, s: &Shape) -> f64 {
        self.fixed_ns
            + self.per_visited_ns * s.visited as f64
            + self.per_work_ns * s.work as f64
            + self.per_collected_ns * s.collected as f64
    }

    /// Fits `samples` (a collection's shape, its real duration in ns) by least squares weighted
    /// by the inverse of the duration, with every coefficient non-negative: the best of the fits
    /// over each subset of the four terms whose coefficients come out non-negative.
    ///
    /// The weighting sits between plain least squares, where the few long collections decide
    /// everything and the many short ones (the pause percentiles' bulk) are mispredicted, and
    /// least squares on the relative error, where the long ones (the collector time's bulk)
    /// are. Measured on the 3.13.0 corpus runs, the median collector-time error per policy was
    /// 27–52% with this weighting, 28–66% with plain least squares (better under the default
    /// and (10000,10,10), worse under the three others) and 35–77% on the relative error: this
    /// one has the smallest worst case.
    pub fn fit(samples: &[(Shape, u64)]) -> CostModel {
        let weight = |d: u64| 1.0 / d.max(1_000) as f64;
        let mut best: Option<(f64, [f64; 4])> = None;
        for mask in 1u8..16 {
            let terms: Vec<usize> = (0..4).filter(|t| mask & (1 << t) != 0).collect();
            let Some(c) = solve(samples, &terms, weight) else {
                continue;
            };
            if c.iter().any(|&x| x < 0.0) {
                continue;
            }
            let mut full = [0.0; 4];
            for (t, x) in terms.iter().zip(c) {
                full[*t] = x;
            }
            let err: f64 = samples
                .iter()
                .map(|(s, d)| {
                    let e = (0..4).map(|t| full[t] * s.term(t)).sum::<f64>() - *d as f64;
                    e * e * weight(*d)
                })
                .sum();
            if best.as_ref().is_none_or(|(b, _)| err < *b) {
                best = Some((err, full));
            }
        }
        let c = best.map(|b| b.1).unwrap_or_default();
        let mut m = CostModel {
            fixed_ns: c[0],
            per_visited_ns: c[1],
            per_work_ns: c[2],
            per_collected_ns: c[3],
            samples: samples.len(),
            median_rel_error: 0.0,
        };
        let mut rel: Vec<f64> = samples
            .iter()
            .filter(|s| s.1 > 0)
            .map(|(s, d)| ((m.predict(s) - *d as f64) / *d as f64).abs())
            .collect();
        m.median_rel_error = median_f(&mut rel);
        m
    }
}

/// Weighted least squares over the chosen terms (see [`Shape`]), by the normal equations;
/// `None` when they are singular.
fn solve(
    samples: &[(Shape, u64)],
    terms: &[usize],
    weight: impl Fn(u64) -> f64,
) -> Option<Vec<f64>> {
    let n = terms.len();
    let mut a = vec![vec![0.0f64; n + 1]; n];
    for (s, d) in samples {
        let w = weight(*d);
        for i in 0..n {
            for j in 0..n {
                a[i][j] += w * s.term(terms[i]) * s.term(terms[j]);
            }
            a[i][n] += w * s.term(terms[i]) * *d as f64;
        }
    }
    // Gauss-Jordan elimination with partial pivoting.
    for col in 0..n {
        let pivot = (col..n).max_by(|&p, &q| a[p][col].abs().total_cmp(&a[q][col].abs()))?;
        if a[pivot][col].abs() < 1e-300 {
            return None;
        }
        a.swap(col, pivot);
        let p = a[col].clone();
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col] / p[col];
                for (x, y) in row.iter_mut().zip(&p).skip(col) {
                    *x -= f * y;
                }
            }
        }
    }
    let c: Vec<f64> = (0..n).map(|i| a[i][n] / a[i][i]).collect();
    c.iter().all(|x| x.is_finite()).then_some(c)
}
