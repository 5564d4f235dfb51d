"""plumb sql's way into the program it runs: `plumb sql -- python app.py`
puts this directory first on PYTHONPATH, so Python's site module imports
this file at startup, before the program. When PLUMB_SQL_OUT is set it
loads plumb's tracer (../_sqltrace.py, by its path: importing the plumb
package would cost the program's start-up far more) and starts it, with
keep_params when PLUMB_SQL_KEEP_PARAMS=1; then it hands over to the
sitecustomize it shadows, if there is one, so the program starts as it
would have.

The trace is written to PLUMB_SQL_OUT (PLUMB_SQL_OUT.tmp, mode 0600, then
renamed) when the interpreter exits: after the program's end, sys.exit(),
an uncaught exception or Ctrl-C (KeyboardInterrupt), by an atexit handler
registered before the program's own, so it runs after them and their
queries are in the trace. Nothing is written when the process ends
without Python's exit: os._exit(), a signal that kills it (SIGKILL, or
SIGTERM and others the program does not handle), a crash. A child made
by fork() keeps the tracer but does not write: only the process that
started it does.

It takes its variables out of the environment and itself out of
PYTHONPATH, so the processes the program starts run untraced. When the
tracer cannot start, the reason and its fix go to PLUMB_SQL_OUT + ".error"
for plumb sql to print, and the program runs on untraced; when the trace
cannot be written at exit, the reason goes there too. Nothing here may
break the program. The syntax stays that of Python 2.7, so that even
`plumb sql -- python2 app.py` is told what is wrong.
"""
import os
import sys

MIN_PYTHON = (3, 8)


def _clean_environment(here, package_root):
    """Takes plumb sql's additions out of the environment children see."""
    parts = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    ours = set([os.path.realpath(here), os.path.realpath(package_root)])
    while parts and parts[0] and os.path.realpath(parts[0]) in ours:
        ours.discard(os.path.realpath(parts.pop(0)))
    if any(parts):
        os.environ["PYTHONPATH"] = os.pathsep.join(parts)
    else:
        os.environ.pop("PYTHONPATH", None)


def _fail(out, why):
    try:
        with open(out + ".error", "w") as f:
            f.write(why + "\n")
    except (IOError, OSError):
        sys.stderr.write("plumb sql: %s\n" % why)


def _load_tracer(here):
    """plumb/_sqltrace.py alone, registered under its own name, so that a
    later `import plumb.sql` uses this one (and its running tracer)."""
    import importlib.util
    path = os.path.join(os.path.dirname(here), "_sqltrace.py")
    if not os.path.exists(path):
        raise ImportError("plumb's tracer %s is missing (plumb's Python "
                          "package is incomplete: reinstall plumb, or set "
                          "PLUMB_PYTHON_DIR to a complete python/ of "
                          "plumb's source tree)" % path)
    spec = importlib.util.spec_from_file_location("plumb._sqltrace", path)
    tracer = importlib.util.module_from_spec(spec)
    sys.modules["plumb._sqltrace"] = tracer
    try:
        spec.loader.exec_module(tracer)
    except BaseException:
        del sys.modules["plumb._sqltrace"]
        raise
    return tracer


def _start(here, out, keep):
    where = sys.executable or "this Python"
    if sys.version_info < MIN_PYTHON:
        _fail(out, "plumb sql traces Python %d.%d and later; this program "
                   "runs Python %s (%s): run it with a newer python3"
                   % (MIN_PYTHON + (sys.version.split()[0], where)))
        return
    if keep not in ("", "0", "1"):
        _fail(out, "PLUMB_SQL_KEEP_PARAMS is %r; plumb sql sets it to 1 "
                   "(--keep-params) or leaves it unset: unset it, or run "
                   "the program through plumb sql" % (keep,))
        return
    try:
        module = _load_tracer(here)
    except Exception as e:
        _fail(out, "plumb sql could not load its tracer into the program: "
                   "%s: %s" % (type(e).__name__, e))
        return
    try:
        tracer = module.start(keep_params=keep == "1")
    except Exception as e:
        _fail(out, "plumb sql could not start tracing: %s" % (e,))
        return
    import atexit

    def write():
        # runs last of the atexit handlers (registered first), so the
        # queries of the program's own handlers are in the trace
        if os.getpid() != tracer.pid:
            return      # a forked child: the parent writes the trace
        try:
            tracer.stop()
            tracer.to_json(out)
        except Exception as e:
            _fail(out, "plumb sql could not write the trace of the "
                       "program: %s" % (e,))

    atexit.register(write)


def _boot():
    here = os.path.dirname(os.path.abspath(__file__))
    package_root = os.path.dirname(os.path.dirname(here))
    out = os.environ.pop("PLUMB_SQL_OUT", None)
    keep = os.environ.pop("PLUMB_SQL_KEEP_PARAMS", "")
    if out is not None:
        _clean_environment(here, package_root)
    sys.path[:] = [p for p in sys.path
                   if os.path.realpath(p or ".") != os.path.realpath(here)]
    if out is None:
        return
    if not out:
        sys.stderr.write("plumb sql: PLUMB_SQL_OUT is empty; the program "
                         "runs untraced\n")
        return
    out = os.path.abspath(out)   # the program may change directory
    try:
        _start(here, out, keep)
    except Exception as e:  # never break the program
        _fail(out, "plumb sql could not start tracing: %s: %s"
                   % (type(e).__name__, e))


def _chain():
    """Imports the sitecustomize this one shadows, as site would have."""
    this = sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # noqa: F401  (the original, now first)
    except ImportError as e:
        if getattr(e, "name", "sitecustomize") != "sitecustomize":
            raise
        if this is not None:
            sys.modules["sitecustomize"] = this


_boot()
_chain()
