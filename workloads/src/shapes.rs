//! Live-heap shapes: op streams that build a heap of `n` objects held from register 0, for the
//! benchmarks and probes that time or measure a heap rather than a program (`gclab mem-probe`,
//! `gclab bench-collect`, the `collect` criterion bench). One builder serves them all, so that
//! "a million empty lists" means the same heap everywhere.

use gclab_core::kind::Kind;
use gclab_core::workload::{Emitter, Stop};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Registers a shape's stream uses (0 holds the heap; 1 and 2 are scratch, empty at the end).
pub const REGISTERS: u32 = 3;

/// A live-heap shape. Every shape builds `n` objects in all (at least one), all reachable from
/// register 0 at the end.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// One list holding `n - 1` empty lists (`[[] for _ in range(n - 1)]`).
    Lists,
    /// One list holding `n - 1` dicts, each holding the outer list (so that every dict is
    /// tracked).
    Dicts,
    /// One list holding lists of up to 100 empty lists each.
    WideLists,
    /// One list holding lists of up to 1000 floats each (atoms: untracked, no slots).
    Atoms,
    /// A chain of `n` lists, each holding the previous one, the last in register 0.
    DeepChain,
    /// A chain of `n` one-item tuples, each holding the previous one (the first holds `None`).
    TupleChain,
    /// One list holding `n - 1` lists, each holding two random others (cycles of every length),
    /// seeded by `n`.
    RandomGraph,
}

impl Shape {
    /// Every shape with its name.
    pub const ALL: [(&'static str, Shape); 7] = [
        ("lists", Shape::Lists),
        ("dicts", Shape::Dicts),
        ("wide-lists", Shape::WideLists),
        ("atoms", Shape::Atoms),
        ("deep-chain", Shape::DeepChain),
        ("chain", Shape::TupleChain),
        ("random-graph", Shape::RandomGraph),
    ];

    /// The shape called `name` (see [`Shape::ALL`]).
    pub fn from_name(name: &str) -> Option<Shape> {
        Shape::ALL.iter().find(|(n, _)| *n == name).map(|&(_, s)| s)
    }

    /// The shape called `name` if it is one of `allowed` (the shapes a command offers), or the
    /// message to report: what was wrong and what is valid.
    pub fn parse(name: &str, allowed: &[&str]) -> Result<Shape, String> {
        Shape::from_name(name)
            .filter(|_| allowed.contains(&name))
            .ok_or_else(|| {
                format!(
                    "unknown shape '{name}'; valid shapes: {}",
                    allowed.join(", ")
                )
            })
    }

    /// The shape's name.
    pub fn name(self) -> &'static str {
        Shape::ALL
            .iter()
            .find(|(_, s)| *s == self)
            .map(|(n, _)| *n)
            .unwrap_or("?")
    }

    /// Emits the ops that build the heap of `n` objects (the stream needs [`REGISTERS`]
    /// registers), and flushes them.
    pub fn emit(self, n: u64, out: &mut Emitter<'_>) -> Result<(), Stop> {
        let n = n.max(1);
        match self {
            Shape::Lists | Shape::Dicts => {
                out.alloc(0, Kind::List, 0)?;
                let kind = if self == Shape::Dicts {
                    Kind::Dict
                } else {
                    Kind::List
                };
                for _ in 1..n {
                    out.alloc(1, kind, 0)?;
                    if kind == Kind::Dict {
                        out.store(1, 0, 0)?;
                    }
                    out.append(0, 1)?;
                }
            }
            Shape::WideLists | Shape::Atoms => {
                let (per, kind) = if self == Shape::Atoms {
                    (1000, Kind::Float)
                } else {
                    (100, Kind::List)
                };
                out.alloc(0, Kind::List, 0)?;
                let mut made = 1;
                while made < n {
                    out.alloc(1, Kind::List, 0)?;
                    out.append(0, 1)?;
                    made += 1;
                    let k = (n - made).min(per);
                    for _ in 0..k {
                        out.alloc(2, kind, 0)?;
                        out.append(1, 2)?;
                    }
                    made += k;
                }
            }
            Shape::DeepChain => {
                out.alloc(0, Kind::List, 0)?;
                for _ in 1..n {
                    out.alloc(1, Kind::List, 0)?;
                    out.append(1, 0)?;
                    out.copy(0, 1)?;
                }
            }
            Shape::TupleChain => {
                for _ in 0..n {
                    out.alloc(1, Kind::Tuple, 1)?;
                    out.store(1, 0, 0)?;
                    out.copy(0, 1)?;
                }
            }
            Shape::RandomGraph => {
                let mut rng = ChaCha8Rng::seed_from_u64(n);
                out.alloc(0, Kind::List, 0)?;
                let nodes = n - 1;
                for _ in 0..nodes {
                    out.alloc(1, Kind::List, 0)?;
                    out.append(0, 1)?;
                }
                for i in 0..nodes {
                    out.load(1, 0, i as u32)?;
                    for _ in 0..2 {
                        let j = rng.random_range(0..nodes) as u32;
                        out.load(2, 0, j)?;
                        out.append(1, 2)?;
                    }
                }
            }
        }
        out.clear(1)?;
        out.clear(2)?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gclab_core::executor::{ExecConfig, Executor};
    use gclab_core::heap::{Heap, ObjId};
    use gclab_core::op::StreamHeader;
    use gclab_core::Strategy;

    /// A strategy that frees nothing, so that the heap counts every object built.
    struct NoFree;
    impl Strategy for NoFree {
        fn alloc(&mut self, _: &mut Heap, _: ObjId) {}
        fn retain(&mut self, _: &mut Heap, _: ObjId) {}
        fn release(&mut self, _: &mut Heap, _: ObjId) {}
    }

    #[test]
    fn every_shape_builds_n_objects_all_reachable() {
        for (name, shape) in Shape::ALL {
            assert_eq!(Shape::from_name(name), Some(shape));
            assert_eq!(shape.name(), name);
            for n in [1, 2, 3, 250, 2500] {
                let header = StreamHeader::new(REGISTERS);
                let mut ex = Executor::new(NoFree, &header, ExecConfig::default());
                shape.emit(n, &mut Emitter::new(&mut ex)).unwrap();
                assert_eq!(ex.heap.acct.live_objects, n, "{name} n={n}");
                assert_eq!(ex.heap.unreachable_live().unwrap(), (0, 0), "{name} n={n}");
                assert!(ex.heap.registers()[1].is_nil() && ex.heap.registers()[2].is_nil());
            }
        }
        assert_eq!(Shape::from_name("nope"), None);
        assert_eq!(
            Shape::parse("chain", &["lists", "chain"]),
            Ok(Shape::TupleChain)
        );
        let e = Shape::parse("atoms", &["lists", "chain"]).unwrap_err();
        assert!(e.contains("'atoms'") && e.contains("lists, chain"), "{e}");
    }
}
