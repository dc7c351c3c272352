//! Page tracking off (a stream without a `fork` event) must not change copy-on-write results
//! when a fork happens anyway: pages are then assigned in index order, which equals allocation
//! order as long as no index was reused.

use gclab_core::heap::{Heap, ObjId};
use gclab_core::kind::Kind;

fn run(track: bool) -> gclab_core::heap::CowReport {
    let mut h = Heap::new(4, true);
    h.set_page_tracking(track);
    let mut ids = Vec::new();
    for i in 0..500u32 {
        let kind = if i % 3 == 0 { Kind::List } else { Kind::Str };
        ids.push(h.alloc(kind, i % 50).unwrap());
    }
    h.fork();
    for (n, &id) in ids.iter().enumerate() {
        if n % 7 == 0 {
            h.note_rc_write(id);
        }
        if n % 11 == 0 {
            h.note_gc_write(id);
        }
    }
    // Objects allocated after the fork are not pre-fork: writing them dirties nothing.
    let late = h.alloc(Kind::Float, 0).unwrap();
    h.note_rc_write(late);
    assert_ne!(late, ObjId::NIL);
    h.cow_report()
}

#[test]
fn untracked_pages_match_tracked_pages() {
    let a = run(true);
    let b = run(false);
    assert!(a.prefork_pages > 1, "{a:?}");
    assert!(a.dirty_pages > 0, "{a:?}");
    assert_eq!(a, b);
}
