"""Keeping results in the store of the plumb tool, so that `plumb runs`,
`plumb show ID` and `plumb compare ID ID` read them as they read
`plumb bench`'s.

Which store: `store=None` or `False` stores nothing (the default: a library
call writes no file unless asked); `store=True` uses the tool's store,
$PLUMB_STORE or else .plumb/plumb.db in the working directory; a path
(str or os.PathLike) uses that file. A stored result is a session of
"loop runs" (libplumb's plumb_session_add_loop_run): each sample keeps the
time of its `loops` calls, and every report reads it per call. The store
itself (its schema, one transaction per session, refusing a file that is
not plumb's or comes from a newer plumb) is libplumb's (src/store.c),
reached through plumb._core."""
import math
import os
import platform
import shlex
import sys
from typing import Any, Dict, List, Optional, Sequence, Tuple

from . import _core

# What a Python user does about a store that cannot be used; the library's
# own sentences name the tool's option instead.
API_HINT = "pass another file as store='PATH'"
TOOL_HINT = "use --store to pick another file"


class StoreError(RuntimeError):
    """The store could not be used: not writable, not a plumb store, or
    written by a newer plumb. `path` is the store, `code` libplumb's error
    name ("STORE", "SCHEMA", "NOTFOUND", ...). When the failure came after
    measuring, `result` holds what was measured (a Result, Comparison or
    Comparisons), so the figures are not lost; else None. A failed save
    leaves the store as it was."""

    def __init__(self, message: str, path: str, code: str,
                 result: Any = None) -> None:
        super().__init__(message)
        self.path = path
        self.code = code
        self.result = result


def store_error(api: str, e: Exception, hint: str,
                result: Any = None) -> StoreError:
    """A StoreError from plumb._core's, worded for the caller: `hint` says
    how to pick another store in the caller's terms."""
    code, path, detail = e.args
    detail = detail.replace(TOOL_HINT, hint)
    if hint not in detail:
        detail += f"; {hint}"
    return StoreError(f"{api}: cannot use the store {path}: {detail}", path,
                      code, result)


def resolve(api: str, store: Any) -> Optional[str]:
    """The store path that `store=` asks for, None for no store."""
    if store is None or store is False:
        return None
    if store is True:
        return _core.store_path(None)
    if isinstance(store, (str, os.PathLike)):
        path = os.fspath(store)
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if not path:
            raise ValueError(f"{api}: store must name a file; got an empty "
                             f"path (store=True uses the plumb tool's "
                             f"store)")
        return path
    raise TypeError(f"{api}: store must be True (the plumb tool's store, "
                    f"$PLUMB_STORE or .plumb/plumb.db), a path, or None/False "
                    f"for none; got {type(store).__name__}")


def check(api: str, path: str, hint: str = API_HINT) -> None:
    """Opens the store once (creating or migrating it) so that a bad path
    fails before minutes of measuring, not after."""
    try:
        _core.store_open(path)
    except _core.StoreError as e:
        raise store_error(api, e, hint) from None


def command_of(fn: Any) -> str:
    """A callable as a run's command: module:qualified name."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if not isinstance(name, str):
        return repr(fn)
    module = getattr(fn, "__module__", None)
    return f"{module}:{name}" if isinstance(module, str) else name


def python_version() -> str:
    """This interpreter as plumb bench names a run's Python."""
    return f"{platform.python_implementation()} {platform.python_version()}"


def invocation() -> str:
    """The command line of the program that measured, for the record."""
    argv = getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv]
    return shlex.join(str(a) for a in argv)


def save(api: str, path: str, runs: Sequence[Tuple[Any, str, int]], *,
         seed: int, overhead_ns: float, hint: str = API_HINT,
         result: Any = None) -> Tuple[int, List[int]]:
    """Saves one session: runs are (Result, command, baseline index or -1).
    Returns the session id and the run ids, in order."""
    specs = [(r.name, command, r.loops, list(r.samples_ns), baseline,
              python_version()) for r, command, baseline in runs]
    overhead = round(overhead_ns) if math.isfinite(overhead_ns) else 0
    try:
        session_id, run_ids = _core.store_save(path, specs, invocation(),
                                               seed, overhead)
    except _core.StoreError as e:
        raise store_error(api, e, hint, result) from None
    for (r, _, _), run_id in zip(runs, run_ids):
        r.run_id = run_id
        r.session_id = session_id
        r.store = path
    return session_id, run_ids


def find(api: str, path: str, name: str, session_id: int = 0,
         hint: str = API_HINT) -> Optional[int]:
    """The id of the newest stored run named `name` (in session
    session_id, or any when 0), or None."""
    try:
        return _core.store_find(path, name, session_id)
    except _core.StoreError as e:
        raise store_error(api, e, hint) from None


def load(api: str, path: str, run_id: int,
         hint: str = API_HINT) -> Dict[str, Any]:
    """Stored run run_id as plumb._core.store_load gives it: its samples
    as times per call (loop_ns), its loops, names and environment."""
    try:
        return _core.store_load(path, run_id)
    except _core.StoreError as e:
        raise store_error(api, e, hint) from None
