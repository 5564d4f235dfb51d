"""plumb.profile: this process sampled by libplumb's sampler on a thread of
its own. The workloads split their CPU time by construction (thread_time,
which the sampler's own thread does not add to), so the shares the profile
reports are checked against known values; the formats are checked against
their specifications; the sampler thread is looked for in /proc and must
be gone whenever a profile has ended, however it ended."""
import asyncio
import glob
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

import plumb
from plumb import _core, _profile

PACKAGE_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..",
                                            "..", "python"))


def spend(seconds):
    """Busy for `seconds` of this thread's CPU time."""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def seventy():
    spend(0.014)


def thirty():
    spend(0.006)


def split(rounds=75):
    """70/30 of the CPU time between seventy and thirty, in 20 ms rounds:
    on a busy machine the sampler waits its turn and samples in bursts;
    many short rounds keep a burst from favouring either function."""
    for _ in range(rounds):
        seventy()
        thirty()


def rest(seconds):
    time.sleep(seconds)


def compute(seconds):
    spend(seconds)


def sampler_threads():
    """Ids of this process's threads named plumb-sampler."""
    found = []
    for tid in os.listdir("/proc/self/task"):
        try:
            with open(f"/proc/self/task/{tid}/comm") as f:
                if f.read().strip() == "plumb-sampler":
                    found.append(int(tid))
        except FileNotFoundError:
            pass
    return found


def shares(p):
    """function name (qualified names by their last part) -> total share
    (%) of the recorded stacks."""
    doc = json.loads(p.json())
    total = doc["header"]["thread_samples"]
    assert total > 0
    out = {}
    for f in doc["functions"]:
        name = f["function"].rsplit(".", 1)[-1]
        out[name] = max(out.get(name, 0), 100.0 * f["total"] / total)
    return out


def run_python(code, timeout=60):
    """Runs code in a fresh interpreter that imports plumb from here."""
    env = dict(os.environ, PYTHONPATH=PACKAGE_ROOT)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)],
                          env=env, capture_output=True, text=True,
                          timeout=timeout)


# ---- what the profile says ------------------------------------------------


def test_cpu_shares_match_the_split_by_construction():
    with plumb.profile(rate=4000, mode="cpu") as p:
        split()
    s = shares(p)
    assert abs(s["seventy"] - 70) < 5, s
    assert abs(s["thirty"] - 30) < 5, s
    # the body is all of it: the sampler's own thread never shows
    assert p.threads_seen == 1
    assert [t.label for t in p.threads] == \
        [f"main thread (tid {threading.get_native_id()})"]
    assert "plumb-sampler" not in p.collapsed()


def test_figures_describe_the_session():
    t0 = time.perf_counter()
    with plumb.profile(rate=2000) as p:
        spend(0.3)
    elapsed = time.perf_counter() - t0
    assert p.pid == os.getpid()
    assert p.mode == "cpu" and p.rate_hz == 2000
    v = sys.version_info
    assert p.python == f"CPython {v.major}.{v.minor}.{v.micro}"
    assert 0.25 < p.duration <= elapsed
    assert p.duration_ns == pytest.approx(p.duration * 1e9)
    assert p.samples > 50 and p.dropped >= 0
    assert p.achieved_hz == pytest.approx(p.samples / p.duration)
    assert p.thread_samples <= p.samples
    assert p.idle >= 0
    assert "samples" in repr(p) and "cpu 2000 Hz" in repr(p)


def test_print_is_the_summary_of_plumb_profile():
    with plumb.profile() as p:
        split(20)
    text = str(p)
    assert text == p.summary()
    first = text.splitlines()[0]
    assert first.startswith("plumb profile · CPython ")
    assert f"pid {os.getpid()} · cpu mode" in first
    assert re.search(r"^\d+ samples in .* Hz achieved, 2000 Hz asked\) · "
                     r"\d+ dropped", text, re.M)
    assert "Top functions" in text and "Top lines" in text
    # by self, the line spend() loops on comes first
    lines = text[text.index("Top lines"):].splitlines()
    assert re.fullmatch(r"\s+\d+\.\d% +\d+\.\d%  .*test_profile\.py:\d+  spend",
                        lines[1]), lines[1]
    assert "seventy  (" in p.summary(top=100)
    # top limits the rows of each table
    short = p.summary(top=1)
    assert "more" in short and len(short) < len(text)
    # the hints name this API's arguments, not the command line's options
    assert "more (summary(top=N), or a flame graph: collapsed() / " \
        "speedscope())" in short
    assert "--top" not in short and "--format" not in short
    with pytest.raises(ValueError):
        p.summary(top=0)


def test_wall_mode_sees_a_sleep_and_cpu_mode_does_not():
    with plumb.profile(mode="wall") as wall:
        rest(0.4)
    with plumb.profile(mode="cpu") as cpu:
        for _ in range(10):
            compute(0.03)
            rest(0.03)
    assert wall.mode == "wall"
    assert shares(wall)["rest"] > 90
    s = shares(cpu)
    assert s.get("rest", 0) < 5, s
    assert s["compute"] > 90, s
    assert cpu.idle > 0  # the sleeping ticks, skipped


def test_a_thread_started_inside_the_block_is_seen():
    def worker():
        spend(0.4)

    with plumb.profile() as p:
        t = threading.Thread(target=worker, name="worker")
        t.start()
        t.join()
    worker_lines = [line for line in p.collapsed().splitlines()
                    if ";test_a_thread_started_inside_the_block_is_seen."
                       "<locals>.worker (" in line
                    or ";worker (" in line]
    assert worker_lines, p.collapsed()
    assert all(line.startswith("thread (tid ") for line in worker_lines)
    assert p.threads_seen == 2


# ---- formats ---------------------------------------------------------------


def test_collapsed_lines_are_frames_and_a_count():
    with plumb.profile() as p:
        split(20)
    lines = p.collapsed().splitlines()
    assert lines
    total = 0
    for line in lines:
        m = re.fullmatch(r"([^;]+(?:;[^;]+)+) (\d+)", line)
        assert m, line
        frames = m.group(1).split(";")
        assert frames[0].startswith("main thread (tid ")
        assert all(re.fullmatch(r".+ \(.*:\d+\)", f) for f in frames[1:]), \
            line
        total += int(m.group(2))
    assert total == p.thread_samples
    assert any(";seventy (" in line and line.split(";")[-1].startswith(
        "spend (") for line in lines)


def test_speedscope_follows_its_schema():
    with plumb.profile() as p:
        split(20)
    doc = json.loads(p.speedscope())
    assert doc["$schema"] == \
        "https://www.speedscope.app/file-format-schema.json"
    assert doc["name"] == p.python
    frames = doc["shared"]["frames"]
    assert any(f["name"] == "seventy" for f in frames)
    assert doc["profiles"]
    weight = 0
    for prof in doc["profiles"]:
        assert prof["type"] == "sampled"
        assert len(prof["samples"]) == len(prof["weights"])
        assert all(0 <= i < len(frames) for s in prof["samples"] for i in s)
        weight += sum(prof["weights"])
    assert weight == p.thread_samples
    assert json.loads(p.speedscope(name="mine"))["name"] == "mine"


def test_json_is_the_documented_profile_document():
    with plumb.profile(mode="wall") as p:
        split(20)
    doc = json.loads(p.json())
    assert doc["kind"] == "profile"
    assert doc["schema_version"] == 1 and doc["tool"] == "plumb"
    assert doc["plumb_version"] == plumb.__version__
    h = doc["header"]
    assert h["pid"] == os.getpid() and h["mode"] == "wall"
    assert h["command"] is None  # taken from inside: no command to name
    assert h["samples"] == p.samples and h["dropped"] == p.dropped
    assert h["python"] == p.python
    assert sum(s["count"] for s in doc["stacks"]) == h["thread_samples"]
    assert sum(f["self"] for f in doc["functions"]) == h["thread_samples"]


def test_save_infers_the_format_from_the_name(tmp_path):
    with plumb.profile() as p:
        split(20)
    cases = {"p.txt": ("text", p.summary()),
             "p.collapsed": ("collapsed", p.collapsed()),
             "p.folded": ("collapsed", p.collapsed()),
             "p.speedscope.json": ("speedscope", p.speedscope()),
             "p.json": ("json", p.json())}
    for name, (fmt, text) in cases.items():
        assert p.save(tmp_path / name) == fmt
        assert (tmp_path / name).read_text(encoding="utf-8") == text
    assert p.save(str(tmp_path / "out.data"), format="collapsed") == \
        "collapsed"
    assert (tmp_path / "out.data").read_text() == p.collapsed()
    assert p.save(tmp_path / "short.txt", top=1) == "text"
    assert (tmp_path / "short.txt").read_text() == p.summary(top=1)
    with pytest.raises(ValueError, match="cannot tell the format"):
        p.save(tmp_path / "p.bin")
    with pytest.raises(ValueError, match="format must be one of"):
        p.save(tmp_path / "p.txt", format="html")


# ---- the decorator -----------------------------------------------------------


def test_bare_decorator_keeps_the_last_calls_profile():
    @plumb.profile
    def work(n):
        spend(0.05 * n)
        return n * 2

    assert work.__name__ == "work" and work.profile is None
    assert work(2) == 4
    first = work.profile
    assert first.samples > 0 and first.mode == "cpu"
    assert "work" in shares(first)
    work(1)
    assert work.profile is not first


def test_decorator_with_options():
    @plumb.profile(rate=1000, mode="wall")
    def nap():
        rest(0.2)

    nap()
    assert nap.profile.mode == "wall" and nap.profile.rate_hz == 1000
    assert shares(nap.profile)["rest"] > 80


def test_decorated_recursion_and_calls_inside_a_block_run_unprofiled():
    @plumb.profile
    def fact(n):
        return 1 if n <= 1 else n * fact(n - 1)

    assert fact(20) == 2432902008176640000
    assert fact.profile is not None  # the outer call's
    assert sampler_threads() == []

    @plumb.profile
    def inner():
        spend(0.05)

    with plumb.profile() as p:
        inner()
    assert inner.profile is None  # the block's profile covers it
    assert "inner" in shares(p)


def test_decorated_coroutine_is_profiled_across_its_awaits():
    @plumb.profile(mode="wall")
    async def job():
        await asyncio.sleep(0.1)
        spend(0.05)
        return "done"

    assert asyncio.run(job()) == "done"
    assert job.profile.duration >= 0.1
    assert "job" in shares(job.profile)


def test_decorated_function_that_raises_keeps_its_profile():
    @plumb.profile
    def broken():
        spend(0.05)
        raise KeyError("x")

    with pytest.raises(KeyError):
        broken()
    assert broken.profile.samples > 0
    assert sampler_threads() == []


# ---- errors and the sampler thread's life ---------------------------------


@pytest.mark.parametrize("rate", [0, -5, 2_000_000])
def test_rate_out_of_range(rate):
    with pytest.raises(ValueError, match="rate must be more than 0"):
        plumb.profile(rate=rate)


@pytest.mark.parametrize("rate", ["fast", True, None])
def test_rate_not_a_number(rate):
    with pytest.raises(TypeError, match="samples per second"):
        plumb.profile(rate=rate)


def test_mode_must_be_cpu_or_wall():
    with pytest.raises(ValueError, match="'cpu'.*'wall'.*not 'gpu'"):
        plumb.profile(mode="gpu")


def test_options_are_keywords():
    with pytest.raises(TypeError, match="options go by keyword"):
        plumb.profile(1000)


def test_a_profile_inside_a_profile_is_refused():
    with plumb.profile() as outer:
        with pytest.raises(plumb.ProfileError, match="running already"):
            with plumb.profile():
                pass
        assert len(sampler_threads()) == 1
        spend(0.05)
    assert outer.samples > 0
    assert sampler_threads() == []


def test_reading_before_or_during_the_block_says_when_to_read():
    p = plumb.profile()
    with pytest.raises(plumb.ProfileError, match="has not been taken"):
        p.samples
    with p:
        with pytest.raises(plumb.ProfileError, match="still being taken"):
            p.summary()
    assert p.samples >= 0
    with pytest.raises(plumb.ProfileError, match="taken already"):
        with p:
            pass


def test_the_sampler_thread_changes_nothing_of_the_program():
    policy = os.sched_getscheduler(0)
    with open("/proc/self/timerslack_ns") as f:
        slack = f.read()
    before = set(os.listdir("/proc/self/task"))
    with plumb.profile():
        spend(0.1)
        (tid,) = sampler_threads()
        # only the sampler has a short timer slack; nobody's policy changes
        with open(f"/proc/{tid}/timerslack_ns") as f:
            assert int(f.read()) == 1000
        assert os.sched_getscheduler(tid) == policy
        assert os.sched_getscheduler(0) == policy
        with open("/proc/self/timerslack_ns") as f:
            assert f.read() == slack
        # and it takes no signal: Ctrl-C is the program's
        with open(f"/proc/self/task/{tid}/status") as f:
            blocked = int(re.search(r"^SigBlk:\s*([0-9a-f]+)", f.read(),
                                    re.M).group(1), 16)
        assert blocked & (1 << (signal.SIGINT - 1))
        assert blocked & (1 << (signal.SIGTERM - 1))
    assert sampler_threads() == []
    assert set(os.listdir("/proc/self/task")) == before


def test_an_exception_in_the_body_stops_the_sampler_and_propagates():
    with pytest.raises(ZeroDivisionError):
        with plumb.profile() as p:
            spend(0.05)
            1 / 0
    assert sampler_threads() == []
    assert p.samples > 0


def test_ctrl_c_in_the_body_stops_the_sampler():
    main = threading.get_ident()
    timer = threading.Timer(0.2, signal.pthread_kill, (main, signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            with plumb.profile() as p:
                spend(30)
    finally:
        timer.cancel()
    assert sampler_threads() == []
    assert 0.1 < p.duration < 5
    assert "spend" in shares(p)


def test_ctrl_c_to_the_process_reaches_python(tmp_path):
    # SIGINT sent to the process (not a thread), as a terminal does: the
    # sampler thread blocks it, so the program's handler runs.
    proc = run_python("""
        import os, signal, threading, time, plumb
        def spin():
            end = time.thread_time() + 30
            while time.thread_time() < end: pass
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        try:
            with plumb.profile() as p:
                spin()
        except KeyboardInterrupt:
            print("interrupted", p.samples > 0)
    """)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "interrupted True"


def test_exit_while_profiling_stops_cleanly():
    # A block never left: sys.exit inside it, a profile entered by hand
    # and never ended, a daemon thread still running Python.
    proc = run_python("""
        import sys, threading, time, plumb
        def spin():
            while True: sum(range(100))
        threading.Thread(target=spin, daemon=True).start()
        p = plumb.profile(mode="wall").__enter__()
        time.sleep(0.1)
        print("exiting", flush=True)
        sys.exit(3)
    """)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "exiting\n" and proc.stderr == ""
    proc = run_python("""
        import sys, plumb
        with plumb.profile():
            sys.exit(0)
    """)
    assert proc.returncode == 0 and proc.stderr == ""


def test_fork_inside_the_block_does_not_hang_the_child():
    proc = run_python("""
        import os, time, plumb
        def spin(s):
            end = time.thread_time() + s
            while time.thread_time() < end: pass
        with plumb.profile() as p:
            spin(0.05)
            pid = os.fork()
            if pid == 0:
                spin(0.05)
        if pid == 0:
            try:
                p.samples
            except plumb.ProfileError as e:
                print("child:", e, flush=True)
            # the child may take its own
            with plumb.profile() as q:
                spin(0.1)
            print("child profile:", q.samples > 0, q.pid == os.getpid(),
                  flush=True)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        print("parent:", p.samples > 0, status, flush=True)
    """, timeout=30)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.splitlines()
    assert out[0].startswith("child: plumb.profile: no samples in this "
                             "process: ")
    assert "is a fork of it" in out[0]
    assert "Start a plumb.profile() in the child" in out[0]
    assert out[1] == "child profile: True True"
    assert out[2] == "parent: True 0"


def unsupported_interpreter():
    for pattern in ("/root/.pyenv/versions/3.7.*/bin/python3",
                    "/root/.pyenv/versions/3.6.*/bin/python3"):
        found = sorted(glob.glob(pattern))
        if found:
            return found[-1]
    return None


def test_an_unsupported_python_is_a_clear_error(monkeypatch):
    # The library's own refusal, reached through the public API: the
    # sampler pointed at an interpreter plumb does not read.
    python = unsupported_interpreter()
    if python is None:
        pytest.skip("no CPython 3.6 or 3.7 here")
    child = subprocess.Popen(
        [python, "-c", "import time; print('ready', flush=True); "
                       "time.sleep(30)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "ready\n"
        real = _core.profile_start
        monkeypatch.setattr(_profile._core, "profile_start",
                            lambda rate, mode: real(rate, mode, child.pid))
        with pytest.raises(plumb.ProfileError) as info:
            with plumb.profile():
                pass
        message = str(info.value)
        assert message.startswith("plumb.profile cannot sample this "
                                  "interpreter: Python 3.")
        assert "is not supported (supported: " in message
        assert message.endswith("Run the program with a CPython plumb "
                                "supports.")
        assert sampler_threads() == []
        assert _profile._active() is None
    finally:
        child.kill()
        child.wait()


def test_the_library_error_names_the_problem():
    # no such process: the sentence comes from libplumb
    with pytest.raises(_core.SamplerError) as info:
        _core.profile_start(4000.0, "cpu", 2 ** 22 + 12345)
    name, why = info.value.args
    assert name == "NOTFOUND" and why.startswith("no process with pid")
