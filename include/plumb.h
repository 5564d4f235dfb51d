/* plumb.h: the public API of libplumb.
 *
 * libplumb measures programs, analyses the measurements with statistics and
 * keeps them in a store. The `plumb` command-line tool and the Python
 * extension are thin clients of this header.
 *
 * Conventions, stated once for the whole API:
 * - Functions that can fail return int: 0 on success, a negative PLUMB_E*
 *   code otherwise (plumb_strerror() names it). The library never prints and
 *   never exits.
 * - Every object made by a *_new function is released by the matching *_free;
 *   passing NULL to a *_free is a no-op. Strings and arrays reached through an
 *   object belong to it and live as long as it does, unless a comment says the
 *   caller frees them (with free()).
 * - Times are int64 nanoseconds, sizes int64 bytes; a metric the system could
 *   not measure holds PLUMB_UNAVAILABLE, never 0.
 */
#ifndef PLUMB_H
#define PLUMB_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PLUMB_VERSION "0.1.0"

/* Version of the JSON documents plumb writes (docs/json.md). */
#define PLUMB_JSON_SCHEMA_VERSION 1

#if defined(__GNUC__)
#define PLUMB_API __attribute__((visibility("default")))
#else
#define PLUMB_API
#endif

/* ---- errors ------------------------------------------------------------ */

/* X(name, code, message): one table yields the enum and plumb_strerror(). */
#define PLUMB_ERRNO_MAP(X)                                                    \
    X(NOMEM, -1, "out of memory")                                             \
    X(INVAL, -2, "invalid argument")                                          \
    X(NOENT, -3, "command not found")                                         \
    X(EXEC, -4, "command could not be started")                               \
    X(FAILED, -5, "command failed")                                           \
    X(TIMEDOUT, -6, "command timed out")                                      \
    X(CANCELED, -7, "interrupted")                                            \
    X(IO, -8, "input/output error")                                           \
    X(STORE, -9, "store error")                                               \
    X(SCHEMA, -10, "store was written by a newer plumb")                      \
    X(NOTFOUND, -11, "not found")                                             \
    X(UNSUPPORTED, -12, "not supported on this system")                       \
    X(PARSE, -13, "could not parse")                                          \
    X(TOOFEW, -14, "too few measurements")                                    \
    X(ACCESS, -15, "permission denied")

typedef enum {
    PLUMB_OK = 0,
#define PLUMB_ERRNO_GEN(name, code, msg) PLUMB_E##name = (code),
    PLUMB_ERRNO_MAP(PLUMB_ERRNO_GEN)
#undef PLUMB_ERRNO_GEN
} plumb_errno_t;

/* A static message for err ("unknown error" for codes outside the table). */
PLUMB_API const char *plumb_strerror(int err);
/* The code's name without prefix, e.g. "NOENT"; static. */
PLUMB_API const char *plumb_errname(int err);

/* ---- metrics ----------------------------------------------------------- */

#define PLUMB_UNAVAILABLE INT64_C(-1)

typedef enum {
    PLUMB_UNIT_NS,
    PLUMB_UNIT_BYTES,
    PLUMB_UNIT_COUNT
} plumb_unit_t;

/* X(ENUM, key, label, unit). The key is the JSON field and store column. */
#define PLUMB_METRIC_MAP(X)                                                   \
    X(WALL, "wall_ns", "wall time", PLUMB_UNIT_NS)                            \
    X(USER, "user_ns", "user CPU", PLUMB_UNIT_NS)                             \
    X(SYS, "sys_ns", "system CPU", PLUMB_UNIT_NS)                             \
    X(CPU, "cpu_ns", "CPU time", PLUMB_UNIT_NS)                               \
    X(MAX_RSS, "max_rss_bytes", "max RSS", PLUMB_UNIT_BYTES)                  \
    X(MINOR_FAULTS, "minor_faults", "minor faults", PLUMB_UNIT_COUNT)         \
    X(MAJOR_FAULTS, "major_faults", "major faults", PLUMB_UNIT_COUNT)         \
    X(VOL_CTXSW, "voluntary_ctxsw", "voluntary switches", PLUMB_UNIT_COUNT)   \
    X(INVOL_CTXSW, "involuntary_ctxsw", "involuntary switches",               \
      PLUMB_UNIT_COUNT)                                                       \
    X(RCHAR, "rchar_bytes", "bytes read", PLUMB_UNIT_BYTES)                   \
    X(WCHAR, "wchar_bytes", "bytes written", PLUMB_UNIT_BYTES)                \
    X(READ_BYTES, "storage_read_bytes", "storage read", PLUMB_UNIT_BYTES)     \
    X(WRITE_BYTES, "storage_write_bytes", "storage written",                  \
      PLUMB_UNIT_BYTES)                                                       \
    X(READ_SYSCALLS, "read_syscalls", "read syscalls", PLUMB_UNIT_COUNT)      \
    X(WRITE_SYSCALLS, "write_syscalls", "write syscalls", PLUMB_UNIT_COUNT)   \
    X(INSTRUCTIONS, "instructions", "instructions", PLUMB_UNIT_COUNT)         \
    X(CYCLES, "cycles", "cycles", PLUMB_UNIT_COUNT)

typedef enum {
#define PLUMB_METRIC_GEN(name, key, label, unit) PLUMB_METRIC_##name,
    PLUMB_METRIC_MAP(PLUMB_METRIC_GEN)
#undef PLUMB_METRIC_GEN
    PLUMB_METRIC_COUNT
} plumb_metric_t;

PLUMB_API const char *plumb_metric_key(plumb_metric_t m);
PLUMB_API const char *plumb_metric_label(plumb_metric_t m);
PLUMB_API plumb_unit_t plumb_metric_unit(plumb_metric_t m);
/* The metric whose key is `key`, or -1. */
PLUMB_API int plumb_metric_find(const char *key);

/* One measurement of a run: one execution of a command. */
typedef struct {
    int64_t metric[PLUMB_METRIC_COUNT]; /* PLUMB_UNAVAILABLE when unknown */
    int exit_code;   /* the child's exit status; -1 when killed by a signal */
    int term_signal; /* signal that ended it, 0 if it exited */
    int timed_out;   /* 1 when plumb killed it at --timeout */
} plumb_sample_t;

/* Marks every metric unavailable and the exit as clean. */
PLUMB_API void plumb_sample_init(plumb_sample_t *s);
/* 1 when the sample exited 0, was not signalled and did not time out. */
PLUMB_API int plumb_sample_ok(const plumb_sample_t *s);

/* ---- clock ------------------------------------------------------------- */

/* Monotonic time in ns (CLOCK_MONOTONIC). */
PLUMB_API int64_t plumb_clock_now_ns(void);
/* Wall-clock time since the Unix epoch in ns (CLOCK_REALTIME). */
PLUMB_API int64_t plumb_clock_realtime_ns(void);

/* ---- random numbers ---------------------------------------------------- */

/* xoshiro256** seeded through splitmix64: same seed, same stream. */
typedef struct {
    uint64_t s[4];
} plumb_rng_t;

PLUMB_API void plumb_rng_seed(plumb_rng_t *rng, uint64_t seed);
PLUMB_API uint64_t plumb_rng_next(plumb_rng_t *rng);
/* Uniform in [0, 1). */
PLUMB_API double plumb_rng_uniform(plumb_rng_t *rng);
/* Uniform integer in [0, bound), without modulo bias; bound > 0. */
PLUMB_API uint64_t plumb_rng_below(plumb_rng_t *rng, uint64_t bound);
/* Standard normal deviate. */
PLUMB_API double plumb_rng_normal(plumb_rng_t *rng);

/* ---- statistics -------------------------------------------------------- */

/* Descriptive statistics of one sample. */
typedef struct {
    size_t n;
    double min, max, mean, stddev; /* stddev: n-1 denominator, 0 when n=1 */
    double median, mad;            /* mad: raw median absolute deviation */
    double p5, p25, p75, p95;      /* linear interpolation (Hyndman-Fan 7) */
    /* Distribution-free confidence interval of the median from order
     * statistics; ci_level is the interval's exact coverage (>= the level
     * asked for, or the best available when n is too small). */
    double median_ci_low, median_ci_high, median_ci_level;
    size_t outliers; /* |0.6745 (x - median) / mad| > 3.5 */
} plumb_summary_t;

/* Summarises x[0..n). x is not modified. PLUMB_ETOOFEW when n == 0. */
PLUMB_API int plumb_stats_summarize(const double *x, size_t n,
                                    plumb_summary_t *out);
/* Quantile q in [0,1] of an ascending array (Hyndman-Fan type 7). */
PLUMB_API double plumb_stats_quantile(const double *sorted, size_t n,
                                      double q);
/* Order-statistic CI of the median of an ascending array at `level`
 * (e.g. 0.95): *lo, *hi and the exact coverage *coverage. */
PLUMB_API int plumb_stats_median_ci(const double *sorted, size_t n,
                                    double level, double *lo, double *hi,
                                    double *coverage);
/* Two-sided Mann-Whitney U test of a against b. *u is U of a; *exact is 1
 * when the p-value comes from the exact null distribution (small samples
 * without ties), 0 for the normal approximation with tie and continuity
 * correction. */
PLUMB_API int plumb_stats_mann_whitney(const double *a, size_t na,
                                       const double *b, size_t nb, double *u,
                                       double *p_value, int *exact);
/* Percentile bootstrap CI at `level` of median(a) / median(b), with
 * `resamples` resamples drawn from a seeded generator. PLUMB_EINVAL when a
 * median of b's resamples is 0. */
PLUMB_API int plumb_stats_bootstrap_ratio(const double *a, size_t na,
                                          const double *b, size_t nb,
                                          size_t resamples, double level,
                                          uint64_t seed, double *lo,
                                          double *hi);

/* ---- comparison -------------------------------------------------------- */

typedef enum {
    PLUMB_VERDICT_SAME,   /* no significant difference */
    PLUMB_VERDICT_LOWER,  /* candidate lower: faster, smaller */
    PLUMB_VERDICT_HIGHER  /* candidate higher: slower, bigger */
} plumb_verdict_t;

typedef struct {
    double alpha;       /* significance level, default 0.05 */
    double min_effect;  /* smallest change that counts, default 0.01 (1%) */
    double level;       /* confidence level of intervals, default 0.95 */
    size_t resamples;   /* bootstrap resamples, default 5000 */
    uint64_t seed;      /* bootstrap seed */
} plumb_compare_opts_t;

PLUMB_API void plumb_compare_opts_init(plumb_compare_opts_t *opts);

/* A candidate against a baseline, on one metric. */
typedef struct {
    plumb_metric_t metric;
    double baseline_median, candidate_median;
    /* baseline median / candidate median: > 1 means the candidate is lower
     * (faster, smaller). NaN (with NaN bounds) when a median is 0. */
    double ratio, ci_low, ci_high;
    double u, p_value;
    int exact;
    plumb_verdict_t verdict;
} plumb_comparison_t;

/* Compares candidate against baseline: a verdict other than SAME needs
 * p < alpha, a CI of the ratio that excludes 1 and a change beyond
 * min_effect. PLUMB_ETOOFEW when either side has fewer than 2 values. */
PLUMB_API int plumb_compare(const double *baseline, size_t nb,
                            const double *candidate, size_t nc,
                            const plumb_compare_opts_t *opts,
                            plumb_comparison_t *out);
PLUMB_API const char *plumb_verdict_name(plumb_verdict_t v);

/* ---- empirical complexity --------------------------------------------- */

#define PLUMB_ORDER_MAP(X)                                                    \
    X(CONST, "O(1)")                                                          \
    X(LOGN, "O(log n)")                                                       \
    X(N, "O(n)")                                                              \
    X(NLOGN, "O(n log n)")                                                    \
    X(N2, "O(n^2)")                                                           \
    X(N3, "O(n^3)")                                                           \
    X(EXP, "O(2^n)")

typedef enum {
#define PLUMB_ORDER_GEN(name, label) PLUMB_ORDER_##name,
    PLUMB_ORDER_MAP(PLUMB_ORDER_GEN)
#undef PLUMB_ORDER_GEN
    PLUMB_ORDER_COUNT
} plumb_order_t;

PLUMB_API const char *plumb_order_name(plumb_order_t o);

/* A model whose BIC is within this of the chosen one's fits about as well:
 * a difference under 2 is "not worth more than a bare mention" (Kass and
 * Raftery, Bayes Factors, 1995). */
#define PLUMB_BIC_CLOSE 2.0

/* t(n) = a + b * g(n), the chosen growth g and how well it fits. */
typedef struct {
    plumb_order_t order;
    double a, b;
    double fit_error;  /* RMS relative error of the per-n medians, 0.021 = 2.1% */
    double bic[PLUMB_ORDER_COUNT]; /* criterion per model; NaN if not fitted */
    /* The runner-up when its BIC is within PLUMB_BIC_CLOSE of order's: the
     * data cannot tell the two apart (more sizes over a wider range can).
     * PLUMB_ORDER_COUNT when no model comes that close. */
    plumb_order_t close_order;
} plumb_fit_t;

/* Fits every model to the points (n[i], t[i]) (all measurements, several
 * per n) by least squares weighted by relative error and picks the one with
 * the lowest BIC (and names a runner-up as close as PLUMB_BIC_CLOSE); a
 * growth term with a negative slope is rejected.
 * PLUMB_ETOOFEW with fewer than 3 distinct n. */
PLUMB_API int plumb_complexity_fit(const double *n, const double *t,
                                   size_t count, plumb_fit_t *out);
PLUMB_API double plumb_complexity_eval(const plumb_fit_t *fit, double n);
/* Where the fitted curves of x and y cross within [n_lo, n_hi]; the first
 * crossing in *n_cross. PLUMB_ENOTFOUND when they do not cross there. */
PLUMB_API int plumb_complexity_crossover(const plumb_fit_t *x,
                                         const plumb_fit_t *y, double n_lo,
                                         double n_hi, double *n_cross);

/* ---- commands ---------------------------------------------------------- */

typedef enum {
    PLUMB_SHELL_AUTO,  /* a shell only when the text holds shell syntax */
    PLUMB_SHELL_NONE,  /* never a shell */
    PLUMB_SHELL_ALWAYS /* always through the shell */
} plumb_shell_mode_t;

/* A command line made ready to execute: an argv, and whether it goes
 * through a shell. */
typedef struct plumb_command plumb_command_t;

/* Parses `text` (words, '...' and "..." quoting). In AUTO mode, text with
 * shell syntax (pipes, redirections, $, globs, ;, &, backquotes, ...) runs
 * as `shell -c text`; NONE returns PLUMB_EINVAL for such text. `shell` is
 * the shell to use, NULL for "sh". PLUMB_EINVAL for an empty command or an
 * unbalanced quote. The caller frees *out with plumb_command_free. */
PLUMB_API int plumb_command_new(const char *text, plumb_shell_mode_t mode,
                                const char *shell, plumb_command_t **out);
PLUMB_API void plumb_command_free(plumb_command_t *cmd);
/* The NULL-terminated argv; argv[0] is a name or a path. */
PLUMB_API char *const *plumb_command_argv(const plumb_command_t *cmd);
PLUMB_API int plumb_command_uses_shell(const plumb_command_t *cmd);
/* Copies `tmpl` with every {name} replaced by the value of the parameter of
 * that name; other braces are left alone. The caller frees *out. */
PLUMB_API int plumb_command_substitute(const char *tmpl, size_t n_params,
                                       const char *const *names,
                                       const char *const *values,
                                       char **out);

/* ---- processes ---------------------------------------------------------- */

/* Hardware counters (instructions, cycles) that every child started after
 * they are opened inherits, counting from its exec. */
typedef struct plumb_counters plumb_counters_t;

/* Opens the counters. PLUMB_EUNSUPPORTED when the kernel or the hardware
 * refuses them; *reason then says why (static string). */
PLUMB_API int plumb_counters_new(plumb_counters_t **out, const char **reason);
PLUMB_API void plumb_counters_free(plumb_counters_t *counters);

typedef struct {
    char *const *argv;         /* argv[0]: a path, or a name found in PATH */
    int show_output;           /* 0: the child's stdout goes to /dev/null */
    int64_t timeout_ns;        /* 0: no limit */
    const volatile sig_atomic_t *cancel; /* stop when *cancel != 0; or NULL */
    plumb_counters_t *counters;          /* or NULL */
    char *stderr_tail;         /* receives the last bytes the child wrote to */
    size_t stderr_tail_size;   /* stderr, NUL-terminated; or NULL/0: stderr
                                  is inherited */
} plumb_proc_opts_t;

/* Runs one command to its end and fills *sample from the kernel's own
 * accounting of that child: wait4's rusage, /proc/PID/io read before the
 * child is reaped, and the counters. The child gets its own process group
 * and /dev/null as stdin; on timeout or cancellation the whole group is
 * killed. Returns 0 when the child ran (exit code, signal and time-out are
 * in *sample), PLUMB_ENOENT when argv[0] is not found, PLUMB_EEXEC when it
 * could not be started, PLUMB_ECANCELED when cancelled (the group is killed
 * and reaped). */
PLUMB_API int plumb_proc_run(const plumb_proc_opts_t *opts,
                             plumb_sample_t *sample);
/* The path of an executable: `name` itself when it holds a '/', else the
 * first match in PATH. PLUMB_ENOENT when none. The caller frees *path. */
PLUMB_API int plumb_proc_which(const char *name, char **path);
/* Runs argv with stdout captured into out (at most size-1 bytes, NUL-
 * terminated, trailing newline removed) and stderr discarded; for short
 * queries such as an interpreter's version. PLUMB_EFAILED on a non-zero
 * exit. */
PLUMB_API int plumb_proc_capture(char *const *argv, char *out, size_t size);
/* The harness's own cost per run: the median wall time of starting and
 * reaping a child that exits at once, without exec, over `reps` tries. */
PLUMB_API int plumb_proc_overhead(unsigned reps, int64_t *overhead_ns);

/* ---- environment -------------------------------------------------------- */

/* Where a measurement was taken. Empty strings mean unknown. */
typedef struct {
    char host[256];
    char kernel[256];        /* "Linux 6.1.0-18-amd64 x86_64" */
    char cpu_model[256];
    int cpus;                /* online CPUs */
    double load_avg1;        /* 1-minute load average; -1 unknown */
    char governor[64];       /* CPU frequency governor of cpu0; "" unknown */
    int64_t created_ns;      /* realtime when collected */
    char plumb_version[32];
} plumb_env_t;

PLUMB_API int plumb_env_collect(plumb_env_t *env);
/* The commit checked out in the git work tree holding `dir` (read from
 * .git, no git needed). PLUMB_ENOTFOUND outside a work tree. */
PLUMB_API int plumb_env_git_commit(const char *dir, char *out, size_t size);

/* ---- sessions and runs -------------------------------------------------- */

/* A run is one measured thing: a command with fixed parameter values, and
 * its samples. */
typedef struct {
    int64_t id;            /* store id; 0 until stored */
    char *name;            /* label shown to the user */
    char *command;         /* command line after parameter substitution */
    size_t n_params;
    char **param_names, **param_values;
    char *python;          /* "CPython 3.11.7" when it runs a Python; NULL */
    int shell;             /* 1 when it ran through a shell */
    int64_t shell_overhead_ns; /* subtracted from each wall time; 0 none */
    int baseline;          /* index of the run it is compared with; -1 none */
    int series;            /* runs of one command across a scan share it */
    char *series_name;     /* the command as written, {params} unexpanded;
                              NULL: name (not stored) */
    double x;              /* scanned parameter's numeric value; NaN none */
    uint64_t loops;        /* 0: a command, one execution per sample. >= 1:
                              an in-process timing loop (plumb_loop_measure,
                              plumb.bench): each sample times `loops` calls,
                              its wall_ns is their total, and
                              plumb_run_values gives per-call values */
    plumb_sample_t *samples;
    size_t n_samples, samples_cap;
} plumb_run_t;

/* A session is one invocation of plumb: its environment and its runs. */
typedef struct {
    int64_t id;            /* store id; 0 until stored */
    plumb_env_t env;
    char *invocation;      /* the command line of plumb itself */
    char *git_commit;      /* of the measured code; NULL outside git */
    char *scan_param;      /* name of the parameter fitted over; NULL */
    char *counters;        /* which hardware counters were read, or why
                              none could be */
    int partial;           /* 1 when interrupted before its end */
    uint64_t seed;
    int64_t overhead_ns;   /* harness overhead per run (included) */
    plumb_run_t *runs;
    size_t n_runs, runs_cap;
} plumb_session_t;

/* A new empty session; NULL when out of memory. */
PLUMB_API plumb_session_t *plumb_session_new(void);
PLUMB_API void plumb_session_free(plumb_session_t *s);
/* Appends a run (copies name and command); *run points into s->runs and is
 * valid until the next add. baseline -1, series = its index, x NaN. */
PLUMB_API int plumb_session_add_run(plumb_session_t *s, const char *name,
                                    const char *command, plumb_run_t **run);
PLUMB_API int plumb_run_add_param(plumb_run_t *run, const char *name,
                                  const char *value);
PLUMB_API int plumb_run_add_sample(plumb_run_t *run,
                                   const plumb_sample_t *sample);
/* Appends a copy of `src` (from another session) to s, samples and all;
 * the copy's baseline is -1 and its series its own index. */
PLUMB_API int plumb_session_copy_run(plumb_session_t *s,
                                     const plumb_run_t *src,
                                     plumb_run_t **run);
/* The available values of one metric over the run's samples, as doubles in
 * a new array the caller frees; *n may be 0 (and *values NULL). For a loop
 * run (loops >= 1) the values are per call: every metric but max RSS (a
 * peak, not a sum) divided by loops. */
PLUMB_API int plumb_run_values(const plumb_run_t *run, plumb_metric_t m,
                               double **values, size_t *n);
/* Sets a string field (free()ing the old value); value may be NULL. */
PLUMB_API int plumb_set_string(char **field, const char *value);

/* ---- analysis ----------------------------------------------------------- */

typedef struct {
    int measured[PLUMB_METRIC_COUNT];  /* 1 when the metric has values */
    plumb_summary_t summary[PLUMB_METRIC_COUNT];
    size_t failures;                   /* samples that did not exit 0 */
} plumb_run_stats_t;

/* The metrics on which a candidate gets a verdict against its baseline. */
#define PLUMB_VERDICT_METRICS                                                 \
    { PLUMB_METRIC_WALL, PLUMB_METRIC_CPU, PLUMB_METRIC_MAX_RSS,              \
      PLUMB_METRIC_WCHAR }
#define PLUMB_N_VERDICT_METRICS 4

typedef struct {
    size_t baseline, candidate;        /* run indices */
    int compared[PLUMB_N_VERDICT_METRICS];
    plumb_comparison_t cmp[PLUMB_N_VERDICT_METRICS];
} plumb_pair_t;

typedef struct {
    int series;
    size_t first_run;                  /* a run of the series, for its name */
    double n_lo, n_hi;
    plumb_fit_t fit;
} plumb_series_fit_t;

typedef struct {
    size_t fit_a, fit_b;               /* indices into fits */
    double n;                          /* where the fitted curves cross */
} plumb_crossover_t;

typedef struct {
    plumb_compare_opts_t opts;
    plumb_run_stats_t *runs;           /* one per session run */
    size_t n_runs;
    plumb_pair_t *pairs;
    size_t n_pairs;
    plumb_series_fit_t *fits;
    size_t n_fits;
    plumb_crossover_t *crossovers;
    size_t n_crossovers;
    char **warnings;                   /* sentences for the user */
    size_t n_warnings;
} plumb_analysis_t;

/* Analyses a session: statistics per run, every run against its baseline,
 * complexity fits per series over session->scan_param, crossovers against
 * the baseline's series, and warnings (variance, resolution, load, CPU
 * governor, outliers, failures). The caller frees *out. */
PLUMB_API int plumb_analysis_new(const plumb_session_t *s,
                                 const plumb_compare_opts_t *opts,
                                 plumb_analysis_t **out);
PLUMB_API void plumb_analysis_free(plumb_analysis_t *a);

/* ---- benchmarking ------------------------------------------------------- */

typedef enum {
    PLUMB_SCHEDULE_BLOCKS,     /* every round runs each command once, in a
                                  seeded random order */
    PLUMB_SCHEDULE_INTERLEAVE, /* A B A B ... */
    PLUMB_SCHEDULE_SEQUENTIAL  /* all of A, then all of B */
} plumb_schedule_t;

typedef struct {
    size_t runs_done, runs_total; /* total is an estimate until known */
    int64_t elapsed_ns, eta_ns;   /* eta -1 while unknown */
    const char *current;          /* name of the run in progress */
} plumb_progress_t;

typedef void (*plumb_progress_fn)(const plumb_progress_t *p, void *data);

typedef struct {
    unsigned warmup;        /* runs per command before measuring; 1 */
    unsigned min_runs;      /* 10 */
    unsigned max_runs;      /* 0: no cap */
    unsigned runs;          /* fixed count; 0: decided by min_runs/budget */
    double budget_s;        /* measuring time per command to reach; 3 */
    int64_t timeout_ns;     /* per run; 0 none */
    int ignore_failure;
    int show_output;
    plumb_schedule_t schedule;
    uint64_t seed;
    plumb_shell_mode_t shell_mode;
    const char *shell;      /* NULL: sh */
    const char *prepare;    /* before every run, not timed; or NULL */
    const char *setup;      /* before the first run of each command */
    const char *cleanup;    /* after the last run of each command */
    const char *compare_param; /* compare a parameter's values; or NULL */
    const char *baseline;   /* name (or compare_param value) of the
                               baseline; NULL: the first */
    const char *invocation; /* plumb's own command line, for the record */
    plumb_progress_fn progress;
    void *progress_data;
    const volatile sig_atomic_t *cancel;
} plumb_bench_opts_t;

/* What went wrong when plumb_bench_run fails. */
typedef struct {
    int err;                /* the PLUMB_E* code */
    const char *phase;      /* "run", "warmup", "prepare", "setup", ... */
    char *run_name;
    char *command;
    char *program;          /* for NOENT/EXEC: the program not started */
    int exit_code, term_signal, timed_out;
    char stderr_tail[2048];
} plumb_bench_failure_t;

typedef struct plumb_bench plumb_bench_t;

PLUMB_API void plumb_bench_opts_init(plumb_bench_opts_t *opts);
/* Copies opts (strings too). The caller frees *out. */
PLUMB_API int plumb_bench_new(const plumb_bench_opts_t *opts,
                              plumb_bench_t **out);
PLUMB_API void plumb_bench_free(plumb_bench_t *b);
/* Adds a command template; name NULL labels it with the command. */
PLUMB_API int plumb_bench_add_command(plumb_bench_t *b, const char *name,
                                      const char *command);
/* Adds a parameter and its values, substituted for {name}. */
PLUMB_API int plumb_bench_add_param(plumb_bench_t *b, const char *name,
                                    size_t n_values,
                                    const char *const *values);
/* Measures every command (for every parameter combination). On success,
 * and on PLUMB_ECANCELED (then marked partial), *out receives the session,
 * which the caller frees. On other errors nothing is returned and
 * plumb_bench_failure() says what failed. */
PLUMB_API int plumb_bench_run(plumb_bench_t *b, plumb_session_t **out);
PLUMB_API const plumb_bench_failure_t *
plumb_bench_failure(const plumb_bench_t *b);

/* ---- store -------------------------------------------------------------- */

/* Persistent history in SQLite. Each session is written in one transaction,
 * so an interrupted write leaves nothing behind. */
typedef struct plumb_store plumb_store_t;

/* The store path: `path` if given, else $PLUMB_STORE, else
 * .plumb/plumb.db. Static or borrowed; not to be freed. */
PLUMB_API const char *plumb_store_default_path(const char *path);
/* Opens or creates the store at `path` (creating its directory), migrating
 * an older schema. PLUMB_ESCHEMA when a newer plumb wrote it, PLUMB_ESTORE
 * when it is not a plumb store or cannot be opened; plumb_store_errmsg
 * then says why. *out is set (for errmsg) even on failure: always close it. */
PLUMB_API int plumb_store_open(const char *path, plumb_store_t **out);
PLUMB_API void plumb_store_close(plumb_store_t *st);
/* Details of the last error; never NULL. */
PLUMB_API const char *plumb_store_errmsg(const plumb_store_t *st);
PLUMB_API int plumb_store_schema_version(plumb_store_t *st);
/* Saves a session, its runs and samples; sets s->id and each run's id. */
PLUMB_API int plumb_store_save(plumb_store_t *st, plumb_session_t *s);
/* Loads run `run_id` into a new session holding that run only, with the
 * environment of the session that measured it. PLUMB_ENOTFOUND if absent. */
PLUMB_API int plumb_store_load_run(plumb_store_t *st, int64_t run_id,
                                   plumb_session_t **out);

/* The newest run named `name` (a command run or a loop run; profiles and
 * memory profiles are not compared sample by sample and are left out), in session `session_id`
 * or, when it is 0, in any session: its id in *run_id. PLUMB_ENOTFOUND when
 * there is none. */
PLUMB_API int plumb_store_find_run(plumb_store_t *st, const char *name,
                                   int64_t session_id, int64_t *run_id);

typedef struct {
    int64_t run_id, session_id;
    int64_t created_ns;
    char *name, *command;
    size_t n_samples;
    double median_wall_ns; /* NaN when none (a profile); per call for a
                              loop run */
    int partial;
    int profile;           /* 1 for a profile run (n_samples: its ticks) */
    int mem;               /* 1 for a memory profile run (n_samples: its
                              sampled allocations) */
} plumb_run_info_t;

/* The newest `limit` runs (0: all), newest first. Free with
 * plumb_run_info_free. */
PLUMB_API int plumb_store_list(plumb_store_t *st, size_t limit,
                               plumb_run_info_t **out, size_t *n);
PLUMB_API void plumb_run_info_free(plumb_run_info_t *infos, size_t n);

/* ---- reports ------------------------------------------------------------ */

typedef enum {
    PLUMB_FORMAT_TEXT,
    PLUMB_FORMAT_MARKDOWN,
    PLUMB_FORMAT_JSON,
    PLUMB_FORMAT_CSV
} plumb_format_t;

typedef struct {
    int color;   /* ANSI colour in text */
    int verbose; /* every metric, not only the headline ones */
    int python;  /* hints name the Python API's arguments (top=N,
                    mode='wall'), not the command line's options */
} plumb_report_opts_t;

/* Renders a session and its analysis; *out is a new string the caller
 * frees. JSON follows docs/json.md (schema_version). */
PLUMB_API int plumb_report_render(const plumb_session_t *s,
                                  const plumb_analysis_t *a,
                                  plumb_format_t format,
                                  const plumb_report_opts_t *opts,
                                  char **out);

/* ---- stacks -------------------------------------------------------------- */

/* One frame of a Python stack. */
typedef struct {
    const char *function; /* qualified name where the version has one */
    const char *file;
    int line;             /* 0 when unknown */
} plumb_frame_t;

/* Aggregated stacks: a trie of frames per thread with a sample count on
 * each node, so a long session stays as small as its distinct stacks. It
 * copies every string it is given. */
typedef struct plumb_stack plumb_stack_t;

/* An empty stack in *out, which the caller frees with plumb_stack_free. */
PLUMB_API int plumb_stack_new(plumb_stack_t **out);
PLUMB_API void plumb_stack_free(plumb_stack_t *st);
/* Adds `count` samples of one stack of thread `thread` (a label such as
 * "MainThread (tid 4242)"); frames[0] is the innermost. truncated marks a
 * stack cut short: a frame "[truncated]" stands at its outer end. n may be
 * 0 (a thread running no Python); a NULL function reads "[unknown]", a NULL
 * file "". Adding a stack already seen allocates nothing. PLUMB_EINVAL for
 * NULL st or thread, or NULL frames with n > 0; count 0 adds nothing. */
PLUMB_API int plumb_stack_add(plumb_stack_t *st, const char *thread,
                              const plumb_frame_t *frames, size_t n,
                              int truncated, uint64_t count);
/* Adds every sample of src to dst, as if src's stacks had been added to it
 * (the same threads, frames and counts). On PLUMB_ENOMEM dst may hold part
 * of src. PLUMB_EINVAL for NULL or dst == src. */
PLUMB_API int plumb_stack_merge(plumb_stack_t *dst, const plumb_stack_t *src);
/* Samples added so far, every thread's (0 for NULL). */
PLUMB_API uint64_t plumb_stack_total(const plumb_stack_t *st);
/* Collapsed stacks (FlameGraph, inferno): one line per distinct stack,
 * "thread;outer;...;inner COUNT", a frame written "function (file:line)"
 * ("[truncated]" alone), lines sorted bytewise. In names, ';' becomes ':'
 * and a newline a space. The caller frees *out; "" when empty. */
PLUMB_API int plumb_stack_collapsed(const plumb_stack_t *st, char **out);
/* The stacks as a speedscope file
 * (https://www.speedscope.app/file-format-schema.json): one "sampled"
 * profile per thread, one sample per distinct stack weighted by its count.
 * `name` names the file (NULL: no name). The caller frees *out. */
PLUMB_API int plumb_stack_speedscope(const plumb_stack_t *st,
                                     const char *name, char **out);
/* The same with the counts in `unit`, one of speedscope's: "none" (as
 * plumb_stack_speedscope writes them: samples), "bytes" (memory
 * profiles), "nanoseconds", "microseconds", "milliseconds", "seconds";
 * PLUMB_EINVAL for another. */
PLUMB_API int plumb_stack_speedscope_unit(const plumb_stack_t *st,
                                          const char *name, const char *unit,
                                          char **out);

/* One distinct stack of an aggregate, as plumb_stack_each hands it over. */
typedef struct {
    const char *thread;          /* the label; "[unnamed thread]" for "" */
    const plumb_frame_t *frames; /* outermost first, the "[truncated]"
                                    marker left out */
    size_t n_frames;             /* 0: a thread running no Python */
    int truncated;               /* 1 when cut short at its outer end */
    uint64_t count;              /* samples of exactly this stack */
} plumb_stack_path_t;

/* Called once per stack; a non-zero return stops the walk. */
typedef int (*plumb_stack_visit_fn)(const plumb_stack_path_t *path,
                                    void *arg);

/* Calls visit with every distinct stack that holds samples, by count,
 * descending, then by thread and frames (function, file, line, outermost
 * first), so the order does not depend on the order of the adds. A path
 * and its frames live only during the call; the strings are the stack's.
 * Returns visit's first non-zero return, PLUMB_EINVAL for NULL st or
 * visit, PLUMB_ENOMEM (before any call), else 0. */
PLUMB_API int plumb_stack_each(const plumb_stack_t *st,
                               plumb_stack_visit_fn visit, void *arg);

/* Adds `count` samples of one collapsed stack, a line of
 * plumb_stack_collapsed without its count: "thread;outer;...;inner". A
 * frame "function (file:line)" is split at the last " (" whose tail is
 * "file:line)", so a function name holding " (" reads back whole (a file
 * name holding " (" is then split there; the collapsed text still reads
 * the same); a frame
 * without such a tail is a function of file "" and line 0 (as "[truncated]"
 * is written). Names lose what collapsed stacks escape (';', newlines).
 * PLUMB_EINVAL for NULL st or line; count 0 adds nothing. */
PLUMB_API int plumb_stack_add_collapsed(plumb_stack_t *st, const char *line,
                                        uint64_t count);

/* A function (or a line) with the samples in which it is innermost (self)
 * and in which it is anywhere on the stack (total, counted once per
 * sample even when it recurses). */
typedef struct {
    const char *function, *file; /* owned by the stack */
    int line;                    /* 0 when listed by function */
    uint64_t self, total;
} plumb_stack_entry_t;

/* Every function (by_line 0) or line (by_line 1), by self count, then
 * total, descending, then by name. The caller frees *out (free()); the
 * strings stay the stack's. *out is NULL when *n is 0. */
PLUMB_API int plumb_stack_top(const plumb_stack_t *st, int by_line,
                              plumb_stack_entry_t **out, size_t *n);

/* A function's share of two aggregates: the fraction of each one's
 * samples in which it is on the stack (its total / all samples). */
typedef struct {
    const char *function, *file; /* owned by one of the two stacks */
    uint64_t total_a, total_b;
    double share_a, share_b;     /* 0..1; 0 where the function is absent */
} plumb_stack_change_t;

/* Every function of a or b with its share in each, by the size of the
 * change |share_b - share_a|, descending, then by name. The caller frees
 * *out (free()); the strings stay the stacks'. *out is NULL when *n is 0. */
PLUMB_API int plumb_stack_diff(const plumb_stack_t *a, const plumb_stack_t *b,
                               plumb_stack_change_t **out, size_t *n);

/* ---- profiling ----------------------------------------------------------- */

typedef enum {
    PLUMB_PROFILE_CPU,  /* only threads that run: holding the GIL, or
                           else on a CPU as the kernel says */
    PLUMB_PROFILE_WALL  /* every thread, idle or blocked included */
} plumb_profile_mode_t;

typedef struct {
    double rate_hz;            /* samples per second; default 2000 */
    plumb_profile_mode_t mode; /* default CPU */
    double duration_s;         /* stop after this long; 0: until the target
                                  exits or *cancel is set */
    int children;              /* also sample the Python processes the
                                  target starts, each labelled by pid */
    uint64_t only_thread_id;   /* record only the thread with this id (its
                                  pthread id, Python's
                                  threading.get_ident()); 0: every one */
    const volatile sig_atomic_t *cancel;
} plumb_profile_opts_t;

/* One thread of a profiled process. */
typedef struct {
    char label[64];            /* "main thread (tid 4242)" */
    uint64_t stacks;           /* stacks recorded for it */
    uint64_t gil_ticks;        /* ticks at which it held the GIL */
    int gil_known;             /* 0 when the version cannot tell */
} plumb_profile_thread_t;

/* What a profiling session collected, and how faithfully. */
typedef struct {
    plumb_stack_t *stacks;     /* aggregated stacks, owned */
    int pid;
    char python[32];           /* "CPython 3.12.1" */
    plumb_profile_mode_t mode;
    double rate_hz;            /* asked for */
    double achieved_hz;        /* samples taken per second of duration */
    int64_t duration_ns;
    uint64_t samples;          /* ticks at which the target was read */
    uint64_t dropped;          /* ticks discarded: the stacks changed while
                                  being read (never invented) */
    uint64_t thread_samples;   /* stacks recorded (one per counted thread) */
    uint64_t idle;             /* cpu mode: thread ticks skipped as off-CPU */
    size_t threads_seen;       /* distinct threads met */
    size_t processes;          /* CPython processes sampled (children) */
    plumb_profile_thread_t *threads; /* the first ones met, in order */
    size_t n_threads;
    int exit_status;           /* launch: the program's exit code, -1 when
                                  killed by a signal; attach: -1 */
    int exit_signal;           /* launch: the signal that killed the
                                  program; 0 when it exited or was
                                  attached to */
    char command[1024];        /* what was profiled, as the store names it:
                                  the command line, or "pid N" when
                                  attached; "" when not said (set by the
                                  client; a longer one is cut) */
} plumb_profile_t;

/* Saves a profile as a new session (environment `env`, or blanks when NULL;
 * `invocation` is plumb's own command line, or NULL) holding one run of
 * kind profile named "profile: COMMAND" ("profile: pid N" when command is
 * NULL), with its header, threads and aggregated stacks (one row per
 * distinct stack), all in one transaction. Sets *run_id (may be NULL). */
PLUMB_API int plumb_store_save_profile(plumb_store_t *st,
                                       const plumb_profile_t *p,
                                       const plumb_env_t *env,
                                       const char *command,
                                       const char *invocation,
                                       int64_t *run_id);
/* Loads profile run `run_id`, its stacks rebuilt from the stored rows
 * (their collapsed stacks read the same as the saved profile's).
 * PLUMB_ENOTFOUND when there is no such run or it is not a profile. The
 * caller frees *out with plumb_profile_free. */
PLUMB_API int plumb_store_load_profile(plumb_store_t *st, int64_t run_id,
                                       plumb_profile_t **out);

PLUMB_API void plumb_profile_opts_init(plumb_profile_opts_t *opts);
/* Samples the running CPython process pid without stopping it, until it
 * exits, the duration passes or *cancel is set. PLUMB_ENOTFOUND (no such
 * process, or it is not CPython), PLUMB_EACCESS, PLUMB_EUNSUPPORTED (its
 * version); `why` then holds a sentence for the user. The caller frees *out
 * with plumb_profile_free. */
PLUMB_API int plumb_profile_attach(int pid, const plumb_profile_opts_t *opts,
                                   plumb_profile_t **out, char *why,
                                   size_t why_size);
/* Starts argv (argv[0] found in PATH) and samples it until it exits. */
PLUMB_API int plumb_profile_launch(char *const *argv,
                                   const plumb_profile_opts_t *opts,
                                   plumb_profile_t **out, char *why,
                                   size_t why_size);
PLUMB_API void plumb_profile_free(plumb_profile_t *p);
/* Adds src to dst as if one session had taken both: stacks, samples,
 * dropped and idle ticks, duration, threads (by label); the achieved rate
 * is recomputed. dst keeps its header (pid, python, mode, rate asked).
 * PLUMB_EINVAL for NULL or dst == src; PLUMB_ENOMEM (dst may then hold
 * part of src's stacks). */
PLUMB_API int plumb_profile_merge(plumb_profile_t *dst,
                                  const plumb_profile_t *src);
/* A copy of p in *out, which the caller frees with plumb_profile_free.
 * PLUMB_EINVAL, PLUMB_ENOMEM. */
PLUMB_API int plumb_profile_copy(const plumb_profile_t *p,
                                 plumb_profile_t **out);

/* A profile being taken on a thread of its own, between
 * plumb_profile_start and plumb_profile_stop. */
typedef struct plumb_profiler plumb_profiler_t;

/* Connects to the running CPython process pid, then samples it on a new
 * thread of the calling process until plumb_profile_stop (or until
 * opts->duration_s passes or the process exits). pid may be the calling
 * process itself: the thread is not a Python thread, so the interpreter
 * does not list it and it never appears in the profile; it takes no
 * signal, and only it runs with a short timer slack. A
 * process that cannot be profiled fails here, before any sampling, with
 * the errors of plumb_profile_attach and a sentence in `why` (the calling
 * process is not waited for: it is a CPython now or never). The caller
 * ends *out with plumb_profile_stop. */
PLUMB_API int plumb_profile_start(int pid, const plumb_profile_opts_t *opts,
                                  plumb_profiler_t **out, char *why,
                                  size_t why_size);
/* Stops the thread, waits for it (at most one sample and 5 ms) and frees
 * pr. The profile goes to *out, which the caller frees with
 * plumb_profile_free; out may be NULL to discard it. Returns what stopped
 * the sampling when it failed (PLUMB_ENOMEM, or PLUMB_ENOTFOUND when no
 * CPython was read; `why` then says more). In a process forked from the
 * one that started it there is no such thread: PLUMB_EINVAL, nothing is
 * waited for and pr is left to the fork's copy of memory (it may have been
 * copied mid-change, so it is not freed). NULL pr: PLUMB_EINVAL. */
PLUMB_API int plumb_profile_stop(plumb_profiler_t *pr, plumb_profile_t **out,
                                 char *why, size_t why_size);
/* The terminal summary of a profile: what was sampled and how faithfully,
 * then the `top` functions and lines by self and total share. The caller
 * frees *out. */
PLUMB_API int plumb_report_profile(const plumb_profile_t *p,
                                   const plumb_report_opts_t *opts,
                                   size_t top, char **out);

/* The profile as one JSON document (docs/json.md, "Profiles"; kind
 * "profile", PLUMB_JSON_SCHEMA_VERSION): its header, threads, every
 * function and line with its self and total sample counts, and every
 * distinct stack, outermost frame first. The caller frees *out.
 * PLUMB_EINVAL for NULL p or out, PLUMB_ENOMEM. */
PLUMB_API int plumb_report_profile_json(const plumb_profile_t *p,
                                        char **out);

/* Two profiles side by side: for each function, its total share of the
 * samples in a and in b and the change in percentage points, the biggest
 * changes first, `top` rows (0: all). The caller frees *out. */
PLUMB_API int plumb_report_profile_diff(const plumb_profile_t *a,
                                        const plumb_profile_t *b,
                                        const plumb_report_opts_t *opts,
                                        size_t top, char **out);

/* ---- memory profiles ----------------------------------------------------- */

/* The sampling mean that plumb mem and plumb.memory() use unless told:
 * one sample per 16 KiB allocated on average. A heap peak of 200 MB made
 * of objects under 16 KiB is then estimated from about 12 800 samples
 * (0.9% relative standard error). */
#define PLUMB_MEM_DEFAULT_MEAN_BYTES 16384u

/* One moment of a memory profile's timeline. */
typedef struct {
    int64_t t_ns;        /* since the recording started */
    uint64_t heap_bytes; /* estimated live heap then */
    uint64_t rss_bytes;  /* the process's resident set then; 0: unknown */
} plumb_mem_point_t;

/* The timeline keeps at most this many points: when full, neighbours are
 * merged two by two (each merged point keeps the higher heap and RSS, so
 * no peak is lost) and points are taken half as often. */
#define PLUMB_MEM_TIMELINE_MAX 512

/* Where a program's memory went: allocations sampled by bytes (on average
 * one sample per mean_bytes allocated, each standing for its size divided
 * by the chance it had to be sampled, so the estimates are unbiased), each
 * with the Python stack that made it. The three aggregates count bytes
 * where a CPU profile counts samples. */
typedef struct {
    int pid;
    char python[32];            /* "CPython 3.11.2" */
    char command[1024];         /* what was recorded ("" when not said) */
    uint64_t mean_bytes;        /* the sampling rate */
    int native;                 /* 1: malloc & co. from C code recorded too */
    int64_t duration_ns;
    uint64_t allocated_bytes;   /* exact: every allocation counted */
    uint64_t allocations;       /* exact */
    uint64_t samples;           /* sampled allocations */
    uint64_t peak_bytes;        /* estimated: the highest live heap */
    int64_t peak_ns;            /* when it was reached */
    uint64_t end_bytes;         /* estimated: live when recording ended */
    uint64_t start_rss_bytes;   /* RSS when recording started */
    uint64_t peak_rss_bytes;    /* highest RSS seen (the kernel's high-water
                                   mark when it tells; 0: unknown) */
    plumb_mem_point_t *timeline; /* owned; oldest first */
    size_t n_timeline;
    int64_t timeline_step_ns;   /* points are this far apart (at least) */
    plumb_stack_t *peak;        /* bytes alive at the peak, per stack */
    plumb_stack_t *allocated;   /* bytes allocated, per stack */
    plumb_stack_t *end;         /* bytes still alive at the end, per stack:
                                   likely leaks */
    int complete;               /* 0: the program died first; the figures
                                   are those of its last snapshot */
    int exit_status;            /* launch: exit code, -1 when killed; else -1 */
    int exit_signal;            /* launch: the signal that killed it, or 0 */
} plumb_mem_t;

/* An empty memory profile (its three stacks allocated) in *out, which the
 * caller frees with plumb_mem_free. PLUMB_EINVAL, PLUMB_ENOMEM. */
PLUMB_API int plumb_mem_new(plumb_mem_t **out);
PLUMB_API void plumb_mem_free(plumb_mem_t *m);
/* Adds a timeline point at t_ns, unless the last one is less than
 * timeline_step_ns older (then that one keeps the higher of each figure).
 * Keeps at most PLUMB_MEM_TIMELINE_MAX points (see there). PLUMB_EINVAL,
 * PLUMB_ENOMEM. */
PLUMB_API int plumb_mem_add_point(plumb_mem_t *m, int64_t t_ns,
                                  uint64_t heap_bytes, uint64_t rss_bytes);
/* The memory profile as one JSON document (docs/json.md, "Memory
 * profiles"; kind "mem"): its header, timeline and the three aggregates as
 * lists of stacks (outermost frame first) with their bytes. The caller
 * frees *out. */
PLUMB_API int plumb_report_mem_json(const plumb_mem_t *m, char **out);
/* Reads back a document of plumb_report_mem_json. PLUMB_EPARSE with a
 * sentence in `why` when it is not one. The caller frees *out with
 * plumb_mem_free. */
PLUMB_API int plumb_mem_from_json(const char *text, plumb_mem_t **out,
                                  char *why, size_t why_size);
/* The terminal summary: the peak (heap and RSS) and how it was estimated,
 * what was allocated, the top `top` lines and functions alive at the peak,
 * allocating most, and holding memory at the end, and the timeline. The
 * caller frees *out. */
PLUMB_API int plumb_report_mem(const plumb_mem_t *m,
                               const plumb_report_opts_t *opts, size_t top,
                               char **out);
/* Two memory profiles side by side: their heap peaks and the ratio of B's
 * to A's, then for each function the bytes alive at the peak (callees
 * included) in a and in b and the change, the biggest changes in bytes
 * first, `top` rows (0: all). The caller frees *out. */
PLUMB_API int plumb_report_mem_diff(const plumb_mem_t *a, const plumb_mem_t *b,
                                    const plumb_report_opts_t *opts,
                                    size_t top, char **out);
/* Saves a memory profile as a new session (environment `env`, or blanks
 * when NULL; `invocation` is plumb's own command line, or NULL) holding
 * one run of kind mem named "mem: COMMAND" (m->command; "mem: pid N" when
 * it is ""), marked partial when the profile is not complete, with its
 * header, timeline and aggregated stacks (one row per distinct stack with
 * its bytes at the peak, allocated and at the end), all in one
 * transaction. Sets *run_id (may be NULL). */
PLUMB_API int plumb_store_save_mem(plumb_store_t *st, const plumb_mem_t *m,
                                   const plumb_env_t *env,
                                   const char *invocation, int64_t *run_id);
/* Loads memory profile run `run_id` (its stacks rebuilt from the stored
 * rows: their collapsed stacks read the same as the saved profile's).
 * PLUMB_ENOTFOUND when there is no such run or it is not a memory profile.
 * The caller frees *out with plumb_mem_free. */
PLUMB_API int plumb_store_load_mem(plumb_store_t *st, int64_t run_id,
                                   plumb_mem_t **out);

/* ---- in-process timing -------------------------------------------------- */

/* Runs the measured code `loops` times (as `run`), or prepares the next
 * sample (as `setup`, untimed). Returns 0, or a negative value that stops
 * the measurement; the client keeps its own account of why. */
typedef int (*plumb_loop_fn)(void *data, uint64_t loops);

typedef struct {
    double budget_s;        /* measuring time per subject to reach; 1 */
    int64_t min_sample_ns;  /* shortest sample; 0: 10 ms, or 1000 steps of
                               the clock when it is coarser */
    unsigned warmup;        /* samples discarded after calibration; 1 */
    unsigned min_samples;   /* 10 */
    unsigned max_samples;   /* 0: no cap */
    unsigned samples;       /* fixed count; 0: decided by min_samples/budget */
    uint64_t loops;         /* fixed loops per sample; 0: calibrate */
    uint64_t seed;          /* the order of the subjects in each round */
    int equal_samples;      /* 1: raise every subject's loops so that its
                               samples last as long as the longest
                               subject's, and preemption on a busy machine
                               stretches them all alike (complexity scans);
                               0 (default): each just past min_sample_ns */
} plumb_loop_opts_t;

/* One thing measured in-process, and (out) what was measured. */
typedef struct {
    plumb_loop_fn run;      /* the measured code, timed around the call */
    plumb_loop_fn setup;    /* before every sample, calibration and warm-up
                               included, with that sample's loops; or NULL */
    void *data;             /* handed to run and setup */
    uint64_t loops;         /* out: loops per sample */
    double *loop_ns;        /* out: time per loop of each sample; the caller
                               frees it (free()), also after an error */
    size_t n_samples;       /* out */
} plumb_loop_subject_t;

PLUMB_API void plumb_loop_opts_init(plumb_loop_opts_t *opts);
/* Measures subjects[0..n): calibrates each one's loops per sample (1, 2,
 * 5, 10, 20, ... until two samples in a row last min_sample_ns; with
 * equal_samples, as long as the longest subject's), discards `warmup`
 * samples, then takes rounds in which every subject gives one sample, in a
 * seeded random order, until each has min_samples and has spent budget_s
 * (or has max_samples, or `samples` when fixed). Returns 0; the first
 * negative value a callback returned (the subjects keep what they had);
 * PLUMB_EINVAL for NULL or options out of range; PLUMB_ENOMEM. */
PLUMB_API int plumb_loop_measure(const plumb_loop_opts_t *opts,
                                 plumb_loop_subject_t *subjects, size_t n);
/* Appends a run of in-process measurements as plumb_loop_measure left
 * them in `subject` (loops, and loop_ns, the time per call of each sample):
 * run->loops is subject->loops, and each sample's wall_ns is the time of
 * its loops calls, loop_ns * loops rounded to the ns the clock gave, the
 * other metrics unavailable. PLUMB_EINVAL for NULL arguments, loops 0,
 * samples without an array, or a negative or non-finite time. */
PLUMB_API int plumb_session_add_loop_run(plumb_session_t *s, const char *name,
                                         const char *command,
                                         const plumb_loop_subject_t *subject,
                                         plumb_run_t **run);
/* The clock's granularity in ns: the median of the smallest non-zero steps
 * between consecutive readings. */
PLUMB_API int64_t plumb_loop_clock_step_ns(void);

/* ---- histograms ---------------------------------------------------------- */

/* A fixed-memory record of durations (ns): exact count, sum, min and max,
 * and log-linear buckets (64 per power of two), so that any quantile is
 * read back within 1/128 (0.8%) of a value that was recorded, up to 2^45
 * ns (9.8 hours; longer ones share the last bucket, max stays exact).
 * Recording is a few instructions and never allocates: it is meant to stay
 * on in production code (plumb.timed). */
typedef struct plumb_histogram plumb_histogram_t;

/* *out is freed with plumb_histogram_free. PLUMB_EINVAL, PLUMB_ENOMEM. */
PLUMB_API int plumb_histogram_new(plumb_histogram_t **out);
PLUMB_API void plumb_histogram_free(plumb_histogram_t *h);
/* Adds one duration; a negative one counts as 0. */
PLUMB_API void plumb_histogram_record(plumb_histogram_t *h, int64_t ns);
/* Forgets every value. */
PLUMB_API void plumb_histogram_reset(plumb_histogram_t *h);
/* Adds every value of src to dst. PLUMB_EINVAL for NULL. */
PLUMB_API int plumb_histogram_merge(plumb_histogram_t *dst,
                                    const plumb_histogram_t *src);

typedef struct {
    uint64_t count;
    int64_t sum_ns, min_ns, max_ns; /* 0 when count is 0 */
    double mean_ns;                 /* NaN when count is 0 */
} plumb_histogram_totals_t;

PLUMB_API void plumb_histogram_totals(const plumb_histogram_t *h,
                                      plumb_histogram_totals_t *out);
/* The q-quantile (0 <= q <= 1, nearest rank) of what was recorded: the
 * middle of the bucket holding that rank, kept within [min, max]; q 0 and
 * 1 give min and max exactly. NaN when empty or q is out of range. */
PLUMB_API double plumb_histogram_quantile(const plumb_histogram_t *h,
                                          double q);

/* ---- heaps ---------------------------------------------------------------- */

/* A live heap estimated from allocations sampled by bytes (on average one
 * sampled byte every mean_bytes; an allocation of s bytes is sampled with
 * probability 1 - exp(-s / mean_bytes) and then stands for s divided by
 * that, so the estimates are unbiased). The client intercepts allocations,
 * asks plumb_heap_sample for each, records the sampled ones with the site
 * (a small integer of its own naming a stack) and reports every release.
 * One thread at a time. */
typedef struct plumb_heap plumb_heap_t;

/* What a site allocated and holds, in estimated bytes. */
typedef struct {
    uint64_t allocated_bytes; /* all its sampled allocations stand for */
    uint64_t allocations;     /* sampled allocations */
    uint64_t live_bytes;      /* alive now */
    uint64_t peak_bytes;      /* alive at the heap's peak (within 0.4%) */
} plumb_heap_site_t;

typedef struct {
    uint64_t mean_bytes;
    uint64_t allocated_bytes; /* exact: every allocation counted */
    uint64_t allocations;     /* exact */
    uint64_t samples;         /* sampled allocations recorded */
    uint64_t live_samples;    /* of them, alive now */
    uint64_t live_bytes;      /* estimated */
    uint64_t peak_bytes;      /* estimated: the highest live_bytes */
    size_t sites;             /* ids 0..sites-1 have been used */
} plumb_heap_totals_t;

/* *out is freed with plumb_heap_free. PLUMB_EINVAL (mean_bytes 0),
 * PLUMB_ENOMEM. seed fixes the sampling. */
PLUMB_API int plumb_heap_new(uint64_t mean_bytes, uint64_t seed,
                             plumb_heap_t **out);
PLUMB_API void plumb_heap_free(plumb_heap_t *h);
/* Counts one allocation of size bytes; returns the bytes it stands for when
 * it is sampled (then record it with plumb_heap_alloc), else 0. */
PLUMB_API uint64_t plumb_heap_sample(plumb_heap_t *h, size_t size);
/* A sampler of its own, for a client that counts allocations on several
 * threads at once (one sampler per thread, or per lock): it picks
 * allocations exactly as plumb_heap_sample does (the gaps between sampled
 * bytes are memoryless, so many samplers together sample like one); the
 * heap records the picked ones (plumb_heap_alloc) and adds the totals the
 * client counted (plumb_heap_count). */
typedef struct {
    int64_t countdown; /* bytes until the next sampled one */
    double mean_bytes;
    plumb_rng_t rng;
} plumb_heap_sampler_t;

/* PLUMB_EINVAL for mean_bytes 0. */
PLUMB_API int plumb_heap_sampler_init(plumb_heap_sampler_t *s,
                                      uint64_t mean_bytes, uint64_t seed);
/* The slow half of plumb_heap_sampler_take: the countdown has run out.
 * Draws the next gap; returns the bytes the allocation stands for. */
PLUMB_API uint64_t plumb_heap_sampler_hit(plumb_heap_sampler_t *s,
                                          size_t size);
/* Counts one allocation of size bytes against the sampler's countdown;
 * returns the bytes it stands for when it is sampled, else 0. Inline: it
 * runs on every allocation of the program. */
static inline uint64_t plumb_heap_sampler_take(plumb_heap_sampler_t *s,
                                               size_t size)
{
    s->countdown -= (int64_t)size;
    if (s->countdown > 0 || size == 0)
        return 0;
    return plumb_heap_sampler_hit(s, size);
}
/* Adds allocations counted by the client's samplers to the exact totals. */
PLUMB_API void plumb_heap_count(plumb_heap_t *h, uint64_t bytes,
                                uint64_t allocations);
/* Records a sampled allocation at address ptr standing for weight bytes,
 * made at site. An address recorded again replaces its old entry.
 * PLUMB_EINVAL (ptr 0 or 1, weight 0, site UINT32_MAX), PLUMB_ENOMEM. */
PLUMB_API int plumb_heap_alloc(plumb_heap_t *h, uintptr_t ptr,
                               uint64_t weight, uint32_t site);
/* Reports that ptr was freed: 1 when it was a sampled allocation (now
 * forgotten), 0 otherwise. */
PLUMB_API int plumb_heap_release(plumb_heap_t *h, uintptr_t ptr);
PLUMB_API void plumb_heap_totals(const plumb_heap_t *h,
                                 plumb_heap_totals_t *out);
/* Site `site`'s figures, owned by the heap (valid until its next call), or
 * NULL for a site never used. */
PLUMB_API const plumb_heap_site_t *plumb_heap_site(const plumb_heap_t *h,
                                                   uint32_t site);

/* ---- sql: statements, plans, scratch databases, index trials ----------- *
 * Strings a function returns through char ** or inside a struct are the
 * caller's, freed by the matching _free/_close (or free() for a lone char *).
 * *errmsg, where a function takes one, receives on failure a message
 * (malloc'd, the caller frees) that names the statement or the database. */

typedef enum {
    PLUMB_SQL_OTHER,
    PLUMB_SQL_SELECT,
    PLUMB_SQL_INSERT,
    PLUMB_SQL_UPDATE,
    PLUMB_SQL_DELETE
} plumb_sql_kind_t;

/* One statement's shape: the same statement with other values has the same
 * text and id. */
typedef struct {
    /* Literals (strings, numbers, blobs) and placeholders (?, ?NNN, :name,
     * @name, $name, $1, %s, %(name)s) become ?; a list of them in IN (...)
     * or a run of VALUES tuples becomes one; comments go; whitespace folds
     * to single spaces; unquoted words are lower-cased; quoted identifiers
     * are kept as written. */
    char *text;
    uint64_t id;               /* 64-bit FNV-1a of text */
    plumb_sql_kind_t kind;     /* of the first keyword (WITH ... looks on) */
    unsigned n_literals;       /* literal values written into the statement */
    unsigned n_placeholders;
} plumb_sql_fingerprint_t;

/* Fingerprints sql (NUL-terminated). PLUMB_EINVAL for NULL, PLUMB_ENOMEM.
 * Never fails on malformed SQL: unterminated strings and comments end at
 * the end of the text. */
PLUMB_API int plumb_sql_fingerprint(const char *sql,
                                    plumb_sql_fingerprint_t *out);
PLUMB_API void plumb_sql_fingerprint_close(plumb_sql_fingerprint_t *fp);
PLUMB_API const char *plumb_sql_kind_name(plumb_sql_kind_t kind);

/* How a statement reaches one table: the columns its WHERE (and JOIN ... ON)
 * compares with a value by equality (= or IN), by range (<, <=, >, >=,
 * BETWEEN, LIKE with a constant prefix), and its ORDER BY columns. Names
 * are canonical: unquoted ones lower-cased, quoted ones as written without
 * their quotes. */
typedef struct {
    char *table;
    char **eq;
    size_t n_eq;
    char **range;
    size_t n_range;
    char **order;
    size_t n_order;
} plumb_sql_access_t;

/* The tables sql reads through WHERE, JOIN ... ON and ORDER BY, an access
 * per table (*n = 0 for statements it cannot read: not an error).
 * Qualified columns go to their table or alias; unqualified ones to the
 * only table, and are dropped when there are several. */
PLUMB_API int plumb_sql_accesses(const char *sql, plumb_sql_access_t **out,
                                 size_t *n);
PLUMB_API void plumb_sql_accesses_free(plumb_sql_access_t *a, size_t n);

/* An index to try: name "plumb_<table>_<col>..." (reduced to [a-z0-9_],
 * at most 63 bytes) and its CREATE INDEX statement, identifiers quoted. */
typedef struct {
    char *table;
    char **columns;
    size_t n_columns;
    char *name;
    char *create_sql;
} plumb_sql_index_t;

/* Candidate indexes for the accesses, best first, without duplicates: the
 * equality columns, then each range column or the ORDER BY columns.
 * *n = 0 when there is nothing to index. */
PLUMB_API int plumb_sql_index_candidates(const plumb_sql_access_t *a,
                                         size_t n_access,
                                         plumb_sql_index_t **out, size_t *n);
PLUMB_API void plumb_sql_index_free(plumb_sql_index_t *ix, size_t n);
/* Frees what one index holds (not the index itself, which may be embedded
 * in another structure) and zeroes it. */
PLUMB_API void plumb_sql_index_close(plumb_sql_index_t *ix);

/* The batched form of a statement run once per value: its fingerprint
 * with the single "col = ?" turned into "col IN (?, ?, ...)". PLUMB_ENOTFOUND
 * when the statement has no single equality on a placeholder or literal. */
PLUMB_API int plumb_sql_batched(const char *sql, char **out);

typedef enum {
    PLUMB_SQL_STEP_SCAN,   /* reads a whole table (or whole index) */
    PLUMB_SQL_STEP_SEARCH, /* reads part of a table through an index */
    PLUMB_SQL_STEP_SORT,   /* sorts rows: a temporary b-tree, a Sort node */
    PLUMB_SQL_STEP_OTHER
} plumb_sql_step_kind_t;

typedef struct {
    plumb_sql_step_kind_t kind;
    char *table;  /* NULL when the step names none */
    char *index;  /* NULL when it uses none */
    char *detail; /* the planner's words, e.g. "SCAN book" */
    double rows;  /* the planner's estimate, NAN when it gives none */
} plumb_sql_step_t;

typedef struct {
    plumb_sql_step_t *steps;
    size_t n_steps, cap;
} plumb_sql_plan_t;

PLUMB_API void plumb_sql_plan_init(plumb_sql_plan_t *plan);
PLUMB_API void plumb_sql_plan_close(plumb_sql_plan_t *plan);
/* Appends one row's detail column of SQLite's EXPLAIN QUERY PLAN (each
 * version's wording: "SCAN t", "SCAN TABLE t", "SEARCH t USING INDEX i
 * (a=?)", "USE TEMP B-TREE FOR ORDER BY", ...). */
PLUMB_API int plumb_sql_plan_add_sqlite(plumb_sql_plan_t *plan,
                                        const char *detail);
/* Appends the nodes of PostgreSQL's EXPLAIN (FORMAT JSON) output, depth
 * first. PLUMB_EPARSE for text that is not such a document. */
PLUMB_API int plumb_sql_plan_add_pg(plumb_sql_plan_t *plan,
                                    const char *json);
/* The steps' details joined with "; " (malloc'd). */
PLUMB_API int plumb_sql_plan_text(const plumb_sql_plan_t *plan, char **out);

typedef enum {
    PLUMB_SQL_NULL,
    PLUMB_SQL_INTEGER,
    PLUMB_SQL_REAL,
    PLUMB_SQL_TEXT,
    PLUMB_SQL_BLOB
} plumb_sql_type_t;

/* A bound parameter; bytes is borrowed (TEXT: UTF-8, len bytes). name is
 * NULL for positional parameters, else the placeholder's name without its
 * prefix character (":id" -> "id"). */
typedef struct {
    plumb_sql_type_t type;
    int64_t integer;
    double real;
    const char *bytes;
    size_t len;
    const char *name;
} plumb_sql_value_t;

/* A scratch database: a private copy of a SQLite file (made with the backup
 * API from a read-only handle, in a temporary file that close removes), or
 * a PostgreSQL session inside a transaction that close rolls back. The
 * user's database is never written. */
typedef struct plumb_sql_db plumb_sql_db_t;

typedef enum { PLUMB_SQL_SQLITE, PLUMB_SQL_POSTGRESQL } plumb_sql_engine_t;

/* target: "postgresql://...", "postgres://..." or a libpq "key=value ..."
 * string (PostgreSQL), else the path of a SQLite file, which must exist.
 * PLUMB_ENOTFOUND (no such file), PLUMB_EACCESS, PLUMB_EIO (cannot copy or
 * connect: *errmsg says why), PLUMB_EUNSUPPORTED (built without libpq). */
PLUMB_API int plumb_sql_db_open(const char *target, plumb_sql_db_t **out,
                                char **errmsg);
PLUMB_API void plumb_sql_db_close(plumb_sql_db_t *db);
PLUMB_API plumb_sql_engine_t plumb_sql_db_engine(const plumb_sql_db_t *db);
/* Runs statements that take no parameters and return nothing to keep
 * (CREATE INDEX, ANALYZE, SAVEPOINT ...). PLUMB_EIO on an SQL error. */
PLUMB_API int plumb_sql_db_exec(plumb_sql_db_t *db, const char *sql,
                                char **errmsg);

typedef struct {
    int64_t wall_ns; /* prepare, bind, execute and read every row */
    int64_t rows;    /* rows returned, or changed when it returns none */
    /* The rows as a multiset: the sum of a 64-bit hash of each row, so two
     * runs that return the same rows in another order agree. */
    uint64_t digest;
} plumb_sql_result_t;

/* Runs one statement with its parameters (SQLite binds by position or by
 * name; PostgreSQL sends them as text for $1, $2, ...) and reads all rows.
 * PLUMB_EIO on an SQL error. */
PLUMB_API int plumb_sql_db_run(plumb_sql_db_t *db, const char *sql,
                               const plumb_sql_value_t *params,
                               size_t n_params, plumb_sql_result_t *res,
                               char **errmsg);
/* The planner's plan for the statement, appended to plan. */
PLUMB_API int plumb_sql_db_explain(plumb_sql_db_t *db, const char *sql,
                                   const plumb_sql_value_t *params,
                                   size_t n_params, plumb_sql_plan_t *plan,
                                   char **errmsg);
/* Bytes on disk of the index named name. */
PLUMB_API int plumb_sql_db_index_bytes(plumb_sql_db_t *db, const char *name,
                                       int64_t *bytes, char **errmsg);

/* One statement with one set of parameters, as the program ran it. */
typedef struct {
    const char *sql;
    const plumb_sql_value_t *params;
    size_t n_params;
} plumb_sql_call_t;

typedef struct {
    unsigned rounds;        /* timed rounds on each side, default 7 */
    int64_t max_round_ns;   /* a side's rounds stop past this, default 2 s */
    plumb_compare_opts_t compare;
} plumb_sql_trial_opts_t;

PLUMB_API void plumb_sql_trial_opts_init(plumb_sql_trial_opts_t *opts);

/* What one candidate index did to the traced statements. */
typedef struct {
    /* Rounds of running every read (each once, results read in full),
     * without and with the index: baseline = without. */
    plumb_comparison_t reads;
    double before_round_ns, after_round_ns; /* medians */
    int same_results;       /* every read returned the same rows */
    char *plan_before;      /* plumb_sql_plan_text of the first read */
    char *plan_after;
    int scan_removed;       /* a SCAN of the table became a SEARCH */
    int64_t index_bytes;
    /* The writes (INSERT, UPDATE, DELETE), each run inside a savepoint that
     * is rolled back: baseline = without the index. has_writes = 0 when
     * there were none. */
    int has_writes;
    plumb_comparison_t writes;
} plumb_sql_trial_t;

/* Tries index on db: times the reads without it, creates it and runs
 * ANALYZE, times them again, compares results, plans and the writes' cost,
 * then drops it. db is left as it was. PLUMB_EIO when the index cannot be
 * made or a statement fails (*errmsg says which). */
PLUMB_API int plumb_sql_trial_run(plumb_sql_db_t *db,
                                  const plumb_sql_index_t *index,
                                  const plumb_sql_call_t *reads,
                                  size_t n_reads,
                                  const plumb_sql_call_t *writes,
                                  size_t n_writes,
                                  const plumb_sql_trial_opts_t *opts,
                                  plumb_sql_trial_t *out, char **errmsg);
PLUMB_API void plumb_sql_trial_close(plumb_sql_trial_t *t);

/* ---- sql traces and their analysis ----------------------------------- *
 * A trace is what the tracer inside a Python program saw (docs/json.md,
 * "SQL traces"): its connections, and its statements aggregated by
 * connection, exact text and call site. The analysis groups them by
 * fingerprint, finds what costs time, and tries indexes on scratch copies
 * of the databases. Everything in these structs is owned by the trace or
 * the analysis, freed with it. */

typedef struct {
    int64_t id;
    char *driver; /* "sqlite3", "psycopg2" */
    char *target; /* a SQLite path, ":memory:", or a libpq conninfo */
    char *file;   /* where it was opened, "" when unknown */
    int64_t line;
} plumb_sql_connection_t;

/* One set of parameters the statement ran with, for replay. For psycopg2,
 * sent is the statement as sent (parameters inlined), NULL otherwise. */
typedef struct {
    plumb_sql_value_t *params;
    size_t n_params;
    char *sent;
} plumb_sql_sample_t;

typedef struct {
    int64_t conn;
    char *sql;
    char *file, *func; /* the first frame of user code that sent it */
    int64_t line;
    int many;          /* executemany */
    uint64_t calls, errors;
    int64_t total_ns, min_ns, max_ns;
    int64_t rows;
    uint64_t distinct_params;
    plumb_sql_sample_t *samples;
    size_t n_samples;
} plumb_sql_statement_t;

typedef struct {
    int64_t pid;
    char *python;
    char *command;
    int64_t wall_ns;
    int keep_params;
    /* 0 for statements read from a file (plumb sql analyze): the analysis
     * times them itself. */
    int timed;
    plumb_sql_connection_t *connections;
    size_t n_connections;
    plumb_sql_statement_t *statements;
    size_t n_statements;
} plumb_sql_trace_t;

/* Reads a trace the tracer wrote. PLUMB_EPARSE with a sentence in why for
 * anything that is not one (outside input: never a crash). */
PLUMB_API int plumb_sql_trace_from_json(const char *text,
                                        plumb_sql_trace_t **out, char *why,
                                        size_t why_size);
/* A trace of the statements of a script (separated by semicolons outside
 * strings, identifiers, comments and dollar quotes), each run once on one
 * connection to target, their site the script's name and line; untimed.
 * PLUMB_EINVAL for a script without any. */
PLUMB_API int plumb_sql_trace_from_script(const char *script,
                                          const char *name,
                                          const char *target,
                                          plumb_sql_trace_t **out);
PLUMB_API void plumb_sql_trace_free(plumb_sql_trace_t *t);
/* A database target as it may be shown: the password of a URL
 * (user:pw@host) or of a "password=..." setting becomes ***. A new string
 * the caller frees; NULL when out of memory. */
PLUMB_API char *plumb_sql_redact(const char *target);

#define PLUMB_SQL_FINDING_MAP(X)                                              \
    X(SLOW, "slow", "slow statement")                                         \
    X(N_PLUS_ONE, "n+1", "N+1 queries")                                       \
    X(LITERALS, "literals", "values pasted into the SQL")                     \
    X(SCAN, "scan", "full table scan")                                        \
    X(SORT, "sort", "temporary sort")

typedef enum {
#define PLUMB_SQL_FINDING_GEN(name, key, label) PLUMB_SQL_FINDING_##name,
    PLUMB_SQL_FINDING_MAP(PLUMB_SQL_FINDING_GEN)
#undef PLUMB_SQL_FINDING_GEN
    PLUMB_SQL_N_FINDINGS
} plumb_sql_finding_kind_t;

/* "n+1", "scan"...: the words of --fail-on. */
PLUMB_API const char *plumb_sql_finding_key(plumb_sql_finding_kind_t k);
PLUMB_API const char *plumb_sql_finding_label(plumb_sql_finding_kind_t k);
/* The kind of a key, or -1. */
PLUMB_API int plumb_sql_finding_find(const char *key);

/* The statements of one fingerprint on one connection. */
typedef struct {
    plumb_sql_fingerprint_t fingerprint;
    int64_t conn;
    uint64_t calls, errors;
    int64_t total_ns, min_ns, max_ns, rows;
    size_t n_texts;    /* distinct texts: > 1 when values were pasted in */
    size_t n_sites;
    /* the site that cost most */
    const char *file, *func;
    int64_t line;
    size_t statement;  /* index in the trace of its costliest statement */
    char *plan;        /* plumb_sql_plan_text, NULL when not explained */
} plumb_sql_group_t;

typedef struct {
    plumb_sql_finding_kind_t kind;
    size_t group;
    int64_t cost_ns;   /* the time it cost the program */
    uint64_t calls;
    uint64_t distinct; /* n+1: distinct parameter sets; literals: texts */
    const char *file, *func;
    int64_t line;
    char *detail;      /* n+1: the batched form; scan/sort: the plan step;
                          slow: NULL */
} plumb_sql_finding_t;

/* One index tried for one group. */
typedef struct {
    size_t group;
    plumb_sql_index_t index;
    int tried;         /* 0: it could not be (error says why) */
    char *error;
    plumb_sql_trial_t trial;
    /* faster beyond doubt, with the same results: what plumb advises */
    int advised;
} plumb_sql_advice_t;

typedef struct {
    uint64_t queries;  /* calls of every statement */
    int64_t query_ns;  /* the time they took */
    plumb_sql_group_t *groups;     /* by total time, highest first */
    size_t n_groups;
    /* the group of each of the trace's statements, by their index */
    size_t *statement_group;
    plumb_sql_finding_t *findings; /* by cost, highest first */
    size_t n_findings;
    plumb_sql_advice_t *advice;
    size_t n_advice;
    /* what could not be looked at, and why (a database that is gone, a
     * connection refused, an in-memory database) */
    char **notes;
    size_t n_notes;
} plumb_sql_analysis_t;

typedef struct {
    int explain;               /* ask the planner (default 1) */
    int advise;                /* try indexes (default 1) */
    double slow_ms;            /* mean per call that is slow (10) */
    uint64_t n_plus_one_calls; /* calls from one site that are N+1 (10) */
    unsigned max_candidates;   /* indexes tried per statement (3) */
    const char *db;            /* the database of every connection (NULL:
                                  each connection's own) */
    plumb_sql_trial_opts_t trial;
} plumb_sql_analysis_opts_t;

PLUMB_API void plumb_sql_analysis_opts_init(plumb_sql_analysis_opts_t *o);
/* Analyses t (which must outlive the analysis: groups and findings point
 * into it). Databases that cannot be opened become notes, not errors;
 * PLUMB_ENOMEM, PLUMB_EINVAL. */
PLUMB_API int plumb_sql_analyze(const plumb_sql_trace_t *t,
                                const plumb_sql_analysis_opts_t *o,
                                plumb_sql_analysis_t **out);
PLUMB_API void plumb_sql_analysis_free(plumb_sql_analysis_t *a);
/* Whether the analysis has a finding of kind k. */
PLUMB_API int plumb_sql_analysis_has(const plumb_sql_analysis_t *a,
                                     plumb_sql_finding_kind_t k);

/* The terminal report: what was traced, the findings by cost, the indexes
 * tried and their proof, the costliest statements (top rows). */
PLUMB_API int plumb_report_sql(const plumb_sql_trace_t *t,
                               const plumb_sql_analysis_t *a,
                               const plumb_report_opts_t *opts, size_t top,
                               char **out);
/* The same as one JSON document (docs/json.md, "SQL reports"; kind "sql").
 * Parameters appear only when the trace kept them (keep_params). */
PLUMB_API int plumb_report_sql_json(const plumb_sql_trace_t *t,
                                    const plumb_sql_analysis_t *a,
                                    char **out);

#ifdef __cplusplus
}
#endif
#endif /* PLUMB_H */
