//! The text form (first line `gclab-trace text 1`, or `2` with a type table): the encoder and
//! the [`TextDecoder`], with the line [`Cursor`] that tokenises it.

use super::{
    Position, TraceError, MAX_COUNT_GENERATION, MAX_NAMES, MAX_PARAMS, MAX_REGISTERS,
    MAX_STRING_BYTES, MAX_TEXT_LINE_BYTES, MAX_TRACK_GENERATION, MAX_TYPES, TEXT_MAGIC, VERSION,
};
use crate::kind::Kind;
use crate::op::{GcOp, InterpOp, Op, StreamHeader, TypeInfo};
use std::fmt;
use std::io::{self, BufRead, BufReader, Read, Write};

/// Appends one formatted line and a `\n`. Writing into a `Vec` cannot fail.
pub(super) fn push_line(buf: &mut Vec<u8>, args: fmt::Arguments<'_>) {
    let _ = buf.write_fmt(args);
    buf.push(b'\n');
}

/// Appends a string as a text-form token: bare when it is non-empty printable ASCII without
/// `"` or `\` (nor `=` for a parameter key), quoted with Rust-style escapes otherwise.
fn put_text_str(buf: &mut Vec<u8>, s: &str, is_key: bool) {
    let bare = !s.is_empty()
        && s.bytes().all(|b| {
            (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\' && !(is_key && b == b'=')
        });
    if bare {
        buf.extend_from_slice(s.as_bytes());
        return;
    }
    buf.push(b'"');
    for c in s.chars() {
        match c {
            '"' => buf.extend_from_slice(b"\\\""),
            '\\' => buf.extend_from_slice(b"\\\\"),
            '\n' => buf.extend_from_slice(b"\\n"),
            '\r' => buf.extend_from_slice(b"\\r"),
            '\t' => buf.extend_from_slice(b"\\t"),
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(buf, "\\u{{{:x}}}", c as u32);
            }
            c => {
                let mut tmp = [0u8; 4];
                buf.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
            }
        }
    }
    buf.push(b'"');
}

pub(super) fn encode_text_header(buf: &mut Vec<u8>, h: &StreamHeader) {
    let version = if h.types.is_empty() { 1 } else { VERSION };
    push_line(buf, format_args!("{TEXT_MAGIC} {version}"));
    buf.extend_from_slice(b"workload ");
    put_text_str(buf, &h.workload, false);
    buf.push(b'\n');
    push_line(buf, format_args!("seed {}", h.seed));
    push_line(buf, format_args!("registers {}", h.registers));
    for (k, v) in &h.params {
        buf.extend_from_slice(b"param ");
        put_text_str(buf, k, true);
        buf.push(b'=');
        put_text_str(buf, v, false);
        buf.push(b'\n');
    }
    for n in &h.names {
        buf.extend_from_slice(b"name ");
        put_text_str(buf, n, false);
        buf.push(b'\n');
    }
    for t in &h.types {
        buf.extend_from_slice(b"type ");
        put_text_str(buf, &t.name, false);
        buf.extend_from_slice(if t.gc { b" gc\n" } else { b" leaf\n" });
    }
}

pub(super) fn encode_text_op(buf: &mut Vec<u8>, op: &Op) {
    match *op {
        Op::Alloc { dst, kind, len } => {
            push_line(buf, format_args!("alloc r{dst} {} {len}", kind.name()))
        }
        Op::Store { obj, slot, src } => push_line(buf, format_args!("store r{obj} {slot} r{src}")),
        Op::Append { list, src } => push_line(buf, format_args!("append r{list} r{src}")),
        Op::Load { dst, obj, slot } => push_line(buf, format_args!("load r{dst} r{obj} {slot}")),
        Op::Copy { dst, src } => push_line(buf, format_args!("copy r{dst} r{src}")),
        Op::Clear { dst } => push_line(buf, format_args!("clear r{dst}")),
        Op::Event { id } => push_line(buf, format_args!("event {id}")),
        Op::Probe { reg, label } => push_line(buf, format_args!("probe r{reg} {label}")),
        Op::SafePoint => push_line(buf, format_args!("safepoint")),
        Op::Gc(GcOp::Collect { generation }) => {
            push_line(buf, format_args!("gc collect {generation}"))
        }
        Op::Gc(GcOp::Freeze) => push_line(buf, format_args!("gc freeze")),
        Op::Gc(GcOp::Unfreeze) => push_line(buf, format_args!("gc unfreeze")),
        Op::Gc(GcOp::Enable) => push_line(buf, format_args!("gc enable")),
        Op::Gc(GcOp::Disable) => push_line(buf, format_args!("gc disable")),
        Op::Gc(GcOp::SetThreshold { t0, t1, t2 }) => {
            push_line(buf, format_args!("gc threshold {t0} {t1} {t2}"))
        }
        Op::New { dst, ty, size } => push_line(buf, format_args!("new r{dst} {ty} {size}")),
        Op::Interp(InterpOp::Count { delta }) => {
            push_line(buf, format_args!("interp count {delta}"))
        }
        Op::Interp(InterpOp::Track { reg, generation }) => {
            push_line(buf, format_args!("interp track r{reg} {generation}"))
        }
        Op::Interp(InterpOp::Untrack { reg }) => {
            push_line(buf, format_args!("interp untrack r{reg}"))
        }
        Op::Interp(InterpOp::SetCount { generation, value }) => {
            push_line(buf, format_args!("interp set-count {generation} {value}"))
        }
        Op::Interp(InterpOp::LongLived { total, pending }) => {
            push_line(buf, format_args!("interp long-lived {total} {pending}"))
        }
    }
}

/// Text-form decoder: a buffered reader, the current line and its number.
pub(super) struct TextDecoder<R: Read> {
    r: BufReader<R>,
    /// Number of the line in `buf` (0 before the first).
    line: u64,
    /// The current line, without its line ending. Before the first line is read it holds the
    /// bytes already consumed by format detection.
    buf: Vec<u8>,
    /// `buf` holds a content line not yet parsed as an op.
    pending: bool,
}

/// What a text-form op line may start with.
const TEXT_OPS: &str = "an op (alloc, store, append, load, copy, clear, event, probe, safepoint, \
                        gc, new, interp) or `end`";

impl<R: Read> TextDecoder<R> {
    /// A decoder reading from `r`, of a file whose first bytes, `consumed`, format detection
    /// has already read: they start the first line.
    pub(super) fn new(r: BufReader<R>, consumed: Vec<u8>) -> TextDecoder<R> {
        TextDecoder {
            r,
            line: 0,
            buf: consumed,
            pending: false,
        }
    }

    /// Reads the next line into `buf` (appending to what `buf` holds when `keep` is set).
    /// Returns false at end of file.
    fn read_line(&mut self, keep: bool) -> Result<bool, TraceError> {
        if !keep {
            self.buf.clear();
        }
        let before = self.buf.len() as u64;
        let limit = MAX_TEXT_LINE_BYTES + 1 - before.min(MAX_TEXT_LINE_BYTES);
        let line = self.line + 1;
        let got = loop {
            match (&mut self.r).take(limit).read_until(b'\n', &mut self.buf) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => {
                    return Err(TraceError::Io {
                        at: Position::Line { line, column: 1 },
                        source,
                    })
                }
            }
        };
        if got == 0 && self.buf.is_empty() {
            return Ok(false);
        }
        self.line = line;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if self.buf.len() as u64 > MAX_TEXT_LINE_BYTES {
            return Err(TraceError::LimitExceeded {
                at: Position::Line { line, column: 1 },
                what: "line length (bytes)",
                value: self.buf.len() as u64,
                limit: MAX_TEXT_LINE_BYTES,
            });
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        if let Err(e) = std::str::from_utf8(&self.buf) {
            let valid = e.valid_up_to();
            let column = String::from_utf8_lossy(&self.buf[..valid]).chars().count() as u64 + 1;
            return Err(TraceError::InvalidUtf8 {
                at: Position::Line { line, column },
                expected: "a line of text",
            });
        }
        Ok(true)
    }

    /// Reads lines until one that is neither blank nor a `#` comment. Returns false at end of
    /// file.
    fn next_content_line(&mut self) -> Result<bool, TraceError> {
        loop {
            if !self.read_line(false)? {
                return Ok(false);
            }
            let first = self.buf.iter().find(|&&b| b != b' ' && b != b'\t');
            if !matches!(first, None | Some(b'#')) {
                return Ok(true);
            }
        }
    }

    fn cursor(&self) -> Cursor<'_> {
        // `read_line` checked the line is UTF-8.
        let s = std::str::from_utf8(&self.buf).unwrap_or("");
        Cursor {
            s,
            pos: 0,
            line: self.line,
        }
    }

    fn eof_position(&self) -> Position {
        Position::Line {
            line: self.line + 1,
            column: 1,
        }
    }

    pub(super) fn header(&mut self) -> Result<StreamHeader, TraceError> {
        // Line 1: the magic line, whose first bytes format detection already consumed.
        if !self.read_line(true)? {
            return Err(TraceError::Truncated {
                at: self.eof_position(),
                expected: format!("the line `{TEXT_MAGIC} {VERSION}`"),
            });
        }
        let version = self.cursor().magic_line()?;

        let mut workload: Option<String> = None;
        let mut seed: Option<u64> = None;
        let mut registers: Option<u32> = None;
        let mut params = Vec::new();
        let mut names = Vec::new();
        let mut types = Vec::new();
        loop {
            if !self.next_content_line()? {
                return Err(TraceError::Truncated {
                    at: self.eof_position(),
                    expected: "a header line, an op or the `end N` line".into(),
                });
            }
            let mut c = self.cursor();
            let (pos, word) = c.token();
            let dup = |c: &Cursor<'_>| c.syntax(pos, format!("one `{word}` line only"), word);
            match word {
                "workload" => {
                    if workload.is_some() {
                        return Err(dup(&c));
                    }
                    workload = Some(c.string("the workload name", false)?);
                }
                "seed" => {
                    if seed.is_some() {
                        return Err(dup(&c));
                    }
                    seed = Some(c.u64("the seed")?);
                }
                "registers" => {
                    if registers.is_some() {
                        return Err(dup(&c));
                    }
                    registers = Some(c.register_count()?);
                }
                "param" => {
                    if params.len() as u64 >= MAX_PARAMS {
                        return Err(TraceError::LimitExceeded {
                            at: c.at(pos),
                            what: "parameter count",
                            value: MAX_PARAMS + 1,
                            limit: MAX_PARAMS,
                        });
                    }
                    params.push(c.param()?);
                }
                "name" => {
                    if names.len() as u64 >= MAX_NAMES {
                        return Err(TraceError::LimitExceeded {
                            at: c.at(pos),
                            what: "name-table size",
                            value: MAX_NAMES + 1,
                            limit: MAX_NAMES,
                        });
                    }
                    names.push(c.string("a name", false)?);
                }
                "type" => {
                    if version < 2 {
                        return Err(c.syntax(
                            pos,
                            "a header line of version 1 (a type table needs version 2: \
                             `gclab-trace text 2`)",
                            word,
                        ));
                    }
                    if types.len() as u64 >= MAX_TYPES {
                        return Err(TraceError::LimitExceeded {
                            at: c.at(pos),
                            what: "type-table size",
                            value: MAX_TYPES + 1,
                            limit: MAX_TYPES,
                        });
                    }
                    let name = c.string("a type name", false)?;
                    let (fpos, flag) = c.token();
                    let gc = match flag {
                        "gc" => true,
                        "leaf" => false,
                        _ => {
                            return Err(c.syntax(fpos, "`gc` or `leaf` after a type's name", flag))
                        }
                    };
                    types.push(TypeInfo { name, gc });
                }
                _ => {
                    // The first op (or `end`): the header is over.
                    let missing = if workload.is_none() {
                        Some("workload")
                    } else if seed.is_none() {
                        Some("seed")
                    } else if registers.is_none() {
                        Some("registers")
                    } else {
                        None
                    };
                    if let Some(m) = missing {
                        return Err(c.syntax(
                            pos,
                            format!("a `{m}` header line before the first op"),
                            word,
                        ));
                    }
                    self.pending = true;
                    break;
                }
            }
            c.end()?;
        }
        Ok(StreamHeader {
            workload: workload.unwrap_or_default(),
            params,
            seed: seed.unwrap_or_default(),
            registers: registers.unwrap_or_default(),
            names,
            types,
        })
    }

    pub(super) fn next_op(&mut self, count: u64) -> Result<Option<Op>, TraceError> {
        if self.pending {
            self.pending = false;
        } else if !self.next_content_line()? {
            return Err(TraceError::Truncated {
                at: self.eof_position(),
                expected: "an op or the `end N` line".into(),
            });
        }
        let mut c = self.cursor();
        let (pos, word) = c.token();
        let op = match word {
            "alloc" => {
                let dst = c.reg("the dst register of alloc")?;
                let kind = c.kind()?;
                let len = c.u32("the len of alloc")?;
                Op::Alloc { dst, kind, len }
            }
            "store" => {
                let obj = c.reg("the obj register of store")?;
                let slot = c.u32("the slot of store")?;
                let src = c.reg("the src register of store")?;
                Op::Store { obj, slot, src }
            }
            "append" => {
                let list = c.reg("the list register of append")?;
                let src = c.reg("the src register of append")?;
                Op::Append { list, src }
            }
            "load" => {
                let dst = c.reg("the dst register of load")?;
                let obj = c.reg("the obj register of load")?;
                let slot = c.u32("the slot of load")?;
                Op::Load { dst, obj, slot }
            }
            "copy" => {
                let dst = c.reg("the dst register of copy")?;
                let src = c.reg("the src register of copy")?;
                Op::Copy { dst, src }
            }
            "clear" => Op::Clear {
                dst: c.reg("the dst register of clear")?,
            },
            "event" => Op::Event {
                id: c.u32("the name id of event")?,
            },
            "probe" => {
                let reg = c.reg("the register of probe")?;
                let label = c.u32("the label name id of probe")?;
                Op::Probe { reg, label }
            }
            "safepoint" => Op::SafePoint,
            "gc" => Op::Gc(c.gc_op()?),
            "new" => {
                let dst = c.reg("the dst register of new")?;
                let ty = c.u32("the type of new")?;
                let size = c.u32("the size of new")?;
                Op::New { dst, ty, size }
            }
            "interp" => Op::Interp(c.interp_op()?),
            "end" => {
                let npos = c.peek_pos();
                let at = c.at(npos);
                let declared = c.u64("the op count of end")?;
                c.end()?;
                if declared != count {
                    return Err(TraceError::CountMismatch {
                        at,
                        declared,
                        actual: count,
                    });
                }
                if self.next_content_line()? {
                    let mut c = self.cursor();
                    let gpos = c.peek_pos();
                    let at = c.at(gpos);
                    return Err(TraceError::TrailingGarbage { at });
                }
                return Ok(None);
            }
            "workload" | "seed" | "registers" | "param" | "name" | "type" => {
                return Err(c.syntax(
                    pos,
                    format!("{TEXT_OPS}; header lines must come before the first op"),
                    word,
                ))
            }
            _ => {
                return Err(TraceError::UnknownOpcode {
                    at: c.at(pos),
                    found: format!("`{}`", clip(word)),
                    expected: TEXT_OPS,
                })
            }
        };
        c.end()?;
        Ok(Some(op))
    }
}

/// At most 40 characters of `s`, for error messages.
fn clip(s: &str) -> String {
    let mut out: String = s.chars().take(40).collect();
    if out.len() < s.len() {
        out.push('…');
    }
    out
}

fn parse_u64(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// A position in one text line, for tokenising.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
    line: u64,
}

impl<'a> Cursor<'a> {
    fn at(&self, pos: usize) -> Position {
        let column = self.s.get(..pos).map_or(0, |p| p.chars().count()) as u64 + 1;
        Position::Line {
            line: self.line,
            column,
        }
    }

    fn rest(&self) -> &'a str {
        self.s.get(self.pos..).unwrap_or("")
    }

    fn skip_ws(&mut self) {
        let rest = self.rest();
        self.pos += rest.len() - rest.trim_start_matches([' ', '\t']).len();
    }

    /// Position of the next token.
    fn peek_pos(&mut self) -> usize {
        self.skip_ws();
        self.pos
    }

    /// The next whitespace-delimited token and where it starts (empty at end of line).
    fn token(&mut self) -> (usize, &'a str) {
        self.skip_ws();
        let rest = self.rest();
        let len = rest.find([' ', '\t']).unwrap_or(rest.len());
        let start = self.pos;
        self.pos += len;
        (start, &rest[..len])
    }

    fn syntax(&self, pos: usize, expected: impl Into<String>, found: &str) -> TraceError {
        TraceError::Syntax {
            at: self.at(pos),
            expected: expected.into(),
            found: if found.is_empty() {
                "end of line".into()
            } else {
                format!("`{}`", clip(found))
            },
        }
    }

    /// Nothing but whitespace may remain.
    fn end(&mut self) -> Result<(), TraceError> {
        let (pos, t) = self.token();
        if t.is_empty() {
            Ok(())
        } else {
            Err(self.syntax(pos, "end of line", t))
        }
    }

    fn u64(&mut self, what: &str) -> Result<u64, TraceError> {
        let (pos, t) = self.token();
        parse_u64(t)
            .ok_or_else(|| self.syntax(pos, format!("{what} (an integer 0..={})", u64::MAX), t))
    }

    fn u32(&mut self, what: &str) -> Result<u32, TraceError> {
        let (pos, t) = self.token();
        parse_u64(t)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| self.syntax(pos, format!("{what} (an integer 0..={})", u32::MAX), t))
    }

    fn i32(&mut self, what: &str) -> Result<i32, TraceError> {
        let (pos, t) = self.token();
        let digits = t.strip_prefix('-').unwrap_or(t);
        let ok = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| t.parse::<i32>().ok()).flatten().ok_or_else(|| {
            self.syntax(
                pos,
                format!("{what} (an integer {}..={})", i32::MIN, i32::MAX),
                t,
            )
        })
    }

    fn reg(&mut self, what: &str) -> Result<u32, TraceError> {
        let (pos, t) = self.token();
        t.strip_prefix('r')
            .and_then(parse_u64)
            .and_then(|v| u32::try_from(v).ok())
            .ok_or_else(|| self.syntax(pos, format!("{what} (a register like `r0`)"), t))
    }

    /// The rest of the first line of a text trace, after the bytes format detection matched:
    /// `gclab-trace text VERSION` and nothing else. Returns the version.
    fn magic_line(&mut self) -> Result<u64, TraceError> {
        let found = self.s.chars().take(40).collect::<String>();
        let bad = || TraceError::BadMagic {
            at: Position::Line { line: 1, column: 1 },
            found: format!("{found:?}"),
        };
        let (_, w1) = self.token();
        let (_, w2) = self.token();
        if w1 != "gclab-trace" || w2 != "text" {
            return Err(bad());
        }
        let (pos, v) = self.token();
        let version = parse_u64(v).ok_or_else(|| {
            self.syntax(pos, "the format version number after `gclab-trace text`", v)
        })?;
        if !(1..=u64::from(VERSION)).contains(&version) {
            return Err(TraceError::UnsupportedVersion {
                at: self.at(pos),
                version,
            });
        }
        self.end()?;
        Ok(version)
    }

    /// The operand of a `registers` header line: at most [`MAX_REGISTERS`].
    fn register_count(&mut self) -> Result<u32, TraceError> {
        let at = self.peek_pos();
        let n = self.u32("the register count")?;
        if n > MAX_REGISTERS {
            return Err(TraceError::LimitExceeded {
                at: self.at(at),
                what: "register count",
                value: n.into(),
                limit: MAX_REGISTERS.into(),
            });
        }
        Ok(n)
    }

    /// The `key=value` of a `param` header line.
    fn param(&mut self) -> Result<(String, String), TraceError> {
        let k = self.string("a parameter key", true)?;
        if !self.rest().starts_with('=') {
            let (p, t) = self.token();
            return Err(self.syntax(p, "`=` between the parameter key and value", t));
        }
        self.pos += 1;
        if self.rest().starts_with([' ', '\t']) || self.rest().is_empty() {
            return Err(self.syntax(
                self.pos,
                "a parameter value right after `=` (quote an empty value: \"\")",
                "",
            ));
        }
        let v = self.string("a parameter value", false)?;
        Ok((k, v))
    }

    /// The kind operand of an `alloc` line.
    fn kind(&mut self) -> Result<Kind, TraceError> {
        let (kpos, k) = self.token();
        Kind::from_name(k).ok_or_else(|| {
            if k.is_empty() {
                self.syntax(kpos, "the kind of alloc", k)
            } else {
                TraceError::UnknownKind {
                    at: self.at(kpos),
                    found: format!("`{}`", clip(k)),
                    expected: "int, float, str, bytes, tuple, list, dict, instance, object or leaf",
                }
            }
        })
    }

    /// The rest of a `gc` line: the sub-command and its operands.
    fn gc_op(&mut self) -> Result<GcOp, TraceError> {
        let (spos, sub) = self.token();
        Ok(match sub {
            "collect" => GcOp::Collect {
                generation: self.i32("the generation of gc collect")?,
            },
            "freeze" => GcOp::Freeze,
            "unfreeze" => GcOp::Unfreeze,
            "enable" => GcOp::Enable,
            "disable" => GcOp::Disable,
            "threshold" => {
                let t0 = self.i32("the t0 of gc threshold")?;
                let t1 = self.i32("the t1 of gc threshold")?;
                let t2 = self.i32("the t2 of gc threshold")?;
                GcOp::SetThreshold { t0, t1, t2 }
            }
            _ => {
                return Err(TraceError::UnknownOpcode {
                    at: self.at(spos),
                    found: format!("`gc {}`", clip(sub)),
                    expected: "gc collect, freeze, unfreeze, enable, disable or threshold",
                })
            }
        })
    }

    /// The rest of an `interp` line.
    fn interp_op(&mut self) -> Result<InterpOp, TraceError> {
        let (spos, sub) = self.token();
        Ok(match sub {
            "count" => InterpOp::Count {
                delta: self.i32("the delta of interp count")?,
            },
            "track" => {
                let reg = self.reg("the register of interp track")?;
                let generation = self.generation(
                    "the generation of interp track",
                    "generation of interp track",
                    MAX_TRACK_GENERATION,
                )?;
                InterpOp::Track { reg, generation }
            }
            "untrack" => InterpOp::Untrack {
                reg: self.reg("the register of interp untrack")?,
            },
            "set-count" => {
                let generation = self.generation(
                    "the generation of interp set-count",
                    "generation of interp set-count",
                    MAX_COUNT_GENERATION,
                )?;
                let value = self.u32("the value of interp set-count")?;
                InterpOp::SetCount { generation, value }
            }
            "long-lived" => {
                let total = self.u32("the total of interp long-lived")?;
                let pending = self.u32("the pending of interp long-lived")?;
                InterpOp::LongLived { total, pending }
            }
            _ => {
                return Err(TraceError::UnknownOpcode {
                    at: self.at(spos),
                    found: format!("`interp {}`", clip(sub)),
                    expected: "interp count, track, untrack, set-count or long-lived",
                })
            }
        })
    }

    /// A generation operand of at most `max`.
    fn generation(&mut self, operand: &str, what: &'static str, max: u8) -> Result<u8, TraceError> {
        let pos = self.peek_pos();
        let v = self.u32(operand)?;
        match u8::try_from(v) {
            Ok(g) if g <= max => Ok(g),
            _ => Err(TraceError::LimitExceeded {
                at: self.at(pos),
                what,
                value: v.into(),
                limit: max.into(),
            }),
        }
    }

    /// A bare or quoted string. A bare key stops at `=`.
    fn string(&mut self, what: &str, is_key: bool) -> Result<String, TraceError> {
        self.skip_ws();
        let start = self.pos;
        let rest = self.rest();
        let too_long = |c: &Cursor<'_>| TraceError::LimitExceeded {
            at: c.at(start),
            what: "string length (bytes)",
            value: MAX_STRING_BYTES + 1,
            limit: MAX_STRING_BYTES,
        };
        if let Some(body) = rest.strip_prefix('"') {
            let mut out = String::new();
            let mut chars = body.char_indices();
            loop {
                let Some((i, ch)) = chars.next() else {
                    return Err(self.syntax(
                        start + 1 + body.len(),
                        format!("the closing `\"` of {what}"),
                        "",
                    ));
                };
                match ch {
                    '"' => {
                        self.pos = start + 1 + i + 1;
                        break;
                    }
                    '\\' => {
                        let esc_pos = start + 1 + i;
                        let bad = |c: &Cursor<'_>| {
                            let found: String = body[i..].chars().take(10).collect();
                            c.syntax(
                                esc_pos,
                                "an escape: \\\\ \\\" \\n \\r \\t \\0 or \\u{HEX}",
                                &found,
                            )
                        };
                        match chars.next().map(|(_, e)| e) {
                            Some('\\') => out.push('\\'),
                            Some('"') => out.push('"'),
                            Some('n') => out.push('\n'),
                            Some('r') => out.push('\r'),
                            Some('t') => out.push('\t'),
                            Some('0') => out.push('\0'),
                            Some('u') => {
                                if chars.next().map(|(_, e)| e) != Some('{') {
                                    return Err(bad(self));
                                }
                                let mut v: u32 = 0;
                                let mut digits = 0;
                                loop {
                                    match chars.next().map(|(_, e)| e) {
                                        Some('}') if digits > 0 => break,
                                        Some(d) if d.is_ascii_hexdigit() && digits < 6 => {
                                            v = v * 16 + d.to_digit(16).unwrap_or(0);
                                            digits += 1;
                                        }
                                        _ => return Err(bad(self)),
                                    }
                                }
                                out.push(char::from_u32(v).ok_or_else(|| bad(self))?);
                            }
                            _ => return Err(bad(self)),
                        }
                    }
                    ch => out.push(ch),
                }
                if out.len() as u64 > MAX_STRING_BYTES {
                    return Err(too_long(self));
                }
            }
            Ok(out)
        } else {
            let len = rest
                .find(|ch: char| ch == ' ' || ch == '\t' || (is_key && ch == '='))
                .unwrap_or(rest.len());
            let word = &rest[..len];
            if word.is_empty() {
                return Err(self.syntax(start, format!("{what} (a string)"), word));
            }
            if let Some(bad) = word.find(['"', '\\']) {
                return Err(self.syntax(
                    start + bad,
                    format!("{what} as a bare string without `\"` or `\\` (or quote it)"),
                    word,
                ));
            }
            if len as u64 > MAX_STRING_BYTES {
                return Err(too_long(self));
            }
            self.pos += len;
            Ok(word.to_string())
        }
    }
}
