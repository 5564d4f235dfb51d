/* test_store.c: the SQLite store: round trips, listing, refusing files that
 * are not plumb's, migrations, and that a session is saved whole or not at
 * all (failed inserts, a read-only file, SIGKILL in the middle of a save).
 * Each test works in its own mkdtemp directory, removed afterwards. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "tests.h"

typedef struct {
    char dir[64];
    char db[128];
} tmp_t;

static int tmp_setup(void **state)
{
    tmp_t *t = calloc(1, sizeof *t);
    if (!t)
        return -1;
    snprintf(t->dir, sizeof t->dir, "/tmp/plumb-store-XXXXXX");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    snprintf(t->db, sizeof t->db, "%s/plumb.db", t->dir);
    *state = t;
    return 0;
}

static void rm_rf(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (!S_ISDIR(sb.st_mode)) {
        unlink(path);
        return;
    }
    DIR *d = opendir(path);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[4096];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            rm_rf(child);
        }
        closedir(d);
    }
    rmdir(path);
}

static int tmp_teardown(void **state)
{
    tmp_t *t = *state;
    rm_rf(t->dir);
    free(t);
    return 0;
}

/* ---- looking at the file without the store --------------------------- */

static sqlite3 *raw_open(const char *path)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db,
                                     SQLITE_OPEN_READWRITE |
                                         SQLITE_OPEN_CREATE,
                                     NULL),
                     SQLITE_OK);
    return db;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    char *msg = NULL;
    int rc = sqlite3_exec(db, sql, NULL, NULL, &msg);
    if (rc != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_close(db);
}

static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    sqlite3_close(db);
    return v;
}

/* The first column of the first row as text, in buf. */
static const char *raw_text(const char *path, const char *sql, char *buf,
                            size_t size)
{
    sqlite3 *db = raw_open(path);
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    const unsigned char *text = sqlite3_column_text(q, 0);
    snprintf(buf, size, "%s", text ? (const char *)text : "(null)");
    sqlite3_finalize(q);
    sqlite3_close(db);
    return buf;
}

static int64_t raw_rows(const char *path)
{
    return raw_int(path, "SELECT (SELECT count(*) FROM sessions) + "
                         "(SELECT count(*) FROM runs) + "
                         "(SELECT count(*) FROM run_params) + "
                         "(SELECT count(*) FROM samples)");
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* The whole file, in a buffer the caller frees. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t got;
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* ---- sessions to save -------------------------------------------------- */

/* Sample k of run r: every metric distinct, some unavailable, one at the
 * int64 maximum, and a mix of failures. */
static void expected_sample(size_t r, size_t k, plumb_sample_t *out)
{
    plumb_sample_init(out);
    for (int m = 0; m < PLUMB_METRIC_COUNT; m++)
        out->metric[m] = (int64_t)((r + 1) * 1000000 + k * 100 + (size_t)m);
    if (k % 3 == 0) {
        out->metric[PLUMB_METRIC_INSTRUCTIONS] = PLUMB_UNAVAILABLE;
        out->metric[PLUMB_METRIC_CYCLES] = PLUMB_UNAVAILABLE;
    }
    if (k % 5 == 4)
        out->metric[PLUMB_METRIC_READ_BYTES] = PLUMB_UNAVAILABLE;
    if (k == 1)
        out->metric[PLUMB_METRIC_MAX_RSS] = INT64_MAX;
    if (k % 7 == 6)
        out->exit_code = 2;
    if (k % 11 == 10) {
        out->exit_code = -1;
        out->term_signal = SIGKILL;
        out->timed_out = 1;
    }
}

static void assert_sample_equal(const plumb_sample_t *a,
                                const plumb_sample_t *b)
{
    for (int m = 0; m < PLUMB_METRIC_COUNT; m++)
        assert_int_equal(a->metric[m], b->metric[m]);
    assert_int_equal(a->exit_code, b->exit_code);
    assert_int_equal(a->term_signal, b->term_signal);
    assert_int_equal(a->timed_out, b->timed_out);
}

static plumb_session_t *make_session(size_t n_runs, size_t n_samples,
                                     uint64_t seed)
{
    plumb_session_t *s = plumb_session_new();
    assert_non_null(s);
    plumb_env_t *env = &s->env;
    snprintf(env->host, sizeof env->host, "bench-host");
    snprintf(env->kernel, sizeof env->kernel, "Linux 6.1.0-18-amd64 x86_64");
    snprintf(env->cpu_model, sizeof env->cpu_model, "Test CPU @ 3.00GHz");
    env->cpus = 8;
    env->load_avg1 = 0.25;
    snprintf(env->governor, sizeof env->governor, "performance");
    env->created_ns = INT64_C(1700000000123456789);
    snprintf(env->plumb_version, sizeof env->plumb_version, "%s",
             PLUMB_VERSION);
    assert_int_equal(plumb_set_string(&s->invocation,
                                      "plumb bench --scan n 'x {n}'"), 0);
    assert_int_equal(plumb_set_string(&s->scan_param, "n"), 0);
    assert_int_equal(plumb_set_string(&s->counters, "instructions, cycles"),
                     0);
    s->seed = seed;
    s->overhead_ns = 123456;
    for (size_t r = 0; r < n_runs; r++) {
        char name[32], command[64], value[32];
        snprintf(name, sizeof name, "run-%zu", r);
        snprintf(command, sizeof command, "python3 prog.py --n %zu", r * 10);
        plumb_run_t *run;
        assert_int_equal(plumb_session_add_run(s, name, command, &run), 0);
        snprintf(value, sizeof value, "%zu", r * 10);
        assert_int_equal(plumb_run_add_param(run, "n", value), 0);
        assert_int_equal(plumb_run_add_param(run, "impl", name), 0);
        if (r % 2 == 0)
            assert_int_equal(plumb_set_string(&run->python, "CPython 3.11.7"),
                             0);
        run->shell = (int)(r % 2);
        run->shell_overhead_ns = (int64_t)r * 1000;
        run->baseline = r ? 0 : -1;
        run->series = (int)(r / 2);
        run->x = r % 3 == 2 ? NAN : (double)r * 10.5;
        for (size_t k = 0; k < n_samples; k++) {
            plumb_sample_t sample;
            expected_sample(r, k, &sample);
            assert_int_equal(plumb_run_add_sample(run, &sample), 0);
        }
    }
    return s;
}

static void assert_strings_equal(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

/* The loaded session holds run r of `saved`, with saved's environment. */
static void assert_loaded(const plumb_session_t *saved, size_t r,
                          const plumb_session_t *loaded)
{
    const plumb_env_t *a = &saved->env, *b = &loaded->env;
    assert_int_equal(loaded->id, saved->id);
    assert_string_equal(a->host, b->host);
    assert_string_equal(a->kernel, b->kernel);
    assert_string_equal(a->cpu_model, b->cpu_model);
    assert_int_equal(a->cpus, b->cpus);
    assert_true(a->load_avg1 == b->load_avg1);
    assert_string_equal(a->governor, b->governor);
    assert_int_equal(a->created_ns, b->created_ns);
    assert_string_equal(a->plumb_version, b->plumb_version);
    assert_strings_equal(saved->invocation, loaded->invocation);
    assert_strings_equal(saved->git_commit, loaded->git_commit);
    assert_strings_equal(saved->scan_param, loaded->scan_param);
    assert_strings_equal(saved->counters, loaded->counters);
    assert_int_equal(saved->partial, loaded->partial);
    assert_true(saved->seed == loaded->seed);
    assert_int_equal(saved->overhead_ns, loaded->overhead_ns);

    assert_int_equal(loaded->n_runs, 1);
    const plumb_run_t *x = &saved->runs[r], *y = &loaded->runs[0];
    assert_int_equal(y->id, x->id);
    assert_string_equal(x->name, y->name);
    assert_string_equal(x->command, y->command);
    assert_int_equal(x->n_params, y->n_params);
    for (size_t p = 0; p < x->n_params; p++) {
        assert_string_equal(x->param_names[p], y->param_names[p]);
        assert_string_equal(x->param_values[p], y->param_values[p]);
    }
    assert_strings_equal(x->python, y->python);
    assert_int_equal(x->shell, y->shell);
    assert_int_equal(x->shell_overhead_ns, y->shell_overhead_ns);
    assert_int_equal(y->baseline, -1); /* alone in its session */
    assert_int_equal(y->series, 0);
    if (isnan(x->x))
        assert_true(isnan(y->x));
    else
        assert_true(x->x == y->x);
    assert_true(x->loops == y->loops);
    assert_int_equal(x->n_samples, y->n_samples);
    for (size_t k = 0; k < x->n_samples; k++)
        assert_sample_equal(&x->samples[k], &y->samples[k]);
}

/* ---- tests ------------------------------------------------------------- */

static void default_path_follows_env(void **state)
{
    (void)state;
    const char *old = getenv("PLUMB_STORE");
    char *saved = old ? strdup(old) : NULL;

    assert_int_equal(unsetenv("PLUMB_STORE"), 0);
    assert_string_equal(plumb_store_default_path(NULL), ".plumb/plumb.db");
    assert_string_equal(plumb_store_default_path(""), ".plumb/plumb.db");
    assert_string_equal(plumb_store_default_path("x.db"), "x.db");

    assert_int_equal(setenv("PLUMB_STORE", "/srv/perf/team.db", 1), 0);
    assert_string_equal(plumb_store_default_path(NULL), "/srv/perf/team.db");
    assert_string_equal(plumb_store_default_path(""), "/srv/perf/team.db");
    assert_string_equal(plumb_store_default_path("x.db"), "x.db");

    assert_int_equal(setenv("PLUMB_STORE", "", 1), 0);
    assert_string_equal(plumb_store_default_path(NULL), ".plumb/plumb.db");

    if (saved)
        setenv("PLUMB_STORE", saved, 1);
    else
        unsetenv("PLUMB_STORE");
    free(saved);
}

static void null_arguments_are_harmless(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    assert_string_equal(plumb_store_errmsg(NULL), "");
    assert_int_equal(plumb_store_schema_version(NULL), 0);
    plumb_store_close(NULL);
    plumb_run_info_free(NULL, 0);

    assert_int_equal(plumb_store_open(NULL, &st), PLUMB_EINVAL);
    assert_non_null(st);
    assert_string_not_equal(plumb_store_errmsg(st), "");
    plumb_session_t *s = plumb_session_new();
    assert_non_null(s);
    assert_int_equal(plumb_store_save(st, s), PLUMB_EINVAL);
    plumb_store_close(st);

    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_string_equal(plumb_store_errmsg(st), "");
    assert_int_equal(plumb_store_save(st, NULL), PLUMB_EINVAL);
    /* A session without runs is still a session. */
    assert_int_equal(plumb_store_save(st, s), 0);
    assert_true(s->id > 0);
    assert_string_equal(plumb_store_errmsg(st), "");
    plumb_store_close(st);
    plumb_session_free(s);
}

static void round_trips_a_session(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_session_t *s = make_session(3, 25, UINT64_C(0xFEDCBA9876543210));
    s->partial = 1;
    s->env.load_avg1 = -1; /* unknown */
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_save(st, s), 0);
    assert_true(s->id > 0);
    for (size_t r = 0; r < s->n_runs; r++) {
        assert_true(s->runs[r].id > 0);
        if (r)
            assert_true(s->runs[r].id != s->runs[r - 1].id);
    }
    /* Read through a second connection, so nothing comes from a cache. */
    plumb_store_close(st);
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    for (size_t r = 0; r < s->n_runs; r++) {
        plumb_session_t *loaded = NULL;
        assert_int_equal(plumb_store_load_run(st, s->runs[r].id, &loaded), 0);
        assert_loaded(s, r, loaded);
        plumb_session_free(loaded);
    }
    /* The seed's top bit survives, and NaN x is stored as NULL. */
    assert_int_equal(raw_int(t->db, "SELECT count(*) FROM runs "
                                    "WHERE x IS NULL"), 1);
    assert_int_equal(raw_int(t->db, "SELECT count(*) FROM samples "
                                    "WHERE cycles IS NULL"), 3 * 9);
    assert_int_equal(raw_int(t->db, "SELECT baseline IS NULL FROM runs "
                                    "WHERE idx = 0"), 1);
    plumb_store_close(st);
    plumb_session_free(s);
}

static void lists_newest_first_with_limit(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_run_info_t *infos = NULL;
    size_t n = 99;
    assert_int_equal(plumb_store_open(t->db, &st), 0);

    assert_int_equal(plumb_store_list(st, 0, &infos, &n), 0);
    assert_int_equal(n, 0);
    assert_null(infos);

    /* Wall times 40 10 30 20 (median 25), none (NaN), and 7. */
    plumb_session_t *first = make_session(3, 0, 1);
    const int64_t walls[] = {40, 10, 30, 20};
    for (size_t k = 0; k < 4; k++) {
        plumb_sample_t sample;
        plumb_sample_init(&sample);
        sample.metric[PLUMB_METRIC_WALL] = walls[k];
        assert_int_equal(plumb_run_add_sample(&first->runs[0], &sample), 0);
        sample.metric[PLUMB_METRIC_WALL] = PLUMB_UNAVAILABLE;
        assert_int_equal(plumb_run_add_sample(&first->runs[1], &sample), 0);
    }
    plumb_sample_t seven;
    plumb_sample_init(&seven);
    seven.metric[PLUMB_METRIC_WALL] = 7;
    assert_int_equal(plumb_run_add_sample(&first->runs[2], &seven), 0);
    plumb_session_t *second = make_session(2, 5, 2);
    second->partial = 1;
    second->env.created_ns += 1000;
    assert_int_equal(plumb_store_save(st, first), 0);
    assert_int_equal(plumb_store_save(st, second), 0);

    assert_int_equal(plumb_store_list(st, 0, &infos, &n), 0);
    assert_int_equal(n, 5);
    const plumb_run_t *expected[] = {&second->runs[1], &second->runs[0],
                                     &first->runs[2], &first->runs[1],
                                     &first->runs[0]};
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(infos[i].run_id, expected[i]->id);
        assert_string_equal(infos[i].name, expected[i]->name);
        assert_string_equal(infos[i].command, expected[i]->command);
        assert_int_equal(infos[i].n_samples, expected[i]->n_samples);
        if (i)
            assert_true(infos[i].run_id < infos[i - 1].run_id);
    }
    assert_int_equal(infos[0].session_id, second->id);
    assert_int_equal(infos[0].created_ns, second->env.created_ns);
    assert_int_equal(infos[0].partial, 1);
    assert_int_equal(infos[4].session_id, first->id);
    assert_int_equal(infos[4].partial, 0);
    assert_true(infos[4].median_wall_ns == 25.0);
    assert_true(isnan(infos[3].median_wall_ns));
    assert_true(infos[2].median_wall_ns == 7.0);
    plumb_run_info_free(infos, n);

    assert_int_equal(plumb_store_list(st, 2, &infos, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(infos[0].run_id, second->runs[1].id);
    assert_int_equal(infos[1].run_id, second->runs[0].id);
    plumb_run_info_free(infos, n);

    assert_int_equal(plumb_store_list(st, 100, &infos, &n), 0);
    assert_int_equal(n, 5);
    plumb_run_info_free(infos, n);

    plumb_store_close(st);
    plumb_session_free(first);
    plumb_session_free(second);
}

static void two_connections_share_the_store(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *a = NULL, *b = NULL;
    plumb_run_info_t *infos = NULL;
    size_t n = 0;
    plumb_session_t *s = make_session(2, 10, 1), *u = make_session(1, 5, 2);
    assert_int_equal(plumb_store_open(t->db, &a), 0);
    assert_int_equal(plumb_store_open(t->db, &b), 0);
    assert_int_equal(plumb_store_save(a, s), 0);
    assert_int_equal(plumb_store_save(b, u), 0);
    assert_true(u->runs[0].id > s->runs[1].id);
    assert_int_equal(plumb_store_list(a, 0, &infos, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(infos[0].run_id, u->runs[0].id);
    plumb_run_info_free(infos, n);
    plumb_store_close(a);
    plumb_store_close(b);
    plumb_session_free(s);
    plumb_session_free(u);
}

static void load_of_missing_run_is_notfound(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_session_t placeholder, *loaded = &placeholder;
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_load_run(st, 12345, &loaded),
                     PLUMB_ENOTFOUND);
    assert_null(loaded);
    assert_non_null(strstr(plumb_store_errmsg(st), "12345"));

    plumb_session_t *s = make_session(1, 3, 7);
    assert_int_equal(plumb_store_save(st, s), 0);
    assert_string_equal(plumb_store_errmsg(st), "");
    assert_int_equal(plumb_store_load_run(st, s->runs[0].id + 1, &loaded),
                     PLUMB_ENOTFOUND);
    assert_int_equal(plumb_store_load_run(st, 0, &loaded), PLUMB_ENOTFOUND);
    assert_int_equal(plumb_store_load_run(st, -1, &loaded), PLUMB_ENOTFOUND);
    assert_int_equal(plumb_store_load_run(st, s->runs[0].id, &loaded), 0);
    plumb_session_free(loaded);
    plumb_session_free(s);
    plumb_store_close(st);
}

/* Opening `path` fails with `err`, names the path and says `why`, and the
 * file is byte for byte what it was. */
static void assert_refused(const char *path, int err, const char *why)
{
    size_t before_len, after_len;
    char *before = read_file(path, &before_len);
    plumb_store_t *st = NULL;
    assert_int_equal(plumb_store_open(path, &st), err);
    assert_non_null(st);
    const char *msg = plumb_store_errmsg(st);
    if (!strstr(msg, path) || !strstr(msg, why))
        fail_msg("errmsg \"%s\" should name %s and say \"%s\"", msg, path,
                 why);
    plumb_store_close(st);
    char *after = read_file(path, &after_len);
    assert_int_equal(before_len, after_len);
    assert_memory_equal(before, after, before_len);
    free(before);
    free(after);
}

static void refuses_a_file_that_is_not_sqlite(void **state)
{
    tmp_t *t = *state;
    const char csv[] = "name,wall_ns\nfast,1200\nslow,3400\n";
    write_file(t->db, csv, sizeof csv - 1);
    assert_refused(t->db, PLUMB_ESTORE, "not a SQLite database");

    /* Past SQLite's first page too. */
    char *big = malloc(10000);
    assert_non_null(big);
    for (size_t i = 0; i < 10000; i++)
        big[i] = (char)('a' + i % 26);
    write_file(t->db, big, 10000);
    free(big);
    assert_refused(t->db, PLUMB_ESTORE, "not a SQLite database");
}

static void refuses_a_foreign_sqlite_database(void **state)
{
    tmp_t *t = *state;
    raw_exec(t->db, "CREATE TABLE people (name TEXT);"
                    "INSERT INTO people VALUES ('ada');");
    assert_refused(t->db, PLUMB_ESTORE, "not a plumb store");
    assert_int_equal(raw_int(t->db, "SELECT count(*) FROM people"), 1);

    /* Another application's file, even without tables yet. */
    char other[160];
    snprintf(other, sizeof other, "%s/other.db", t->dir);
    raw_exec(other, "PRAGMA application_id = 42;");
    assert_refused(other, PLUMB_ESTORE, "another application");
    /* Or one that only set its version: taking it for a migrated plumb
     * store would skip the migrations. */
    snprintf(other, sizeof other, "%s/versioned.db", t->dir);
    raw_exec(other, "PRAGMA user_version = 1;");
    assert_refused(other, PLUMB_ESTORE, "another application");
}

static void refuses_a_newer_schema_untouched(void **state)
{
    tmp_t *t = *state;
    char fresh[160], msg[256];
    plumb_store_t *st = NULL;
    snprintf(fresh, sizeof fresh, "%s/fresh.db", t->dir);
    assert_int_equal(plumb_store_open(fresh, &st), 0);
    int known = plumb_store_schema_version(st);
    assert_true(known >= 1);
    plumb_store_close(st);
    int64_t app_id = raw_int(fresh, "PRAGMA application_id");
    assert_true(app_id != 0);

    /* What a future plumb might have written: plumb's marker, a later
     * version, tables this plumb has never heard of. */
    char sql[256];
    snprintf(sql, sizeof sql,
             "PRAGMA application_id = %lld; PRAGMA user_version = %d;"
             "CREATE TABLE sessions_v9 (x TEXT);"
             "INSERT INTO sessions_v9 VALUES ('keep me');",
             (long long)app_id, known + 1);
    raw_exec(t->db, sql);
    snprintf(msg, sizeof msg,
             "written by a newer plumb (schema %d, this plumb knows up to "
             "%d); upgrade plumb or use --store",
             known + 1, known);
    assert_refused(t->db, PLUMB_ESCHEMA, msg);

    assert_int_equal(plumb_store_open(t->db, &st), PLUMB_ESCHEMA);
    assert_int_equal(plumb_store_schema_version(st), known + 1);
    plumb_session_t *s = make_session(1, 1, 1);
    assert_int_equal(plumb_store_save(st, s), PLUMB_EINVAL);
    assert_int_equal(s->id, 0);
    plumb_session_free(s);
    plumb_store_close(st);
    assert_int_equal(raw_int(t->db, "SELECT count(*) FROM sessions_v9 "
                                    "WHERE x = 'keep me'"), 1);
    assert_int_equal(raw_int(t->db, "PRAGMA user_version"), known + 1);
}

static void migrates_an_empty_file(void **state)
{
    tmp_t *t = *state;
    char buf[64];
    plumb_store_t *st = NULL;
    write_file(t->db, "", 0);
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    int version = plumb_store_schema_version(st);
    assert_true(version >= 1);
    plumb_store_close(st);

    assert_int_equal(raw_int(t->db, "PRAGMA user_version"), version);
    assert_true(raw_int(t->db, "PRAGMA application_id") != 0);
    assert_string_equal(raw_text(t->db, "PRAGMA journal_mode", buf,
                                 sizeof buf), "wal");
    assert_int_equal(raw_int(t->db, "SELECT count(*) FROM sqlite_master "
                                    "WHERE type = 'table' AND name IN "
                                    "('sessions', 'runs', 'run_params', "
                                    "'samples')"), 4);
    assert_int_equal(raw_int(t->db, "SELECT count(*) FROM sqlite_master "
                                    "WHERE type = 'index' AND tbl_name IN "
                                    "('runs', 'samples')"), 3);

    /* Opening again migrates nothing and keeps the version. */
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_schema_version(st), version);
    plumb_store_close(st);
    assert_int_equal(raw_int(t->db, "PRAGMA user_version"), version);
}

/* The migrations' sample columns are exactly the metric table's keys: a
 * metric added without a migration, or a column list that drifted from the
 * metric table, fails here. */
static void schema_has_a_column_per_metric(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    plumb_store_close(st);

    sqlite3 *db = raw_open(t->db);
    sqlite3_stmt *q = NULL;
    int seen[PLUMB_METRIC_COUNT] = {0};
    assert_int_equal(sqlite3_prepare_v2(db, "SELECT name FROM "
                                            "pragma_table_info('samples')",
                                        -1, &q, NULL),
                     SQLITE_OK);
    while (sqlite3_step(q) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        const char *others[] = {"run_id", "iter", "exit_code", "term_signal",
                                "timed_out"};
        int other = 0;
        for (size_t i = 0; i < sizeof others / sizeof *others; i++)
            other |= strcmp(name, others[i]) == 0;
        if (other)
            continue;
        int m = plumb_metric_find(name);
        if (m < 0)
            fail_msg("samples.%s is no metric", name);
        seen[m]++;
    }
    sqlite3_finalize(q);
    sqlite3_close(db);
    for (int m = 0; m < PLUMB_METRIC_COUNT; m++)
        if (seen[m] != 1)
            fail_msg("metric %s has %d columns in samples",
                     plumb_metric_key(m), seen[m]);
}

static void creates_parent_directories(void **state)
{
    tmp_t *t = *state;
    char path[256], dir[256];
    struct stat sb;
    plumb_store_t *st = NULL;
    snprintf(path, sizeof path, "%s/a/b//c/plumb.db", t->dir);
    assert_int_equal(plumb_store_open(path, &st), 0);
    plumb_store_close(st);
    snprintf(dir, sizeof dir, "%s/a/b/c", t->dir);
    assert_int_equal(stat(dir, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISREG(sb.st_mode));

    /* A file where a directory should be. */
    snprintf(dir, sizeof dir, "%s/blocker", t->dir);
    write_file(dir, "x", 1);
    snprintf(path, sizeof path, "%s/blocker/sub/plumb.db", t->dir);
    assert_int_equal(plumb_store_open(path, &st), PLUMB_ESTORE);
    assert_non_null(strstr(plumb_store_errmsg(st), path));
    plumb_store_close(st);
}

static void assert_ids_unset(const plumb_session_t *s)
{
    assert_int_equal(s->id, 0);
    for (size_t r = 0; r < s->n_runs; r++)
        assert_int_equal(s->runs[r].id, 0);
}

static void failed_run_insert_leaves_nothing(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_session_t *s = make_session(3, 50, 9);
    /* Runs 0 and 1 with their samples go in before run 2 fails. */
    char *name = s->runs[2].name;
    s->runs[2].name = NULL;
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_save(st, s), PLUMB_ESTORE);
    const char *msg = plumb_store_errmsg(st);
    if (!strstr(msg, "run 2") || !strstr(msg, "NOT NULL") ||
        !strstr(msg, t->db))
        fail_msg("errmsg: %s", msg);
    assert_ids_unset(s);
    assert_int_equal(raw_rows(t->db), 0);

    /* The store is not left inside a transaction. */
    s->runs[2].name = name;
    assert_int_equal(plumb_store_save(st, s), 0);
    assert_true(s->id > 0 && s->runs[2].id > 0);
    assert_int_equal(raw_rows(t->db), 1 + 3 + 3 * 2 + 3 * 50);
    plumb_store_close(st);
    plumb_session_free(s);
}

static void failed_sample_insert_leaves_nothing(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    plumb_store_close(st);
    /* Stands in for a disk that fills up in the middle of the samples. */
    raw_exec(t->db, "CREATE TRIGGER injected BEFORE INSERT ON samples "
                    "WHEN NEW.wall_ns = 4242 "
                    "BEGIN SELECT RAISE(ABORT, 'injected failure'); END;");

    plumb_session_t *s = make_session(3, 100, 5);
    s->runs[1].samples[30].metric[PLUMB_METRIC_WALL] = 4242;
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_save(st, s), PLUMB_ESTORE);
    const char *msg = plumb_store_errmsg(st);
    if (!strstr(msg, "sample 30 of run 1") ||
        !strstr(msg, "injected failure"))
        fail_msg("errmsg: %s", msg);
    assert_ids_unset(s);
    assert_int_equal(raw_rows(t->db), 0);

    s->runs[1].samples[30].metric[PLUMB_METRIC_WALL] = 4243;
    assert_int_equal(plumb_store_save(st, s), 0);
    assert_int_equal(raw_int(t->db, "SELECT count(*) FROM samples"), 300);
    plumb_store_close(st);
    plumb_session_free(s);
}

/* In a child, as a user the file refuses writes to (root ignores file
 * modes): the store opens for reading and refuses to save. */
static int read_only_child(const char *path)
{
    if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
        return 10;
    plumb_store_t *st = NULL;
    plumb_session_t *s = make_session(2, 20, 3);
    plumb_run_info_t *infos = NULL;
    size_t n = 0;
    if (plumb_store_open(path, &st) != 0)
        return 11;
    if (plumb_store_save(st, s) != PLUMB_ESTORE)
        return 12;
    if (s->id != 0 || s->runs[0].id != 0 || s->runs[1].id != 0)
        return 13;
    if (!strstr(plumb_store_errmsg(st), "readonly"))
        return 14;
    if (plumb_store_list(st, 0, &infos, &n) != 0 || n != 1)
        return 15;
    plumb_run_info_free(infos, n);
    plumb_store_close(st);
    plumb_session_free(s);
    return 0;
}

static void read_only_file_refuses_save(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_session_t *s = make_session(1, 10, 3);
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_save(st, s), 0);
    plumb_store_close(st);
    plumb_session_free(s);
    int64_t rows = raw_rows(t->db);

    assert_int_equal(chmod(t->db, 0444), 0);
    assert_int_equal(chmod(t->dir, 0777), 0); /* for -wal and -shm */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(read_only_child(t->db));
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);

    assert_int_equal(chmod(t->db, 0644), 0);
    assert_int_equal(raw_rows(t->db), rows);
}

static uint64_t next_random(uint64_t *x)
{
    /* xorshift64: enough to spread the kill times, and seeded. */
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

static void sleep_ns(int64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000), (long)(ns % 1000000000)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Saves `s` over and over until killed; says "ready" once the store is
 * open, so that the kill lands among the saves, not before them. */
static void saving_child(const char *path, plumb_session_t *s, int ready_fd)
{
    plumb_store_t *st = NULL;
    if (plumb_store_open(path, &st) != 0)
        _exit(3);
    if (write(ready_fd, "r", 1) != 1)
        _exit(4);
    for (;;)
        if (plumb_store_save(st, s) != 0)
            _exit(5);
}

static void survives_sigkill_mid_save(void **state)
{
    enum { RUNS = 4, SAMPLES = 5000, KILLS = 8 };
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    uint64_t rng = 0x9E3779B97F4A7C15u;
    char buf[64];
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    plumb_store_close(st);

    plumb_session_t *s = make_session(RUNS, SAMPLES, 11);
    for (int kill_no = 0; kill_no < KILLS; kill_no++) {
        int ready[2];
        assert_int_equal(pipe(ready), 0);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(ready[0]);
            saving_child(t->db, s, ready[1]);
        }
        close(ready[1]);
        char byte;
        ssize_t got = read(ready[0], &byte, 1);
        close(ready[0]);
        /* A save of this session takes tens of milliseconds: a kill within
         * 0-200 ms lands before, in or between saves. */
        sleep_ns((int64_t)(next_random(&rng) % 200000000));
        kill(pid, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(got, 1);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
            fail_msg("the saving child ended by itself (status %d)", status);
    }

    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_string_equal(raw_text(t->db, "PRAGMA integrity_check", buf,
                                 sizeof buf), "ok");
    assert_int_equal(raw_int(t->db, "SELECT count(*) FROM "
                                    "pragma_foreign_key_check"), 0);
    char sql[512];
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM sessions s WHERE "
             "(SELECT count(*) FROM runs r WHERE r.session_id = s.id) != %d",
             RUNS);
    assert_int_equal(raw_int(t->db, sql), 0);
    snprintf(sql, sizeof sql,
             "SELECT count(*) FROM runs r WHERE r.n_samples != %d OR "
             "(SELECT count(*) FROM samples m WHERE m.run_id = r.id) != %d "
             "OR (SELECT count(*) FROM run_params p "
             "    WHERE p.run_id = r.id) != 2",
             SAMPLES, SAMPLES);
    assert_int_equal(raw_int(t->db, sql), 0);

    /* The store still takes a session, and what survived loads whole. */
    assert_int_equal(plumb_store_save(st, s), 0);
    plumb_session_t *loaded = NULL;
    assert_int_equal(plumb_store_load_run(st, s->runs[RUNS - 1].id, &loaded),
                     0);
    assert_loaded(s, RUNS - 1, loaded);
    plumb_session_free(loaded);
    plumb_store_close(st);
    plumb_session_free(s);
}

static void saves_a_large_session(void **state)
{
    enum { RUNS = 10, SAMPLES = 10000 };
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_session_t *s = make_session(RUNS, SAMPLES, 17);
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_save(st, s), 0);

    plumb_run_info_t *infos = NULL;
    size_t n = 0;
    assert_int_equal(plumb_store_list(st, 0, &infos, &n), 0);
    assert_int_equal(n, RUNS);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(infos[i].n_samples, SAMPLES);
    plumb_run_info_free(infos, n);
    assert_int_equal(raw_int(t->db, "SELECT count(*) FROM samples"),
                     RUNS * SAMPLES);

    plumb_session_t *loaded = NULL;
    assert_int_equal(plumb_store_load_run(st, s->runs[7].id, &loaded), 0);
    assert_loaded(s, 7, loaded);
    plumb_session_free(loaded);
    plumb_store_close(st);
    plumb_session_free(s);
}


/* ---- profiles ----------------------------------------------------------- */

#define FRAME(fn, fi, ln) ((plumb_frame_t){(fn), (fi), (ln)})

/* A profile built by hand, as the sampler would leave it; free with
 * plumb_profile_free. */
static plumb_profile_t *make_profile(void)
{
    plumb_profile_t *p = calloc(1, sizeof *p);
    assert_non_null(p);
    assert_int_equal(plumb_stack_new(&p->stacks), 0);
    const plumb_frame_t work[] = {FRAME("spin", "/w/split.py", 9),
                                  FRAME("sixty", "/w/split.py", 14),
                                  FRAME("main", "/w/split.py", 27)};
    const plumb_frame_t odd[] = {FRAME("Klass.f (wrapped)", "<string>", 1),
                                 FRAME("<module>", "/w a/x.py", 3)};
    assert_int_equal(plumb_stack_add(p->stacks, "main thread (tid 7)", work,
                                     3, 0, 600), 0);
    assert_int_equal(plumb_stack_add(p->stacks, "main thread (tid 7)", work,
                                     2, 0, 40), 0);
    assert_int_equal(plumb_stack_add(p->stacks, "main thread (tid 7)", odd, 2,
                                     1, 7), 0);
    assert_int_equal(plumb_stack_add(p->stacks, "worker (tid 8)", NULL, 0, 0,
                                     3), 0);
    p->pid = 4242;
    snprintf(p->python, sizeof p->python, "CPython 3.12.1");
    p->mode = PLUMB_PROFILE_WALL;
    p->rate_hz = 10000;
    p->achieved_hz = 9876.5;
    p->duration_ns = INT64_C(2500000000);
    p->samples = 650;
    p->dropped = 12;
    p->thread_samples = 650;
    p->idle = 5;
    p->threads_seen = 3;
    p->processes = 1;
    p->exit_status = 3;
    p->n_threads = 2;
    p->threads = calloc(2, sizeof *p->threads);
    assert_non_null(p->threads);
    snprintf(p->threads[0].label, sizeof p->threads[0].label,
             "main thread (tid 7)");
    p->threads[0].stacks = 647;
    p->threads[0].gil_ticks = 600;
    p->threads[0].gil_known = 1;
    snprintf(p->threads[1].label, sizeof p->threads[1].label,
             "worker (tid 8)");
    p->threads[1].stacks = 3;
    return p;
}

static void round_trips_a_profile(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_env_t env = {0};
    snprintf(env.host, sizeof env.host, "profile-host");
    env.created_ns = INT64_C(1700000000000000000);
    plumb_profile_t *p = make_profile(), *back = NULL;
    int64_t id = 0;
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_save_profile(st, p, &env, "python3 split.py",
                                              "plumb profile -- python3 "
                                              "split.py", &id), 0);
    assert_true(id > 0);
    /* Aggregated: one row per distinct stack, not per sample. */
    assert_int_equal(raw_int(t->db, "SELECT count(*) FROM profile_stacks"),
                     4);
    assert_int_equal(plumb_store_load_profile(st, id, &back), 0);
    assert_non_null(back);
    assert_int_equal(back->pid, 4242);
    assert_string_equal(back->python, "CPython 3.12.1");
    assert_int_equal(back->mode, PLUMB_PROFILE_WALL);
    assert_true(back->rate_hz == 10000 && back->achieved_hz == 9876.5);
    assert_int_equal(back->duration_ns, INT64_C(2500000000));
    assert_int_equal(back->samples, 650);
    assert_int_equal(back->dropped, 12);
    assert_int_equal(back->thread_samples, 650);
    assert_int_equal(back->idle, 5);
    assert_int_equal(back->threads_seen, 3);
    assert_int_equal(back->processes, 1);
    assert_int_equal(back->exit_status, 3);
    assert_int_equal(back->exit_signal, 0);
    assert_int_equal(back->n_threads, 2);
    assert_string_equal(back->threads[0].label, "main thread (tid 7)");
    assert_int_equal(back->threads[0].stacks, 647);
    assert_int_equal(back->threads[0].gil_ticks, 600);
    assert_int_equal(back->threads[0].gil_known, 1);
    assert_string_equal(back->threads[1].label, "worker (tid 8)");
    assert_int_equal(back->threads[1].gil_known, 0);
    assert_int_equal(plumb_stack_total(back->stacks), 650);
    char *saved = NULL, *loaded = NULL;
    assert_int_equal(plumb_stack_collapsed(p->stacks, &saved), 0);
    assert_int_equal(plumb_stack_collapsed(back->stacks, &loaded), 0);
    assert_string_equal(loaded, saved);
    free(saved);
    free(loaded);

    /* Listed, named after its command; a bench run is not a profile. */
    plumb_run_info_t *infos = NULL;
    size_t n = 0;
    plumb_session_t *s = make_session(1, 3, 1);
    assert_int_equal(plumb_store_save(st, s), 0);
    assert_int_equal(plumb_store_list(st, 0, &infos, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(infos[1].run_id, id);
    assert_int_equal(infos[1].profile, 1);
    assert_string_equal(infos[1].name, "profile: python3 split.py");
    assert_int_equal(infos[0].profile, 0);
    plumb_run_info_free(infos, n);
    plumb_profile_t *none = NULL;
    assert_int_equal(plumb_store_load_profile(st, s->runs[0].id, &none),
                     PLUMB_ENOTFOUND);
    assert_int_equal(plumb_store_load_profile(st, 999, &none),
                     PLUMB_ENOTFOUND);
    assert_null(none);

    /* Attached: named by pid. */
    assert_int_equal(plumb_store_save_profile(st, p, NULL, NULL, NULL, &id),
                     0);
    assert_int_equal(plumb_store_list(st, 1, &infos, &n), 0);
    assert_string_equal(infos[0].name, "profile: pid 4242");
    plumb_run_info_free(infos, n);
    plumb_session_free(s);
    plumb_profile_free(back);
    plumb_profile_free(p);
    plumb_store_close(st);
}

/* A program killed by a signal: no exit status, and the signal kept. */
static void round_trips_the_signal_that_ended_a_profile(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_profile_t *p = make_profile(), *back = NULL;
    p->exit_status = -1;
    p->exit_signal = SIGKILL;
    int64_t id = 0;
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_save_profile(st, p, NULL, "python3 k.py",
                                              NULL, &id), 0);
    assert_int_equal(raw_int(t->db, "SELECT exit_signal FROM profiles"), 9);
    assert_int_equal(plumb_store_load_profile(st, id, &back), 0);
    assert_int_equal(back->exit_status, -1);
    assert_int_equal(back->exit_signal, SIGKILL);
    plumb_profile_free(back);
    plumb_profile_free(p);
    plumb_store_close(st);
}

/* A store as plumb wrote it before profiles (schema 1): its sessions stay
 * and load after the migration, and profiles can be added. */
static void migrates_a_v1_store_keeping_its_sessions(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_session_t *s = make_session(2, 4, 5), *loaded = NULL;
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_save(st, s), 0);
    plumb_store_close(st);
    /* Back to schema 1: what migrations 2 to 4 added, removed. */
    raw_exec(t->db, "DROP TABLE mem_stacks; DROP TABLE mem_timeline; "
                    "DROP TABLE mem_profiles;"
                    "DROP INDEX runs_by_name; ALTER TABLE runs DROP COLUMN "
                    "loops;"
                    "DROP TABLE profile_stacks; DROP TABLE profile_threads;"
                    "DROP TABLE profiles; ALTER TABLE runs DROP COLUMN kind;"
                    "PRAGMA user_version = 1;");
    assert_int_equal(raw_int(t->db, "SELECT count(*) FROM "
                                    "pragma_table_info('runs') WHERE name = "
                                    "'kind'"), 0);

    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_true(plumb_store_schema_version(st) >= 2);
    assert_int_equal(raw_int(t->db, "SELECT count(*) FROM runs WHERE kind = "
                                    "'bench'"), 2);
    assert_int_equal(plumb_store_load_run(st, s->runs[1].id, &loaded), 0);
    assert_loaded(s, 1, loaded);
    plumb_session_free(loaded);
    plumb_profile_t *p = make_profile();
    int64_t id = 0;
    assert_int_equal(plumb_store_save_profile(st, p, NULL, "x", NULL, &id),
                     0);
    plumb_run_info_t *infos = NULL;
    size_t n = 0;
    assert_int_equal(plumb_store_list(st, 0, &infos, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(infos[0].profile, 1);
    assert_int_equal(infos[2].profile, 0);
    plumb_run_info_free(infos, n);
    plumb_profile_free(p);
    plumb_session_free(s);
    plumb_store_close(st);
}

/* ---- loop runs (plumb.bench) ------------------------------------------- */

/* A session of two loop runs as the Python package saves one: times per
 * call with fractions of a ns, the second the baseline's candidate. */
static plumb_session_t *make_loop_session(void)
{
    static const double fast_ns[] = {45.25, 44.5, 46.125, 45.0, 47.75};
    static const double slow_ns[] = {90.5, 91.25, 89.0, 92.0, 90.0};
    plumb_session_t *s = make_session(0, 0, 9);
    plumb_loop_subject_t fast = {0}, slow = {0};
    plumb_run_t *run;
    fast.loops = 200000;
    fast.loop_ns = (double *)fast_ns;
    fast.n_samples = 5;
    slow.loops = 100000;
    slow.loop_ns = (double *)slow_ns;
    slow.n_samples = 5;
    assert_int_equal(plumb_session_add_loop_run(s, "tests/t.py::test_fast",
                                                "t:fast", &fast, &run),
                     0);
    assert_int_equal(plumb_set_string(&run->python, "CPython 3.11.2"), 0);
    assert_int_equal(plumb_session_add_loop_run(s, "tests/t.py::test_slow",
                                                "t:slow", &slow, &run),
                     0);
    run->baseline = 0;
    return s;
}

static void round_trips_a_loop_run(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_session_t *s = make_loop_session(), *loaded = NULL;
    char buf[64];
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_save(st, s), 0);
    assert_int_equal(raw_int(t->db, "SELECT count(*) FROM runs WHERE kind = "
                                    "'loop' AND loops IS NOT NULL"), 2);
    assert_string_equal(raw_text(t->db, "SELECT loops FROM runs ORDER BY id "
                                        "LIMIT 1", buf, sizeof buf),
                        "200000");
    /* each sample holds the time of all its calls, as the clock gave it */
    assert_int_equal(raw_int(t->db, "SELECT wall_ns FROM samples WHERE iter "
                                    "= 2 ORDER BY run_id LIMIT 1"),
                     9225000);
    for (size_t r = 0; r < 2; r++) {
        assert_int_equal(plumb_store_load_run(st, s->runs[r].id, &loaded), 0);
        assert_loaded(s, r, loaded);
        double *v;
        size_t n;
        assert_int_equal(plumb_run_values(&loaded->runs[0], PLUMB_METRIC_WALL,
                                          &v, &n),
                         0);
        assert_int_equal(n, 5);
        assert_true(v[2] == (r ? 89.0 : 46.125));
        free(v);
        plumb_session_free(loaded);
    }
    /* Listed by the median time per call. */
    plumb_run_info_t *infos = NULL;
    size_t n = 0;
    assert_int_equal(plumb_store_list(st, 0, &infos, &n), 0);
    assert_int_equal(n, 2);
    assert_true(infos[0].median_wall_ns == 90.5);
    assert_true(infos[1].median_wall_ns == 45.25);
    assert_int_equal(infos[1].profile, 0);
    plumb_run_info_free(infos, n);
    plumb_session_free(s);
    plumb_store_close(st);
}

static void finds_the_newest_run_of_a_name(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_session_t *first = make_loop_session(), *second = make_loop_session();
    int64_t id = -5;
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_find_run(st, "tests/t.py::test_fast", 0, &id),
                     PLUMB_ENOTFOUND);
    assert_int_equal(id, -5);
    assert_non_null(strstr(plumb_store_errmsg(st), "test_fast"));
    assert_int_equal(plumb_store_save(st, first), 0);
    assert_int_equal(plumb_store_save(st, second), 0);
    /* A profile of the same name is never picked: it has no samples. */
    plumb_profile_t *p = make_profile();
    int64_t profile_id = 0;
    assert_int_equal(plumb_store_save_profile(st, p, NULL, "x", NULL,
                                              &profile_id),
                     0);
    raw_exec(t->db, "UPDATE runs SET name = 'tests/t.py::test_fast' WHERE "
                    "kind = 'profile'");

    assert_int_equal(plumb_store_find_run(st, "tests/t.py::test_fast", 0, &id),
                     0);
    assert_int_equal(id, second->runs[0].id);
    assert_int_equal(plumb_store_find_run(st, "tests/t.py::test_slow",
                                          first->id, &id),
                     0);
    assert_int_equal(id, first->runs[1].id);
    assert_int_equal(plumb_store_find_run(st, "tests/t.py::test_slow",
                                          profile_id + 1000, &id),
                     PLUMB_ENOTFOUND);
    assert_int_equal(plumb_store_find_run(st, "tests/t.py", 0, &id),
                     PLUMB_ENOTFOUND);
    assert_int_equal(plumb_store_find_run(st, NULL, 0, &id), PLUMB_EINVAL);
    assert_int_equal(plumb_store_find_run(NULL, "x", 0, &id), PLUMB_EINVAL);
    plumb_profile_free(p);
    plumb_session_free(first);
    plumb_session_free(second);
    plumb_store_close(st);
}

/* A store of schema 2 (plumb before loop runs) gains the loops column; its
 * command runs read back as commands (loops 0) and loop runs can join. */
static void migrates_a_v2_store_to_loop_runs(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_session_t *s = make_session(2, 4, 5), *loaded = NULL;
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_save(st, s), 0);
    plumb_store_close(st);
    raw_exec(t->db, "DROP TABLE mem_stacks; DROP TABLE mem_timeline; "
                    "DROP TABLE mem_profiles;"
                    "DROP INDEX runs_by_name; ALTER TABLE runs DROP COLUMN "
                    "loops; PRAGMA user_version = 2;");

    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_schema_version(st), 4); /* the newest */
    assert_int_equal(raw_int(t->db, "SELECT count(*) FROM runs WHERE loops "
                                    "IS NULL AND kind = 'bench'"), 2);
    assert_int_equal(plumb_store_load_run(st, s->runs[1].id, &loaded), 0);
    assert_loaded(s, 1, loaded);
    assert_true(loaded->runs[0].loops == 0);
    plumb_session_free(loaded);
    plumb_session_t *loops = make_loop_session();
    assert_int_equal(plumb_store_save(st, loops), 0);
    int64_t id = 0;
    assert_int_equal(plumb_store_find_run(st, "run-1", 0, &id), 0);
    assert_int_equal(id, s->runs[1].id);
    plumb_session_free(loops);
    plumb_session_free(s);
    plumb_store_close(st);
}

int test_store_run(void)
{
#define STORE_TEST(f) cmocka_unit_test_setup_teardown(f, tmp_setup, tmp_teardown)
    const struct CMUnitTest tests[] = {
        STORE_TEST(default_path_follows_env),
        STORE_TEST(null_arguments_are_harmless),
        STORE_TEST(round_trips_a_session),
        STORE_TEST(lists_newest_first_with_limit),
        STORE_TEST(two_connections_share_the_store),
        STORE_TEST(load_of_missing_run_is_notfound),
        STORE_TEST(refuses_a_file_that_is_not_sqlite),
        STORE_TEST(refuses_a_foreign_sqlite_database),
        STORE_TEST(refuses_a_newer_schema_untouched),
        STORE_TEST(migrates_an_empty_file),
        STORE_TEST(schema_has_a_column_per_metric),
        STORE_TEST(creates_parent_directories),
        STORE_TEST(failed_run_insert_leaves_nothing),
        STORE_TEST(failed_sample_insert_leaves_nothing),
        STORE_TEST(read_only_file_refuses_save),
        STORE_TEST(survives_sigkill_mid_save),
        STORE_TEST(saves_a_large_session),
        STORE_TEST(round_trips_a_profile),
        STORE_TEST(round_trips_the_signal_that_ended_a_profile),
        STORE_TEST(migrates_a_v1_store_keeping_its_sessions),
        STORE_TEST(round_trips_a_loop_run),
        STORE_TEST(finds_the_newest_run_of_a_name),
        STORE_TEST(migrates_a_v2_store_to_loop_runs),
    };
#undef STORE_TEST
    return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
