//! Workloads and op sinks: how an op stream is produced and consumed, lazily.
//!
//! A workload pushes ops through an [`Emitter`], which buffers them and hands them in chunks to
//! an [`OpSink`]: the executor, a trace writer, a counter. Nothing ever holds a whole stream in
//! memory. A sink can stop the stream (an error, a memory budget exceeded); the workload then
//! returns at its next `?`.

use crate::heap::HeapError;
use crate::kind::Kind;
use crate::op::{GcOp, Op, Reg, StreamHeader};
use crate::params::{ParamError, ParamSpec, Params};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Why an op could not be executed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ExecErrorKind {
    /// A register index beyond the stream's register count.
    #[error("register r{reg} does not exist (the stream declares {registers} registers)")]
    NoSuchRegister {
        /// The register.
        reg: Reg,
        /// How many the stream declares.
        registers: u32,
    },
    /// An op needs an object but the register is empty.
    #[error("register r{reg} is empty")]
    EmptyRegister {
        /// The register.
        reg: Reg,
    },
    /// A name index beyond the stream's name table.
    #[error("name #{id} does not exist (the stream declares {names} names)")]
    NoSuchName {
        /// The index.
        id: u32,
        /// How many names the stream declares.
        names: u32,
    },
    /// A type index beyond the stream's type table.
    #[error("type #{ty} does not exist (the stream declares {types} types)")]
    NoSuchType {
        /// The index.
        ty: u32,
        /// How many types the stream declares.
        types: u32,
    },
    /// A heap operation failed.
    #[error(transparent)]
    Heap(#[from] HeapError),
    /// `gc.collect(g)` with g outside 0..=2: CPython raises `ValueError("invalid generation")`.
    #[error("gc.collect({generation}): CPython raises ValueError('invalid generation'); valid generations are 0, 1 and 2")]
    InvalidGeneration {
        /// The generation asked for.
        generation: i32,
    },
    /// An allocation whose simulated storage would exceed the simulator's bound (see
    /// [`crate::kind::MAX_TUPLE_LEN`]).
    #[error(
        "a {kind} of length {len} exceeds the simulator's limit; valid lengths are 0..={limit}"
    )]
    TooLarge {
        /// The kind allocated.
        kind: &'static str,
        /// The length asked for.
        len: u32,
        /// The largest length allowed.
        limit: u32,
    },
    /// The strategy freed an object that the program can still reach (caught by the oracle or
    /// by a use of the object).
    #[error("object {obj} was freed while still reachable (strategy bug)")]
    ReachableFreed {
        /// The object's index.
        obj: u32,
    },
}

/// An op that could not be executed, and where in the stream it was.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("op {op_index} ({op}): {kind}")]
pub struct ExecError {
    /// The op's position in the stream (0-based).
    pub op_index: u64,
    /// The op, printed.
    pub op: String,
    /// What went wrong.
    pub kind: ExecErrorKind,
}

/// Why a stream stopped before its end.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Stop {
    /// An op could not be executed.
    #[error(transparent)]
    Exec(#[from] ExecError),
    /// Live bytes exceeded the simulated memory budget.
    #[error("out of memory: {live_bytes} live bytes exceed the budget of {budget} bytes at op {op_index}")]
    OutOfMemory {
        /// Live bytes when the budget was exceeded (for an allocation refused before it
        /// happened, the live bytes it would have made; that op is not executed).
        live_bytes: u64,
        /// The budget.
        budget: u64,
        /// The op that exceeded it.
        op_index: u64,
    },
    /// The sink failed for its own reason (for example an I/O error writing a trace).
    #[error("{0}")]
    Sink(String),
}

/// Consumes ops in chunks.
pub trait OpSink {
    /// Called once before any op.
    fn begin(&mut self, _header: &StreamHeader) -> Result<(), Stop> {
        Ok(())
    }
    /// Consumes a chunk of ops, in order.
    fn ops(&mut self, ops: &[Op]) -> Result<(), Stop>;
    /// Consumes one op. The trace reader hands its ops over one at a time, as it decodes them,
    /// so that a sink that executes them (the executor) dispatches on each op once, in the
    /// decoder's own `match`, instead of once to decode and again to execute. The default
    /// passes the op on as a chunk of one.
    #[inline]
    fn op(&mut self, op: &Op) -> Result<(), Stop> {
        self.ops(std::slice::from_ref(op))
    }
    /// True when [`OpSink::op_fast`] may take ops now; the trace reader asks before each run of
    /// its fast loop. The default: no.
    #[inline]
    fn has_fast_path(&self) -> bool {
        false
    }
    /// Consumes one op if the sink can do so on a fast path that cannot fail: `true` when it
    /// did; `false` when it declined, having changed nothing, and the caller then hands the
    /// same op to [`OpSink::op`]. The trace reader's fast loop tries this first when
    /// [`OpSink::has_fast_path`] says so, so that the common case builds neither the op nor a
    /// `Result` in memory. The default declines every op.
    #[inline(always)]
    fn op_fast(&mut self, _op: &Op) -> bool {
        false
    }
}

/// Number of ops an [`Emitter`] buffers before handing them to the sink.
pub const CHUNK: usize = 1024;

/// Buffers a workload's ops and hands them to a sink in chunks. Every method returns `Err` once
/// the sink has stopped the stream, so a workload written with `?` ends promptly.
pub struct Emitter<'a> {
    buf: Vec<Op>,
    sink: &'a mut dyn OpSink,
}

impl<'a> Emitter<'a> {
    /// An emitter feeding `sink`.
    pub fn new(sink: &'a mut dyn OpSink) -> Emitter<'a> {
        Emitter {
            buf: Vec::with_capacity(CHUNK),
            sink,
        }
    }

    /// Queues one op.
    #[inline]
    pub fn op(&mut self, op: Op) -> Result<(), Stop> {
        self.buf.push(op);
        if self.buf.len() >= CHUNK {
            self.flush()
        } else {
            Ok(())
        }
    }

    /// Hands every queued op to the sink.
    pub fn flush(&mut self) -> Result<(), Stop> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let r = self.sink.ops(&self.buf);
        self.buf.clear();
        r
    }

    /// `dst = kind(len)`.
    #[inline]
    pub fn alloc(&mut self, dst: Reg, kind: Kind, len: u32) -> Result<(), Stop> {
        self.op(Op::Alloc { dst, kind, len })
    }
    /// `obj[slot] = src`.
    #[inline]
    pub fn store(&mut self, obj: Reg, slot: u32, src: Reg) -> Result<(), Stop> {
        self.op(Op::Store { obj, slot, src })
    }
    /// `list.append(src)`.
    #[inline]
    pub fn append(&mut self, list: Reg, src: Reg) -> Result<(), Stop> {
        self.op(Op::Append { list, src })
    }
    /// `dst = obj[slot]`.
    #[inline]
    pub fn load(&mut self, dst: Reg, obj: Reg, slot: u32) -> Result<(), Stop> {
        self.op(Op::Load { dst, obj, slot })
    }
    /// `dst = src`.
    #[inline]
    pub fn copy(&mut self, dst: Reg, src: Reg) -> Result<(), Stop> {
        self.op(Op::Copy { dst, src })
    }
    /// `del dst`.
    #[inline]
    pub fn clear(&mut self, dst: Reg) -> Result<(), Stop> {
        self.op(Op::Clear { dst })
    }
    /// A named event (`id` indexes the header's names).
    #[inline]
    pub fn event(&mut self, id: u32) -> Result<(), Stop> {
        self.op(Op::Event { id })
    }
    /// Observe register `reg` under label `label`.
    #[inline]
    pub fn probe(&mut self, reg: Reg, label: u32) -> Result<(), Stop> {
        self.op(Op::Probe { reg, label })
    }
    /// A safe point.
    #[inline]
    pub fn safe_point(&mut self) -> Result<(), Stop> {
        self.op(Op::SafePoint)
    }
    /// A `gc` module call.
    #[inline]
    pub fn gc(&mut self, op: GcOp) -> Result<(), Stop> {
        self.op(Op::Gc(op))
    }
}

/// A workload: a pure function of (parameters, seed) that yields an op stream.
pub trait Workload: Send + Sync {
    /// The stream header: registers used and the name table (workload, params and seed are
    /// filled in by [`stream`]).
    fn header(&self) -> StreamHeader;

    /// Emits the whole stream. Must depend only on the parameters the workload was built with
    /// and on `rng` (seeded from the run's seed): never on time, thread or strategy.
    fn generate(&self, rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop>;
}

/// How a workload describes itself to the catalogue.
#[derive(Copy, Clone, Debug)]
pub struct WorkloadInfo {
    /// The workload's name.
    pub name: &'static str,
    /// One line saying what it models.
    pub description: &'static str,
    /// Its parameters.
    pub params: &'static [ParamSpec],
}

/// A catalogue entry: a workload's description and its constructor.
#[derive(Copy, Clone)]
pub struct WorkloadEntry {
    /// Description.
    pub info: WorkloadInfo,
    /// Builds the workload from resolved parameters; rejects values outside their range.
    pub build: fn(&Params) -> Result<Box<dyn Workload>, ParamError>,
}

/// The RNG every workload uses: ChaCha8, seeded from the run's seed. ChaCha8's output is
/// specified and portable, so the same seed gives the same stream on every machine.
pub fn workload_rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// The header [`stream`] begins its sink with: the workload's own (registers, names) plus its
/// name, its parameters and the seed. For a caller that needs the header before streaming (an
/// executor is built from it).
pub fn stream_header(
    name: &str,
    params: &Params,
    workload: &dyn Workload,
    seed: u64,
) -> StreamHeader {
    workload
        .header()
        .workload(name)
        .params(params.pairs())
        .seed(seed)
}

/// Runs `workload` with `seed` into `sink`, with the full header (workload name, parameters,
/// seed) passed to the sink first. Flushes at the end.
pub fn stream(
    name: &str,
    params: &Params,
    workload: &dyn Workload,
    seed: u64,
    sink: &mut dyn OpSink,
) -> Result<StreamHeader, Stop> {
    let header = stream_header(name, params, workload, seed);
    sink.begin(&header)?;
    let mut rng = workload_rng(seed);
    let mut em = Emitter::new(sink);
    workload.generate(&mut rng, &mut em)?;
    em.flush()?;
    Ok(header)
}

/// A sink that only counts ops: for tests and characterisation.
#[derive(Default, Debug)]
pub struct CountingSink {
    /// Ops seen.
    pub ops: u64,
    /// A running FNV-1a hash of the ops' debug form: equal streams give equal hashes.
    pub hash: u64,
}

impl OpSink for CountingSink {
    fn ops(&mut self, ops: &[Op]) -> Result<(), Stop> {
        if self.hash == 0 {
            self.hash = 0xcbf2_9ce4_8422_2325;
        }
        for op in ops {
            self.ops += 1;
            for b in format!("{op:?}").bytes() {
                self.hash ^= b as u64;
                self.hash = self.hash.wrapping_mul(0x0100_0000_01b3);
            }
        }
        Ok(())
    }
}
