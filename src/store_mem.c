/* store_mem.c: memory profiles in the store. A memory profile is kept as a
 * session holding one run of kind 'mem' (so that plumb runs lists it like
 * any other), its header, its timeline and its three aggregates folded
 * into one row per distinct stack with three byte counts. The schema is
 * store.c's (migration v4), and so are the checks and messages every call
 * goes through (store.h); this file only knows what a memory profile is
 * made of.
 */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { AGG_PEAK, AGG_ALLOCATED, AGG_END, AGG_COUNT };

/* One line of an aggregate's collapsed stacks: "thread;frames" and its
 * bytes; key points into that aggregate's collapsed text. */
typedef struct {
    const char *key;
    int agg;
    uint64_t bytes;
} entry_t;

static int by_key(const void *x, const void *y)
{
    const entry_t *a = x, *b = y;
    int c = strcmp(a->key, b->key);
    return c ? c : (a->agg > b->agg) - (a->agg < b->agg);
}

/* Cuts collapsed text (one "key COUNT" line per stack) in place into
 * entries of aggregate agg, appended to *entries. PLUMB_ENOMEM. */
static int add_entries(char *text, int agg, entry_t **entries, size_t *n,
                       size_t *cap)
{
    for (char *line = text, *end; *line; line = end + 1) {
        end = strchr(line, '\n');
        if (!end)
            end = line + strlen(line) - 1; /* never: each line ends so */
        *end = '\0';
        char *space = strrchr(line, ' ');
        if (!space)
            continue;
        *space = '\0';
        if (*n == *cap) {
            size_t new_cap = *cap ? *cap * 2 : 64;
            entry_t *grown = realloc(*entries, new_cap * sizeof *grown);
            if (!grown)
                return PLUMB_ENOMEM;
            *entries = grown;
            *cap = new_cap;
        }
        (*entries)[(*n)++] =
            (entry_t){line, agg, strtoull(space + 1, NULL, 10)};
    }
    return 0;
}

/* The rows to store: for each distinct stack, its bytes in each aggregate,
 * from their collapsed stacks (texts[], cut in place; freed by the
 * caller). Entries of one key end up next to each other, aggregates in
 * order. */
static int collect(const plumb_mem_t *m, char *texts[AGG_COUNT],
                   entry_t **out, size_t *n)
{
    const plumb_stack_t *aggs[AGG_COUNT] = {m->peak, m->allocated, m->end};
    entry_t *entries = NULL;
    size_t cap = 0;
    int err = 0;
    *n = 0;
    for (int a = 0; a < AGG_COUNT && !err; a++) {
        err = plumb_stack_collapsed(aggs[a], &texts[a]);
        if (!err)
            err = add_entries(texts[a], a, &entries, n, &cap);
    }
    if (err) {
        free(entries);
        *n = 0;
        return err;
    }
    if (*n)
        qsort(entries, *n, sizeof *entries, by_key);
    *out = entries;
    return 0;
}

static int insert_header(plumb_store_t *st, sqlite3_stmt *q, int64_t id,
                         const plumb_mem_t *m)
{
    int rc = sqlite3_bind_int64(q, 1, id);
    rc |= sqlite3_bind_int(q, 2, m->pid);
    rc |= plumb__store_bind_field(q, 3, m->python, sizeof m->python);
    rc |= sqlite3_bind_int64(q, 4, (int64_t)m->mean_bytes);
    rc |= sqlite3_bind_int(q, 5, m->native);
    rc |= sqlite3_bind_int64(q, 6, m->duration_ns);
    rc |= sqlite3_bind_int64(q, 7, (int64_t)m->allocated_bytes);
    rc |= sqlite3_bind_int64(q, 8, (int64_t)m->allocations);
    rc |= sqlite3_bind_int64(q, 9, (int64_t)m->samples);
    rc |= sqlite3_bind_int64(q, 10, (int64_t)m->peak_bytes);
    rc |= sqlite3_bind_int64(q, 11, m->peak_ns);
    rc |= sqlite3_bind_int64(q, 12, (int64_t)m->end_bytes);
    rc |= sqlite3_bind_int64(q, 13, (int64_t)m->start_rss_bytes);
    rc |= sqlite3_bind_int64(q, 14, (int64_t)m->peak_rss_bytes);
    rc |= sqlite3_bind_int64(q, 15, m->timeline_step_ns);
    rc |= sqlite3_bind_int(q, 16, m->complete);
    rc |= sqlite3_bind_int(q, 17, m->exit_status);
    rc |= sqlite3_bind_int(q, 18, m->exit_signal);
    if (rc != SQLITE_OK)
        return plumb__store_fail_sqlite(st, "cannot save the memory "
                                            "profile's header");
    return plumb__store_step_done(st, q, "cannot save the memory profile's "
                                         "header");
}

static int insert_timeline(plumb_store_t *st, sqlite3_stmt *q, int64_t id,
                           const plumb_mem_t *m)
{
    for (size_t i = 0; i < m->n_timeline; i++) {
        const plumb_mem_point_t *p = &m->timeline[i];
        int rc = sqlite3_bind_int64(q, 1, id);
        rc |= sqlite3_bind_int64(q, 2, (int64_t)i);
        rc |= sqlite3_bind_int64(q, 3, p->t_ns);
        rc |= sqlite3_bind_int64(q, 4, (int64_t)p->heap_bytes);
        rc |= sqlite3_bind_int64(q, 5, (int64_t)p->rss_bytes);
        if (rc != SQLITE_OK)
            return plumb__store_fail_sqlite(st, "cannot save the memory "
                                                "profile's timeline");
        int err = plumb__store_step_done(st, q, "cannot save the memory "
                                                "profile's timeline");
        if (err)
            return err;
    }
    return 0;
}

/* One row per distinct key: the thread before the first ';' (collapsed
 * stacks write none inside a name), the frames after it. */
static int insert_stacks(plumb_store_t *st, sqlite3_stmt *q, int64_t id,
                         const entry_t *e, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint64_t bytes[AGG_COUNT] = {0, 0, 0};
        size_t j = i;
        for (; j < n && strcmp(e[j].key, e[i].key) == 0; j++)
            bytes[e[j].agg] += e[j].bytes;
        const char *semi = strchr(e[i].key, ';');
        size_t thread_len = semi ? (size_t)(semi - e[i].key)
                                 : strlen(e[i].key);
        int rc = sqlite3_bind_int64(q, 1, id);
        rc |= sqlite3_bind_text(q, 2, e[i].key, (int)thread_len,
                                SQLITE_STATIC);
        rc |= sqlite3_bind_text(q, 3, semi ? semi + 1 : "", -1,
                                SQLITE_STATIC);
        for (int a = 0; a < AGG_COUNT; a++)
            rc |= sqlite3_bind_int64(q, 4 + a, (int64_t)bytes[a]);
        if (rc != SQLITE_OK)
            return plumb__store_fail_sqlite(st, "cannot save the memory "
                                                "profile's stacks");
        int err = plumb__store_step_done(st, q, "cannot save the memory "
                                                "profile's stacks");
        if (err)
            return err;
        i = j;
    }
    return 0;
}

int plumb_store_save_mem(plumb_store_t *st, const plumb_mem_t *m,
                         const plumb_env_t *env, const char *invocation,
                         int64_t *run_id)
{
    sqlite3_stmt *ins_header = NULL, *ins_point = NULL, *ins_stack = NULL;
    char *texts[AGG_COUNT] = {NULL, NULL, NULL};
    entry_t *entries = NULL;
    size_t n_entries = 0;
    char *name = NULL, *cmd = NULL;
    int in_transaction = 0;
    int64_t id = 0;
    plumb_session_t s = {0};
    int err = plumb__store_begin_call(st);
    if (err)
        return err;
    if (!m || !m->peak || !m->allocated || !m->end ||
        (m->n_timeline && !m->timeline))
        return plumb__store_fail(st, PLUMB_EINVAL, "no memory profile to "
                                                   "save");
    if (env)
        s.env = *env;
    s.invocation = (char *)invocation; /* only read */
    s.partial = !m->complete;

    /* Allocations first: inside the transaction only SQLite can fail. */
    if ((err = collect(m, texts, &entries, &n_entries))) {
        plumb__store_fail(st, err, "cannot read the memory profile's "
                                   "stacks");
        goto out;
    }
    size_t size = strnlen(m->command, sizeof m->command) + 32;
    name = malloc(size);
    cmd = malloc(size);
    if (!name || !cmd) {
        err = plumb__store_fail(st, PLUMB_ENOMEM, "out of memory");
        goto out;
    }
    if (*m->command)
        snprintf(cmd, size, "%.*s", (int)sizeof m->command, m->command);
    else
        snprintf(cmd, size, "pid %d", m->pid);
    snprintf(name, size, "mem: %s", cmd);
    if ((err = plumb__store_prepare(
             st,
             "INSERT INTO mem_profiles (run_id, pid, python, mean_bytes, "
             "native, duration_ns, allocated_bytes, allocations, samples, "
             "peak_bytes, peak_ns, end_bytes, start_rss_bytes, "
             "peak_rss_bytes, timeline_step_ns, complete, exit_status, "
             "exit_signal) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
             "?, ?, ?, ?, ?)",
             &ins_header)) ||
        (err = plumb__store_prepare(
             st,
             "INSERT INTO mem_timeline (run_id, idx, t_ns, heap_bytes, "
             "rss_bytes) VALUES (?, ?, ?, ?, ?)",
             &ins_point)) ||
        (err = plumb__store_prepare(
             st,
             "INSERT INTO mem_stacks (run_id, thread, stack, peak_bytes, "
             "allocated_bytes, end_bytes) VALUES (?, ?, ?, ?, ?, ?)",
             &ins_stack)))
        goto out;

    if (plumb__store_exec(st, "BEGIN IMMEDIATE") != SQLITE_OK) {
        err = plumb__store_fail_sqlite(st, "cannot start saving the memory "
                                           "profile");
        goto out;
    }
    in_transaction = 1;
    if ((err = plumb__store_insert_lone_run(
             st, &s, "mem", name, cmd, m->python, sizeof m->python,
             m->samples, "the memory profile", &id)))
        goto out;
    if ((err = insert_header(st, ins_header, id, m)) ||
        (err = insert_timeline(st, ins_point, id, m)) ||
        (err = insert_stacks(st, ins_stack, id, entries, n_entries)))
        goto out;
    if (plumb__store_exec(st, "COMMIT") != SQLITE_OK) {
        err = plumb__store_fail_sqlite(st, "cannot commit the memory "
                                           "profile");
        goto out;
    }
    in_transaction = 0;
    if (run_id)
        *run_id = id;
out:
    if (in_transaction)
        plumb__store_rollback(st);
    sqlite3_finalize(ins_header);
    sqlite3_finalize(ins_point);
    sqlite3_finalize(ins_stack);
    for (int a = 0; a < AGG_COUNT; a++)
        free(texts[a]);
    free(entries);
    free(name);
    free(cmd);
    return err;
}

static uint64_t column_u64(sqlite3_stmt *q, int i)
{
    return (uint64_t)sqlite3_column_int64(q, i);
}

static void read_header(sqlite3_stmt *q, plumb_mem_t *m)
{
    m->pid = sqlite3_column_int(q, 0);
    plumb__store_copy_field(m->python, sizeof m->python, q, 1);
    m->mean_bytes = column_u64(q, 2);
    m->native = sqlite3_column_int(q, 3);
    m->duration_ns = sqlite3_column_int64(q, 4);
    m->allocated_bytes = column_u64(q, 5);
    m->allocations = column_u64(q, 6);
    m->samples = column_u64(q, 7);
    m->peak_bytes = column_u64(q, 8);
    m->peak_ns = sqlite3_column_int64(q, 9);
    m->end_bytes = column_u64(q, 10);
    m->start_rss_bytes = column_u64(q, 11);
    m->peak_rss_bytes = column_u64(q, 12);
    m->timeline_step_ns = sqlite3_column_int64(q, 13);
    m->complete = sqlite3_column_int(q, 14);
    m->exit_status = sqlite3_column_int(q, 15);
    m->exit_signal = sqlite3_column_int(q, 16);
    plumb__store_copy_field(m->command, sizeof m->command, q, 17);
}

int plumb_store_load_mem(plumb_store_t *st, int64_t run_id,
                         plumb_mem_t **out)
{
    sqlite3_stmt *q_header = NULL, *q_points = NULL, *q_stacks = NULL;
    plumb_mem_t *m = NULL;
    int in_transaction = 0, rc;
    char what[128];
    if (out)
        *out = NULL;
    int err = plumb__store_begin_call(st);
    if (err)
        return err;
    if (!out)
        return plumb__store_fail(st, PLUMB_EINVAL, "nowhere to load the "
                                                   "memory profile into");
    if ((err = plumb__store_prepare(
             st,
             "SELECT pid, python, mean_bytes, native, duration_ns, "
             "allocated_bytes, allocations, samples, peak_bytes, peak_ns, "
             "end_bytes, start_rss_bytes, peak_rss_bytes, timeline_step_ns, "
             "complete, exit_status, exit_signal, (SELECT command FROM runs "
             "WHERE runs.id = run_id) FROM mem_profiles WHERE run_id = ?",
             &q_header)) ||
        (err = plumb__store_prepare(
             st,
             "SELECT t_ns, heap_bytes, rss_bytes FROM mem_timeline WHERE "
             "run_id = ? ORDER BY idx",
             &q_points)) ||
        (err = plumb__store_prepare(
             st,
             "SELECT thread, stack, peak_bytes, allocated_bytes, end_bytes "
             "FROM mem_stacks WHERE run_id = ? ORDER BY rowid",
             &q_stacks)))
        goto out;
    /* One read transaction: every part from the same snapshot. */
    if (plumb__store_exec(st, "BEGIN") != SQLITE_OK) {
        err = plumb__store_fail_sqlite(st, "cannot read the store");
        goto out;
    }
    in_transaction = 1;
    if ((err = plumb_mem_new(&m))) {
        plumb__store_fail(st, err, "out of memory");
        goto out;
    }
    sqlite3_bind_int64(q_header, 1, run_id);
    if ((err = plumb__store_step_head(st, q_header, "memory profile",
                                      run_id)))
        goto out;
    read_header(q_header, m);

    sqlite3_bind_int64(q_points, 1, run_id);
    if (!(m->timeline = malloc(PLUMB_MEM_TIMELINE_MAX * sizeof *m->timeline))) {
        err = plumb__store_fail(st, PLUMB_ENOMEM, "out of memory");
        goto out;
    }
    /* read as stored, not through plumb_mem_add_point, which could fold
     * points that a recorder spaced closer than the step */
    while ((rc = sqlite3_step(q_points)) == SQLITE_ROW) {
        if (m->n_timeline == PLUMB_MEM_TIMELINE_MAX) {
            snprintf(what, sizeof what, "memory profile %lld holds more "
                                        "than %d timeline points: the store "
                                        "is damaged",
                     (long long)run_id, PLUMB_MEM_TIMELINE_MAX);
            err = plumb__store_fail(st, PLUMB_ESTORE, what);
            goto out;
        }
        plumb_mem_point_t *p = &m->timeline[m->n_timeline++];
        p->t_ns = sqlite3_column_int64(q_points, 0);
        p->heap_bytes = column_u64(q_points, 1);
        p->rss_bytes = column_u64(q_points, 2);
    }
    snprintf(what, sizeof what, "cannot read the timeline of memory "
                                "profile %lld",
             (long long)run_id);
    if (rc != SQLITE_DONE) {
        err = plumb__store_fail_sqlite(st, what);
        goto out;
    }
    sqlite3_bind_int64(q_stacks, 1, run_id);
    snprintf(what, sizeof what, "cannot read the stacks of memory profile "
                                "%lld",
             (long long)run_id);
    plumb_stack_t *aggs[AGG_COUNT] = {m->peak, m->allocated, m->end};
    if ((err = plumb__store_read_stacks(st, q_stacks, aggs, AGG_COUNT, what)))
        goto out;
    *out = m;
    m = NULL;
out:
    sqlite3_finalize(q_header);
    sqlite3_finalize(q_points);
    sqlite3_finalize(q_stacks);
    if (in_transaction)
        plumb__store_rollback(st);
    plumb_mem_free(m);
    return err;
}
