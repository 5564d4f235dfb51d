"""A stand-in for plumb's recorder, for the tests of `plumb mem`'s side of
the environment interface (tests/cli/test_mem.py): it does what the real
recorder does at the edges, and nothing inside.

It notes what the interface handed it (PLUMB_MEM_* and the variables around
them) as JSON in the file FAKE_RECORDER_SAW names, removes the recorder's variables from its
own environment as the real one does, then, by FAKE_RECORDER:
  ok       writes a complete profile at exit (atexit), atomically;
  died     writes a snapshot (complete: false) at once, and the program may
           then die as it likes;
  error    writes a sentence to PLUMB_MEM_OUT + ".error" and records
           nothing;
  corrupt  writes a file that is not a memory profile;
  nothing  writes nothing, as a Python started with -I would.
The profile's figures are fixed (FAKE_PEAK_MIB scales the peak), so the
tests know what plumb must print."""
import atexit
import json
import os

OUT = os.environ.get("PLUMB_MEM_OUT", "")
MEAN = int(os.environ.get("PLUMB_MEM_MEAN_BYTES", "1"))
NATIVE = os.environ.get("PLUMB_MEM_NATIVE") == "1"
MODE = os.environ.get("FAKE_RECORDER", "ok")
MIB = 1 << 20


def _write(path, text):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.rename(tmp, path)


def _profile(complete):
    peak = int(float(os.environ.get("FAKE_PEAK_MIB", "100")) * MIB)
    frames = [
        {"function": "<module>", "file": "/w/app.py", "line": 9},
        {"function": "main", "file": "/w/app.py", "line": 5},
        {"function": "load", "file": "/w/app.py", "line": 2},
    ]
    rows = [{"function": "<module>", "file": "/w/app.py", "line": 9},
            {"function": "rows", "file": "/w/app.py", "line": 7}]
    mean = MEAN
    return {
        "schema_version": 1, "tool": "plumb", "plumb_version": "0.1.0",
        "kind": "mem",
        "header": {
            "command": None, "pid": os.getpid(), "python": "CPython 3.11.2",
            "mean_bytes": mean,
            "native": NATIVE,
            "duration_ns": 1500000000, "allocated_bytes": 3 * peak,
            "allocations": 4321, "samples": 3 * peak // mean,
            "peak_bytes": peak + 4 * MIB, "peak_ns": 1000000000,
            "end_bytes": 4 * MIB, "start_rss_bytes": 9 * MIB,
            "peak_rss_bytes": peak + 20 * MIB, "timeline_step_ns": 500000000,
            "complete": complete, "exit_status": None, "exit_signal": None,
        },
        "timeline": [
            {"t_ns": 0, "heap_bytes": 0, "rss_bytes": 9 * MIB},
            {"t_ns": 500000000, "heap_bytes": peak // 2,
             "rss_bytes": peak // 2 + 12 * MIB},
            {"t_ns": 1000000000, "heap_bytes": peak + 4 * MIB,
             "rss_bytes": peak + 20 * MIB},
        ],
        "peak": [
            {"thread": "MainThread", "frames": frames, "truncated": False,
             "bytes": peak},
            {"thread": "MainThread", "frames": rows, "truncated": False,
             "bytes": 4 * MIB},
        ],
        "allocated": [
            {"thread": "MainThread", "frames": frames, "truncated": False,
             "bytes": 3 * peak - 4 * MIB},
            {"thread": "MainThread", "frames": rows, "truncated": False,
             "bytes": 4 * MIB},
        ],
        "end": [
            {"thread": "MainThread", "frames": rows, "truncated": False,
             "bytes": 4 * MIB},
        ],
    }


def _start():
    seen = {k: os.environ.get(k) for k in (
        "PLUMB_MEM_OUT", "PLUMB_MEM_MEAN_BYTES", "PLUMB_MEM_NATIVE",
        "PYTHONPATH", "LD_PRELOAD")}
    for k in ("PLUMB_MEM_OUT", "PLUMB_MEM_MEAN_BYTES", "PLUMB_MEM_NATIVE"):
        os.environ.pop(k, None)
    if os.environ.get("FAKE_RECORDER_SAW"):
        _write(os.environ.pop("FAKE_RECORDER_SAW"), json.dumps(seen))
    if not OUT:
        return
    if MODE == "ok":
        atexit.register(lambda: _write(OUT, json.dumps(_profile(True))))
    elif MODE == "died":
        _write(OUT, json.dumps(_profile(False)))
    elif MODE == "error":
        _write(OUT + ".error", "plumb's recorder is not built for CPython "
               "3.99: run make python-ext PYTHON=python3.99 in plumb's "
               "source tree\n")
    elif MODE == "corrupt":
        _write(OUT, '{"kind": "mem", "schema_version": 1, "header": 3}')


_start()
