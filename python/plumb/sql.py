"""plumb.sql: the queries a block of code sends through sqlite3 and
psycopg2, and what in them costs time, by the same tracer and analysis as
`plumb sql`.

    with plumb.sql.trace() as t:        # keep_params=False
        app()
    r = t.report()                      # analyses once (tries indexes)
    print(r)                            # the report `plumb sql` prints
    r.findings                          # dicts, by the time they cost
    r.has("n+1")                        # for a test or a CI gate
    r.indexes                           # the indexes tried, with proof
    t.save("trace.json")                # the trace itself

The tracer times every execute and the fetching of its result, and keeps
statements aggregated by connection, text and the line of your code that
sent them. report() groups them by fingerprint (values folded), finds slow
statements, N+1 loops, values pasted into the SQL, full scans and
temporary sorts, and tries indexes for the scans and sorts on a scratch
copy of the database (SQLite) or in a transaction it rolls back
(PostgreSQL), replaying the traced statements with and without each. The
database itself is never changed. Connections opened before the block are
not traced.
"""
import json
import os
from typing import Any, Dict, List, Optional

from . import _core, _sqltrace

SqlError = _core.SqlError
FINDINGS = ("slow", "n+1", "literals", "scan", "sort")


class Report:
    """An analysed trace: the text `plumb sql` prints (str(report)) and the
    document `plumb sql --format json` writes (report.data)."""

    def __init__(self, text: str, doc: Dict[str, Any]):
        self.text = text
        self.data = doc

    @property
    def findings(self) -> List[Dict[str, Any]]:
        """kind ("n+1", "scan"...), cost_ns, calls, file, line, function,
        detail and statement (an index into statements), costliest first."""
        return self.data["findings"]

    @property
    def statements(self) -> List[Dict[str, Any]]:
        """One per fingerprint and connection, by total time."""
        return self.data["statements"]

    @property
    def indexes(self) -> List[Dict[str, Any]]:
        """The indexes tried: create_sql, advised, reads (the comparison
        without/with it), same_results, plan_before/after, index_bytes,
        writes."""
        return self.data["indexes"]

    @property
    def notes(self) -> List[str]:
        """What could not be looked at, and why."""
        return self.data["notes"]

    def has(self, kind: str) -> bool:
        """Whether there is a finding of kind (one of FINDINGS)."""
        if kind not in FINDINGS:
            raise ValueError(f"kind must be one of {', '.join(FINDINGS)}, "
                             f"not {kind!r}")
        return any(f["kind"] == kind for f in self.findings)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return (f"<plumb.sql.Report: {len(self.findings)} finding(s), "
                f"{len(self.statements)} statement(s)>")


class Trace:
    """What one `with plumb.sql.trace():` block sent to its databases."""

    def __init__(self, keep_params: bool = False):
        self.keep_params = bool(keep_params)
        self._tracer = None
        self._data: Optional[Dict[str, Any]] = None

    def __enter__(self) -> "Trace":
        if self._tracer is not None:
            raise RuntimeError("a plumb.sql.trace() block runs once; make "
                               "a new one with plumb.sql.trace()")
        self._tracer = _sqltrace.start(keep_params=self.keep_params)
        return self

    def __exit__(self, *exc) -> bool:
        self._data = self._tracer.stop()
        return False

    @property
    def data(self) -> Dict[str, Any]:
        """The trace (docs/json.md, "SQL traces")."""
        if self._data is None:
            raise RuntimeError("the trace is ready when its with block "
                               "has ended")
        return self._data

    @property
    def statements(self) -> List[Dict[str, Any]]:
        """The statements as traced: by connection, exact text and line."""
        return self.data["statements"]

    @property
    def queries(self) -> int:
        """Calls of every statement."""
        return sum(s["calls"] for s in self.statements)

    def report(self, *, explain: bool = True, advise: bool = True,
               slow_ms: float = 10.0, n_plus_one: int = 10,
               rounds: int = 7, db: Optional[str] = None,
               top: int = 10) -> Report:
        """Analyses the trace (asking the planner and trying indexes unless
        told not to: seconds on a large table) and returns the report. db:
        look at this database (a SQLite path or a PostgreSQL URL) rather
        than each connection's own."""
        text, doc = _core.sql_report(json.dumps(self.data), explain=explain,
                                     advise=advise, slow_ms=float(slow_ms),
                                     n_plus_one=int(n_plus_one),
                                     rounds=int(rounds), db=db, top=int(top))
        return Report(text, json.loads(doc))

    def save(self, path: "os.PathLike[str] | str") -> None:
        """Writes the trace as JSON (mode 0600: it holds the parameters)."""
        _sqltrace.write_json(os.fspath(path), self.data)


def trace(keep_params: bool = False) -> Trace:
    """A block whose queries are traced: `with plumb.sql.trace() as t:`.
    keep_params puts the exact texts and parameters in the report's
    document (otherwise only fingerprints: values may be private)."""
    return Trace(keep_params)


def fingerprint(sql: str) -> str:
    """The statement's shape, as plumb groups statements: literals and
    placeholders become ?, IN lists one ?, comments and spacing fold."""
    return _core.sql_fingerprint(sql)[0]
