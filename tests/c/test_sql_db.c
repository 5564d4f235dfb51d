/* test_sql_db.c: query plans (SQLite's wording of every version, read from
 * literal strings and from a real EXPLAIN QUERY PLAN; PostgreSQL's JSON
 * from literal documents), scratch copies of SQLite files (the user's file
 * byte for byte unchanged, WAL files included, the copy removed), running
 * statements (binds, row digests) and index trials on a 120 000-row table.
 *
 * The group builds that table once, in a file under a mkdtemp directory
 * that every test opens read-only through plumb (the scratch copies go to
 * a directory beside it, removed with it); tests that need a file of their
 * own make it in their own directory. Only the trial of a useful
 * index depends on the machine's speed: it must be >= 10x faster, where a
 * scan of the table against an index lookup is usually well above 100x.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "sql_db.h"
#include "sql_fixture.h"
#include "tests.h"

#define BOOKS 120000
#define AUTHORS 10007

static char fixture_dir[64];
static char fixture_db[128];

/* ---- files --------------------------------------------------------------- */

static void rm_rf(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) != 0)
        return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d))) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[4096];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            rm_rf(child);
        }
        if (d)
            closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static void make_temp_dir(char *buf, size_t size)
{
    snprintf(buf, size, "/tmp/plumb-sqldb-XXXXXX");
    assert_non_null(mkdtemp(buf));
}

/* The whole file, malloc'd, its length in *len; NULL when it is absent. */
static unsigned char *read_all(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    unsigned char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            buf = realloc(buf, cap);
            assert_non_null(buf);
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return buf;
}

/* A file's bytes and times, to show that nothing touched it. */
typedef struct {
    unsigned char *bytes;
    size_t len;
    struct timespec mtime;
    int present;
} snapshot_t;

static void snapshot_take(const char *path, snapshot_t *s)
{
    struct stat sb;
    memset(s, 0, sizeof *s);
    s->bytes = read_all(path, &s->len);
    s->present = s->bytes != NULL;
    if (s->present) {
        assert_int_equal(stat(path, &sb), 0);
        s->mtime = sb.st_mtim;
    }
}

static void snapshot_same(const char *path, const snapshot_t *before)
{
    snapshot_t now;
    snapshot_take(path, &now);
    assert_int_equal(now.present, before->present);
    if (before->present) {
        assert_int_equal(now.len, before->len);
        if (memcmp(now.bytes, before->bytes, now.len) != 0)
            fail_msg("%s changed", path);
        assert_true(now.mtime.tv_sec == before->mtime.tv_sec &&
                    now.mtime.tv_nsec == before->mtime.tv_nsec);
    }
    free(now.bytes);
}

/* The names in dir, sorted, joined by spaces, in buf. */
static const char *dir_listing(const char *dir, char *buf, size_t size)
{
    struct dirent **names = NULL;
    int n = scandir(dir, &names, NULL, alphasort);
    assert_true(n >= 0);
    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        if (names[i]->d_name[0] != '.') {
            strncat(buf, names[i]->d_name, size - strlen(buf) - 2);
            strncat(buf, " ", size - strlen(buf) - 1);
        }
        free(names[i]);
    }
    free(names);
    return buf;
}

/* ---- raw SQLite, without plumb ------------------------------------------- */

static void raw_exec(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg ? msg : "?");
}

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

static int64_t raw_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *q = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &q, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(q), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    return v;
}

/* book: 120 000 rows, ~12 per author; author: 10 007 rows. No index but
 * the primary keys. */
static void build_books(const char *path)
{
    sqlite3 *db = raw_open(path);
    raw_exec(db,
             "CREATE TABLE author(id INTEGER PRIMARY KEY, name TEXT NOT NULL);"
             "CREATE TABLE book(id INTEGER PRIMARY KEY, author_id INTEGER NOT "
             "NULL, title TEXT NOT NULL, year INTEGER, price REAL, cover "
             "BLOB);"
             "BEGIN;"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
             "WHERE i < 10007) INSERT INTO author SELECT i, 'author ' || i "
             "FROM n;"
             "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
             "WHERE i < 120000) INSERT INTO book SELECT i, (i * 7919) % "
             "10007 + 1, 'title ' || i, 1900 + i % 120, (i % 1000) / 10.0, "
             "CASE WHEN i % 10 = 0 THEN NULL ELSE CAST(printf('%08x', i) AS "
             "BLOB) END FROM n;"
             "COMMIT;");
    assert_int_equal(raw_int(db, "SELECT count(*) FROM book"), BOOKS);
    sqlite3_close(db);
}

/* The scratch copies go to a directory of the group's ($TMPDIR), so that
 * a test that fails before closing its database leaves nothing behind. */
static char *saved_tmpdir;

static int group_setup(void **state)
{
    (void)state;
    char tmp[96];
    snprintf(fixture_dir, sizeof fixture_dir, "/tmp/plumb-sqldb-XXXXXX");
    if (!mkdtemp(fixture_dir))
        return -1;
    snprintf(fixture_db, sizeof fixture_db, "%s/books.db", fixture_dir);
    snprintf(tmp, sizeof tmp, "%s/tmp", fixture_dir);
    if (mkdir(tmp, 0700) != 0)
        return -1;
    const char *old = getenv("TMPDIR");
    saved_tmpdir = old ? strdup(old) : NULL;
    setenv("TMPDIR", tmp, 1);
    build_books(fixture_db);
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    if (saved_tmpdir)
        setenv("TMPDIR", saved_tmpdir, 1);
    else
        unsetenv("TMPDIR");
    free(saved_tmpdir);
    saved_tmpdir = NULL;
    rm_rf(fixture_dir);
    return 0;
}

/* ---- plumb helpers -------------------------------------------------------- */

static plumb_sql_db_t *open_db(const char *target)
{
    plumb_sql_db_t *db = NULL;
    char *msg = NULL;
    int err = plumb_sql_db_open(target, &db, &msg);
    if (err)
        fail_msg("open %s: %s: %s", target, plumb_strerror(err),
                 msg ? msg : "?");
    assert_null(msg);
    assert_non_null(db);
    return db;
}

static void expect_step(const plumb_sql_step_t *s, plumb_sql_step_kind_t kind,
                        const char *table, const char *index,
                        const char *detail)
{
    assert_int_equal(s->kind, kind);
    if (table)
        assert_string_equal(s->table, table);
    else
        assert_null(s->table);
    if (index)
        assert_string_equal(s->index, index);
    else
        assert_null(s->index);
    assert_string_equal(s->detail, detail);
}

/* One detail in a fresh plan, checked. */
static void expect_sqlite(const char *detail, plumb_sql_step_kind_t kind,
                          const char *table, const char *index)
{
    plumb_sql_plan_t plan;
    plumb_sql_plan_init(&plan);
    assert_int_equal(plumb_sql_plan_add_sqlite(&plan, detail), 0);
    assert_int_equal(plan.n_steps, 1);
    expect_step(&plan.steps[0], kind, table, index, detail);
    plumb_sql_plan_close(&plan);
}

/* ---- SQLite plans from literal strings ----------------------------------- */

/* SQLite 3.36 and later. */
static void plan_sqlite_current_wording(void **state)
{
    (void)state;
    expect_sqlite("SCAN book", PLUMB_SQL_STEP_SCAN, "book", NULL);
    expect_sqlite("SCAN book AS b", PLUMB_SQL_STEP_SCAN, "book", NULL);
    expect_sqlite("SCAN book USING COVERING INDEX ix_year",
                  PLUMB_SQL_STEP_SCAN, "book", "ix_year");
    expect_sqlite("SCAN b USING INDEX ix_title", PLUMB_SQL_STEP_SCAN, "b",
                  "ix_title");
    expect_sqlite("SEARCH book USING INDEX ix_author (author_id=?)",
                  PLUMB_SQL_STEP_SEARCH, "book", "ix_author");
    expect_sqlite("SEARCH book AS b USING COVERING INDEX ix_author "
                  "(author_id>? AND author_id<?)",
                  PLUMB_SQL_STEP_SEARCH, "book", "ix_author");
    expect_sqlite("SEARCH book USING INTEGER PRIMARY KEY (rowid=?)",
                  PLUMB_SQL_STEP_SEARCH, "book", NULL);
    expect_sqlite("SEARCH kv USING PRIMARY KEY (k=?)", PLUMB_SQL_STEP_SEARCH,
                  "kv", NULL);
    expect_sqlite("SEARCH a USING AUTOMATIC COVERING INDEX (id=?)",
                  PLUMB_SQL_STEP_SEARCH, "a", NULL);
    expect_sqlite("SEARCH a USING AUTOMATIC PARTIAL COVERING INDEX (id=?)",
                  PLUMB_SQL_STEP_SEARCH, "a", NULL);
    expect_sqlite("SCAN (subquery-1)", PLUMB_SQL_STEP_SCAN, NULL, NULL);
    expect_sqlite("SCAN docs VIRTUAL TABLE INDEX 0:", PLUMB_SQL_STEP_SCAN,
                  "docs", NULL);
    expect_sqlite("USE TEMP B-TREE FOR ORDER BY", PLUMB_SQL_STEP_SORT, NULL,
                  NULL);
    expect_sqlite("USE TEMP B-TREE FOR GROUP BY", PLUMB_SQL_STEP_SORT, NULL,
                  NULL);
    expect_sqlite("USE TEMP B-TREE FOR DISTINCT", PLUMB_SQL_STEP_SORT, NULL,
                  NULL);
    expect_sqlite("USE TEMP B-TREE FOR RIGHT PART OF ORDER BY",
                  PLUMB_SQL_STEP_SORT, NULL, NULL);
    expect_sqlite("USE TEMP B-TREE FOR LAST TERM OF ORDER BY",
                  PLUMB_SQL_STEP_SORT, NULL, NULL);
    expect_sqlite("SCAN CONSTANT ROW", PLUMB_SQL_STEP_OTHER, NULL, NULL);
    expect_sqlite("CO-ROUTINE v", PLUMB_SQL_STEP_OTHER, NULL, NULL);
    expect_sqlite("MATERIALIZE recent", PLUMB_SQL_STEP_OTHER, NULL, NULL);
    expect_sqlite("SCALAR SUBQUERY 1", PLUMB_SQL_STEP_OTHER, NULL, NULL);
    expect_sqlite("CORRELATED SCALAR SUBQUERY 2", PLUMB_SQL_STEP_OTHER, NULL,
                  NULL);
    expect_sqlite("LIST SUBQUERY 1", PLUMB_SQL_STEP_OTHER, NULL, NULL);
    expect_sqlite("COMPOUND QUERY", PLUMB_SQL_STEP_OTHER, NULL, NULL);
    expect_sqlite("LEFT-MOST SUBQUERY", PLUMB_SQL_STEP_OTHER, NULL, NULL);
    expect_sqlite("UNION USING TEMP B-TREE", PLUMB_SQL_STEP_OTHER, NULL,
                  NULL);
    expect_sqlite("MULTI-INDEX OR", PLUMB_SQL_STEP_OTHER, NULL, NULL);
    expect_sqlite("INDEX 1", PLUMB_SQL_STEP_OTHER, NULL, NULL);
    expect_sqlite("BLOOM FILTER ON book (author_id=?)", PLUMB_SQL_STEP_OTHER,
                  "book", NULL);
    expect_sqlite("RIGHT-JOIN book", PLUMB_SQL_STEP_OTHER, NULL, NULL);
    expect_sqlite("", PLUMB_SQL_STEP_OTHER, NULL, NULL);

    /* Surrounding whitespace goes; no row estimate in these versions. */
    plumb_sql_plan_t plan;
    plumb_sql_plan_init(&plan);
    assert_int_equal(plumb_sql_plan_add_sqlite(&plan, "  SCAN book \n"), 0);
    expect_step(&plan.steps[0], PLUMB_SQL_STEP_SCAN, "book", NULL,
                "SCAN book");
    assert_true(isnan(plan.steps[0].rows));
    plumb_sql_plan_close(&plan);
}

/* SQLite 3.7 to 3.35: "TABLE", and up to 3.8.x the estimated rows. */
static void plan_sqlite_old_wording(void **state)
{
    (void)state;
    plumb_sql_plan_t plan;
    plumb_sql_plan_init(&plan);
    static const char *const details[] = {
        "SCAN TABLE book (~1000000 rows)",
        "SEARCH TABLE book USING INDEX ix_author (author_id=?) (~10 rows)",
        "SCAN TABLE book AS b",
        "SEARCH TABLE book USING INTEGER PRIMARY KEY (rowid=?)",
        "SCAN TABLE book USING COVERING INDEX ix_year",
        "SCAN SUBQUERY 1",
        "EXECUTE LIST SUBQUERY 1",
        "EXECUTE CORRELATED SCALAR SUBQUERY 2",
        "COMPOUND SUBQUERIES 1 AND 2 USING TEMP B-TREE (UNION)",
        "USE TEMP B-TREE FOR ORDER BY",
    };
    for (size_t i = 0; i < sizeof details / sizeof *details; i++)
        assert_int_equal(plumb_sql_plan_add_sqlite(&plan, details[i]), 0);
    assert_int_equal(plan.n_steps, 10);
    expect_step(&plan.steps[0], PLUMB_SQL_STEP_SCAN, "book", NULL,
                details[0]);
    assert_true(plan.steps[0].rows == 1000000);
    expect_step(&plan.steps[1], PLUMB_SQL_STEP_SEARCH, "book", "ix_author",
                details[1]);
    assert_true(plan.steps[1].rows == 10);
    expect_step(&plan.steps[2], PLUMB_SQL_STEP_SCAN, "book", NULL,
                details[2]);
    assert_true(isnan(plan.steps[2].rows));
    expect_step(&plan.steps[3], PLUMB_SQL_STEP_SEARCH, "book", NULL,
                details[3]);
    expect_step(&plan.steps[4], PLUMB_SQL_STEP_SCAN, "book", "ix_year",
                details[4]);
    expect_step(&plan.steps[5], PLUMB_SQL_STEP_SCAN, NULL, NULL, details[5]);
    for (size_t i = 6; i < 9; i++)
        expect_step(&plan.steps[i], PLUMB_SQL_STEP_OTHER, NULL, NULL,
                    details[i]);
    expect_step(&plan.steps[9], PLUMB_SQL_STEP_SORT, NULL, NULL, details[9]);

    char *text = NULL;
    assert_int_equal(plumb_sql_plan_text(&plan, &text), 0);
    assert_non_null(strstr(text, "SCAN TABLE book (~1000000 rows); SEARCH "
                                 "TABLE book USING INDEX ix_author"));
    assert_non_null(strstr(text, "; USE TEMP B-TREE FOR ORDER BY"));
    assert_int_equal(text[strlen(text) - 1], 'Y');
    free(text);
    plumb_sql_plan_close(&plan);
    assert_int_equal(plan.n_steps, 0);
    assert_null(plan.steps);
}

static void plan_text_and_null_arguments(void **state)
{
    (void)state;
    plumb_sql_plan_t plan;
    char *text = NULL;
    plumb_sql_plan_init(&plan);
    assert_int_equal(plumb_sql_plan_text(&plan, &text), 0);
    assert_string_equal(text, "");
    free(text);
    assert_int_equal(plumb_sql_plan_add_sqlite(&plan, NULL), PLUMB_EINVAL);
    assert_int_equal(plumb_sql_plan_add_sqlite(NULL, "SCAN t"),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_sql_plan_add_pg(&plan, NULL), PLUMB_EINVAL);
    assert_int_equal(plumb_sql_plan_text(NULL, &text), PLUMB_EINVAL);
    assert_int_equal(plumb_sql_plan_text(&plan, NULL), PLUMB_EINVAL);
    assert_int_equal(plan.n_steps, 0);
    /* Many steps: the array grows. */
    for (int i = 0; i < 100; i++)
        assert_int_equal(plumb_sql_plan_add_sqlite(&plan, "SCAN t"), 0);
    assert_int_equal(plan.n_steps, 100);
    assert_int_equal(plumb_sql_plan_text(&plan, &text), 0);
    assert_int_equal(strlen(text), 100 * strlen("SCAN t") + 99 * 2);
    free(text);
    plumb_sql_plan_close(&plan);
    plumb_sql_plan_close(&plan);
    plumb_sql_plan_close(NULL);
}

/* ---- PostgreSQL plans from literal documents ------------------------------ */

/* EXPLAIN (FORMAT JSON) SELECT title FROM book WHERE year > 1950 ORDER BY
 * author_id, as PostgreSQL 15 prints it (abridged: costs and widths). */
static const char pg_sort_seq[] =
    "[\n  {\n    \"Plan\": {\n      \"Node Type\": \"Sort\",\n"
    "      \"Parallel Aware\": false,\n      \"Async Capable\": false,\n"
    "      \"Startup Cost\": 9876.54,\n      \"Total Cost\": 10061.54,\n"
    "      \"Plan Rows\": 74000,\n      \"Plan Width\": 16,\n"
    "      \"Sort Key\": [\"author_id\"],\n      \"Plans\": [\n        {\n"
    "          \"Node Type\": \"Seq Scan\",\n"
    "          \"Parent Relationship\": \"Outer\",\n"
    "          \"Parallel Aware\": false,\n"
    "          \"Relation Name\": \"book\",\n          \"Alias\": \"book\",\n"
    "          \"Plan Rows\": 74000,\n"
    "          \"Filter\": \"(year > 1950)\"\n        }\n      ]\n    }\n"
    "  }\n]";

static void plan_pg_sort_over_scan(void **state)
{
    (void)state;
    plumb_sql_plan_t plan;
    plumb_sql_plan_init(&plan);
    assert_int_equal(plumb_sql_plan_add_pg(&plan, pg_sort_seq), 0);
    assert_int_equal(plan.n_steps, 2);
    expect_step(&plan.steps[0], PLUMB_SQL_STEP_SORT, NULL, NULL,
                "Sort (author_id)");
    assert_true(plan.steps[0].rows == 74000);
    expect_step(&plan.steps[1], PLUMB_SQL_STEP_SCAN, "book", NULL,
                "Seq Scan on book");
    char *text = NULL;
    assert_int_equal(plumb_sql_plan_text(&plan, &text), 0);
    assert_string_equal(text, "Sort (author_id); Seq Scan on book");
    free(text);
    plumb_sql_plan_close(&plan);
}

static void plan_pg_index_and_bitmap_nodes(void **state)
{
    (void)state;
    /* A join of a bitmap search, an index search, an index read whole for
     * its order, a parallel scan, and an incremental sort. */
    static const char doc[] =
        "[{\"Plan\": {\"Node Type\": \"Hash Join\", \"Join Type\": "
        "\"Inner\", \"Plan Rows\": 12.5, \"Plans\": ["
        " {\"Node Type\": \"Bitmap Heap Scan\", \"Relation Name\": \"book\","
        "  \"Alias\": \"b\", \"Plan Rows\": 12, \"Recheck Cond\": "
        "  \"(author_id = 5)\", \"Plans\": ["
        "   {\"Node Type\": \"Bitmap Index Scan\", \"Index Name\": "
        "    \"plumb_book_author_id\", \"Plan Rows\": 12, \"Index Cond\": "
        "    \"(author_id = 5)\"}]},"
        " {\"Node Type\": \"Hash\", \"Plan Rows\": 1, \"Plans\": ["
        "   {\"Node Type\": \"Index Only Scan\", \"Scan Direction\": "
        "    \"Forward\", \"Index Name\": \"author_pkey\","
        "    \"Relation Name\": \"author\", \"Alias\": \"author\","
        "    \"Plan Rows\": 1,"
        "    \"Index Cond\": \"(id = 5)\"}]},"
        " {\"Node Type\": \"Index Scan\", \"Index Name\": \"book_pkey\","
        "  \"Relation Name\": \"book\", \"Alias\": \"book\", \"Plan Rows\":"
        "  120000},"
        " {\"Node Type\": \"Gather\", \"Plan Rows\": 3, \"Plans\": ["
        "   {\"Node Type\": \"Seq Scan\", \"Parallel Aware\": true, "
        "    \"Relation Name\": \"book\", \"Alias\": \"book\"}]},"
        " {\"Node Type\": \"Incremental Sort\", \"Sort Key\": [\"a\", "
        "  \"b DESC\"], \"Plan Rows\": 7}"
        "]}}]";
    plumb_sql_plan_t plan;
    plumb_sql_plan_init(&plan);
    assert_int_equal(plumb_sql_plan_add_pg(&plan, doc), 0);
    assert_int_equal(plan.n_steps, 9);
    expect_step(&plan.steps[0], PLUMB_SQL_STEP_OTHER, NULL, NULL,
                "Hash Join");
    assert_true(plan.steps[0].rows == 12.5);
    expect_step(&plan.steps[1], PLUMB_SQL_STEP_SEARCH, "book", NULL,
                "Bitmap Heap Scan on book b");
    expect_step(&plan.steps[2], PLUMB_SQL_STEP_SEARCH, NULL,
                "plumb_book_author_id",
                "Bitmap Index Scan on plumb_book_author_id");
    expect_step(&plan.steps[3], PLUMB_SQL_STEP_OTHER, NULL, NULL, "Hash");
    expect_step(&plan.steps[4], PLUMB_SQL_STEP_SEARCH, "author",
                "author_pkey", "Index Only Scan using author_pkey on author");
    expect_step(&plan.steps[5], PLUMB_SQL_STEP_SCAN, "book", "book_pkey",
                "Index Scan using book_pkey on book");
    assert_true(plan.steps[5].rows == 120000);
    expect_step(&plan.steps[6], PLUMB_SQL_STEP_OTHER, NULL, NULL, "Gather");
    expect_step(&plan.steps[7], PLUMB_SQL_STEP_SCAN, "book", NULL,
                "Parallel Seq Scan on book");
    assert_true(isnan(plan.steps[7].rows));
    expect_step(&plan.steps[8], PLUMB_SQL_STEP_SORT, NULL, NULL,
                "Incremental Sort (a, b DESC)");
    /* A lone statement object is taken too, and appends. */
    assert_int_equal(
        plumb_sql_plan_add_pg(&plan, "{\"Plan\": {\"Node Type\": \"Result\"}}"),
        0);
    assert_int_equal(plan.n_steps, 10);
    expect_step(&plan.steps[9], PLUMB_SQL_STEP_OTHER, NULL, NULL, "Result");
    plumb_sql_plan_close(&plan);
}

static void plan_pg_refuses_other_documents(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "EXPLAIN",
        "Seq Scan on book  (cost=0.00..2185.00 rows=120000 width=16)",
        "[]",
        "{}",
        "42",
        "[{\"Plan\": 3}]",
        "[{\"Query\": {}}]",
        "[{\"Plan\": {\"Relation Name\": \"book\"}}]",
        "[{\"Plan\": {\"Node Type\": 7}}]",
        "[{\"Plan\": {\"Node Type\": \"Seq Scan\", \"Plan Rows\": \"many\"}}]",
        "[{\"Plan\": {\"Node Type\": \"Sort\", \"Plans\": {}}}]",
        /* Good nodes first, then a bad one: nothing is kept. */
        "[{\"Plan\": {\"Node Type\": \"Sort\", \"Plans\": [{\"Node Type\": "
        "\"Seq Scan\", \"Relation Name\": \"book\"}, {\"Node\": 1}]}}]",
        "[{\"Plan\": {\"Node Type\": \"Sort\"}}, 5]",
        "[{\"Plan\": {\"Node Type\": \"Sort\"}}",
    };
    plumb_sql_plan_t plan;
    plumb_sql_plan_init(&plan);
    assert_int_equal(plumb_sql_plan_add_sqlite(&plan, "SCAN kept"), 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        if (plumb_sql_plan_add_pg(&plan, bad[i]) != PLUMB_EPARSE)
            fail_msg("accepted: %s", bad[i]);
        assert_int_equal(plan.n_steps, 1);
    }
    assert_string_equal(plan.steps[0].detail, "SCAN kept");
    plumb_sql_plan_close(&plan);
}

/* ---- plans from this SQLite ---------------------------------------------- */

/* The plan of sql with one integer parameter, as text. */
static char *explain_text(plumb_sql_db_t *db, const char *sql,
                          plumb_sql_plan_t *plan)
{
    plumb_sql_value_t p = int_value(5);
    char *msg = NULL, *text = NULL;
    int n = (int)(strchr(sql, '?') != NULL);
    plumb_sql_plan_init(plan);
    int err = plumb_sql_db_explain(db, sql, n ? &p : NULL, (size_t)n, plan,
                                   &msg);
    if (err)
        fail_msg("%s: %s", sql, msg ? msg : plumb_strerror(err));
    assert_int_equal(plumb_sql_plan_text(plan, &text), 0);
    return text;
}

static void plan_from_this_sqlite(void **state)
{
    (void)state;
    plumb_sql_db_t *db = open_db(fixture_db);
    plumb_sql_plan_t plan;
    char *text;

    text = explain_text(db, "SELECT title FROM book WHERE author_id = ?",
                        &plan);
    assert_int_equal(plan.n_steps, 1);
    assert_int_equal(plan.steps[0].kind, PLUMB_SQL_STEP_SCAN);
    assert_string_equal(plan.steps[0].table, "book");
    assert_null(plan.steps[0].index);
    free(text);
    plumb_sql_plan_close(&plan);

    text = explain_text(db, "SELECT title FROM book WHERE id = ?", &plan);
    assert_int_equal(plan.n_steps, 1);
    assert_int_equal(plan.steps[0].kind, PLUMB_SQL_STEP_SEARCH);
    assert_string_equal(plan.steps[0].table, "book");
    assert_non_null(strstr(text, "INTEGER PRIMARY KEY"));
    free(text);
    plumb_sql_plan_close(&plan);

    /* Since 3.36 SQLite names a table by its alias alone, if it has one. */
    text = explain_text(db, "SELECT title FROM book b ORDER BY title", &plan);
    assert_int_equal(plan.n_steps, 2);
    assert_int_equal(plan.steps[0].kind, PLUMB_SQL_STEP_SCAN);
    if (sqlite3_libversion_number() >= 3036000)
        assert_string_equal(plan.steps[0].table, "b");
    else
        assert_string_equal(plan.steps[0].table, "book");
    assert_int_equal(plan.steps[1].kind, PLUMB_SQL_STEP_SORT);
    free(text);
    plumb_sql_plan_close(&plan);

    text = explain_text(db,
                        "SELECT count(*) FROM book WHERE author_id IN "
                        "(SELECT id FROM author WHERE name = 'author 5')",
                        &plan);
    assert_true(plan.n_steps >= 3);
    int other = 0, scans = 0;
    for (size_t i = 0; i < plan.n_steps; i++) {
        other += plan.steps[i].kind == PLUMB_SQL_STEP_OTHER;
        scans += plan.steps[i].kind == PLUMB_SQL_STEP_SCAN;
    }
    assert_true(other >= 1); /* LIST SUBQUERY */
    assert_true(scans >= 1);
    free(text);
    plumb_sql_plan_close(&plan);

    text = explain_text(db, "SELECT 1", &plan);
    assert_int_equal(plan.n_steps, 1);
    assert_int_equal(plan.steps[0].kind, PLUMB_SQL_STEP_OTHER);
    free(text);
    plumb_sql_plan_close(&plan);

    exec_ok(db, "CREATE INDEX ix_author ON book(author_id)");
    text = explain_text(db, "SELECT title FROM book WHERE author_id = ?",
                        &plan);
    assert_int_equal(plan.n_steps, 1);
    assert_int_equal(plan.steps[0].kind, PLUMB_SQL_STEP_SEARCH);
    assert_string_equal(plan.steps[0].table, "book");
    assert_string_equal(plan.steps[0].index, "ix_author");
    assert_string_equal(text, "SEARCH book USING INDEX ix_author "
                              "(author_id=?)");
    free(text);
    plumb_sql_plan_close(&plan);

    /* A statement that fails leaves the plan as it was. */
    char *msg = NULL;
    plumb_sql_plan_init(&plan);
    assert_int_equal(plumb_sql_plan_add_sqlite(&plan, "SCAN kept"), 0);
    assert_int_equal(plumb_sql_db_explain(db, "SELECT nope FROM book", NULL,
                                          0, &plan, &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "no such column: nope"));
    assert_int_equal(plan.n_steps, 1);
    free(msg);
    plumb_sql_plan_close(&plan);
    plumb_sql_db_close(db);
}

/* ---- running statements ------------------------------------------------- */

static void run_digest_is_of_the_rows_in_any_order(void **state)
{
    (void)state;
    plumb_sql_db_t *db = open_db(fixture_db);
    plumb_sql_result_t up, down, more, swapped, changed, none;
    up = run_ok(db, "SELECT id, title, price, cover, year FROM book WHERE "
                    "id <= 1000 ORDER BY id", NULL, 0);
    down = run_ok(db, "SELECT id, title, price, cover, year FROM book WHERE "
                      "id <= 1000 ORDER BY id DESC", NULL, 0);
    more = run_ok(db, "SELECT id, title, price, cover, year FROM book WHERE "
                      "id <= 1001", NULL, 0);
    swapped = run_ok(db, "SELECT title, id, price, cover, year FROM book "
                         "WHERE id <= 1000", NULL, 0);
    changed = run_ok(db, "SELECT id, CASE id WHEN 500 THEN 'title 501' ELSE "
                         "title END, price, cover, year FROM book WHERE id "
                         "<= 1000", NULL, 0);
    none = run_ok(db, "SELECT id FROM book WHERE id < 0", NULL, 0);
    assert_int_equal(up.rows, 1000);
    assert_int_equal(down.rows, 1000);
    assert_true(up.digest == down.digest);
    assert_int_equal(more.rows, 1001);
    assert_true(more.digest != up.digest);
    assert_true(swapped.digest != up.digest);
    assert_int_equal(changed.rows, 1000);
    assert_true(changed.digest != up.digest);
    assert_int_equal(none.rows, 0);
    assert_true(none.digest == 0);

    /* A row twice is not the row once (a multiset, not a set), and values
     * of different types differ. */
    plumb_sql_result_t once = run_ok(db, "SELECT 1", NULL, 0);
    plumb_sql_result_t twice = run_ok(db, "SELECT 1 UNION ALL SELECT 1",
                                      NULL, 0);
    assert_int_equal(twice.rows, 2);
    assert_true(twice.digest != once.digest);
    static const char *const ones[] = {"SELECT 1.0", "SELECT '1'",
                                       "SELECT x'01'", "SELECT NULL",
                                       "SELECT 1, NULL", "SELECT 2"};
    for (size_t i = 0; i < sizeof ones / sizeof *ones; i++) {
        plumb_sql_result_t r = run_ok(db, ones[i], NULL, 0);
        if (r.digest == once.digest)
            fail_msg("%s has the digest of SELECT 1", ones[i]);
    }
    /* Text split differently over two columns differs too. */
    assert_true(run_ok(db, "SELECT 'ab', 'c'", NULL, 0).digest !=
                run_ok(db, "SELECT 'a', 'bc'", NULL, 0).digest);
    plumb_sql_db_close(db);
}

static void run_binds_by_position_and_by_name(void **state)
{
    (void)state;
    plumb_sql_db_t *db = open_db(fixture_db);
    uint64_t one = run_ok(db, "SELECT 1", NULL, 0).digest;
    char *msg = NULL;
    plumb_sql_result_t res;

    plumb_sql_value_t p[4] = {int_value(5), text_value("title 5"),
                              int_value(7), int_value(6)};
    res = run_ok(db, "SELECT id FROM book WHERE id = ? AND title = ?", p, 2);
    assert_int_equal(res.rows, 1);
    assert_true(res.digest == run_ok(db, "SELECT 5", NULL, 0).digest);
    /* ?NNN takes the NNNth value. */
    res = run_ok(db, "SELECT ?2 = 'title 5' AND ?1 = 5", p, 2);
    assert_true(res.digest == one);

    /* By name, whatever the prefix. */
    plumb_sql_value_t named[3] = {int_value(7), int_value(6),
                                  text_value("x")};
    named[0].name = "a";
    named[1].name = "b";
    named[2].name = "c";
    res = run_ok(db, "SELECT :a = 7 AND @b = 6 AND $c = 'x'", named, 3);
    assert_true(res.digest == one);
    named[0].name = ":a"; /* given with its prefix */
    res = run_ok(db, "SELECT :a = 7", named, 1);
    assert_true(res.digest == one);

    /* NULL, an empty text (not NULL), a text cut by its length, a blob,
     * a real. */
    plumb_sql_value_t kinds[5] = {
        {PLUMB_SQL_NULL, 0, 0, NULL, 0, NULL},
        {PLUMB_SQL_TEXT, 0, 0, NULL, 0, NULL},
        {PLUMB_SQL_TEXT, 0, 0, "abcdef", 3, NULL},
        {PLUMB_SQL_BLOB, 0, 0, "\x00\x01\x02", 3, NULL},
        {PLUMB_SQL_REAL, 0, 2.5, NULL, 0, NULL},
    };
    res = run_ok(db,
                 "SELECT ?1 IS NULL AND ?2 = '' AND ?3 = 'abc' AND ?4 = "
                 "x'000102' AND ?5 = 2.5",
                 kinds, 5);
    assert_true(res.digest == one);

    /* A name the statement lacks, or more values than places. */
    assert_int_equal(plumb_sql_db_run(db, "SELECT :a", &named[1], 1, &res,
                                      &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "no parameter named b"));
    assert_non_null(strstr(msg, "SELECT :a"));
    free(msg);
    assert_int_equal(plumb_sql_db_run(db, "SELECT ?", p, 2, &res, &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "takes 1 parameter"));
    free(msg);
    /* Fewer values: the rest are NULL, as SQLite has it. */
    res = run_ok(db, "SELECT ? = 5 AND ? IS NULL", p, 1);
    assert_true(res.digest == one);
    /* A bad type or a length without bytes. */
    plumb_sql_value_t odd = {(plumb_sql_type_t)9, 0, 0, NULL, 0, NULL};
    assert_int_equal(plumb_sql_db_run(db, "SELECT ?", &odd, 1, &res, &msg),
                     PLUMB_EINVAL);
    free(msg);
    plumb_sql_value_t hollow = {PLUMB_SQL_TEXT, 0, 0, NULL, 4, NULL};
    assert_int_equal(plumb_sql_db_run(db, "SELECT ?", &hollow, 1, &res, &msg),
                     PLUMB_EINVAL);
    free(msg);
    plumb_sql_db_close(db);
}

static void run_counts_rows_changed(void **state)
{
    (void)state;
    plumb_sql_db_t *db = open_db(fixture_db);
    /* Author 6's books: (i * 7919) % 10007 == 5 for i in 1..120000. */
    int64_t expected = 0;
    for (int64_t i = 1; i <= BOOKS; i++)
        expected += (i * 7919) % AUTHORS + 1 == 6;
    assert_true(expected >= 10);
    assert_int_equal(run_rows(db, "SELECT id FROM book WHERE author_id = 6"),
                     expected);
    plumb_sql_value_t p = int_value(6);
    plumb_sql_result_t res =
        run_ok(db, "UPDATE book SET price = price + 1 WHERE author_id = ?",
               &p, 1);
    assert_int_equal(res.rows, expected);
    assert_true(res.digest == 0);
    res = run_ok(db, "INSERT INTO book(author_id, title) VALUES (6, 'new')",
                 NULL, 0);
    assert_int_equal(res.rows, 1);
    res = run_ok(db, "DELETE FROM book WHERE author_id = 6", NULL, 0);
    assert_int_equal(res.rows, expected + 1);
    /* A statement that returns rows counts them, RETURNING included. */
    res = run_ok(db, "UPDATE book SET price = 0 WHERE id <= 3 RETURNING id",
                 NULL, 0);
    assert_int_equal(res.rows, 3);
    assert_true(res.digest != 0);
    plumb_sql_db_close(db);
}

/* ---- errors ------------------------------------------------------------- */

static void open_refuses_what_is_not_a_file(void **state)
{
    (void)state;
    char dir[64], path[128];
    plumb_sql_db_t *db = NULL;
    char *msg = NULL;
    make_temp_dir(dir, sizeof dir);

    snprintf(path, sizeof path, "%s/missing.db", dir);
    assert_int_equal(plumb_sql_db_open(path, &db, &msg), PLUMB_ENOTFOUND);
    assert_null(db);
    assert_non_null(strstr(msg, path));
    assert_non_null(strstr(msg, "no such file"));
    free(msg);

    assert_int_equal(plumb_sql_db_open(dir, &db, &msg), PLUMB_EIO);
    assert_non_null(strstr(msg, "directory"));
    free(msg);

    snprintf(path, sizeof path, "%s/notes.txt", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    for (int i = 0; i < 100; i++)
        fputs("these are not the pages of a database\n", f);
    fclose(f);
    assert_int_equal(plumb_sql_db_open(path, &db, &msg), PLUMB_EIO);
    assert_null(db);
    assert_non_null(strstr(msg, "not a database"));
    free(msg);

    assert_int_equal(plumb_sql_db_open(":memory:", &db, &msg),
                     PLUMB_ENOTFOUND);
    assert_non_null(strstr(msg, "in-memory"));
    free(msg);
    assert_int_equal(plumb_sql_db_open("file::memory:?cache=shared", &db,
                                       &msg),
                     PLUMB_ENOTFOUND);
    free(msg);
    assert_int_equal(plumb_sql_db_open("file:x.db?mode=memory", &db, &msg),
                     PLUMB_ENOTFOUND);
    free(msg);
    assert_int_equal(plumb_sql_db_open("file://elsewhere/x.db", &db, &msg),
                     PLUMB_ENOTFOUND);
    free(msg);
    assert_int_equal(plumb_sql_db_open(NULL, &db, &msg), PLUMB_EINVAL);
    free(msg);
    assert_int_equal(plumb_sql_db_open(fixture_db, NULL, NULL), PLUMB_EINVAL);
    plumb_sql_db_close(NULL);
    rm_rf(dir);
}

static void open_takes_a_file_uri(void **state)
{
    (void)state;
    char uri[1024], encoded[512];
    snprintf(uri, sizeof uri, "file:%s?mode=ro", fixture_db);
    plumb_sql_db_t *db = open_db(uri);
    assert_int_equal(plumb_sql_db_engine(db), PLUMB_SQL_SQLITE);
    assert_int_equal(run_rows(db, "SELECT id FROM book WHERE id <= 10"), 10);
    plumb_sql_db_close(db);
    /* %-encoded, with an authority of localhost. */
    char *o = encoded;
    for (const char *p = fixture_db; *p; p++)
        o += sprintf(o, *p == '/' ? "%c" : "%%%02X", (unsigned char)*p);
    snprintf(uri, sizeof uri, "file://localhost%s", encoded);
    db = open_db(uri);
    assert_int_equal(run_rows(db, "SELECT id FROM author WHERE id <= 10"), 10);
    plumb_sql_db_close(db);
}

static void statements_that_fail_say_why(void **state)
{
    (void)state;
    plumb_sql_db_t *db = open_db(fixture_db);
    plumb_sql_result_t res;
    int64_t bytes;
    char *msg = NULL;

    assert_int_equal(plumb_sql_db_run(db, "SELEC title FROM book", NULL, 0,
                                      &res, &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "SELEC title FROM book"));
    assert_non_null(strstr(msg, "syntax error"));
    free(msg);
    assert_int_equal(plumb_sql_db_run(db, "SELECT 1; SELECT 2", NULL, 0,
                                      &res, &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "more than one statement"));
    free(msg);
    /* A trailing semicolon or comment is one statement still. */
    assert_int_equal(run_ok(db, "SELECT 1; -- done\n", NULL, 0).rows, 1);
    assert_int_equal(run_ok(db, "SELECT 1 /* x */ ;", NULL, 0).rows, 1);
    assert_int_equal(plumb_sql_db_run(db, "  -- nothing\n", NULL, 0, &res,
                                      &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "no statement"));
    free(msg);
    /* A run-time error, after rows were read: nothing half-reported. */
    assert_int_equal(plumb_sql_db_run(db,
                                      "INSERT INTO book(id, author_id, title)"
                                      " VALUES (1, 1, 'dup')",
                                      NULL, 0, &res, &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "UNIQUE constraint failed"));
    free(msg);
    assert_int_equal(plumb_sql_db_exec(db, "CREATE INDEX i ON nope(x)", &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "no such table: main.nope"));
    assert_non_null(strstr(msg, "CREATE INDEX i ON nope(x)"));
    free(msg);
    /* A long statement is cut in the message. */
    char longsql[400];
    snprintf(longsql, sizeof longsql, "SELECT %0300d FROM nowhere", 7);
    assert_int_equal(plumb_sql_db_exec(db, longsql, &msg), PLUMB_EIO);
    assert_true(strlen(msg) < 200);
    assert_non_null(strstr(msg, "...: no such table: nowhere"));
    free(msg);
    assert_int_equal(plumb_sql_db_index_bytes(db, "nope", &bytes, &msg),
                     PLUMB_ENOTFOUND);
    assert_non_null(strstr(msg, "no index named nope"));
    free(msg);
    /* The scratch database keeps its own transaction, and a replay runs no
     * transaction control. */
    static const char *const boundaries[] = {
        "BEGIN", "begin immediate", "COMMIT", "END TRANSACTION", "ROLLBACK",
        "/* c */ Rollback Transaction", "ABORT", "START TRANSACTION",
        "PREPARE TRANSACTION 'x'",
    };
    for (size_t i = 0; i < sizeof boundaries / sizeof *boundaries; i++) {
        assert_int_equal(plumb_sql_db_exec(db, boundaries[i], &msg),
                         PLUMB_EINVAL);
        assert_non_null(strstr(msg, "keeps its own transaction"));
        free(msg);
        assert_int_equal(plumb_sql_db_run(db, boundaries[i], NULL, 0, &res,
                                          &msg),
                         PLUMB_EINVAL);
        free(msg);
    }
    assert_int_equal(plumb_sql_db_run(db, "SAVEPOINT x", NULL, 0, &res, &msg),
                     PLUMB_EINVAL);
    assert_non_null(strstr(msg, "transaction control is not replayed"));
    free(msg);
    exec_ok(db, "SAVEPOINT x");
    exec_ok(db, "ROLLBACK TRANSACTION TO SAVEPOINT x");
    exec_ok(db, "RELEASE x");
    /* Words that only look alike. */
    assert_int_equal(run_ok(db, "SELECT 1 AS \"begin\"", NULL, 0).rows, 1);
    assert_int_equal(plumb_sql_db_exec(NULL, "SELECT 1", &msg), PLUMB_EINVAL);
    free(msg);
    assert_int_equal(plumb_sql_db_run(db, NULL, NULL, 0, &res, &msg),
                     PLUMB_EINVAL);
    free(msg);
    assert_int_equal(plumb_sql_db_run(db, "SELECT ?", NULL, 1, &res, NULL),
                     PLUMB_EINVAL);
    /* No other file can be reached. */
    char attach[256], other[160];
    snprintf(other, sizeof other, "%s/other.db", fixture_dir);
    snprintf(attach, sizeof attach, "ATTACH DATABASE '%s' AS other", other);
    assert_int_equal(plumb_sql_db_run(db, attach, NULL, 0, &res, &msg),
                     PLUMB_EIO);
    free(msg);
    assert_int_equal(plumb_sql_db_exec(db, attach, &msg), PLUMB_EIO);
    free(msg);
    assert_int_equal(access(other, F_OK), -1);
    /* The session is still good. */
    assert_int_equal(run_ok(db, "SELECT 1", NULL, 0).rows, 1);
    plumb_sql_db_close(db);
}

/* No server listens on port 1 of the loopback: the connection fails at
 * once, and the message must not repeat the password. */
static void connection_failure_hides_the_password(void **state)
{
    (void)state;
    plumb_sql_db_t *db = NULL;
    char *msg = NULL;
    static const char *const targets[] = {
        "host=127.0.0.1 port=1 dbname=shop user=alice password=s3cr3t-pw "
        "connect_timeout=5",
        "postgresql://alice:s3cr3t-pw@127.0.0.1:1/shop?connect_timeout=5",
        /* Malformed targets, which libpq quotes back. */
        "postgresql://alice:s3cr3t-pw%zz@127.0.0.1:1/shop",
        "postgresql://alice:s3cr3t-pw@[::1/shop",
        "host=127.0.0.1 port=1 password = 's3cr3t-pw' sslmode=s3cr3t-pw",
    };
    for (size_t i = 0; i < sizeof targets / sizeof *targets; i++) {
        int err = plumb_sql_db_open(targets[i], &db, &msg);
        assert_null(db);
        assert_non_null(msg);
#ifdef PLUMB_HAVE_LIBPQ
        assert_int_equal(err, PLUMB_EIO);
        assert_non_null(strstr(msg, "cannot connect to PostgreSQL"));
        if (i < 2)
            assert_non_null(strstr(msg, "127.0.0.1"));
        else
            assert_non_null(strstr(msg, "***"));
#else
        assert_int_equal(err, PLUMB_EUNSUPPORTED);
#endif
        if (strstr(msg, "s3cr3t"))
            fail_msg("the password leaked: %s", msg);
        free(msg);
        msg = NULL;
    }
}

/* ---- the user's file ------------------------------------------------------ */

static const plumb_sql_value_t author5 = {PLUMB_SQL_INTEGER, 5, 0, NULL, 0,
                                          NULL};
static const plumb_sql_value_t author77 = {PLUMB_SQL_INTEGER, 77, 0, NULL, 0,
                                           NULL};

static const plumb_sql_call_t by_author[] = {
    {"SELECT id, title, price FROM book WHERE author_id = ?", &author5, 1},
    {"SELECT id, title, price FROM book WHERE author_id = ?", &author77, 1},
};

static char *index_columns[] = {"author_id"};
static plumb_sql_index_t author_index = {
    "book", index_columns, 1, "plumb_book_author_id",
    "CREATE INDEX \"plumb_book_author_id\" ON \"book\"(\"author_id\")"};

static void user_file_is_never_written(void **state)
{
    (void)state;
    char before[1024], after[1024];
    snapshot_t snap;
    snapshot_take(fixture_db, &snap);
    dir_listing(fixture_dir, before, sizeof before);

    plumb_sql_db_t *db = open_db(fixture_db);
    assert_int_equal(run_rows(db, "SELECT id FROM book WHERE id <= 100"), 100);
    exec_ok(db, "CREATE TABLE scratch(x); INSERT INTO scratch VALUES (1);"
                "UPDATE book SET title = 'changed' WHERE id < 1000;"
                "PRAGMA journal_mode = WAL; DELETE FROM author");
    plumb_sql_trial_t trial;
    char *msg = NULL;
    plumb_sql_trial_opts_t opts;
    plumb_sql_trial_opts_init(&opts);
    opts.rounds = 3;
    int err = plumb_sql_trial_run(db, &author_index, by_author, 2, NULL, 0,
                                  &opts, &trial, &msg);
    if (err)
        fail_msg("trial: %s", msg ? msg : plumb_strerror(err));
    plumb_sql_trial_close(&trial);
    /* Changes are seen by the copy, not by the file. */
    assert_int_equal(run_rows(db, "SELECT 1 FROM author"), 0);
    snapshot_same(fixture_db, &snap);
    plumb_sql_db_close(db);

    snapshot_same(fixture_db, &snap);
    assert_string_equal(dir_listing(fixture_dir, after, sizeof after), before);
    free(snap.bytes);
}

static void copy_is_private_and_removed(void **state)
{
    (void)state;
    char dir[64], listing[1024];
    const char *old = getenv("TMPDIR");
    char *saved = old ? strdup(old) : NULL;
    make_temp_dir(dir, sizeof dir);
    setenv("TMPDIR", dir, 1);

    plumb_sql_db_t *db = open_db(fixture_db);
    /* One file, readable by its owner alone. */
    dir_listing(dir, listing, sizeof listing);
    assert_int_equal(strncmp(listing, "plumb-sql-", 10), 0);
    assert_ptr_equal(strchr(listing, ' '), listing + strlen(listing) - 1);
    char copy[256];
    snprintf(copy, sizeof copy, "%s/%.*s", dir, (int)strlen(listing) - 1,
             listing);
    struct stat sb;
    assert_int_equal(stat(copy, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_true(sb.st_size >= 4096 * 100);

    /* A journal beside it while writing, in both journal modes. */
    exec_ok(db, "SAVEPOINT a; UPDATE book SET year = 0 WHERE id < 5000");
    exec_ok(db, "RELEASE a; PRAGMA journal_mode = WAL; SAVEPOINT b; DELETE "
                "FROM book WHERE id < 100");
    dir_listing(dir, listing, sizeof listing);
    assert_non_null(strstr(listing, "-wal"));
    plumb_sql_db_close(db);
    assert_string_equal(dir_listing(dir, listing, sizeof listing), "");

    /* And when the copy fails. */
    char bad[128];
    snprintf(bad, sizeof bad, "%s/../%s", dir, "no-such-dir/x.db");
    char *msg = NULL;
    assert_int_equal(plumb_sql_db_open(bad, &db, &msg), PLUMB_ENOTFOUND);
    free(msg);
    snprintf(bad, sizeof bad, "%s/junk", dir);
    FILE *f = fopen(bad, "w");
    assert_non_null(f);
    fputs("junk", f);
    fclose(f);
    assert_int_equal(plumb_sql_db_open(bad, &db, &msg), PLUMB_EIO);
    free(msg);
    assert_string_equal(dir_listing(dir, listing, sizeof listing), "junk ");

    if (saved)
        setenv("TMPDIR", saved, 1);
    else
        unsetenv("TMPDIR");
    free(saved);
    rm_rf(dir);
}

/* A WAL database with no connection open has no -wal file; a read-only
 * connection would leave -wal and -shm behind. One with a live writer has
 * committed rows in its -wal that the copy must hold. */
static void wal_database_is_left_alone(void **state)
{
    (void)state;
    char dir[64], path[128], wal[140], before[1024], after[1024];
    make_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/app.db", dir);
    snprintf(wal, sizeof wal, "%s-wal", path);
    sqlite3 *raw = raw_open(path);
    raw_exec(raw, "PRAGMA journal_mode = WAL; CREATE TABLE t(a, b);"
                  "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 "
                  "FROM n WHERE i < 5000) INSERT INTO t SELECT i, hex(i) "
                  "FROM n;");
    sqlite3_close(raw);
    assert_string_equal(dir_listing(dir, before, sizeof before), "app.db ");

    snapshot_t snap, snap_wal;
    snapshot_take(path, &snap);
    plumb_sql_db_t *db = open_db(path);
    assert_string_equal(dir_listing(dir, after, sizeof after), "app.db ");
    assert_int_equal(run_rows(db, "SELECT a FROM t"), 5000);
    exec_ok(db, "INSERT INTO t VALUES (0, 0)");
    plumb_sql_db_close(db);
    assert_string_equal(dir_listing(dir, after, sizeof after), "app.db ");
    snapshot_same(path, &snap);
    free(snap.bytes);

    /* A writer keeps its commits in the -wal file. */
    raw = raw_open(path);
    raw_exec(raw, "PRAGMA wal_autocheckpoint = 0;"
                  "INSERT INTO t SELECT a + 5000, b FROM t;");
    assert_string_equal(dir_listing(dir, before, sizeof before),
                        "app.db app.db-shm app.db-wal ");
    snapshot_take(path, &snap);
    snapshot_take(wal, &snap_wal);
    assert_true(snap_wal.len > 0);
    db = open_db(path);
    assert_int_equal(run_rows(db, "SELECT a FROM t"), 10000);
    exec_ok(db, "DELETE FROM t");
    plumb_sql_db_close(db);
    snapshot_same(path, &snap);
    snapshot_same(wal, &snap_wal);
    assert_string_equal(dir_listing(dir, after, sizeof after), before);
    assert_int_equal(raw_int(raw, "SELECT count(*) FROM t"), 10000);
    sqlite3_close(raw);
    free(snap.bytes);
    free(snap_wal.bytes);
    rm_rf(dir);
}

/* ---- index size ----------------------------------------------------------- */

static void index_bytes_agree_two_ways(void **state)
{
    (void)state;
    plumb_sql_db_t *db = open_db(fixture_db);
    int64_t by_dbstat = 0, by_drop = 0, again = 0;
    char *msg = NULL;
    exec_ok(db, "CREATE INDEX ix_author ON book(author_id)");
    exec_ok(db, "CREATE INDEX ix_title ON book(title, year)");
    assert_int_equal(plumb_sql_db_index_bytes(db, "ix_author", &by_dbstat,
                                              &msg),
                     0);
    assert_int_equal(plumb__sql_sqlite_index_bytes_by_drop(db, "ix_author",
                                                           &by_drop, &msg),
                     0);
    /* 120 000 entries of two integers: several bytes each, in 4 KiB
     * pages. */
    assert_true(by_dbstat > (int64_t)BOOKS * 4);
    assert_true(by_dbstat % 4096 == 0);
    assert_true(by_drop == by_dbstat);
    /* The drop was rolled back: the index is there still. */
    assert_int_equal(plumb_sql_db_index_bytes(db, "IX_AUTHOR", &again, &msg),
                     0);
    assert_true(again == by_dbstat);
    int64_t title = 0, title_drop = 0;
    assert_int_equal(plumb_sql_db_index_bytes(db, "ix_title", &title, &msg),
                     0);
    assert_int_equal(plumb__sql_sqlite_index_bytes_by_drop(db, "ix_title",
                                                           &title_drop, &msg),
                     0);
    assert_true(title == title_drop);
    assert_true(title > by_dbstat); /* longer keys */
    assert_int_equal(plumb__sql_sqlite_index_bytes_by_drop(db, "nope", &again,
                                                           &msg),
                     PLUMB_ENOTFOUND);
    free(msg);
    plumb_sql_db_close(db);
}

/* ---- index trials --------------------------------------------------------- */

static void trial_ok(plumb_sql_db_t *db, const plumb_sql_index_t *index,
                     const plumb_sql_call_t *reads, size_t n_reads,
                     const plumb_sql_call_t *writes, size_t n_writes,
                     const plumb_sql_trial_opts_t *opts,
                     plumb_sql_trial_t *out)
{
    char *msg = NULL;
    int err = plumb_sql_trial_run(db, index, reads, n_reads, writes, n_writes,
                                  opts, out, &msg);
    if (err)
        fail_msg("trial of %s: %s", index->name,
                 msg ? msg : plumb_strerror(err));
    assert_null(msg);
}

/* What SQLite's schema and statistics hold, as one digest. */
static uint64_t schema_digest(plumb_sql_db_t *db)
{
    uint64_t d = run_ok(db, "SELECT type, name, tbl_name, sql FROM "
                            "sqlite_master", NULL, 0).digest;
    plumb_sql_result_t stat;
    char *msg = NULL;
    if (plumb_sql_db_run(db, "SELECT * FROM sqlite_stat1", NULL, 0, &stat,
                         &msg) == 0)
        d ^= stat.digest * 3;
    free(msg);
    return d;
}

static void trial_of_a_useful_index(void **state)
{
    (void)state;
    plumb_sql_db_t *db = open_db(fixture_db);
    uint64_t schema = schema_digest(db);
    plumb_sql_trial_t t;
    trial_ok(db, &author_index, by_author, 2, NULL, 0, NULL, &t);

    print_message("      useful index: %.0f ns a round before, %.0f after: "
                  "%.0fx faster (95%% CI %.0f-%.0f), p = %.2g\n",
                  t.before_round_ns, t.after_round_ns, t.reads.ratio,
                  t.reads.ci_low, t.reads.ci_high, t.reads.p_value);
    assert_true(t.reads.ratio >= 10);
    assert_true(t.before_round_ns / t.after_round_ns >= 10);
    assert_int_equal(t.reads.verdict, PLUMB_VERDICT_LOWER);
    assert_int_equal(t.reads.metric, PLUMB_METRIC_WALL);
    assert_int_equal(t.same_results, 1);
    assert_int_equal(t.scan_removed, 1);
    assert_string_equal(t.plan_before, "SCAN book");
    assert_string_equal(t.plan_after, "SEARCH book USING INDEX "
                                      "plumb_book_author_id (author_id=?)");
    assert_true(t.index_bytes > (int64_t)BOOKS * 4);
    assert_int_equal(t.has_writes, 0);
    plumb_sql_trial_close(&t);
    assert_null(t.plan_before);
    plumb_sql_trial_close(NULL);

    /* The index and the statistics are gone again. */
    assert_true(schema_digest(db) == schema);
    plumb_sql_plan_t plan;
    char *text = explain_text(db, by_author[0].sql, &plan);
    assert_string_equal(text, "SCAN book");
    free(text);
    plumb_sql_plan_close(&plan);
    plumb_sql_db_close(db);
}

/* SQLite 3.36 and later print an aliased table by its alias alone: the
 * step that uses the index tells which name is the index's table. */
static void trial_sees_through_aliases(void **state)
{
    (void)state;
    plumb_sql_db_t *db = open_db(fixture_db);
    const plumb_sql_call_t joined[] = {
        {"SELECT b.title, a.name FROM book AS b JOIN author a ON a.id = "
         "b.author_id WHERE b.author_id = ?",
         &author5, 1}};
    plumb_sql_trial_opts_t opts;
    plumb_sql_trial_opts_init(&opts);
    opts.rounds = 3;
    plumb_sql_trial_t t;
    trial_ok(db, &author_index, joined, 1, NULL, 0, &opts, &t);
    print_message("      %s -> %s\n", t.plan_before, t.plan_after);
    assert_non_null(strstr(t.plan_before, "SCAN "));
    assert_null(strstr(t.plan_after, "SCAN "));
    assert_int_equal(t.scan_removed, 1);
    assert_int_equal(t.same_results, 1);
    plumb_sql_trial_close(&t);

    /* An index of the other table in the join removes no scan of book. */
    static char *name_column[] = {"name"};
    plumb_sql_index_t by_name = {"author", name_column, 1, "plumb_author_name",
                                 "CREATE INDEX plumb_author_name ON "
                                 "author(name)"};
    trial_ok(db, &by_name, joined, 1, NULL, 0, &opts, &t);
    assert_int_equal(t.scan_removed, 0);
    plumb_sql_trial_close(&t);
    plumb_sql_db_close(db);
}

static void trial_of_a_useless_index(void **state)
{
    (void)state;
    plumb_sql_db_t *db = open_db(fixture_db);
    static char *year[] = {"year"};
    plumb_sql_index_t by_year = {"book", year, 1, "plumb_book_year",
                                 "CREATE INDEX plumb_book_year ON book(year)"};
    plumb_sql_trial_t t;
    trial_ok(db, &by_year, by_author, 2, NULL, 0, NULL, &t);
    print_message("      useless index: %.0f ns a round before, %.0f after "
                  "(ratio %.2f)\n",
                  t.before_round_ns, t.after_round_ns, t.reads.ratio);
    assert_int_equal(t.scan_removed, 0);
    assert_int_equal(t.same_results, 1);
    assert_string_equal(t.plan_before, t.plan_after);
    /* The same scan both times: nothing like the useful index's change
     * either way. A wide band, for a machine shared with other work. */
    assert_true(t.reads.ratio > 0.2 && t.reads.ratio < 5);
    assert_true(t.index_bytes > 0);
    plumb_sql_trial_close(&t);
    plumb_sql_db_close(db);
}

static void trial_measures_writes_and_undoes_them(void **state)
{
    (void)state;
    plumb_sql_db_t *db = open_db(fixture_db);
    static const plumb_sql_value_t insert_values[] = {
        {PLUMB_SQL_INTEGER, 5, 0, NULL, 0, NULL},
        {PLUMB_SQL_TEXT, 0, 0, "a new book", 10, NULL},
        {PLUMB_SQL_INTEGER, 2024, 0, NULL, 0, NULL},
        {PLUMB_SQL_REAL, 0, 9.5, NULL, 0, NULL},
    };
    static const plumb_sql_value_t update_values[] = {
        {PLUMB_SQL_INTEGER, 77, 0, NULL, 0, NULL},
        {PLUMB_SQL_INTEGER, 1000, 0, NULL, 0, NULL},
    };
    const plumb_sql_call_t writes[] = {
        {"INSERT INTO book(author_id, title, year, price) VALUES (?, ?, ?, ?)",
         insert_values, 4},
        {"UPDATE book SET author_id = ? WHERE id = ?", update_values, 2},
    };
    const char *all = "SELECT * FROM book";
    plumb_sql_result_t before = run_ok(db, all, NULL, 0);
    plumb_sql_trial_t t;
    trial_ok(db, &author_index, by_author, 2, writes, 2, NULL, &t);
    assert_int_equal(t.has_writes, 1);
    assert_int_equal(t.writes.metric, PLUMB_METRIC_WALL);
    assert_true(t.writes.baseline_median > 0);
    assert_true(t.writes.candidate_median > 0);
    assert_true(t.writes.ratio > 0);
    /* The writes did not change what the reads saw, and are undone. */
    assert_int_equal(t.same_results, 1);
    plumb_sql_result_t after = run_ok(db, all, NULL, 0);
    assert_int_equal(after.rows, before.rows);
    assert_true(after.digest == before.digest);
    plumb_sql_trial_close(&t);
    plumb_sql_db_close(db);
}

/* With no time to spare a side gets 3 rounds: against a complete
 * separation of 3 and 3 values, the exact two-sided p-value is
 * 2 / C(6, 3) = 0.1. Under 3 rounds asked, as many as asked: 2 and 2 give
 * 2 / C(4, 2). */
static void trial_rounds_stop_at_the_time_limit(void **state)
{
    (void)state;
    plumb_sql_db_t *db = open_db(fixture_db);
    plumb_sql_trial_opts_t opts;
    plumb_sql_trial_t t;
    plumb_sql_trial_opts_init(&opts);
    assert_int_equal(opts.rounds, 7);
    assert_true(opts.max_round_ns == INT64_C(2000000000));
    assert_true(opts.compare.alpha == 0.05);
    opts.rounds = 1000;
    opts.max_round_ns = 0;
    trial_ok(db, &author_index, by_author, 1, NULL, 0, &opts, &t);
    assert_int_equal(t.reads.exact, 1);
    assert_true(fabs(t.reads.p_value - 0.1) < 1e-12);
    /* The 3 rounds gave no significant verdict, though 10x apart. */
    assert_int_equal(t.reads.verdict, PLUMB_VERDICT_SAME);
    plumb_sql_trial_close(&t);

    opts.rounds = 2;
    opts.max_round_ns = INT64_C(1000000000000);
    trial_ok(db, &author_index, by_author, 1, NULL, 0, &opts, &t);
    assert_true(fabs(t.reads.p_value - 2.0 / 6) < 1e-12);
    plumb_sql_trial_close(&t);
    plumb_sql_db_close(db);
}

static void trial_failures_leave_the_database_as_it_was(void **state)
{
    (void)state;
    plumb_sql_db_t *db = open_db(fixture_db);
    exec_ok(db, "CREATE INDEX users_own ON book(title)");
    uint64_t schema = schema_digest(db);
    plumb_sql_trial_t t;
    char *msg = NULL;

    /* A column the table lacks. */
    static char *nope[] = {"nope"};
    plumb_sql_index_t bad = {"book", nope, 1, "plumb_book_nope",
                             "CREATE INDEX plumb_book_nope ON book(nope)"};
    assert_int_equal(plumb_sql_trial_run(db, &bad, by_author, 2, NULL, 0, NULL,
                                         &t, &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "cannot create the index"));
    assert_non_null(strstr(msg, "no such column: nope"));
    assert_null(t.plan_before);
    assert_null(t.plan_after);
    free(msg);
    assert_true(schema_digest(db) == schema);

    /* The name of an index the user has: it must not be dropped. */
    plumb_sql_index_t clash = {"book", nope, 1, "users_own",
                               "CREATE INDEX users_own ON book(author_id)"};
    assert_int_equal(plumb_sql_trial_run(db, &clash, by_author, 2, NULL, 0,
                                         NULL, &t, &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "already exists"));
    free(msg);
    assert_true(schema_digest(db) == schema);

    /* A read that fails, and a write that fails. */
    const plumb_sql_call_t broken[] = {
        by_author[0], {"SELECT missing FROM book", NULL, 0}};
    assert_int_equal(plumb_sql_trial_run(db, &author_index, broken, 2, NULL, 0,
                                         NULL, &t, &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "read 2: "));
    assert_non_null(strstr(msg, "no such column: missing"));
    free(msg);
    assert_true(schema_digest(db) == schema);
    const plumb_sql_call_t bad_write[] = {
        {"INSERT INTO book(id, author_id, title) VALUES (1, 1, 'x')", NULL,
         0}};
    assert_int_equal(plumb_sql_trial_run(db, &author_index, by_author, 1,
                                         bad_write, 1, NULL, &t, &msg),
                     PLUMB_EIO);
    assert_non_null(strstr(msg, "write 1: "));
    free(msg);
    assert_true(schema_digest(db) == schema);

    /* Arguments. */
    plumb_sql_trial_opts_t opts;
    plumb_sql_trial_opts_init(&opts);
    opts.rounds = 1;
    assert_int_equal(plumb_sql_trial_run(db, &author_index, by_author, 1, NULL,
                                         0, &opts, &t, &msg),
                     PLUMB_EINVAL);
    free(msg);
    assert_int_equal(plumb_sql_trial_run(db, &author_index, by_author, 0, NULL,
                                         0, NULL, &t, &msg),
                     PLUMB_EINVAL);
    free(msg);
    assert_int_equal(plumb_sql_trial_run(db, NULL, by_author, 1, NULL, 0, NULL,
                                         &t, &msg),
                     PLUMB_EINVAL);
    free(msg);
    assert_int_equal(plumb_sql_trial_run(db, &author_index, by_author, 1, NULL,
                                         1, NULL, &t, NULL),
                     PLUMB_EINVAL);

    /* The database still works, with its own index. */
    assert_int_equal(run_ok(db, by_author[0].sql, &author5, 1).rows,
                     run_rows(db, "SELECT 1 FROM book WHERE author_id = 5"));
    assert_true(schema_digest(db) == schema);
    plumb_sql_db_close(db);
}

/* ---- helpers of sql_db.c ------------------------------------------------- */

static void snippets_and_quoted_names(void **state)
{
    (void)state;
    char buf[PLUMB__SQL_SNIPPET];
    assert_string_equal(plumb__sql_snippet("  SELECT\n\t1   FROM  t ", buf),
                        "SELECT 1 FROM t");
    char longer[300];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    plumb__sql_snippet(longer, buf);
    assert_int_equal(strlen(buf), 103);
    assert_string_equal(buf + 100, "...");
    /* Not cut inside a UTF-8 character: 99 x then an e-acute. */
    char utf8[300];
    memset(utf8, 'x', 99);
    strcpy(utf8 + 99, "\xc3\xa9 and more");
    plumb__sql_snippet(utf8, buf);
    assert_int_equal(strlen(buf), 102);
    assert_string_equal(buf + 99, "...");

    char *q = plumb__sql_quote_ident("book");
    assert_string_equal(q, "\"book\"");
    free(q);
    q = plumb__sql_quote_ident("we\"ird");
    assert_string_equal(q, "\"we\"\"ird\"");
    free(q);
    q = plumb__sql_quote_ident("shop.book");
    assert_string_equal(q, "\"shop\".\"book\"");
    free(q);
    assert_int_equal(plumb__sql_has_more(" ; -- x\n /* y */ ;"), 0);
    assert_int_equal(plumb__sql_has_more("/* open"), 0);
    assert_int_equal(plumb__sql_has_more("; SELECT 2"), 1);
    assert_int_equal(plumb__sql_has_more(NULL), 0);
}

int test_sql_db_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plan_sqlite_current_wording),
        cmocka_unit_test(plan_sqlite_old_wording),
        cmocka_unit_test(plan_text_and_null_arguments),
        cmocka_unit_test(plan_pg_sort_over_scan),
        cmocka_unit_test(plan_pg_index_and_bitmap_nodes),
        cmocka_unit_test(plan_pg_refuses_other_documents),
        cmocka_unit_test(plan_from_this_sqlite),
        cmocka_unit_test(run_digest_is_of_the_rows_in_any_order),
        cmocka_unit_test(run_binds_by_position_and_by_name),
        cmocka_unit_test(run_counts_rows_changed),
        cmocka_unit_test(open_refuses_what_is_not_a_file),
        cmocka_unit_test(open_takes_a_file_uri),
        cmocka_unit_test(statements_that_fail_say_why),
        cmocka_unit_test(connection_failure_hides_the_password),
        cmocka_unit_test(user_file_is_never_written),
        cmocka_unit_test(copy_is_private_and_removed),
        cmocka_unit_test(wal_database_is_left_alone),
        cmocka_unit_test(index_bytes_agree_two_ways),
        cmocka_unit_test(trial_of_a_useful_index),
        cmocka_unit_test(trial_sees_through_aliases),
        cmocka_unit_test(trial_of_a_useless_index),
        cmocka_unit_test(trial_measures_writes_and_undoes_them),
        cmocka_unit_test(trial_rounds_stop_at_the_time_limit),
        cmocka_unit_test(trial_failures_leave_the_database_as_it_was),
        cmocka_unit_test(snippets_and_quoted_names),
    };
    return cmocka_run_group_tests_name("sql_db", tests, group_setup,
                                       group_teardown);
}
