/*
 * gclab_shim: LD_PRELOAD library for CPython 3.11/3.12, which have no
 * reference tracer (3.13 added PyRefTracer_SetTracer).
 *
 * With a shared libpython, the interpreter reaches _Py_NewReference,
 * _Py_NewReferenceNoTotal (3.12) and _Py_Dealloc through the PLT, so a library
 * loaded first can interpose them.  Each interposer calls the real function
 * (found with dlsym(RTLD_NEXT)) and reports the event to the tracer that the
 * recorder extension installs through gclab_shim_set_tracer (the extension
 * finds the setter with dlsym(RTLD_DEFAULT)).  Without a tracer the cost is
 * one test per call.  Event numbers follow 3.13's PyRefTracerEvent:
 * 0 = CREATE (after the object is initialised), 1 = DESTROY (before tp_dealloc).
 * A statically linked interpreter binds these calls at link time: nothing
 * can be interposed there.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

typedef struct _object PyObject;
typedef int (*gclab_tracer)(PyObject *, int, void *);
typedef void (*py_fn)(PyObject *);

#define EXPORT __attribute__((visibility("default")))

static gclab_tracer tracer;
static void *tracer_data;
static py_fn real_new, real_new_nt, real_dealloc;

static void resolve(void) {
    real_new = (py_fn)dlsym(RTLD_NEXT, "_Py_NewReference");
    real_new_nt = (py_fn)dlsym(RTLD_NEXT, "_Py_NewReferenceNoTotal");
    real_dealloc = (py_fn)dlsym(RTLD_NEXT, "_Py_Dealloc");
    if (real_new_nt == NULL) real_new_nt = real_new; /* 3.11 has no NoTotal variant */
}

__attribute__((constructor)) static void init(void) { resolve(); }

/* Set (or clear, with NULL) the function that receives events. */
EXPORT void gclab_shim_set_tracer(gclab_tracer f, void *data) {
    tracer_data = data;
    tracer = f;
}

EXPORT void _Py_NewReference(PyObject *op) {
    if (real_new == NULL) resolve();
    real_new(op);
    if (tracer) tracer(op, 0, tracer_data);
}

EXPORT void _Py_NewReferenceNoTotal(PyObject *op) {
    if (real_new_nt == NULL) resolve();
    real_new_nt(op);
    if (tracer) tracer(op, 0, tracer_data);
}

EXPORT void _Py_Dealloc(PyObject *op) {
    if (real_dealloc == NULL) resolve();
    if (tracer) tracer(op, 1, tracer_data);
    real_dealloc(op);
}
