"""plumb bench end to end, on real processes.

The machine these run on is a shared, noisy 2-core VM: each check on real
timings has a margin that holds there, and says why it is that wide."""
import json
import os
import sys

import pytest

from conftest import wall

PYTHON = os.environ.get("PYTHON", sys.executable)


def test_aa_reports_no_significant_difference(plumb):
    # The same command twice. A 3% minimum effect (instead of 1%) keeps a
    # scheduler hiccup on a loaded machine from reading as an effect. The
    # interval itself leaves 1.0 out in 5% of such runs by design (alpha
    # 0.05; that rate is checked on seeded samples in
    # tests/c/test_compare.c), so here only the verdict and the estimate
    # are held: the same command measures within the minimum effect of
    # itself.
    doc = plumb.bench_json("--runs", "20", "--min-effect", "3",
                           "sleep 0.02", "sleep 0.02")
    [cmp] = wall(doc)
    assert cmp["verdict"] == "no significant difference"
    assert 1 / 1.03 <= cmp["ratio"] <= 1.03


def test_half_the_sleep_is_about_twice_as_fast(plumb):
    doc = plumb.bench_json("--runs", "15", "sleep 0.1", "sleep 0.05")
    [cmp] = wall(doc)
    assert cmp["verdict"] == "faster"
    assert cmp["p_value"] < 0.001
    # Each process also pays a fixed cost (exec, and sleep overshooting its
    # timer by ~1 ms here, several ms on a loaded machine), so the true ratio
    # of whole processes is under 2 (hyperfine measures 1.976 on this machine
    # when it is quiet; 1.86 was seen while a build ran beside the test). The
    # interval must hold the estimate and sit between 1.75 and 2.05.
    assert cmp["ci_low"] <= cmp["ratio"] <= cmp["ci_high"]
    assert 1.75 <= cmp["ci_low"] and cmp["ci_high"] <= 2.05
    text = plumb.run("compare", "1", "2", check=0).stdout
    assert "faster than sleep 0.1" in text


def test_every_run_has_the_kernels_accounting(plumb, tmp_path):
    out = tmp_path / "ten_mb"
    doc = plumb.bench_json(
        "--runs", "3", "--warmup", "0",
        f"{PYTHON} -c \"b = bytearray(200 * 1024 * 1024)\"",
        f"head -c 10485760 /dev/zero > {out}")
    alloc, write = doc["runs"]
    assert alloc["statistics"]["max_rss_bytes"]["min"] >= 200 * 1024 * 1024
    assert write["shell"] is True
    assert write["statistics"]["wchar_bytes"]["min"] >= 10 * 1024 * 1024
    for run in doc["runs"]:
        s = run["samples"][0]
        for key in ("wall_ns", "user_ns", "sys_ns", "minor_faults",
                    "voluntary_ctxsw", "rchar_bytes", "read_syscalls"):
            assert s[key] is not None, key
        assert s["exit_code"] == 0
        # counters are either measured or null, never a made-up 0
        assert s["instructions"] is None or s["instructions"] > 0
    # a child smaller than plumb itself cannot be told apart from the
    # memory it shared with plumb before exec: unavailable, not a wrong
    # figure
    assert write["samples"][0]["max_rss_bytes"] is None


def test_memory_and_io_get_verdicts_of_their_own(plumb, tmp_path):
    big = f"{PYTHON} -c \"b = bytearray(150 * 1024 * 1024)\""
    small = f"{PYTHON} -c \"b = bytearray(30 * 1024 * 1024)\""
    doc = plumb.bench_json("--runs", "6", big, small)
    [rss] = wall(doc, "max_rss_bytes")
    assert rss["verdict"] == "less"
    assert rss["ratio"] > 2
    quiet = "true"
    noisy = f"head -c 4194304 /dev/zero > {tmp_path / 'out'}"
    doc = plumb.bench_json("--runs", "6", noisy, quiet)
    [written] = wall(doc, "wchar_bytes")
    assert written["verdict"] == "less"


def test_shell_is_used_only_when_needed_and_priced(plumb):
    doc = plumb.bench_json("--runs", "3", "true", "true | cat")
    plain, piped = doc["runs"]
    assert plain["shell"] is False and plain["shell_overhead_ns"] == 0
    assert piped["shell"] is True and piped["shell_overhead_ns"] > 0
    assert doc["session"]["overhead_ns"] > 0


def test_param_scan_fits_linear_growth(plumb):
    # a 64-fold range: n and n log n part clearly even when a loaded
    # machine adds a few milliseconds here and there
    doc = plumb.bench_json("--runs", "5", "--param", "ms=10,40,160,640",
                           "sleep {ms}e-3")
    assert [r["params"]["ms"] for r in doc["runs"]] == \
        ["10", "40", "160", "640"]
    [fit] = doc["fits"]
    assert fit["order"] == "O(n)"
    # slope: 1 ms of wall per unit of ms, within 10%
    assert abs(fit["b"] / 1e6 - 1.0) < 0.1


def test_param_scan_finds_the_crossover(plumb):
    # "sleep 0.03" is flat; "sleep {ms}e-3" grows: they cross near 30.
    doc = plumb.bench_json("--runs", "5", "--param", "ms=10,20,40,60",
                           "-n", "flat", "-n", "growing",
                           "sleep 0.03 # {ms}", "sleep {ms}e-3")
    assert doc["crossovers"], doc["fits"]
    assert 22 <= doc["crossovers"][0]["n"] <= 38


def test_compare_param_compares_values(plumb):
    doc = plumb.bench_json("--runs", "8", "--param", "s=0.02,0.04",
                           "--compare-param", "s", "sleep {s}")
    [cmp] = wall(doc)
    assert doc["runs"][cmp["baseline"]]["params"]["s"] == "0.02"
    assert doc["runs"][cmp["candidate"]]["params"]["s"] == "0.04"
    assert cmp["verdict"] == "slower"


def test_exports_and_history(plumb, tmp_path):
    j, m, c = (tmp_path / "r.json", tmp_path / "r.md", tmp_path / "r.csv")
    proc = plumb.run("bench", "--runs", "5", "-n", "A", "-n", "B",
                     "--export-json", str(j), "--export-markdown", str(m),
                     "--export-csv", str(c), "sleep 0.01", "sleep 0.02",
                     check=0)
    assert "stored as session 1" in proc.stderr
    doc = json.loads(j.read_text())
    assert doc["schema_version"] == 1
    for key in ("ratio", "ci_low", "ci_high", "p_value", "verdict"):
        assert key in doc["comparisons"][0]
    assert "**B**" in m.read_text()
    assert c.read_text().splitlines()[0].startswith("name,command")
    runs = plumb.run("runs", check=0).stdout
    assert " A" in runs and " B" in runs
    show = plumb.run("show", "2", check=0).stdout
    assert "B" in show and "median" in show
    assert "no run 99" in plumb.run("show", "99", check=1).stderr


def test_text_output_has_no_colour_off_a_terminal(plumb):
    proc = plumb.run("bench", "--runs", "3", "--no-store", "true", "true",
                     check=0)
    assert "\033[" not in proc.stdout
    assert "median" in proc.stdout
    coloured = plumb.run("bench", "--runs", "3", "--no-store",
                         "--color", "always", "true", check=0)
    assert "\033[" in coloured.stdout


def test_colour_and_progress_on_a_terminal_respect_no_color(plumb):
    # `script` gives plumb a pseudo-terminal, as an interactive shell would
    import shutil
    import subprocess
    if not shutil.which("script"):
        import pytest
        pytest.skip("util-linux script is not installed")
    from conftest import PLUMB

    def on_tty(extra_env):
        env = plumb.env()
        env.update(extra_env)
        cmd = f"{PLUMB} bench --no-store --runs 3 'sleep 0.01'"
        return subprocess.run(["script", "-qec", cmd, "/dev/null"],
                              capture_output=True, text=True, env=env,
                              timeout=60, stdin=subprocess.DEVNULL).stdout

    coloured = on_tty({})
    assert "\033[1m" in coloured          # bold headline on a terminal
    assert "ETA" in coloured              # the progress bar, on stderr
    plain = on_tty({"NO_COLOR": "1"})
    assert "\033[1m" not in plain and "\033[32m" not in plain
    assert "median" in plain


@pytest.mark.parametrize("sub", ["bench", "runs", "show", "compare",
                                 "profile"])
def test_help_text_is_printed_as_written(plumb, sub):
    """Help texts go out with fputs: no printf escapes may show."""
    proc = plumb.run(sub, "--help", check=0)
    assert "usage" in proc.stdout.lower()
    assert "%%" not in proc.stdout
