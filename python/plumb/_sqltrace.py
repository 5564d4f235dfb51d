"""plumb sql's tracer: the queries a Python program sends through the DB-API
drivers sqlite3 and psycopg2, timed and aggregated in the program, with no
change to its code.

    tracer = start(keep_params=False)   # or Tracer(...).start()
    ...                                 # the program's queries
    trace = tracer.stop()               # a dict: the trace format below
    tracer.to_json(path)                # written atomically, mode 0600

`plumb sql -- python app.py` starts it before the program runs (through
plumb/_sqlboot/sitecustomize.py) and writes the trace at exit;
`plumb.sql.trace()` runs it around a block. This module imports the
standard library only and never the plumb package, so that booting it
costs the program little; it is loaded by file path as plumb._sqltrace.

How it hooks the drivers. sqlite3.connect and psycopg2.connect are
replaced while tracing runs (at start when the driver is imported, or
right after the driver's import by a meta path hook when it is not yet).
The replacement asks the driver for a connection of a subclass of the
class it would have made (sqlite3's `factory`, psycopg2's
`connection_factory`, the driver's own class by default): the user's
class stays in the MRO, first, so its methods run as before. Such a
connection hands out cursors of a subclass of the cursor class asked for
(sqlite3's `factory` argument, psycopg2's `cursor_factory` argument or
attribute: RealDictCursor, DictCursor, NamedTupleCursor... and named,
server-side cursors) whose execute, executemany, executescript, fetch
methods, iteration and close are timed. sqlite3's Connection.execute,
executemany and executescript shortcuts go through such a cursor.

What is not traced: connections opened before tracing started, or
through a `connect` bound before it (`from sqlite3 import connect` run
before start(); at `plumb sql` start-up nothing is bound yet); objects
made by calling sqlite3.Connection(...) or psycopg2's connection class
directly; factories that are not classes (a function returning a
connection or cursor: its objects are used as they come); psycopg2's
asynchronous connections; callproc, copy_* and scroll. A connection made
while tracing is traced until stop(); a later tracer does not take over
the connections of an earlier one.

The trace (one JSON document, version 1; /work/sql_design.md):
statements are aggregated by (connection, exact sql text, call site,
executemany or not). A call is one execute (or executemany,
executescript) plus the fetching of its result from the cursor, until the
next execute on that cursor, its close, its exhaustion or its end; its
time is the time spent inside the driver (execute and fetch calls), not
between them. rows: the rows fetched, or the cursor's rowcount when none
were. The call site is the first frame of user code: not plumb, not the
drivers, not the standard library, not site-/dist-packages; the outermost
frame when there is none (a cursor or connection class of the program's
own is user code: its queries are sited in it). Parameter sets are told apart by their hash:
hash(params) when the parameters are hashable (a tuple of ints, strings,
floats...: ~10x cheaper than repr), else hash(repr(params)); so (1,),
(1.0,) and (True,) count as one set. distinct_params is exact up to
DISTINCT_EXACT distinct sets of a statement, then estimated (k minimum
values, about 1.6% standard error) so that a long program stays small;
such statements carry "distinct_params_estimated": true. For executemany
each row is a parameter set. The first MAX_SAMPLES distinct sets are kept
as samples, with the statement as psycopg2 sent it.

Exceptions from the driver propagate unchanged (the call counts in
errors). The tracer never raises into the program on its own account:
parameters whose hash or repr fails count as one set per type.
Aggregation is under one lock per tracer, so threads may query at once;
a forked child keeps tracing into its own copy (plumb sql's boot writes
the parent's trace only).

Cost: the hooks are Python around the driver's C: about 1.5-5 us per
query (bench/sql_overhead.py: conn.execute + fetchone of an SQLite row
1.8x, PostgreSQL over loopback 1.1-1.2x).
"""
import _thread
import os
import sys
import time

TRACE_VERSION = 1
MAX_SAMPLES = 8
DISTINCT_EXACT = 4096      # exact distinct counting up to this many sets
DRIVERS = ("sqlite3", "psycopg2")

_clock = time.perf_counter_ns
_getframe = sys._getframe
_MASK64 = (1 << 64) - 1
_MIX = 0x9E3779B97F4A7C15   # spreads hash values before the sketch

# _thread, not threading: importing threading would cost the boot 2.5 ms
_state = _thread.allocate_lock()   # guards _active and the drivers' patching
_active = None              # the running Tracer, or None
_originals = {}             # driver name -> its connect, while patched
_NO = object()              # "no parameters kept" in a call


class TraceError(RuntimeError):
    """Tracing cannot start or a trace cannot be written; the message says
    why and what to do."""


def active():
    """The running Tracer of this process, or None."""
    return _active


def start(keep_params=False):
    """Starts a Tracer and returns it; TraceError if one runs already."""
    return Tracer(keep_params).start()


def stop():
    """Stops the running Tracer and returns its trace; None when none
    runs."""
    tracer = _active
    return tracer.stop() if tracer is not None else None


# ---- where a query comes from ---------------------------------------------

_user_files = {}     # co_filename -> True when it is user code
_abs_files = {}      # co_filename -> the absolute path reported
_skip_dirs = []      # directories whose code is not the user's (real paths)
_skip_ready = False
_PLUMB_DIR = os.path.dirname(os.path.realpath(__file__))


def _skip_prefixes():
    """Computed at the first query, not at start: sysconfig costs ~2 ms."""
    global _skip_ready
    dirs = [_PLUMB_DIR]
    try:
        import sysconfig
        paths = sysconfig.get_paths()
        for name in ("stdlib", "platstdlib"):
            if paths.get(name):
                dirs.append(os.path.realpath(paths[name]))
    except Exception:  # an odd installation: fall back on os's directory
        dirs.append(os.path.dirname(os.path.realpath(os.__file__)))
    for d in dirs:
        if d not in _skip_dirs:
            _skip_dirs.append(d)
    _skip_ready = True


def _skip_dir(path):
    """Code under path is not the user's (a driver installed oddly)."""
    real = os.path.realpath(path)
    if real not in _skip_dirs:
        _skip_dirs.append(real)
        _user_files.clear()


def _classify(filename):
    """Whether code of filename is the user's; cached per file name."""
    if not _skip_ready:
        _skip_prefixes()
    if filename.startswith("<"):
        user = not filename.startswith("<frozen")
        where = filename
    else:
        where = os.path.abspath(filename)
        real = os.path.realpath(where)
        parts = real.split(os.sep)
        user = ("site-packages" not in parts and "dist-packages" not in parts
                and not any(real == d or real.startswith(d + os.sep)
                            for d in _skip_dirs))
    _abs_files[filename] = where
    _user_files[filename] = user
    return user


def _user_frame(depth):
    """The first frame of user code above the caller's depth-th frame, or
    the outermost one."""
    f = _getframe(depth + 1)
    files = _user_files
    while True:
        name = f.f_code.co_filename
        user = files.get(name)
        if user is None:
            user = _classify(name)
        if user:
            return f
        back = f.f_back
        if back is None:
            return f
        f = back


def _code_line(code, lasti):
    """The line of the instruction at byte offset lasti of code."""
    if lasti < 0:
        return code.co_firstlineno
    lines = getattr(code, "co_lines", None)
    if lines is not None:
        for begin, end, line in lines():
            if begin <= lasti < end:
                return line if line is not None else code.co_firstlineno
        return code.co_firstlineno
    import dis  # Python < 3.10
    found = code.co_firstlineno
    for offset, line in dis.findlinestarts(code):
        if offset > lasti:
            break
        found = line
    return found


def _func_name(code):
    return getattr(code, "co_qualname", None) or code.co_name


# ---- parameters -----------------------------------------------------------

def _params_hash(params):
    """hash(repr(params)), or one value per type when repr fails."""
    try:
        return hash(repr(params))
    except Exception:
        return hash(("<unrepresentable>", type(params).__name__))


_INT64 = (-(1 << 63), (1 << 63) - 1)


def _json_value(value):
    """A parameter as the trace holds it: null, int (64-bit), float, str,
    bool as 1/0, bytes as {"hex": ...}; anything else (and integers
    beyond 64 bits, floats that are not finite) as str(value)."""
    if value is None or type(value) is str:
        return value
    if isinstance(value, bool):
        return 1 if value else 0
    if isinstance(value, int):
        value = int(value)
        return value if _INT64[0] <= value <= _INT64[1] else str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return str(value)
        return float(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"hex": bytes(value).hex()}
    try:
        return str(value)
    except Exception:
        return "<%s>" % type(value).__name__


def _sample(params, sent):
    """One sample of the trace: {"params": [...]} or {"named": {...}},
    and "sent" for psycopg2."""
    sample = {}
    try:
        if params is None:
            sample["params"] = []
        elif isinstance(params, dict) or (
                not isinstance(params, (list, tuple, str, bytes))
                and hasattr(params, "keys")):
            sample["named"] = {str(k): _json_value(params[k])
                               for k in params.keys()}
        else:
            sample["params"] = [_json_value(v) for v in params]
    except Exception:
        sample = {"params": [_json_value(params)]}
    if sent is not None:
        sample["sent"] = sent
    return sample


# ---- statements -----------------------------------------------------------

class _Stmt:
    """One statement of the trace before the merge by line: (connection,
    sql, code object, instruction) with its figures."""
    __slots__ = ("conn", "sql", "code", "lasti", "many", "calls", "errors",
                 "total_ns", "min_ns", "max_ns", "rows", "hashes", "sketch",
                 "samples", "sampling")

    def __init__(self, conn, sql, code, lasti, many):
        self.conn = conn
        self.sql = sql
        self.code = code          # kept alive: its id is in the key
        self.lasti = lasti
        self.many = many
        self.calls = 0
        self.errors = 0
        self.total_ns = 0
        self.min_ns = 0
        self.max_ns = 0
        self.rows = 0
        self.hashes = set()       # distinct parameter sets (exact mode)
        self.sketch = None        # max-heap of the smallest mixed hashes
        self.samples = []         # (order, hash, sample dict)
        self.sampling = True      # fewer than MAX_SAMPLES samples yet

    def add_hash(self, h):
        """Counts parameter set h; True when it was not seen before."""
        if self.sketch is None:
            hashes = self.hashes
            if h in hashes:
                return False
            hashes.add(h)
            if len(hashes) > DISTINCT_EXACT:
                self.to_sketch()
            return True
        _sketch_add(self.sketch, self.hashes, (h * _MIX) & _MASK64)
        return False    # samples were full long before

    def to_sketch(self):
        import heapq
        mixed = sorted((h * _MIX) & _MASK64 for h in self.hashes)
        kept = mixed[:DISTINCT_EXACT]
        self.hashes = set(kept)
        self.sketch = [-m for m in kept]
        heapq.heapify(self.sketch)

    def distinct(self):
        """(count, estimated)."""
        if self.sketch is None:
            return len(self.hashes), False
        return _kmv_estimate(len(self.sketch), -self.sketch[0]), True


def _sketch_add(heap, members, m):
    """k minimum values: heap holds the negated k smallest, members them."""
    if m >= -heap[0] or m in members:
        return
    import heapq
    members.discard(-heapq.heappushpop(heap, -m))
    members.add(m)


def _kmv_estimate(k, kth):
    """Distinct values from the k-th smallest of k hashes spread over
    [0, 2**64): (k - 1) / (kth / 2**64)."""
    return int(round((k - 1) * (1 << 64) / (kth + 1)))


class _Conn:
    __slots__ = ("id", "driver", "target", "file", "line", "codec")

    def __init__(self, conn_id, driver, target, file, line):
        self.id = conn_id
        self.driver = driver
        self.target = target
        self.file = file
        self.line = line
        self.codec = "utf-8"


# A call, as a list (cheaper than an object on the hot path):
STMT, NS, FETCHED, ROWCOUNT, HASH, KEPT, SENT, FAILED, DONE = range(9)
#  STMT     its _Stmt
#  NS       time inside the driver so far
#  FETCHED  rows fetched so far
#  ROWCOUNT the cursor's rowcount after execute (-1: none)
#  HASH     the parameters' hash (execute) or list of row hashes (many)
#  KEPT     the parameters kept for a sample, or _NO (execute); a list of
#           (hash, params, sent) candidates (many)
#  SENT     psycopg2: the statement as sent (bytes), for a sample
#  FAILED   the call raised
#  DONE     ended: the cursor moved on (the hooks set it, nothing else)
#
# The hooks append each call to the tracer's pending list when it starts
# and set DONE when it ends; no lock on the way. The figures are added to
# the statements in batches (_drain), under the tracer's lock, by the
# thread whose query finds DRAIN_EVERY calls pending, and at stop(). A
# call not ended yet waits for the next batch.
DRAIN_EVERY = 1024


class Tracer:
    """Traces the queries of this process between start() and stop()."""

    def __init__(self, keep_params=False):
        if not isinstance(keep_params, bool):
            raise TypeError("keep_params must be True or False (got %r)"
                            % (keep_params,))
        self.keep_params = keep_params
        self.pid = 0
        self._lock = _thread.allocate_lock()
        self._stmts = {}          # key -> _Stmt
        self._conns = []          # _Conn, in order
        self._pending = []        # calls not added yet, in order
        self._waiting = []        # calls of earlier batches still open
        self._order = 0           # samples' order of arrival
        self._start_ns = 0
        self._wall_ns = None
        self._argv = []
        self._finder = None
        self._state = "new"
        self._trace = None

    # ---- running --------------------------------------------------------

    def start(self):
        """Hooks the drivers and starts counting; returns self."""
        global _active
        with _state:
            if self._state != "new":
                raise TraceError("plumb sql: this tracer has run already; "
                                 "start a new one")
            if _active is not None:
                raise TraceError(
                    "plumb sql: this process is traced already (by plumb "
                    "sql around the whole program, or another trace); one "
                    "tracer runs at a time: stop the other first, or read "
                    "these queries in its trace")
            self.pid = os.getpid()
            self._argv = list(getattr(sys, "argv", []) or [])
            self._start_ns = _clock()
            self._state = "running"
            _active = self
            for name in DRIVERS:
                module = sys.modules.get(name)
                if module is not None:
                    _patch(name, module)
            self._finder = _ImportHook(self)
            sys.meta_path.insert(0, self._finder)
            if not _fork_hooked:
                _hook_fork()
        return self

    def stop(self):
        """Unhooks the drivers, ends the calls still open (with the time
        and rows they had) and returns the trace (a dict). Queries on
        traced connections after this run untraced."""
        global _active
        with _state:
            if self._state == "done":
                return self._trace
            if self._state != "running":
                raise TraceError("plumb sql: this tracer was not started")
            if _active is self:
                _active = None
                for name in list(_originals):
                    _unpatch(name)
            try:
                sys.meta_path.remove(self._finder)
            except ValueError:
                pass
            self._wall_ns = _clock() - self._start_ns
            self._state = "done"
        self._drain(final=True)
        if not self._argv:
            self._argv = list(getattr(sys, "argv", []) or [])
        self._trace = self.trace()
        return self._trace

    @property
    def running(self):
        return self._state == "running"

    # ---- what the hooks call ---------------------------------------------

    def _hook_state(self, conn):
        """What a traced connection and its cursors hold: (tracer, _Conn,
        the statements, the pending calls), read by the hooks without an
        attribute lookup."""
        return (self, conn, self._stmts, self._pending)

    def _connection(self, driver, target, depth):
        """Registers a new connection; its _Conn."""
        f = _user_frame(depth + 1)
        file = _abs_files.get(f.f_code.co_filename, f.f_code.co_filename)
        with self._lock:
            conn = _Conn(len(self._conns) + 1, driver, target, file,
                         f.f_lineno)
            self._conns.append(conn)
        return conn

    def _stmt(self, key, code, lasti):
        with self._lock:
            stmt = self._stmts.get(key)
            if stmt is None:
                stmt = self._stmts[key] = _Stmt(key[0].id, key[1], code,
                                                lasti, key[4])
        return stmt

    def _drain(self, final=False):
        """Adds the ended calls pending to their statements (all of them,
        open or not, when final). Samples are made outside the lock: str()
        of a parameter is the program's code, which may query."""
        wanted = []
        with self._lock:
            pending = self._pending
            n = len(pending)
            batch = pending[:n]
            del pending[:n]     # the hooks only append: none is lost
            if self._waiting:
                batch = self._waiting + batch
                self._waiting = []
            waiting = self._waiting
            for call in batch:
                if not call[8] and not final:
                    waiting.append(call)
                    continue
                call[8] = True
                stmt = call[0]
                ns = call[1]
                if stmt.calls == 0 or ns < stmt.min_ns:
                    stmt.min_ns = ns
                if ns > stmt.max_ns:
                    stmt.max_ns = ns
                stmt.calls += 1
                stmt.total_ns += ns
                if call[7]:
                    stmt.errors += 1
                fetched = call[2]
                if fetched:
                    stmt.rows += fetched
                elif call[3] > 0:
                    stmt.rows += call[3]
                kept = call[5]
                if stmt.many:
                    for h in call[4]:
                        stmt.add_hash(h)
                    if kept and stmt.sampling:
                        wanted.extend((stmt, h, params, sent)
                                      for h, params, sent in kept)
                    continue
                h = call[4]
                hashes = stmt.hashes
                if stmt.sketch is not None:
                    # add_hash, its common case written out: a value above
                    # the k-th smallest changes nothing
                    m = (h * _MIX) & _MASK64
                    if m < -stmt.sketch[0]:
                        _sketch_add(stmt.sketch, hashes, m)
                elif h not in hashes:       # add_hash, written out
                    hashes.add(h)
                    if len(hashes) > DISTINCT_EXACT:
                        stmt.to_sketch()
                    elif kept is not _NO and stmt.sampling:
                        wanted.append((stmt, h, kept, call[6]))
        if not wanted:
            return
        made = []
        for stmt, h, params, sent in wanted:
            try:
                made.append((stmt, h, self._sample(stmt, params, sent)))
            except Exception:
                pass
        with self._lock:
            for stmt, h, sample in made:
                if stmt.sampling and all(s[1] != h for s in stmt.samples):
                    self._order += 1
                    stmt.samples.append((self._order, h, sample))
                    stmt.sampling = len(stmt.samples) < MAX_SAMPLES

    def _sample(self, stmt, params, sent):
        if sent is not None and not isinstance(sent, str):
            try:
                codec = self._conns[stmt.conn - 1].codec
                sent = bytes(sent).decode(codec, "replace")
            except Exception:
                sent = bytes(sent).decode("utf-8", "replace")
        return _sample(params, sent)

    # ---- the trace ----------------------------------------------------------

    def trace(self):
        """The trace as a dict (the calls ended so far, while running)."""
        if self._state == "running":
            self._drain()
        with self._lock:
            conns = [{"id": c.id, "driver": c.driver, "target": c.target,
                      "file": c.file, "line": c.line} for c in self._conns]
            merged = {}
            for stmt in list(self._stmts.values()):
                if stmt.calls == 0:
                    continue
                code = stmt.code
                file = _abs_files.get(code.co_filename, code.co_filename)
                line = _code_line(code, stmt.lasti)
                key = (stmt.conn, stmt.sql, file, line, _func_name(code),
                       stmt.many)
                merged.setdefault(key, []).append(stmt)
            statements = [_merge(key, group)
                          for key, group in merged.items()]
        wall = self._wall_ns if self._wall_ns is not None else (
            _clock() - self._start_ns if self._start_ns else 0)
        return {
            "plumb_sql_trace": TRACE_VERSION,
            "pid": self.pid or os.getpid(),
            "python": "%d.%d.%d" % tuple(sys.version_info[:3]),
            "argv": list(self._argv or getattr(sys, "argv", []) or []),
            "wall_ns": wall,
            "keep_params": self.keep_params,
            "connections": conns,
            "statements": statements,
        }

    def to_json(self, path):
        """Writes the trace (stop()'s, or the calls ended so far) to path:
        path.tmp first, mode 0600, then renamed over path."""
        data = self._trace if self._trace is not None else self.trace()
        write_json(path, data)


_fork_hooked = False


def _hook_fork():
    """A child forked while another thread held a lock gets fresh ones,
    rather than a deadlock at its first batch."""
    global _fork_hooked
    _fork_hooked = True
    if hasattr(os, "register_at_fork"):
        os.register_at_fork(after_in_child=_after_fork)


def _after_fork():
    global _state
    _state = _thread.allocate_lock()
    tracer = _active
    if tracer is not None:
        tracer._lock = _thread.allocate_lock()


def _merge(key, group):
    """One statement of the trace from the _Stmts of one line."""
    conn, sql, file, line, func, many = key
    first = group[0]
    out = {"conn": conn, "sql": sql, "file": file, "line": line,
           "func": func, "many": many,
           "calls": 0, "errors": 0, "total_ns": 0,
           "min_ns": first.min_ns, "max_ns": 0, "rows": 0}
    for stmt in group:
        out["calls"] += stmt.calls
        out["errors"] += stmt.errors
        out["total_ns"] += stmt.total_ns
        out["min_ns"] = min(out["min_ns"], stmt.min_ns)
        out["max_ns"] = max(out["max_ns"], stmt.max_ns)
        out["rows"] += stmt.rows
    if len(group) == 1:
        distinct, estimated = first.distinct()
        samples = first.samples
    else:
        distinct, estimated = _merge_distinct(group)
        samples = sorted((s for stmt in group for s in stmt.samples),
                         key=lambda s: s[0])
    out["distinct_params"] = distinct
    if estimated:
        out["distinct_params_estimated"] = True
    seen, kept = set(), []
    for _, h, sample in samples:
        if h not in seen and len(kept) < MAX_SAMPLES:
            seen.add(h)
            kept.append(sample)
    out["samples"] = kept
    return out


def _merge_distinct(group):
    if all(s.sketch is None for s in group):
        union = set()
        for s in group:
            union |= s.hashes
        if len(union) <= DISTINCT_EXACT:
            return len(union), False
        mixed = {(h * _MIX) & _MASK64 for h in union}
    else:
        mixed = set()
        for s in group:
            if s.sketch is None:
                mixed |= {(h * _MIX) & _MASK64 for h in s.hashes}
            else:
                mixed |= s.hashes
    kept = sorted(mixed)[:DISTINCT_EXACT]
    return _kmv_estimate(len(kept), kept[-1]), True


def write_json(path, data):
    """Writes data as JSON to path atomically: path.tmp (mode 0600) then a
    rename; TraceError saying why when it cannot."""
    import json
    tmp = path + ".tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC,
                     0o600)
        text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        with os.fdopen(fd, "wb") as f:
            os.fchmod(f.fileno(), 0o600)
            # a lone surrogate (a file name's undecodable byte) as U+FFFD
            f.write(text.encode("utf-8", "replace") + b"\n")
        os.replace(tmp, path)
    except (OSError, TypeError, ValueError) as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise TraceError("plumb sql: cannot write the trace to %s: %s"
                         % (path, e)) from None


# ---- the calls: shared by both drivers -------------------------------------

def _sql_text(sql, cursor):
    """The statement as a str: bytes decoded, psycopg2.sql objects
    rendered."""
    if isinstance(sql, str):
        return str(sql)
    try:
        if isinstance(sql, (bytes, bytearray, memoryview)):
            conn = cursor._plumb_c[1]
            return bytes(sql).decode(conn.codec, "replace")
        as_string = getattr(sql, "as_string", None)
        if as_string is not None:
            return as_string(cursor)
    except Exception:
        pass
    return repr(sql)


def _begin(cursor, tracer, conn, sql, many, depth):
    """Ends the cursor's open call; the statement of a new one from the
    user frame above depth."""
    call = cursor._plumb_call
    if call is not None:
        cursor._plumb_call = None
        call[8] = True
    f = _user_frame(depth + 1)
    code = f.f_code
    lasti = f.f_lasti
    text = sql if type(sql) is str else _sql_text(sql, cursor)
    key = (conn, text, id(code), lasti, many)
    stmt = tracer._stmts.get(key)
    if stmt is None:
        stmt = tracer._stmt(key, code, lasti)
    return stmt


def _add(tracer, call):
    pending = tracer._pending
    pending.append(call)
    if len(pending) >= DRAIN_EVERY:
        _drain(tracer)


def _drain(tracer):
    """A batch added on the program's time: whatever went wrong in it,
    the program's query goes on."""
    try:
        tracer._drain()
    except Exception:
        pass


def _tap(rows, hashes, kept, stmt):
    """Hashes the rows of an executemany as the driver takes them."""
    for params in rows:
        try:
            h = hash(params)
        except Exception:
            h = _params_hash(params)
        hashes.append(h)
        if (len(kept) < MAX_SAMPLES and stmt.sampling
                and h not in stmt.hashes
                and all(k[0] != h for k in kept)):
            kept.append((h, params, None))
        yield params


def _executemany(cursor, tracer, conn, run, sql, rows, pg):
    """cursor.executemany traced; every row is a parameter set."""
    stmt = _begin(cursor, tracer, conn, sql, True, 2)
    kept = []
    if type(rows) is list or type(rows) is tuple:
        # hashed before, outside the time measured
        try:
            hashes = [hash(p) for p in rows]
        except Exception:
            hashes = [_params_hash(p) for p in rows]
        if stmt.sampling:
            seen = stmt.hashes
            for h, params in zip(hashes, rows):
                if h not in seen and all(k[0] != h for k in kept):
                    kept.append((h, params, None))
                    if len(kept) == MAX_SAMPLES:
                        break
        sent_rows = rows
    else:
        # an iterator: hashed as the driver consumes it, which the
        # time measured includes
        hashes = []
        sent_rows = _tap(rows, hashes, kept, stmt)
    t0 = _clock()
    failed = True
    try:
        result = run(cursor, sql, sent_rows)
        failed = False
    finally:
        ns = _clock() - t0
        if failed:
            kept = []
        elif pg and kept:
            kept = [(h, params, _pg_mogrify(cursor, sql, params))
                    for h, params, _ in kept]
        _add(tracer, [stmt, ns, 0, -1 if failed else cursor.rowcount,
                      hashes, kept, None, failed, True])
    return result


def _executescript(cursor, tracer, conn, run, script):
    stmt = _begin(cursor, tracer, conn, script, False, 2)
    t0 = _clock()
    failed = True
    try:
        result = run(cursor, script)
        failed = False
    finally:
        ns = _clock() - t0
        _add(tracer, [stmt, ns, 0, -1, _EMPTY_HASH, _NO if failed else (),
                      None, failed, True])
    return result


_EMPTY_HASH = hash(())


def _cursor_methods(base, default_params, pg):
    """The methods of a traced cursor class over base (the driver's cursor
    type): execute and executemany, fetchone, fetchmany, fetchall, the
    iterator's next, close, and __del__ that ends the call of a cursor
    dropped before its end. execute is the hot path: written out, no
    helper called."""
    c_execute = base.execute
    c_executemany = base.executemany
    c_fetchone = base.fetchone
    c_fetchmany = base.fetchmany
    c_fetchall = base.fetchall
    c_next = base.__next__
    c_close = base.close
    getframe = _getframe
    files = _user_files
    clock = _clock
    no = _NO
    drain_every = DRAIN_EVERY

    def execute(self, sql, params=default_params):
        c = self._plumb_c
        tracer = _active
        if c is None or c[0] is not tracer:
            return c_execute(self, sql, params)
        call = self._plumb_call
        if call is not None:
            call[8] = True
        f = getframe(1)
        while True:
            code = f.f_code
            user = files.get(code.co_filename)
            if user is None:
                user = _classify(code.co_filename)
            if user:
                break
            back = f.f_back
            if back is None:
                break
            f = back
        lasti = f.f_lasti
        key = (c[1], sql if type(sql) is str else _sql_text(sql, self),
               id(code), lasti, False)
        stmt = c[2].get(key)
        if stmt is None:
            stmt = tracer._stmt(key, code, lasti)
        try:
            h = hash(params)
        except Exception:
            h = _params_hash(params)
        t0 = clock()
        try:
            result = c_execute(self, sql, params)
        except BaseException:
            ns = clock() - t0
            self._plumb_call = None
            _add(tracer, [stmt, ns, 0, -1, h, no, None, True, True])
            raise
        ns = clock() - t0
        if stmt.sampling and h not in stmt.hashes:
            call = [stmt, ns, 0, self.rowcount, h, params,
                    _pg_sent(self, sql, params) if pg else None, False,
                    False]
        else:
            call = [stmt, ns, 0, self.rowcount, h, no, None, False, False]
        self._plumb_call = call
        pending = c[3]
        pending.append(call)
        if len(pending) >= drain_every:
            _drain(tracer)
        return result

    def executemany(self, sql, seq_of_parameters):
        c = self._plumb_c
        tracer = _active
        if c is None or c[0] is not tracer:
            return c_executemany(self, sql, seq_of_parameters)
        return _executemany(self, tracer, c[1], c_executemany, sql,
                            seq_of_parameters, pg)

    def failed(self, call, t0):
        call[1] += clock() - t0
        call[7] = True
        call[8] = True
        self._plumb_call = None

    def fetchone(self):
        call = self._plumb_call
        if call is None:
            return c_fetchone(self)
        t0 = clock()
        try:
            row = c_fetchone(self)
        except BaseException:
            failed(self, call, t0)
            raise
        call[1] += clock() - t0
        if row is None:
            call[8] = True
            self._plumb_call = None
        else:
            call[2] += 1
        return row

    def fetchmany(self, size=None):
        call = self._plumb_call
        if call is None:
            return c_fetchmany(self) if size is None else c_fetchmany(self,
                                                                      size)
        t0 = clock()
        try:
            rows = c_fetchmany(self) if size is None else c_fetchmany(self,
                                                                      size)
        except BaseException:
            failed(self, call, t0)
            raise
        call[1] += clock() - t0
        n = len(rows)
        call[2] += n
        if n == 0 or n < (self.arraysize if size is None else size):
            call[8] = True
            self._plumb_call = None
        return rows

    def fetchall(self):
        call = self._plumb_call
        if call is None:
            return c_fetchall(self)
        t0 = clock()
        try:
            rows = c_fetchall(self)
        except BaseException:
            failed(self, call, t0)
            raise
        call[1] += clock() - t0
        call[2] += len(rows)
        call[8] = True
        self._plumb_call = None
        return rows

    def __next__(self):
        call = self._plumb_call
        if call is None:
            return c_next(self)
        t0 = clock()
        try:
            row = c_next(self)
        except StopIteration:
            call[1] += clock() - t0
            call[8] = True
            self._plumb_call = None
            raise
        except BaseException:
            failed(self, call, t0)
            raise
        call[1] += clock() - t0
        call[2] += 1
        return row

    def close(self, *args, **kwargs):
        call = self._plumb_call
        if call is not None:
            call[8] = True
            self._plumb_call = None
        return c_close(self, *args, **kwargs)

    def __del__(self):
        call = self._plumb_call
        if call is not None:
            call[8] = True

    return {"execute": execute, "executemany": executemany,
            "fetchone": fetchone, "fetchmany": fetchmany,
            "fetchall": fetchall, "__next__": __next__, "close": close,
            "__del__": __del__, "_plumb_c": None, "_plumb_call": None,
            "__module__": base.__module__, "__qualname__": base.__qualname__}


def _traced_subclass(cls, traced_base, cache):
    """A class over cls with traced_base's methods after cls's own: the
    user's class runs first and calls into the traced methods through
    super(). None when cls cannot be subclassed so."""
    sub = cache.get(cls)
    if sub is not None:
        return sub
    try:
        if issubclass(cls, traced_base):
            return cls
        namespace = {"__module__": cls.__module__,
                     "__qualname__": getattr(cls, "__qualname__",
                                             cls.__name__)}
        if "__del__" in traced_base.__dict__ and "__del__" in dir(cls):
            user_del = cls.__del__
            traced_del = traced_base.__dict__["__del__"]

            def __del__(self):
                traced_del(self)
                user_del(self)
            namespace["__del__"] = __del__
        sub = type(cls.__name__, (cls, traced_base), namespace)
    except Exception:
        return None
    cache[cls] = sub
    return sub


# ---- sqlite3 ----------------------------------------------------------------

_sqlite_classes = {}   # sqlite3's classes -> traced subclasses
_sqlite_cursor_type = None
_sqlite_connection_type = None


def _sqlite_types(sqlite3):
    """The traced Connection and Cursor subclasses (made once)."""
    global _sqlite_cursor_type, _sqlite_connection_type
    if _sqlite_cursor_type is not None:
        return
    Cursor = sqlite3.Cursor
    Connection = sqlite3.Connection
    c_executescript = Cursor.executescript
    c_cursor = Connection.cursor

    def executescript(self, sql_script):
        c = self._plumb_c
        tracer = _active
        if c is None or c[0] is not tracer:
            return c_executescript(self, sql_script)
        return _executescript(self, tracer, c[1], c_executescript,
                              sql_script)

    methods = _cursor_methods(Cursor, (), False)
    methods["executescript"] = executescript
    cursor_type = type(Cursor.__name__, (Cursor,), methods)
    cursor_execute = methods["execute"]

    def cursor(self, factory=None):
        c = self._plumb_c
        if c is None or c[0] is not _active:
            return c_cursor(self) if factory is None else c_cursor(self,
                                                                   factory)
        cls = cursor_type if factory is None or factory is Cursor else (
            _traced_subclass(factory, cursor_type, _sqlite_classes)
            if isinstance(factory, type) and issubclass(factory, Cursor)
            else None)
        if cls is None:
            return c_cursor(self, factory)
        cur = c_cursor(self, cls)
        cur._plumb_c = c
        return cur

    # The shortcuts, as the documentation describes them: a cursor from
    # self.cursor(), then its method (CPython's bypass cursor()).
    def conn_execute(self, sql, parameters=()):
        c = self._plumb_c
        if c is None or c[0] is not _active:
            return Connection.execute(self, sql, parameters)
        if type(self).cursor is cursor:     # the common case, shorter
            cur = c_cursor(self, cursor_type)
            cur._plumb_c = c
            return cursor_execute(cur, sql, parameters)
        return self.cursor().execute(sql, parameters)

    def conn_executemany(self, sql, parameters):
        c = self._plumb_c
        if c is None or c[0] is not _active:
            return Connection.executemany(self, sql, parameters)
        return self.cursor().executemany(sql, parameters)

    def conn_executescript(self, sql_script):
        c = self._plumb_c
        if c is None or c[0] is not _active:
            return Connection.executescript(self, sql_script)
        return self.cursor().executescript(sql_script)

    _sqlite_connection_type = type(
        Connection.__name__, (Connection,),
        {"cursor": cursor, "execute": conn_execute,
         "executemany": conn_executemany,
         "executescript": conn_executescript, "_plumb_c": None,
         "__module__": Connection.__module__,
         "__qualname__": Connection.__qualname__})
    _sqlite_cursor_type = cursor_type


def _sqlite_target(database, uri):
    try:
        name = os.fspath(database)
        if isinstance(name, bytes):
            name = os.fsdecode(name)
    except TypeError:
        return str(database)
    if name in (":memory:", "") or (uri and name.startswith("file:")):
        return name
    return os.path.abspath(name)


def _sqlite_connect_wrapper(sqlite3, original):
    _sqlite_types(sqlite3)
    Connection = sqlite3.Connection

    def connect(*args, **kwargs):
        tracer = _active
        if tracer is None:
            return original(*args, **kwargs)
        factory = args[5] if len(args) > 5 else kwargs.get("factory")
        if factory is None or factory is Connection:
            cls = _sqlite_connection_type
        elif isinstance(factory, type) and issubclass(factory, Connection):
            cls = _traced_subclass(factory, _sqlite_connection_type,
                                   _sqlite_classes)
        else:
            cls = None
        if cls is None:
            return original(*args, **kwargs)
        if len(args) > 5:
            args = args[:5] + (cls,) + args[6:]
        else:
            kwargs["factory"] = cls
        conn = original(*args, **kwargs)
        try:
            database = args[0] if args else kwargs.get("database")
            uri = args[7] if len(args) > 7 else kwargs.get("uri", False)
            info = tracer._connection("sqlite3",
                                      _sqlite_target(database, uri), 1)
            conn._plumb_c = tracer._hook_state(info)
        except Exception:
            pass   # untraced, rather than a broken connect
        return conn

    connect.__name__ = getattr(original, "__name__", "connect")
    connect.__qualname__ = connect.__name__
    connect.__doc__ = getattr(original, "__doc__", None)
    connect.__wrapped__ = original
    return connect


# ---- psycopg2 ---------------------------------------------------------------

_pg_classes = {}
_pg_module = None
_pg_cursor_type = None
_pg_connection_type = None


def _pg_sent(cursor, sql, params):
    """The statement as psycopg2 sent it: cursor.query, or for a named
    cursor (whose query is its DECLARE) the statement itself."""
    try:
        if cursor.name is None:
            return cursor.query
        return cursor.mogrify(sql, params)
    except Exception:
        return None


def _pg_mogrify(cursor, sql, params):
    try:
        return cursor.mogrify(sql, params)
    except Exception:
        return None


def _pg_types(psycopg2):
    global _pg_cursor_type, _pg_connection_type, _pg_module
    _pg_module = psycopg2
    if _pg_cursor_type is not None:
        return
    ext = psycopg2.extensions
    Cursor = ext.cursor
    Connection = ext.connection
    c_cursor = Connection.cursor
    cursor_type = type(Cursor.__name__, (Cursor,),
                       _cursor_methods(Cursor, None, True))

    def cursor(self, name=None, cursor_factory=None, withhold=False,
               scrollable=None):
        c = self._plumb_c
        factory = cursor_factory or self.cursor_factory
        if c is None or c[0] is not _active:
            return c_cursor(self, name, cursor_factory=factory,
                            withhold=withhold, scrollable=scrollable)
        cls = cursor_type if factory is None or factory is Cursor else (
            _traced_subclass(factory, cursor_type, _pg_classes)
            if isinstance(factory, type) and issubclass(factory, Cursor)
            else None)
        if cls is None:
            return c_cursor(self, name, cursor_factory=factory,
                            withhold=withhold, scrollable=scrollable)
        cur = c_cursor(self, name, cursor_factory=cls, withhold=withhold,
                       scrollable=scrollable)
        cur._plumb_c = c
        return cur

    _pg_connection_type = type(
        Connection.__name__, (Connection,),
        {"cursor": cursor, "_plumb_c": None,
         "__module__": Connection.__module__,
         "__qualname__": Connection.__qualname__})
    _pg_cursor_type = cursor_type


def _pg_target(psycopg2, conn, dsn, kwargs):
    """A libpq key=value string that connects where conn did: its
    parameters (conn.get_dsn_parameters()): host, port, dbname, user and
    those the program gave, with the password it gave (psycopg2 hides
    it)."""
    ext = psycopg2.extensions
    try:
        given = ext.parse_dsn(ext.make_dsn(dsn, **kwargs))
    except Exception:
        given = {}
    params = conn.get_dsn_parameters()
    out = {}
    for key in ("host", "hostaddr", "port", "dbname", "user"):
        if params.get(key):
            out[key] = params[key]
    for key, value in given.items():
        if key not in out and key != "password" and value not in (None, ""):
            out[key] = params.get(key) or value
    if given.get("password"):
        out["password"] = given["password"]
    try:
        return ext.make_dsn(**out)
    except Exception:
        return conn.dsn


def _pg_connect_wrapper(psycopg2, original):
    _pg_types(psycopg2)
    Connection = psycopg2.extensions.connection

    def connect(dsn=None, connection_factory=None, cursor_factory=None,
                **kwargs):
        tracer = _active
        if tracer is None or kwargs.get("async") or kwargs.get("async_"):
            return original(dsn, connection_factory, cursor_factory,
                            **kwargs)
        factory = connection_factory
        if factory is None or factory is Connection:
            cls = _pg_connection_type
        elif isinstance(factory, type) and issubclass(factory, Connection):
            cls = _traced_subclass(factory, _pg_connection_type, _pg_classes)
        else:
            cls = None
        if cls is None:
            return original(dsn, connection_factory, cursor_factory,
                            **kwargs)
        conn = original(dsn, cls, cursor_factory, **kwargs)
        try:
            info = tracer._connection(
                "psycopg2", _pg_target(psycopg2, conn, dsn, kwargs), 1)
            info.codec = psycopg2.extensions.encodings.get(conn.encoding,
                                                           "utf-8")
            conn._plumb_c = tracer._hook_state(info)
        except Exception:
            pass
        return conn

    connect.__name__ = "connect"
    connect.__qualname__ = "connect"
    connect.__doc__ = getattr(original, "__doc__", None)
    connect.__wrapped__ = original
    return connect


# ---- hooking the drivers ----------------------------------------------------

def _patch(name, module):
    """Replaces the driver's connect (with _state held)."""
    if name in _originals:
        return
    if name == "sqlite3":
        original = module.connect
        wrapper = _sqlite_connect_wrapper(module, original)
        _originals[name] = (module, original)
        module.connect = wrapper
        dbapi2 = sys.modules.get("sqlite3.dbapi2")
        if dbapi2 is not None and dbapi2.connect is original:
            dbapi2.connect = wrapper
    elif name == "psycopg2":
        original = module.connect
        wrapper = _pg_connect_wrapper(module, original)
        _originals[name] = (module, original)
        module.connect = wrapper
        if getattr(module, "__file__", None):
            _skip_dir(os.path.dirname(module.__file__))


def _unpatch(name):
    module, original = _originals.pop(name)
    wrapper = module.connect
    module.connect = original
    if name == "sqlite3":
        dbapi2 = sys.modules.get("sqlite3.dbapi2")
        if dbapi2 is not None and dbapi2.connect is wrapper:
            dbapi2.connect = original


class _ImportHook:
    """A meta path finder that patches a driver right after its import
    while its tracer runs; it finds nothing itself."""

    def __init__(self, tracer):
        self.tracer = tracer

    def find_spec(self, name, path=None, target=None):
        if name not in DRIVERS or _active is not self.tracer:
            return None
        for finder in sys.meta_path:
            if finder is self or isinstance(finder, _ImportHook):
                continue
            find = getattr(finder, "find_spec", None)
            if find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        spec.loader = _PatchingLoader(loader, name, self.tracer)
        return spec

    def invalidate_caches(self):
        pass


class _PatchingLoader:
    """The driver's loader, then the patch; the module keeps its own
    loader in __loader__ and __spec__."""

    def __init__(self, loader, name, tracer):
        self._loader = loader
        self._name = name
        self._tracer = tracer

    def create_module(self, spec):
        return self._loader.create_module(spec)

    def exec_module(self, module):
        module.__loader__ = self._loader
        spec = getattr(module, "__spec__", None)
        if spec is not None:
            spec.loader = self._loader
        self._loader.exec_module(module)
        with _state:
            if _active is self._tracer:
                try:
                    _patch(self._name, module)
                except Exception:
                    pass   # the driver runs untraced

    def __getattr__(self, attr):
        return getattr(self._loader, attr)
