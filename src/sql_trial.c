/* sql_trial.c: the proof behind an index advice. It tries one candidate
 * index on a scratch database: the traced reads timed without it and with
 * it, their results compared row for row (by digest), the plan of the
 * first read before and after, the index's size, and what the index costs
 * the traced writes. It does not choose candidates (sql_index.c does) nor
 * word the advice (the report does).
 *
 * Fairness: both sides run on the same session with fresh statistics
 * (ANALYZE before each), each block after one untimed warm-up round, and
 * are judged with plumb_compare (baseline: without the index). The side
 * without the index runs half its rounds before the side with it and half
 * after (the index is taken away by rolling back to a savepoint), so that
 * the machine growing faster or slower during the trial does not pass for
 * the index's doing. The whole trial runs inside a savepoint that is
 * rolled back, so the index, the statistics and any write are undone and
 * the database is left as it was, on failure too.
 */
#include "sql_db.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define TRIAL_DEFAULT_ROUNDS 7
#define TRIAL_DEFAULT_MAX_NS INT64_C(2000000000)
/* The fewest timed rounds a side gets however slow it is. */
#define TRIAL_MIN_ROUNDS 3u

/* Fills *opts with the defaults: 7 rounds, 2 s per side, plumb_compare's
 * defaults. */
void plumb_sql_trial_opts_init(plumb_sql_trial_opts_t *opts)
{
    opts->rounds = TRIAL_DEFAULT_ROUNDS;
    opts->max_round_ns = TRIAL_DEFAULT_MAX_NS;
    plumb_compare_opts_init(&opts->compare);
}

/* Frees the plans' texts; *t is zeroed. NULL is a no-op. */
void plumb_sql_trial_close(plumb_sql_trial_t *t)
{
    if (!t)
        return;
    free(t->plan_before);
    free(t->plan_after);
    memset(t, 0, sizeof *t);
}

typedef struct {
    plumb_sql_db_t *db;
    const plumb_sql_trial_opts_t *opts;
    char **errmsg;
    /* Each read's rows and digest, as the first run without the index
     * returned them. */
    int64_t *rows;
    uint64_t *digests;
    int recorded;
    int same_results;
} trial_t;

/* Runs call, checking a read's result against the first one. */
static int run_call(trial_t *t, const plumb_sql_call_t *call, size_t read,
                    int is_read, int64_t *wall_ns)
{
    plumb_sql_result_t res;
    char *why = NULL;
    int err = plumb_sql_db_run(t->db, call->sql, call->params, call->n_params,
                               &res, &why);
    if (err) {
        plumb__sql_fail(t->errmsg, err, "%s %zu: %s",
                        is_read ? "read" : "write", read + 1,
                        why ? why : plumb_strerror(err));
        free(why);
        return err;
    }
    if (is_read) {
        if (!t->recorded) {
            t->rows[read] = res.rows;
            t->digests[read] = res.digest;
        } else if (t->rows[read] != res.rows ||
                   t->digests[read] != res.digest) {
            t->same_results = 0;
        }
    }
    *wall_ns = res.wall_ns;
    return 0;
}

static int exec_sql(trial_t *t, const char *sql, const char *what)
{
    char *why = NULL;
    int err = plumb_sql_db_exec(t->db, sql, &why);
    if (err) {
        plumb__sql_fail(t->errmsg, err, "%s: %s", what,
                        why ? why : plumb_strerror(err));
        free(why);
    }
    return err;
}

/* A write inside a savepoint that is rolled back: the data stays as it
 * was. Only the statement is timed. */
static int run_write(trial_t *t, const plumb_sql_call_t *call, size_t i,
                     int64_t *wall_ns)
{
    int err = exec_sql(t, "SAVEPOINT plumb_write", "cannot begin a savepoint");
    if (err)
        return err;
    err = run_call(t, call, i, 0, wall_ns);
    int undo = exec_sql(t, "ROLLBACK TO SAVEPOINT plumb_write",
                        "cannot undo a write");
    if (!undo)
        undo = exec_sql(t, "RELEASE SAVEPOINT plumb_write",
                        "cannot undo a write");
    return err ? err : undo;
}

/* One round: every call once; its time (the sum of the statements') in
 * *round_ns. */
static int run_round(trial_t *t, const plumb_sql_call_t *calls, size_t n,
                     int is_read, double *round_ns)
{
    double total = 0;
    for (size_t i = 0; i < n; i++) {
        int64_t wall_ns = 0;
        int err = is_read ? run_call(t, &calls[i], i, 1, &wall_ns)
                          : run_write(t, &calls[i], i, &wall_ns);
        if (err)
            return err;
        total += (double)wall_ns;
    }
    *round_ns = total;
    return 0;
}

/* The timed rounds of one kind of call (reads or writes) on one side. */
typedef struct {
    double *times;    /* opts->rounds long */
    size_t n;
    int64_t spent_ns; /* by its timed rounds, for the time limit */
} series_t;

/* A block of one side: an untimed warm-up round, then timed rounds until s
 * holds `until`, or, once it holds `at_least`, until the side has spent
 * budget_ns. */
static int run_block(trial_t *t, const plumb_sql_call_t *calls, size_t n,
                     int is_read, series_t *s, size_t until, size_t at_least,
                     int64_t budget_ns)
{
    double warm_ns;
    int err = run_round(t, calls, n, is_read, &warm_ns);
    if (err)
        return err;
    if (is_read)
        t->recorded = 1;
    int64_t start = plumb_clock_now_ns();
    while (s->n < until) {
        if (s->n >= at_least &&
            s->spent_ns + (plumb_clock_now_ns() - start) > budget_ns)
            break;
        err = run_round(t, calls, n, is_read, &s->times[s->n]);
        if (err)
            break;
        s->n++;
    }
    s->spent_ns += plumb_clock_now_ns() - start;
    return err;
}

/* Where the side without the index stops in its first block, and how many
 * rounds it must have by then: half its rounds, then the other half after
 * the side with the index, so that a drift of the machine's speed over the
 * trial weighs on both sides alike. */
static size_t first_half(size_t rounds)
{
    return (rounds + 1) / 2;
}

/* The rounds for calls in the three blocks: block 0 and 2 are without the
 * index (before, after), block 1 with it. */
static int run_calls(trial_t *t, const plumb_sql_call_t *calls, size_t n,
                     int is_read, int block, series_t *without,
                     series_t *with)
{
    size_t rounds = t->opts->rounds;
    size_t min_rounds = rounds < TRIAL_MIN_ROUNDS ? rounds : TRIAL_MIN_ROUNDS;
    int64_t budget_ns = t->opts->max_round_ns;
    if (n == 0)
        return 0;
    if (block == 0)
        return run_block(t, calls, n, is_read, without, first_half(rounds),
                         first_half(min_rounds), budget_ns / 2);
    if (block == 1)
        return run_block(t, calls, n, is_read, with, rounds, min_rounds,
                         budget_ns);
    return run_block(t, calls, n, is_read, without, rounds, min_rounds,
                     budget_ns);
}

/* The plan of call as text, and the plan itself in *plan. */
static int explain(trial_t *t, const plumb_sql_call_t *call,
                   plumb_sql_plan_t *plan, char **text)
{
    char *why = NULL;
    int err = plumb_sql_db_explain(t->db, call->sql, call->params,
                                   call->n_params, plan, &why);
    if (err) {
        plumb__sql_fail(t->errmsg, err, "read 1: %s",
                        why ? why : plumb_strerror(err));
        free(why);
        return err;
    }
    err = plumb_sql_plan_text(plan, text);
    if (err)
        plumb__sql_fail(t->errmsg, err, "out of memory");
    return err;
}

/* The names the plans give the index's table: the table itself (without
 * its schema, as the planners print it) and what the steps that use the
 * index call it, which is its alias when SQLite 3.36 and later print the
 * alias alone ("SEARCH b USING INDEX i"). */
typedef struct {
    const char *names[16];
    size_t n;
} table_names_t;

static void table_names(const plumb_sql_index_t *index,
                        const plumb_sql_plan_t *after, table_names_t *out)
{
    const char *dot = strrchr(index->table, '.');
    out->names[0] = dot ? dot + 1 : index->table;
    out->n = 1;
    for (size_t i = 0; i < after->n_steps; i++) {
        const plumb_sql_step_t *s = &after->steps[i];
        if (s->table && s->index && strcmp(s->index, index->name) == 0 &&
            out->n < sizeof out->names / sizeof *out->names)
            out->names[out->n++] = s->table;
    }
}

/* Whether a step of kind reads the table under one of its names. */
static int plan_has(const plumb_sql_plan_t *plan, plumb_sql_step_kind_t kind,
                    const table_names_t *names)
{
    for (size_t i = 0; i < plan->n_steps; i++) {
        const plumb_sql_step_t *s = &plan->steps[i];
        if (s->kind != kind || !s->table)
            continue;
        for (size_t k = 0; k < names->n; k++)
            if (strcasecmp(s->table, names->names[k]) == 0)
                return 1;
    }
    return 0;
}

static char *concat(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *out = malloc(na + nb + 1);
    if (out) {
        memcpy(out, a, na);
        memcpy(out + na, b, nb + 1);
    }
    return out;
}

static int check_args(plumb_sql_db_t *db, const plumb_sql_index_t *index,
                      const plumb_sql_call_t *reads, size_t n_reads,
                      const plumb_sql_call_t *writes, size_t n_writes,
                      const plumb_sql_trial_opts_t *opts,
                      plumb_sql_trial_t *out, char **errmsg)
{
    if (!db || !index || !out || !index->table || !index->name ||
        !index->create_sql)
        return plumb__sql_fail(errmsg, PLUMB_EINVAL,
                               "no database, index or result");
    if (n_reads == 0 || !reads)
        return plumb__sql_fail(errmsg, PLUMB_EINVAL,
                               "an index is tried on at least one read");
    if (n_writes && !writes)
        return plumb__sql_fail(errmsg, PLUMB_EINVAL, "writes missing");
    for (size_t i = 0; i < n_reads; i++)
        if (!reads[i].sql)
            return plumb__sql_fail(errmsg, PLUMB_EINVAL,
                                   "read %zu has no SQL", i + 1);
    for (size_t i = 0; i < n_writes; i++)
        if (!writes[i].sql)
            return plumb__sql_fail(errmsg, PLUMB_EINVAL,
                                   "write %zu has no SQL", i + 1);
    if (opts->rounds < 2 || opts->max_round_ns < 0)
        return plumb__sql_fail(errmsg, PLUMB_EINVAL,
                               "a trial needs at least 2 rounds a side");
    return 0;
}

/* Tries index (see plumb.h). opts NULL: the defaults. The reads are run in
 * rounds: half the rounds without the index, all of them with it, the
 * other half without it again; a side stops adding rounds once it has
 * spent opts->max_round_ns, after at least 3. Writes are timed the same
 * way, each in a savepoint rolled back at once. *out is zeroed first and, on
 * success, owns the plan texts (plumb_sql_trial_close). PLUMB_EINVAL,
 * PLUMB_EIO (the index cannot be made, a statement fails: *errmsg says
 * which), PLUMB_ENOMEM. */
int plumb_sql_trial_run(plumb_sql_db_t *db, const plumb_sql_index_t *index,
                        const plumb_sql_call_t *reads, size_t n_reads,
                        const plumb_sql_call_t *writes, size_t n_writes,
                        const plumb_sql_trial_opts_t *opts,
                        plumb_sql_trial_t *out, char **errmsg)
{
    plumb_sql_trial_opts_t defaults;
    plumb_sql_plan_t before, after;
    trial_t t;
    char *table = NULL, *name = NULL, *analyze = NULL, *drop = NULL;
    double *times = NULL;
    int in_savepoint = 0, created = 0, err;

    if (errmsg)
        *errmsg = NULL;
    if (!opts) {
        plumb_sql_trial_opts_init(&defaults);
        opts = &defaults;
    }
    if (out)
        memset(out, 0, sizeof *out);
    err = check_args(db, index, reads, n_reads, writes, n_writes, opts, out,
                     errmsg);
    if (err)
        return err;

    plumb_sql_plan_init(&before);
    plumb_sql_plan_init(&after);
    memset(&t, 0, sizeof t);
    t.db = db;
    t.opts = opts;
    t.errmsg = errmsg;
    t.same_results = 1;
    out->index_bytes = PLUMB_UNAVAILABLE;
    out->reads.metric = PLUMB_METRIC_WALL;
    out->writes.metric = PLUMB_METRIC_WALL;

    table = plumb__sql_quote_ident(index->table);
    name = plumb__sql_quote_ident(index->name);
    analyze = table ? concat("ANALYZE ", table) : NULL;
    drop = name ? concat("DROP INDEX IF EXISTS ", name) : NULL;
    t.rows = calloc(n_reads, sizeof *t.rows);
    t.digests = calloc(n_reads, sizeof *t.digests);
    /* Four series of timings, each up to rounds long. */
    times = calloc((size_t)opts->rounds * 4, sizeof *times);
    if (!analyze || !drop || !t.rows || !t.digests || !times) {
        err = plumb__sql_fail(errmsg, PLUMB_ENOMEM, "out of memory");
        goto out;
    }
    series_t reads_without = {times, 0, 0};
    series_t reads_with = {times + opts->rounds, 0, 0};
    series_t writes_without = {times + 2 * (size_t)opts->rounds, 0, 0};
    series_t writes_with = {times + 3 * (size_t)opts->rounds, 0, 0};

    err = exec_sql(&t, "SAVEPOINT plumb_trial", "cannot begin a savepoint");
    if (err)
        goto out;
    in_savepoint = 1;

    /* Without the index, with statistics as fresh as the other side's. */
    if ((err = exec_sql(&t, analyze, "cannot analyze the table")) ||
        (err = explain(&t, &reads[0], &before, &out->plan_before)) ||
        (err = run_calls(&t, reads, n_reads, 1, 0, &reads_without,
                         &reads_with)) ||
        (err = run_calls(&t, writes, n_writes, 0, 0, &writes_without,
                         &writes_with)))
        goto out;

    /* With it, in a savepoint of its own that takes it away again. */
    if ((err = exec_sql(&t, "SAVEPOINT plumb_with_index",
                        "cannot begin a savepoint")))
        goto out;
    err = exec_sql(&t, index->create_sql, "cannot create the index");
    if (err)
        goto out;
    created = 1;
    if ((err = exec_sql(&t, analyze, "cannot analyze the table")) ||
        (err = explain(&t, &reads[0], &after, &out->plan_after)) ||
        (err = run_calls(&t, reads, n_reads, 1, 1, &reads_without,
                         &reads_with)) ||
        (err = run_calls(&t, writes, n_writes, 0, 1, &writes_without,
                         &writes_with)))
        goto out;
    char *why = NULL;
    err = plumb_sql_db_index_bytes(db, index->name, &out->index_bytes, &why);
    if (err) {
        plumb__sql_fail(errmsg, err, "cannot measure the index: %s",
                        why ? why : plumb_strerror(err));
        free(why);
        goto out;
    }
    if ((err = exec_sql(&t, "ROLLBACK TO SAVEPOINT plumb_with_index",
                        "cannot take the index away")) ||
        (err = exec_sql(&t, "RELEASE SAVEPOINT plumb_with_index",
                        "cannot take the index away")))
        goto out;
    created = 0;

    /* Without it again: the statistics are those of the first block. */
    if ((err = run_calls(&t, reads, n_reads, 1, 2, &reads_without,
                         &reads_with)) ||
        (err = run_calls(&t, writes, n_writes, 0, 2, &writes_without,
                         &writes_with)))
        goto out;

    err = plumb_compare(reads_without.times, reads_without.n,
                        reads_with.times, reads_with.n, &opts->compare,
                        &out->reads);
    if (!err && n_writes)
        err = plumb_compare(writes_without.times, writes_without.n,
                            writes_with.times, writes_with.n, &opts->compare,
                            &out->writes);
    if (err) {
        plumb__sql_fail(errmsg, err, "cannot compare the timings: %s",
                        plumb_strerror(err));
        goto out;
    }
    out->reads.metric = PLUMB_METRIC_WALL;
    out->writes.metric = PLUMB_METRIC_WALL;
    out->before_round_ns = out->reads.baseline_median;
    out->after_round_ns = out->reads.candidate_median;
    out->same_results = t.same_results;
    table_names_t names;
    table_names(index, &after, &names);
    out->scan_removed = plan_has(&before, PLUMB_SQL_STEP_SCAN, &names) &&
                        !plan_has(&after, PLUMB_SQL_STEP_SCAN, &names) &&
                        plan_has(&after, PLUMB_SQL_STEP_SEARCH, &names);
    out->has_writes = n_writes > 0;

out:
    if (in_savepoint) {
        /* Undoes the index, the statistics and anything else since the
         * savepoint. Should that fail, the index is dropped and the
         * statistics made again. */
        char *ignored = NULL;
        if (plumb_sql_db_exec(db, "ROLLBACK TO SAVEPOINT plumb_trial",
                              &ignored) != 0 ||
            plumb_sql_db_exec(db, "RELEASE SAVEPOINT plumb_trial",
                              &ignored) != 0) {
            free(ignored);
            ignored = NULL;
            if (created) {
                plumb_sql_db_exec(db, drop, &ignored);
                free(ignored);
                ignored = NULL;
                plumb_sql_db_exec(db, analyze, &ignored);
            }
        }
        free(ignored);
    }
    if (err)
        plumb_sql_trial_close(out);
    plumb_sql_plan_close(&before);
    plumb_sql_plan_close(&after);
    free(times);
    free(t.rows);
    free(t.digests);
    free(table);
    free(name);
    free(analyze);
    free(drop);
    return err;
}
