"""Profiles in the store, end to end: plumb profile stores each one as a run,
plumb runs lists it, plumb show prints it again and plumb compare tells which
functions gained or lost share between two of them."""
import os
import re
import stat
import sys
import threading


HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
    else sys.executable


def profile(plumb, program, *args):
    """Profiles a program of programs/ and returns (run id, stdout)."""
    proc = plumb.run("profile", "--", PYTHON,
                     os.path.join(PROGRAMS, program), *args, check=0)
    m = re.search(r"plumb: stored as run (\d+) in (.+)", proc.stderr)
    assert m, proc.stderr
    assert m.group(2) == plumb.store
    return int(m.group(1)), proc.stdout


def change_rows(text):
    """function -> (share in A, share in B, change) from plumb compare."""
    rows = {}
    for line in text.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+([\d.]+)%\s+([-+][\d.]+) pp\s+(\S+)",
                     line)
        if m:
            rows.setdefault(m.group(4), tuple(float(m.group(i))
                                              for i in (1, 2, 3)))
    return rows


def test_profile_is_stored_listed_and_shown_again(plumb):
    run, printed = profile(plumb, "split.py", "0.5")
    runs = plumb.run("runs", check=0).stdout
    line = next(l for l in runs.splitlines() if l.split()[:1] == [str(run)])
    assert "profile: " in line and "split.py 0.5" in line
    shown = plumb.run("show", str(run), check=0).stdout
    assert "samples in" in shown and "Top functions" in shown
    assert "sixty" in shown
    # The summary is the one plumb profile printed.
    assert shown == printed
    # And the flame graph of the stored run is the profile's own.
    collapsed = plumb.run("show", str(run), "--format", "collapsed",
                          check=0).stdout
    assert any("sixty (" in l for l in collapsed.splitlines())
    assert all(re.match(r".+ \d+$", l) for l in collapsed.splitlines())


def test_the_store_note_ends_the_output_on_one_pipe(plumb):
    # stored before the report is written, said after it: a CI log that
    # takes both streams (2>&1) reads the report, then where it went
    proc = plumb.run("profile", "--top", "3", "--", PYTHON,
                     os.path.join(PROGRAMS, "split.py"), "0.3", check=0,
                     merged=True)
    lines = proc.stdout.splitlines()
    assert re.match(r"plumb: stored as run \d+ in ", lines[-1]), lines[-3:]
    assert sum(l.startswith("plumb: ") for l in lines) == 1, lines
    assert any(l.startswith("Top lines") for l in lines[:-1]), lines


def test_compare_shows_the_function_that_gained_share(plumb):
    a, _ = profile(plumb, "split.py", "1")
    b, _ = profile(plumb, "half_sleep.py", "1")
    proc = plumb.run("compare", str(a), str(b), check=0)
    rows = change_rows(proc.stdout)
    # split.py spends ~60% in sixty(), half_sleep.py none; compute() is
    # half_sleep.py's work (cpu mode: nearly all of its samples).
    sixty, compute = rows["sixty"], rows["compute"]
    assert sixty[0] > 45 and sixty[1] == 0 and sixty[2] < -45
    assert compute[0] == 0 and compute[1] > 45 and compute[2] > 45
    changes = [abs(r[2]) for r in rows.values()]
    assert changes == sorted(changes, reverse=True)
    assert len(rows) <= 20
    # The other way round, the signs flip.
    back = change_rows(plumb.run("compare", str(b), str(a), check=0).stdout)
    assert back["sixty"][2] == -sixty[2]


def test_compare_refuses_a_profile_against_a_bench_run(plumb):
    run, _ = profile(plumb, "split.py", "0.2")
    plumb.run("bench", "--no-progress", "-r", "3", "true", check=0)
    bench = int(plumb.run("runs", check=0).stdout.splitlines()[1].split()[0])
    assert bench != run
    proc = plumb.run("compare", str(run), str(bench), check=1)
    assert "is a profile" in proc.stderr and "benchmark" in proc.stderr


def test_no_store_stores_nothing(plumb):
    proc = plumb.run("profile", "--no-store", "--", PYTHON,
                     os.path.join(PROGRAMS, "split.py"), "0.2", check=0)
    assert "stored" not in proc.stderr
    assert not os.path.exists(plumb.store)


def test_a_bad_store_fails_before_sampling(plumb, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    proc = plumb.run("profile", "--store", str(blocker / "x.db"), "--",
                     PYTHON, "-c", "import time; time.sleep(30)",
                     check=1, timeout=10)
    assert "cannot open the store" in proc.stderr


def test_output_to_a_device_or_a_pipe_leaves_it_one(plumb, tmp_path):
    # -o /dev/null must not rename a regular file over the device (as root
    # that replaces /dev/null for the whole machine); a FIFO stands in for
    # it here, so that a regression cannot damage the machine running us.
    fifo = tmp_path / "flame.fifo"
    os.mkfifo(fifo)
    got = []
    # daemon: with the bug the FIFO is replaced and its reader never wakes
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()),
                              daemon=True)
    reader.start()
    plumb.run("profile", "--no-store", "--format", "collapsed", "-o",
              str(fifo), "--", PYTHON, os.path.join(PROGRAMS, "split.py"),
              "0.3", check=0)
    reader.join(timeout=30)
    assert stat.S_ISFIFO(os.stat(fifo).st_mode)
    assert got and "sixty" in got[0], got
