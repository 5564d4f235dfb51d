#!/usr/bin/python3
"""What the native shim of `plumb mem --native` adds to a malloc+free pair.

One loop program (bench/native_loop.c: PAIRS pairs of malloc(SIZE) and
free, 15 times, the best time per pair in CPU time) is run in three
configurations,
in R rounds whose order is shuffled each round so that the machine's drift
hits every configuration alike:

  - no shim: the C library's malloc and free, called directly;
  - shim, no hooks: build/libplumb-native.so preloaded, no hooks set (a
    program that --native records, before and after the recorder runs, and
    its child processes);
  - shim, trivial hooks: the same with hooks that increment a counter (the
    shim's own cost under a recorder, without the recorder's).

Each figure is the median over the rounds with the rounds' range; the
added cost is the median of each round's difference from no shim.

On the 2-CPU development machine (shared, load average about 3; 22 Nov
2026), two runs of 31 and 21 rounds: no shim 11.4 and 16.9 ns per pair (the
machine's state moved the whole run), the shim without hooks adds 1.6 and
1.9 ns, trivial hooks add 10.3 and 13.8 ns.

Usage: /usr/bin/python3 bench/native_overhead.py [--rounds 21]
           [--pairs 200000] [--size 64]
(`make bench-native` builds the shim and the loop first.)
"""
import argparse
import os
import random
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD = os.path.join(HERE, "..", "build")


def run(loop, mode, pairs, size, preload):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if preload:
        env["LD_PRELOAD"] = preload
    out = subprocess.run([loop, mode, str(pairs), str(size)], env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    if out.returncode != 0:
        sys.exit(f"native_overhead.py: {loop} {mode} failed: {out.stderr.strip()}")
    return float(out.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shim", default=os.path.join(BUILD, "libplumb-native.so"))
    ap.add_argument("--loop", default=os.path.join(BUILD, "bench-native-loop"))
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--pairs", type=int, default=200_000)
    ap.add_argument("--size", type=int, default=64)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    for path in (args.shim, args.loop):
        if not os.path.exists(path):
            sys.exit(f"native_overhead.py: {path} does not exist; run "
                     "`make bench-native` (or `make all build/bench-native-loop`)")
    shim = os.path.abspath(args.shim)
    configs = [("no shim", "bare", None), ("shim, no hooks", "bare", shim),
               ("shim, trivial hooks", "hooks", shim)]
    rng = random.Random(args.seed)
    times = {name: [] for name, _, _ in configs}
    for _ in range(args.rounds):
        order = configs[:]
        rng.shuffle(order)
        for name, mode, preload in order:
            times[name].append(run(args.loop, mode, args.pairs, args.size, preload))

    base = times["no shim"]
    print(f"malloc({args.size}) + free, ns per pair: median of {args.rounds} rounds "
          f"[range]; each round the best of 15 x {args.pairs} pairs")
    for name, _, _ in configs:
        t = times[name]
        line = (f"  {name:<20} {statistics.median(t):7.2f} "
                f"[{min(t):.2f}, {max(t):.2f}]")
        if t is not base:
            diffs = [a - b for a, b in zip(t, base)]
            line += (f"   added {statistics.median(diffs):+.2f} ns "
                     f"[{min(diffs):+.2f}, {max(diffs):+.2f}]")
        print(line)


if __name__ == "__main__":
    main()
