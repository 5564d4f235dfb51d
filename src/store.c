/* store.c: the SQLite store. It owns the store file: opening (and refusing
 * files that are not plumb's), the schema and its migrations, saving a
 * session whole in one transaction, loading one run back, finding the
 * newest run of a name and listing the history. Sampled profiles and
 * memory profiles are kept by store_profile.c and store_mem.c through what
 * the end of this file lends them (store.h). It does not decide which file
 * to use beyond the default path (the CLI's --store does) and it does not
 * interpret what it keeps: statistics are analysis's business, rendering
 * report's. */
#include "store.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#define STORE_DEFAULT_PATH ".plumb/plumb.db"
#define STORE_BUSY_TIMEOUT_MS 5000

/* PRAGMA application_id of a plumb store: "plmb" in ASCII. It is how a plumb
 * store is told apart from someone else's SQLite file before touching it. */
#define STORE_APPLICATION_ID 1886154082
#define STORE_STR_(x) #x
#define STORE_STR(x) STORE_STR_(x)

#if defined(__GNUC__)
#define STORE_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define STORE_PRINTF(fmt, args)
#endif

/* The migrations: migrations[i] takes a store from schema version i to
 * i + 1, and each runs in its own transaction together with the bump of
 * PRAGMA user_version. A migration is history: once released its text never
 * changes, even when the metric table does. A new metric gets a new
 * migration (ALTER TABLE samples ADD COLUMN ...) and a line in
 * schema_metric_columns below. */
static const char *const migrations[] = {
    /* v1: the base schema. */
    "PRAGMA application_id = " STORE_STR(STORE_APPLICATION_ID) ";"
    "CREATE TABLE sessions ("
    "  id INTEGER PRIMARY KEY,"
    "  created_ns INTEGER NOT NULL,"
    "  host TEXT NOT NULL,"
    "  kernel TEXT NOT NULL,"
    "  cpu_model TEXT NOT NULL,"
    "  cpus INTEGER NOT NULL,"
    "  load_avg1 REAL NOT NULL,"         /* -1: unknown */
    "  governor TEXT NOT NULL,"
    "  plumb_version TEXT NOT NULL,"
    "  invocation TEXT,"
    "  git_commit TEXT,"
    "  scan_param TEXT,"
    "  counters TEXT,"
    "  partial INTEGER NOT NULL,"
    "  seed INTEGER NOT NULL,"           /* the uint64's bits, as int64 */
    "  overhead_ns INTEGER NOT NULL"
    ");"
    "CREATE TABLE runs ("
    "  id INTEGER PRIMARY KEY,"
    "  session_id INTEGER NOT NULL"
    "    REFERENCES sessions(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"            /* position in the session */
    "  name TEXT NOT NULL,"
    "  command TEXT NOT NULL,"
    "  python TEXT,"
    "  shell INTEGER NOT NULL,"
    "  shell_overhead_ns INTEGER NOT NULL,"
    "  baseline INTEGER,"                /* an idx of the session; NULL */
    "  series INTEGER NOT NULL,"
    "  x REAL,"                          /* NULL: no scanned value */
    "  n_samples INTEGER NOT NULL,"
    "  median_wall_ns REAL"              /* NULL: no wall time measured */
    ");"
    "CREATE UNIQUE INDEX runs_by_session ON runs(session_id, idx);"
    "CREATE TABLE run_params ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  name TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  PRIMARY KEY (run_id, idx)"
    ");"
    "CREATE TABLE samples ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  iter INTEGER NOT NULL,"
    /* One column per metric, NULL when unavailable. */
    "  wall_ns INTEGER,"
    "  user_ns INTEGER,"
    "  sys_ns INTEGER,"
    "  cpu_ns INTEGER,"
    "  max_rss_bytes INTEGER,"
    "  minor_faults INTEGER,"
    "  major_faults INTEGER,"
    "  voluntary_ctxsw INTEGER,"
    "  involuntary_ctxsw INTEGER,"
    "  rchar_bytes INTEGER,"
    "  wchar_bytes INTEGER,"
    "  storage_read_bytes INTEGER,"
    "  storage_write_bytes INTEGER,"
    "  read_syscalls INTEGER,"
    "  write_syscalls INTEGER,"
    "  instructions INTEGER,"
    "  cycles INTEGER,"
    "  exit_code INTEGER NOT NULL,"
    "  term_signal INTEGER NOT NULL,"
    "  timed_out INTEGER NOT NULL"
    ");"
    "CREATE UNIQUE INDEX samples_by_run ON samples(run_id, iter);",
    /* v2: profiles. A profile is a session with one run of kind 'profile',
     * its header in `profiles` and its aggregated stacks, one row per
     * distinct stack (never one per raw sample), in `profile_stacks`. */
    "ALTER TABLE runs ADD COLUMN kind TEXT NOT NULL DEFAULT 'bench';"
    "CREATE TABLE profiles ("
    "  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
    "  pid INTEGER NOT NULL,"
    "  python TEXT NOT NULL,"
    "  mode TEXT NOT NULL,"                /* 'cpu' or 'wall' */
    "  rate_hz REAL NOT NULL,"             /* asked for */
    "  achieved_hz REAL NOT NULL,"
    "  duration_ns INTEGER NOT NULL,"
    "  samples INTEGER NOT NULL,"
    "  dropped INTEGER NOT NULL,"
    "  thread_samples INTEGER NOT NULL,"
    "  idle INTEGER NOT NULL,"
    "  threads_seen INTEGER NOT NULL,"
    "  exit_status INTEGER NOT NULL,"     /* -1: signalled, or attached */
    "  exit_signal INTEGER NOT NULL,"     /* 0: none */
    "  processes INTEGER NOT NULL"        /* the target and its children */
    ");"
    "CREATE TABLE profile_threads ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  label TEXT NOT NULL,"
    "  stacks INTEGER NOT NULL,"
    "  gil_ticks INTEGER NOT NULL,"
    "  gil_known INTEGER NOT NULL,"
    "  PRIMARY KEY (run_id, idx)"
    ");"
    "CREATE TABLE profile_stacks ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  thread TEXT NOT NULL,"
    "  stack TEXT NOT NULL,"               /* 'outer;...;inner' as collapsed
                                              stacks write it; '' none */
    "  count INTEGER NOT NULL"
    ");"
    "CREATE INDEX profile_stacks_by_run ON profile_stacks(run_id);",
    /* v3: runs of an in-process timing loop (plumb.bench, the pytest
     * fixture), of kind 'loop': the calls each of their samples times
     * (wall_ns is the time of all of them); NULL for the other kinds. Runs
     * are looked up by name to find a test's previous result. */
    "ALTER TABLE runs ADD COLUMN loops INTEGER;"
    "CREATE INDEX runs_by_name ON runs(name, id);",
    /* v4: memory profiles (plumb mem). A memory profile is a session with
     * one run of kind 'mem', its header in `mem_profiles`, its timeline in
     * `mem_timeline` and its three aggregates in `mem_stacks`: one row per
     * distinct stack with the bytes it held at the peak, allocated, and
     * held at the end (0 where a stack is not in an aggregate). Unsigned
     * figures are kept as their int64 values. */
    "CREATE TABLE mem_profiles ("
    "  run_id INTEGER PRIMARY KEY REFERENCES runs(id) ON DELETE CASCADE,"
    "  pid INTEGER NOT NULL,"
    "  python TEXT NOT NULL,"
    "  mean_bytes INTEGER NOT NULL,"
    "  native INTEGER NOT NULL,"
    "  duration_ns INTEGER NOT NULL,"
    "  allocated_bytes INTEGER NOT NULL,"  /* exact */
    "  allocations INTEGER NOT NULL,"      /* exact */
    "  samples INTEGER NOT NULL,"
    "  peak_bytes INTEGER NOT NULL,"       /* estimated */
    "  peak_ns INTEGER NOT NULL,"
    "  end_bytes INTEGER NOT NULL,"        /* estimated */
    "  start_rss_bytes INTEGER NOT NULL,"  /* 0: unknown */
    "  peak_rss_bytes INTEGER NOT NULL,"   /* 0: unknown */
    "  timeline_step_ns INTEGER NOT NULL,"
    "  complete INTEGER NOT NULL,"         /* 0: died; its last snapshot */
    "  exit_status INTEGER NOT NULL,"      /* -1: signalled, or unknown */
    "  exit_signal INTEGER NOT NULL"       /* 0: none */
    ");"
    "CREATE TABLE mem_timeline ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  t_ns INTEGER NOT NULL,"
    "  heap_bytes INTEGER NOT NULL,"
    "  rss_bytes INTEGER NOT NULL,"
    "  PRIMARY KEY (run_id, idx)"
    ");"
    "CREATE TABLE mem_stacks ("
    "  run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    "  thread TEXT NOT NULL,"
    "  stack TEXT NOT NULL,"               /* as in profile_stacks */
    "  peak_bytes INTEGER NOT NULL,"
    "  allocated_bytes INTEGER NOT NULL,"
    "  end_bytes INTEGER NOT NULL"
    ");"
    "CREATE INDEX mem_stacks_by_run ON mem_stacks(run_id);",
};

#define STORE_SCHEMA_VERSION ((int)(sizeof migrations / sizeof *migrations))

/* Every metric column the migrations above give `samples`. Samples are
 * written and read by plumb_metric_key(), so a metric missing here (or in
 * the migrations: the store tests compare the real table with the metric
 * table) would be lost; the open check below refuses to run like that. */
static const char *const schema_metric_columns[] = {
    "wall_ns",           "user_ns",           "sys_ns",
    "cpu_ns",            "max_rss_bytes",     "minor_faults",
    "major_faults",      "voluntary_ctxsw",   "involuntary_ctxsw",
    "rchar_bytes",       "wchar_bytes",       "storage_read_bytes",
    "storage_write_bytes", "read_syscalls",   "write_syscalls",
    "instructions",      "cycles",
};

_Static_assert(sizeof schema_metric_columns / sizeof *schema_metric_columns
                   >= PLUMB_METRIC_COUNT,
               "a new metric needs a store migration adding its column");

struct plumb_store {
    sqlite3 *db;        /* NULL when opening failed */
    char *path;
    int schema_version; /* after migration; the newer one when refused */
    char errmsg[4608];  /* room for a PATH_MAX path and a sentence */
};

const char *plumb_store_default_path(const char *path)
{
    if (path && *path)
        return path;
    const char *env = getenv("PLUMB_STORE");
    if (env && *env)
        return env;
    return STORE_DEFAULT_PATH;
}

STORE_PRINTF(3, 4)
static int fail(plumb_store_t *st, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(st->errmsg, sizeof st->errmsg, fmt, ap);
    va_end(ap);
    return err;
}

/* The error SQLite just reported, said as "PATH: what: SQLite's words".
 * Must be called before any other SQLite call replaces that error. */
STORE_PRINTF(2, 3)
static int fail_sqlite(plumb_store_t *st, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    int rc = sqlite3_errcode(st->db);
    fail(st, 0, "%s: %s: %s", st->path, what, sqlite3_errmsg(st->db));
    return rc == SQLITE_NOMEM ? PLUMB_ENOMEM : PLUMB_ESTORE;
}

static void errno_text(int errnum, char *buf, size_t size)
{
    /* The XSI strerror_r: thread-safe, unlike strerror. */
    if (strerror_r(errnum, buf, size) != 0)
        snprintf(buf, size, "error %d", errnum);
}

/* mkdir -p of the directory holding st->path. */
static int make_parent_dirs(plumb_store_t *st)
{
    int err = 0;
    char *dir = strdup(st->path);
    if (!dir)
        return fail(st, PLUMB_ENOMEM, "out of memory");
    char *slash = strrchr(dir, '/');
    if (!slash || slash == dir)
        goto out; /* in the working directory, or in / */
    *slash = '\0';
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char saved = *p;
        *p = '\0';
        struct stat sb;
        if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
            char why[128];
            errno_text(errno, why, sizeof why);
            err = fail(st, PLUMB_ESTORE,
                       "cannot create directory %s for the store %s: %s",
                       dir, st->path, why);
            goto out;
        }
        if (stat(dir, &sb) == 0 && !S_ISDIR(sb.st_mode)) {
            err = fail(st, PLUMB_ESTORE,
                       "cannot create directory %s for the store %s: a file "
                       "of that name is in the way",
                       dir, st->path);
            goto out;
        }
        if (saved == '\0')
            break;
        *p = saved;
    }
out:
    free(dir);
    return err;
}

/* Runs SQL that returns one integer. Returns SQLite's code, so that the
 * caller can tell "not a database" from other failures. */
static int query_int(sqlite3 *db, const char *sql, int64_t *value)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK)
        goto out;
    rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW) {
        *value = sqlite3_column_int64(stmt, 0);
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_ERROR; /* no row: not the query we thought */
    }
out:
    /* finalize would report the step's error again; keep the first one. */
    if (rc != SQLITE_OK)
        rc = sqlite3_errcode(db);
    sqlite3_finalize(stmt);
    return rc;
}

static int exec(plumb_store_t *st, const char *sql)
{
    return sqlite3_exec(st->db, sql, NULL, NULL, NULL);
}

/* Undoes the open transaction, if SQLite has not already done so itself
 * (it does after some errors, such as a full disk). */
static void rollback(plumb_store_t *st)
{
    if (!sqlite3_get_autocommit(st->db))
        exec(st, "ROLLBACK");
}

/* Is this file a plumb store, an empty file to become one, or neither? Only
 * reads: a file that is not ours must be left exactly as it was. */
static int store_identify(plumb_store_t *st)
{
    int64_t app_id = 0, version = 0, n_objects = 0;
    int rc = query_int(st->db, "PRAGMA application_id", &app_id);
    if (rc == SQLITE_OK)
        rc = query_int(st->db, "PRAGMA user_version", &version);
    if (rc == SQLITE_OK)
        rc = query_int(st->db, "SELECT count(*) FROM sqlite_master",
                       &n_objects);
    if (rc == SQLITE_NOTADB)
        return fail(st, PLUMB_ESTORE,
                    "%s is not a plumb store: it is not a SQLite database; "
                    "use --store to pick another file",
                    st->path);
    if (rc != SQLITE_OK)
        return fail_sqlite(st, "cannot read the store");
    /* Ours, or blank: SQLite's own defaults and nothing in it. Anything
     * else (even an empty schema with a version set) belongs to someone. */
    int blank = app_id == 0 && version == 0 && n_objects == 0;
    if (app_id != STORE_APPLICATION_ID && !blank)
        return fail(st, PLUMB_ESTORE,
                    "%s is not a plumb store: it is a SQLite database of "
                    "%s; use --store to pick another file",
                    st->path,
                    app_id || n_objects == 0
                        ? "another application"
                        : "other tables, without plumb's schema");
    if (version < 0)
        return fail(st, PLUMB_ESTORE,
                    "%s is damaged: its schema version is %lld", st->path,
                    (long long)version);
    st->schema_version = (int)version;
    if (version > STORE_SCHEMA_VERSION)
        return fail(st, PLUMB_ESCHEMA,
                    "%s was written by a newer plumb (schema %lld, this "
                    "plumb knows up to %d); upgrade plumb or use --store to "
                    "pick another file",
                    st->path, (long long)version, STORE_SCHEMA_VERSION);
    return 0;
}

/* Applies the next migration the store needs, in its own transaction.
 * The version is read again inside the transaction: another plumb may have
 * migrated the file since we looked. *done is set when none is left. */
static int migrate_one(plumb_store_t *st, int *done)
{
    int64_t version = 0;
    int err = 0, rc;
    char bump[64];
    if (exec(st, "BEGIN IMMEDIATE") != SQLITE_OK)
        return fail_sqlite(st, "cannot migrate the store");
    rc = query_int(st->db, "PRAGMA user_version", &version);
    if (rc != SQLITE_OK) {
        err = fail_sqlite(st, "cannot read the schema version");
        goto out;
    }
    st->schema_version = (int)version;
    if (version >= STORE_SCHEMA_VERSION) {
        *done = 1;
        if (version > STORE_SCHEMA_VERSION)
            err = fail(st, PLUMB_ESCHEMA,
                       "%s was written by a newer plumb (schema %lld, this "
                       "plumb knows up to %d); upgrade plumb or use --store "
                       "to pick another file",
                       st->path, (long long)version, STORE_SCHEMA_VERSION);
        goto out;
    }
    snprintf(bump, sizeof bump, "PRAGMA user_version = %d",
             (int)version + 1);
    if (exec(st, migrations[version]) != SQLITE_OK ||
        exec(st, bump) != SQLITE_OK || exec(st, "COMMIT") != SQLITE_OK) {
        err = fail_sqlite(st, "cannot migrate the store to schema %d",
                          (int)version + 1);
        goto out;
    }
    st->schema_version = (int)version + 1;
out:
    rollback(st); /* after COMMIT, nothing is left to roll back */
    return err;
}

/* Samples are written and read by metric key; refuse to run with a metric
 * the schema has no column for rather than drop its values. */
static int check_metric_columns(plumb_store_t *st)
{
    size_t n_columns = sizeof schema_metric_columns /
                       sizeof *schema_metric_columns;
    for (int m = 0; m < PLUMB_METRIC_COUNT; m++) {
        const char *key = plumb_metric_key(m);
        size_t c = 0;
        while (c < n_columns && strcmp(schema_metric_columns[c], key) != 0)
            c++;
        if (c == n_columns)
            return fail(st, PLUMB_ESTORE,
                        "this plumb has no store column for the metric %s "
                        "(a store migration is missing)",
                        key);
    }
    return 0;
}

int plumb_store_open(const char *path, plumb_store_t **out)
{
    int err = 0;
    if (!out)
        return PLUMB_EINVAL;
    plumb_store_t *st = *out = calloc(1, sizeof *st);
    if (!st)
        return PLUMB_ENOMEM;
    if (!path || !*path) {
        err = fail(st, PLUMB_EINVAL, "no store path given");
        goto out;
    }
    if (!(st->path = strdup(path))) {
        err = fail(st, PLUMB_ENOMEM, "out of memory");
        goto out;
    }
    if ((err = check_metric_columns(st)) || (err = make_parent_dirs(st)))
        goto out;
    int rc = sqlite3_open_v2(path, &st->db,
                             SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
    if (rc != SQLITE_OK) {
        err = fail(st, rc == SQLITE_NOMEM ? PLUMB_ENOMEM : PLUMB_ESTORE,
                   "cannot open the store %s: %s", path,
                   st->db ? sqlite3_errmsg(st->db) : sqlite3_errstr(rc));
        goto out;
    }
    sqlite3_busy_timeout(st->db, STORE_BUSY_TIMEOUT_MS);
    if ((err = store_identify(st)))
        goto out;
    /* WAL lets `plumb report` read while a benchmark writes. A file the OS
     * only lets us read keeps its mode; it can still be listed and loaded. */
    if (!sqlite3_db_readonly(st->db, "main") &&
        exec(st, "PRAGMA journal_mode=WAL") != SQLITE_OK) {
        err = fail_sqlite(st, "cannot switch the store to WAL");
        goto out;
    }
    /* In WAL mode NORMAL syncs at checkpoints, not at every commit: a crash
     * of plumb or of the OS never leaves the store inconsistent, a power
     * cut can lose the last runs. Without it every stored run pays two
     * fdatasyncs, 3 ms of every `plumb profile` here. */
    if (exec(st, "PRAGMA synchronous=NORMAL") != SQLITE_OK) {
        err = fail_sqlite(st, "cannot set the store's synchronous mode");
        goto out;
    }
    if (exec(st, "PRAGMA foreign_keys=ON") != SQLITE_OK) {
        err = fail_sqlite(st, "cannot enable foreign keys");
        goto out;
    }
    /* Checked before any transaction: a read-only store that is current
     * must open without asking for a write lock. */
    for (int done = st->schema_version >= STORE_SCHEMA_VERSION; !done;)
        if ((err = migrate_one(st, &done)))
            goto out;
out:
    if (err && st->db) {
        sqlite3_close_v2(st->db);
        st->db = NULL;
    }
    return err;
}

void plumb_store_close(plumb_store_t *st)
{
    if (!st)
        return;
    sqlite3_close_v2(st->db);
    free(st->path);
    free(st);
}

const char *plumb_store_errmsg(const plumb_store_t *st)
{
    return st ? st->errmsg : "";
}

int plumb_store_schema_version(plumb_store_t *st)
{
    return st ? st->schema_version : 0;
}

/* Clears the last error and checks the store is usable. */
static int store_begin_call(plumb_store_t *st)
{
    if (!st)
        return PLUMB_EINVAL;
    st->errmsg[0] = '\0';
    if (!st->db)
        return fail(st, PLUMB_EINVAL, "the store %s is not open",
                    st->path ? st->path : "");
    return 0;
}

static int prepare(plumb_store_t *st, const char *sql, sqlite3_stmt **stmt)
{
    if (sqlite3_prepare_v2(st->db, sql, -1, stmt, NULL) != SQLITE_OK)
        return fail_sqlite(st, "cannot prepare a statement");
    return 0;
}

/* Steps an INSERT to its end and resets it for the next row; on failure
 * the error names what was being written. */
STORE_PRINTF(3, 4)
static int step_done(plumb_store_t *st, sqlite3_stmt *stmt,
                     const char *fmt, ...)
{
    int err = 0;
    if (sqlite3_step(stmt) != SQLITE_DONE) {
        char what[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof what, fmt, ap);
        va_end(ap);
        err = fail_sqlite(st, "%s", what);
    }
    sqlite3_reset(stmt);
    return err;
}

/* NULL stays NULL in the store: "no git commit" is not "". */
static int bind_text(sqlite3_stmt *stmt, int i, const char *text)
{
    return text ? sqlite3_bind_text(stmt, i, text, -1, SQLITE_STATIC)
                : sqlite3_bind_null(stmt, i);
}

/* A fixed-size field of plumb_env_t, which need not hold its NUL when
 * full. */
static int bind_field(sqlite3_stmt *stmt, int i, const char *field,
                      size_t size)
{
    return sqlite3_bind_text(stmt, i, field, (int)strnlen(field, size),
                             SQLITE_STATIC);
}

static int64_t seed_to_int64(uint64_t seed)
{
    int64_t bits;
    memcpy(&bits, &seed, sizeof bits);
    return bits;
}

static uint64_t seed_from_int64(int64_t bits)
{
    uint64_t seed;
    memcpy(&seed, &bits, sizeof seed);
    return seed;
}

static int compare_int64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* The median of the run's measured wall times, NaN when none: kept with
 * the run so that listing the history reads no samples. `scratch` holds
 * n_samples values. */
static double median_wall_ns(const plumb_run_t *run, int64_t *scratch)
{
    size_t n = 0;
    for (size_t i = 0; i < run->n_samples; i++) {
        int64_t wall = run->samples[i].metric[PLUMB_METRIC_WALL];
        if (wall != PLUMB_UNAVAILABLE)
            scratch[n++] = wall;
    }
    if (n == 0)
        return NAN;
    qsort(scratch, n, sizeof *scratch, compare_int64);
    if (n % 2)
        return (double)scratch[n / 2];
    return ((double)scratch[n / 2 - 1] + (double)scratch[n / 2]) / 2;
}

/* Appends text to a fixed buffer; once it overflows, *len stays past
 * size, which the caller checks at the end. */
static void append(char *buf, size_t size, size_t *len, const char *text)
{
    size_t n = strlen(text);
    if (*len + n < size)
        memcpy(buf + *len, text, n + 1);
    *len += n;
}

/* The statements that write and read samples, their metric columns named by
 * the metric table: column (or parameter) first + m is metric m. */
static int sample_sql(char *buf, size_t size, int insert)
{
    size_t len = 0;
    buf[0] = '\0';
    append(buf, size, &len, insert ? "INSERT INTO samples (run_id, iter, "
                                   : "SELECT ");
    for (int m = 0; m < PLUMB_METRIC_COUNT; m++) {
        append(buf, size, &len, plumb_metric_key(m));
        append(buf, size, &len, ", ");
    }
    append(buf, size, &len, "exit_code, term_signal, timed_out");
    if (insert) {
        append(buf, size, &len, ") VALUES (?, ?, ");
        for (int m = 0; m < PLUMB_METRIC_COUNT; m++)
            append(buf, size, &len, "?, ");
        append(buf, size, &len, "?, ?, ?)");
    } else {
        append(buf, size, &len, " FROM samples WHERE run_id = ? "
                                "ORDER BY iter");
    }
    return len < size ? 0 : PLUMB_ENOMEM;
}

static int bind_session(sqlite3_stmt *stmt, const plumb_session_t *s)
{
    const plumb_env_t *env = &s->env;
    int rc = sqlite3_bind_int64(stmt, 1, env->created_ns);
    rc |= bind_field(stmt, 2, env->host, sizeof env->host);
    rc |= bind_field(stmt, 3, env->kernel, sizeof env->kernel);
    rc |= bind_field(stmt, 4, env->cpu_model, sizeof env->cpu_model);
    rc |= sqlite3_bind_int(stmt, 5, env->cpus);
    rc |= sqlite3_bind_double(stmt, 6, env->load_avg1);
    rc |= bind_field(stmt, 7, env->governor, sizeof env->governor);
    rc |= bind_field(stmt, 8, env->plumb_version, sizeof env->plumb_version);
    rc |= bind_text(stmt, 9, s->invocation);
    rc |= bind_text(stmt, 10, s->git_commit);
    rc |= bind_text(stmt, 11, s->scan_param);
    rc |= bind_text(stmt, 12, s->counters);
    rc |= sqlite3_bind_int(stmt, 13, s->partial);
    rc |= sqlite3_bind_int64(stmt, 14, seed_to_int64(s->seed));
    rc |= sqlite3_bind_int64(stmt, 15, s->overhead_ns);
    return rc;
}

static int bind_run(sqlite3_stmt *stmt, int64_t session_id, size_t idx,
                    const plumb_run_t *run, double median)
{
    /* A loop run is listed by its time per call, as it is reported. */
    if (run->loops > 1)
        median /= (double)run->loops;
    int rc = sqlite3_bind_int64(stmt, 1, session_id);
    rc |= sqlite3_bind_int64(stmt, 2, (int64_t)idx);
    rc |= bind_text(stmt, 3, run->name);
    rc |= bind_text(stmt, 4, run->command);
    rc |= bind_text(stmt, 5, run->python);
    rc |= sqlite3_bind_int(stmt, 6, run->shell);
    rc |= sqlite3_bind_int64(stmt, 7, run->shell_overhead_ns);
    rc |= run->baseline >= 0 ? sqlite3_bind_int(stmt, 8, run->baseline)
                             : sqlite3_bind_null(stmt, 8);
    rc |= sqlite3_bind_int(stmt, 9, run->series);
    /* SQLite would turn a NaN into NULL anyway; say it. */
    rc |= isnan(run->x) ? sqlite3_bind_null(stmt, 10)
                        : sqlite3_bind_double(stmt, 10, run->x);
    rc |= sqlite3_bind_int64(stmt, 11, (int64_t)run->n_samples);
    rc |= isnan(median) ? sqlite3_bind_null(stmt, 12)
                        : sqlite3_bind_double(stmt, 12, median);
    rc |= bind_text(stmt, 13, run->loops ? "loop" : "bench");
    rc |= run->loops ? sqlite3_bind_int64(stmt, 14, (int64_t)run->loops)
                     : sqlite3_bind_null(stmt, 14);
    return rc;
}

/* Binds everything but the run id (parameter 1), which stays bound. */
static int bind_sample(sqlite3_stmt *stmt, size_t iter,
                       const plumb_sample_t *sample)
{
    int rc = sqlite3_bind_int64(stmt, 2, (int64_t)iter);
    for (int m = 0; m < PLUMB_METRIC_COUNT; m++) {
        int64_t v = sample->metric[m];
        rc |= v == PLUMB_UNAVAILABLE ? sqlite3_bind_null(stmt, 3 + m)
                                     : sqlite3_bind_int64(stmt, 3 + m, v);
    }
    rc |= sqlite3_bind_int(stmt, 3 + PLUMB_METRIC_COUNT, sample->exit_code);
    rc |= sqlite3_bind_int(stmt, 4 + PLUMB_METRIC_COUNT, sample->term_signal);
    rc |= sqlite3_bind_int(stmt, 5 + PLUMB_METRIC_COUNT, sample->timed_out);
    return rc;
}

int plumb_store_save(plumb_store_t *st, plumb_session_t *s)
{
    sqlite3_stmt *ins_session = NULL, *ins_run = NULL, *ins_param = NULL,
                 *ins_sample = NULL;
    int64_t *run_ids = NULL, *scratch = NULL, session_id = 0;
    double *medians = NULL;
    int in_transaction = 0;
    char insert_sql[2048];
    size_t max_samples = 0;
    int err = store_begin_call(st);
    if (err)
        return err;
    if (!s)
        return fail(st, PLUMB_EINVAL, "no session to save");

    /* Everything that can run out of memory happens before the
     * transaction, so that inside it only SQLite can fail. */
    for (size_t i = 0; i < s->n_runs; i++) {
        const plumb_run_t *run = &s->runs[i];
        if ((run->n_samples && !run->samples) ||
            (run->n_params && (!run->param_names || !run->param_values))) {
            err = fail(st, PLUMB_EINVAL, "run %zu of the session is "
                       "inconsistent (counts without arrays)", i);
            goto out;
        }
        if (run->n_samples > max_samples)
            max_samples = run->n_samples;
    }
    if (s->n_runs) {
        run_ids = calloc(s->n_runs, sizeof *run_ids);
        medians = calloc(s->n_runs, sizeof *medians);
        if (max_samples)
            scratch = malloc(max_samples * sizeof *scratch);
        if (!run_ids || !medians || (max_samples && !scratch)) {
            err = fail(st, PLUMB_ENOMEM, "out of memory");
            goto out;
        }
    }
    for (size_t i = 0; i < s->n_runs; i++)
        medians[i] = median_wall_ns(&s->runs[i], scratch);
    if (sample_sql(insert_sql, sizeof insert_sql, 1)) {
        err = fail(st, PLUMB_ENOMEM, "sample statement too long");
        goto out;
    }
    if ((err = prepare(st,
                       "INSERT INTO sessions (created_ns, host, kernel, "
                       "cpu_model, cpus, load_avg1, governor, plumb_version, "
                       "invocation, git_commit, scan_param, counters, "
                       "partial, seed, overhead_ns) VALUES (?, ?, ?, ?, ?, "
                       "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       &ins_session)) ||
        (err = prepare(st,
                       "INSERT INTO runs (session_id, idx, name, command, "
                       "python, shell, shell_overhead_ns, baseline, series, "
                       "x, n_samples, median_wall_ns, kind, loops) VALUES "
                       "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       &ins_run)) ||
        (err = prepare(st,
                       "INSERT INTO run_params (run_id, idx, name, value) "
                       "VALUES (?, ?, ?, ?)",
                       &ins_param)) ||
        (err = prepare(st, insert_sql, &ins_sample)))
        goto out;

    if (exec(st, "BEGIN IMMEDIATE") != SQLITE_OK) {
        err = fail_sqlite(st, "cannot start saving the session");
        goto out;
    }
    in_transaction = 1;
    if (bind_session(ins_session, s) != SQLITE_OK) {
        err = fail_sqlite(st, "cannot save the session");
        goto out;
    }
    if ((err = step_done(st, ins_session, "cannot save the session")))
        goto out;
    session_id = sqlite3_last_insert_rowid(st->db);

    for (size_t i = 0; i < s->n_runs; i++) {
        const plumb_run_t *run = &s->runs[i];
        if (bind_run(ins_run, session_id, i, run, medians[i]) != SQLITE_OK) {
            err = fail_sqlite(st, "cannot save run %zu", i);
            goto out;
        }
        if ((err = step_done(st, ins_run, "cannot save run %zu", i)))
            goto out;
        run_ids[i] = sqlite3_last_insert_rowid(st->db);

        for (size_t p = 0; p < run->n_params; p++) {
            int rc = sqlite3_bind_int64(ins_param, 1, run_ids[i]);
            rc |= sqlite3_bind_int64(ins_param, 2, (int64_t)p);
            rc |= bind_text(ins_param, 3, run->param_names[p]);
            rc |= bind_text(ins_param, 4, run->param_values[p]);
            if (rc != SQLITE_OK) {
                err = fail_sqlite(st, "cannot save a parameter of run %zu",
                                  i);
                goto out;
            }
            if ((err = step_done(st, ins_param,
                                 "cannot save parameter %zu of run %zu", p,
                                 i)))
                goto out;
        }

        if (sqlite3_bind_int64(ins_sample, 1, run_ids[i]) != SQLITE_OK) {
            err = fail_sqlite(st, "cannot save the samples of run %zu", i);
            goto out;
        }
        for (size_t k = 0; k < run->n_samples; k++) {
            if (bind_sample(ins_sample, k, &run->samples[k]) != SQLITE_OK) {
                err = fail_sqlite(st, "cannot save sample %zu of run %zu",
                                  k, i);
                goto out;
            }
            if ((err = step_done(st, ins_sample,
                                 "cannot save sample %zu of run %zu", k, i)))
                goto out;
        }
    }

    if (exec(st, "COMMIT") != SQLITE_OK) {
        err = fail_sqlite(st, "cannot commit the session");
        goto out;
    }
    in_transaction = 0;
    /* Ids only now: until COMMIT they named rows that might vanish. */
    s->id = session_id;
    for (size_t i = 0; i < s->n_runs; i++)
        s->runs[i].id = run_ids[i];
out:
    if (in_transaction)
        rollback(st);
    sqlite3_finalize(ins_session);
    sqlite3_finalize(ins_run);
    sqlite3_finalize(ins_param);
    sqlite3_finalize(ins_sample);
    free(run_ids);
    free(medians);
    free(scratch);
    return err;
}

/* A NOT NULL text column, as a string that is never NULL. */
static const char *column_text(sqlite3_stmt *stmt, int i)
{
    const unsigned char *text = sqlite3_column_text(stmt, i);
    return text ? (const char *)text : "";
}

/* A nullable text column, as NULL or a string. */
static const char *column_text_or_null(sqlite3_stmt *stmt, int i)
{
    return (const char *)sqlite3_column_text(stmt, i);
}

static void copy_field(char *field, size_t size, sqlite3_stmt *stmt, int i)
{
    snprintf(field, size, "%s", column_text(stmt, i));
}

/* Fills the session from the run's row (the columns of load_run's first
 * query) and adds the run itself. */
static int load_session_row(sqlite3_stmt *q, plumb_session_t *s,
                            plumb_run_t **run)
{
    plumb_env_t *env = &s->env;
    s->id = sqlite3_column_int64(q, 0);
    env->created_ns = sqlite3_column_int64(q, 1);
    copy_field(env->host, sizeof env->host, q, 2);
    copy_field(env->kernel, sizeof env->kernel, q, 3);
    copy_field(env->cpu_model, sizeof env->cpu_model, q, 4);
    env->cpus = sqlite3_column_int(q, 5);
    env->load_avg1 = sqlite3_column_double(q, 6);
    copy_field(env->governor, sizeof env->governor, q, 7);
    copy_field(env->plumb_version, sizeof env->plumb_version, q, 8);
    s->partial = sqlite3_column_int(q, 13);
    s->seed = seed_from_int64(sqlite3_column_int64(q, 14));
    s->overhead_ns = sqlite3_column_int64(q, 15);
    int err = plumb_set_string(&s->invocation, column_text_or_null(q, 9));
    if (!err)
        err = plumb_set_string(&s->git_commit, column_text_or_null(q, 10));
    if (!err)
        err = plumb_set_string(&s->scan_param, column_text_or_null(q, 11));
    if (!err)
        err = plumb_set_string(&s->counters, column_text_or_null(q, 12));
    if (!err)
        err = plumb_session_add_run(s, column_text(q, 16),
                                    column_text(q, 17), run);
    if (err)
        return err;
    plumb_run_t *r = *run;
    err = plumb_set_string(&r->python, column_text_or_null(q, 18));
    r->shell = sqlite3_column_int(q, 19);
    r->shell_overhead_ns = sqlite3_column_int64(q, 20);
    r->x = sqlite3_column_type(q, 21) == SQLITE_NULL
               ? NAN
               : sqlite3_column_double(q, 21);
    int64_t loops = sqlite3_column_int64(q, 22); /* NULL reads 0 */
    r->loops = loops > 0 ? (uint64_t)loops : 0;
    /* Alone in its new session, the run has no baseline and is the first
     * of its own series; add_run set both. */
    return err;
}

int plumb_store_load_run(plumb_store_t *st, int64_t run_id,
                         plumb_session_t **out)
{
    sqlite3_stmt *q_run = NULL, *q_params = NULL, *q_samples = NULL;
    plumb_session_t *s = NULL;
    plumb_run_t *run = NULL;
    int in_transaction = 0, rc;
    char select_sql[2048];
    if (out)
        *out = NULL;
    int err = store_begin_call(st);
    if (err)
        return err;
    if (!out)
        return fail(st, PLUMB_EINVAL, "nowhere to load the run into");

    if (sample_sql(select_sql, sizeof select_sql, 0)) {
        err = fail(st, PLUMB_ENOMEM, "sample statement too long");
        goto out;
    }
    if ((err = prepare(st,
                       "SELECT s.id, s.created_ns, s.host, s.kernel, "
                       "s.cpu_model, s.cpus, s.load_avg1, s.governor, "
                       "s.plumb_version, s.invocation, s.git_commit, "
                       "s.scan_param, s.counters, s.partial, s.seed, "
                       "s.overhead_ns, r.name, r.command, r.python, "
                       "r.shell, r.shell_overhead_ns, r.x, r.loops "
                       "FROM runs r JOIN sessions s ON s.id = r.session_id "
                       "WHERE r.id = ?",
                       &q_run)) ||
        (err = prepare(st,
                       "SELECT name, value FROM run_params WHERE run_id = ? "
                       "ORDER BY idx",
                       &q_params)) ||
        (err = prepare(st, select_sql, &q_samples)))
        goto out;
    /* One read transaction: the run, its parameters and its samples from
     * the same snapshot, whatever another plumb writes meanwhile. */
    if (exec(st, "BEGIN") != SQLITE_OK) {
        err = fail_sqlite(st, "cannot read the store");
        goto out;
    }
    in_transaction = 1;

    if (!(s = plumb_session_new())) {
        err = fail(st, PLUMB_ENOMEM, "out of memory");
        goto out;
    }
    sqlite3_bind_int64(q_run, 1, run_id);
    rc = sqlite3_step(q_run);
    if (rc == SQLITE_DONE) {
        err = fail(st, PLUMB_ENOTFOUND, "%s holds no run %lld", st->path,
                   (long long)run_id);
        goto out;
    }
    if (rc != SQLITE_ROW) {
        err = fail_sqlite(st, "cannot read run %lld", (long long)run_id);
        goto out;
    }
    if ((err = load_session_row(q_run, s, &run))) {
        fail(st, err, "out of memory");
        goto out;
    }
    run->id = run_id;

    sqlite3_bind_int64(q_params, 1, run_id);
    while ((rc = sqlite3_step(q_params)) == SQLITE_ROW)
        if ((err = plumb_run_add_param(run, column_text(q_params, 0),
                                       column_text(q_params, 1)))) {
            fail(st, err, "out of memory");
            goto out;
        }
    if (rc != SQLITE_DONE) {
        err = fail_sqlite(st, "cannot read the parameters of run %lld",
                          (long long)run_id);
        goto out;
    }

    sqlite3_bind_int64(q_samples, 1, run_id);
    while ((rc = sqlite3_step(q_samples)) == SQLITE_ROW) {
        plumb_sample_t sample;
        for (int m = 0; m < PLUMB_METRIC_COUNT; m++)
            sample.metric[m] = sqlite3_column_type(q_samples, m) == SQLITE_NULL
                                   ? PLUMB_UNAVAILABLE
                                   : sqlite3_column_int64(q_samples, m);
        sample.exit_code = sqlite3_column_int(q_samples, PLUMB_METRIC_COUNT);
        sample.term_signal =
            sqlite3_column_int(q_samples, PLUMB_METRIC_COUNT + 1);
        sample.timed_out =
            sqlite3_column_int(q_samples, PLUMB_METRIC_COUNT + 2);
        if ((err = plumb_run_add_sample(run, &sample))) {
            fail(st, err, "out of memory");
            goto out;
        }
    }
    if (rc != SQLITE_DONE) {
        err = fail_sqlite(st, "cannot read the samples of run %lld",
                          (long long)run_id);
        goto out;
    }
    *out = s;
    s = NULL;
out:
    sqlite3_finalize(q_run);
    sqlite3_finalize(q_params);
    sqlite3_finalize(q_samples);
    if (in_transaction)
        rollback(st); /* nothing was written: ending a read is all it does */
    plumb_session_free(s);
    return err;
}

int plumb_store_find_run(plumb_store_t *st, const char *name,
                         int64_t session_id, int64_t *run_id)
{
    sqlite3_stmt *q = NULL;
    int err = store_begin_call(st);
    if (err)
        return err;
    if (!name || !run_id || session_id < 0)
        return fail(st, PLUMB_EINVAL, "no run name to look for");
    if ((err = prepare(st,
                       "SELECT id FROM runs WHERE name = ?1 AND kind NOT "
                       "IN ('profile', 'mem') AND (?2 = 0 OR session_id = "
                       "?2) "
                       "ORDER BY id DESC LIMIT 1",
                       &q)))
        goto out;
    int rc = bind_text(q, 1, name);
    rc |= sqlite3_bind_int64(q, 2, session_id);
    if (rc != SQLITE_OK) {
        err = fail_sqlite(st, "cannot look for run %s", name);
        goto out;
    }
    rc = sqlite3_step(q);
    if (rc == SQLITE_ROW) {
        *run_id = sqlite3_column_int64(q, 0);
    } else if (rc == SQLITE_DONE) {
        if (session_id)
            err = fail(st, PLUMB_ENOTFOUND, "%s holds no run named %s in "
                       "session %lld", st->path, name,
                       (long long)session_id);
        else
            err = fail(st, PLUMB_ENOTFOUND, "%s holds no run named %s",
                       st->path, name);
    } else {
        err = fail_sqlite(st, "cannot look for run %s", name);
    }
out:
    sqlite3_finalize(q);
    return err;
}

void plumb_run_info_free(plumb_run_info_t *infos, size_t n)
{
    if (!infos)
        return;
    for (size_t i = 0; i < n; i++) {
        free(infos[i].name);
        free(infos[i].command);
    }
    free(infos);
}

int plumb_store_list(plumb_store_t *st, size_t limit, plumb_run_info_t **out,
                     size_t *n)
{
    sqlite3_stmt *q = NULL;
    plumb_run_info_t *infos = NULL;
    size_t count = 0, cap = 0;
    int rc;
    if (out)
        *out = NULL;
    if (n)
        *n = 0;
    int err = store_begin_call(st);
    if (err)
        return err;
    if (!out || !n)
        return fail(st, PLUMB_EINVAL, "nowhere to list the runs into");
    if ((err = prepare(st,
                       "SELECT r.id, r.session_id, s.created_ns, r.name, "
                       "r.command, r.n_samples, r.median_wall_ns, s.partial, "
                       "r.kind = 'profile', r.kind = 'mem' "
                       "FROM runs r JOIN sessions s ON s.id = r.session_id "
                       "ORDER BY r.id DESC LIMIT ?",
                       &q)))
        goto out;
    /* A negative LIMIT is SQLite's "no limit". */
    sqlite3_bind_int64(q, 1, limit == 0 || limit > INT64_MAX
                                 ? -1
                                 : (int64_t)limit);
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        if (count == cap) {
            size_t new_cap = cap ? cap * 2 : 16;
            plumb_run_info_t *grown = realloc(infos, new_cap * sizeof *infos);
            if (!grown) {
                err = fail(st, PLUMB_ENOMEM, "out of memory");
                goto out;
            }
            infos = grown;
            cap = new_cap;
        }
        plumb_run_info_t *info = &infos[count];
        info->run_id = sqlite3_column_int64(q, 0);
        info->session_id = sqlite3_column_int64(q, 1);
        info->created_ns = sqlite3_column_int64(q, 2);
        info->name = strdup(column_text(q, 3));
        info->command = strdup(column_text(q, 4));
        count++; /* counted now so that out: frees what it holds */
        info->n_samples = (size_t)sqlite3_column_int64(q, 5);
        info->median_wall_ns = sqlite3_column_type(q, 6) == SQLITE_NULL
                                   ? NAN
                                   : sqlite3_column_double(q, 6);
        info->partial = sqlite3_column_int(q, 7);
        info->profile = sqlite3_column_int(q, 8);
        info->mem = sqlite3_column_int(q, 9);
        if (!info->name || !info->command) {
            err = fail(st, PLUMB_ENOMEM, "out of memory");
            goto out;
        }
    }
    if (rc != SQLITE_DONE) {
        err = fail_sqlite(st, "cannot list the runs");
        goto out;
    }
    *out = infos;
    *n = count;
    infos = NULL;
out:
    sqlite3_finalize(q);
    plumb_run_info_free(infos, count);
    return err;
}

/* ---- lent to the other files of the store (store.h) --------------------- */

sqlite3 *plumb__store_db(plumb_store_t *st)
{
    return st->db;
}

const char *plumb__store_path(const plumb_store_t *st)
{
    return st->path ? st->path : "";
}

int plumb__store_begin_call(plumb_store_t *st)
{
    return store_begin_call(st);
}

int plumb__store_fail(plumb_store_t *st, int err, const char *what)
{
    return fail(st, err, "%s", what);
}

int plumb__store_fail_sqlite(plumb_store_t *st, const char *what)
{
    return fail_sqlite(st, "%s", what);
}

int plumb__store_prepare(plumb_store_t *st, const char *sql,
                         sqlite3_stmt **stmt)
{
    return prepare(st, sql, stmt);
}

int plumb__store_step_done(plumb_store_t *st, sqlite3_stmt *stmt,
                           const char *what)
{
    return step_done(st, stmt, "%s", what);
}

int plumb__store_exec(plumb_store_t *st, const char *sql)
{
    return exec(st, sql);
}

void plumb__store_rollback(plumb_store_t *st)
{
    rollback(st);
}

int plumb__store_insert_session(plumb_store_t *st, const plumb_session_t *s,
                                int64_t *id)
{
    sqlite3_stmt *ins = NULL;
    int err = prepare(st,
                      "INSERT INTO sessions (created_ns, host, kernel, "
                      "cpu_model, cpus, load_avg1, governor, plumb_version, "
                      "invocation, git_commit, scan_param, counters, "
                      "partial, seed, overhead_ns) VALUES (?, ?, ?, ?, ?, "
                      "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      &ins);
    if (!err && bind_session(ins, s) != SQLITE_OK)
        err = fail_sqlite(st, "cannot save the session");
    if (!err)
        err = step_done(st, ins, "cannot save the session");
    if (!err)
        *id = sqlite3_last_insert_rowid(st->db);
    sqlite3_finalize(ins);
    return err;
}

int plumb__store_insert_lone_run(plumb_store_t *st, const plumb_session_t *s,
                                 const char *kind, const char *name,
                                 const char *cmd, const char *python,
                                 size_t python_size, uint64_t n_samples,
                                 const char *what, int64_t *run_id)
{
    sqlite3_stmt *ins = NULL;
    int64_t session_id = 0;
    int err = plumb__store_insert_session(st, s, &session_id);
    if (!err)
        err = prepare(st,
                      "INSERT INTO runs (session_id, idx, name, command, "
                      "python, shell, shell_overhead_ns, baseline, series, "
                      "x, n_samples, median_wall_ns, kind) VALUES (?, 0, ?, "
                      "?, ?, 0, 0, NULL, 0, NULL, ?, NULL, ?)",
                      &ins);
    if (!err) {
        int rc = sqlite3_bind_int64(ins, 1, session_id);
        rc |= bind_text(ins, 2, name);
        rc |= bind_text(ins, 3, cmd);
        rc |= bind_field(ins, 4, python, python_size);
        rc |= sqlite3_bind_int64(ins, 5, (int64_t)n_samples);
        rc |= bind_text(ins, 6, kind);
        if (rc != SQLITE_OK)
            err = fail_sqlite(st, "cannot save %s's run", what);
    }
    if (!err)
        err = step_done(st, ins, "cannot save %s's run", what);
    if (!err)
        *run_id = sqlite3_last_insert_rowid(st->db);
    sqlite3_finalize(ins);
    return err;
}

int plumb__store_bind_text(sqlite3_stmt *stmt, int i, const char *text)
{
    return bind_text(stmt, i, text);
}

int plumb__store_bind_field(sqlite3_stmt *stmt, int i, const char *field,
                            size_t size)
{
    return bind_field(stmt, i, field, size);
}

void plumb__store_copy_field(char *field, size_t size, sqlite3_stmt *stmt,
                             int i)
{
    copy_field(field, size, stmt, i);
}

int plumb__store_step_head(plumb_store_t *st, sqlite3_stmt *q,
                           const char *kind, int64_t run_id)
{
    int rc = sqlite3_step(q);
    if (rc == SQLITE_ROW)
        return 0;
    if (rc == SQLITE_DONE)
        return fail(st, PLUMB_ENOTFOUND, "%s holds no %s run %lld", st->path,
                    kind, (long long)run_id);
    return fail_sqlite(st, "cannot read %s %lld", kind, (long long)run_id);
}

int plumb__store_read_stacks(plumb_store_t *st, sqlite3_stmt *q,
                             plumb_stack_t *const *stacks, int n,
                             const char *what)
{
    char *line = NULL;
    size_t line_cap = 0;
    int rc, err = 0;
    while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
        const char *thread = column_text(q, 0);
        const char *frames = column_text(q, 1);
        size_t need = strlen(thread) + strlen(frames) + 2;
        if (need > line_cap) {
            char *grown = realloc(line, need);
            if (!grown) {
                err = fail(st, PLUMB_ENOMEM, "out of memory");
                goto out;
            }
            line = grown;
            line_cap = need;
        }
        snprintf(line, line_cap, "%s%s%s", thread, *frames ? ";" : "",
                 frames);
        for (int k = 0; k < n; k++) {
            int64_t count = sqlite3_column_int64(q, 2 + k);
            if (count > 0 && (err = plumb_stack_add_collapsed(
                                  stacks[k], line, (uint64_t)count))) {
                fail(st, err, "%s", what);
                goto out;
            }
        }
    }
    if (rc != SQLITE_DONE)
        err = fail_sqlite(st, "%s", what);
out:
    free(line);
    return err;
}

const char *plumb__store_column_text(sqlite3_stmt *stmt, int i)
{
    return column_text(stmt, i);
}
