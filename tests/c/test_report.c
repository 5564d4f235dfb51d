/* test_report.c: the JSON, CSV, Markdown and text renderers, on a session
 * and an analysis built by hand with known figures (not through
 * plumb_analysis_new), so that every figure in the output can be checked
 * against what went in. The whole of each format is pinned by
 * test_golden.c; this file asserts the facts one by one. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_fixture.h"
#include "tests.h"

/* The seed has its top bit set: a double (a JSON number in most readers)
 * would round it to 9223372036854775808. */
#define SEED UINT64_C(0x8000000000000001)
#define SEED_TEXT "9223372036854775809"

/* ---- building the fixture ---------------------------------------------- */

static void add_sample(plumb_run_t *run, int64_t wall_ms, int exit_code)
{
    plumb_sample_t sample;
    plumb_sample_init(&sample);
    sample.metric[PLUMB_METRIC_WALL] = wall_ms * 1000000;
    sample.metric[PLUMB_METRIC_USER] = wall_ms * 800000;
    sample.metric[PLUMB_METRIC_SYS] = wall_ms * 100000;
    sample.metric[PLUMB_METRIC_MAX_RSS] = 50 * 1048576;
    sample.exit_code = exit_code;
    /* instructions, cycles, wchar_bytes... stay PLUMB_UNAVAILABLE */
    assert_int_equal(plumb_run_add_sample(run, &sample), 0);
}

/* A summary centred on median_ms with the given spread. */
static plumb_summary_t summary_ms(double median_ms, double spread_ms)
{
    double ms = 1e6;
    plumb_summary_t m = {
        .n = 3,
        .min = (median_ms - spread_ms) * ms,
        .max = (median_ms + spread_ms) * ms,
        .mean = median_ms * ms,
        .stddev = spread_ms * ms,
        .median = median_ms * ms,
        .mad = spread_ms * ms,
        .p5 = (median_ms - 0.9 * spread_ms) * ms,
        .p25 = (median_ms - 0.5 * spread_ms) * ms,
        .p75 = (median_ms + 0.5 * spread_ms) * ms,
        .p95 = (median_ms + 0.9 * spread_ms) * ms,
        .median_ci_low = (median_ms - spread_ms) * ms,
        .median_ci_high = (median_ms + spread_ms) * ms,
        .median_ci_level = 0.75,
        .outliers = 0,
    };
    return m;
}

static void measured(plumb_run_stats_t *st, double median_ms,
                     double spread_ms, size_t failures)
{
    st->measured[PLUMB_METRIC_WALL] = 1;
    st->summary[PLUMB_METRIC_WALL] = summary_ms(median_ms, spread_ms);
    st->measured[PLUMB_METRIC_USER] = 1;
    st->summary[PLUMB_METRIC_USER] = summary_ms(0.8 * median_ms, 0);
    st->measured[PLUMB_METRIC_SYS] = 1;
    st->summary[PLUMB_METRIC_SYS] = summary_ms(0.1 * median_ms, 0);
    st->measured[PLUMB_METRIC_MAX_RSS] = 1;
    st->summary[PLUMB_METRIC_MAX_RSS] = summary_ms(0, 0);
    st->summary[PLUMB_METRIC_MAX_RSS].median = 50 * 1048576.0;
    st->failures = failures;
}

static plumb_comparison_t comparison(plumb_metric_t metric, double ratio,
                                     double lo, double hi, double p,
                                     plumb_verdict_t verdict)
{
    plumb_comparison_t c = {
        .metric = metric,
        .baseline_median = 310e6,
        .candidate_median = 310e6 / ratio,
        .ratio = ratio,
        .ci_low = lo,
        .ci_high = hi,
        .u = 0,
        .p_value = p,
        .exact = 1,
        .verdict = verdict,
    };
    return c;
}

/* Three runs: slow.py (the baseline), fast.py (3.12x faster) and a run
 * whose name holds a comma and quotes (no significant difference). */
static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    assert_non_null(f);
    plumb_session_t *s = f->s = plumb_session_new();
    assert_non_null(s);
    s->seed = SEED;
    s->overhead_ns = 250000;
    s->env.created_ns = INT64_C(1700000000123456789);
    snprintf(s->env.host, sizeof s->env.host, "ci-host");
    snprintf(s->env.kernel, sizeof s->env.kernel, "Linux 6.1.0 x86_64");
    snprintf(s->env.cpu_model, sizeof s->env.cpu_model, "Test CPU");
    s->env.cpus = 4;
    s->env.load_avg1 = 0.5;
    /* governor stays "": unknown */
    assert_int_equal(plumb_set_string(&s->invocation, "plumb bench x y"), 0);
    assert_int_equal(plumb_set_string(&s->git_commit,
                                      "0123456789abcdef0123456789abcdef01234567"),
                     0);
    assert_int_equal(plumb_set_string(&s->scan_param, "n"), 0);

    plumb_run_t *run;
    assert_int_equal(plumb_session_add_run(s, "slow.py", "python slow.py",
                                           &run), 0);
    assert_int_equal(plumb_run_add_param(run, "n", "100"), 0);
    add_sample(run, 300, 0);
    add_sample(run, 310, 0);
    add_sample(run, 320, 1);

    assert_int_equal(plumb_session_add_run(s, "fast.py",
                                           "python fast.py | head", &run), 0);
    run->baseline = 0;
    run->shell = 1;
    assert_int_equal(plumb_run_add_param(run, "n", "100"), 0);
    add_sample(run, 99, 0);
    add_sample(run, 100, 0);
    add_sample(run, 101, 0);

    assert_int_equal(plumb_session_add_run(s, "fast, \"v2\"",
                                           "python fast2.py", &run), 0);
    run->baseline = 0;
    assert_int_equal(plumb_run_add_param(run, "mode", "a,b"), 0);
    add_sample(run, 305, 0);
    add_sample(run, 307, 0);
    add_sample(run, 309, 0);

    plumb_analysis_t *a = f->a = calloc(1, sizeof *a);
    assert_non_null(a);
    a->opts.level = 0.95;
    a->opts.alpha = 0.05;
    a->n_runs = 3;
    a->runs = calloc(3, sizeof *a->runs);
    assert_non_null(a->runs);
    measured(&a->runs[0], 310, 10, 1);
    measured(&a->runs[1], 100, 1, 0);
    measured(&a->runs[2], 307, 2, 0);
    a->runs[2].summary[PLUMB_METRIC_WALL].stddev = NAN;

    a->n_pairs = 2;
    a->pairs = calloc(2, sizeof *a->pairs);
    assert_non_null(a->pairs);
    a->pairs[0].baseline = 0;
    a->pairs[0].candidate = 1;
    a->pairs[0].compared[0] = 1;
    a->pairs[0].cmp[0] = comparison(PLUMB_METRIC_WALL, 3.12, 3.05, 3.19,
                                    0.0002, PLUMB_VERDICT_LOWER);
    a->pairs[0].compared[1] = 1;
    a->pairs[0].cmp[1] = comparison(PLUMB_METRIC_CPU, NAN, NAN, NAN, 0.5,
                                    PLUMB_VERDICT_SAME);
    a->pairs[0].compared[2] = 1;
    a->pairs[0].cmp[2] = comparison(PLUMB_METRIC_MAX_RSS, 1.5, 1.4, 1.6,
                                    0.002, PLUMB_VERDICT_LOWER);
    a->pairs[1].baseline = 0;
    a->pairs[1].candidate = 2;
    a->pairs[1].compared[0] = 1;
    a->pairs[1].cmp[0] = comparison(PLUMB_METRIC_WALL, 1.01, 0.98, 1.04,
                                    0.412, PLUMB_VERDICT_SAME);
    a->pairs[1].cmp[0].u = 12;
    a->pairs[1].cmp[0].exact = 0;
    a->pairs[1].compared[2] = 1;
    a->pairs[1].cmp[2] = comparison(PLUMB_METRIC_MAX_RSS, 0.5, 0.45, 0.55,
                                    0.001, PLUMB_VERDICT_HIGHER);

    a->n_fits = 2;
    a->fits = calloc(2, sizeof *a->fits);
    assert_non_null(a->fits);
    a->fits[0].series = 0;
    a->fits[0].first_run = 0;
    a->fits[0].n_lo = 100;
    a->fits[0].n_hi = 10000;
    a->fits[0].fit.order = PLUMB_ORDER_N2;
    a->fits[0].fit.a = 1000;
    a->fits[0].fit.b = 2.5;
    a->fits[0].fit.fit_error = 0.021;
    a->fits[1].series = 1;
    a->fits[1].first_run = 1;
    a->fits[1].n_lo = 100;
    a->fits[1].n_hi = 10000;
    a->fits[1].fit.order = PLUMB_ORDER_NLOGN;
    a->fits[1].fit.a = 50000;
    a->fits[1].fit.b = 3;
    a->fits[1].fit.fit_error = 0.05;
    for (int k = 0; k < PLUMB_ORDER_COUNT; k++)
        a->fits[0].fit.bic[k] = a->fits[1].fit.bic[k] = NAN;

    a->n_crossovers = 1;
    a->crossovers = calloc(1, sizeof *a->crossovers);
    assert_non_null(a->crossovers);
    a->crossovers[0].fit_a = 0;
    a->crossovers[0].fit_b = 1;
    a->crossovers[0].n = 1234.5;

    a->n_warnings = 2;
    a->warnings = calloc(2, sizeof *a->warnings);
    assert_non_null(a->warnings);
    a->warnings[0] =
        fixture_copy("slow.py varies a lot: stddev is 3% of the mean");
    a->warnings[1] = fixture_copy("1 of 3 runs of slow.py failed");

    *state = f;
    return 0;
}

static char *render(const fixture_t *f, plumb_format_t format, int verbose)
{
    plumb_report_opts_t opts = {0, verbose, 0};
    char *out = NULL;
    assert_int_equal(plumb_report_render(f->s, f->a, format, &opts, &out), 0);
    assert_non_null(out);
    return out;
}

/* The document parsed back; fails the test when it is not JSON. */
static json_t *render_json(const fixture_t *f)
{
    char *text = render(f, PLUMB_FORMAT_JSON, 0);
    json_error_t error;
    json_t *root = json_loads(text, 0, &error);
    if (!root)
        fail_msg("not JSON: %s at line %d", error.text, error.line);
    free(text);
    assert_true(json_is_object(root));
    return root;
}

static json_t *at(json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (!v)
        fail_msg("no key \"%s\"", key);
    return v;
}

static double number(json_t *obj, const char *key)
{
    json_t *v = at(obj, key);
    assert_true(json_is_number(v));
    return json_number_value(v);
}

static const char *text(json_t *obj, const char *key)
{
    json_t *v = at(obj, key);
    assert_true(json_is_string(v));
    return json_string_value(v);
}

/* ---- JSON --------------------------------------------------------------- */

static void json_has_schema_and_session(void **state)
{
    json_t *root = render_json(*state);
    assert_true(json_is_integer(at(root, "schema_version")));
    assert_int_equal(json_integer_value(at(root, "schema_version")), 1);
    assert_int_equal(PLUMB_JSON_SCHEMA_VERSION, 1);
    assert_string_equal(text(root, "tool"), "plumb");
    assert_string_equal(text(root, "plumb_version"), PLUMB_VERSION);

    json_t *session = at(root, "session");
    assert_true(json_is_null(at(session, "id")));
    assert_true(json_is_false(at(session, "partial")));
    assert_int_equal(json_integer_value(at(session, "created_ns")),
                     INT64_C(1700000000123456789));
    assert_string_equal(text(session, "scan_param"), "n");
    assert_true(json_is_null(at(session, "counters")));

    /* the seed survives as a string, to the last bit */
    const char *seed = text(session, "seed");
    assert_string_equal(seed, SEED_TEXT);
    assert_true(strtoull(seed, NULL, 10) == SEED);

    json_t *env = at(session, "environment");
    assert_string_equal(text(env, "host"), "ci-host");
    assert_int_equal(json_integer_value(at(env, "cpus")), 4);
    assert_true(json_is_null(at(env, "governor"))); /* "" is unknown */
    json_decref(root);
}

static void json_comparisons_carry_the_figures(void **state)
{
    json_t *root = render_json(*state);
    json_t *cmps = at(root, "comparisons");
    /* one entry per compared metric: 3 for the first pair, 2 for the second */
    assert_int_equal(json_array_size(cmps), 5);

    json_t *wall = json_array_get(cmps, 0);
    assert_string_equal(text(wall, "metric"), "wall_ns");
    assert_int_equal(json_integer_value(at(wall, "baseline")), 0);
    assert_int_equal(json_integer_value(at(wall, "candidate")), 1);
    assert_string_equal(text(wall, "baseline_name"), "slow.py");
    assert_string_equal(text(wall, "candidate_name"), "fast.py");
    assert_true(number(wall, "ratio") == 3.12);
    assert_true(number(wall, "ci_low") == 3.05);
    assert_true(number(wall, "ci_high") == 3.19);
    assert_true(number(wall, "p_value") == 0.0002);
    assert_true(json_is_true(at(wall, "exact")));
    assert_string_equal(text(wall, "verdict"), "faster");
    assert_string_equal(text(wall, "verdict_code"), "lower");

    /* NaN is not JSON: it becomes null */
    json_t *cpu = json_array_get(cmps, 1);
    assert_string_equal(text(cpu, "metric"), "cpu_ns");
    assert_true(json_is_null(at(cpu, "ratio")));
    assert_true(json_is_null(at(cpu, "ci_low")));
    assert_true(json_is_null(at(cpu, "ci_high")));
    assert_true(number(cpu, "p_value") == 0.5);
    assert_string_equal(text(cpu, "verdict"), "no significant difference");
    assert_string_equal(text(cpu, "verdict_code"), "same");

    json_t *rss = json_array_get(cmps, 2);
    assert_string_equal(text(rss, "metric"), "max_rss_bytes");
    assert_string_equal(text(rss, "verdict"), "less");

    json_t *same = json_array_get(cmps, 3);
    assert_int_equal(json_integer_value(at(same, "candidate")), 2);
    assert_string_equal(text(same, "candidate_name"), "fast, \"v2\"");
    assert_true(number(same, "ratio") == 1.01);
    assert_true(number(same, "u") == 12);
    assert_true(json_is_false(at(same, "exact")));
    assert_string_equal(text(same, "verdict"), "no significant difference");

    json_t *more = json_array_get(cmps, 4);
    assert_string_equal(text(more, "verdict"), "more");
    assert_string_equal(text(more, "verdict_code"), "higher");
    json_decref(root);
}

static void json_runs_hold_samples_and_measured_statistics(void **state)
{
    json_t *root = render_json(*state);
    json_t *runs = at(root, "runs");
    assert_int_equal(json_array_size(runs), 3);

    json_t *slow = json_array_get(runs, 0);
    assert_string_equal(text(slow, "name"), "slow.py");
    assert_true(json_is_null(at(slow, "baseline")));
    assert_true(json_is_null(at(slow, "python")));
    assert_string_equal(text(at(slow, "params"), "n"), "100");
    assert_int_equal(json_integer_value(at(slow, "n_samples")), 3);
    assert_int_equal(json_integer_value(at(slow, "failures")), 1);

    json_t *samples = at(slow, "samples");
    assert_int_equal(json_array_size(samples), 3);
    json_t *first = json_array_get(samples, 0);
    assert_int_equal(json_integer_value(at(first, "wall_ns")), 300000000);
    /* a metric the system did not measure is null, never 0 */
    assert_true(json_is_null(at(first, "instructions")));
    assert_true(json_is_null(at(first, "wchar_bytes")));
    assert_true(json_is_false(at(first, "timed_out")));
    assert_int_equal(json_integer_value(at(json_array_get(samples, 2),
                                           "exit_code")), 1);

    /* statistics of measured metrics only */
    json_t *stats = at(slow, "statistics");
    assert_null(json_object_get(stats, "instructions"));
    assert_null(json_object_get(stats, "wchar_bytes"));
    json_t *wall = at(stats, "wall_ns");
    assert_true(number(wall, "median") == 310e6);
    assert_true(number(wall, "median_ci_level") == 0.75);
    assert_int_equal(json_integer_value(at(wall, "n")), 3);

    json_t *fast = json_array_get(runs, 1);
    assert_int_equal(json_integer_value(at(fast, "baseline")), 0);
    assert_true(json_is_true(at(fast, "shell")));
    assert_string_equal(text(fast, "command"), "python fast.py | head");

    json_t *third = json_array_get(runs, 2);
    assert_true(json_is_null(at(at(at(third, "statistics"), "wall_ns"),
                                "stddev")));
    json_decref(root);
}

static void json_fits_crossovers_warnings(void **state)
{
    json_t *root = render_json(*state);
    json_t *fits = at(root, "fits");
    assert_int_equal(json_array_size(fits), 2);
    json_t *fit = json_array_get(fits, 0);
    assert_string_equal(text(fit, "name"), "slow.py");
    assert_string_equal(text(fit, "order"), "O(n^2)");
    assert_true(number(fit, "fit_error") == 0.021);
    assert_true(number(fit, "b") == 2.5);
    assert_true(number(fit, "n_hi") == 10000);
    assert_string_equal(text(json_array_get(fits, 1), "order"),
                        "O(n log n)");

    json_t *cross = json_array_get(at(root, "crossovers"), 0);
    assert_string_equal(text(cross, "a"), "slow.py");
    assert_string_equal(text(cross, "b"), "fast.py");
    assert_true(number(cross, "n") == 1234.5);

    json_t *warnings = at(root, "warnings");
    assert_int_equal(json_array_size(warnings), 2);
    assert_string_equal(json_string_value(json_array_get(warnings, 1)),
                        "1 of 3 runs of slow.py failed");
    json_decref(root);
}

/* A name that is not UTF-8 still yields a JSON document (json_loads would
 * refuse anything else), with U+FFFD for the bad byte. */
static void json_repairs_bytes_that_are_not_utf8(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(plumb_set_string(&f->s->runs[0].name, "bad\xff name"),
                     0);
    assert_int_equal(plumb_set_string(&f->s->runs[0].command,
                                      "caf\xc3\xa9 \xe0\x80\x80"),
                     0);
    json_t *root = render_json(f);
    json_t *run = json_array_get(at(root, "runs"), 0);
    assert_string_equal(text(run, "name"), "bad\xef\xbf\xbd name");
    /* valid é kept; an overlong sequence is replaced byte by byte */
    assert_string_equal(text(run, "command"),
                        "caf\xc3\xa9 \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
    json_decref(root);
}

/* ---- CSV ---------------------------------------------------------------- */

#define MAX_FIELDS 64
#define MAX_RECORDS 16

typedef struct {
    char *fields[MAX_FIELDS];
    size_t n;
} record_t;

/* A strict RFC 4180 reader for the test: records end in CRLF, quoted fields
 * double their quotes. Returns the number of records; fails on bad input. */
static size_t parse_csv(const char *p, record_t *records)
{
    size_t n = 0;
    while (*p) {
        assert_true(n < MAX_RECORDS);
        record_t *r = &records[n++];
        r->n = 0;
        for (;;) {
            assert_true(r->n < MAX_FIELDS);
            char *field = malloc(strlen(p) + 1), *w = field;
            assert_non_null(field);
            if (*p == '"') {
                for (p++;; p++) {
                    assert_true(*p != '\0'); /* unterminated quote */
                    if (*p == '"') {
                        if (p[1] != '"')
                            break;
                        p++;
                    }
                    *w++ = *p;
                }
                p++;
            } else {
                while (*p && *p != ',' && *p != '\r' && *p != '\n' &&
                       *p != '"')
                    *w++ = *p++;
            }
            *w = '\0';
            r->fields[r->n++] = field;
            if (*p == ',') {
                p++;
                continue;
            }
            assert_true(p[0] == '\r' && p[1] == '\n');
            p += 2;
            break;
        }
    }
    return n;
}

static void free_records(record_t *records, size_t n)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < records[i].n; k++)
            free(records[i].fields[k]);
}

static const char *column(const record_t *header, const record_t *r,
                          const char *name)
{
    for (size_t k = 0; k < header->n; k++)
        if (strcmp(header->fields[k], name) == 0)
            return r->fields[k];
    fail_msg("no column %s", name);
    return NULL;
}

static void csv_has_header_rows_and_quoting(void **state)
{
    char *out = render(*state, PLUMB_FORMAT_CSV, 0);
    const char *header =
        "name,command,n,mode,runs,failures,mean_ns,stddev_ns,median_ns,"
        "median_ci_low_ns,median_ci_high_ns,min_ns,max_ns,p5_ns,p95_ns,"
        "mad_ns,user_median_ns,sys_median_ns,max_rss_median_bytes,"
        "wchar_median_bytes,ratio,ratio_ci_low,ratio_ci_high,p_value,"
        "verdict\r\n";
    assert_memory_equal(out, header, strlen(header));
    /* the name with a comma and quotes, quoted, its quotes doubled */
    assert_non_null(strstr(out, "\r\n\"fast, \"\"v2\"\"\",python fast2.py,"));

    record_t records[MAX_RECORDS];
    size_t n = parse_csv(out, records);
    assert_int_equal(n, 4); /* the header and one row per run */
    const record_t *h = &records[0];
    for (size_t i = 1; i < n; i++)
        assert_int_equal(records[i].n, h->n);

    const record_t *slow = &records[1], *fast = &records[2],
                   *v2 = &records[3];
    assert_string_equal(column(h, slow, "name"), "slow.py");
    assert_string_equal(column(h, slow, "n"), "100");
    assert_string_equal(column(h, slow, "mode"), "");
    assert_string_equal(column(h, slow, "runs"), "3");
    assert_string_equal(column(h, slow, "failures"), "1");
    assert_string_equal(column(h, slow, "median_ns"), "310000000");
    assert_string_equal(column(h, slow, "max_rss_median_bytes"), "52428800");
    assert_string_equal(column(h, slow, "wchar_median_bytes"), "");
    assert_string_equal(column(h, slow, "ratio"), ""); /* the baseline */
    assert_string_equal(column(h, slow, "verdict"), "");

    assert_string_equal(column(h, fast, "command"), "python fast.py | head");
    assert_string_equal(column(h, fast, "ratio"), "3.12");
    assert_string_equal(column(h, fast, "ratio_ci_low"), "3.05");
    assert_string_equal(column(h, fast, "ratio_ci_high"), "3.19");
    assert_string_equal(column(h, fast, "p_value"), "0.0002");
    assert_string_equal(column(h, fast, "verdict"), "faster");

    assert_string_equal(column(h, v2, "name"), "fast, \"v2\"");
    assert_string_equal(column(h, v2, "mode"), "a,b");
    assert_string_equal(column(h, v2, "n"), "");
    assert_string_equal(column(h, v2, "stddev_ns"), ""); /* NaN */
    assert_string_equal(column(h, v2, "verdict"),
                        "no significant difference");
    free_records(records, n);
    free(out);
}

/* ---- Markdown ----------------------------------------------------------- */

/* Counts the '|' that separate cells: those not escaped by a backslash. */
static size_t cell_bars(const char *line, size_t len)
{
    size_t bars = 0;
    for (size_t i = 0; i < len; i++)
        if (line[i] == '|' && (i == 0 || line[i - 1] != '\\'))
            bars++;
    return bars;
}

static void markdown_has_table_verdicts_and_fits(void **state)
{
    char *md = render(*state, PLUMB_FORMAT_MARKDOWN, 0);
    assert_non_null(strstr(md, "**fast.py** is **3.12× faster** than "
                               "**slow.py** [3.05, 3.19], p<0.001"));
    assert_non_null(strstr(md, "no significant difference"));
    assert_non_null(strstr(md, "p=0.412"));
    assert_non_null(strstr(md, "**fast.py** uses **1.50× less peak memory** than "
                               "**slow.py**"));
    /* the unchanged CPU time is left out unless verbose */
    assert_null(strstr(md, "CPU time"));
    assert_non_null(strstr(md, "slow.py: O(n^2) (fit error 2.1%)"));
    assert_non_null(strstr(md, "fast.py: O(n log n) (fit error 5.0%)"));
    assert_non_null(strstr(md, "1 of 3 runs of slow.py failed"));
    assert_non_null(strstr(md, "Median"));
    assert_non_null(strstr(md, "95% CI of median"));
    assert_non_null(strstr(md, "| 310.0 ms | [300.0, 320.0] ms (75%) |"));
    assert_non_null(strstr(md, "x86_64")); /* '_' inside a word is text */

    /* '|' in a command is escaped, so every table line has as many cells as
     * the heading */
    assert_non_null(strstr(md, "python fast.py \\| head"));
    size_t rows = 0, heading_bars = 0;
    for (const char *line = md; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (line[0] == '|') {
            size_t bars = cell_bars(line, len);
            if (rows == 0)
                heading_bars = bars;
            assert_int_equal(bars, heading_bars);
            rows++;
        }
        line += len + (end != NULL);
    }
    /* heading (Command, n, mode and 8 figures: 11 cells, 12 bars), rule,
     * three runs */
    assert_int_equal(heading_bars, 12);
    assert_int_equal(rows, 5);
    free(md);

    md = render(*state, PLUMB_FORMAT_MARKDOWN, 1);
    assert_non_null(strstr(md, "in CPU time"));
    free(md);
}

/* Parameter values print as the user wrote them, and a crossover to the
 * unit: never "1e+06" or "1.23e+04", which %g gives. */
static void scan_values_have_no_exponent(void **state)
{
    fixture_t *f = *state;
    f->a->fits[0].n_hi = f->a->fits[1].n_hi = 1e6;
    f->a->crossovers[0].n = 12345.6;

    char *md = render(f, PLUMB_FORMAT_MARKDOWN, 0);
    assert_non_null(strstr(md, "n from 100 to 1000000\n"));
    assert_non_null(strstr(md, "cross at n ≈ 12346\n"));
    assert_null(strstr(md, "e+"));
    free(md);

    char *text = render(f, PLUMB_FORMAT_TEXT, 0);
    assert_non_null(strstr(text, "the curves cross at n ≈ 12346:"));
    assert_null(strstr(text, "e+"));
    free(text);

    f->a->crossovers[0].n = 2.5;
    md = render(f, PLUMB_FORMAT_MARKDOWN, 0);
    assert_non_null(strstr(md, "cross at n ≈ 2.5\n"));
    free(md);
}

/* ---- edges -------------------------------------------------------------- */

/* An analysis that holds nothing (no statistics, no pairs) for a session
 * with runs: every renderer still produces its document. */
static void renderers_accept_an_empty_analysis(void **state)
{
    fixture_t *f = *state;
    plumb_analysis_t *full = f->a;
    plumb_analysis_t empty;
    memset(&empty, 0, sizeof empty);
    f->a = &empty;

    json_t *root = render_json(f);
    json_t *run = json_array_get(at(root, "runs"), 0);
    assert_int_equal(json_object_size(at(run, "statistics")), 0);
    assert_int_equal(json_integer_value(at(run, "failures")), 1);
    assert_int_equal(json_array_size(at(root, "comparisons")), 0);
    json_decref(root);

    char *out = render(f, PLUMB_FORMAT_CSV, 0);
    record_t records[MAX_RECORDS];
    size_t n = parse_csv(out, records);
    assert_int_equal(n, 4);
    assert_string_equal(column(&records[0], &records[1], "median_ns"), "");
    free_records(records, n);
    free(out);

    out = render(f, PLUMB_FORMAT_MARKDOWN, 0);
    assert_null(strstr(out, "Comparisons"));
    free(out);

    /* the failure is counted from the samples */
    out = render(f, PLUMB_FORMAT_TEXT, 0);
    assert_non_null(strstr(out, "3 runs (1 failed)"));
    assert_non_null(strstr(out, "wall time   n/a\n"));
    assert_null(strstr(out, "Comparison"));
    free(out);

    f->a = full;
    char *none = NULL;
    assert_int_equal(plumb_report_render(NULL, f->a, PLUMB_FORMAT_JSON, NULL,
                                         &none), PLUMB_EINVAL);
}

static void renderers_accept_an_empty_session(void **state)
{
    (void)state;
    plumb_session_t *s = plumb_session_new();
    assert_non_null(s);
    plumb_analysis_t a;
    memset(&a, 0, sizeof a);
    char *out = NULL;

    assert_int_equal(plumb_report_render(s, &a, PLUMB_FORMAT_JSON, NULL, &out),
                     0);
    json_t *root = json_loads(out, 0, NULL);
    assert_non_null(root);
    assert_int_equal(json_array_size(at(root, "runs")), 0);
    assert_string_equal(text(at(root, "session"), "seed"), "0");
    json_decref(root);
    free(out);

    assert_int_equal(plumb_report_render(s, &a, PLUMB_FORMAT_CSV, NULL, &out),
                     0);
    /* the header alone, without parameter columns */
    assert_memory_equal(out, "name,command,runs,", 18);
    const char *eol = strstr(out, "\r\n");
    assert_non_null(eol);
    assert_string_equal(eol, "\r\n");
    free(out);

    assert_int_equal(
        plumb_report_render(s, &a, PLUMB_FORMAT_MARKDOWN, NULL, &out), 0);
    assert_non_null(strstr(out, "## plumb"));
    free(out);

    assert_int_equal(plumb_report_render(s, &a, PLUMB_FORMAT_TEXT, NULL, &out),
                     0);
    assert_string_equal(out, "");
    free(out);
    plumb_session_free(s);
}

int test_report_run(void)
{
#define REPORT_TEST(test)                                                     \
    cmocka_unit_test_setup_teardown(test, setup, fixture_teardown)
    const struct CMUnitTest tests[] = {
        REPORT_TEST(json_has_schema_and_session),
        REPORT_TEST(json_comparisons_carry_the_figures),
        REPORT_TEST(json_runs_hold_samples_and_measured_statistics),
        REPORT_TEST(json_fits_crossovers_warnings),
        REPORT_TEST(json_repairs_bytes_that_are_not_utf8),
        REPORT_TEST(csv_has_header_rows_and_quoting),
        REPORT_TEST(markdown_has_table_verdicts_and_fits),
        REPORT_TEST(scan_values_have_no_exponent),
        REPORT_TEST(renderers_accept_an_empty_analysis),
        cmocka_unit_test(renderers_accept_an_empty_session),
    };
#undef REPORT_TEST
    return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
