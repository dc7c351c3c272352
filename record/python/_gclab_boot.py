"""gclab's recorder launcher.

Run by gclab-record as ``python _gclab_boot.py TARGET [ARG...]`` with:

  GCLAB_RECORD_RAW          where to write the raw event log
  GCLAB_RECORD_PROGRAM      ``script`` (TARGET is a path) or ``-m`` (TARGET is a module name)
  GCLAB_RECORD_ORIG_<NAME>  for PYTHONPATH and LD_PRELOAD, which the launcher changed:
                            ``=value`` (the program's value) or ``-`` (unset for the program)

It makes the interpreter look to the program as ``python TARGET ARG...`` or
``python -m TARGET ARG...`` would (sys.argv, sys.path[0], sys.orig_argv, the
environment, the traceback of an uncaught exception, the exit status), records
while the program runs, and stops the recorder before interpreter shutdown
(the C API is not usable from a Py_AtExit hook on 3.11/3.12).
"""

import gc
import importlib.machinery
import io
import os
import runpy
import sys

import _gclab_recorder

_WRAPPED = (
    ("collect", _gclab_recorder.MARK_COLLECT),
    ("freeze", _gclab_recorder.MARK_FREEZE),
    ("unfreeze", _gclab_recorder.MARK_UNFREEZE),
    ("enable", _gclab_recorder.MARK_ENABLE),
    ("disable", _gclab_recorder.MARK_DISABLE),
    ("set_threshold", _gclab_recorder.MARK_SET_THRESHOLD),
)


def _take_env(name):
    value = os.environ.pop(name, None)
    if value is None:
        sys.stderr.write(f"gclab: {name} is not set (run the recorder through gclab)\n")
        sys.exit(2)
    return value


def _restore_env(name):
    saved = os.environ.pop("GCLAB_RECORD_ORIG_" + name, None)
    if saved is None:
        return
    if saved.startswith("="):
        os.environ[name] = saved[1:]
    else:
        os.environ.pop(name, None)


def _same_dir(a, b):
    try:
        return os.path.realpath(a) == os.path.realpath(b)
    except (OSError, ValueError):
        return False


def _fix_sys_path(module_mode, target):
    """Replace the boot script's directory (sys.path[0]) and the launcher's
    PYTHONPATH entry by what CPython puts first for the program."""
    here = os.path.dirname(os.path.abspath(__file__))
    safe_path = getattr(sys.flags, "safe_path", False)
    if not safe_path and sys.path:
        del sys.path[0]
    for i, entry in enumerate(sys.path):
        if _same_dir(entry, here):
            del sys.path[i]
            break
    if safe_path:
        return
    if module_mode:
        sys.path.insert(0, os.getcwd())
    elif os.path.isfile(target):
        # CPython: the directory of the script with symlinks resolved
        sys.path.insert(0, os.path.dirname(os.path.realpath(target)))
    # a directory or zip file: runpy.run_path puts it first itself


def _strip_traceback(tb, files):
    while tb is not None and tb.tb_frame.f_code.co_filename in files:
        tb = tb.tb_next
    return tb


def _hide_frames_from_excepthook(files):
    """Let the uncaught exception reach CPython (exit status, KeyboardInterrupt
    handling) but print it without this script's (and runpy's) frames."""
    hook = sys.excepthook

    def excepthook(typ, value, tb, /):
        sys.excepthook = hook
        tb = _strip_traceback(tb, files)
        if isinstance(value, BaseException):
            value.__traceback__ = tb
        hook(typ, value, tb)

    sys.excepthook = excepthook


def _fresh_main():
    """A new ``__main__`` module made as CPython makes its own (same globals, same order)."""
    main = type(sys)("__main__")
    main.__annotations__ = {}
    main.__builtins__ = sys.modules["builtins"]
    sys.modules["__main__"] = main
    return main


def _script_runner(path):
    """What ``python path`` does for a source file: compile it with the absolute
    path as its file name and run it in ``__main__``.  (runpy.run_path would
    set sys.argv[0] to the absolute path; CPython leaves it as given.)  The
    module and the code are made now, before recording starts."""
    main = _fresh_main()
    main.__file__ = path
    main.__cached__ = None
    main.__loader__ = importlib.machinery.SourceFileLoader("__main__", path)
    try:
        with io.open_code(path) as f:
            code = compile(f.read(), path, "exec", dont_inherit=True)
    except BaseException as e:  # a SyntaxError is the program's: raised when it runs
        error = e

        def fail():
            raise error

        return fail
    return lambda: exec(code, main.__dict__)


def _runner(module_mode, target):
    """A function that runs the program, and the files of the frames it adds
    under the program's own (hidden from an uncaught exception's traceback)."""
    here = _runner.__code__.co_filename
    if not module_mode:
        path = os.path.abspath(target)
        if os.path.isfile(path) and not path.endswith((".pyc", ".pyz", ".zip")):
            return _script_runner(path), {here}
        # a directory, a zip file or compiled code
        return (
            lambda: runpy.run_path(path, run_name="__main__"),
            {here, runpy.run_path.__code__.co_filename},
        )
    if hasattr(runpy, "_run_module_as_main"):
        # what `python -m` itself calls: same module lookup, error messages,
        # sys.argv[0] and traceback frames (its two runpy frames stay shown)
        _fresh_main()
        return lambda: runpy._run_module_as_main(target, alter_argv=True), {here}
    return (
        lambda: runpy.run_module(target, run_name="__main__", alter_sys=True),
        {here, runpy.run_module.__code__.co_filename},
    )


def _marker():
    """The ``gclab_marker`` module a program may look up in ``sys.modules`` to mark a point
    of its run (``startup()``: its start-up is over), without importing anything: a program
    run without the recorder finds nothing there and does nothing."""
    import functools
    import types
    m = types.ModuleType("gclab_marker")
    m.startup = functools.partial(_gclab_recorder.mark, _gclab_recorder.MARK_EVENT, 1)
    return m


def _install(callback):
    sys.modules["gclab_marker"] = _marker()
    gc.callbacks.append(callback)
    originals = {}
    for name, kind in _WRAPPED:
        original = getattr(gc, name)
        originals[name] = (original, _gclab_recorder.wrap(kind, original))
        setattr(gc, name, originals[name][1])
    return originals


def _uninstall(callback, originals):
    sys.modules.pop("gclab_marker", None)
    for i, cb in enumerate(gc.callbacks):
        if cb is callback:
            del gc.callbacks[i]
            break
    for name, (original, wrapper) in originals.items():
        if getattr(gc, name, None) is wrapper:
            setattr(gc, name, original)


def main():
    raw = _take_env("GCLAB_RECORD_RAW")
    mode = _take_env("GCLAB_RECORD_PROGRAM")
    _restore_env("PYTHONPATH")
    _restore_env("LD_PRELOAD")
    if mode not in ("script", "-m") or len(sys.argv) < 2:
        sys.stderr.write("gclab: usage: GCLAB_RECORD_PROGRAM=script|-m python _gclab_boot.py TARGET [ARG...]\n")
        sys.exit(2)
    module_mode = mode == "-m"
    target, args = sys.argv[1], sys.argv[2:]
    if module_mode:
        sys.argv = ["-m", *args]
        sys.orig_argv = [sys.orig_argv[0], "-m", target, *args]
    else:
        sys.argv = [target, *args]
        sys.orig_argv = [sys.orig_argv[0], target, *args]
    _fix_sys_path(module_mode, target)
    run, hidden = _runner(module_mode, target)

    callback = _gclab_recorder.gc_callback
    originals = _install(callback)
    try:
        _gclab_recorder.start(raw)
    except BaseException:
        _uninstall(callback, originals)
        raise
    try:
        run()
    except SystemExit:
        raise
    except BaseException:
        _hide_frames_from_excepthook(hidden)
        raise
    finally:
        try:
            _gclab_recorder.stop()
        except OSError as e:
            sys.stderr.write(f"gclab: writing the raw event log {raw!r} failed: {e}\n")
        _uninstall(callback, originals)


main()
