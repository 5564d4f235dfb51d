/* test_mem_store.c: memory profiles in the store: one saved reads back as
 * the same document, is listed as a run of its own kind, is never taken
 * for a profile or a benchmark run, and a store of the schema before
 * memory profiles gains their tables. Each test works in its own mkdtemp
 * directory, removed afterwards. */
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "mem_fixture.h"
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
    snprintf(t->dir, sizeof t->dir, "/tmp/plumb-mem-store-XXXXXX");
    if (!mkdtemp(t->dir)) {
        free(t);
        return -1;
    }
    snprintf(t->db, sizeof t->db, "%s/plumb.db", t->dir);
    *state = t;
    return 0;
}

static int tmp_teardown(void **state)
{
    tmp_t *t = *state;
    DIR *d = opendir(t->dir);
    if (d) {
        struct dirent *e;
        char path[512];
        while ((e = readdir(d)) != NULL) {
            if (e->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", t->dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(t->dir);
    free(t);
    return 0;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    char *msg = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
    sqlite3_close(db);
}

static char *to_json(const plumb_mem_t *m)
{
    char *text = NULL;
    assert_int_equal(plumb_report_mem_json(m, &text), 0);
    return text;
}

static plumb_env_t some_env(void)
{
    plumb_env_t env;
    memset(&env, 0, sizeof env);
    snprintf(env.host, sizeof env.host, "ci-runner-7");
    snprintf(env.plumb_version, sizeof env.plumb_version, PLUMB_VERSION);
    env.created_ns = INT64_C(1700000000123456789);
    env.cpus = 2;
    env.load_avg1 = -1;
    return env;
}

static void saved_profile_reads_back_the_same(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_mem_t *m = fixture_mem(), *back = NULL;
    plumb_env_t env = some_env();
    int64_t id = 0;
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_save_mem(st, m, &env, "plumb mem -- python3 "
                                                       "etl.py", &id), 0);
    assert_true(id > 0);
    assert_int_equal(plumb_store_load_mem(st, id, &back), 0);
    /* the file name that is not UTF-8 reads back as it was: the store
     * keeps bytes; so the documents match */
    char *a = to_json(m), *b = to_json(back);
    assert_string_equal(a, b);
    free(a);
    free(b);
    assert_int_equal(back->n_timeline, m->n_timeline);
    assert_int_equal(back->timeline[15].heap_bytes, 200 * MIB);
    /* more points can follow, as for a profile being recorded */
    assert_int_equal(plumb_mem_add_point(back, INT64_C(9000000000), 1, 1), 0);
    plumb_mem_free(back);

    /* listed as a memory profile, named for its command */
    plumb_run_info_t *infos = NULL;
    size_t n = 0;
    assert_int_equal(plumb_store_list(st, 0, &infos, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(infos[0].run_id, id);
    assert_int_equal(infos[0].mem, 1);
    assert_int_equal(infos[0].profile, 0);
    assert_int_equal(infos[0].n_samples, 12850);
    assert_int_equal(infos[0].partial, 0);
    assert_string_equal(infos[0].name, "mem: python3 etl.py --rows 1000000");
    assert_string_equal(infos[0].command, "python3 etl.py --rows 1000000");
    plumb_run_info_free(infos, n);

    /* never taken for a profile, nor found as a benchmark run */
    plumb_profile_t *p = NULL;
    int64_t found = 0;
    assert_int_equal(plumb_store_load_profile(st, id, &p), PLUMB_ENOTFOUND);
    assert_int_equal(plumb_store_find_run(st, "mem: python3 etl.py --rows "
                                              "1000000", 0, &found),
                     PLUMB_ENOTFOUND);
    assert_int_equal(plumb_store_load_mem(st, id + 1, &back),
                     PLUMB_ENOTFOUND);
    assert_null(back);
    assert_non_null(strstr(plumb_store_errmsg(st), "holds no memory profile "
                                                   "run"));
    plumb_mem_free(m);
    plumb_store_close(st);
}

static void a_profile_that_died_is_stored_partial(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_mem_t *m = fixture_mem(), *back = NULL;
    m->complete = 0;
    m->exit_status = -1;
    m->exit_signal = SIGKILL;
    m->command[0] = '\0';
    int64_t id = 0;
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_save_mem(st, m, NULL, NULL, &id), 0);
    plumb_run_info_t *infos = NULL;
    size_t n = 0;
    assert_int_equal(plumb_store_list(st, 0, &infos, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(infos[0].partial, 1);
    assert_string_equal(infos[0].name, "mem: pid 4242");
    plumb_run_info_free(infos, n);
    assert_int_equal(plumb_store_load_mem(st, id, &back), 0);
    assert_int_equal(back->complete, 0);
    assert_int_equal(back->exit_signal, SIGKILL);
    assert_int_equal(back->exit_status, -1);
    /* the run's command, "pid N", names it now */
    assert_string_equal(back->command, "pid 4242");
    plumb_mem_free(back);

    /* an empty profile is kept too */
    plumb_mem_t *empty = NULL;
    assert_int_equal(plumb_mem_new(&empty), 0);
    empty->mean_bytes = 1;
    assert_int_equal(plumb_store_save_mem(st, empty, NULL, NULL, &id), 0);
    assert_int_equal(plumb_store_load_mem(st, id, &back), 0);
    assert_int_equal(back->n_timeline, 0);
    assert_int_equal(plumb_stack_total(back->peak), 0);
    plumb_mem_free(back);
    plumb_mem_free(empty);

    assert_int_equal(plumb_store_save_mem(st, NULL, NULL, NULL, &id),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_store_save_mem(NULL, m, NULL, NULL, &id),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_store_load_mem(st, id, NULL), PLUMB_EINVAL);
    plumb_mem_free(m);
    plumb_store_close(st);
}

/* A store of schema 3 (before memory profiles) gains their tables; what
 * it held stays, and a memory profile can join. */
static void migrates_a_v3_store_to_memory_profiles(void **state)
{
    tmp_t *t = *state;
    plumb_store_t *st = NULL;
    plumb_mem_t *m = fixture_mem(), *back = NULL;
    int64_t id = 0;
    assert_int_equal(plumb_store_open(t->db, &st), 0);
    int current = plumb_store_schema_version(st);
    assert_true(current >= 4);
    plumb_session_t *s = plumb_session_new();
    plumb_run_t *run = NULL;
    plumb_sample_t x;
    plumb_sample_init(&x);
    x.metric[PLUMB_METRIC_WALL] = 1000;
    assert_int_equal(plumb_session_add_run(s, "true", "true", &run), 0);
    assert_int_equal(plumb_run_add_sample(run, &x), 0);
    assert_int_equal(plumb_store_save(st, s), 0);
    plumb_store_close(st);
    raw_exec(t->db, "DROP TABLE mem_stacks; DROP TABLE mem_timeline; "
                    "DROP TABLE mem_profiles; PRAGMA user_version = 3;");

    assert_int_equal(plumb_store_open(t->db, &st), 0);
    assert_int_equal(plumb_store_schema_version(st), current);
    plumb_session_t *loaded = NULL;
    assert_int_equal(plumb_store_load_run(st, s->runs[0].id, &loaded), 0);
    assert_int_equal(loaded->runs[0].n_samples, 1);
    plumb_session_free(loaded);
    assert_int_equal(plumb_store_save_mem(st, m, NULL, NULL, &id), 0);
    assert_int_equal(plumb_store_load_mem(st, id, &back), 0);
    assert_int_equal(back->peak_bytes, 200 * MIB);
    plumb_mem_free(back);
    plumb_session_free(s);
    plumb_mem_free(m);
    plumb_store_close(st);
}

int test_mem_store_run(void)
{
#define TMP(test) cmocka_unit_test_setup_teardown(test, tmp_setup, tmp_teardown)
    const struct CMUnitTest tests[] = {
        TMP(saved_profile_reads_back_the_same),
        TMP(a_profile_that_died_is_stored_partial),
        TMP(migrates_a_v3_store_to_memory_profiles),
    };
#undef TMP
    return cmocka_run_group_tests_name("mem_store", tests, NULL, NULL);
}
