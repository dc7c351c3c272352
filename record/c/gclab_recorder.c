/*
 * _gclab_recorder: records object lifetimes and the cycle collector's view of
 * the heap inside a running CPython 3.11, 3.12 or 3.13 (GIL builds only).
 *
 * Where the events come from:
 *   - 3.13: the reference tracer (PyRefTracer_SetTracer, Include/cpython/
 *     object.h) reports every CREATE and every DESTROY that goes through
 *     _Py_Dealloc.  We chain to the tracer that was installed before us
 *     (tracemalloc uses the same slot).
 *   - 3.11/3.12: there is no tracer; gclab_shim.c, loaded with LD_PRELOAD,
 *     interposes _Py_NewReference(/NoTotal) and _Py_Dealloc and calls the
 *     function we hand to its setter (found with dlsym).
 *   - Both: the interpreter loop frees some objects by calling tp_dealloc
 *     directly, never reaching _Py_Dealloc (gh-130382, fixed for 3.13.3 by
 *     PR #131195; 3.11/3.12 have the same gap through the shim).  We replace
 *     tp_dealloc of every static type we meet (and its bases) by a trampoline
 *     that records the death and calls the original.  A trampoline skips an
 *     object the tracer has already reported: the tracer pushes each DESTROY
 *     whose dealloc will reach a trampoline on a small stack (deallocs nest,
 *     so the matching trampoline finds it on top, or under entries that can
 *     no longer be matched).  One death then gives one DESTROY; a few give
 *     two (a dealloc deferred by the trashcan and run later, a resurrected
 *     object).  We do not filter further: the reader does.  Still missed:
 *     objects the specialised instructions free through a type's dealloc
 *     function named directly (int, float and str temporaries, e.g. in
 *     BINARY_OP_ADD_INT); their address reappears in a later CREATE.
 *   - A C gc callback (appended to gc.callbacks by the boot script) records
 *     collection starts and stops and walks the generation lists through the
 *     interpreter's internal gc state (internal/pycore_gc.h).
 *
 * Output: a 16-byte header ("GCLABRAW", u32 format = 1, u32 Py_Version) then
 * 16-byte little-endian records (the K_* table below), buffered here (1 MiB)
 * and written with write(2) to a close-on-exec descriptor.  A TYPE record is
 * followed by its name in zero-padded 16-byte chunks, which are not records.
 * Events raised while the recorder itself runs are dropped (busy).
 * Limits: one interpreter (the main one; subinterpreters are not told
 * apart); a program that replaces the reference tracer (tracemalloc.start()
 * on 3.13) or empties gc.callbacks ends those events for the rest of the run.
 */
#define PY_SSIZE_T_CLEAN
#define Py_BUILD_CORE_MODULE 1
#include <Python.h>
#include "internal/pycore_gc.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_dict.h"
#if PY_VERSION_HEX >= 0x030C0000
#include "internal/pycore_long.h"
#endif

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if PY_VERSION_HEX < 0x030B0000
#error "gclab recorder: needs CPython 3.11 or later"
#endif
#if PY_VERSION_HEX >= 0x030E0000
#error "gclab recorder: CPython 3.14+ keeps its collector state differently; not supported yet"
#endif
#ifdef Py_GIL_DISABLED
#error "gclab recorder: free-threaded builds are not supported"
#endif
#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "gclab recorder: the raw format is little endian; this host is not"
#endif

#if PY_VERSION_HEX < 0x030D0000
/* 3.11/3.12: the same shape as 3.13's tracer, fed by the LD_PRELOAD shim. */
typedef enum { PyRefTracer_CREATE = 0, PyRefTracer_DESTROY = 1 } PyRefTracerEvent;
typedef int (*PyRefTracer)(PyObject *, PyRefTracerEvent, void *);
typedef void (*shim_setter)(PyRefTracer, void *);
#define SHIM_SETTER "gclab_shim_set_tracer"
#endif

/* ------------------------------------------------------------------ format */

/*
 * Record: struct { u64 a; u32 b; u16 c; u8 kind; u8 flags; }, little endian.
 * c is the low 16 bits of interp->gc.generations[0].count when the record is
 * written (TYPE: min(tp_basicsize, 65535)).  addr = the object pointer's low
 * 48 bits; tid = the type's id (first-seen order from 0, 0xFFFF once ids run
 * out) in a's top 16 bits.  Object flags: F_GC_TYPE (Py_TPFLAGS_HAVE_GC),
 * F_IN_GC (the collector is running), F_HEAPTYPE, F_VIA_WRAPPER (the death
 * was seen only by a dealloc trampoline).  SNAP_OBJ and INIT_OBJ are followed
 * by one EDGE per referent (tp_traverse) and one SIZE.  END's a counts the
 * records before it (name chunks excluded).  Generation 3 = permanent.
 *
 *   kind           a                       b                 flags        */
enum {
    K_CREATE = 0,    /* addr|tid<<48        tp_basicsize      obj flags    */
    K_DESTROY = 1,   /* addr|tid<<48        size at death     obj flags    */
    K_GC_START = 2,  /* generation          0                 0            */
    K_GC_STOP = 3,   /* collected           uncollectable     generation   */
    K_SNAP_OBJ = 4,  /* addr|tid<<48        refcount          generation   */
    K_EDGE = 5,      /* referent addr       0                 0            */
    K_MARK = 6,      /* payload             0                 mark kind    */
    K_GCSTATE = 7,   /* long_lived_total    long_lived_pending 0           */
    K_COUNTS = 8,    /* count1|count2<<32   count0            enabled      */
    K_THRESH = 9,    /* t0|t1<<32           t2                0            */
    K_UNTRACKED = 10,/* addr                0                 0            */
    K_TIME = 11,     /* ns since start      0                 0            */
    K_TYPE = 12,     /* tid                 name length       type flags; c = basicsize */
    K_INIT_OBJ = 13, /* addr|tid<<48        refcount          generation   */
    K_END = 14,      /* records before END  0                 0            */
    K_SIZE = 15,     /* size in bytes       0                 0            */
};
enum { F_GC_TYPE = 1, F_IN_GC = 4, F_HEAPTYPE = 8, F_VIA_WRAPPER = 16 };
enum {
    MARK_COLLECT = 1, MARK_FREEZE = 2, MARK_UNFREEZE = 3, MARK_ENABLE = 4,
    MARK_DISABLE = 5, MARK_SET_THRESHOLD = 6, MARK_START = 7, MARK_END = 8,
    MARK_EVENT = 9, /* a named point of the program (payload: 1 = start-up over) */
};
#define FORMAT_VERSION 1
#define ADDR_MASK 0xFFFFFFFFFFFFull
#define TID_OVERFLOW 0xFFFFu
#define GEN_PERMANENT 3

typedef struct {
    uint64_t a;
    uint32_t b;
    uint16_t c;
    uint8_t kind;
    uint8_t flags;
} rec_t;
_Static_assert(sizeof(rec_t) == 16, "a record is 16 bytes");

/* ------------------------------------------------------------------- state */

#define BUFCAP (1 << 16) /* records: 1 MiB */
static rec_t buf[BUFCAP];

static struct {
    int active;             /* recording: tracer and trampolines report */
    int busy;               /* recorder code running: drop events raised now */
    int fd;
    dev_t fd_dev;           /* the log file's identity: a program that closes our */
    ino_t fd_ino;           /* descriptor and reuses its number must not get our records */
    int write_errno;        /* first write(2) failure; later records are dropped */
    size_t nbuf;
    uint64_t nrecords;      /* records written (TYPE name chunks and header excluded) */
    uint64_t dropped;       /* events raised while busy */
    struct _gc_runtime_state *gc;
    struct timespec t0;
#if PY_VERSION_HEX >= 0x030D0000
    PyRefTracer prev_tracer; /* chained (tracemalloc uses the same slot) */
    void *prev_data;
#else
    shim_setter set_tracer;
#endif
    /* the collection in progress: snapshot addresses, deaths since its start */
    int snap_open;
    PyObject **snap;
    size_t nsnap, snapcap;
} R = {.fd = -1};

/* Objects the tracer reported whose tp_dealloc (a trampoline) has not run yet. */
#define PSTACK 64
static PyObject *pstack[PSTACK];
static int pdepth;
static uint64_t pending_dropped; /* entries dropped because the stack was full */

static inline void pending_push(PyObject *op) {
    if (pdepth == PSTACK) { /* only unmatched entries pile up: drop the oldest half */
        memmove(pstack, pstack + PSTACK / 2, (PSTACK / 2) * sizeof(PyObject *));
        pdepth = PSTACK / 2;
        pending_dropped += PSTACK / 2;
    }
    pstack[pdepth++] = op;
}

/* Was op reported?  Entries above it belong to deallocs that will never reach
 * a trampoline now (deferred or resurrected objects): they go too. */
static inline int pending_pop(PyObject *op) {
    for (int k = pdepth - 1; k >= 0; k--)
        if (pstack[k] == op) {
            pdepth = k;
            return 1;
        }
    return 0;
}

/* A new object at op's address: an old entry there must not match its death. */
static inline void pending_forget(PyObject *op) {
    for (int k = 0; k < pdepth; k++)
        if (pstack[k] == op) {
            memmove(pstack + k, pstack + k + 1, (size_t)(pdepth - k - 1) * sizeof(PyObject *));
            pdepth--;
            k--;
        }
}

/* Keys of the info dict CPython passes to gc callbacks (made once, interned). */
static PyObject *key_generation, *key_collected, *key_uncollectable;

static void flush(void) {
    const char *p = (const char *)buf;
    size_t left = R.nbuf * sizeof(rec_t);
    R.nbuf = 0;
    if (R.fd < 0 || R.write_errno) return;
    struct stat st;
    if (fstat(R.fd, &st) < 0 || st.st_dev != R.fd_dev || st.st_ino != R.fd_ino) {
        R.write_errno = EBADF;
        return;
    }
    while (left > 0) {
        ssize_t n = write(R.fd, p, left);
        if (n < 0) {
            if (errno == EINTR) continue;
            R.write_errno = errno;
            return;
        }
        p += n;
        left -= (size_t)n;
    }
}

static inline uint16_t gen0_count(void) {
    return R.gc ? (uint16_t)R.gc->generations[0].count : 0;
}

/* One 16-byte unit, counted as a record or not (header, TYPE name chunks). */
static inline rec_t *slot(void) {
    if (R.nbuf == BUFCAP) flush();
    return &buf[R.nbuf++];
}

static inline void emit(uint64_t a, uint32_t b, uint8_t kind, uint8_t flags) {
    rec_t *r = slot();
    r->a = a;
    r->b = b;
    r->c = gen0_count();
    r->kind = kind;
    r->flags = flags;
    R.nrecords++;
}

static inline uint32_t sat32(uint64_t v) { return v > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)v; }
static inline uint64_t addr48(const void *p) { return (uint64_t)(uintptr_t)p & ADDR_MASK; }

static uint64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)(t.tv_sec - R.t0.tv_sec) * 1000000000ull + (uint64_t)t.tv_nsec -
           (uint64_t)R.t0.tv_nsec;
}

static inline uint8_t in_gc(void) { return R.gc && R.gc->collecting ? F_IN_GC : 0; }

/* -------------------------------------------------------------- type table */

/* How an object's size is computed (see obj_size). */
enum { SK_FIXED, SK_VAR, SK_INT, SK_STR, SK_LIST, SK_DICT, SK_SET };

typedef struct {
    PyTypeObject *tp;  /* NULL: empty slot */
    uint16_t tid;
    uint8_t flags;     /* F_GC_TYPE | F_HEAPTYPE */
    uint8_t sizekind;
    uint8_t dead;      /* the type object died: its address may be reused */
    int16_t tslot;     /* the trampoline its instances' dealloc ends in, or -1 */
    PyTypeObject *reach; /* the static type whose tp_dealloc holds that trampoline */
} tent_t;

static tent_t *tmap;
static size_t tcap;   /* power of two */
static size_t tused;  /* slots in use, dead ones included */
static uint32_t ntypes;

static inline size_t thash(const void *p) {
    uint64_t x = (uint64_t)(uintptr_t)p >> 4;
    x ^= x >> 29;
    x *= 0x9E3779B97F4A7C15ull;
    return (size_t)(x >> 32);
}

static tent_t *tfind_slot(tent_t *map, size_t cap, PyTypeObject *tp) {
    size_t h = thash(tp) & (cap - 1);
    while (map[h].tp != NULL && map[h].tp != tp) h = (h + 1) & (cap - 1);
    return &map[h];
}

static int tgrow(void) {
    size_t ncap = tcap ? tcap * 2 : 512; /* 16 KiB: stays in L1 */
    tent_t *n = calloc(ncap, sizeof(tent_t));
    if (!n) return -1;
    for (size_t i = 0; i < tcap; i++)
        if (tmap[i].tp) *tfind_slot(n, ncap, tmap[i].tp) = tmap[i];
    free(tmap);
    tmap = n;
    tcap = ncap;
    return 0;
}

static int overflow_typed; /* the TYPE record of TID_OVERFLOW is written */

static void treset(void) {
    free(tmap);
    tmap = NULL;
    tcap = tused = 0;
    ntypes = 0;
    overflow_typed = 0;
}

#define NTRAMP 1024
static const destructor tramps[NTRAMP]; /* the trampolines, defined below */
static int tramp_running[NTRAMP];       /* originals put back while they run */
static void patch_chain(PyTypeObject *tp);
static void reaches_tramp(tent_t *e);

/* TYPE record followed by the name in zero-padded 16-byte chunks. */
static void emit_type(uint32_t tid, const char *name, Py_ssize_t basicsize, uint8_t flags) {
    size_t len = strlen(name);
    if (len > 0xFFFF) len = 0xFFFF;
    rec_t *r = slot();
    r->a = tid;
    r->b = (uint32_t)len;
    r->c = (uint16_t)(basicsize > 0xFFFF ? 0xFFFF : (basicsize < 0 ? 0 : basicsize));
    r->kind = K_TYPE;
    r->flags = flags;
    R.nrecords++;
    for (size_t off = 0; off < len; off += 16) {
        rec_t *chunk = slot();
        size_t n = len - off < 16 ? len - off : 16;
        memset(chunk, 0, sizeof *chunk);
        memcpy(chunk, name + off, n);
    }
}

static uint8_t size_kind(PyTypeObject *tp) {
    unsigned long f = tp->tp_flags;
    if (f & Py_TPFLAGS_LONG_SUBCLASS) return SK_INT;
    if (f & Py_TPFLAGS_UNICODE_SUBCLASS) return SK_STR;
    if (f & Py_TPFLAGS_LIST_SUBCLASS) return SK_LIST;
    if (f & Py_TPFLAGS_DICT_SUBCLASS) return SK_DICT;
    if (PyType_IsSubtype(tp, &PySet_Type) || PyType_IsSubtype(tp, &PyFrozenSet_Type))
        return SK_SET;
    /* A frame object has a tp_itemsize (its embedded interpreter frame) but no ob_size:
     * the word Py_SIZE would read is another field. */
    if (tp == &PyFrame_Type) return SK_FIXED;
    return tp->tp_itemsize ? SK_VAR : SK_FIXED;
}

/* The entry of tp, registering it (TYPE record, dealloc patching) the first
 * time.  Never NULL: if the table cannot grow, types share the overflow id. */
static tent_t overflow_ent = {NULL, TID_OVERFLOW, 0, SK_FIXED, 0, -1, NULL};

static tent_t *overflow_entry(void) {
    if (!overflow_typed) {
        emit_type(TID_OVERFLOW, "<gclab: type ids exhausted>", 0, 0);
        overflow_typed = 1;
    }
    return &overflow_ent;
}

/* First sight of tp (or of a new type at a dead type's address). */
static __attribute__((noinline)) tent_t *type_register(PyTypeObject *tp) {
    if ((tused + 1) * 2 > tcap && tgrow() < 0) return overflow_entry();
    tent_t *e = tfind_slot(tmap, tcap, tp);
    if (e->tp == NULL) tused++;
    e->tp = tp;
    e->dead = 0;
    e->flags = (uint8_t)(((tp->tp_flags & Py_TPFLAGS_HAVE_GC) ? F_GC_TYPE : 0) |
                         ((tp->tp_flags & Py_TPFLAGS_HEAPTYPE) ? F_HEAPTYPE : 0));
    e->sizekind = size_kind(tp);
    if (ntypes < TID_OVERFLOW) {
        e->tid = (uint16_t)ntypes++;
        emit_type(e->tid, tp->tp_name ? tp->tp_name : "?", tp->tp_basicsize, e->flags);
    } else {
        e->tid = overflow_entry()->tid;
    }
    patch_chain(tp);
    reaches_tramp(e);
    return e;
}

/* The per-event lookup: kept small so that it inlines. */
static inline tent_t *type_entry(PyTypeObject *tp) {
    if (tcap) {
        tent_t *e = tfind_slot(tmap, tcap, tp);
        if (e->tp == tp && !e->dead) return e;
    }
    return type_register(tp);
}

/* A type object died: a new type may get its address. */
static void type_died(PyTypeObject *tp) {
    if (!tcap) return;
    tent_t *e = tfind_slot(tmap, tcap, tp);
    if (e->tp == tp) e->dead = 1;
}

#include "gclab_sizes.c"  /* obj_size(): an object's bytes, as __sizeof__ counts them */

/* ------------------------------------------------- collection bookkeeping */

/* Addresses that died since the current collection started: an open-address
 * set whose entries belong to one collection (epoch), so it is never cleared. */
typedef struct { uintptr_t key; uint32_t epoch; } dent_t;
static dent_t *dset;
static size_t dcap, dcount;
static uint32_t depoch = 1;
static int dset_full; /* could not grow: this collection's UNTRACKED check is skipped */

static inline size_t dslot(dent_t *set, size_t cap, uintptr_t key) {
    size_t h = thash((void *)key) & (cap - 1);
    while (set[h].epoch == depoch && set[h].key != key) h = (h + 1) & (cap - 1);
    return h;
}

static void dead_insert(PyObject *op) {
    uintptr_t key = (uintptr_t)op;
    if ((dcount + 1) * 2 > dcap) {
        size_t ncap = dcap ? dcap * 2 : 1024;
        dent_t *n = calloc(ncap, sizeof(dent_t));
        if (!n) {
            dset_full = 1;
            return;
        }
        for (size_t i = 0; i < dcap; i++)
            if (dset[i].epoch == depoch) n[dslot(n, ncap, dset[i].key)] = dset[i];
        free(dset);
        dset = n;
        dcap = ncap;
    }
    size_t h = dslot(dset, dcap, key);
    if (dset[h].epoch != depoch) {
        dset[h].key = key;
        dset[h].epoch = depoch;
        dcount++;
    }
}

static inline int dead_contains(PyObject *op) {
    if (!dcap) return 0;
    return dset[dslot(dset, dcap, (uintptr_t)op)].epoch == depoch;
}

static void dead_new_epoch(void) {
    dcount = 0;
    dset_full = 0;
    if (++depoch == 0) { /* wrapped: old stamps could match again */
        if (dset) memset(dset, 0, dcap * sizeof(dent_t));
        depoch = 1;
    }
}

/* ------------------------------------------------------- create / destroy */

static void record_destroy(PyObject *op, tent_t *e, uint8_t extra_flags) {
    PyTypeObject *tp = Py_TYPE(op);
    uint64_t size = obj_size(op, tp, e->sizekind);
    emit(addr48(op) | ((uint64_t)e->tid << 48), sat32(size), K_DESTROY,
         (uint8_t)(e->flags | in_gc() | extra_flags));
    if (R.snap_open) dead_insert(op);
    if (PyType_Check(op)) type_died((PyTypeObject *)op);
}

static int tracer(PyObject *op, PyRefTracerEvent event, void *data) {
    (void)data;
    if (R.active && op != NULL) {
        if (R.busy) {
            R.dropped++;
        } else if (event == PyRefTracer_CREATE) {
            R.busy = 1;
            if (pdepth) pending_forget(op);
            /* only the type is valid at creation: the size is tp_basicsize */
            PyTypeObject *tp = Py_TYPE(op);
            tent_t *e = type_entry(tp);
            emit(addr48(op) | ((uint64_t)e->tid << 48), sat32((uint64_t)tp->tp_basicsize),
                 K_CREATE, (uint8_t)(e->flags | in_gc()));
            R.busy = 0;
        } else if (event == PyRefTracer_DESTROY) {
            R.busy = 1;
            /* _Py_Dealloc calls tp_dealloc next: if that ends in a trampoline
               it must not report this death again */
            tent_t *e = type_entry(Py_TYPE(op));
            if (e->tslot >= 0 && e->reach->tp_dealloc == tramps[e->tslot]) pending_push(op);
            record_destroy(op, e, 0);
            R.busy = 0;
        }
    }
#if PY_VERSION_HEX >= 0x030D0000
    if (R.prev_tracer) return R.prev_tracer(op, event, R.prev_data);
#endif
    return 0;
}

/* ------------------------------------------------------ dealloc trampolines */

static destructor tramp_orig[NTRAMP];
static PyTypeObject *tramp_type[NTRAMP];
static int ntramp;
static uint64_t tramp_exhausted; /* static types left unpatched: no slot */


static inline void tramp_body(int i, PyObject *op) {
    if (!R.active) {
        tramp_orig[i](op);
        return;
    }
    if (R.busy) {
        R.dropped++;
    } else if (!pending_pop(op)) {
        R.busy = 1;
        record_destroy(op, type_entry(Py_TYPE(op)), F_VIA_WRAPPER);
        R.busy = 0;
    }
    /* Py_TRASHCAN_BEGIN(op, f), which bounds the recursion of deallocating
       deeply nested containers, only acts when Py_TYPE(op)->tp_dealloc == f:
       with a trampoline there, freeing a list nested 100000 deep overflows the
       C stack.  So the original is put back while it runs.  Objects of this
       type freed meanwhile (by it) call the original directly: the tracer
       still reports them, and they are not pushed as pending (the tracer
       checks reach->tp_dealloc).  Only GC types use the trashcan. */
    PyTypeObject *t = Py_TYPE(op);
    if (t->tp_dealloc == tramps[i] && (t->tp_flags & Py_TPFLAGS_HAVE_GC) &&
        !(t->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
        t->tp_dealloc = tramp_orig[i];
        tramp_running[i]++;
        tramp_orig[i](op);
        tramp_running[i]--;
        if (R.active && t->tp_dealloc == tramp_orig[i]) t->tp_dealloc = tramps[i];
    } else {
        tramp_orig[i](op);
    }
}

/* NTRAMP trampolines made by the preprocessor: tramp_DDDD, DDDD octal digits,
 * whose index is the octal literal 0DDDD. */
#define TR8(M, d) M(d##0) M(d##1) M(d##2) M(d##3) M(d##4) M(d##5) M(d##6) M(d##7)
#define TR64(M, d) TR8(M, d##0) TR8(M, d##1) TR8(M, d##2) TR8(M, d##3) \
                   TR8(M, d##4) TR8(M, d##5) TR8(M, d##6) TR8(M, d##7)
#define TR512(M, d) TR64(M, d##0) TR64(M, d##1) TR64(M, d##2) TR64(M, d##3) \
                    TR64(M, d##4) TR64(M, d##5) TR64(M, d##6) TR64(M, d##7)
#define TRAMP_DEF(d) static void tramp_##d(PyObject *op) { tramp_body(0##d, op); }
#define TRAMP_REF(d) tramp_##d,
TR512(TRAMP_DEF, 0)
TR512(TRAMP_DEF, 1)
static const destructor tramps[NTRAMP] = {TR512(TRAMP_REF, 0) TR512(TRAMP_REF, 1)};

static int is_tramp(destructor d) {
    for (int i = 0; i < ntramp; i++)
        if (tramps[i] == d) return 1;
    return 0;
}

/* Wrap tp_dealloc of tp and its static bases (a heap type's subtype_dealloc
 * ends in its first static base's dealloc).  Heap types are left alone: they
 * can die, and restoring them at stop would write freed memory. */
static void patch_chain(PyTypeObject *tp) {
    for (PyTypeObject *b = tp; b != NULL; b = b->tp_base) {
        if (b->tp_flags & Py_TPFLAGS_HEAPTYPE) continue;
        destructor d = b->tp_dealloc;
        if (d == NULL || is_tramp(d)) continue; /* ours, or inherited from a patched base */
        int i;
        for (i = 0; i < ntramp && tramp_type[i] != b; i++) {}
        if (i < ntramp) { /* restored by an earlier stop, or put back while it runs */
            if (d == tramp_orig[i] && !tramp_running[i]) b->tp_dealloc = tramps[i];
            continue;
        }
        if (ntramp == NTRAMP) {
            tramp_exhausted++;
            continue;
        }
        i = ntramp++;
        tramp_orig[i] = d;
        tramp_type[i] = b;
        b->tp_dealloc = tramps[i];
    }
}

/* subtype_dealloc, the tp_dealloc of classes defined in Python: it ends by
 * calling the first base dealloc that is not itself (found at module init). */
static destructor subtype_dealloc_fn;

static void reaches_tramp(tent_t *e) {
    PyTypeObject *tp = e->tp;
    while (tp != NULL && subtype_dealloc_fn != NULL && tp->tp_dealloc == subtype_dealloc_fn)
        tp = tp->tp_base;
    e->tslot = -1;
    e->reach = NULL;
    if (tp == NULL || (tp->tp_flags & Py_TPFLAGS_HEAPTYPE)) return;
    for (int i = 0; i < ntramp; i++)
        if (tramps[i] == tp->tp_dealloc || (tramp_type[i] == tp && tramp_orig[i] == tp->tp_dealloc)) {
            e->tslot = (int16_t)i;
            e->reach = tp;
            return;
        }
}

/* Trampolines stay callable after this (types readied meanwhile may have
 * inherited one); with the recorder inactive they only forward. */
static void unpatch_all(void) {
    for (int i = 0; i < ntramp; i++)
        if (tramp_type[i]->tp_dealloc == tramps[i]) tramp_type[i]->tp_dealloc = tramp_orig[i];
}

/* ---------------------------------------------- collector state, snapshots */

static void emit_gcstate(void) {
    emit((uint64_t)R.gc->long_lived_total, sat32((uint64_t)R.gc->long_lived_pending), K_GCSTATE,
         0);
}

static void emit_counts(void) {
    struct gc_generation *g = R.gc->generations;
    emit((uint64_t)(uint32_t)g[1].count | ((uint64_t)(uint32_t)g[2].count << 32),
         (uint32_t)g[0].count, K_COUNTS, R.gc->enabled ? 1 : 0);
}

static void emit_thresh(void) {
    struct gc_generation *g = R.gc->generations;
    emit((uint64_t)(uint32_t)g[0].threshold | ((uint64_t)(uint32_t)g[1].threshold << 32),
         (uint32_t)g[2].threshold, K_THRESH, 0);
}

static int visit_edge(PyObject *child, void *arg) {
    (void)arg;
    if (child != NULL) emit(addr48(child), 0, K_EDGE, 0);
    return 0;
}

/* SNAP_OBJ or INIT_OBJ, its referents (EDGE), its current size (SIZE). */
static void emit_object(PyObject *op, uint8_t kind, uint8_t gen) {
    PyTypeObject *tp = Py_TYPE(op);
    tent_t *e = type_entry(tp);
    int sizekind = e->sizekind;
    Py_ssize_t rc = Py_REFCNT(op);
    emit(addr48(op) | ((uint64_t)e->tid << 48), sat32(rc < 0 ? 0 : (uint64_t)rc), kind, gen);
    if (tp->tp_traverse) tp->tp_traverse(op, visit_edge, NULL);
    emit(obj_size(op, tp, sizekind), 0, K_SIZE, 0);
}

static void snap_push(PyObject *op) {
    if (R.nsnap == R.snapcap) {
        size_t ncap = R.snapcap ? R.snapcap * 2 : 4096;
        PyObject **n = realloc(R.snap, ncap * sizeof(PyObject *));
        if (!n) return; /* this object then gets no UNTRACKED check */
        R.snap = n;
        R.snapcap = ncap;
    }
    R.snap[R.nsnap++] = op;
}

static void walk_list(PyGC_Head *head, uint8_t kind, uint8_t gen, int keep) {
    for (PyGC_Head *g = _PyGCHead_NEXT(head); g != head; g = _PyGCHead_NEXT(g)) {
        PyObject *op = (PyObject *)(g + 1);
        emit_object(op, kind, gen);
        if (keep) snap_push(op);
    }
}

static long dict_long(PyObject *info, PyObject *key) {
    if (!PyDict_Check(info)) return 0;
    PyObject *v = PyDict_GetItemWithError(info, key); /* borrowed, allocates nothing */
    if (v == NULL || !PyLong_Check(v)) {
        PyErr_Clear();
        return 0;
    }
    long r = PyLong_AsLong(v);
    if (r == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return 0;
    }
    return r;
}

static void gc_started(long gen) {
    emit((uint64_t)gen, 0, K_GC_START, 0);
    emit(now_ns(), 0, K_TIME, 0);
    emit_gcstate();
    emit_counts();
    emit_thresh();
    R.nsnap = 0;
    dead_new_epoch();
    R.snap_open = 1;
    for (long g = 0; g <= gen && g < NUM_GENERATIONS; g++)
        walk_list(&R.gc->generations[g].head, K_SNAP_OBJ, (uint8_t)g, 1);
}

static void gc_stopped(long gen, long collected, long uncollectable) {
    if (R.snap_open && !dset_full) {
        /* Objects of the snapshot that survived but left the collector's lists
           (CPython untracks tuples and dicts that cannot be in a cycle).  An
           address that died during this collection is never read. */
        for (size_t i = 0; i < R.nsnap; i++) {
            PyObject *op = R.snap[i];
            if (!dead_contains(op) && !_PyObject_GC_IS_TRACKED(op))
                emit(addr48(op), 0, K_UNTRACKED, 0);
        }
    }
    R.snap_open = 0;
    emit(now_ns(), 0, K_TIME, 0);
    emit((uint64_t)(collected < 0 ? 0 : collected), sat32((uint64_t)(uncollectable < 0 ? 0 : uncollectable)),
         K_GC_STOP, (uint8_t)gen);
    emit_gcstate();
    emit_counts();
}

/* gc.callbacks entry: gc_callback(phase, info).  Reads the info dict with
 * pre-made keys and allocates no Python object. */
static PyObject *gc_callback(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2) {
        PyErr_SetString(PyExc_TypeError, "gc_callback(phase, info) takes 2 arguments");
        return NULL;
    }
    if (!R.active || R.busy) Py_RETURN_NONE;
    PyObject *phase = args[0], *info = args[1];
    if (!PyUnicode_Check(phase)) Py_RETURN_NONE;
    long gen = dict_long(info, key_generation);
    R.busy = 1;
    if (PyUnicode_CompareWithASCIIString(phase, "start") == 0)
        gc_started(gen);
    else if (PyUnicode_CompareWithASCIIString(phase, "stop") == 0)
        gc_stopped(gen, dict_long(info, key_collected), dict_long(info, key_uncollectable));
    R.busy = 0;
    Py_RETURN_NONE;
}

#include "gclab_marks.c"  /* marks and the gc.* wrappers */

/* ------------------------------------------------------------- start / stop */

static int set_tracer(int on) {
#if PY_VERSION_HEX >= 0x030D0000
    if (on) {
        R.prev_tracer = PyRefTracer_GetTracer(&R.prev_data);
        if (R.prev_tracer == tracer) R.prev_tracer = NULL;
        return PyRefTracer_SetTracer(tracer, NULL);
    }
    void *data;
    if (PyRefTracer_GetTracer(&data) == tracer) /* else someone replaced us */
        PyRefTracer_SetTracer(R.prev_tracer, R.prev_data);
    R.prev_tracer = NULL;
    R.prev_data = NULL;
    return 0;
#else
    R.set_tracer(on ? tracer : NULL, NULL);
    return 0;
#endif
}

/* In a forked child the recording belongs to the parent: go quiet, write nothing. */
static void atfork_child(void) {
    R.active = 0;
    R.nbuf = 0;
    if (R.fd >= 0) close(R.fd);
    R.fd = -1;
}

/* start(path): header, collector state, every object of every generation, MARK start. */
static PyObject *rec_start(PyObject *self, PyObject *arg) {
    (void)self;
    if (R.active) {
        PyErr_SetString(PyExc_RuntimeError, "the gclab recorder is already recording");
        return NULL;
    }
#if PY_VERSION_HEX < 0x030D0000
    R.set_tracer = (shim_setter)dlsym(RTLD_DEFAULT, SHIM_SETTER);
    if (R.set_tracer == NULL) {
        PyErr_SetString(PyExc_RuntimeError,
                        "on CPython 3.11/3.12 the gclab recorder needs its shim: run the "
                        "interpreter with LD_PRELOAD=<cache>/libgclab_shim.so");
        return NULL;
    }
#endif
    PyObject *bytes;
    if (!PyUnicode_FSConverter(arg, &bytes)) return NULL;
    int fd = open(PyBytes_AS_STRING(bytes), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        PyErr_SetFromErrnoWithFilenameObject(PyExc_OSError, arg);
        Py_DECREF(bytes);
        return NULL;
    }
    Py_DECREF(bytes);
    /* keep the low descriptor numbers free for the program */
    int high = fcntl(fd, F_DUPFD_CLOEXEC, 200);
    if (high >= 0) {
        close(fd);
        fd = high;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        PyErr_SetFromErrno(PyExc_OSError);
        close(fd);
        return NULL;
    }
    R.fd = fd;
    R.fd_dev = st.st_dev;
    R.fd_ino = st.st_ino;
    R.write_errno = 0;
    R.nbuf = 0;
    R.nrecords = 0;
    R.dropped = 0;
    pdepth = 0;
    pending_dropped = 0;
    R.snap_open = 0;
    R.gc = &PyInterpreterState_Get()->gc;
    clock_gettime(CLOCK_MONOTONIC, &R.t0);
    treset();

    R.busy = 1;
    rec_t *h = slot();
    memcpy(h, "GCLABRAW", 8);
    uint32_t ver[2] = {FORMAT_VERSION, (uint32_t)Py_Version};
    memcpy((char *)h + 8, ver, 8);
    emit_gcstate();
    emit_counts();
    emit_thresh();
    for (int g = 0; g < NUM_GENERATIONS; g++)
        walk_list(&R.gc->generations[g].head, K_INIT_OBJ, (uint8_t)g, 0);
    walk_list(&R.gc->permanent_generation.head, K_INIT_OBJ, GEN_PERMANENT, 0);
    emit(0, 0, K_MARK, MARK_START);
    R.busy = 0;
    if (set_tracer(1) < 0) {
        close(R.fd);
        R.fd = -1;
        return NULL;
    }
    R.active = 1;
    Py_RETURN_NONE;
}

/* stop(): MARK end, collector state, END; flush, close, restore.  Returns the
 * number of records written; raises OSError if writing failed. */
static PyObject *rec_stop(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    if (!R.active) {
        PyErr_SetString(PyExc_RuntimeError, "the gclab recorder is not recording");
        return NULL;
    }
    set_tracer(0);
    R.active = 0;
    R.busy = 1;
    emit(0, 0, K_MARK, MARK_END);
    emit_gcstate();
    emit_counts();
    emit_thresh();
    uint64_t n = R.nrecords;
    emit(n, 0, K_END, 0);
    flush();
    R.busy = 0;
    unpatch_all();
    int err = R.write_errno;
    if (err == EBADF) { /* not ours any more: leave it to whoever has it */
    } else if (close(R.fd) < 0 && !err) {
        err = errno;
    }
    R.fd = -1;
    R.gc = NULL;
    R.snap_open = 0;
    if (err) {
        errno = err;
        return PyErr_SetFromErrno(PyExc_OSError);
    }
    return PyLong_FromUnsignedLongLong(n + 1);
}

static PyObject *rec_stats(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return Py_BuildValue("{sKsKsisKsIsisK}", "records", (unsigned long long)R.nrecords,
                         "dropped", (unsigned long long)R.dropped, "patched_types", ntramp,
                         "unpatched_types", (unsigned long long)tramp_exhausted, "types",
                         (unsigned int)ntypes, "pending", pdepth, "pending_dropped",
                         (unsigned long long)pending_dropped);
}

static PyObject *rec_active(PyObject *self, PyObject *unused) {
    (void)self;
    (void)unused;
    return PyBool_FromLong(R.active);
}

static PyMethodDef methods[] = {
    {"start", rec_start, METH_O, "start(path): start recording into path."},
    {"stop", rec_stop, METH_NOARGS, "stop() -> records written; restores everything patched."},
    {"gc_callback", (PyCFunction)(void (*)(void))gc_callback, METH_FASTCALL,
     "gc_callback(phase, info): append to gc.callbacks."},
    {"mark", (PyCFunction)(void (*)(void))rec_mark, METH_FASTCALL,
     "mark(kind, payload): write a MARK record."},
    {"wrap", (PyCFunction)(void (*)(void))rec_wrap, METH_FASTCALL,
     "wrap(kind, original): a callable that writes MARK(kind) and calls original."},
    {"stats", rec_stats, METH_NOARGS, "stats() -> counters of the last or current recording."},
    {"active", rec_active, METH_NOARGS, "active() -> whether a recording is running."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_gclab_recorder",
    .m_doc = "gclab's in-interpreter recorder of object lifetimes and collections.",
    .m_size = -1,
    .m_methods = methods,
};

PyMODINIT_FUNC PyInit__gclab_recorder(void) {
    static int once = 0;
    if (PyType_Ready(&WrapType) < 0) return NULL;
    if (subtype_dealloc_fn == NULL) {
        PyObject *cls = PyObject_CallFunction((PyObject *)&PyType_Type, "s()N",
                                              "_gclab_probe", PyDict_New());
        if (cls == NULL) return NULL;
        subtype_dealloc_fn = ((PyTypeObject *)cls)->tp_dealloc;
        Py_DECREF(cls);
    }
    if (!key_generation) {
        key_generation = PyUnicode_InternFromString("generation");
        key_collected = PyUnicode_InternFromString("collected");
        key_uncollectable = PyUnicode_InternFromString("uncollectable");
        if (!key_generation || !key_collected || !key_uncollectable) return NULL;
    }
    if (!once) {
        pthread_atfork(NULL, NULL, atfork_child);
        once = 1;
    }
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    static const struct { const char *name; int value; } consts[] = {
        {"MARK_COLLECT", MARK_COLLECT},   {"MARK_FREEZE", MARK_FREEZE},
        {"MARK_UNFREEZE", MARK_UNFREEZE}, {"MARK_ENABLE", MARK_ENABLE},
        {"MARK_DISABLE", MARK_DISABLE},   {"MARK_SET_THRESHOLD", MARK_SET_THRESHOLD},
        {"MARK_START", MARK_START},       {"MARK_END", MARK_END},
        {"MARK_EVENT", MARK_EVENT},
        {"FORMAT_VERSION", FORMAT_VERSION},
    };
    for (size_t i = 0; i < sizeof consts / sizeof consts[0]; i++)
        if (PyModule_AddIntConstant(m, consts[i].name, consts[i].value) < 0) {
            Py_DECREF(m);
            return NULL;
        }
    return m;
}
