//! The churn stream of the adapter view: dumpster's benchmark as high-level operations
//! ([`COp`]), drawn with the very RNG draws of the `churn` workload.

use rand::Rng;

/// One high-level churn operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum COp {
    /// Create a node and push it onto the roots.
    Create,
    /// Push a clone of root `to` onto root `from`'s edges.
    Edge { from: u32, to: u32 },
    /// `roots.swap_remove(i)`.
    DropRoot(u32),
    /// `roots[from].edges.swap_remove(idx)`.
    DropEdge { from: u32, idx: u32 },
    /// A full collection (manual regime only).
    Collect,
}

/// The roots the churn stream starts with (dumpster's 50).
pub const ROOTS: u64 = 50;

/// The churn stream: `roots` initial creations then `ops` operations, with the exact RNG draws
/// of `gclab_workloads::churn`, and a `Collect` after every `every` operations (`every == 0`:
/// none). Returns the ops and the number of nodes created.
pub fn churn_stream(ops: u64, roots: u64, seed: u64, every: u64) -> (Vec<COp>, u64) {
    let mut rng = gclab_core::workload::workload_rng(seed);
    let mut out = Vec::with_capacity(ops as usize + roots as usize);
    let mut lens: Vec<u32> = Vec::new();
    let mut created = 0;
    for _ in 0..roots {
        out.push(COp::Create);
        lens.push(0);
        created += 1;
    }
    for k in 0..ops {
        step(&mut rng, &mut out, &mut lens, &mut created);
        if every > 0 && (k + 1) % every == 0 {
            out.push(COp::Collect);
        }
    }
    (out, created)
}

fn step(
    rng: &mut rand_chacha::ChaCha8Rng,
    out: &mut Vec<COp>,
    lens: &mut Vec<u32>,
    created: &mut u64,
) {
    let n = lens.len();
    if n == 0 {
        out.push(COp::Create);
        lens.push(0);
        *created += 1;
        return;
    }
    match rng.random_range(0u8..4) {
        0 => {
            out.push(COp::Create);
            lens.push(0);
            *created += 1;
        }
        1 => {
            if n > 1 {
                let from = rng.random_range(0..n);
                let to = rng.random_range(0..n);
                out.push(COp::Edge {
                    from: from as u32,
                    to: to as u32,
                });
                lens[from] += 1;
            }
        }
        2 => {
            let i = rng.random_range(0..n);
            out.push(COp::DropRoot(i as u32));
            lens.swap_remove(i);
        }
        _ => {
            let from = rng.random_range(0..n);
            let len = lens[from];
            if len > 0 {
                let idx = rng.random_range(0..len);
                out.push(COp::DropEdge {
                    from: from as u32,
                    idx,
                });
                lens[from] -= 1;
            }
        }
    }
}
