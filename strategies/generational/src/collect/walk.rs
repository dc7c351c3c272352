//! Walking a generation list without waiting on every link: [`Walk`] follows the list in its
//! order but steps through runs of consecutive indices (verified with independent loads), and
//! the loops of `update_refs` and `subtract_refs` built on it, plus the flag scan
//! `subtract_refs` uses for a collection of most of the heap. See `docs/performance.md`.

use crate::layout::{node, obj, Link, COLLECTING, HAS_REFS};
use gclab_core::heap::{Heap, ObjId};

/// Lists at least this long are walked with the runs of [`Walk`]; shorter ones plainly: a
/// short list is in the cache, where following a link costs little, and young generations
/// (allocation order, with reused ids) have short runs, for which the checks would cost more
/// than they save.
pub(crate) const RUNS_MIN: u64 = 4096;
/// Nodes a [`Walk`] verifies at a time.
pub(crate) const RUN_BLOCK: usize = 8;
/// The longest run a [`Walk`] verifies in one go (nodes).
pub(crate) const RUN_MAX: usize = 256;
/// `subtract_refs` scans the flags instead of walking the list when the list holds at least
/// 1 / `SCAN_SHARE` of the objects, and at least [`SCAN_MIN`] objects: a flag byte costs far
/// less than a node of a walk that waits on memory, but a small list is in the cache, and
/// the scan's test of every byte, mostly not taken in a mixed heap, costs more than its walk.
pub(crate) const SCAN_SHARE: u64 = 4;
/// See [`SCAN_SHARE`].
pub(crate) const SCAN_MIN: u64 = 1 << 15;

/// A walk along a list; with `RUNS`, one that does not wait on every link.
///
/// Following `next` links is a chain of dependent loads: the processor cannot fetch a node's
/// link before the previous link has arrived, so a plain walk costs at least one load latency
/// per node, whatever the work per node (measured: a bare walk of a million nodes in index
/// order takes 1.6-1.8 ms on the machine of docs/performance.md section 3, about one L1 load
/// latency per node, which is what `update_refs` alone took before walks had runs). Lists are
/// often in index order, though: a heap built by allocation, then promoted and merged
/// generation by generation, is one run of consecutive indices. So a walk with `RUNS`
/// verifies, with independent loads, that a run of nodes `n, n + 1, ..` is linked in index
/// order, steps through the run by adding 1, and reads a link again only at the run's end.
/// The order of the walk is the list's, always; only the way the next node is found changes.
pub(crate) struct Walk<const RUNS: bool> {
    /// The first node of the current run whose `next` link has not been verified.
    end: u32,
}

impl<const RUNS: bool> Walk<RUNS> {
    /// A walk starting at node `first`.
    #[inline(always)]
    pub(crate) fn new(first: u32) -> Self {
        Walk { end: first }
    }

    /// The node after `n`: `n + 1` inside a verified run, else `links[from].next` (`from` is
    /// `n`, or the node whose link now bypasses `n`), which starts the next run. Since the run
    /// was verified, the `next` links of its nodes after `n` must not have been rewritten, and
    /// `links[from].next` must still be `n + 1` (checked in debug builds).
    #[inline(always)]
    pub(crate) fn next(&mut self, links: &[Link], n: u32, from: u32) -> u32 {
        if RUNS && n != self.end {
            debug_assert_eq!(links[from as usize].next, n + 1);
            return n + 1;
        }
        let x = links[from as usize].next;
        if RUNS {
            self.end = index_run(links, x);
        }
        x
    }
}

/// The end of the run of nodes from `n` that are linked in index order: the first node
/// `r >= n` for which `links[r].next == r + 1` was not verified (`n` itself if the check of
/// `n` fails). At most [`RUN_MAX`] nodes (plus one) are checked.
#[inline(always)]
pub(crate) fn index_run(links: &[Link], n: u32) -> u32 {
    let start = n as usize;
    // One test first, on the link the walk reads next anyway.
    if links.get(start).is_none_or(|l| l.next != n.wrapping_add(1)) {
        return n;
    }
    let mut r = start + 1;
    let lim = (start + RUN_MAX).min(links.len().saturating_sub(RUN_BLOCK));
    while r <= lim {
        // A sum of differences, not a chain of equality tests: from `next == r + 1` the
        // compiler would take the loaded link for the next `r`, and the walk would wait on
        // each link again.
        let mut d = 0u64;
        for (k, l) in links[r..r + RUN_BLOCK].iter().enumerate() {
            d += (l.next ^ (r + k + 1) as u32) as u64;
        }
        if d != 0 {
            break;
        }
        r += RUN_BLOCK;
    }
    r as u32
}

/// `subtract_refs` for one object's slots: decrements the `gc_refs` (prev link) of every
/// COLLECTING object they reference. Returns (header writes, references traversed); the
/// counters are the loop's own, so that they stay in registers.
#[inline(always)]
pub(crate) fn subtract_slots(links: &mut [Link], flags: &[u8], slots: &[ObjId]) -> (u64, u64) {
    let mut writes = 0u64;
    for &c in slots {
        // Nil (index u32::MAX) is past the end of `flags` (ids are below it): one test skips it
        // and checks the bounds of a live child.
        let Some(&f) = flags.get(c.index()) else {
            debug_assert!(c.is_nil(), "child {c:?} beyond the flags");
            continue;
        };
        if f & COLLECTING != 0 {
            links[node(c) as usize].prev -= 1;
            writes += 1;
        }
    }
    (writes, slots.len() as u64)
}

/// The loop of `update_refs` from node `n` of the list `young`: `gc_refs = refcount` and
/// COLLECTING for each object, until young's head or `limit` objects. Returns the node it
/// stopped at and how many objects it passed.
#[inline(always)]
pub(crate) fn update_walk<const RUNS: bool>(
    links: &mut [Link],
    rc: &[u32],
    flags: &mut [u8],
    young: u32,
    mut n: u32,
    limit: u64,
) -> (u32, u64) {
    let mut passed = 0u64;
    let mut walk = Walk::<RUNS>::new(n);
    while n != young && passed < limit {
        let i = obj(n).index();
        // gc_refs lives in the prev link until move_unreachable restores it: the list is
        // singly linked meanwhile (the head's prev is still the tail).
        links[n as usize].prev = rc[i];
        flags[i] |= COLLECTING;
        passed += 1;
        n = walk.next(links, n, n);
    }
    (n, passed)
}

/// The walk of `subtract_refs` along the list `young`. Returns (header writes, references
/// traversed). A function of its own, as [`subtract_scan`] is: the loops keep their bases in
/// registers.
#[inline(never)]
pub(crate) fn subtract_walk<const RUNS: bool>(
    links: &mut [Link],
    flags: &[u8],
    heap: &Heap,
    young: u32,
) -> (u64, u64) {
    let (mut writes, mut traversed) = (0u64, 0u64);
    let mut n = links[young as usize].next;
    let mut walk = Walk::<RUNS>::new(n);
    while n != young {
        if flags[obj(n).index()] & HAS_REFS != 0 {
            let (w, t) = subtract_slots(links, flags, heap.slots(obj(n)));
            writes += w;
            traversed += t;
        }
        n = walk.next(links, n, n);
    }
    (writes, traversed)
}

/// The scan of `subtract_refs` over every object's flags, for a list `young` of `examined`
/// objects that holds a good share of them. Returns (header writes, references traversed).
#[inline(never)]
pub(crate) fn subtract_scan(
    links: &mut [Link],
    flags: &[u8],
    heap: &Heap,
    examined: u64,
) -> (u64, u64) {
    let (mut writes, mut traversed, mut collecting) = (0u64, 0u64, 0u64);
    for (i, &f) in flags.iter().enumerate() {
        collecting += (f & COLLECTING != 0) as u64;
        if f & (COLLECTING | HAS_REFS) == COLLECTING | HAS_REFS {
            let (w, t) = subtract_slots(links, flags, heap.slots(ObjId(i as u32)));
            writes += w;
            traversed += t;
        }
    }
    debug_assert_eq!(collecting, examined, "COLLECTING set outside young");
    (writes, traversed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::NHEAD;

    /// Links `NHEAD..len` in index order, with the `next` links of `breaks` pointing elsewhere.
    fn links(len: usize, breaks: &[usize]) -> Vec<Link> {
        let mut v: Vec<Link> = (0..len as u32)
            .map(|i| Link {
                next: i + 1,
                prev: i.saturating_sub(1),
            })
            .collect();
        for &b in breaks {
            v[b].next = 0;
        }
        v
    }

    /// `index_run` never claims a link it did not verify, and finds runs where there are.
    #[test]
    fn index_run_claims_only_verified_links() {
        for len in [NHEAD as usize, 6, 7, 13, 14, 15, 40, 300, 1000] {
            for brk in [
                None,
                Some(5),
                Some(6),
                Some(9),
                Some(13),
                Some(14),
                Some(200),
                Some(270),
            ] {
                let breaks: Vec<usize> = brk.filter(|&b| b < len).into_iter().collect();
                let l = links(len, &breaks);
                for n in NHEAD..len as u32 {
                    let r = index_run(&l, n);
                    assert!(
                        r >= n && (r as usize) <= len,
                        "len {len} {brk:?} n {n}: {r}"
                    );
                    for m in n..r {
                        assert_eq!(l[m as usize].next, m + 1, "len {len} {brk:?} n {n}: {r}");
                    }
                    assert!(
                        r as usize <= n as usize + RUN_MAX + 1,
                        "len {len} n {n}: {r}"
                    );
                    // A long run is found (up to the last block that fits).
                    if !breaks.iter().any(|&b| b >= n as usize) && n as usize + 2 * RUN_BLOCK < len
                    {
                        assert!(r > n + RUN_BLOCK as u32, "len {len} n {n}: {r}");
                    }
                }
                // A node past the end, and a link out of order, end a run at once.
                assert_eq!(index_run(&l, len as u32), len as u32);
                if let Some(&b) = breaks.first() {
                    assert_eq!(index_run(&l, b as u32), b as u32);
                }
            }
        }
    }

    /// A walk in runs visits the nodes of a list in its order, whatever the runs.
    #[test]
    fn walks_in_runs_follow_the_list() {
        // A list of head 0 through 5..2000 in index order, except that three stretches are
        // moved to the end, in reverse.
        let len = 2000u32;
        let mut order: Vec<u32> = (NHEAD..len).collect();
        for range in [(100, 140), (700, 701), (1500, 1530)] {
            let moved: Vec<u32> = order
                .iter()
                .copied()
                .filter(|x| (range.0..range.1).contains(x))
                .rev()
                .collect();
            order.retain(|x| !(range.0..range.1).contains(x));
            order.extend(moved);
        }
        let mut l = vec![Link::default(); len as usize];
        let mut p = 0;
        for &x in &order {
            l[p as usize].next = x;
            p = x;
        }
        l[p as usize].next = 0;
        let mut seen = Vec::new();
        let mut n = l[0].next;
        let mut walk = Walk::<true>::new(n);
        while n != 0 {
            seen.push(n);
            n = walk.next(&l, n, n);
        }
        assert_eq!(seen, order);
    }
}
