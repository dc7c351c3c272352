//! # gclab-core
//!
//! The core every other gclab crate depends on: the object model ([`kind`]), the op-stream contract
//! ([`op`], [`workload`]), the simulated heap with exact accounting and the reachability oracle
//! ([`heap`], with object ids in [`id`]), the executor that runs a stream against a strategy
//! ([`executor`]), the strategy plug-in API ([`strategy`]), typed parameters ([`params`]), the
//! recorder of collections ([`recorder`]), trace files of op streams ([`trace`]) and the CPython
//! releases a model stands for ([`version`]).
//!
//! ```text
//! workload(params, seed) --op stream--> executor (simulated heap) --hooks--> strategy
//! ```
//!
//! Strategies never see workloads; workloads never see strategies.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod executor;
pub mod heap;
pub mod id;
pub mod kind;
pub mod op;
pub mod params;
pub mod recorder;
mod slots;
pub mod strategy;
pub mod trace;
pub mod version;
pub mod workload;

pub use executor::{ExecConfig, ExecReport, Executor, ProbeRecord, TimelineSample};
pub use heap::Heap;
pub use id::ObjId;
pub use kind::Kind;
pub use op::{GcOp, InterpOp, Op, Reg, StreamHeader, TypeInfo};
pub use params::{ParamError, ParamSpec, ParamType, Params};
pub use strategy::{
    GcReply, GenerationStats, Preset, Strategy, StrategyFactory, StrategyInfo, StrategyStats,
};
pub use trace::{TraceError, TraceFormat, TraceReader, TraceWriter};
pub use version::{Requested, Version, VersionRange, Versions};
pub use workload::{Emitter, OpSink, Stop, Workload, WorkloadEntry, WorkloadInfo};
