"""plumb mem end to end.

Most tests run the program with a stand-in for plumb's recorder
(fake_recorder/, through PLUMB_PYTHON_DIR): they check plumb mem's side of
the environment interface, its options, formats, store and errors against
figures the stand-in fixes. The tests at the end run the real recorder
(python/plumb/_memboot/) on programs whose memory is known by construction
(programs/hold.py)."""
import glob
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time

import pytest

from conftest import PLUMB

HERE = os.path.dirname(os.path.abspath(__file__))
PROGRAMS = os.path.join(HERE, "programs")
FAKE = os.path.join(HERE, "fake_recorder")
PYTHON = "/usr/bin/python3" if os.path.exists("/usr/bin/python3") \
    else sys.executable
MIB = 1 << 20
# Where plumb looks for its package by default: beside the binary.
REAL_PACKAGE = os.path.normpath(os.path.join(os.path.dirname(
    os.path.abspath(PLUMB)), "..", "python"))
HAS_RECORDER = os.path.exists(os.path.join(
    REAL_PACKAGE, "plumb", "_memboot", "sitecustomize.py"))


def mem(plumb, *args, env=None, check=None, timeout=120, merged=False):
    return plumb.run("mem", *args, env=env, check=check, timeout=timeout,
                     merged=merged)


def fake(plumb, *args, mode="ok", check=0, env=None, **kw):
    e = {"PLUMB_PYTHON_DIR": FAKE, "FAKE_RECORDER": mode}
    e.update(env or {})
    return mem(plumb, *args, env=e, check=check, **kw)


def stored_id(proc, plumb):
    m = re.search(r"plumb: stored as run (\d+) in (.+)", proc.stderr)
    assert m, proc.stderr
    assert m.group(2) == plumb.store
    return int(m.group(1))


def saw(plumb, tmp_path, *args, env=None):
    """What the stand-in recorder was handed, running PYTHON -c pass."""
    path = str(tmp_path / "saw.json")
    e = {"FAKE_RECORDER_SAW": path}
    e.update(env or {})
    fake(plumb, *args, "--no-store", "--", PYTHON, "-c", "pass", env=e)
    with open(path) as f:
        return json.load(f)


def assert_nothing_stored(plumb):
    assert "no stored runs" in plumb.run("runs", check=0).stdout


# ---- what it prints ---------------------------------------------------------

def test_summary_says_what_was_estimated_and_how(plumb):
    proc = fake(plumb, "--", PYTHON, "-c", "pass")
    out = proc.stdout
    assert out.startswith("plumb mem · CPython 3.11.2 · pid ")
    assert f"\n{PYTHON} -c pass\n" in out
    assert "the program exited with status 0 after 1.500 s" in out
    # 3 x 100 MiB allocated, one sample per 16 KiB: 19200 samples
    assert ("Python heap peak  104.0 MiB at 1.000 s  (estimated; sampled: "
            "19200 samples, one per 16.00 KiB allocated on average)") in out
    assert "RSS peak          120.0 MiB  (9.000 MiB at the start)" in out
    assert "allocated         300.0 MiB in 4321 allocations  (exact" in out
    assert ("Alive at the peak, by line\n"
            "   100.0 MiB   96.2%  /w/app.py:2  load\n"
            "   4.000 MiB    3.8%  /w/app.py:7  rows\n") in out
    assert "   104.0 MiB  100.0%  <module>  (/w/app.py)" in out
    assert ("Held at the end (likely leaks), by line\n"
            "   4.000 MiB  100.0%  /w/app.py:7  rows\n") in out
    assert re.search(r"\n  heap [ ▁▂▃▄▅▆▇█]{3}\n  RSS  [ ▁▂▃▄▅▆▇█]{3}\n", out)
    assert "\033[" not in out
    stored_id(proc, plumb)


def test_the_programs_exit_is_told_and_plumb_still_succeeds(plumb):
    proc = fake(plumb, "--", PYTHON, "-c", "import sys; sys.exit(3)")
    assert "the program exited with status 3 after" in proc.stdout


def test_colour_and_top(plumb):
    out = fake(plumb, "--color", "always", "--top", "1", "--",
               PYTHON, "-c", "pass").stdout
    assert "\033[1mplumb mem\033[0m" in out
    assert "... 1 more (--top N" in out


# ---- the environment interface ---------------------------------------------

def test_the_program_gets_the_recorders_environment(plumb, tmp_path):
    seen = saw(plumb, tmp_path, env={"PYTHONPATH": "/mine",
                                     "PLUMB_MEM_NATIVE": "1",
                                     "LD_PRELOAD": ""})
    assert seen["PYTHONPATH"] == f"{FAKE}/plumb/_memboot:{FAKE}:/mine"
    assert seen["PLUMB_MEM_MEAN_BYTES"] == "16384"
    # inherited recorder variables are plumb's to set: not --native, none
    assert seen["PLUMB_MEM_NATIVE"] is None
    out = seen["PLUMB_MEM_OUT"]
    assert os.path.basename(out) == "mem.json"
    assert os.path.basename(os.path.dirname(out)).startswith("plumb-mem-")
    # the private directory is gone with what the recorder left in it
    assert not os.path.exists(os.path.dirname(out))


def test_sample_bytes_accepts_sizes(plumb, tmp_path):
    for given, mean in (("64k", "65536"), ("1M", "1048576"),
                        ("1000", "1000"), ("2KiB", "2048")):
        assert saw(plumb, tmp_path, "-b", given)["PLUMB_MEM_MEAN_BYTES"] \
            == mean
    out = fake(plumb, "--sample-bytes", "64k", "--no-store", "--",
               PYTHON, "-c", "pass").stdout
    assert "one per 64.00 KiB allocated on average" in out


@pytest.mark.parametrize("bad", ["0", "x", "-5", "2G", "12q"])
def test_sample_bytes_refuses_what_is_not_a_size(plumb, bad):
    proc = fake(plumb, "-b", bad, "--", PYTHON, "-c", "pass", check=2)
    assert f"--sample-bytes takes a size from 1 byte to 1G, such as 16k or " \
           f"1M (got '{bad}')" in proc.stderr


def test_native_preloads_the_shim(plumb, tmp_path):
    shim = tmp_path / "libplumb-native.so"
    shutil.copy(glob.glob("/lib/x86_64-linux-gnu/libm.so.6")[0]
                if glob.glob("/lib/x86_64-linux-gnu/libm.so.6")
                else glob.glob("/usr/lib*/libm.so.6")[0], shim)
    env = {"PLUMB_NATIVE_LIB": str(shim), "LD_PRELOAD": ""}
    seen = saw(plumb, tmp_path, "--native", env=env)
    assert seen["PLUMB_MEM_NATIVE"] == "1"
    assert seen["LD_PRELOAD"] == str(shim)
    out = fake(plumb, "--native", "--no-store", "--", PYTHON, "-c", "pass",
               env=env).stdout
    assert "Python and native allocations" in out
    assert "heap peak         104.0 MiB" in out


@pytest.mark.skipif(not os.path.exists(os.path.join(
    os.path.dirname(os.path.abspath(PLUMB)), "libplumb-native.so")),
    reason="the native shim is not built beside plumb")
def test_native_finds_the_shim_beside_plumb(plumb, tmp_path):
    env = dict(LD_PRELOAD="/lib/nothing-else.so")
    seen = saw(plumb, tmp_path, "--native", env=env)
    shim = os.path.join(os.path.dirname(os.path.realpath(PLUMB)),
                        "libplumb-native.so")
    # first, before what the user preloads
    assert seen["LD_PRELOAD"] == f"{shim}:/lib/nothing-else.so"
    assert seen["PLUMB_MEM_NATIVE"] == "1"


def test_native_without_the_shim_is_an_error(plumb):
    proc = fake(plumb, "--native", "--", PYTHON, "-c", "pass", check=1,
                env={"PLUMB_NATIVE_LIB": "/no/such/libplumb-native.so"})
    assert ("--native: the native allocation library "
            "/no/such/libplumb-native.so (PLUMB_NATIVE_LIB) does not exist; "
            "set PLUMB_NATIVE_LIB") in proc.stderr
    assert_nothing_stored(plumb)


def test_native_looks_beside_plumb(plumb, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(PLUMB, bin_dir / "plumb")
    env = dict(plumb.env(), PLUMB_PYTHON_DIR=FAKE, FAKE_RECORDER="ok")
    env.pop("PLUMB_NATIVE_LIB", None)
    proc = subprocess.run([str(bin_dir / "plumb"), "mem", "--native", "--",
                           PYTHON, "-c", "pass"], capture_output=True,
                          text=True, env=env, timeout=60)
    assert proc.returncode == 1
    assert (f"the native allocation library {bin_dir}/libplumb-native.so is "
            "not there; build it") in proc.stderr


# ---- formats ----------------------------------------------------------------

def test_json_is_the_whole_profile_with_the_programs_end(plumb):
    proc = fake(plumb, "-f", "json", "--", PYTHON, "-c",
                "import sys; sys.exit(4)")
    doc = json.loads(proc.stdout)
    assert doc["kind"] == "mem" and doc["schema_version"] == 1
    h = doc["header"]
    assert h["command"] == f"{PYTHON} -c 'import sys; sys.exit(4)'"
    assert h["exit_status"] == 4 and h["exit_signal"] is None
    assert h["peak_bytes"] == 104 * MIB and h["complete"] is True
    assert doc["peak_lines"][0]["line"] == 2
    assert doc["peak"][0]["frames"][0]["function"] == "<module>"
    # shown again from the store, it is the same document
    run = stored_id(proc, plumb)
    assert plumb.run("show", str(run), "-f", "json", check=0).stdout \
        == proc.stdout


def collapsed_lines(text):
    """(frames, count) of each line, checked against FlameGraph's format:
    frames separated by ';', a space, a whole count."""
    out = []
    for line in text.splitlines():
        assert re.fullmatch(r"[^;\n]+(;[^;\n]+)* \d+", line), line
        stack, _, count = line.rpartition(" ")
        out.append((stack.split(";"), int(count)))
    return out


def test_collapsed_stacks_of_each_aggregate(plumb):
    peak = collapsed_lines(fake(plumb, "--no-store", "-f", "collapsed", "--",
                                PYTHON, "-c", "pass").stdout)
    assert (["MainThread", "<module> (/w/app.py:9)", "main (/w/app.py:5)",
             "load (/w/app.py:2)"], 100 * MIB) in peak
    assert sum(c for _, c in peak) == 104 * MIB
    end = collapsed_lines(fake(plumb, "--no-store", "-f", "collapsed",
                               "--stacks", "end", "--", PYTHON, "-c",
                               "pass").stdout)
    assert end == [(["MainThread", "<module> (/w/app.py:9)",
                     "rows (/w/app.py:7)"], 4 * MIB)]
    allocated = collapsed_lines(fake(plumb, "--no-store", "-f", "collapsed",
                                     "--stacks", "allocated", "--", PYTHON,
                                     "-c", "pass").stdout)
    assert sum(c for _, c in allocated) == 300 * MIB


def test_speedscope_file(plumb):
    doc = json.loads(fake(plumb, "--no-store", "-f", "speedscope", "--",
                          PYTHON, "-c", "pass").stdout)
    assert doc["$schema"] == \
        "https://www.speedscope.app/file-format-schema.json"
    assert doc["name"] == "bytes alive at the peak"
    [profile] = doc["profiles"]
    assert profile["type"] == "sampled" and profile["unit"] == "bytes"
    assert sum(profile["weights"]) == 104 * MIB
    names = [f["name"] for f in doc["shared"]["frames"]]
    assert "load" in names and "rows" in names
    for sample in profile["samples"]:
        assert all(0 <= i < len(names) for i in sample)


def test_output_file(plumb, tmp_path):
    out = tmp_path / "profile.json"
    proc = fake(plumb, "-f", "json", "-o", str(out), "--", PYTHON, "-c",
                "pass")
    assert proc.stdout == ""
    assert f"written to {out}" in proc.stderr
    assert json.loads(out.read_text())["kind"] == "mem"


@pytest.mark.parametrize("args,words", [
    ((), "nothing to run; e.g. plumb mem -- python3 app.py"),
    (("-f", "svg", "--", "x"), "--format takes text, json, collapsed or "
                               "speedscope (got 'svg')"),
    (("--stacks", "top", "--", "x"), "--stacks takes peak"),
    (("--top", "0", "--", "x"), "--top takes a number of rows"),
    (("--color", "often", "--", "x"), "--color takes auto, always or never"),
])
def test_wrong_arguments(plumb, args, words):
    proc = fake(plumb, *args, check=2)
    assert words in proc.stderr
    assert_nothing_stored(plumb)


# ---- the store --------------------------------------------------------------

def test_stored_listed_shown_and_compared(plumb):
    big = fake(plumb, "--", PYTHON, "-c", "pass")
    small = fake(plumb, "--", PYTHON, "-c", "pass",
                 env={"FAKE_PEAK_MIB": "25"})
    a, b = stored_id(big, plumb), stored_id(small, plumb)
    runs = plumb.run("runs", check=0).stdout
    line = next(l for l in runs.splitlines() if l.split()[:1] == [str(a)])
    assert f"mem: {PYTHON} -c pass" in line and " mem " in line
    assert plumb.run("show", str(a), check=0).stdout == big.stdout
    collapsed = plumb.run("show", str(a), "-f", "collapsed", "--stacks",
                          "end", check=0).stdout
    assert collapsed_lines(collapsed)[0][1] == 4 * MIB
    out = plumb.run("compare", str(a), str(b), check=0).stdout
    # 104 MiB against 29 MiB
    assert "B/A 0.28x: 3.59x less memory than A's" in out
    assert re.search(r"100\.0 MiB\s+25\.00 MiB\s+-75\.00 MiB  load ", out)
    rows = [l for l in out.splitlines() if l.endswith("(/w/app.py)")]
    assert rows[0].split()[-2] in ("load", "main", "<module>")
    assert any(l.split()[-2] == "rows" for l in rows)


def test_the_store_note_ends_the_output_on_one_pipe(plumb):
    # stored before the report is written, said after it: a CI log that
    # takes both streams (2>&1) reads the report, then where it went
    proc = fake(plumb, "--top", "3", "--", PYTHON, "-c", "pass", merged=True)
    lines = proc.stdout.splitlines()
    assert re.match(r"plumb: stored as run \d+ in ", lines[-1]), lines[-3:]
    assert sum(l.startswith("plumb: ") for l in lines) == 1, lines
    assert any(l.startswith("Timeline") for l in lines[:-1]), lines


def test_compare_refuses_a_memory_profile_against_a_bench_run(plumb):
    run = stored_id(fake(plumb, "--", PYTHON, "-c", "pass"), plumb)
    plumb.run("bench", "--no-progress", "-r", "3", "true", check=0)
    bench = int(plumb.run("runs", check=0).stdout.splitlines()[1].split()[0])
    proc = plumb.run("compare", str(run), str(bench), check=1)
    assert (f"run {run} is a memory profile and run {bench} a benchmark "
            "run") in proc.stderr


def test_no_store(plumb):
    proc = fake(plumb, "--no-store", "--", PYTHON, "-c", "pass")
    assert "stored as run" not in proc.stderr
    assert_nothing_stored(plumb)


def test_an_unusable_store_fails_before_the_program_runs(plumb, tmp_path):
    marker = tmp_path / "ran"
    proc = fake(plumb, "--store", "/proc/plumb/nope.db", "--", PYTHON, "-c",
                f"open({str(marker)!r}, 'w')", check=1)
    assert "cannot open the store /proc/plumb/nope.db" in proc.stderr
    assert not marker.exists()


def test_an_unwritable_output_is_an_error_and_the_profile_is_stored(plumb,
                                                                     tmp_path):
    out = tmp_path / "no-such-dir" / "mem.json"
    proc = fake(plumb, "-o", str(out), "--", PYTHON, "-c", "pass", check=1)
    assert (f"cannot write {out}: No such file or directory; check the "
            "directory exists and is writable") in proc.stderr
    assert "stored as run" in proc.stderr


# ---- a program that dies ----------------------------------------------------

def test_a_program_that_dies_after_a_snapshot_is_reported_partial(plumb):
    proc = fake(plumb, "--", PYTHON, "-c",
                "import os; os.kill(os.getpid(), 9)", mode="died")
    assert ("the program died: figures are those of its last snapshot, at "
            "1.500 s (it was killed by signal 9 (Killed))") in proc.stdout
    assert "Python heap peak  104.0 MiB" in proc.stdout
    run = stored_id(proc, plumb)
    runs = plumb.run("runs", check=0).stdout
    line = next(l for l in runs.splitlines() if l.split()[:1] == [str(run)])
    assert line.endswith("(partial)")


def test_a_program_that_dies_before_any_snapshot(plumb):
    proc = fake(plumb, "--", "sh", "-c", "kill -9 $$", check=1)
    assert ("'sh' was killed by signal 9 (Killed) after ") in proc.stderr
    assert ("before plumb's recorder wrote its first snapshot (it writes one "
            "about every second): nothing was recorded") in proc.stderr
    assert_nothing_stored(plumb)


# ---- what cannot be recorded -------------------------------------------------

def test_the_recorders_own_error_is_shown(plumb):
    proc = fake(plumb, "--", PYTHON, "-c", "print('ran')", mode="error",
                check=1)
    assert proc.stdout == "ran\n"
    assert ("plumb: error: plumb's recorder is not built for CPython 3.99: "
            "run make python-ext PYTHON=python3.99 in plumb's source tree\n"
            ) in proc.stderr
    assert ("the program ran unrecorded and exited with status 0; nothing "
            "was stored") in proc.stderr
    assert_nothing_stored(plumb)


def test_a_damaged_profile_is_refused(plumb):
    proc = fake(plumb, "--", PYTHON, "-c", "pass", mode="corrupt", check=1)
    assert ("the memory profile the program wrote is damaged: header is not "
            "an object") in proc.stderr
    assert_nothing_stored(plumb)


@pytest.mark.parametrize("command", [
    ["true"],
    [PYTHON, "-I", "-c", "pass"],
    [PYTHON, "-E", "-c", "pass"],
    [PYTHON, "-S", "-c", "pass"],
])
def test_a_program_that_does_not_load_the_recorder(plumb, command):
    proc = fake(plumb, "--", *command, check=1)
    assert (f"'{command[0]}' exited with status 0 without writing a memory "
            "profile: it is not a Python program, or its Python was started "
            "with -I, -E or -S") in proc.stderr
    assert "plumb mem -- python3 script.py" in proc.stderr
    assert_nothing_stored(plumb)


def test_a_command_that_is_not_found(plumb):
    proc = fake(plumb, "--", "no-such-program-xyz", check=1)
    assert "command not found: 'no-such-program-xyz'" in proc.stderr


def test_a_file_that_is_not_executable(plumb, tmp_path):
    script = tmp_path / "script.py"
    script.write_text("print('hi')\n")
    script.chmod(stat.S_IRUSR | stat.S_IWUSR)
    proc = fake(plumb, "--", str(script), check=1)
    assert f"cannot start '{script}': Permission denied" in proc.stderr


def test_plumbs_package_not_found(plumb, tmp_path):
    proc = mem(plumb, "--", PYTHON, "-c", "pass", check=1,
               env={"PLUMB_PYTHON_DIR": str(tmp_path)})
    assert (f"plumb's Python package is not in {tmp_path} "
            "(PLUMB_PYTHON_DIR): it has no plumb/_memboot/sitecustomize.py; "
            "set PLUMB_PYTHON_DIR") in proc.stderr
    # and beside a plumb binary that has none
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shutil.copy(PLUMB, bin_dir / "plumb")
    env = plumb.env()
    env.pop("PLUMB_PYTHON_DIR", None)
    proc = subprocess.run([str(bin_dir / "plumb"), "mem", "--", PYTHON, "-c",
                           "pass"], capture_output=True, text=True, env=env,
                          timeout=60)
    assert proc.returncode == 1
    assert (f"plumb's Python package, which plumb mem runs inside the "
            f"program, is not in {bin_dir}/../python") in proc.stderr


# ---- signals ------------------------------------------------------------------

def wait_for(path, timeout=20):
    end = time.monotonic() + timeout
    while not os.path.exists(path):
        assert time.monotonic() < end, f"{path} never appeared"
        time.sleep(0.02)


@pytest.mark.parametrize("sig,name,mode", [
    (signal.SIGTERM, "signal 15 (Terminated)", "died"),
    (signal.SIGINT, "signal 2 (Interrupt)", "ok"),
])
def test_signals_sent_to_plumb_reach_the_program(plumb, tmp_path, sig, name,
                                                  mode):
    started = str(tmp_path / "started")
    env = dict(plumb.env(), PLUMB_PYTHON_DIR=FAKE, FAKE_RECORDER=mode,
               FAKE_RECORDER_SAW=started)
    proc = subprocess.Popen([PLUMB, "mem", "--", PYTHON, "-c",
                             "import time; time.sleep(60)"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env, cwd=plumb.cwd,
                            stdin=subprocess.DEVNULL)
    wait_for(started)
    time.sleep(0.2)  # past sitecustomize: into the sleep
    t0 = time.monotonic()
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    assert time.monotonic() - t0 < 10
    assert proc.returncode == 0, err
    assert f"was killed by {name}" in out


# ---- the real recorder ------------------------------------------------------

recorder = pytest.mark.skipif(not HAS_RECORDER,
                              reason="plumb's recorder (python/plumb/"
                                     "_memboot) is not in this tree")


def marked_line(program, mark):
    with open(os.path.join(PROGRAMS, program)) as f:
        for number, text in enumerate(f, 1):
            if text.rstrip().endswith(f"# {mark}"):
                return number
    raise AssertionError(f"no line marked {mark} in {program}")


@recorder
def test_a_known_peak_is_found_on_its_line(plumb):
    proc = mem(plumb, "-f", "json", "--", PYTHON,
               os.path.join(PROGRAMS, "hold.py"), "200", "64", "50",
               check=0, timeout=300)
    doc = json.loads(proc.stdout)
    h = doc["header"]
    assert h["complete"] is True and h["exit_status"] == 0
    n = 200 * MIB // 1000
    held = n * sys.getsizeof(bytes(1000))
    line = marked_line("hold.py", "HOLD")
    [top] = doc["peak_lines"][:1]
    assert top["file"].endswith("hold.py") and top["line"] == line
    assert abs(top["self_bytes"] - held) <= 0.05 * held, (top, held)
    # the whole heap at its peak: the block, its list, the interpreter's own
    assert held <= h["peak_bytes"] * 1.05
    assert h["peak_bytes"] <= (held + 8 * n + 40 * MIB) * 1.05
    assert h["peak_rss_bytes"] >= held
    assert h["samples"] > 1000
    assert len(doc["timeline"]) >= 2


@recorder
def test_a_leak_is_found_on_its_line(plumb):
    proc = mem(plumb, "-f", "json", "--", PYTHON,
               os.path.join(PROGRAMS, "hold.py"), "1", "64", "200",
               check=0, timeout=300)
    doc = json.loads(proc.stdout)
    leaked = 200 * 64 * 1024
    top = doc["end_lines"][0]
    assert top["line"] == marked_line("hold.py", "LEAK")
    assert abs(top["self_bytes"] - leaked) <= 0.10 * leaked, (top, leaked)


@recorder
def test_a_real_program_that_dies_keeps_its_last_snapshot(plumb):
    proc = mem(plumb, "--", PYTHON, "-c",
               "import os, time; x = [bytes(1000) for _ in range(20000)]; "
               "time.sleep(2.5); os.kill(os.getpid(), 9)", check=0,
               timeout=120)
    assert "the program died: figures are those of its last snapshot" \
        in proc.stdout
    assert "killed by signal 9 (Killed)" in proc.stdout


def has_numpy(python):
    return subprocess.run([python, "-c", "import numpy"],
                          capture_output=True).returncode == 0


@recorder
@pytest.mark.skipif(not has_numpy(PYTHON), reason="no NumPy for " + PYTHON)
@pytest.mark.skipif(not os.path.exists(os.path.join(
    os.path.dirname(os.path.abspath(PLUMB)), "libplumb-native.so")),
    reason="the native shim is not built beside plumb")
def test_native_sees_a_c_extensions_allocation(plumb, tmp_path):
    script = tmp_path / "np_hold.py"
    script.write_text("import time\n"
                      "import numpy\n"
                      "a = numpy.ones(50 * 1024 * 1024 // 8)\n"
                      "time.sleep(0.2)\n")
    held = 50 * MIB

    def peak(*args):
        proc = mem(plumb, "--no-store", "-f", "json", *args, "--", PYTHON,
                   str(script), check=0)
        return json.loads(proc.stdout)

    native = peak("--native")
    assert native["header"]["native"] is True
    # the bytes alive at the peak that line 3 allocated, through NumPy
    ours = sum(s["bytes"] for s in native["peak"]
               if any(f["file"] == str(script) and f["line"] == 3
                      for f in s["frames"]))
    assert abs(ours - held) <= 0.05 * held, ours
    assert native["header"]["peak_bytes"] >= 0.95 * held
    # NumPy's data does not go through Python's allocators: without
    # --native it is not seen
    python_only = peak()
    assert python_only["header"]["native"] is False
    assert python_only["header"]["peak_bytes"] < 0.5 * held


def pythons_without_the_extension():
    found = []
    for python in sorted(glob.glob(os.path.expanduser(
            "~/.pyenv/versions/3.1[0-9].*/bin/python3"))):
        suffix = subprocess.run(
            [python, "-c", "import sysconfig; print(sysconfig."
             "get_config_var('EXT_SUFFIX'))"],
            capture_output=True, text=True).stdout.strip()
        if suffix and not os.path.exists(os.path.join(
                REAL_PACKAGE, "plumb", "_core" + suffix)):
            found.append(python)
    return found[:1]


@recorder
@pytest.mark.parametrize("python", pythons_without_the_extension())
def test_a_python_the_extension_is_not_built_for(plumb, python):
    proc = mem(plumb, "--", python, "-c", "print('ran')", check=1)
    assert proc.stdout == "ran\n"
    assert ("plumb: error: plumb's extension is not built for the Python "
            "this program runs") in proc.stderr
    assert f"make python-ext PYTHON={python}" in proc.stderr
    assert ("the program ran unrecorded and exited with status 0; nothing "
            "was stored") in proc.stderr
    assert_nothing_stored(plumb)


@recorder
def test_python_m_plumb_finds_its_own_recorder(plumb, tmp_path):
    env = dict(plumb.env(), PYTHONPATH=REAL_PACKAGE)
    env.pop("PLUMB_PYTHON_DIR", None)
    proc = subprocess.run([PYTHON, "-m", "plumb", "mem", "--no-store",
                           "-f", "json", "--", PYTHON, "-c",
                           "x = [bytes(1000) for _ in range(5000)]"],
                          capture_output=True, text=True, env=env,
                          cwd=str(tmp_path), timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["header"]["samples"] > 0
