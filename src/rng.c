/* rng.c: plumb's pseudo-random numbers. xoshiro256** (Blackman and Vigna)
 * seeded through splitmix64, so one 64-bit seed gives one reproducible
 * stream; uniform doubles, unbiased bounded integers and normal deviates on
 * top of it. Statistics that consume the stream (bootstrap, tests) live in
 * stats.c; nothing here is fit for cryptography.
 */
#include "plumb.h"

#include <math.h>

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* splitmix64 spreads a seed over the whole state: consecutive seeds give
 * unrelated states, and the state is never all zero (which xoshiro could
 * not leave), because splitmix64 is a bijection of its counter. */
static uint64_t splitmix64_next(uint64_t *x)
{
    uint64_t z = (*x += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Fills rng's state from seed; the same seed always gives the same stream. */
void plumb_rng_seed(plumb_rng_t *rng, uint64_t seed)
{
    for (int i = 0; i < 4; i++)
        rng->s[i] = splitmix64_next(&seed);
}

/* The next 64 random bits. */
uint64_t plumb_rng_next(plumb_rng_t *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;

    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

/* The top 53 bits make every double k/2^53 in [0, 1) equally likely. */
double plumb_rng_uniform(plumb_rng_t *rng)
{
    return (double)(plumb_rng_next(rng) >> 11) * 0x1.0p-53;
}

/* High and low 64-bit halves of a * b: one instruction where the compiler
 * has 128-bit integers, four 32-bit products elsewhere. */
#if defined(__SIZEOF_INT128__)
static uint64_t mul_64x64(uint64_t a, uint64_t b, uint64_t *low)
{
    unsigned __int128 p = (unsigned __int128)a * b;
    *low = (uint64_t)p;
    return (uint64_t)(p >> 64);
}
#else
static uint64_t mul_64x64(uint64_t a, uint64_t b, uint64_t *low)
{
    uint64_t a_lo = a & 0xffffffffu, a_hi = a >> 32;
    uint64_t b_lo = b & 0xffffffffu, b_hi = b >> 32;
    uint64_t lo_lo = a_lo * b_lo, hi_lo = a_hi * b_lo;
    uint64_t lo_hi = a_lo * b_hi, hi_hi = a_hi * b_hi;
    uint64_t cross = (lo_lo >> 32) + (hi_lo & 0xffffffffu) + lo_hi;
    *low = (cross << 32) | (lo_lo & 0xffffffffu);
    return hi_hi + (hi_lo >> 32) + (cross >> 32);
}
#endif

/* Lemire's multiply-and-reject: the high half of x * bound is uniform in
 * [0, bound) once the few x whose low half falls below 2^64 mod bound are
 * redrawn. The modulo is computed only when a redraw is possible, so the
 * bootstrap's hot loop costs one multiplication per draw. */
uint64_t plumb_rng_below(plumb_rng_t *rng, uint64_t bound)
{
    uint64_t low, high;

    if (bound == 0) /* outside the contract; no draw is consumed */
        return 0;
    high = mul_64x64(plumb_rng_next(rng), bound, &low);
    if (low < bound) {
        uint64_t threshold = (0 - bound) % bound; /* 2^64 mod bound */
        while (low < threshold)
            high = mul_64x64(plumb_rng_next(rng), bound, &low);
    }
    return high;
}

/* Box-Muller, keeping only the cosine deviate: the generator's state has no
 * room for the spare, and a second draw is cheap. 1 - u lies in (0, 1], so
 * the logarithm is finite. */
double plumb_rng_normal(plumb_rng_t *rng)
{
    const double two_pi = 6.283185307179586476925286766559;
    double u = 1.0 - plumb_rng_uniform(rng);
    double v = plumb_rng_uniform(rng);
    return sqrt(-2.0 * log(u)) * cos(two_pi * v);
}
