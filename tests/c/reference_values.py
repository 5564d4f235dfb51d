#!/usr/bin/python3
"""Recomputes the reference values pasted into test_rng.c, test_stats.c,
test_compare.c and test_complexity.c, independently of libplumb.

    /usr/bin/python3 tests/c/reference_values.py

Needs scipy (1.10.1 was used) and numpy (1.24.2). The generator section is a
transcription of splitmix64, xoshiro256**, Lemire's bounded draw and
Box-Muller from their papers, in Python integers, not from src/rng.c.
"""
import math

import numpy as np
from scipy.optimize import brentq
from scipy.stats import binom, chi2, mannwhitneyu, median_abs_deviation

MASK = (1 << 64) - 1


def splitmix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    z = x
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return x, z ^ (z >> 31)


def rotl(x, k):
    return ((x << k) | (x >> (64 - k))) & MASK


def seeded(seed):
    state = []
    for _ in range(4):
        seed, z = splitmix64(seed)
        state.append(z)
    return state


def next64(s):
    result = (rotl((s[1] * 5) & MASK, 7) * 9) & MASK
    t = (s[1] << 17) & MASK
    s[2] ^= s[0]
    s[3] ^= s[1]
    s[1] ^= s[2]
    s[0] ^= s[3]
    s[2] ^= t
    s[3] = rotl(s[3], 45)
    return result


def below(s, bound):
    product = next64(s) * bound
    if product & MASK < bound:
        threshold = ((1 << 64) - bound) % bound
        while product & MASK < threshold:
            product = next64(s) * bound
    return product >> 64


def uniform(s):
    return (next64(s) >> 11) * 2.0**-53


def normal(s):
    u = 1 - uniform(s)
    v = uniform(s)
    return math.sqrt(-2 * math.log(u)) * math.cos(2 * math.pi * v)


def rng_values():
    print("== test_rng.c")
    print("splitmix64 from 0:", [hex(v) for v in seeded(0)])
    s = [1, 2, 3, 4]
    print("xoshiro256** from {1,2,3,4}:", [next64(s) for _ in range(6)])
    s = seeded(12345)
    print("seed 12345 next:", [hex(next64(s)) for _ in range(3)])
    s = seeded(12345)
    print("seed 12345 uniform:", [repr(uniform(s)) for _ in range(3)])
    for bound in (1000, 3, (1 << 63) + 12345):
        s = seeded(12345)
        n = 4 if bound > 1000 else 8
        print(f"seed 12345 below({bound}):", [below(s, bound) for _ in range(n)])
    s = seeded(2024)
    print("seed 2024 normal:", [repr(normal(s)) for _ in range(4)])
    print("chi2.ppf(0.999, 9) =", chi2.ppf(0.999, 9))


def median_ci_ranks(n, level):
    js = np.arange(1, (n + 1) // 2 + 1)
    coverage = 1 - 2 * binom.cdf(js - 1, n, 0.5)
    ok = js[coverage >= level]
    if len(ok) == 0:
        return "min..max", 1 - 2 * 0.5**n
    j = ok.max()
    return (j, n + 1 - j), coverage[j - 1]


def mwu(a, b, method):
    r = mannwhitneyu(a, b, alternative="two-sided", method=method)
    return float(r.statistic), repr(float(r.pvalue))


def stats_values():
    print("== test_stats.c")
    x = np.array([3.1, 1.4, 15.9, 2.6, 5.3, 5.8, 9.7, 9.3])
    for q in (0.05, 0.25, 0.5, 0.75, 0.95, 1 / 3):
        print(f"quantile {q:.4f}:", repr(np.quantile(x, q, method="linear")))
    s = np.array([12.1, 11.8, 12.5, 13.0, 11.9, 12.2, 30.0, 12.0, 12.3, 11.7, 12.4])
    print("summary mean, sd:", repr(s.mean()), repr(s.std(ddof=1)))
    print("summary p5 p25 p75 p95:", [repr(np.quantile(s, q)) for q in (0.05, 0.25, 0.75, 0.95)])
    print("summary mad:", median_abs_deviation(s, scale=1.0), "ci:", median_ci_ranks(11, 0.95))
    o = np.array([10.0, 10.2, 9.8, 10.4, 9.6, 10.1, 9.9, 11.4, 13.0])
    mad = median_abs_deviation(o, scale=1.0)
    print("outlier scores:", 0.6745 * np.abs(o - np.median(o)) / mad)
    for n, level in ((10, 0.95), (20, 0.95), (100, 0.95), (50, 0.99), (5, 0.95),
                     (6, 0.95), (2, 0.95), (100000, 0.95), (100001, 0.90)):
        print(f"median ci n={n} level={level}:", median_ci_ranks(n, level))
    print("exact 7x9:", mwu([12.4, 11.9, 13.1, 12.8, 12.2, 13.5, 12.9],
                            [11.8, 12.05, 11.5, 12.3, 11.7, 12.1, 11.6, 12.6, 11.95], "exact"))
    print("exact 3x12:", mwu([5.1, 7.3, 6.2], [4.0, 4.4, 5.0, 5.5, 5.9, 6.0, 6.1, 6.5,
                                               6.6, 7.0, 7.1, 7.9], "exact"))
    b = list(range(1, 11))
    print("critical U=23:", mwu([0.1, 0.2, 0.3, 0.4, 1.5, 2.5, 3.5, 4.5, 6.5, 7.5], b, "exact"))
    print("critical U=24:", mwu([0.1, 0.2, 0.3, 0.4, 1.5, 2.5, 3.5, 4.5, 6.5, 8.5], b, "exact"))
    print("separated 50x50:", mwu(list(range(1, 51)), list(range(51, 101)), "exact"),
          "2/C(100,50) =", repr(2 / math.comb(100, 50)))
    a50 = [i + 0.5 for i in range(50)]
    b50 = [i * 1.1 + 3.25 for i in range(50)]
    print("overlap 50x50:", mwu(a50, b50, "exact"), mwu(a50, b50, "asymptotic"))
    print("ties:", mwu([3, 4, 4, 5, 6, 6, 6, 8], [2, 3, 3, 4, 5, 5, 7], "asymptotic"))
    la = [100 + ((i * 37) % 101) * 0.173 for i in range(60)]
    lb = [99 + ((i * 53) % 97) * 0.191 + 0.0007 * i for i in range(55)]
    print("large 60x55:", mwu(la, lb, "asymptotic"))


def compare_values():
    print("== test_compare.c")
    print("slow vs fast:", mwu([100.2, 99.8, 101.5, 100.9, 99.5, 100.4, 102.3, 100.0],
                               [80.1, 81.0, 79.6, 80.4, 82.2, 80.8, 79.9, 80.3], "exact"))
    print("zero median:", mwu([0, 0, 0, 0, 1], [5, 6, 7, 8, 9], "asymptotic"))
    print("zero resample:", mwu([3, 3, 4, 4, 5, 5, 3, 4, 5], [0, 0, 0, 0, 1, 1, 1, 1, 1],
                                "asymptotic"))
    base = [(100 if i < 10 else 200) + 0.01 * i for i in range(21)]
    cand = [(90 if i < 10 else 190) + 0.01 * i for i in range(21)]
    print("unstable median:", mwu(base, cand, "exact"))
    base = [1 + i if i < 8 else 100 + 0.01 * i for i in range(30)]
    cand = [1000 + i if i < 8 else 95 + 0.01 * i for i in range(30)]
    print("no rank evidence:", mwu(base, cand, "exact"))


def law_fits(n, t):
    laws = {"O(1)": None, "O(log n)": np.log, "O(n)": lambda v: v,
            "O(n log n)": lambda v: v * np.log(v), "O(n^2)": lambda v: v**2,
            "O(n^3)": lambda v: v**3}
    medians = {v: np.median(t[n == v]) for v in np.unique(n)}
    w = np.array([1 / medians[v] ** 2 for v in n])
    for name, g in laws.items():
        design = np.ones((len(n), 1)) if g is None else np.column_stack([np.ones(len(n)), g(n)])
        coef, *_ = np.linalg.lstsq(design * np.sqrt(w)[:, None], t * np.sqrt(w), rcond=None)
        rss = np.sum(w * (t - design @ coef) ** 2)
        bic = len(n) * np.log(rss / len(n)) + design.shape[1] * np.log(len(n))
        a, b = coef[0], (0.0 if g is None else coef[1])
        fit = {v: a + (0 if g is None else b * g(v)) for v in medians}
        error = math.sqrt(np.mean([((fit[v] - m) / m) ** 2 for v, m in medians.items()]))
        print(f"{name}: a={a!r} b={b!r} bic={bic!r} fit_error={error!r}")


def complexity_values():
    print("== test_complexity.c")
    n = np.array([100] * 3 + [1000] * 3 + [10000] * 3 + [100000] * 3, float)
    t = np.array([20.31, 19.87, 20.12, 21.02, 20.64, 21.35, 29.8, 30.9, 29.1,
                  131.5, 127.2, 135.9])
    law_fits(n, t)
    print("-- a runner-up within 2")
    n = np.array([1e3] * 3 + [1e4] * 3 + [1e5] * 3)
    t = np.array([8.0, 8.4, 7.6, 93.0, 98.0, 88.0, 1050.0, 990.0, 1090.0])
    law_fits(n, t)
    tt = np.array([50.0, 40, 30, 20])
    a = np.sum(1 / tt) / np.sum(1 / tt**2)
    print("shrinking: a =", repr(a), "fit_error =", repr(math.sqrt(np.mean(((a - tt) / tt) ** 2))))
    print("crossings:", repr((2 + math.sqrt(4.4)) / 0.002), repr(math.exp(5)),
          repr(brentq(lambda v: 2**v - v**3, 2, 100, xtol=1e-15)),
          repr(brentq(lambda v: 2**v - v**3, 1, 2, xtol=1e-15)),
          repr(brentq(lambda v: 0.05 + 1e-9 * v * v - 0.2 - 1e-6 * v * math.log(v), 1e3, 1e5)))


if __name__ == "__main__":
    rng_values()
    stats_values()
    compare_values()
    complexity_values()
