//! The independent model the checks compare a strategy against.
//!
//! A *shadow* executor runs the same stream with a strategy that never frees ([`NoFree`]), so
//! its heap is the program's whole object graph: every object ever allocated, with the
//! references it holds now (an unreachable object is never written again, so its references are
//! those it had when it died). With freed ids quarantined (`verify` mode) the shadow and the
//! real heap give every object the same id. From that graph:
//!
//! * the objects reachable from the registers must be live under every strategy;
//! * after a full collection a complete collector keeps exactly those;
//! * pure reference counting keeps exactly the objects reachable from the registers *or from a
//!   cycle* (an object on a cycle never drops to count zero, and neither does anything it
//!   reaches; everything else is freed, from the sources of the acyclic garbage inwards).

use gclab_core::heap::{Heap, ObjId};
use gclab_core::Strategy;

/// A strategy that never frees anything and keeps no metadata: the shadow heap's strategy.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoFree;

impl Strategy for NoFree {
    fn alloc(&mut self, _heap: &mut Heap, _obj: ObjId) {}
    fn retain(&mut self, _heap: &mut Heap, _obj: ObjId) {}
    fn release(&mut self, _heap: &mut Heap, _obj: ObjId) {}
}

/// Marks every object of `heap` reachable from `seeds`, following slots. `heap` must be a
/// shadow heap (nothing freed).
pub fn reach(heap: &Heap, seeds: impl IntoIterator<Item = ObjId>) -> Vec<bool> {
    let mut marks = vec![false; heap.capacity()];
    let mut stack: Vec<ObjId> = seeds.into_iter().filter(|s| !s.is_nil()).collect();
    while let Some(id) = stack.pop() {
        let i = id.index();
        if marks[i] {
            continue;
        }
        marks[i] = true;
        for &c in heap.slots(id) {
            if !c.is_nil() && !marks[c.index()] {
                stack.push(c);
            }
        }
    }
    marks
}

/// Marks every object of `heap` that lies on a cycle: in a strongly connected component of
/// more than one object, or referring to itself. Tarjan's algorithm, iterative.
pub fn on_cycle(heap: &Heap) -> Vec<bool> {
    const UNSEEN: u32 = u32::MAX;
    let n = heap.capacity();
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<usize> = Vec::new();
    let mut out = vec![false; n];
    let mut next = 0u32;
    let mut call: Vec<(usize, usize)> = Vec::new();
    for root in 0..n {
        if index[root] != UNSEEN {
            continue;
        }
        index[root] = next;
        low[root] = next;
        next += 1;
        stack.push(root);
        on_stack[root] = true;
        call.push((root, 0));
        while let Some(&mut (v, ref mut pos)) = call.last_mut() {
            let slots = heap.slots(ObjId(v as u32));
            if *pos < slots.len() {
                let w = slots[*pos];
                *pos += 1;
                if w.is_nil() {
                    continue;
                }
                let w = w.index();
                if index[w] == UNSEEN {
                    index[w] = next;
                    low[w] = next;
                    next += 1;
                    stack.push(w);
                    on_stack[w] = true;
                    call.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            call.pop();
            if let Some(&(u, _)) = call.last() {
                low[u] = low[u].min(low[v]);
            }
            if low[v] == index[v] {
                let mut members = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                let cyclic = members.len() > 1
                    || heap
                        .slots(ObjId(v as u32))
                        .iter()
                        .any(|c| c.index() == v && !c.is_nil());
                if cyclic {
                    for m in members {
                        out[m] = true;
                    }
                }
            }
        }
    }
    out
}

/// The objects pure reference counting keeps alive in the shadow graph: those reachable from
/// the registers or from a cycle.
pub fn refcount_live(heap: &Heap) -> Vec<bool> {
    let cyc = on_cycle(heap);
    let seeds = heap.registers().iter().copied().chain(
        (0..heap.capacity())
            .filter(|&i| cyc[i])
            .map(|i| ObjId(i as u32)),
    );
    reach(heap, seeds)
}

/// The objects reachable from the registers in the shadow graph.
pub fn root_live(heap: &Heap) -> Vec<bool> {
    reach(heap, heap.registers().iter().copied())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gclab_core::kind::Kind;

    #[test]
    fn cycles_and_chains() {
        let mut h = Heap::new(1, false);
        let a = h.alloc(Kind::Instance, 0).unwrap();
        let b = h.alloc(Kind::Instance, 0).unwrap();
        let c = h.alloc(Kind::Instance, 0).unwrap();
        let d = h.alloc(Kind::Instance, 0).unwrap();
        let e = h.alloc(Kind::Instance, 0).unwrap();
        // a <-> b, b -> c, d -> d, e alone.
        h.store(a, 0, b).unwrap();
        h.store(b, 0, a).unwrap();
        h.store(b, 1, c).unwrap();
        h.store(d, 0, d).unwrap();
        assert_eq!(on_cycle(&h), vec![true, true, false, true, false]);
        assert_eq!(refcount_live(&h), vec![true, true, true, true, false]);
        h.set_reg(0, e);
        assert_eq!(root_live(&h), vec![false, false, false, false, true]);
    }
}
