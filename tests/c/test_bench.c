/* test_bench.c: the benchmark scheduler (src/bench.c) driving real, tiny
 * children: true, false, sleep and sh. Commands that must be told apart
 * append a word to a log file in a scratch directory (a fixture, removed
 * even when a test fails), so the order in which they ran can be read back.
 * Runs are few and the budget is 0, so that each test takes a fraction of a
 * second natively; time bounds are wide, for a shared VM, and a timing
 * that must be exact is made large (a shell that starts slowly on purpose)
 * rather than trusted at the scale of a millisecond. */
#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tests.h"

#define MS INT64_C(1000000)
#define COUNT(array) (sizeof(array) / sizeof((array)[0]))

/* ---- helpers ------------------------------------------------------------ */

/* A directory of our own, and the log file the commands write into. */
typedef struct {
    char dir[64];
    char log[96];
} scratch_t;

/* Fixture: a new scratch directory in *state, removed after the test
 * whether it passed or not. */
static int scratch_setup(void **state)
{
    scratch_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    snprintf(t->dir, sizeof t->dir, "/tmp/plumb-test-bench-XXXXXX");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    snprintf(t->log, sizeof t->log, "%s/log", t->dir);
    *state = t;
    return 0;
}

/* Removes every file in the directory, then the directory. */
static int scratch_teardown(void **state)
{
    scratch_t *t = *state;
    int err = 0;
    DIR *d = opendir(t->dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        char path[384];
        snprintf(path, sizeof path, "%s/%s", t->dir, e->d_name);
        err |= unlink(path);
    }
    if (d)
        closedir(d);
    err |= rmdir(t->dir);
    free(t);
    return err ? -1 : 0;
}

#define scratch_test(f) cmocka_unit_test_setup_teardown(f, scratch_setup, \
                                                        scratch_teardown)

/* A command (with shell syntax, so it runs through sh) that appends `word`
 * to the log. */
static void log_command(const scratch_t *t, const char *word, char *out,
                        size_t size)
{
    snprintf(out, size, "echo %s >> %s", word, t->log);
}

/* The log's lines joined by single spaces; the caller frees it. "" when
 * nothing was written. */
static char *read_log(const scratch_t *t)
{
    char *text = calloc(1, 65536);
    assert_non_null(text);
    FILE *f = fopen(t->log, "r");
    if (!f)
        return text;
    size_t n = fread(text, 1, 65535, f);
    fclose(f);
    text[n] = '\0';
    while (n > 0 && text[n - 1] == '\n')
        text[--n] = '\0';
    for (char *c = text; *c; c++)
        if (*c == '\n')
            *c = ' ';
    return text;
}

/* The log's lines as one string without separators, for one-letter words. */
static char *read_letters(const scratch_t *t)
{
    char *text = read_log(t), *to = text;
    for (const char *c = text; *c; c++)
        if (*c != ' ')
            *to++ = *c;
    *to = '\0';
    return text;
}

/* Defaults made fast: no warm-up, no time budget, the fewest runs. */
static void quick_opts(plumb_bench_opts_t *o)
{
    plumb_bench_opts_init(o);
    o->warmup = 0;
    o->min_runs = 2;
    o->budget_s = 0;
}

static plumb_bench_t *new_bench(const plumb_bench_opts_t *o)
{
    plumb_bench_t *b = NULL;
    assert_int_equal(plumb_bench_new(o, &b), 0);
    assert_non_null(b);
    return b;
}

static void add_command(plumb_bench_t *b, const char *name,
                        const char *command)
{
    assert_int_equal(plumb_bench_add_command(b, name, command), 0);
}

/* Runs b, which must succeed, and frees it; the caller frees the session. */
static plumb_session_t *run_ok(plumb_bench_t *b)
{
    plumb_session_t *s = NULL;
    int err = plumb_bench_run(b, &s);
    if (err) {
        const plumb_bench_failure_t *f = plumb_bench_failure(b);
        print_error("plumb_bench_run: %s (phase %s, command '%s', "
                    "tail '%s')\n",
                    plumb_errname(err), f->phase ? f->phase : "-",
                    f->command ? f->command : "-", f->stderr_tail);
    }
    assert_int_equal(err, 0);
    assert_non_null(s);
    plumb_bench_free(b);
    return s;
}

static double median_wall(const plumb_run_t *run)
{
    double *v;
    size_t n;
    plumb_summary_t sum;
    assert_int_equal(plumb_run_values(run, PLUMB_METRIC_WALL, &v, &n), 0);
    assert_int_equal(plumb_stats_summarize(v, n, &sum), 0);
    free(v);
    return sum.median;
}

/* Valgrind preloads its libraries into the program it runs. Under it the
 * kernel's pidfd is unknown, so exits are found by polling every few ms,
 * and each spawn is a fork of the whole tool: wall times lose their
 * precision (see src/linux/proc.c). */
static int under_valgrind(void)
{
    const char *preload = getenv("LD_PRELOAD");
    return preload && strstr(preload, "vgpreload");
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- parameters and names ----------------------------------------------- */

static void params_expand_with_the_first_varying_slowest(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    plumb_bench_t *b = new_bench(&o);
    static const char *const n[] = {"1", "2", "3"}, *const m[] = {"a", "b"};
    add_command(b, "label", "true {n} {m}");
    assert_int_equal(plumb_bench_add_param(b, "n", 3, n), 0);
    assert_int_equal(plumb_bench_add_param(b, "m", 2, m), 0);
    plumb_session_t *s = run_ok(b);

    static const char *const names[] = {"label n=1,m=a", "label n=1,m=b",
                                        "label n=2,m=a", "label n=2,m=b",
                                        "label n=3,m=a", "label n=3,m=b"};
    static const char *const commands[] = {"true 1 a", "true 1 b",
                                           "true 2 a", "true 2 b",
                                           "true 3 a", "true 3 b"};
    assert_int_equal(s->n_runs, COUNT(names));
    for (size_t i = 0; i < s->n_runs; i++) {
        const plumb_run_t *run = &s->runs[i];
        assert_string_equal(run->name, names[i]);
        assert_string_equal(run->command, commands[i]);
        assert_int_equal(run->n_params, 2);
        assert_string_equal(run->param_names[0], "n");
        assert_string_equal(run->param_names[1], "m");
        assert_string_equal(run->param_values[0], n[i / 2]);
        assert_string_equal(run->param_values[1], m[i % 2]);
        /* the command's label names the series */
        assert_string_equal(run->series_name, "label");
        assert_int_equal(run->series, 0);
        assert_int_equal(run->n_samples, 2);
        assert_int_equal(run->shell, 0);
        assert_int_equal(run->shell_overhead_ns, 0);
        /* n is numeric with three values, but there is a second
         * parameter: nothing to fit over */
        assert_true(isnan(run->x));
    }
    assert_null(s->scan_param);
    plumb_session_free(s);
}

static void invalid_commands_and_params_are_refused(void **state)
{
    (void)state;
    plumb_bench_t *b = new_bench(NULL);
    static const char *const v[] = {"1"};
    assert_int_equal(plumb_bench_add_command(b, "x", ""), PLUMB_EINVAL);
    assert_int_equal(plumb_bench_add_command(b, "x", NULL), PLUMB_EINVAL);
    assert_int_equal(plumb_bench_add_param(b, "", 1, v), PLUMB_EINVAL);
    assert_int_equal(plumb_bench_add_param(b, "n", 0, v), PLUMB_EINVAL);
    assert_int_equal(plumb_bench_add_param(b, "n", 1, v), 0);
    assert_int_equal(plumb_bench_add_param(b, "n", 1, v), PLUMB_EINVAL);

    /* nothing to measure */
    plumb_session_t *s = (plumb_session_t *)1;
    assert_int_equal(plumb_bench_run(b, &s), PLUMB_EINVAL);
    assert_null(s);
    assert_int_equal(plumb_bench_failure(b)->err, PLUMB_EINVAL);
    assert_string_equal(plumb_bench_failure(b)->phase, "options");
    plumb_bench_free(b);
    plumb_bench_free(NULL);
}

/* ---- baselines ---------------------------------------------------------- */

static void baseline_is_the_first_command(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "A", "true a");
    add_command(b, "B", "true b");
    add_command(b, NULL, "true c");
    plumb_session_t *s = run_ok(b);
    assert_int_equal(s->runs[0].baseline, -1);
    assert_int_equal(s->runs[1].baseline, 0);
    assert_int_equal(s->runs[2].baseline, 0);
    /* without parameters: named by label or command, one series each */
    assert_string_equal(s->runs[0].name, "A");
    assert_string_equal(s->runs[2].name, "true c");
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(s->runs[i].n_params, 0);
        assert_null(s->runs[i].series_name);
        assert_int_equal(s->runs[i].series, (int)i);
    }
    plumb_session_free(s);
}

static void baseline_by_name_or_by_template(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.baseline = "B";
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "A", "true a");
    add_command(b, "B", "true b");
    add_command(b, NULL, "true c");
    plumb_session_t *s = run_ok(b);
    assert_int_equal(s->runs[0].baseline, 1);
    assert_int_equal(s->runs[1].baseline, -1);
    assert_int_equal(s->runs[2].baseline, 1);
    plumb_session_free(s);

    o.baseline = "true c"; /* an unnamed command, by its text */
    b = new_bench(&o);
    add_command(b, "A", "true a");
    add_command(b, "B", "true b");
    add_command(b, NULL, "true c");
    s = run_ok(b);
    assert_int_equal(s->runs[0].baseline, 2);
    assert_int_equal(s->runs[1].baseline, 2);
    assert_int_equal(s->runs[2].baseline, -1);
    plumb_session_free(s);
}

static void baseline_has_the_same_parameter_values(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.baseline = "new";
    plumb_bench_t *b = new_bench(&o);
    static const char *const n[] = {"1", "2", "3"};
    add_command(b, "old", "true old {n}");
    add_command(b, "new", "true new {n}");
    assert_int_equal(plumb_bench_add_param(b, "n", 3, n), 0);
    plumb_session_t *s = run_ok(b);
    assert_int_equal(s->n_runs, 6);
    for (size_t i = 0; i < 3; i++) {
        /* old n=i against new n=i */
        assert_int_equal(s->runs[i].baseline, (int)(3 + i));
        assert_int_equal(s->runs[3 + i].baseline, -1);
        assert_string_equal(s->runs[s->runs[i].baseline].param_values[0],
                            s->runs[i].param_values[0]);
    }
    plumb_session_free(s);
}

static void compare_param_compares_a_command_with_itself(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.compare_param = "v";
    o.baseline = "y";
    plumb_bench_t *b = new_bench(&o);
    static const char *const n[] = {"1", "2"}, *const v[] = {"x", "y", "z"};
    add_command(b, "A", "true A {n} {v}");
    add_command(b, "B", "true B {n} {v}");
    assert_int_equal(plumb_bench_add_param(b, "n", 2, n), 0);
    assert_int_equal(plumb_bench_add_param(b, "v", 3, v), 0);
    plumb_session_t *s = run_ok(b);
    assert_int_equal(s->n_runs, 12);
    for (size_t i = 0; i < s->n_runs; i++) {
        const plumb_run_t *run = &s->runs[i];
        if (!strcmp(run->param_values[1], "y")) {
            assert_int_equal(run->baseline, -1);
        } else {
            assert_true(run->baseline >= 0);
            const plumb_run_t *base = &s->runs[run->baseline];
            /* the same command, the same n, v at the baseline value */
            assert_string_equal(base->series_name, run->series_name);
            assert_string_equal(base->param_values[0], run->param_values[0]);
            assert_string_equal(base->param_values[1], "y");
        }
        /* each compared value is a series of its own */
        assert_int_equal(run->series, (int)i);
    }
    assert_string_equal(s->runs[0].name, "A n=1,v=x");
    assert_int_equal(s->runs[0].baseline, 1); /* A n=1,v=y */
    assert_int_equal(s->runs[11].baseline, 10); /* B n=2,v=z: B n=2,v=y */
    assert_null(s->scan_param);
    plumb_session_free(s);

    /* without --baseline, the first value is the baseline */
    o.baseline = NULL;
    b = new_bench(&o);
    add_command(b, "A", "true A {v}");
    assert_int_equal(plumb_bench_add_param(b, "v", 3, v), 0);
    s = run_ok(b);
    assert_int_equal(s->runs[0].baseline, -1);
    assert_int_equal(s->runs[1].baseline, 0);
    assert_int_equal(s->runs[2].baseline, 0);
    plumb_session_free(s);
}

/* plumb_bench_run must fail with EINVAL in the "options" phase, returning
 * no session and saying why in the failure's message. */
static void assert_option_refused(plumb_bench_t *b, const char *named,
                                  const char *message_part)
{
    plumb_session_t *s = (plumb_session_t *)1;
    assert_int_equal(plumb_bench_run(b, &s), PLUMB_EINVAL);
    assert_null(s);
    const plumb_bench_failure_t *f = plumb_bench_failure(b);
    assert_int_equal(f->err, PLUMB_EINVAL);
    assert_string_equal(f->phase, "options");
    assert_string_equal(f->command, named);
    assert_non_null(strstr(f->stderr_tail, message_part));
    plumb_bench_free(b);
}

static void unknown_baseline_or_compare_param_is_einval(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    static const char *const v[] = {"x", "y"};

    o.baseline = "nope";
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "A", "true a");
    add_command(b, "B", "true b");
    assert_option_refused(b, "nope", "--baseline");

    o.baseline = NULL;
    o.compare_param = "w";
    b = new_bench(&o);
    add_command(b, "A", "true {v}");
    assert_int_equal(plumb_bench_add_param(b, "v", 2, v), 0);
    assert_option_refused(b, "w", "--compare-param");

    o.compare_param = "v";
    o.baseline = "z";
    b = new_bench(&o);
    add_command(b, "A", "true {v}");
    assert_int_equal(plumb_bench_add_param(b, "v", 2, v), 0);
    assert_option_refused(b, "z", "--compare-param");
}

/* ---- scans -------------------------------------------------------------- */

static void scan_needs_one_numeric_param_with_three_values(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    static const char *const sizes[] = {"10", "1e2", "1000"};
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "A", "true a {n}");
    add_command(b, NULL, "true b {n}");
    assert_int_equal(plumb_bench_add_param(b, "n", 3, sizes), 0);
    plumb_session_t *s = run_ok(b);
    assert_non_null(s->scan_param);
    assert_string_equal(s->scan_param, "n");
    static const double x[] = {10, 100, 1000};
    for (size_t i = 0; i < 6; i++) {
        assert_true(s->runs[i].x == x[i % 3]);
        assert_int_equal(s->runs[i].series, (int)(i / 3));
    }
    assert_string_equal(s->runs[4].series_name, "true b {n}");
    assert_int_equal(s->runs[4].baseline, 1); /* A at n=100 */
    plumb_session_free(s);

    /* two values, or a value that is not a number: no scan (a second
     * parameter: see params_expand_with_the_first_varying_slowest) */
    static const char *const two[] = {"10", "100"};
    static const char *const words[] = {"10", "100", "many"};
    for (int k = 0; k < 2; k++) {
        b = new_bench(&o);
        add_command(b, "A", "true {n}");
        if (k == 0)
            assert_int_equal(plumb_bench_add_param(b, "n", 2, two), 0);
        else
            assert_int_equal(plumb_bench_add_param(b, "n", 3, words), 0);
        s = run_ok(b);
        assert_null(s->scan_param);
        for (size_t i = 0; i < s->n_runs; i++)
            assert_true(isnan(s->runs[i].x));
        plumb_session_free(s);
    }
}

/* ---- schedules ---------------------------------------------------------- */

/* Measures commands logging A, B, C with `schedule` and `seed`, `runs`
 * rounds and `warmup` warm-ups; returns the log as letters. */
static char *logged_order(const scratch_t *t, plumb_schedule_t schedule,
                          uint64_t seed, unsigned runs, unsigned warmup)
{
    char cmd[3][160];
    unlink(t->log); /* a log of this bench only */
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.schedule = schedule;
    o.seed = seed;
    o.runs = runs;
    o.warmup = warmup;
    plumb_bench_t *b = new_bench(&o);
    for (int i = 0; i < 3; i++) {
        char word[2] = {(char)('A' + i), '\0'};
        log_command(t, word, cmd[i], sizeof cmd[i]);
        add_command(b, word, cmd[i]);
    }
    plumb_session_t *s = run_ok(b);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(s->runs[i].n_samples, runs);
    assert_int_equal(s->seed, seed);
    plumb_session_free(s);
    return read_letters(t);
}

static void sequential_runs_each_command_in_turn(void **state)
{
    char *log = logged_order(*state, PLUMB_SCHEDULE_SEQUENTIAL, 1, 3, 0);
    assert_string_equal(log, "AAABBBCCC");
    free(log);
}

static void interleave_alternates_the_commands(void **state)
{
    char *log = logged_order(*state, PLUMB_SCHEDULE_INTERLEAVE, 1, 3, 0);
    assert_string_equal(log, "ABCABCABC");
    free(log);
}

static int is_permutation_of_abc(const char *three)
{
    return strlen(three) >= 3 && three[0] != three[1] &&
           three[0] != three[2] && three[1] != three[2] &&
           strchr("ABC", three[0]) && strchr("ABC", three[1]) &&
           strchr("ABC", three[2]);
}

static void blocks_shuffle_each_round_by_the_seed(void **state)
{
    char *first = logged_order(*state, PLUMB_SCHEDULE_BLOCKS, 7, 4, 0);
    assert_int_equal(strlen(first), 12);
    for (size_t round = 0; round < 4; round++)
        assert_true(is_permutation_of_abc(first + 3 * round));

    /* the same seed, the same order */
    char *again = logged_order(*state, PLUMB_SCHEDULE_BLOCKS, 7, 4, 0);
    assert_string_equal(again, first);
    free(again);

    /* another seed, another order: so the order is the seed's, and (as
     * two orders differ) not always A B C */
    int differs = 0;
    for (uint64_t seed = 1; seed < 6 && !differs; seed++) {
        char *other = logged_order(*state, PLUMB_SCHEDULE_BLOCKS, seed, 4, 0);
        differs = strcmp(other, first) != 0;
        free(other);
    }
    assert_true(differs);
    free(first);
}

static void warmups_come_first_and_are_not_recorded(void **state)
{
    /* logged_order checks 3 samples per command */
    char *log = logged_order(*state, PLUMB_SCHEDULE_BLOCKS, 3, 3, 2);
    assert_int_equal(strlen(log), 2 * 3 + 3 * 3);
    assert_memory_equal(log, "ABCABC", 6);
    for (size_t round = 0; round < 3; round++)
        assert_true(is_permutation_of_abc(log + 6 + 3 * round));
    free(log);
}

/* ---- how many runs ------------------------------------------------------ */

static void fixed_runs_give_exactly_that_many(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.runs = 3;
    o.min_runs = 10;  /* ignored */
    o.budget_s = 100; /* ignored */
    o.warmup = 1;
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "A", "true a");
    add_command(b, "B", "true b");
    plumb_session_t *s = run_ok(b);
    assert_int_equal(s->runs[0].n_samples, 3);
    assert_int_equal(s->runs[1].n_samples, 3);
    plumb_session_free(s);
}

static void min_runs_with_no_budget(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.min_runs = 4;
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "A", "true a");
    add_command(b, "B", "true b");
    plumb_session_t *s = run_ok(b);
    assert_int_equal(s->runs[0].n_samples, 4);
    assert_int_equal(s->runs[1].n_samples, 4);
    plumb_session_free(s);

    /* fewer than two is raised to two: a spread needs two values */
    o.min_runs = 1;
    b = new_bench(&o);
    add_command(b, "A", "true a");
    s = run_ok(b);
    assert_int_equal(s->runs[0].n_samples, 2);
    plumb_session_free(s);
}

static void max_runs_caps_a_large_budget(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.budget_s = 100;
    o.max_runs = 3;
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "A", "true a");
    int64_t t0 = plumb_clock_now_ns();
    plumb_session_t *s = run_ok(b);
    assert_true(plumb_clock_now_ns() - t0 < 20000 * MS);
    assert_int_equal(s->runs[0].n_samples, 3);
    plumb_session_free(s);
}

static void budget_stops_the_round_it_is_reached(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.budget_s = 0.3;
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "A", "sleep 0.01");
    plumb_session_t *s = run_ok(b);
    const plumb_run_t *run = &s->runs[0];
    /* runs of at least 10 ms each (about 30 on a quiet machine, a handful
     * under valgrind on a busy one): the last one reached 300 ms of
     * measured time, the ones before it had not */
    assert_true(run->n_samples >= 2);
    assert_true(run->n_samples <= 31);
    int64_t total = 0;
    for (size_t i = 0; i + 1 < run->n_samples; i++)
        total += run->samples[i].metric[PLUMB_METRIC_WALL];
    assert_true(total < 300 * MS);
    total += run->samples[run->n_samples - 1].metric[PLUMB_METRIC_WALL];
    assert_true(total >= 300 * MS);
    plumb_session_free(s);
}

/* ---- prepare, setup, cleanup -------------------------------------------- */

static void setup_prepare_and_cleanup_bracket_the_runs(void **state)
{
    const scratch_t *t = *state;
    char cmd[160], setup[160], cleanup[160], prepare[160];
    log_command(t, "R{n}", cmd, sizeof cmd);
    log_command(t, "S{n}", setup, sizeof setup);
    log_command(t, "C{n}", cleanup, sizeof cleanup);
    log_command(t, "P", prepare, sizeof prepare);
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.schedule = PLUMB_SCHEDULE_INTERLEAVE;
    o.warmup = 1;
    o.runs = 2;
    o.setup = setup;
    o.cleanup = cleanup;
    o.prepare = prepare;
    plumb_bench_t *b = new_bench(&o);
    static const char *const n[] = {"1", "2"};
    add_command(b, "R", cmd);
    assert_int_equal(plumb_bench_add_param(b, "n", 2, n), 0);
    plumb_session_t *s = run_ok(b);
    char *log = read_log(t);
    /* setup per case (with its parameters) before any run, prepare before
     * every run (warm-ups too), cleanup per case after the last */
    assert_string_equal(log, "S1 S2 "
                             "P R1 P R2 "  /* warm-up */
                             "P R1 P R2 "  /* round 1 */
                             "P R1 P R2 "  /* round 2 */
                             "C1 C2");
    assert_int_equal(s->runs[0].n_samples, 2);
    free(log);
    plumb_session_free(s);
}

static void failing_setup_stops_before_any_run(void **state)
{
    const scratch_t *t = *state;
    char cmd[160];
    log_command(t, "R", cmd, sizeof cmd);
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.setup = "sh -c 'echo no setup >&2; exit 4'";
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "R", cmd);
    plumb_session_t *s = (plumb_session_t *)1;
    assert_int_equal(plumb_bench_run(b, &s), PLUMB_EFAILED);
    assert_null(s);
    const plumb_bench_failure_t *f = plumb_bench_failure(b);
    assert_int_equal(f->err, PLUMB_EFAILED);
    assert_string_equal(f->phase, "setup");
    assert_string_equal(f->run_name, "R");
    assert_string_equal(f->command, o.setup);
    assert_int_equal(f->exit_code, 4);
    assert_non_null(strstr(f->stderr_tail, "no setup"));
    char *log = read_log(t);
    assert_string_equal(log, "");
    free(log);
    plumb_bench_free(b);
}

static void failing_prepare_stops_the_run(void **state)
{
    const scratch_t *t = *state;
    char cmd[160];
    log_command(t, "R", cmd, sizeof cmd);
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.prepare = "false";
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "R", cmd);
    plumb_session_t *s = (plumb_session_t *)1;
    assert_int_equal(plumb_bench_run(b, &s), PLUMB_EFAILED);
    assert_null(s);
    const plumb_bench_failure_t *f = plumb_bench_failure(b);
    assert_string_equal(f->phase, "prepare");
    assert_string_equal(f->command, "false");
    assert_int_equal(f->exit_code, 1);
    char *log = read_log(t);
    assert_string_equal(log, "");
    free(log);
    plumb_bench_free(b);
}

/* ---- failures ----------------------------------------------------------- */

static void failed_run_is_reported_with_its_details(void **state)
{
    (void)state;
    static const char *const phases[] = {"run", "warmup"};
    for (unsigned warmup = 0; warmup < 2; warmup++) {
        plumb_bench_opts_t o;
        quick_opts(&o);
        o.warmup = warmup;
        plumb_bench_t *b = new_bench(&o);
        add_command(b, "good", "true");
        add_command(b, "bad", "echo oops >&2; exit 3");
        plumb_session_t *s = (plumb_session_t *)1;
        assert_int_equal(plumb_bench_run(b, &s), PLUMB_EFAILED);
        assert_null(s);
        const plumb_bench_failure_t *f = plumb_bench_failure(b);
        assert_int_equal(f->err, PLUMB_EFAILED);
        assert_string_equal(f->phase, phases[warmup]);
        assert_string_equal(f->run_name, "bad");
        assert_string_equal(f->command, "echo oops >&2; exit 3");
        assert_int_equal(f->exit_code, 3);
        assert_int_equal(f->term_signal, 0);
        assert_int_equal(f->timed_out, 0);
        assert_string_equal(f->stderr_tail, "oops\n");
        plumb_bench_free(b);
    }
}

static void killed_run_reports_its_signal(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "killed", "kill -TERM $$");
    plumb_session_t *s = NULL;
    assert_int_equal(plumb_bench_run(b, &s), PLUMB_EFAILED);
    assert_null(s);
    const plumb_bench_failure_t *f = plumb_bench_failure(b);
    assert_int_equal(f->term_signal, SIGTERM);
    assert_int_equal(f->exit_code, -1);
    plumb_bench_free(b);
}

static void ignore_failure_keeps_failed_samples(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.ignore_failure = 1;
    o.warmup = 1;
    o.runs = 3;
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "fails", "false");
    add_command(b, "exits 5", "sh -c 'exit 5'");
    plumb_session_t *s = run_ok(b);
    static const int codes[] = {1, 5};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(s->runs[i].n_samples, 3);
        for (size_t k = 0; k < 3; k++) {
            assert_int_equal(s->runs[i].samples[k].exit_code, codes[i]);
            assert_false(plumb_sample_ok(&s->runs[i].samples[k]));
            assert_true(s->runs[i].samples[k].metric[PLUMB_METRIC_WALL] >= 0);
        }
    }
    plumb_session_free(s);
}

static void timeout_is_etimedout(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.timeout_ns = 50 * MS;
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "slow", "sleep 10");
    plumb_session_t *s = (plumb_session_t *)1;
    int64_t t0 = plumb_clock_now_ns();
    assert_int_equal(plumb_bench_run(b, &s), PLUMB_ETIMEDOUT);
    /* killed, not waited for: sleep 10 would have taken 10 s (the bound
     * is that, not a speed: valgrind on a loaded machine took over 5 s) */
    assert_true(plumb_clock_now_ns() - t0 < 9500 * MS);
    assert_null(s);
    const plumb_bench_failure_t *f = plumb_bench_failure(b);
    assert_int_equal(f->err, PLUMB_ETIMEDOUT);
    assert_int_equal(f->timed_out, 1);
    assert_string_equal(f->phase, "run");
    assert_string_equal(f->run_name, "slow");
    plumb_bench_free(b);

    /* kept, and marked, with --ignore-failure */
    o.ignore_failure = 1;
    b = new_bench(&o);
    add_command(b, "slow", "sleep 10");
    s = run_ok(b);
    assert_int_equal(s->runs[0].n_samples, 2);
    for (size_t k = 0; k < 2; k++) {
        assert_int_equal(s->runs[0].samples[k].timed_out, 1);
        assert_true(s->runs[0].samples[k].metric[PLUMB_METRIC_WALL] >=
                    50 * MS);
        assert_true(s->runs[0].samples[k].metric[PLUMB_METRIC_WALL] <
                    5000 * MS);
    }
    plumb_session_free(s);
}

static void missing_program_is_enoent(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "A", "true");
    add_command(b, "B", "plumb-test-no-such-program --flag");
    plumb_session_t *s = (plumb_session_t *)1;
    /* found missing by the PATH search before anything runs, so valgrind's
     * fork-for-vfork makes no difference here */
    assert_int_equal(plumb_bench_run(b, &s), PLUMB_ENOENT);
    assert_null(s);
    const plumb_bench_failure_t *f = plumb_bench_failure(b);
    assert_int_equal(f->err, PLUMB_ENOENT);
    assert_non_null(f->program);
    assert_string_equal(f->program, "plumb-test-no-such-program");
    assert_string_equal(f->command, "plumb-test-no-such-program --flag");
    plumb_bench_free(b);
}

static void missing_auxiliary_program_is_enoent(void **state)
{
    (void)state;
    static const char *const phases[] = {"prepare", "setup", "cleanup"};
    for (int k = 0; k < 3; k++) {
        plumb_bench_opts_t o;
        quick_opts(&o);
        const char *missing = "plumb-test-no-such-helper arg";
        if (k == 0)
            o.prepare = missing;
        else if (k == 1)
            o.setup = missing;
        else
            o.cleanup = missing;
        plumb_bench_t *b = new_bench(&o);
        add_command(b, "A", "true");
        plumb_session_t *s = (plumb_session_t *)1;
        assert_int_equal(plumb_bench_run(b, &s), PLUMB_ENOENT);
        assert_null(s);
        const plumb_bench_failure_t *f = plumb_bench_failure(b);
        assert_string_equal(f->phase, phases[k]);
        assert_string_equal(f->command, missing);
        assert_non_null(f->program);
        assert_string_equal(f->program, "plumb-test-no-such-helper");
        plumb_bench_free(b);
    }
}

/* ---- cancellation ------------------------------------------------------- */

typedef struct {
    volatile sig_atomic_t *cancel;
    size_t after;  /* set the flag once this many runs are done */
    size_t calls;
    size_t last_done, last_total;
} canceller_t;

static void cancel_after_runs(const plumb_progress_t *p, void *data)
{
    canceller_t *c = data;
    c->calls++;
    c->last_done = p->runs_done;
    c->last_total = p->runs_total;
    if (c->cancel && p->runs_done >= c->after)
        *c->cancel = 1;
}

static void cancel_between_runs_keeps_the_measured_samples(void **state)
{
    (void)state;
    volatile sig_atomic_t flag = 0;
    canceller_t c = {.cancel = &flag, .after = 5};
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.schedule = PLUMB_SCHEDULE_INTERLEAVE;
    o.runs = 10;
    o.cancel = &flag;
    o.progress = cancel_after_runs;
    o.progress_data = &c;
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "A", "true a");
    add_command(b, "B", "true b");
    plumb_session_t *s = NULL;
    assert_int_equal(plumb_bench_run(b, &s), PLUMB_ECANCELED);
    assert_non_null(s);
    assert_int_equal(s->partial, 1);
    /* A B A B A, then the flag */
    assert_int_equal(s->runs[0].n_samples, 3);
    assert_int_equal(s->runs[1].n_samples, 2);
    assert_int_equal(c.calls, 5);
    for (size_t i = 0; i < 2; i++)
        for (size_t k = 0; k < s->runs[i].n_samples; k++)
            assert_true(plumb_sample_ok(&s->runs[i].samples[k]));
    plumb_session_free(s);
    plumb_bench_free(b);

    /* during the warm-ups: a partial session with nothing measured */
    flag = 0;
    c.after = 1;
    c.calls = 0;
    o.warmup = 1;
    b = new_bench(&o);
    add_command(b, "A", "true a");
    add_command(b, "B", "true b");
    s = NULL;
    assert_int_equal(plumb_bench_run(b, &s), PLUMB_ECANCELED);
    assert_non_null(s);
    assert_int_equal(s->partial, 1);
    assert_int_equal(s->n_runs, 2);
    assert_int_equal(s->runs[0].n_samples, 0);
    assert_int_equal(s->runs[1].n_samples, 0);
    plumb_session_free(s);
    plumb_bench_free(b);
}

typedef struct {
    const char *started; /* a file the command creates when it starts */
    volatile sig_atomic_t *cancel;
    int64_t cancelled_at_ns;
} watcher_t;

/* Sets the flag once the watched file exists: from another thread, while
 * the run that created it is still going. */
static void *cancel_when_started(void *data)
{
    watcher_t *w = data;
    for (int i = 0; i < 3000 && access(w->started, F_OK) != 0; i++)
        sleep_ms(5);
    w->cancelled_at_ns = plumb_clock_now_ns();
    *w->cancel = 1;
    return NULL;
}

static void cancel_during_a_run_kills_it_and_keeps_the_rest(void **state)
{
    const scratch_t *t = *state;
    char started[128], slow[256];
    snprintf(started, sizeof started, "%s/started", t->dir);
    snprintf(slow, sizeof slow, "touch %s; sleep 10", started);
    volatile sig_atomic_t flag = 0;
    watcher_t w = {.started = started, .cancel = &flag};
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.schedule = PLUMB_SCHEDULE_INTERLEAVE;
    o.runs = 5;
    o.cancel = &flag;
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "fast", "true");
    add_command(b, "slow", slow);
    pthread_t thread;
    assert_int_equal(pthread_create(&thread, NULL, cancel_when_started, &w),
                     0);
    plumb_session_t *s = NULL;
    int err = plumb_bench_run(b, &s);
    int64_t returned_ns = plumb_clock_now_ns();
    pthread_join(thread, NULL);

    assert_int_equal(err, PLUMB_ECANCELED);
    assert_true(returned_ns - w.cancelled_at_ns < 2000 * MS);
    assert_non_null(s);
    assert_int_equal(s->partial, 1);
    /* fast ran once; slow was killed mid-run and is not a sample */
    assert_int_equal(s->runs[0].n_samples, 1);
    assert_int_equal(s->runs[1].n_samples, 0);
    plumb_session_free(s);
    plumb_bench_free(b);
}

static void progress_counts_every_run(void **state)
{
    (void)state;
    canceller_t c = {0};
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.warmup = 2;
    o.runs = 3;
    o.progress = cancel_after_runs;
    o.progress_data = &c;
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "A", "true a");
    add_command(b, "B", "true b");
    plumb_session_t *s = run_ok(b);
    /* 2 warm-ups and 3 runs of each of 2 commands */
    assert_int_equal(c.calls, 10);
    assert_int_equal(c.last_done, 10);
    assert_int_equal(c.last_total, 10);
    plumb_session_free(s);
}

/* ---- shell start-up ----------------------------------------------------- */

/* A "shell" that takes SLOW_SHELL_MS to start: it sleeps, then execs sh.
 * Its start-up then dwarfs the noise of a busy machine, so that whether
 * it was subtracted shows plainly. */
#define SLOW_SHELL_MS 25

static void write_slow_shell(const scratch_t *t, char *path, size_t size)
{
    snprintf(path, size, "%s/slowsh", t->dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "#!/bin/sh\nsleep 0.%03d\nexec /bin/sh \"$@\"\n",
            SLOW_SHELL_MS);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(path, 0755), 0);
}

static void shell_start_up_is_priced_and_subtracted(void **state)
{
    const scratch_t *t = *state;
    char shell_path[128];
    write_slow_shell(t, shell_path, sizeof shell_path);
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.schedule = PLUMB_SCHEDULE_INTERLEAVE;
    o.runs = 5;
    o.shell = shell_path;
    plumb_bench_t *b = new_bench(&o);
    /* the same program, started directly, and by the shell, which execs
     * it */
    add_command(b, "direct", "sleep 0.01");
    add_command(b, "shell", "exec sleep 0.01 < /dev/null");
    plumb_session_t *s = run_ok(b);
    const plumb_run_t *direct = &s->runs[0], *shell = &s->runs[1];
    assert_int_equal(direct->shell, 0);
    assert_int_equal(direct->shell_overhead_ns, 0);
    assert_int_equal(shell->shell, 1);
    assert_true(shell->shell_overhead_ns >= SLOW_SHELL_MS * MS);
    assert_true(shell->shell_overhead_ns < 10 * SLOW_SHELL_MS * MS);
    /* Unsubtracted, the shell run would be slower than the direct one by
     * more than SLOW_SHELL_MS; subtracted, it is about as fast. (Under
     * valgrind, whose timings are coarse, only the first is certain.) */
    double gap = median_wall(shell) - median_wall(direct);
    int about_as_fast = gap < SLOW_SHELL_MS * MS / 2 &&
                        (under_valgrind() || gap > -SLOW_SHELL_MS * MS / 2);
    if (!about_as_fast)
        print_error("shell run minus direct run: %.0f ns; shell start-up "
                    "%lld ns\n",
                    gap, (long long)shell->shell_overhead_ns);
    assert_true(about_as_fast);
    for (size_t k = 0; k < shell->n_samples; k++)
        assert_true(shell->samples[k].metric[PLUMB_METRIC_WALL] >= 0);
    plumb_session_free(s);
}

static void always_shell_runs_even_plain_commands_through_it(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.shell_mode = PLUMB_SHELL_ALWAYS;
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "A", "true");
    plumb_session_t *s = run_ok(b);
    assert_int_equal(s->runs[0].shell, 1);
    assert_true(s->runs[0].shell_overhead_ns > 0);
    for (size_t k = 0; k < s->runs[0].n_samples; k++)
        assert_true(s->runs[0].samples[k].metric[PLUMB_METRIC_WALL] >= 0);
    plumb_session_free(s);

    /* and NONE refuses shell syntax */
    o.shell_mode = PLUMB_SHELL_NONE;
    b = new_bench(&o);
    add_command(b, "A", "true | true");
    s = (plumb_session_t *)1;
    assert_int_equal(plumb_bench_run(b, &s), PLUMB_EINVAL);
    assert_null(s);
    assert_string_equal(plumb_bench_failure(b)->command, "true | true");
    plumb_bench_free(b);
}

/* ---- the session -------------------------------------------------------- */

static void session_records_its_context(void **state)
{
    (void)state;
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.seed = 12345;
    o.invocation = "plumb bench --seed 12345 true";
    plumb_bench_t *b = new_bench(&o);
    add_command(b, NULL, "true");
    plumb_session_t *s = run_ok(b);
    assert_int_equal(s->seed, 12345);
    assert_non_null(s->invocation);
    assert_string_equal(s->invocation, "plumb bench --seed 12345 true");
    assert_true(s->env.cpus > 0);
    assert_true(s->env.created_ns > 0);
    assert_string_equal(s->env.plumb_version, PLUMB_VERSION);
    assert_true(s->overhead_ns > 0);
    assert_non_null(s->counters);
    assert_true(s->counters[0] != '\0');
    assert_int_equal(s->partial, 0);
    assert_int_equal(s->id, 0);
    assert_int_equal(s->n_runs, 1);
    assert_string_equal(s->runs[0].name, "true");
    assert_null(s->runs[0].python);
    for (size_t k = 0; k < s->runs[0].n_samples; k++) {
        assert_true(plumb_sample_ok(&s->runs[0].samples[k]));
        assert_true(s->runs[0].samples[k].metric[PLUMB_METRIC_WALL] > 0);
    }
    plumb_session_free(s);
}

static void options_are_copied(void **state)
{
    const scratch_t *t = *state;
    char cmd[160], prepare[160];
    log_command(t, "R", cmd, sizeof cmd);
    log_command(t, "P", prepare, sizeof prepare);
    plumb_bench_opts_t o;
    quick_opts(&o);
    o.prepare = prepare;
    plumb_bench_t *b = new_bench(&o);
    add_command(b, "R", cmd);
    /* the caller's strings may change once the bench has them */
    memset(prepare, 0, sizeof prepare);
    memset(cmd, 0, sizeof cmd);
    plumb_session_t *s = run_ok(b);
    char *log = read_log(t);
    assert_string_equal(log, "P R P R");
    free(log);
    plumb_session_free(s);
}

int test_bench_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(params_expand_with_the_first_varying_slowest),
        cmocka_unit_test(invalid_commands_and_params_are_refused),
        cmocka_unit_test(baseline_is_the_first_command),
        cmocka_unit_test(baseline_by_name_or_by_template),
        cmocka_unit_test(baseline_has_the_same_parameter_values),
        cmocka_unit_test(compare_param_compares_a_command_with_itself),
        cmocka_unit_test(unknown_baseline_or_compare_param_is_einval),
        cmocka_unit_test(scan_needs_one_numeric_param_with_three_values),
        scratch_test(sequential_runs_each_command_in_turn),
        scratch_test(interleave_alternates_the_commands),
        scratch_test(blocks_shuffle_each_round_by_the_seed),
        scratch_test(warmups_come_first_and_are_not_recorded),
        cmocka_unit_test(fixed_runs_give_exactly_that_many),
        cmocka_unit_test(min_runs_with_no_budget),
        cmocka_unit_test(max_runs_caps_a_large_budget),
        cmocka_unit_test(budget_stops_the_round_it_is_reached),
        scratch_test(setup_prepare_and_cleanup_bracket_the_runs),
        scratch_test(failing_setup_stops_before_any_run),
        scratch_test(failing_prepare_stops_the_run),
        cmocka_unit_test(failed_run_is_reported_with_its_details),
        cmocka_unit_test(killed_run_reports_its_signal),
        cmocka_unit_test(ignore_failure_keeps_failed_samples),
        cmocka_unit_test(timeout_is_etimedout),
        cmocka_unit_test(missing_program_is_enoent),
        cmocka_unit_test(missing_auxiliary_program_is_enoent),
        cmocka_unit_test(cancel_between_runs_keeps_the_measured_samples),
        scratch_test(cancel_during_a_run_kills_it_and_keeps_the_rest),
        cmocka_unit_test(progress_counts_every_run),
        scratch_test(shell_start_up_is_priced_and_subtracted),
        cmocka_unit_test(always_shell_runs_even_plain_commands_through_it),
        cmocka_unit_test(session_records_its_context),
        scratch_test(options_are_copied),
    };
    return cmocka_run_group_tests_name("bench", tests, NULL, NULL);
}
