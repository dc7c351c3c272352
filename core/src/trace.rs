//! TEMPORARY STUB (replaced by the real trace module).
#![allow(missing_docs)]
use crate::op::{Op, StreamHeader};
use crate::workload::{OpSink, Stop};
use std::path::Path;
pub enum TraceFormat {
    Binary,
    Text,
}
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("stub")]
    Stub,
    #[error(transparent)]
    Stopped(Stop),
}
pub struct TraceWriter<W: std::io::Write> {
    w: W,
}
impl<W: std::io::Write> TraceWriter<W> {
    pub fn new(w: W, _f: TraceFormat) -> Self {
        Self { w }
    }
    pub fn finish(self) -> Result<W, TraceError> {
        Ok(self.w)
    }
}
impl<W: std::io::Write> OpSink for TraceWriter<W> {
    fn ops(&mut self, _o: &[Op]) -> Result<(), Stop> {
        Ok(())
    }
}
pub struct TraceReader<R> {
    h: StreamHeader,
    _r: R,
}
impl<R> TraceReader<R> {
    pub fn header(&self) -> &StreamHeader {
        &self.h
    }
    pub fn feed(&mut self, _s: &mut dyn OpSink) -> Result<u64, TraceError> {
        Err(TraceError::Stub)
    }
}
pub fn open_file(_p: &Path) -> Result<TraceReader<std::fs::File>, TraceError> {
    Err(TraceError::Stub)
}
