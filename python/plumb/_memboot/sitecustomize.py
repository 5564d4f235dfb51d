"""plumb mem's way into the program it runs: `plumb mem -- python app.py`
puts this directory first on PYTHONPATH, so Python's site module imports
this file at startup, before the program. It starts plumb's memory
recorder (plumb._core.mem_start) as PLUMB_MEM_OUT and the variables beside
it say, stops it at exit (the record is written to PLUMB_MEM_OUT then, and
once a second before), and then hands over to the sitecustomize it
shadows, if there is one, so the program starts as it would have.

It takes its variables out of the environment, and itself out of
PYTHONPATH and the native shim out of LD_PRELOAD, so the processes the
program starts run unrecorded. When the recorder cannot start, the reason
and its fix go to PLUMB_MEM_OUT + ".error" for plumb mem to print, and the
program runs on unrecorded. Nothing here may break the program.
"""
import os
import sys


def _clean_environment(here: str, package_root: str) -> None:
    """Takes plumb mem's additions out of the environment children see."""
    parts = os.environ.get("PYTHONPATH", "").split(os.pathsep)
    ours = {os.path.realpath(here), os.path.realpath(package_root)}
    while parts and parts[0] and os.path.realpath(parts[0]) in ours:
        ours.discard(os.path.realpath(parts.pop(0)))
    if any(parts):
        os.environ["PYTHONPATH"] = os.pathsep.join(parts)
    else:
        os.environ.pop("PYTHONPATH", None)
    preload = os.environ.get("LD_PRELOAD")
    if preload is not None:
        kept = [p for p in preload.replace(":", " ").split()
                if os.path.basename(p) != "libplumb-native.so"]
        if kept:
            os.environ["LD_PRELOAD"] = " ".join(kept)
        else:
            os.environ.pop("LD_PRELOAD", None)


def _fail(out: str, why: str) -> None:
    try:
        with open(out + ".error", "w", encoding="utf-8") as f:
            f.write(why)
    except OSError:
        pass


def _load_core():
    """plumb._core alone: importing the package would run plumb/__init__.py
    and its modules (typing and all), 78 ms before the program starts; and
    through importlib.machinery's loader, not importlib.util, which brings
    contextlib and collections (4 ms). The module is registered under its
    own name, so a later `import plumb` uses this one."""
    import importlib.machinery as machinery
    package = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for suffix in machinery.EXTENSION_SUFFIXES:
        path = os.path.join(package, "_core" + suffix)
        if os.path.exists(path):
            break
    else:
        raise ImportError(f"{package} has no "
                          f"_core{machinery.EXTENSION_SUFFIXES[0]}")
    loader = machinery.ExtensionFileLoader("plumb._core", path)
    spec = machinery.ModuleSpec("plumb._core", loader, origin=path)
    core = loader.create_module(spec)
    loader.exec_module(core)
    sys.modules["plumb._core"] = core
    return core


def _start(out: str, mean: str, native: bool) -> None:
    where = f"{sys.executable or 'this Python'}"
    if sys.implementation.name != "cpython":
        _fail(out, f"plumb mem records CPython programs; this one runs "
                   f"{sys.implementation.name} ({where}): run it with "
                   f"CPython 3.10 or later")
        return
    if sys.version_info < (3, 10):
        _fail(out, f"plumb mem records CPython 3.10 and later; this "
                   f"program runs Python {sys.version.split()[0]} ({where}): "
                   f"run it with a newer python")
        return
    try:
        _core = _load_core()
    except ImportError as e:
        _fail(out, f"plumb's extension is not built for the Python this "
                   f"program runs ({sys.version.split()[0]}, {where}): "
                   f"{e}; build it with `make python-ext PYTHON={where}` "
                   f"in plumb's checkout")
        return
    try:
        mean_bytes = int(mean) if mean else _core.MEM_DEFAULT_MEAN_BYTES
        _core.mem_start(mean_bytes, native=native, out_path=out,
                        command=" ".join([sys.executable] + sys.argv))
    except (ValueError, _core.RecordingError) as e:
        _fail(out, f"plumb mem could not start recording: {e}")
        return
    import atexit

    def stop() -> None:
        # runs last of the atexit handlers (registered first), so what
        # the program's own handlers free or keep is in the record
        try:
            if _core.mem_recording():
                _core.mem_stop()
        except _core.RecordingError as e:
            sys.stderr.write(f"plumb mem: {e}\n")

    atexit.register(stop)


def _boot() -> None:
    here = os.path.dirname(os.path.abspath(__file__))
    package_root = os.path.dirname(os.path.dirname(here))
    out = os.environ.pop("PLUMB_MEM_OUT", None)
    mean = os.environ.pop("PLUMB_MEM_MEAN_BYTES", "")
    native = os.environ.pop("PLUMB_MEM_NATIVE", "") == "1"
    if out is not None:
        _clean_environment(here, package_root)
    sys.path[:] = [p for p in sys.path
                   if os.path.realpath(p or ".") != os.path.realpath(here)]
    if out is not None:
        try:
            _start(out, mean, native)
        except Exception as e:  # never break the program
            _fail(out, f"plumb mem could not start recording: "
                       f"{type(e).__name__}: {e}")


def _chain() -> None:
    """Imports the sitecustomize this one shadows, as site would have."""
    this = sys.modules.pop("sitecustomize", None)
    try:
        import sitecustomize  # noqa: F401  (the original, now first)
    except ModuleNotFoundError as e:
        if e.name != "sitecustomize":
            raise
        if this is not None:
            sys.modules["sitecustomize"] = this


_boot()
_chain()
