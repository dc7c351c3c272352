//! Trace files: the text form, its exact encoding, quoting, and hand-written traces with
//! comments, blank lines and free spacing.

mod common;

use common::{read, sample_types, tiny, tiny_v2, write};
use gclab_core::trace::TraceFormat;
use gclab_core::workload::CHUNK;
use gclab_core::{GcOp, InterpOp, Kind, Op, StreamHeader, TypeInfo};

#[test]
fn text_encoding_is_exact() {
    let (header, ops) = tiny();
    let bytes = write(TraceFormat::Text, &header, &ops, CHUNK);
    let want = "gclab-trace text 1
workload demo
seed 42
registers 2
param n=2
name request_end
alloc r0 list 3
alloc r1 int 1
append r0 r1
store r0 200 r1
event 0
gc collect -1
gc threshold 700 -10 10
clear r0
end 8
";
    assert_eq!(String::from_utf8(bytes).unwrap(), want);
}

#[test]
fn text_quoting() {
    let header = StreamHeader {
        workload: "a b".into(),
        params: vec![("k=1".into(), "v=1".into()), ("".into(), "".into())],
        seed: 0,
        registers: 0,
        names: vec!["q\"\\\n\u{1}\u{2028}é".into(), "plain".into()],
        types: Vec::new(),
    };
    let text = String::from_utf8(write(TraceFormat::Text, &header, &[], 1)).unwrap();
    assert_eq!(
        text,
        "gclab-trace text 1\nworkload \"a b\"\nseed 0\nregisters 0\nparam \"k=1\"=v=1\n\
         param \"\"=\"\"\nname \"q\\\"\\\\\\n\\u{1}\\u{2028}é\"\nname plain\nend 0\n"
    );
    assert_eq!(read(text.as_bytes()).unwrap().0, header);
}

#[test]
fn hand_written_text() {
    let text = "gclab-trace text 1\r\n\
        # a comment\n\
        \n\
        registers 3\n\
        \tseed   7  \n\
        workload \"hand made\"\n\
        param key=\"quoted value\"\n\
        param \"k 2\"=plain\n\
        name \"\\u{48}i\\t\\0\"\n\
        name two\n\
        alloc r2 dict 0\n\
        \x20 # indented comment between ops\n\
        load r1 r2 0\n\
        copy r0 r1\n\
        probe r0 1\n\
        safepoint\n\
        gc freeze\n\
        gc unfreeze\n\
        gc enable\n\
        gc disable\n\
        end 9\n\
        \n\
        # trailing comment\n";
    let (h, ops) = read(text.as_bytes()).unwrap();
    assert_eq!(
        h,
        StreamHeader {
            workload: "hand made".into(),
            params: vec![
                ("key".into(), "quoted value".into()),
                ("k 2".into(), "plain".into())
            ],
            seed: 7,
            registers: 3,
            names: vec!["Hi\t\0".into(), "two".into()],
            types: Vec::new(),
        }
    );
    assert_eq!(
        ops,
        vec![
            Op::Alloc {
                dst: 2,
                kind: Kind::Dict,
                len: 0
            },
            Op::Load {
                dst: 1,
                obj: 2,
                slot: 0
            },
            Op::Copy { dst: 0, src: 1 },
            Op::Probe { reg: 0, label: 1 },
            Op::SafePoint,
            Op::Gc(GcOp::Freeze),
            Op::Gc(GcOp::Unfreeze),
            Op::Gc(GcOp::Enable),
            Op::Gc(GcOp::Disable),
        ]
    );
    // No newline after the end line is fine too.
    let short = "gclab-trace text 1\nworkload w\nseed 1\nregisters 1\nend 0";
    assert!(read(short.as_bytes()).is_ok());
}

/// Version 2: the type table after the names, `new` and the `interp` ops.
#[test]
fn text_encoding_of_version_2_is_exact() {
    let (header, ops) = tiny_v2();
    let bytes = write(TraceFormat::Text, &header, &ops, CHUNK);
    let want = "gclab-trace text 2
workload rec
seed 0
registers 2
type Node gc
type str leaf
interp set-count 1 3
interp long-lived 200 7
new r0 0 56
interp count 1
interp track r0 0
new r1 1 300
store r0 0 r1
interp untrack r0
interp count -1
clear r0
end 10
";
    assert_eq!(String::from_utf8(bytes).unwrap(), want);
}

/// Type names are quoted like every other string; `gc` and `leaf` as names are fine.
#[test]
fn type_names_are_quoted() {
    let header = StreamHeader::new(0).types(sample_types());
    let text = String::from_utf8(write(TraceFormat::Text, &header, &[], 1)).unwrap();
    assert_eq!(
        text,
        "gclab-trace text 2\nworkload \"\"\nseed 0\nregisters 0\ntype dict gc\ntype str leaf\n\
         type module.Node gc\ntype \"\" leaf\ntype \"with space\" gc\n\
         type \"q\\\"uote\\\\ \\u{2028}é\" leaf\ntype gc gc\nend 0\n"
    );
    assert_eq!(read(text.as_bytes()).unwrap().0, header);
}

#[test]
fn hand_written_version_2_text() {
    let text = "gclab-trace text 2\n\
        # a recording\n\
        registers 2\n\
        type   Node\tgc\n\
        seed 0\n\
        workload rec\n\
        type \"a b\" leaf  \n\
        name ev\n\
        \n\
        new r0 0 0056\n\
        \tinterp   track r0 3\n\
        # between ops\n\
        interp count -2147483648\n\
        interp set-count 0 4294967295\n\
        interp long-lived 0 0\n\
        interp untrack r1\n\
        end 6\n";
    let (h, ops) = read(text.as_bytes()).unwrap();
    assert_eq!(
        h,
        StreamHeader::new(2)
            .workload("rec")
            .names(["ev"])
            .types(vec![
                TypeInfo {
                    name: "Node".into(),
                    gc: true
                },
                TypeInfo {
                    name: "a b".into(),
                    gc: false
                }
            ])
    );
    assert_eq!(
        ops,
        vec![
            Op::New {
                dst: 0,
                ty: 0,
                size: 56
            },
            Op::Interp(InterpOp::Track {
                reg: 0,
                generation: 3
            }),
            Op::Interp(InterpOp::Count { delta: i32::MIN }),
            Op::Interp(InterpOp::SetCount {
                generation: 0,
                value: u32::MAX
            }),
            Op::Interp(InterpOp::LongLived {
                total: 0,
                pending: 0
            }),
            Op::Interp(InterpOp::Untrack { reg: 1 }),
        ]
    );
}
