#!/usr/bin/python3
"""plumb profile's overhead against cProfile, yappi and Scalene, in one run.

For each workload in bench/workloads/ (pure Python, about 1.5 s each on
this VM's /usr/bin/python3) this runs `plumb bench` twice, so the
machine's noise hits every command alike (plumb bench runs the commands in
a random order each round):

  1. the plain program against the same program under
     `plumb profile -o /dev/null` at the default rate (--runs N each);
  2. the plain program against it under cProfile, yappi and Scalene
     (--peer-runs N each; they are slow, so fewer runs).

Two figures per tool, both from the same runs:

  - plumb bench's own verdict: the ratio of the medians of wall time, its
    95% CI from the bootstrap ([1/ci_high, 1/ci_low], plumb bench's ratio
    being baseline/candidate). It treats the two sets of runs as
    independent, so when the machine's speed drifts during the session
    (these VMs drift by 20-50% over minutes) the interval is wide;
  - the paired slowdown: plumb bench runs every command once per round, in
    a random order, so the i-th run of each command shares its round and
    its stretch of machine speed. The median of the per-round ratios
    tool/plain with its distribution-free 95% CI (order statistics of the
    ratios, binomial ranks) removes the drift that hits both;
  - the same rounds through the Hodges-Lehmann estimate with its Wilcoxon
    signed-rank CI (on the log ratios), printed beside it as a second
    view. The random order of every round makes the noise in a round's log
    ratio symmetric, which is all this CI assumes; it is the narrower one
    for noise like a normal's, the sign test for heavy tails (this VM's
    two speeds give both kinds of run: on textproc, 300 rounds, the sign
    test's CI was 1.003-1.023 and this one's 0.999-1.032).

The goal (issue 3) is that plumb's slowdown CI stays below 3% on every
workload; it is judged on the sign test's paired CI, fixed before any run
was made: PASS/FAIL (the script exits 1 on FAIL).

Part of plumb's cost is paid once per session, whatever the program's
length: starting plumb and the program under it, and storing the profile
at the end. It is measured apart, on `python -c pass` (plain, under
`plumb profile --no-store` and under `plumb profile`, paired by round like
the workloads: the median of the per-round differences in ms and its sign
test CI), and printed as a share of each workload's plain time; what the
workloads' slowdown has beyond it is the cost of sampling.

Then, on one workload: the highest rate the sampler sustains (the "Hz
achieved" of `plumb profile --rate R` for R = 10k..100k), and plumb's own CPU
use at the default rate, attached to a running workload for --duration
seconds (CPU seconds of the plumb process per second of sampling, from its
rusage).

Peers missing from this Python are skipped, saying so (Debian:
apt-get install python3-yappi python3-scalene).

Usage: /usr/bin/python3 bench/profile_overhead.py [--plumb build/plumb]
           [--runs 300] [--peer-runs 6] [--python /usr/bin/python3]
(about 65 minutes with the defaults)
"""
import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
WORKLOADS = os.path.join(HERE, "workloads")
# workload file, argument that makes it run much longer (for attaching)
WORKLOAD_FILES = ["nbody.py", "textproc.py", "richards.py"]
# (own_cpu samples it for --duration s after 0.5 s, so it must outlast both)
LONG_ARG = {"nbody.py": "4000000", "textproc.py": "600", "richards.py": "800"}
GOAL = 1.03


def has_module(python, module):
    return subprocess.run([python, "-c", f"import {module}"],
                          stdout=subprocess.DEVNULL,
                          stderr=subprocess.DEVNULL).returncode == 0


def bench(plumb, commands, runs, env, warmup=1):
    """commands: [(name, command line)], the first is the baseline.
    Returns the JSON document of plumb bench."""
    args = [plumb, "bench", "--no-store", "--no-progress", "--runs",
            str(runs), "--warmup", str(warmup), "--ignore-failure", "--shell",
            "none", "--export-json", "-"]
    for name, _ in commands:
        args += ["--name", name]
    args += [cmd for _, cmd in commands]
    proc = subprocess.run(args, capture_output=True, text=True, env=env,
                          stdin=subprocess.DEVNULL)
    if proc.returncode != 0:
        sys.exit(f"plumb bench failed ({proc.returncode}): {proc.stderr}")
    return json.loads(proc.stdout)


def median_ci(values, level=0.95):
    """The median of values and its distribution-free CI [x(k), x(n-k+1)],
    k the largest rank with P(Binomial(n, 1/2) < k) <= (1 - level) / 2
    (the sign test's); None bounds when there are too few values for that
    level, (None, None, None) without values."""
    x = sorted(values)
    n = len(x)
    if n == 0:
        return None, None, None
    cdf, k = 0.0, 0
    while True:
        p = math.comb(n, k) / 2 ** n
        if cdf + p > (1 - level) / 2:
            break
        cdf += p
        k += 1
    if k == 0:
        return statistics.median(x), None, None
    return statistics.median(x), x[k - 1], x[n - k]


def paired(base, cand, level=0.95):
    """Median of the per-round ratios cand/base and its distribution-free CI
    (median_ci)."""
    return median_ci([c / b for b, c in zip(base, cand)
                      if b is not None and c is not None and b > 0], level)


def signed_rank_counts(n):
    """counts[t] = how many of the 2**n sign patterns give the Wilcoxon
    signed-rank statistic t (exact distribution, for small n)."""
    counts = [1]
    for rank in range(1, n + 1):
        new = counts + [0] * rank
        for t, c in enumerate(counts):
            new[t + rank] += c
        counts = new
    return counts


def hodges_lehmann(base, cand, level=0.95):
    """Hodges-Lehmann estimate of the per-round ratio cand/base and its
    Wilcoxon signed-rank CI: the median of the Walsh averages of the log
    ratios, and the k-th smallest and largest of them, exp'd back. It
    assumes the log ratios are symmetric about the true slowdown, which
    the random order of every round provides (the machine's drift is as
    likely to hit the plain run as the profiled one); it then needs about
    two thirds of the rounds the sign test needs for the same width.
    (None, None, None) without enough rounds."""
    d = [math.log(c / b) for b, c in zip(base, cand)
         if b is not None and c is not None and b > 0 and c > 0]
    n = len(d)
    if n == 0:
        return None, None, None
    walsh = sorted((d[i] + d[j]) / 2 for i in range(n) for j in range(i, n))
    m = len(walsh)
    alpha = (1 - level) / 2
    if n <= 60:
        # k: the largest count with P(T < k) <= alpha
        counts, total = signed_rank_counts(n), 2.0 ** n
        cdf, k = 0.0, 0
        while cdf + counts[k] / total <= alpha:
            cdf += counts[k] / total
            k += 1
    else:
        z = statistics.NormalDist().inv_cdf(1 - alpha)
        k = int(n * (n + 1) / 4 - z * math.sqrt(n * (n + 1) * (2 * n + 1)
                                                / 24))
    est = math.exp(statistics.median(walsh))
    if k == 0:
        return est, None, None
    return est, math.exp(walsh[k - 1]), math.exp(walsh[m - k])


def walls_of(run):
    """A run's wall times in ns, round by round; None for a failed round."""
    return [x["wall_ns"] if not x["exit_code"] else None
            for x in run["samples"]]


def rows_of(doc, workload):
    runs = doc["runs"]
    base = runs[0]["statistics"]["wall_ns"]["median"] / 1e9
    rows = []
    for c in doc["comparisons"]:
        if c["metric"] != "wall_ns":
            continue
        run = runs[c["candidate"]]
        base_run = runs[c["baseline"]]
        base_walls, walls = walls_of(base_run), walls_of(run)
        p_med, p_lo, p_hi = paired(base_walls, walls)
        hl = hodges_lehmann(base_walls, walls)
        ratio, lo, hi = c["ratio"], c["ci_low"], c["ci_high"]
        slow = 1 / ratio if ratio else None
        ci = (1 / hi if hi else None, 1 / lo if lo else None)
        verdict = c["verdict"]
        if run["failures"]:
            verdict += f" ({run['failures']}/{run['n_samples']} runs failed)"
        rows.append({"workload": workload, "tool": c["candidate_name"],
                     "base_s": base,
                     "median_s": run["statistics"]["wall_ns"]["median"] / 1e9,
                     "slowdown": slow, "ci": ci, "verdict": verdict,
                     "paired": (p_med, p_lo, p_hi), "hl": hl,
                     "failures": run["failures"]})
    return rows


def fmt_x(x):
    return "   n/a" if x is None else f"{x:6.3f}"


def print_row(r):
    lo, hi = r["ci"]
    p_med, p_lo, p_hi = r["paired"]
    h_est, h_lo, h_hi = r["hl"]
    print(f"{r['workload']:<12} {r['tool']:<9} {r['base_s']:8.3f} "
          f"{r['median_s']:8.3f}  {fmt_x(r['slowdown'])}x "
          f"[{fmt_x(lo)}, {fmt_x(hi)}]  {fmt_x(p_med)}x "
          f"[{fmt_x(p_lo)}, {fmt_x(p_hi)}]  {fmt_x(h_est)}x "
          f"[{fmt_x(h_lo)}, {fmt_x(h_hi)}]  {r['verdict']}", flush=True)


def hz_achieved(text):
    m = re.search(r"\(([\d.]+) Hz achieved, ([\d.]+) Hz asked\)", text)
    return (float(m.group(1)), float(m.group(2))) if m else (None, None)


def samples_line(text):
    m = re.search(r"(\d+) samples in ([\d.]+ m?s).*?(\d+) dropped", text)
    return m.groups() if m else ("?", "?", "?")


def fixed_cost(plumb, python, runs, env):
    """The cost of a session apart from its sampling: plumb profile on
    `python -c pass` against the plain interpreter. Returns
    [(label, (median, lo, hi) of the per-round differences in ns)]."""
    plain = f"{python} -c pass"
    tools = [("start, sample, report (--no-store)",
              f"{plumb} profile --no-store -o /dev/null -- {plain}"),
             ("the same and store the profile",
              f"{plumb} profile -o /dev/null -- {plain}")]
    doc = bench(plumb, [("plain", plain)] + tools, runs, env, warmup=5)
    walls = [walls_of(r) for r in doc["runs"]]
    out = []
    for i, (label, _) in enumerate(tools, start=1):
        diffs = [c - b for b, c in zip(walls[0], walls[i])
                 if b is not None and c is not None]
        out.append((label, median_ci(diffs)))
    return out


def ms(ns):
    return "n/a" if ns is None else f"{ns / 1e6:.2f}"


def print_fixed_cost(costs, plumb_rows, runs):
    print(f"\nFixed cost of a session (`python -c pass`, {runs} runs each, "
          "paired):\nthe median of the per-round differences, sign test CI")
    for label, (med, lo, hi) in costs:
        print(f"  {label:<36} +{ms(med)} ms [{ms(lo)}, {ms(hi)}]")
    med_ns = costs[-1][1][0]
    if med_ns is None:
        return
    shares = ", ".join(f"{r['workload']} {med_ns / 1e7 / r['base_s']:.2f}%"
                       for r in plumb_rows)
    print(f"  as a share of each workload's plain time: {shares}")


def max_rate(plumb, python, workload, env):
    print(f"\nHighest rate the sampler sustains ({os.path.basename(workload)},"
          " cpu mode):")
    print(f"{'asked Hz':>9} {'achieved Hz':>12} {'samples':>8} "
          f"{'in':>10} {'dropped':>8}")
    best = 0.0
    for rate in (10000, 20000, 50000, 100000):
        proc = subprocess.run([plumb, "profile", "--rate", str(rate),
                               "--format", "text", "--top", "1", "--",
                               python, workload], capture_output=True,
                              text=True, env=env, stdin=subprocess.DEVNULL,
                              timeout=120)
        got, _ = hz_achieved(proc.stdout)
        n, dur, dropped = samples_line(proc.stdout)
        if proc.returncode != 0 or got is None:
            print(f"{rate:>9} failed (exit {proc.returncode}): "
                  f"{proc.stderr.strip()[:200]}")
            continue
        best = max(best, got)
        print(f"{rate:>9} {got:>12.0f} {n:>8} {dur:>10} {dropped:>8}",
              flush=True)
    print(f"highest rate achieved: {best:.0f} Hz")


def own_cpu(plumb, python, workload, duration, env):
    """Attaches plumb to a running workload for `duration` seconds; returns
    (exit status, its stdout, its stderr, wall s, user s, sys s) of the
    plumb process, from its own rusage (wait4)."""
    name = os.path.basename(workload)
    target = subprocess.Popen([python, workload, LONG_ARG[name]],
                              stdout=subprocess.DEVNULL,
                              stdin=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        with tempfile.TemporaryFile("w+") as out, \
                tempfile.TemporaryFile("w+") as err:
            t0 = time.monotonic()
            prof = subprocess.Popen([plumb, "profile", "-p", str(target.pid),
                                     "--duration", str(duration), "--format",
                                     "text", "--top", "1"], stdout=out,
                                    stderr=err, env=env,
                                    stdin=subprocess.DEVNULL)
            _, status, ru = os.wait4(prof.pid, 0)
            prof.returncode = os.waitstatus_to_exitcode(status)
            wall = time.monotonic() - t0
            out.seek(0)
            err.seek(0)
            return (prof.returncode, out.read(), err.read(), wall,
                    ru.ru_utime, ru.ru_stime)
    finally:
        target.kill()
        target.wait()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plumb", default=os.path.join(HERE, "..", "build",
                                                    "plumb"))
    ap.add_argument("--runs", type=int, default=300,
                    help="runs of plain and plumb each, per workload (300: "
                    "on a VM whose runs vary by 15%%, fewer leave the "
                    "paired CI wider than the 3%% it judges; about 16 min "
                    "per workload)")
    ap.add_argument("--peer-runs", type=int, default=6,
                    help="runs of plain, cProfile, yappi, Scalene (6: the fewest "
                    "with which the paired 95%% CI exists)")
    ap.add_argument("--python", default="/usr/bin/python3")
    ap.add_argument("--duration", type=float, default=5.0,
                    help="seconds of attached sampling for the CPU use (5)")
    args = ap.parse_args()
    plumb = os.path.abspath(args.plumb)
    py = args.python
    if not os.access(plumb, os.X_OK):
        sys.exit(f"profile_overhead.py: {plumb} is missing; run make")
    env = dict(os.environ)
    # plumb profile stores each profile: keep them out of the project's store
    store = tempfile.TemporaryDirectory(prefix="plumb-overhead-")
    env["PLUMB_STORE"] = os.path.join(store.name, "plumb.db")
    env["NO_COLOR"] = "1"

    version = subprocess.run([py, "--version"], capture_output=True,
                             text=True).stdout.strip()
    print(f"plumb profile overhead · {version} ({py}) · {os.cpu_count()} CPUs"
          f" · load {os.getloadavg()[0]:.2f} · {time.strftime('%Y-%m-%d %H:%M:%S')}")
    peers = [("cProfile", "-m cProfile -o /dev/null {w}", "cProfile"),
             ("yappi", "-m yappi -o /dev/null {w}", "yappi"),
             ("Scalene", "-m scalene --cli --outfile /dev/null {w}",
              "scalene")]
    present = []
    for name, tmpl, module in peers:
        if has_module(py, module):
            present.append((name, tmpl))
        else:
            print(f"skipping {name}: `{py} -c 'import {module}'` fails "
                  f"(Debian: apt-get install python3-{module.lower()})")
    print(f"plain vs plumb: {args.runs} runs each; plain vs peers: "
          f"{args.peer_runs} runs each, no warm-up; random order per round; "
          "wall time")
    print()
    print(f"{'':<12} {'':<9} {'':>8} {'':>8}  {'plumb bench (unpaired)':<26}"
          f"  {'paired: median, sign test':<26}  {'paired: Hodges-Lehmann':<26}")
    print(f"{'workload':<12} {'tool':<9} {'plain s':>8} {'tool s':>8}  "
          f"{'slowdown':>7} {'95% CI':>17}  {'slowdown':>7} {'95% CI':>17}"
          f"  {'slowdown':>7} {'95% CI':>17}  plumb bench's verdict")
    started = time.monotonic()
    plumb_rows = []
    warnings = set()
    for wfile in WORKLOAD_FILES:
        w = os.path.join(WORKLOADS, wfile)
        wname = wfile[:-3]
        plain = f"{py} {w}"
        doc = bench(plumb, [("plain", plain),
                            ("plumb", f"{plumb} profile -o /dev/null -- "
                                      f"{py} {w}")], args.runs, env)
        rows = rows_of(doc, wname)
        for r in rows:
            print_row(r)
        plumb_rows += rows
        warnings.update(doc["warnings"])
        if present:
            commands = [("plain", plain)] + [
                (name, f"{py} " + tmpl.format(w=w)) for name, tmpl in present]
            peer_doc = bench(plumb, commands, args.peer_runs, env, warmup=0)
            for r in rows_of(peer_doc, wname):
                print_row(r)
            warnings.update(peer_doc["warnings"])

    # plumb bench's warnings, one line per kind (the part before ":")
    kinds = {}
    for text in sorted(warnings):
        kinds.setdefault(text.split(":")[0].split(" (")[0], []).append(text)
    for kind, texts in kinds.items():
        print(f"plumb bench warned {len(texts)}x: {texts[-1][:160]}")
    print()
    ok = bool(plumb_rows) and all(
        r["paired"][2] is not None and r["paired"][2] < GOAL and
        not r["failures"] for r in plumb_rows)
    worst = max((r["paired"][2] or float("inf")) for r in plumb_rows)
    print(f"goal: plumb's paired (sign test) slowdown CI upper bound "
          f"< {GOAL} on all "
          f"{len(plumb_rows)} workloads (worst upper bound "
          f"{worst:.3f}): {'PASS' if ok else 'FAIL'}")
    if not ok:
        above = [r["workload"] for r in plumb_rows
                 if r["paired"][1] is not None and r["paired"][1] >= GOAL]
        if above:
            print(f"  plumb's slowdown is above {GOAL} with 95% confidence "
                  f"on: {', '.join(above)}")
        else:
            print("  not shown either way: no workload's CI lies wholly "
                  f"above {GOAL}; the intervals are too wide (machine noise)"
                  " - rerun on a quiet machine or with more --runs")

    print_fixed_cost(fixed_cost(plumb, py, args.runs, env), plumb_rows,
                     args.runs)

    w = os.path.join(WORKLOADS, WORKLOAD_FILES[0])
    max_rate(plumb, py, w, env)

    print(f"\nplumb's own CPU use at the default rate, attached (-p) to "
          f"{WORKLOAD_FILES[0]} for {args.duration:g} s:")
    rc, out, err, wall, user, system = own_cpu(plumb, py, w, args.duration,
                                               env)
    if rc != 0:
        print(f"  plumb profile -p failed (exit {rc}): {err.strip()[:300]}")
    else:
        got, asked = hz_achieved(out)
        n, dur, dropped = samples_line(out)
        print(f"  {n} samples in {dur} ({got:.0f} Hz achieved, {asked:.0f} "
              f"asked), {dropped} dropped")
        print(f"  plumb used {user:.2f} s user + {system:.2f} s sys in "
              f"{wall:.2f} s: {(user + system) / args.duration:.3f} CPU "
              f"seconds per second of sampling "
              f"({100 * (user + system) / args.duration:.1f}% of one CPU)")
    print(f"\ntotal time {time.monotonic() - started:.0f} s")
    return ok


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
