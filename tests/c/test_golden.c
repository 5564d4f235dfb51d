/* test_golden.c: every report format, rendered from one fixed session and
 * analysis and compared byte for byte with a file under tests/golden/ (the
 * jq tests/jq.test habit): a change to what the user reads shows up as a
 * diff to review, not as a silent drift.
 *
 * The fixture is built by hand, not measured and not analysed (no clock, no
 * host, no plumb_analysis_new), so the output depends on the renderers
 * alone. Paths are relative to the current directory: run from the
 * repository root, as `make unit` does.
 *
 * On a mismatch the test writes what it rendered to build/golden-actual/NAME
 * and names the command that shows the difference:
 *     diff -u tests/golden/NAME build/golden-actual/NAME
 * When the change is intended, regenerate the files and review the diff
 * (git diff tests/golden) as a user would read the output:
 *     PLUMB_UPDATE_GOLDEN=1 make unit
 *     PLUMB_UPDATE_GOLDEN=1 ./build/test-runner golden      (this group only)
 * With PLUMB_UPDATE_GOLDEN=1 the test writes the golden files instead of
 * comparing with them, and passes. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "golden.h"
#include "report_fixture.h"
#include "tests.h"

#define GOLDEN_DIR "tests/golden"
#define ACTUAL_PARENT "build"
#define ACTUAL_DIR ACTUAL_PARENT "/golden-actual"

/* ---- the session -------------------------------------------------------- */

/* The workload of one command: five wall times and what the samples' other
 * metrics are made from in add_samples. */
typedef struct {
    double wall_ms[5];
    double user_share, sys_share;  /* of wall time */
    int64_t rss_bytes, rss_step;   /* max RSS of sample k: bytes + k * step */
    int64_t minor_faults, rchar_bytes, read_syscalls;
    int64_t instructions, cycles;
    int64_t invol_ctxsw;
} workload_t;

static void add_samples(plumb_run_t *run, const workload_t *w, int failed)
{
    for (int k = 0; k < 5; k++) {
        plumb_sample_t x;
        plumb_sample_init(&x);
        int64_t wall = (int64_t)llround(w->wall_ms[k] * 1e6);
        int64_t user = (int64_t)llround((double)wall * w->user_share);
        int64_t sys = (int64_t)llround((double)wall * w->sys_share);
        x.metric[PLUMB_METRIC_WALL] = wall;
        x.metric[PLUMB_METRIC_USER] = user;
        x.metric[PLUMB_METRIC_SYS] = sys;
        x.metric[PLUMB_METRIC_CPU] = user + sys;
        x.metric[PLUMB_METRIC_MAX_RSS] = w->rss_bytes + k * w->rss_step;
        x.metric[PLUMB_METRIC_MINOR_FAULTS] = w->minor_faults + 3 * k;
        x.metric[PLUMB_METRIC_MAJOR_FAULTS] = failed == k ? 2 : 0;
        x.metric[PLUMB_METRIC_VOL_CTXSW] = 2;
        x.metric[PLUMB_METRIC_INVOL_CTXSW] = w->invol_ctxsw + k;
        x.metric[PLUMB_METRIC_RCHAR] = w->rchar_bytes;
        x.metric[PLUMB_METRIC_WCHAR] = 61;
        x.metric[PLUMB_METRIC_READ_BYTES] = 0;
        x.metric[PLUMB_METRIC_WRITE_BYTES] = 0;
        x.metric[PLUMB_METRIC_READ_SYSCALLS] = w->read_syscalls;
        x.metric[PLUMB_METRIC_WRITE_SYSCALLS] = 1;
        x.metric[PLUMB_METRIC_INSTRUCTIONS] = w->instructions + 1000003 * k;
        x.metric[PLUMB_METRIC_CYCLES] = w->cycles + 700001 * k;
        if (failed == k)
            x.exit_code = 1;
        assert_int_equal(plumb_run_add_sample(run, &x), 0);
    }
}

/* Three runs, much as `plumb bench -P n=1000 -n slow.py 'python slow.py
 * {n}' -n fast.py 'python fast.py {n} | tail -n 1' 'pypy fast.py 1000'`
 * records them: slow.py (the baseline, a Python), fast.py (through a shell,
 * whose start-up is subtracted), and a run whose name is its command, with
 * no parameters (an empty cell in the tables) and a slow sample that failed.
 * Stored: the session and the runs have ids. */
static plumb_session_t *golden_session(int partial)
{
    static const workload_t slow = {
        {310.4, 305.2, 318.7, 309.8, 312.1}, 0.86, 0.05, 52428800, 4096,
        12840, 1843200, 147, INT64_C(1480000000), INT64_C(1020000000), 30};
    static const workload_t fast = {
        {99.4, 98.9, 100.6, 99.2, 99.9}, 0.90, 0.04, 34500000, 4096,
        8310, 1050000, 98, INT64_C(490000000), INT64_C(330000000), 9};
    static const workload_t pypy = {
        {301.2, 305.9, 296.3, 309.9, 452.8}, 0.93, 0.06, 125829120, 8192,
        31200, 5400000, 412, INT64_C(2100000000), INT64_C(1100000000), 27};

    plumb_session_t *s = plumb_session_new();
    assert_non_null(s);
    s->id = 12;
    s->seed = UINT64_C(20240611);
    s->overhead_ns = 310000;
    s->partial = partial;
    plumb_env_t *env = &s->env;
    snprintf(env->host, sizeof env->host, "ci-runner-7");
    snprintf(env->kernel, sizeof env->kernel, "Linux 6.1.0-18-amd64 x86_64");
    snprintf(env->cpu_model, sizeof env->cpu_model,
             "AMD EPYC 7763 64-Core Processor");
    env->cpus = 4;
    env->load_avg1 = 0.42;
    snprintf(env->governor, sizeof env->governor, "performance");
    env->created_ns = INT64_C(1700000000123456789);
    snprintf(env->plumb_version, sizeof env->plumb_version, "0.1.0");
    assert_int_equal(plumb_set_string(&s->invocation,
                                      "plumb bench -P n=1000 -n slow.py "
                                      "'python slow.py {n}' -n fast.py "
                                      "'python fast.py {n} | tail -n 1' "
                                      "'pypy fast.py 1000'"),
                     0);
    assert_int_equal(
        plumb_set_string(&s->git_commit,
                         "9fceb02d0ae598e95dc970b74767f19372d61af8"),
        0);
    assert_int_equal(plumb_set_string(&s->scan_param, "n"), 0);
    assert_int_equal(plumb_set_string(&s->counters,
                                      "hardware counters: instructions, "
                                      "cycles"),
                     0);

    plumb_run_t *run;
    assert_int_equal(plumb_session_add_run(s, "slow.py n=1000",
                                           "python slow.py 1000", &run), 0);
    run->id = 41;
    assert_int_equal(plumb_run_add_param(run, "n", "1000"), 0);
    assert_int_equal(plumb_set_string(&run->python, "CPython 3.11.2"), 0);
    assert_int_equal(plumb_set_string(&run->series_name, "slow.py"), 0);
    run->x = 1000;
    add_samples(run, &slow, -1);

    assert_int_equal(plumb_session_add_run(s, "fast.py n=1000",
                                           "python fast.py 1000 | tail -n 1",
                                           &run), 0);
    run->id = 42;
    run->baseline = 0;
    run->shell = 1;
    run->shell_overhead_ns = 1150000;
    assert_int_equal(plumb_run_add_param(run, "n", "1000"), 0);
    assert_int_equal(plumb_set_string(&run->series_name, "fast.py"), 0);
    run->x = 1000;
    add_samples(run, &fast, -1);

    assert_int_equal(plumb_session_add_run(s, "pypy fast.py 1000",
                                           "pypy fast.py 1000", &run), 0);
    run->id = 43;
    run->baseline = 0;
    assert_int_equal(plumb_set_string(&run->python, "PyPy 3.9.16"), 0);
    add_samples(run, &pypy, 4);
    return s;
}

/* ---- the analysis ------------------------------------------------------- */

/* The wall-time summaries, worked out by hand from the samples above (five
 * samples: the interval of the median runs from the smallest to the largest,
 * with coverage 1 - 2/32). */
static const plumb_summary_t wall_summary[3] = {
    {.n = 5, .min = 305.2e6, .max = 318.7e6, .mean = 311.24e6,
     .stddev = 4890092.02, .median = 310.4e6, .mad = 1.7e6, .p5 = 306.12e6,
     .p25 = 309.8e6, .p75 = 312.1e6, .p95 = 317.38e6,
     .median_ci_low = 305.2e6, .median_ci_high = 318.7e6,
     .median_ci_level = 0.9375, .outliers = 0},
    {.n = 5, .min = 98.9e6, .max = 100.6e6, .mean = 99.6e6,
     .stddev = 667083.20, .median = 99.4e6, .mad = 0.5e6, .p5 = 98.96e6,
     .p25 = 99.2e6, .p75 = 99.9e6, .p95 = 100.46e6,
     .median_ci_low = 98.9e6, .median_ci_high = 100.6e6,
     .median_ci_level = 0.9375, .outliers = 0},
    {.n = 5, .min = 296.3e6, .max = 452.8e6, .mean = 333.22e6,
     .stddev = 67040935.26, .median = 305.9e6, .mad = 4.7e6, .p5 = 297.28e6,
     .p25 = 301.2e6, .p75 = 309.9e6, .p95 = 424.22e6,
     .median_ci_low = 296.3e6, .median_ci_high = 452.8e6,
     .median_ci_level = 0.9375, .outliers = 1},
};

static int ascending(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return (a > b) - (a < b);
}

/* The other metrics only need the figures the renderers print besides wall
 * time: n, min, median, mean and max, taken from the five samples. */
static plumb_summary_t plain_summary(const plumb_run_t *run, plumb_metric_t m)
{
    double v[5];
    assert_int_equal(run->n_samples, 5);
    double sum = 0;
    for (size_t k = 0; k < 5; k++)
        sum += v[k] = (double)run->samples[k].metric[m];
    qsort(v, 5, sizeof *v, ascending);
    plumb_summary_t out = {
        .n = 5, .min = v[0], .max = v[4], .mean = sum / 5, .stddev = 0,
        .median = v[2], .mad = 0, .p5 = v[0], .p25 = v[1], .p75 = v[3],
        .p95 = v[4], .median_ci_low = v[0], .median_ci_high = v[4],
        .median_ci_level = 0.9375, .outliers = 0};
    return out;
}

/* Metric m of a pair compared: the ratio is that of the two medians; the
 * interval and the test are given. */
static void compared(plumb_analysis_t *a, size_t pair, size_t k,
                     plumb_metric_t m, double lo, double hi, double u,
                     double p, int exact, plumb_verdict_t verdict)
{
    plumb_pair_t *pp = &a->pairs[pair];
    double base = a->runs[pp->baseline].summary[m].median;
    double cand = a->runs[pp->candidate].summary[m].median;
    pp->compared[k] = 1;
    plumb_comparison_t c = {
        .metric = m, .baseline_median = base, .candidate_median = cand,
        .ratio = base / cand, .ci_low = lo, .ci_high = hi,
        .u = u, .p_value = p, .exact = exact, .verdict = verdict};
    pp->cmp[k] = c;
}

/* The analysis plumb_analysis_new would give, written out. The order of the
 * compared metrics is PLUMB_VERDICT_METRICS: wall, CPU, max RSS, bytes
 * written. */
static plumb_analysis_t *golden_analysis(const plumb_session_t *s)
{
    plumb_analysis_t *a = calloc(1, sizeof *a);
    assert_non_null(a);
    plumb_compare_opts_init(&a->opts);

    a->n_runs = s->n_runs;
    a->runs = calloc(s->n_runs, sizeof *a->runs);
    assert_non_null(a->runs);
    for (size_t i = 0; i < s->n_runs; i++) {
        for (int m = 0; m < PLUMB_METRIC_COUNT; m++) {
            a->runs[i].measured[m] = 1;
            a->runs[i].summary[m] =
                plain_summary(&s->runs[i], (plumb_metric_t)m);
        }
        a->runs[i].summary[PLUMB_METRIC_WALL] = wall_summary[i];
    }
    a->runs[2].failures = 1;

    /* five samples apart entirely: U = 25, exact p = 2/252 */
    a->n_pairs = 2;
    a->pairs = calloc(2, sizeof *a->pairs);
    assert_non_null(a->pairs);
    a->pairs[0].baseline = 0;
    a->pairs[0].candidate = 1;
    compared(a, 0, 0, PLUMB_METRIC_WALL, 3.0811, 3.1452, 25, 2.0 / 252, 1,
             PLUMB_VERDICT_LOWER);
    compared(a, 0, 1, PLUMB_METRIC_CPU, 2.9874, 3.0652, 25, 2.0 / 252, 1,
             PLUMB_VERDICT_LOWER);
    compared(a, 0, 2, PLUMB_METRIC_MAX_RSS, 1.5192, 1.5198, 25, 2.0 / 252, 1,
             PLUMB_VERDICT_LOWER);
    compared(a, 0, 3, PLUMB_METRIC_WCHAR, 1, 1, 12.5, 1, 0,
             PLUMB_VERDICT_SAME);
    a->pairs[1].baseline = 0;
    a->pairs[1].candidate = 2;
    compared(a, 1, 0, PLUMB_METRIC_WALL, 0.8127, 1.0415, 17, 0.4206, 1,
             PLUMB_VERDICT_SAME);
    compared(a, 1, 1, PLUMB_METRIC_CPU, 0.8231, 1.0604, 9, 0.5476, 1,
             PLUMB_VERDICT_SAME);
    compared(a, 1, 2, PLUMB_METRIC_MAX_RSS, 0.4166, 0.4168, 0, 2.0 / 252, 1,
             PLUMB_VERDICT_HIGHER);
    compared(a, 1, 3, PLUMB_METRIC_WCHAR, 1, 1, 12.5, 1, 0,
             PLUMB_VERDICT_SAME);

    /* slow.py grows as n^2 and fast.py as n log n; their curves cross where
     * 1.25e6 + 309 n^2 = 2.4e7 + 10915 n ln n */
    a->n_fits = 2;
    a->fits = calloc(2, sizeof *a->fits);
    assert_non_null(a->fits);
    for (size_t i = 0; i < 2; i++) {
        a->fits[i].series = (int)i;
        a->fits[i].first_run = i;
        a->fits[i].n_lo = 100;
        a->fits[i].n_hi = 10000;
        for (int k = 0; k < PLUMB_ORDER_COUNT; k++)
            a->fits[i].fit.bic[k] = NAN;
        a->fits[i].fit.close_order = PLUMB_ORDER_COUNT;
    }
    a->fits[0].fit.order = PLUMB_ORDER_N2;
    a->fits[0].fit.a = 1.25e6;
    a->fits[0].fit.b = 309;
    a->fits[0].fit.fit_error = 0.021;
    a->fits[0].fit.bic[PLUMB_ORDER_N2] = -41.5;
    a->fits[1].fit.order = PLUMB_ORDER_NLOGN;
    a->fits[1].fit.a = 2.4e7;
    a->fits[1].fit.b = 10915;
    a->fits[1].fit.fit_error = 0.048;
    a->fits[1].fit.bic[PLUMB_ORDER_NLOGN] = -37.25;
    /* and O(n) comes within PLUMB_BIC_CLOSE of it: the report says so */
    a->fits[1].fit.bic[PLUMB_ORDER_N] = -36.1;
    a->fits[1].fit.close_order = PLUMB_ORDER_N;

    a->n_crossovers = 1;
    a->crossovers = calloc(1, sizeof *a->crossovers);
    assert_non_null(a->crossovers);
    a->crossovers[0].fit_a = 0;
    a->crossovers[0].fit_b = 1;
    a->crossovers[0].n = 396.8742648976173;

    /* the sentences analysis.c writes for this session */
    a->warnings = calloc(4, sizeof *a->warnings);
    assert_non_null(a->warnings);
    if (s->partial)
        a->warnings[a->n_warnings++] =
            fixture_copy("interrupted: these results are partial");
    a->warnings[a->n_warnings++] = fixture_copy(
        "high variance (coefficient of variation above 10%) in pypy fast.py "
        "1000 (CV 20.1%): something else competes for the machine or the "
        "program itself varies; close other programs or raise --min-runs, "
        "and trust the medians and their intervals over the means");
    a->warnings[a->n_warnings++] = fixture_copy(
        "statistical outliers (modified z-score above 3.5) in pypy fast.py "
        "1000 (1 of 5): interference from other processes or a cold cache; "
        "try --warmup, or rerun on a quiet machine");
    a->warnings[a->n_warnings++] = fixture_copy(
        "failed runs (non-zero exit, signal or timeout) in pypy fast.py 1000 "
        "(1 of 5) are included in the statistics");
    return a;
}

static fixture_t *golden_fixture(int partial)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->s = golden_session(partial);
    f->a = golden_analysis(f->s);
    return f;
}

static int setup(void **state)
{
    *state = golden_fixture(0);
    return 0;
}

static int setup_partial(void **state)
{
    *state = golden_fixture(1);
    return 0;
}

/* ---- comparing with the golden files ------------------------------------ */

/* The whole file at path, NUL-terminated, in a new string; *len its size.
 * NULL when it cannot be read. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *data = malloc(cap);
    while (data) {
        n += fread(data + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *grown = realloc(data, cap *= 2);
        if (!grown)
            free(data);
        data = grown;
    }
    int bad = ferror(f);
    fclose(f);
    if (!data || bad) {
        free(data);
        return NULL;
    }
    data[n] = '\0';
    *len = n;
    return data;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot write %s: %s", path, strerror(errno));
    size_t len = strlen(text);
    int ok = fwrite(text, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok)
        fail_msg("cannot write %s: %s", path, strerror(errno));
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0777) != 0 && errno != EEXIST)
        fail_msg("cannot create %s: %s", path, strerror(errno));
}

/* 1-based line of the first byte where a and b differ. */
static size_t first_difference(const char *a, size_t na, const char *b,
                               size_t nb)
{
    size_t line = 1;
    for (size_t i = 0; i < na && i < nb && a[i] == b[i]; i++)
        line += a[i] == '\n';
    return line;
}

void check_golden(const char *name, const char *actual)
{
    char golden[256], out[256];
    snprintf(golden, sizeof golden, GOLDEN_DIR "/%s", name);
    snprintf(out, sizeof out, ACTUAL_DIR "/%s", name);
    const char *update = getenv("PLUMB_UPDATE_GOLDEN");
    if (update && strcmp(update, "1") == 0) {
        make_dir(GOLDEN_DIR);
        write_file(golden, actual);
        print_message("wrote %s\n", golden);
        return;
    }

    struct stat st;
    if (stat(GOLDEN_DIR, &st) != 0)
        fail_msg("no %s in this directory: run the tests from the "
                 "repository root (make unit does)", GOLDEN_DIR);
    size_t len = 0, actual_len = strlen(actual);
    char *expected = read_file(golden, &len);
    int read_errno = errno;
    if (expected && len == actual_len && memcmp(expected, actual, len) == 0) {
        free(expected);
        remove(out); /* what an earlier mismatch left, now stale */
        return;
    }
    make_dir(ACTUAL_PARENT);
    make_dir(ACTUAL_DIR);
    write_file(out, actual);
    if (!expected)
        fail_msg("cannot read %s (%s); the output is in %s, and "
                 "PLUMB_UPDATE_GOLDEN=1 make unit creates the file",
                 golden, strerror(read_errno), out);
    size_t line = first_difference(expected, len, actual, actual_len);
    free(expected);
    fail_msg("%s differs from the output, first at line %zu; see\n"
             "    diff -u %s %s\n"
             "and when the change is intended: PLUMB_UPDATE_GOLDEN=1 make unit",
             golden, line, golden, out);
}

static void render_and_check(void **state, const char *name,
                             plumb_format_t format, int color, int verbose)
{
    fixture_t *f = *state;
    plumb_report_opts_t opts = {color, verbose, 0};
    char *out = NULL;
    assert_int_equal(plumb_report_render(f->s, f->a, format, &opts, &out), 0);
    assert_non_null(out);
    check_golden(name, out);
    free(out);
}

/* ---- the formats -------------------------------------------------------- */

static void text_report(void **state)
{
    render_and_check(state, "report.txt", PLUMB_FORMAT_TEXT, 0, 0);
}

static void text_report_in_colour(void **state)
{
    render_and_check(state, "report-color.txt", PLUMB_FORMAT_TEXT, 1, 0);
}

static void text_report_verbose(void **state)
{
    render_and_check(state, "report-verbose.txt", PLUMB_FORMAT_TEXT, 0, 1);
}

static void text_report_of_a_partial_session(void **state)
{
    render_and_check(state, "report-partial.txt", PLUMB_FORMAT_TEXT, 0, 0);
}

static void markdown_report(void **state)
{
    render_and_check(state, "report.md", PLUMB_FORMAT_MARKDOWN, 0, 0);
}

static void markdown_report_verbose(void **state)
{
    render_and_check(state, "report-verbose.md", PLUMB_FORMAT_MARKDOWN, 0, 1);
}

static void markdown_report_of_a_partial_session(void **state)
{
    render_and_check(state, "report-partial.md", PLUMB_FORMAT_MARKDOWN, 0, 0);
}

static void json_report(void **state)
{
    render_and_check(state, "report.json", PLUMB_FORMAT_JSON, 0, 0);
}

static void csv_report(void **state)
{
    render_and_check(state, "report.csv", PLUMB_FORMAT_CSV, 0, 0);
}

/* ---- a profile ---------------------------------------------------------- */

#define FRAME(fn, fi, ln) ((plumb_frame_t){(fn), (fi), (ln)})

/* A profile built by hand, as a session of split.py with a worker thread
 * would leave it, killed by SIGKILL at the end: three shapes of stack on
 * the main thread (one truncated, one in a file whose name is not UTF-8,
 * one with a frame of unknown line) and a worker whose version cannot tell
 * who held the GIL. thread_samples is the sum of the counts, as the
 * sampler keeps it. */
static plumb_profile_t *golden_profile(void)
{
    plumb_profile_t *p = calloc(1, sizeof *p);
    assert_non_null(p);
    assert_int_equal(plumb_stack_new(&p->stacks), 0);
    const char *main_thread = "main thread (tid 7)";
    const plumb_frame_t sixty[] = {FRAME("spin", "/w/split.py", 9),
                                   FRAME("sixty", "/w/split.py", 14),
                                   FRAME("main", "/w/split.py", 27),
                                   FRAME("<module>", "/w/split.py", 33)};
    const plumb_frame_t thirty[] = {FRAME("spin", "/w/split.py", 9),
                                    FRAME("thirty", "/w/split.py", 18),
                                    FRAME("main", "/w/split.py", 28),
                                    FRAME("<module>", "/w/split.py", 33)};
    const plumb_frame_t deep[] = {FRAME("recurse", "/w/caf\xe9.py", 3),
                                  FRAME("recurse", "/w/caf\xe9.py", 4)};
    const plumb_frame_t worker[] = {FRAME("wait", "/usr/lib/threading.py", 0),
                                    FRAME("run", "/w/split.py", 40)};
    assert_int_equal(plumb_stack_add(p->stacks, main_thread, sixty, 4, 0, 60),
                     0);
    assert_int_equal(plumb_stack_add(p->stacks, main_thread, thirty, 4, 0,
                                     30), 0);
    assert_int_equal(plumb_stack_add(p->stacks, main_thread, sixty + 1, 3, 0,
                                     2), 0);
    assert_int_equal(plumb_stack_add(p->stacks, main_thread, deep, 2, 1, 5),
                     0);
    assert_int_equal(plumb_stack_add(p->stacks, "worker (tid 8)", worker, 2,
                                     0, 3), 0);
    p->pid = 4242;
    snprintf(p->python, sizeof p->python, "CPython 3.12.1");
    p->mode = PLUMB_PROFILE_CPU;
    p->rate_hz = 10000;
    p->achieved_hz = 9876.5;
    p->duration_ns = INT64_C(10125000);
    p->samples = 100;
    p->dropped = 2;
    p->thread_samples = 100;
    p->idle = 97;
    p->threads_seen = 2;
    p->processes = 1;
    p->exit_status = -1;
    p->exit_signal = SIGKILL;
    p->n_threads = 2;
    p->threads = calloc(2, sizeof *p->threads);
    assert_non_null(p->threads);
    snprintf(p->threads[0].label, sizeof p->threads[0].label, "%s",
             main_thread);
    p->threads[0].stacks = 97;
    p->threads[0].gil_ticks = 95;
    p->threads[0].gil_known = 1;
    snprintf(p->threads[1].label, sizeof p->threads[1].label,
             "worker (tid 8)");
    p->threads[1].stacks = 3;
    return p;
}

static void profile_json(void **state)
{
    (void)state;
    plumb_profile_t *p = golden_profile();
    char *out = NULL;
    assert_int_equal(plumb_report_profile_json(p, NULL), PLUMB_EINVAL);
    assert_int_equal(plumb_report_profile_json(NULL, &out), PLUMB_EINVAL);
    assert_null(out);
    assert_int_equal(plumb_report_profile_json(p, &out), 0);
    check_golden("profile.json", out);
    free(out);
    /* the same document whatever order the stacks came in: reversed */
    plumb_stack_t *reversed = NULL;
    char *collapsed = NULL, *again = NULL;
    assert_int_equal(plumb_stack_collapsed(p->stacks, &collapsed), 0);
    assert_int_equal(plumb_stack_new(&reversed), 0);
    for (char *end = collapsed + strlen(collapsed); end > collapsed;) {
        *--end = '\0'; /* the newline */
        char *line = end;
        while (line > collapsed && line[-1] != '\n')
            line--;
        char *count = strrchr(line, ' ');
        *count = '\0';
        assert_int_equal(plumb_stack_add_collapsed(
                             reversed, line, strtoull(count + 1, NULL, 10)),
                         0);
        end = line;
    }
    plumb_stack_free(p->stacks);
    p->stacks = reversed;
    assert_int_equal(plumb_report_profile_json(p, &again), 0);
    check_golden("profile.json", again);
    free(again);
    free(collapsed);
    plumb_profile_free(p);
}

static void profile_summary(void **state)
{
    (void)state;
    plumb_profile_t *p = golden_profile();
    char *out = NULL;
    assert_int_equal(plumb_report_profile(p, NULL, 20, &out), 0);
    check_golden("profile.txt", out);
    assert_null(strstr(out, "below the")); /* 9876.5 of 10000 Hz */
    free(out);
    /* a rate well short of the one asked is explained, not just shown */
    p->achieved_hz = 1212;
    assert_int_equal(plumb_report_profile(p, NULL, 20, &out), 0);
    assert_non_null(strstr(out, "note: 1212 Hz is below the 10000 Hz asked: "
                                "the CPUs were busy"));
    free(out);
    plumb_profile_free(p);
}

int test_golden_run(void)
{
#define GOLDEN(test)                                                          \
    cmocka_unit_test_setup_teardown(test, setup, fixture_teardown)
#define GOLDEN_PARTIAL(test)                                                  \
    cmocka_unit_test_setup_teardown(test, setup_partial, fixture_teardown)
    const struct CMUnitTest tests[] = {
        GOLDEN(text_report),
        GOLDEN(text_report_in_colour),
        GOLDEN(text_report_verbose),
        GOLDEN_PARTIAL(text_report_of_a_partial_session),
        GOLDEN(markdown_report),
        GOLDEN(markdown_report_verbose),
        GOLDEN_PARTIAL(markdown_report_of_a_partial_session),
        GOLDEN(json_report),
        GOLDEN(csv_report),
        cmocka_unit_test(profile_json),
        cmocka_unit_test(profile_summary),
    };
#undef GOLDEN
#undef GOLDEN_PARTIAL
    return cmocka_run_group_tests_name("golden", tests, NULL, NULL);
}
