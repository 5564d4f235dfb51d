#!/usr/bin/env python3
"""plumb's harness overhead and accuracy against hyperfine, in one run.

For each workload, plumb and hyperfine (no shell: -N) take turns, several
rounds each, so drift on a shared machine hits both alike. Prints the median
wall time each reports and their ratio:

  - `true`: the cost of starting and reaping a process, which is all a
    harness adds. plumb's figure should be at or below hyperfine's.
  - `sleep 0.02`: a 20 ms command. Both should agree within 2%.

Usage: bench/overhead.py [--plumb build/plumb] [--rounds 5]
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile


def plumb_median(plumb, command, runs, tmp):
    out = os.path.join(tmp, "plumb.json")
    subprocess.run(
        [plumb, "bench", "--no-store", "--no-progress", "--runs", str(runs),
         "--warmup", "3", "--export-json", out, command],
        check=True, stdout=subprocess.DEVNULL)
    with open(out) as f:
        doc = json.load(f)
    return doc["runs"][0]["statistics"]["wall_ns"]["median"] / 1e9


def hyperfine_median(command, runs, tmp):
    out = os.path.join(tmp, "hyperfine.json")
    subprocess.run(
        ["hyperfine", "-N", "--runs", str(runs), "--warmup", "3",
         "--style", "none", "--export-json", out, command],
        check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    with open(out) as f:
        return json.load(f)["results"][0]["median"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plumb", default="build/plumb")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    if not shutil.which("hyperfine"):
        sys.exit("bench/overhead.py: hyperfine is missing; "
                 "apt-get install hyperfine (make bench does it)")
    workloads = [("true", 300), ("sleep 0.02", 40)]
    print(f"{'command':<12} {'plumb median':>14} {'hyperfine median':>17} "
          f"{'plumb/hyperfine':>16}")
    failed = False
    with tempfile.TemporaryDirectory() as tmp:
        for command, runs in workloads:
            ours, theirs = [], []
            for _ in range(args.rounds):
                ours.append(plumb_median(args.plumb, command, runs, tmp))
                theirs.append(hyperfine_median(command, runs, tmp))
            p, h = statistics.median(ours), statistics.median(theirs)
            ratio = p / h
            print(f"{command:<12} {p * 1e3:>11.3f} ms {h * 1e3:>14.3f} ms "
                  f"{ratio:>16.3f}")
            if command == "true" and ratio > 1.0:
                print("  plumb measures `true` slower than hyperfine")
                failed = True
            if command != "true" and abs(ratio - 1) > 0.02:
                print("  plumb and hyperfine disagree by more than 2%")
                failed = True
    print(f"({args.rounds} rounds per tool, alternating; medians of the "
          "per-round medians)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
