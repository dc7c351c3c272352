//! `btree`: pyperformance's `bm_btree` (reported as `btree` and, collection only, `btree_gc`).
//!
//! The Python program (pyperformance `data-files/benchmarks/bm_btree/run_benchmark.py`):
//! `records = list(make_records(N))`, each a `Record` instance with six attributes (`a` an
//! int, `b` the str `f"node {id}"`, `c` `bytes` of length `id % 100`, `d` a float, `e` one of 31
//! interned strs, `f` None/True/False); `ids = list(range(N))`, shuffled; a `BTree` of minimum
//! degree 16 whose nodes are `__slots__` instances (`items`: a list of `(key, record)` tuples,
//! `nodes`: a list of child nodes or None) is filled with `tree[id] = records[id]` in shuffled
//! order; the lowest `N * recreate` keys are deleted (CLRS 19.3, as the benchmark codes it,
//! with its merges `node.items + [extreme] + sibling.items` and slices) and re-inserted; then
//! `gc.collect()`; then every key is looked up (summing `record.d`, a new float per addition)
//! and `max(200, N / 20)` random lookups follow. The tree is dropped at the end of each loop.
//!
//! The workload runs the B-tree algorithm on a shadow of keys and emits exactly the object
//! operations the Python code performs: list slices and concatenations are new lists of exact
//! size filled in order; `list.insert` grows the list like an append and shifts the items
//! (modelled as loads and stores, so shifts cost reference-count writes that CPython's
//! `memmove` does not); `del lst[i]` shifts down and leaves the last slot `None` (the list does
//! not shrink, where CPython's `list_resize` may give memory back); descents load each node
//! visited. Not modelled: `get_position`'s comparisons (reads only), the generator objects of
//! the traversal, and small-int caching (every key is an int object). `BNode` instances are
//! modelled as 56-byte instances (CPython 3.11: 48 bytes for two `__slots__`).
//!
//! `records` defaults to 20,000 (pyperformance uses 200,000: `size=10`); `size` multiplies it.

use crate::util::{check_budget, int_digits, scaled, MAX_BYTES, SIZE};
use gclab_core::kind::Kind;
use gclab_core::op::{GcOp, StreamHeader};
use gclab_core::params::{ParamError, ParamSpec, ParamType, Params};
use gclab_core::workload::{Emitter, Stop, Workload, WorkloadEntry, WorkloadInfo};
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Catalogue entry.
pub const ENTRY: WorkloadEntry = WorkloadEntry {
    info: WorkloadInfo {
        name: "btree",
        description: "pyperformance bm_btree: B-tree (minimum degree 16) of Record objects, 20% deleted and re-inserted, gc.collect(), lookups",
        params: &[
            ParamSpec { name: "records", ty: ParamType::U64, default: "20000", help: "records and keys (pyperformance NUM_NODES = 200,000)" },
            ParamSpec { name: "degree", ty: ParamType::U64, default: "16", help: "minimum degree t (nodes hold t-1 ..= 2t-1 items)" },
            ParamSpec { name: "recreate", ty: ParamType::F64, default: "0.2", help: "fraction of keys deleted and re-inserted" },
            ParamSpec { name: "lookups", ty: ParamType::Bool, default: "true", help: "run the traversal and random lookups after gc.collect() (false: btree_gc)" },
            ParamSpec { name: "loops", ty: ParamType::U64, default: "1", help: "trees built (records are built once)" },
            SIZE,
            MAX_BYTES,
        ],
    },
    build,
};

/// The workload.
#[derive(Debug, Clone)]
pub struct BTree {
    records: u32,
    t: u32,
    recreate: f64,
    lookups: bool,
    loops: u64,
}

fn build(p: &Params) -> Result<Box<dyn Workload>, ParamError> {
    let records = scaled(p, "records", 1 << 26)? as u32;
    let t = p.u64_in("degree", 2, 1 << 10)? as u32;
    let recreate = p.f64("recreate");
    if !(0.0..=1.0).contains(&recreate) {
        return Err(p.range_error("recreate", format!("{recreate} is outside 0..=1")));
    }
    // A record is about 56 + 4 attribute objects (~200 bytes) plus its item tuple and key.
    check_budget(p, "btree", records as u64 * 400)?;
    Ok(Box::new(BTree {
        records,
        t,
        recreate,
        lookups: p.bool("lookups"),
        loops: p.u64_in("loops", 1, 1 << 20)?,
    }))
}

// Fixed registers.
const RECORDS: u32 = 0;
const IDS: u32 = 1;
const POOL: u32 = 2;
const TREE: u32 = 3;
const NONE: u32 = 4; // never written: `None`
const X: u32 = 5;
const Y: u32 = 6;
const ITEM: u32 = 7;
const KEY: u32 = 8;
const VAL: u32 = 9;
const SUM: u32 = 10;
const CAT1: u32 = 11;
const CAT2: u32 = 12;
const FOUND: u32 = 13;
const BASE: u32 = 14;
const PER_LEVEL: u32 = 8;
const MAX_LEVELS: u32 = 64;

// Per-level registers: the node at depth d, its lists, its siblings, and scratch.
fn n(d: u32) -> u32 {
    BASE + PER_LEVEL * d
}
fn il(d: u32) -> u32 {
    n(d) + 1
}
fn nl(d: u32) -> u32 {
    n(d) + 2
}
fn lo(d: u32) -> u32 {
    n(d) + 3
}
fn up(d: u32) -> u32 {
    n(d) + 4
}
fn s1(d: u32) -> u32 {
    n(d) + 5
}
fn s2(d: u32) -> u32 {
    n(d) + 6
}
fn s3(d: u32) -> u32 {
    n(d) + 7
}

/// A shadow list: its elements in Python order and the physical length of the simulated list
/// (slots beyond the logical length hold `None`).
#[derive(Clone, Debug, Default)]
struct SList<T> {
    v: Vec<T>,
    phys: u32,
}

impl<T> SList<T> {
    fn exact(v: Vec<T>) -> SList<T> {
        let phys = v.len() as u32;
        SList { v, phys }
    }
    fn len(&self) -> u32 {
        self.v.len() as u32
    }
}

#[derive(Clone, Debug, Default)]
struct SNode {
    items: SList<u32>,
    nodes: Option<SList<usize>>,
}

struct Gen<'a, 'b> {
    out: &'a mut Emitter<'b>,
    t: u32,
    nodes: Vec<SNode>,
    root: usize,
}

impl Gen<'_, '_> {
    fn is_full(&self, s: usize) -> bool {
        self.nodes[s].items.len() == 2 * self.t - 1
    }
    fn is_big(&self, s: Option<usize>) -> bool {
        s.is_some_and(|s| self.nodes[s].items.len() >= self.t)
    }
    fn is_leaf(&self, s: usize) -> bool {
        self.nodes[s].nodes.is_none()
    }
    fn children(&self, s: usize) -> &SList<usize> {
        match &self.nodes[s].nodes {
            Some(c) => c,
            None => unreachable!("children of a leaf"),
        }
    }
    fn children_mut(&mut self, s: usize) -> &mut SList<usize> {
        match &mut self.nodes[s].nodes {
            Some(c) => c,
            None => unreachable!("children of a leaf"),
        }
    }
    fn position(&self, s: usize, key: u32) -> usize {
        let items = &self.nodes[s].items.v;
        items.iter().position(|&k| k >= key).unwrap_or(items.len())
    }

    /// `BNode()` into register `dst`: `self.items = []`, `self.nodes = None`.
    fn new_bnode(&mut self, dst: u32) -> Result<usize, Stop> {
        self.out.alloc(dst, Kind::Instance, 0)?;
        self.out.alloc(X, Kind::List, 0)?;
        self.out.store(dst, 0, X)?;
        self.out.store(dst, 1, NONE)?;
        self.out.clear(X)?;
        self.nodes.push(SNode::default());
        Ok(self.nodes.len() - 1)
    }

    // ----- list primitives on the simulated lists -----

    /// `lst.insert(pos, src)` on the list in register `l` of logical length `len`; returns the
    /// new physical length.
    fn list_insert(
        &mut self,
        l: u32,
        phys: u32,
        len: u32,
        pos: u32,
        src: u32,
    ) -> Result<u32, Stop> {
        let mut phys = phys;
        if len == phys {
            self.out.append(l, NONE)?;
            phys += 1;
        }
        let mut j = len;
        while j > pos {
            self.out.load(Y, l, j - 1)?;
            self.out.store(l, j, Y)?;
            j -= 1;
        }
        self.out.store(l, pos, src)?;
        self.out.clear(Y)?;
        Ok(phys)
    }

    /// `lst.append(src)`; returns the new physical length.
    fn list_push(&mut self, l: u32, phys: u32, len: u32, src: u32) -> Result<u32, Stop> {
        self.list_insert(l, phys, len, len, src)
    }

    /// `del lst[pos]` on the list in register `l` of logical length `len`.
    fn list_del(&mut self, l: u32, len: u32, pos: u32) -> Result<(), Stop> {
        for j in pos..len - 1 {
            self.out.load(Y, l, j + 1)?;
            self.out.store(l, j, Y)?;
        }
        self.out.store(l, len - 1, NONE)?;
        self.out.clear(Y)
    }

    /// Appends `src[a..b]` to the list in `dst` (pre-sized, so no resize).
    fn copy_into(&mut self, dst: u32, src: u32, a: u32, b: u32) -> Result<(), Stop> {
        for j in a..b {
            self.out.load(Y, src, j)?;
            self.out.append(dst, Y)?;
        }
        self.out.clear(Y)
    }

    /// `dst = src[a:b]`: a new list of exactly `b - a` slots.
    fn slice(&mut self, dst: u32, src: u32, a: u32, b: u32) -> Result<(), Stop> {
        self.out.alloc(dst, Kind::List, b - a)?;
        self.copy_into(dst, src, a, b)
    }

    /// `dst = ra + [x] + rb`: the literal, the first sum and the result are each new lists of
    /// exact size; the first two die once consumed.
    fn concat3(
        &mut self,
        dst: u32,
        ra: u32,
        la: u32,
        x: u32,
        rb: u32,
        lb: u32,
    ) -> Result<(), Stop> {
        self.out.alloc(CAT1, Kind::List, 1)?;
        self.out.append(CAT1, x)?;
        self.out.alloc(CAT2, Kind::List, la + 1)?;
        self.copy_into(CAT2, ra, 0, la)?;
        self.copy_into(CAT2, CAT1, 0, 1)?;
        self.out.clear(CAT1)?;
        self.out.alloc(dst, Kind::List, la + 1 + lb)?;
        self.copy_into(dst, CAT2, 0, la + 1)?;
        self.copy_into(dst, rb, 0, lb)?;
        self.out.clear(CAT2)
    }

    /// `dst = ra + rb`.
    fn concat2(&mut self, dst: u32, ra: u32, la: u32, rb: u32, lb: u32) -> Result<(), Stop> {
        self.out.alloc(dst, Kind::List, la + lb)?;
        self.copy_into(dst, ra, 0, la)?;
        self.copy_into(dst, rb, 0, lb)
    }

    fn clear_level(&mut self, d: u32) -> Result<(), Stop> {
        for r in [il(d), nl(d), lo(d), up(d), s1(d), s2(d), s3(d)] {
            self.out.clear(r)?;
        }
        Ok(())
    }

    // ----- the B-tree -----

    /// `BTree.add(key, value)` with the item tuple in `ITEM`.
    fn add(&mut self, key: u32) -> Result<(), Stop> {
        let root = self.root;
        if self.is_full(root) {
            let new = self.new_bnode(n(0))?;
            self.out.load(n(1), TREE, 0)?;
            self.out.alloc(X, Kind::List, 1)?;
            self.out.append(X, n(1))?;
            self.out.store(n(0), 1, X)?;
            self.out.clear(X)?;
            self.nodes[new].nodes = Some(SList::exact(vec![root]));
            self.split_child(0, new, 0, root)?;
            self.out.clear(n(1))?;
            self.out.store(TREE, 0, n(0))?;
            self.root = new;
        } else {
            self.out.load(n(0), TREE, 0)?;
        }
        let root = self.root;
        self.insert_item(0, root, key)?;
        self.out.clear(n(0))
    }

    /// `self.split_child(pos, child)`: self in `n(d)`, the child in `n(d + 1)`.
    fn split_child(&mut self, d: u32, s: usize, pos: usize, c: usize) -> Result<(), Stop> {
        let big = self.new_bnode(s3(d))?;
        let mid = (self.t - 1) as usize;
        let clen = self.nodes[c].items.len();
        self.out.load(s1(d), n(d + 1), 0)?;
        self.out.load(s2(d), s1(d), mid as u32)?; // splitting_key
        self.slice(X, s1(d), mid as u32 + 1, clen)?;
        self.out.store(s3(d), 0, X)?;
        self.slice(X, s1(d), 0, mid as u32)?;
        self.out.store(n(d + 1), 0, X)?;
        self.out.clear(s1(d))?;
        let citems = std::mem::take(&mut self.nodes[c].items.v);
        let split_key = citems[mid];
        self.nodes[big].items = SList::exact(citems[mid + 1..].to_vec());
        self.nodes[c].items = SList::exact(citems[..mid].to_vec());
        if !self.is_leaf(c) {
            let cn = self.children(c).v.clone();
            self.out.load(s1(d), n(d + 1), 1)?;
            self.slice(X, s1(d), mid as u32 + 1, cn.len() as u32)?;
            self.out.store(s3(d), 1, X)?;
            self.slice(X, s1(d), 0, mid as u32 + 1)?;
            self.out.store(n(d + 1), 1, X)?;
            self.out.clear(s1(d))?;
            self.nodes[big].nodes = Some(SList::exact(cn[mid + 1..].to_vec()));
            self.nodes[c].nodes = Some(SList::exact(cn[..mid + 1].to_vec()));
        }
        self.out.clear(X)?;
        // self.items.insert(pos, splitting_key)
        self.out.load(il(d), n(d), 0)?;
        let (phys, len) = (self.nodes[s].items.phys, self.nodes[s].items.len());
        let phys = self.list_insert(il(d), phys, len, pos as u32, s2(d))?;
        self.nodes[s].items.phys = phys;
        self.nodes[s].items.v.insert(pos, split_key);
        // self.nodes.insert(pos + 1, bigger)
        self.out.load(nl(d), n(d), 1)?;
        let (phys, len) = (self.children(s).phys, self.children(s).len());
        let phys = self.list_insert(nl(d), phys, len, pos as u32 + 1, s3(d))?;
        let ch = self.children_mut(s);
        ch.phys = phys;
        ch.v.insert(pos + 1, big);
        self.clear_level(d)
    }

    /// `self.insert_item(item)`: self in `n(d)`, the item in `ITEM`.
    fn insert_item(&mut self, d: u32, s: usize, key: u32) -> Result<(), Stop> {
        let mut pos = self.position(s, key);
        if self.is_leaf(s) {
            self.out.load(il(d), n(d), 0)?;
            let (phys, len) = (self.nodes[s].items.phys, self.nodes[s].items.len());
            let phys = self.list_insert(il(d), phys, len, pos as u32, ITEM)?;
            self.nodes[s].items.phys = phys;
            self.nodes[s].items.v.insert(pos, key);
            return self.out.clear(il(d));
        }
        self.out.load(nl(d), n(d), 1)?;
        self.out.load(n(d + 1), nl(d), pos as u32)?;
        self.out.clear(nl(d))?;
        let mut c = self.children(s).v[pos];
        if self.is_full(c) {
            self.split_child(d, s, pos, c)?;
            if key > self.nodes[s].items.v[pos] {
                pos += 1;
            }
            self.out.load(nl(d), n(d), 1)?;
            self.out.load(n(d + 1), nl(d), pos as u32)?;
            self.out.clear(nl(d))?;
            c = self.children(s).v[pos];
        }
        self.insert_item(d + 1, c, key)?;
        self.out.clear(n(d + 1))
    }

    /// Loads into `dst` the item `get_min_item` (first) or `get_max_item` (last) returns,
    /// walking down from the node in register `from`; returns its key.
    fn extreme(
        &mut self,
        d: u32,
        from: u32,
        mut s: usize,
        max: bool,
        dst: u32,
    ) -> Result<u32, Stop> {
        self.out.copy(s1(d), from)?;
        while !self.is_leaf(s) {
            let ch = self.children(s);
            let i = if max { ch.len() - 1 } else { 0 };
            let next = ch.v[i as usize];
            self.out.load(s2(d), s1(d), 1)?;
            self.out.load(s1(d), s2(d), i)?;
            s = next;
        }
        let items = &self.nodes[s].items;
        let i = if max { items.len() - 1 } else { 0 };
        let key = items.v[i as usize];
        self.out.load(s2(d), s1(d), 0)?;
        self.out.load(dst, s2(d), i)?;
        self.out.clear(s1(d))?;
        self.out.clear(s2(d))?;
        Ok(key)
    }

    /// `self.items[p] = value in register src`.
    fn set_item(&mut self, d: u32, s: usize, p: usize, src: u32, key: u32) -> Result<(), Stop> {
        self.out.load(il(d), n(d), 0)?;
        self.out.store(il(d), p as u32, src)?;
        self.nodes[s].items.v[p] = key;
        self.out.clear(il(d))
    }

    /// `del self.items[p]` (which = false) or `del self.nodes[p]` (which = true).
    fn del_at(&mut self, d: u32, s: usize, p: usize, nodes: bool) -> Result<(), Stop> {
        if nodes {
            let len = self.children(s).len();
            self.out.load(nl(d), n(d), 1)?;
            self.list_del(nl(d), len, p as u32)?;
            self.children_mut(s).v.remove(p);
        } else {
            let len = self.nodes[s].items.len();
            self.out.load(il(d), n(d), 0)?;
            self.list_del(il(d), len, p as u32)?;
            self.nodes[s].items.v.remove(p);
        }
        Ok(())
    }

    /// `node.items = a.items + [x] + b.items` (and, for internal nodes, `node.nodes =
    /// a.nodes + b.nodes`), with `node` in register `n(d + 1)` and `x` in `s3(d)`; `a` and `b`
    /// are (shadow node, register) pairs.
    fn merge_items(
        &mut self,
        d: u32,
        node: usize,
        (a, ra): (usize, u32),
        (b, rb): (usize, u32),
        xkey: u32,
    ) -> Result<(), Stop> {
        let (rdst, dst, x) = (n(d + 1), node, s3(d));
        let (la, lb) = (self.nodes[a].items.len(), self.nodes[b].items.len());
        self.out.load(s1(d), ra, 0)?;
        self.out.load(s2(d), rb, 0)?;
        self.concat3(X, s1(d), la, x, s2(d), lb)?;
        self.out.store(rdst, 0, X)?;
        self.out.clear(X)?;
        self.out.clear(s1(d))?;
        self.out.clear(s2(d))?;
        let mut v = self.nodes[a].items.v.clone();
        v.push(xkey);
        v.extend_from_slice(&self.nodes[b].items.v);
        self.nodes[dst].items = SList::exact(v);
        if !self.is_leaf(dst) {
            let (ca, cb) = (self.children(a).v.clone(), self.children(b).v.clone());
            self.out.load(s1(d), ra, 1)?;
            self.out.load(s2(d), rb, 1)?;
            self.concat2(X, s1(d), ca.len() as u32, s2(d), cb.len() as u32)?;
            self.out.store(rdst, 1, X)?;
            self.out.clear(X)?;
            self.out.clear(s1(d))?;
            self.out.clear(s2(d))?;
            let mut v = ca;
            v.extend_from_slice(&cb);
            self.nodes[dst].nodes = Some(SList::exact(v));
        }
        Ok(())
    }

    /// `self.delete(key)`: self in `n(d)`.
    fn delete(&mut self, d: u32, s: usize, key: u32) -> Result<(), Stop> {
        let p = self.position(s, key);
        let matches = p < self.nodes[s].items.v.len() && self.nodes[s].items.v[p] == key;
        if self.is_leaf(s) {
            // Case 1 (the benchmark only deletes keys it holds).
            if matches {
                self.del_at(d, s, p, false)?;
            }
            return self.clear_level(d);
        }
        let (c, lower, upper) = self.load_child_and_siblings(d, s, p)?;
        if matches {
            self.delete_from_internal(d, s, p, c, upper)?;
        } else {
            if !self.is_big(Some(c)) {
                self.fill_child(d, s, p, c, lower, upper)?;
                self.clear_level(d)?;
            }
            self.delete(d + 1, c, key)?;
        }
        self.clear_level(d)?;
        self.out.clear(n(d + 1))?;
        if self.nodes[s].items.v.is_empty() {
            self.collapse_root(d, s)?;
        }
        Ok(())
    }

    /// Loads `self.nodes[p]` into `n(d + 1)` and its lower and upper siblings (where they
    /// exist) into `lo(d)` and `up(d)`; returns the three shadow nodes.
    fn load_child_and_siblings(
        &mut self,
        d: u32,
        s: usize,
        p: usize,
    ) -> Result<(usize, Option<usize>, Option<usize>), Stop> {
        let ch = &self.children(s).v;
        let c = ch[p];
        let lower = (p > 0).then(|| ch[p - 1]);
        let upper = (p + 1 < ch.len()).then(|| ch[p + 1]);
        self.out.load(nl(d), n(d), 1)?;
        self.out.load(n(d + 1), nl(d), p as u32)?;
        if lower.is_some() {
            self.out.load(lo(d), nl(d), p as u32 - 1)?;
        }
        if upper.is_some() {
            self.out.load(up(d), nl(d), p as u32 + 1)?;
        }
        self.out.clear(nl(d))?;
        Ok((c, lower, upper))
    }

    /// Case 2: the key is `self.items[p]` of the internal node `s`, whose child `c` (in
    /// `n(d + 1)`) precedes it and `upper` (in `up(d)`) follows it.
    fn delete_from_internal(
        &mut self,
        d: u32,
        s: usize,
        p: usize,
        c: usize,
        upper: Option<usize>,
    ) -> Result<(), Stop> {
        if self.is_big(Some(c)) {
            // Case 2a.
            let ek = self.extreme(d, n(d + 1), c, true, s3(d))?;
            self.delete(d + 1, c, ek)?;
            return self.set_item(d, s, p, s3(d), ek);
        }
        // Cases 2b and 2c: the upper sibling's minimum is deleted from it first.
        let u = upper.unwrap_or_default();
        let big = self.is_big(upper);
        let ek = self.extreme(d, up(d), u, false, s3(d))?;
        self.out.copy(n(d + 1), up(d))?;
        self.delete(d + 1, u, ek)?;
        if big {
            // Case 2b.
            return self.set_item(d, s, p, s3(d), ek);
        }
        // Case 2c.
        self.out.load(nl(d), n(d), 1)?;
        self.out.load(n(d + 1), nl(d), p as u32)?;
        self.out.clear(nl(d))?;
        self.merge_items(d, c, (c, n(d + 1)), (u, up(d)), ek)?;
        self.del_at(d, s, p, false)?;
        self.del_at(d, s, p + 1, true)
    }

    /// Case 3: the child `c` at `p` (in `n(d + 1)`) holds fewer than `t` items; give it one
    /// from a sibling or merge it with one before descending.
    fn fill_child(
        &mut self,
        d: u32,
        s: usize,
        p: usize,
        c: usize,
        lower: Option<usize>,
        upper: Option<usize>,
    ) -> Result<(), Stop> {
        if self.is_big(lower) {
            // Case 3a1: shift an item from the lower sibling.
            self.shift_from_lower(d, s, p, c, lower.unwrap_or_default())
        } else if self.is_big(upper) {
            // Case 3a2: shift an item from the upper sibling.
            self.shift_from_upper(d, s, p, c, upper.unwrap_or_default())
        } else if let Some(l) = lower {
            // Case 3b1: merge with the lower sibling.
            self.out.load(il(d), n(d), 0)?;
            self.out.load(s3(d), il(d), p as u32 - 1)?;
            let xk = self.nodes[s].items.v[p - 1];
            self.merge_items(d, c, (l, lo(d)), (c, n(d + 1)), xk)?;
            self.del_at(d, s, p - 1, false)?;
            self.del_at(d, s, p - 1, true)
        } else {
            // Case 3b2: merge with the upper sibling.
            let u = upper.unwrap_or_default();
            self.out.load(il(d), n(d), 0)?;
            self.out.load(s3(d), il(d), p as u32)?;
            let xk = self.nodes[s].items.v[p];
            self.merge_items(d, c, (c, n(d + 1)), (u, up(d)), xk)?;
            self.del_at(d, s, p, false)?;
            self.del_at(d, s, p + 1, true)
        }
    }

    /// Case 3a1: `self.items[p - 1]` moves to the front of the child `c` (in `n(d + 1)`) and
    /// the last item of the lower sibling `l` (in `lo(d)`) takes its place; for internal
    /// nodes the sibling's last child moves to the front of `c`'s children.
    fn shift_from_lower(
        &mut self,
        d: u32,
        s: usize,
        p: usize,
        c: usize,
        l: usize,
    ) -> Result<(), Stop> {
        let leaf = self.is_leaf(c);
        self.out.load(il(d), n(d), 0)?;
        self.out.load(s3(d), il(d), p as u32 - 1)?;
        self.out.load(s1(d), n(d + 1), 0)?;
        let it = &self.nodes[c].items;
        let phys = self.list_insert(s1(d), it.phys, it.len(), 0, s3(d))?;
        let moved = self.nodes[s].items.v[p - 1];
        self.nodes[c].items.phys = phys;
        self.nodes[c].items.v.insert(0, moved);
        self.out.load(s2(d), lo(d), 0)?;
        let ll = self.nodes[l].items.len();
        self.out.load(s3(d), s2(d), ll - 1)?;
        self.out.store(il(d), p as u32 - 1, s3(d))?;
        self.list_del(s2(d), ll, ll - 1)?;
        let last = self.nodes[l].items.v.pop().unwrap_or_default();
        self.nodes[s].items.v[p - 1] = last;
        if !leaf {
            self.out.load(s1(d), n(d + 1), 1)?;
            self.out.load(s2(d), lo(d), 1)?;
            let lc = self.children(l).len();
            self.out.load(s3(d), s2(d), lc - 1)?;
            let cc = self.children(c);
            let phys = self.list_insert(s1(d), cc.phys, cc.len(), 0, s3(d))?;
            self.list_del(s2(d), lc, lc - 1)?;
            let moved = self.children_mut(l).v.pop().unwrap_or_default();
            let cc = self.children_mut(c);
            cc.phys = phys;
            cc.v.insert(0, moved);
        }
        Ok(())
    }

    /// Case 3a2: `self.items[p]` moves to the end of the child `c` (in `n(d + 1)`) and the
    /// first item of the upper sibling `u` (in `up(d)`) takes its place; for internal nodes
    /// the sibling's first child moves to the end of `c`'s children.
    fn shift_from_upper(
        &mut self,
        d: u32,
        s: usize,
        p: usize,
        c: usize,
        u: usize,
    ) -> Result<(), Stop> {
        let leaf = self.is_leaf(c);
        self.out.load(il(d), n(d), 0)?;
        self.out.load(s3(d), il(d), p as u32)?;
        self.out.load(s1(d), n(d + 1), 0)?;
        let it = &self.nodes[c].items;
        let phys = self.list_push(s1(d), it.phys, it.len(), s3(d))?;
        let moved = self.nodes[s].items.v[p];
        self.nodes[c].items.phys = phys;
        self.nodes[c].items.v.push(moved);
        self.out.load(s2(d), up(d), 0)?;
        let ul = self.nodes[u].items.len();
        self.out.load(s3(d), s2(d), 0)?;
        self.out.store(il(d), p as u32, s3(d))?;
        self.list_del(s2(d), ul, 0)?;
        let first = self.nodes[u].items.v.remove(0);
        self.nodes[s].items.v[p] = first;
        if !leaf {
            self.out.load(s1(d), n(d + 1), 1)?;
            self.out.load(s2(d), up(d), 1)?;
            let uc = self.children(u).len();
            self.out.load(s3(d), s2(d), 0)?;
            let cc = self.children(c);
            let phys = self.list_push(s1(d), cc.phys, cc.len(), s3(d))?;
            self.list_del(s2(d), uc, 0)?;
            let moved = self.children_mut(u).v.remove(0);
            let cc = self.children_mut(c);
            cc.phys = phys;
            cc.v.push(moved);
        }
        Ok(())
    }

    /// The root (in `n(d)`) lost its last item: it takes over its only child's lists.
    fn collapse_root(&mut self, d: u32, s: usize) -> Result<(), Stop> {
        let c0 = self.children(s).v[0];
        self.out.load(nl(d), n(d), 1)?;
        self.out.load(s1(d), nl(d), 0)?;
        self.out.clear(nl(d))?;
        self.out.load(X, s1(d), 0)?;
        self.out.store(n(d), 0, X)?;
        self.out.load(X, s1(d), 1)?;
        self.out.store(n(d), 1, X)?;
        self.out.clear(X)?;
        self.out.clear(s1(d))?;
        let moved = std::mem::take(&mut self.nodes[c0]);
        self.nodes[s] = moved;
        Ok(())
    }

    /// `root.search(key)`: loads the item into `FOUND` (or empties it); returns whether found.
    fn search(&mut self, key: u32) -> Result<bool, Stop> {
        self.out.load(n(0), TREE, 0)?;
        let mut s = self.root;
        let mut d = 0;
        let found = loop {
            let p = self.position(s, key);
            let items = &self.nodes[s].items.v;
            if p < items.len() && items[p] == key {
                self.out.load(s1(d), n(d), 0)?;
                self.out.load(FOUND, s1(d), p as u32)?;
                break true;
            }
            if self.is_leaf(s) {
                self.out.clear(FOUND)?;
                break false;
            }
            self.out.load(s2(d), n(d), 1)?;
            self.out.load(n(d + 1), s2(d), p as u32)?;
            s = self.children(s).v[p];
            d += 1;
        };
        for l in 0..=d {
            self.out.clear(n(l))?;
            self.out.clear(s1(l))?;
            self.out.clear(s2(l))?;
        }
        Ok(found)
    }

    /// `total += record.d` for the found item: a new float each time.
    fn add_d(&mut self) -> Result<(), Stop> {
        self.out.load(VAL, FOUND, 1)?;
        self.out.load(X, VAL, 3)?;
        self.out.alloc(SUM, Kind::Float, 0)?;
        self.out.clear(X)?;
        self.out.clear(VAL)?;
        self.out.clear(FOUND)
    }

    // ----- the benchmark's steps -----

    /// `ids = list(range(N))` shuffled into `order`: a list of fresh ints in `IDS`.
    fn emit_ids(&mut self, order: &[u32]) -> Result<(), Stop> {
        self.out.alloc(IDS, Kind::List, order.len() as u32)?;
        for &k in order {
            self.out.alloc(X, Kind::Int, int_digits(k as u128))?;
            self.out.append(IDS, X)?;
        }
        self.out.clear(X)
    }

    /// `tree = BTree()` into `TREE`, with an empty root node.
    fn new_tree(&mut self) -> Result<(), Stop> {
        self.out.alloc(TREE, Kind::Instance, 0)?;
        self.root = self.new_bnode(n(0))?;
        self.out.store(TREE, 0, n(0))?;
        self.out.clear(n(0))
    }

    /// `tree[k] = records[k]` with the key object already in `KEY`.
    fn add_record(&mut self, k: u32) -> Result<(), Stop> {
        self.out.load(VAL, RECORDS, k)?;
        self.out.alloc(ITEM, Kind::Tuple, 2)?;
        self.out.store(ITEM, 0, KEY)?;
        self.out.store(ITEM, 1, VAL)?;
        self.out.clear(KEY)?;
        self.out.clear(VAL)?;
        self.add(k)?;
        self.out.clear(ITEM)?;
        self.out.safe_point()
    }

    /// `del tree[k]`: `k` comes from `range()`, a fresh int.
    fn delete_key(&mut self, k: u32) -> Result<(), Stop> {
        self.out.alloc(KEY, Kind::Int, int_digits(k as u128))?;
        self.out.load(n(0), TREE, 0)?;
        let root = self.root;
        self.delete(0, root, k)?;
        self.out.clear(n(0))?;
        self.out.safe_point()
    }

    /// Every key looked up in order, then `max(200, N / 20)` random ones (`0..=N`, so some
    /// miss), each hit adding its record's `d` to the total.
    fn lookups(&mut self, rng: &mut ChaCha8Rng, nrec: u32) -> Result<(), Stop> {
        for k in 0..nrec {
            if self.search(k)? {
                self.add_d()?;
            }
            self.out.safe_point()?;
        }
        let num = (nrec / 20).max(200);
        for _ in 0..num {
            let k = rng.random_range(0..=nrec);
            if self.search(k)? {
                self.add_d()?;
            }
            self.out.safe_point()?;
        }
        Ok(())
    }

    fn in_order(&self, s: usize, out: &mut Vec<u32>) {
        let node = &self.nodes[s];
        match &node.nodes {
            None => out.extend_from_slice(&node.items.v),
            Some(ch) => {
                for (i, &k) in node.items.v.iter().enumerate() {
                    self.in_order(ch.v[i], out);
                    out.push(k);
                }
                if let Some(&last) = ch.v.last() {
                    self.in_order(last, out);
                }
            }
        }
    }

    fn height(&self) -> u32 {
        let mut s = self.root;
        let mut h = 0;
        while let Some(ch) = &self.nodes[s].nodes {
            s = ch.v[0];
            h += 1;
        }
        h
    }
}

impl Workload for BTree {
    fn header(&self) -> StreamHeader {
        StreamHeader::new(BASE + PER_LEVEL * (MAX_LEVELS + 1))
    }

    fn generate(&self, rng: &mut ChaCha8Rng, out: &mut Emitter<'_>) -> Result<(), Stop> {
        emit_pool(out)?;
        emit_records(out, rng, self.records)?;
        for _ in 0..self.loops {
            let mut g = Gen {
                out,
                t: self.t,
                nodes: Vec::new(),
                root: 0,
            };
            self.one_tree(&mut g, rng)?;
        }
        out.clear(RECORDS)?;
        out.clear(POOL)?;
        Ok(())
    }
}

impl BTree {
    /// One loop of the benchmark: build the tree in shuffled order, delete and re-insert the
    /// lowest keys, `gc.collect()`, look up, drop the tree.
    fn one_tree(&self, g: &mut Gen<'_, '_>, rng: &mut ChaCha8Rng) -> Result<(), Stop> {
        let nrec = self.records;
        let mut order: Vec<u32> = (0..nrec).collect();
        order.shuffle(rng);
        g.emit_ids(&order)?;
        g.new_tree()?;
        for (i, &k) in order.iter().enumerate() {
            g.out.load(KEY, IDS, i as u32)?;
            g.add_record(k)?;
        }
        let remake = (nrec as f64 * self.recreate) as u32;
        for k in 0..remake {
            g.delete_key(k)?;
        }
        for k in 0..remake {
            g.out.alloc(KEY, Kind::Int, int_digits(k as u128))?;
            g.add_record(k)?;
        }
        if cfg!(debug_assertions) {
            let mut keys = Vec::new();
            g.in_order(g.root, &mut keys);
            debug_assert!(keys.iter().copied().eq(0..nrec), "B-tree shadow lost keys");
            debug_assert!(g.height() < MAX_LEVELS);
        }
        g.out.clear(IDS)?;
        g.out.gc(GcOp::Collect { generation: 2 })?;
        if self.lookups {
            g.lookups(rng, nrec)?;
        }
        g.out.clear(SUM)?;
        g.out.clear(TREE)
    }
}

/// The 31 interned strings `str(0) .. str(30)` in `POOL`.
fn emit_pool(out: &mut Emitter<'_>) -> Result<(), Stop> {
    out.alloc(POOL, Kind::List, 0)?;
    for i in 0..31u32 {
        out.alloc(X, Kind::Str, if i < 10 { 1 } else { 2 })?;
        out.append(POOL, X)?;
    }
    Ok(())
}

/// `records = list(make_records(N))` in `RECORDS`: six attributes per `Record`.
fn emit_records(out: &mut Emitter<'_>, rng: &mut ChaCha8Rng, nrec: u32) -> Result<(), Stop> {
    out.alloc(RECORDS, Kind::List, 0)?;
    for id in 0..nrec {
        out.alloc(KEY, Kind::Instance, 0)?;
        out.alloc(X, Kind::Int, int_digits(id as u128))?;
        out.store(KEY, 0, X)?;
        out.alloc(X, Kind::Str, format!("node {id}").len() as u32)?;
        out.store(KEY, 1, X)?;
        out.alloc(X, Kind::Bytes, id % 100)?;
        out.store(KEY, 2, X)?;
        out.alloc(X, Kind::Float, 0)?;
        out.store(KEY, 3, X)?;
        out.load(X, POOL, rng.random_range(0..31))?;
        out.store(KEY, 4, X)?;
        out.store(KEY, 5, NONE)?;
        out.append(RECORDS, KEY)?;
        out.safe_point()?;
    }
    out.clear(KEY)?;
    out.clear(X)
}
