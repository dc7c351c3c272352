/*
 * Part of gclab_recorder.c, #included by it (one translation unit, so that
 * the build stays one compiler call and everything stays static): the size of an object from
 * its C struct.
 * It uses the definitions above its #include line there.
 */

/* ------------------------------------------------------------------- sizes */

/*
 * Bytes an object occupies, from its C struct only (no Python call, no
 * allocation), following each type's __sizeof__:
 *   fixed-size types: tp_basicsize;
 *   var-size types (tuple, bytes, type, ...): tp_basicsize + |ob_size| * tp_itemsize;
 *   int: tp_basicsize + max(ndigits, 1) * sizeof(digit), ndigits = |ob_size| on
 *        3.11 and lv_tag >> _PyLong_NON_SIZE_BITS on 3.12+;
 *   str: the compact layouts' header + (length + 1) * kind, as str.__sizeof__;
 *   list: + allocated * sizeof(PyObject *) for the item array;
 *   dict: + the keys object if the dict owns it (dk_refcnt == 1; shared keys
 *         belong to the class) + (dk_nentries + dk_usable) value slots of a
 *         split table, as dict.__sizeof__;
 *   set/frozenset: + the hash table when it is not the inline smalltable.
 * At a collector death tp_clear has already emptied a container, so its
 * size there is the emptied object's.
 */
static uint64_t dict_keys_size(PyDictKeysObject *k) {
    uint64_t entries = (((uint64_t)1 << k->dk_log2_size) << 1) / 3; /* USABLE_FRACTION */
    uint64_t es = k->dk_kind == DICT_KEYS_GENERAL ? sizeof(PyDictKeyEntry)
                                                 : sizeof(PyDictUnicodeEntry);
    return sizeof(PyDictKeysObject) + ((uint64_t)1 << k->dk_log2_index_bytes) + entries * es;
}

static uint64_t obj_size(PyObject *op, PyTypeObject *tp, int sizekind) {
    uint64_t s = (uint64_t)tp->tp_basicsize;
    switch (sizekind) {
    case SK_VAR: {
        Py_ssize_t n = Py_SIZE(op);
        s += (uint64_t)(n < 0 ? -n : n) * (uint64_t)tp->tp_itemsize;
        break;
    }
    case SK_INT: {
#if PY_VERSION_HEX >= 0x030C0000
        Py_ssize_t n = (Py_ssize_t)_PyLong_DigitCount((PyLongObject *)op);
#else
        Py_ssize_t n = Py_SIZE(op);
        if (n < 0) n = -n;
#endif
        s += (uint64_t)(n < 1 ? 1 : n) * (uint64_t)tp->tp_itemsize;
        break;
    }
    case SK_STR: {
        PyASCIIObject *u = (PyASCIIObject *)op;
        uint64_t len = (uint64_t)u->length + 1, kind = u->state.kind;
        if (u->state.compact && u->state.ascii)
            s = sizeof(PyASCIIObject) + len;
        else if (u->state.compact)
            s = sizeof(PyCompactUnicodeObject) + len * kind;
        else if (((PyUnicodeObject *)op)->data.any)
            s += len * kind;
        break;
    }
    case SK_LIST:
        s += (uint64_t)((PyListObject *)op)->allocated * sizeof(PyObject *);
        break;
    case SK_DICT: {
        PyDictObject *mp = (PyDictObject *)op;
        PyDictKeysObject *k = mp->ma_keys;
        if (k) {
            if (mp->ma_values)
                s += (uint64_t)(k->dk_nentries + k->dk_usable) * sizeof(PyObject *);
            if (k->dk_refcnt == 1) s += dict_keys_size(k);
        }
        break;
    }
    case SK_SET: {
        PySetObject *so = (PySetObject *)op;
        if (so->table != so->smalltable) s += (uint64_t)(so->mask + 1) * sizeof(setentry);
        break;
    }
    default:
        break;
    }
    return s;
}
