"""plumb.memory: the peak of a known amount held on a known line, a leak
per iteration found where it is made, totals, threads, the formats, the
decorator, and the errors a user meets."""
import json
import os
import subprocess
import sys
import threading

import pytest

import plumb

MB = 1_000_000


def hold_big(n):
    return [bytes(100_000) for _ in range(n)]  # HOLD_BIG


def hold_small(n):
    return [bytes(1_000) for _ in range(n)]  # HOLD_SMALL


def line_of(marker):
    with open(__file__, encoding="utf-8") as f:
        for number, text in enumerate(f, 1):
            if text.rstrip().endswith("# " + marker):
                return number
    raise AssertionError(marker)


def test_peak_of_200_mb_in_big_objects_is_within_5_percent_on_its_line():
    with plumb.memory() as m:
        data = hold_big(2000)  # 2000 x 100 033 bytes
        del data
    truth = 2000 * (100_000 + 33)
    assert m.peak_bytes == pytest.approx(truth, rel=0.05)
    top = m.top("peak", "line")[0]
    assert (top.file, top.line) == (__file__, line_of("HOLD_BIG"))
    assert top.self_bytes == pytest.approx(truth, rel=0.05)
    # everything was freed: little is left at the end
    assert m.end_bytes < 0.02 * truth
    assert m.allocated_bytes >= truth
    assert m.samples > 1000


def test_peak_of_200_mb_in_small_objects_is_within_5_percent_on_its_line():
    # 1 033-byte objects are each sampled with a chance of 6%: the
    # estimate rests on the sampling, about 12 000 samples
    with plumb.memory() as m:
        data = hold_small(200_000)
        del data
    truth = 200_000 * (1_000 + 33)
    assert m.peak_bytes == pytest.approx(truth, rel=0.05)
    top = m.top("peak", "line")[0]
    assert (top.file, top.line) == (__file__, line_of("HOLD_SMALL"))
    assert top.self_bytes == pytest.approx(truth, rel=0.05)
    # by function: hold_small holds it all, itself or (before 3.12) in
    # its list comprehension's frame
    by_function = {r.function: r for r in m.top("peak", "function")}
    assert by_function["hold_small"].line == 0
    assert by_function["hold_small"].total_bytes == pytest.approx(truth,
                                                                  rel=0.05)
    assert m.samples == pytest.approx(truth / m.sample_bytes, rel=0.2)


LEAKED = []


def leaky_step(i):
    LEAKED.append(bytearray(50_000))  # LEAK
    scratch = [str(k) for k in range(200)]
    return len(scratch)


def test_a_leak_per_iteration_is_held_at_the_end_on_its_line():
    LEAKED.clear()
    with plumb.memory() as m:
        for i in range(400):
            leaky_step(i)
    truth = 400 * (50_000 + 57)
    end = m.top("end", "line")
    assert (end[0].file, end[0].line) == (__file__, line_of("LEAK"))
    assert end[0].self_bytes == pytest.approx(truth, rel=0.05)
    assert m.end_bytes == pytest.approx(truth, rel=0.1)
    # the scratch lists came and went: allocated, not held
    allocated_lines = {(r.file, r.line) for r in m.top("allocated", "line")}
    assert (__file__, line_of("LEAK") + 1) in allocated_lines
    LEAKED.clear()


def test_every_allocation_with_sample_bytes_1():
    with plumb.memory(sample_bytes=1) as m:
        data = [bytearray(10_000) for _ in range(100)]
        del data
    assert m.samples >= 0.95 * m.allocations
    assert m.peak_bytes >= 100 * 10_000
    assert m.peak_bytes < 100 * 10_000 * 1.05


def test_allocations_of_other_threads_are_recorded_with_their_stacks():
    def worker():
        keep = hold_big(300)  # noqa: F841
        barrier.wait()
        barrier.wait()

    barrier = threading.Barrier(2)
    with plumb.memory() as m:
        t = threading.Thread(target=worker)
        t.start()
        barrier.wait()
        barrier.wait()
        t.join()
    top = m.top("peak", "line")[0]
    assert top.line == line_of("HOLD_BIG")
    assert m.peak_bytes == pytest.approx(300 * 100_033, rel=0.05)


def test_timeline_and_figures():
    with plumb.memory() as m:
        data = hold_big(500)
        del data
    points = m.timeline
    assert points[0][0] == 0 and len(points) >= 2
    assert all(a[0] <= b[0] for a, b in zip(points, points[1:]))
    assert max(p[2] for p in points) > 0  # RSS read
    assert 0 <= m.peak_s <= m.duration
    assert m.peak_rss_bytes > 0
    assert m.python.startswith("CPython 3.")
    assert "peak" in repr(m) and "samples" in repr(m)


def test_formats():
    with plumb.memory() as m:
        data = hold_big(200)
        del data
    collapsed = m.collapsed()
    lines = collapsed.splitlines()
    assert lines and all(line.rsplit(" ", 1)[1].isdigit() for line in lines)
    assert any(f"hold_big ({__file__}:{line_of('HOLD_BIG')})" in line
               for line in lines)
    assert all(line.startswith("python heap;") for line in lines)
    doc = json.loads(m.speedscope("allocated"))
    assert doc["$schema"].startswith("https://www.speedscope.app/")
    assert {p["unit"] for p in doc["profiles"]} == {"bytes"}
    assert sum(sum(p["weights"]) for p in doc["profiles"]) == \
        pytest.approx(m.allocated_bytes, rel=0.1)
    record = json.loads(m.json())
    assert record["kind"] == "mem"
    assert record["header"]["peak_bytes"] == m.peak_bytes
    with pytest.raises(ValueError, match="'peak', 'allocated' or 'end'"):
        m.collapsed("everything")


def test_save_picks_the_format_from_the_name(tmp_path):
    with plumb.memory() as m:
        hold_big(10)
    assert m.save(tmp_path / "m.collapsed") == "collapsed"
    assert m.save(tmp_path / "m.speedscope.json") == "speedscope"
    assert m.save(tmp_path / "m.json") == "json"
    assert m.save(tmp_path / "m.txt") == "text"
    assert "peak" in (tmp_path / "m.txt").read_text().lower()
    with pytest.raises(ValueError, match="cannot tell the format"):
        m.save(tmp_path / "m.bin")


def test_decorator_keeps_the_last_call_and_nested_calls_run_unrecorded():
    @plumb.memory
    def build(n):
        return hold_big(n)

    assert build.memory is None
    build(50)
    first = build.memory
    assert first.peak_bytes == pytest.approx(50 * 100_033, rel=0.05)
    build(100)
    assert build.memory is not first
    assert build.memory.peak_bytes == pytest.approx(100 * 100_033, rel=0.05)
    with plumb.memory() as outer:
        build(30)
    assert outer.peak_bytes == pytest.approx(30 * 100_033, rel=0.05)


def test_errors():
    with plumb.memory():
        with pytest.raises(plumb.MemoryRecordError,
                           match="running already"):
            with plumb.memory():
                pass
    m = plumb.memory()
    with pytest.raises(plumb.MemoryRecordError, match="not been taken"):
        m.peak_bytes
    with m:
        with pytest.raises(plumb.MemoryRecordError, match="still being"):
            m.peak_bytes
    with pytest.raises(plumb.MemoryRecordError, match="taken already"):
        with m:
            pass
    with pytest.raises(ValueError, match="sample_bytes must be"):
        plumb.memory(sample_bytes=0)
    with pytest.raises(TypeError, match="sample_bytes"):
        plumb.memory(sample_bytes=1.5)
    with pytest.raises(TypeError, match="decorates a function"):
        plumb.memory()(42)
    with pytest.raises(plumb.MemoryRecordError, match="plumb mem --native"):
        with plumb.memory(native=True):
            pass
    # the failed start left nothing running
    with plumb.memory() as m:
        pass
    assert m.peak_bytes >= 0


def squares_list(n):
    return sum([i * i for i in range(n)])


def squares_generator(n):
    return sum(i * i for i in range(n))


def test_compare_reports_peak_memory_as_a_compared_metric():
    c = plumb.compare(squares_list, squares_generator, args=(100_000,),
                      budget=0.2, memory=True)
    mem = c.memory
    assert mem.verdict == "less" and mem.significant
    assert mem.words == "less peak memory"
    # every allocation is recorded: the list's 100 000 ints and its array
    # are there in each call, the generator holds a frame
    assert all(p >= 100_000 * 8 for p in mem.baseline_peaks)
    assert all(p < 10_000 for p in mem.candidate_peaks)
    assert len(mem.baseline_peaks) == len(mem.candidate_peaks) == 5
    assert mem.factor > 100 and mem.factor_low <= mem.factor <= \
        mem.factor_high
    assert "x less peak memory [" in repr(c)
    same = plumb.compare(squares_list, squares_list, args=(1000,),
                         budget=0.1, memory=True, memory_rounds=3)
    assert not same.memory.significant
    assert "no significant difference in peak memory" in repr(same.memory)


def test_compare_memory_errors():
    with pytest.raises(ValueError, match="memory_rounds must be"):
        plumb.compare(squares_list, squares_generator, args=(10,),
                      memory=True, memory_rounds=1)
    with pytest.raises(TypeError, match="memory must be True or False"):
        plumb.compare(squares_list, squares_generator, args=(10,),
                      memory="yes")
    with plumb.memory():
        with pytest.raises(plumb.MemoryRecordError,
                           match="cannot while another recording runs"):
            plumb.compare(squares_list, squares_generator, args=(10,),
                          budget=0.05, memory=True)


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
SHIM = os.environ.get("PLUMB_NATIVE_LIB",
                      os.path.join(ROOT, "build", "libplumb-native.so"))

NATIVE_PROGRAM = '''
import plumb, numpy
with plumb.memory(native=True) as m:
    a = numpy.ones(10_000_000)  # NUMPY
    del a
with plumb.memory() as p:
    b = numpy.ones(10_000_000)
    del b
# numpy.ones is Python code that calls C: the innermost line is numpy's,
# the script's line holds it all (total)
mine = [r for r in m.top("peak", "line") if r.file == __file__]
print(m.peak_bytes, mine[0].line, mine[0].total_bytes, p.peak_bytes)
print(m.collapsed().splitlines()[0])
'''


def test_native_allocations_of_numpy_are_recorded_on_their_line(tmp_path):
    assert os.path.exists(SHIM), f"{SHIM} is missing: run make"
    script = tmp_path / "native.py"
    script.write_text(NATIVE_PROGRAM)
    env = dict(os.environ, LD_PRELOAD=SHIM,
               PYTHONPATH=os.path.join(ROOT, "python"))
    out = subprocess.run([sys.executable, str(script)], env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    first, collapsed = out.stdout.splitlines()
    native_peak, line, line_total, python_peak = map(int, first.split())
    assert native_peak == pytest.approx(80_000_000, rel=0.05)
    assert line == 4
    assert line_total == pytest.approx(80_000_000, rel=0.05)
    # without native=True numpy's buffer is not Python's heap
    assert python_peak < 1_000_000
    assert collapsed.startswith("native heap;<module> (")
