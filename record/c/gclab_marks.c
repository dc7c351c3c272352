/*
 * Part of gclab_recorder.c, #included by it (one translation unit, so that
 * the build stays one compiler call and everything stays static): the marks a program or gclab
 * puts in the log, and the C wrappers of the gc module's functions that mark
 * each call.
 * It uses the definitions above its #include line there.
 */

/* ------------------------------------------------------------------- marks */

static void emit_mark(uint8_t kind, uint64_t payload) {
    if (!R.active || R.busy) return;
    R.busy = 1;
    emit(payload, 0, K_MARK, kind);
    R.busy = 0;
}

/* mark(kind, payload): METH_FASTCALL, so no argument tuple is made. */
static PyObject *rec_mark(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    if (nargs != 2 || !PyLong_Check(args[0]) || !PyLong_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "mark(kind: int, payload: int)");
        return NULL;
    }
    long kind = PyLong_AsLong(args[0]);
    unsigned long long payload = PyLong_AsUnsignedLongLong(args[1]);
    if (PyErr_Occurred()) return NULL;
    if (kind < 0 || kind > 255) {
        PyErr_SetString(PyExc_ValueError, "mark kind must be in 0..255");
        return NULL;
    }
    emit_mark((uint8_t)kind, payload);
    Py_RETURN_NONE;
}

/*
 * Wrappers of gc.collect, gc.freeze, ...: a callable that writes the MARK and
 * then forwards the very same vectorcall to the original, so arguments,
 * defaults, return values, exceptions and tracebacks are the original's and no
 * Python frame or argument tuple is added.  The MARK is written only when the
 * arguments are ones the original accepts without calling Python code (plain
 * ints); anything else goes to the original unmarked (and usually raises).
 */
typedef struct {
    PyObject_HEAD
    PyObject *orig;
    int kind;
    vectorcallfunc vectorcall;
} wrap_t;

static int small_int(PyObject *o, long *out) {
    if (!PyLong_Check(o)) return 0;
    int overflow = 0;
    long v = PyLong_AsLongAndOverflow(o, &overflow);
    if (overflow || (v == -1 && PyErr_Occurred())) {
        PyErr_Clear();
        return 0;
    }
    *out = v;
    return 1;
}

static int mark_payload(int kind, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
                        uint64_t *payload) {
    Py_ssize_t nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    long v;
    switch (kind) {
    case MARK_COLLECT: /* collect(generation=2) */
        if (nargs == 0 && nkw == 0) {
            *payload = 2;
            return 1;
        }
        if (nargs + nkw != 1) return 0;
        if (nkw == 1 &&
            PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, 0), "generation") != 0)
            return 0;
        if (!small_int(args[0], &v) || v < 0 || v > 2) return 0;
        *payload = (uint64_t)v;
        return 1;
    case MARK_SET_THRESHOLD: { /* set_threshold(t0[, t1[, t2]]) */
        if (nkw != 0 || nargs < 1 || nargs > 3) return 0;
        long t[3];
        for (int i = 0; i < 3; i++) t[i] = R.gc ? R.gc->generations[i].threshold : 0;
        for (Py_ssize_t i = 0; i < nargs; i++) {
            if (!small_int(args[i], &v) || v < INT_MIN || v > INT_MAX) return 0;
            t[i] = v;
        }
        *payload = 0;
        for (int i = 0; i < 3; i++) {
            long c = t[i] < 0 ? 0 : (t[i] > 0x1FFFFF ? 0x1FFFFF : t[i]);
            *payload |= (uint64_t)c << (21 * i);
        }
        return 1;
    }
    default: /* freeze(), unfreeze(), enable(), disable() */
        if (nargs != 0 || nkw != 0) return 0;
        *payload = 0;
        return 1;
    }
}

static PyObject *wrap_vectorcall(PyObject *self, PyObject *const *args, size_t nargsf,
                                 PyObject *kwnames) {
    wrap_t *w = (wrap_t *)self;
    uint64_t payload;
    if (R.active && !R.busy &&
        mark_payload(w->kind, args, PyVectorcall_NARGS(nargsf), kwnames, &payload))
        emit_mark((uint8_t)w->kind, payload);
    return PyObject_Vectorcall(w->orig, args, nargsf, kwnames);
}

static void wrap_dealloc(PyObject *self) {
    Py_XDECREF(((wrap_t *)self)->orig);
    PyObject_Free(self);
}

static PyObject *wrap_getattro(PyObject *self, PyObject *name) {
    return PyObject_GetAttr(((wrap_t *)self)->orig, name); /* __name__, __doc__, ... */
}

static PyObject *wrap_repr(PyObject *self) { return PyObject_Repr(((wrap_t *)self)->orig); }

static PyTypeObject WrapType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_gclab_recorder.Wrapper",
    .tp_basicsize = sizeof(wrap_t),
    .tp_dealloc = wrap_dealloc,
    .tp_vectorcall_offset = offsetof(wrap_t, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_getattro = wrap_getattro,
    .tp_repr = wrap_repr,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = "A gc function that writes a gclab MARK and then calls the original.",
};

/* wrap(kind, original) -> a callable that marks, then calls original. */
static PyObject *rec_wrap(PyObject *self, PyObject *const *args, Py_ssize_t nargs) {
    (void)self;
    long kind;
    if (nargs != 2 || !small_int(args[0], &kind) || kind < MARK_COLLECT ||
        kind > MARK_SET_THRESHOLD || !PyCallable_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "wrap(kind: 1..6, original: callable)");
        return NULL;
    }
    wrap_t *w = PyObject_New(wrap_t, &WrapType);
    if (w == NULL) return NULL;
    w->orig = Py_NewRef(args[1]);
    w->kind = (int)kind;
    w->vectorcall = wrap_vectorcall;
    return (PyObject *)w;
}
