//! Recording real Python programs: the raw event log the in-interpreter recorder writes
//! ([`raw`]) and its conversion into a gclab op stream that CPython's model replays as the real
//! interpreter ran ([`convert`]).
#![forbid(unsafe_code)]

pub mod convert;
pub mod files;
pub mod raw;
