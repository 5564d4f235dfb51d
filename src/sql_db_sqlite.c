/* sql_db_sqlite.c: the SQLite engine of a scratch database. It owns the
 * private copy: the user's file is opened read-only, copied with the backup
 * API into a temporary file (mkstemp under $TMPDIR, else /tmp) and closed
 * at once; every statement after that runs on the copy, which close
 * removes with its journals.
 *
 * The user's file is never written, nor any other: the copy refuses
 * ATTACH. A read-only connection still creates
 * the -wal and -shm files of a WAL database that has none (no connection
 * is open on it) and leaves them behind; in that case the copy is read with
 * immutable=1, which opens nothing beside the file, and is taken again the
 * ordinary way if the file changed meanwhile.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include "sql_db.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#define SQLITE_BUSY_TIMEOUT_MS 5000
#define SQLITE_COPY_ATTEMPTS 20

typedef struct {
    struct plumb_sql_db base;
    sqlite3 *db;  /* on the copy */
    char *path;   /* of the copy */
} sqlite_db_t;

static const plumb__sql_db_ops_t sqlite_ops;

/* ---- the copy ----------------------------------------------------------- */

static void errno_text(int errnum, char *buf, size_t size)
{
    if (strerror_r(errnum, buf, size) != 0)
        snprintf(buf, size, "error %d", errnum);
}

/* "file:" + path with everything outside [A-Za-z0-9/._~-] %-encoded, then
 * the query. malloc'd, or NULL. */
static char *file_uri(const char *path, const char *query)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(path);
    if (n > (SIZE_MAX - 64 - strlen(query)) / 3)
        return NULL;
    char *uri = malloc(3 * n + strlen(query) + 16), *o = uri;
    if (!uri)
        return NULL;
    o += sprintf(o, "file://");
    for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
            (*p >= '0' && *p <= '9') || strchr("/._~-", *p)) {
            *o++ = (char)*p;
        } else {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        }
    }
    strcpy(o, query);
    return uri;
}

/* path + suffix, malloc'd, or NULL. */
static char *with_suffix(const char *path, const char *suffix)
{
    size_t a = strlen(path), b = strlen(suffix);
    char *out = malloc(a + b + 1);
    if (out) {
        memcpy(out, path, a);
        memcpy(out + a, suffix, b + 1);
    }
    return out;
}

/* Whether the file is a WAL database without its -wal file: no connection
 * is open on it, and a read-only one would create -wal and -shm. Byte 18
 * of the header is the file format's read version, 2 for WAL. */
static int wal_without_log(const char *path)
{
    unsigned char header[100];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, header, sizeof header);
    close(fd);
    if (n != (ssize_t)sizeof header ||
        memcmp(header, "SQLite format 3", 16) != 0 || header[18] != 2)
        return 0;
    char *wal = with_suffix(path, "-wal");
    if (!wal)
        return 0;
    struct stat sb;
    int absent = stat(wal, &sb) != 0 && errno == ENOENT;
    free(wal);
    return absent;
}

/* What tells whether a file changed while it was read without locks. */
typedef struct {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime, ctime;
    int wal_absent;
} file_state_t;

static void file_state(const char *path, file_state_t *fs)
{
    struct stat sb;
    memset(fs, 0, sizeof *fs);
    if (stat(path, &sb) == 0) {
        fs->dev = sb.st_dev;
        fs->ino = sb.st_ino;
        fs->size = sb.st_size;
        fs->mtime = sb.st_mtim;
        fs->ctime = sb.st_ctim;
    }
    char *wal = with_suffix(path, "-wal");
    fs->wal_absent = wal && stat(wal, &sb) != 0 && errno == ENOENT;
    free(wal);
}

static int file_state_same(const file_state_t *a, const file_state_t *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec &&
           a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec &&
           a->ctime.tv_nsec == b->ctime.tv_nsec && a->wal_absent &&
           b->wal_absent;
}

/* Copies the database at path into dst through a read-only connection
 * (immutable: without opening or locking anything beside the file), which
 * is closed before returning. */
static int copy_into(sqlite3 *dst, const char *path, int immutable,
                     char **errmsg)
{
    sqlite3 *src = NULL;
    sqlite3_backup *backup = NULL;
    int err = 0, rc;
    char *uri = file_uri(path, immutable ? "?mode=ro&immutable=1"
                                         : "?mode=ro");
    if (!uri)
        return plumb__sql_fail(errmsg, PLUMB_ENOMEM, "out of memory");
    rc = sqlite3_open_v2(uri, &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI,
                         NULL);
    if (rc != SQLITE_OK) {
        err = plumb__sql_fail(errmsg, PLUMB_EIO, "%s: cannot open: %s", path,
                              src ? sqlite3_errmsg(src) : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(src, SQLITE_BUSY_TIMEOUT_MS);
    backup = sqlite3_backup_init(dst, "main", src, "main");
    if (!backup) {
        err = plumb__sql_fail(errmsg, PLUMB_EIO, "%s: cannot copy: %s", path,
                              sqlite3_errmsg(dst));
        goto out;
    }
    /* BUSY and LOCKED: a writer holds the file; its busy handler has
     * already waited, so wait a little more between attempts. */
    for (int attempt = 0;; attempt++) {
        rc = sqlite3_backup_step(backup, -1);
        if (rc == SQLITE_DONE)
            break;
        if ((rc == SQLITE_BUSY || rc == SQLITE_LOCKED) &&
            attempt < SQLITE_COPY_ATTEMPTS) {
            sqlite3_sleep(100);
            continue;
        }
        break;
    }
    sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE) {
        /* The failure is the source's when it has one, else the copy's. */
        int src_rc = sqlite3_errcode(src);
        err = plumb__sql_fail(
            errmsg, rc == SQLITE_NOMEM ? PLUMB_ENOMEM : PLUMB_EIO,
            "%s: cannot copy: %s", path,
            src_rc != SQLITE_OK ? sqlite3_errmsg(src) : sqlite3_errstr(rc));
    }
out:
    sqlite3_close(src);
    free(uri);
    return err;
}

/* The copy: the read-only copy of a WAL file without a log, checked for
 * changes, else the ordinary read-only copy. */
static int copy_database(sqlite3 *dst, const char *path, char **errmsg)
{
    if (wal_without_log(path)) {
        file_state_t before, after;
        file_state(path, &before);
        int err = copy_into(dst, path, 1, errmsg);
        file_state(path, &after);
        if (!err && file_state_same(&before, &after))
            return 0;
        if (err == PLUMB_ENOMEM)
            return err;
        /* Changed under us, or could not be read so: take it with locks.
         * The backup replaces the whole content of dst. */
    }
    return copy_into(dst, path, 0, errmsg);
}

/* The temporary file for the copy, made 0600 by mkstemp; malloc'd path. */
static int make_temp_file(char **out, char **errmsg)
{
    const char *dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    char *path = with_suffix(dir, "/plumb-sql-XXXXXX");
    if (!path)
        return plumb__sql_fail(errmsg, PLUMB_ENOMEM, "out of memory");
    int fd = mkstemp(path);
    if (fd < 0) {
        char why[128];
        errno_text(errno, why, sizeof why);
        int err = plumb__sql_fail(errmsg, PLUMB_EIO,
                                  "cannot create a scratch file in %s: %s",
                                  dir, why);
        free(path);
        return err;
    }
    close(fd);
    *out = path;
    return 0;
}

static void remove_copy(const char *path)
{
    static const char *const suffixes[] = {"", "-journal", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        char *p = with_suffix(path, suffixes[i]);
        if (p)
            unlink(p);
        free(p);
    }
}

static void sqlite_close(plumb_sql_db_t *base)
{
    sqlite_db_t *db = (sqlite_db_t *)base;
    sqlite3_close(db->db);
    if (db->path)
        remove_copy(db->path);
    free(db->path);
    free(db);
}

int plumb__sql_sqlite_open(const char *path, plumb_sql_db_t **out,
                           char **errmsg)
{
    char resolved[PATH_MAX], why[128];
    struct stat sb;
    int err = 0;
    sqlite_db_t *db = NULL;

    if (!realpath(path, resolved) || stat(resolved, &sb) != 0) {
        int e = errno;
        errno_text(e, why, sizeof why);
        if (e == ENOENT || e == ENOTDIR)
            return plumb__sql_fail(errmsg, PLUMB_ENOTFOUND,
                                   "%s: no such file", path);
        return plumb__sql_fail(errmsg,
                               e == EACCES ? PLUMB_EACCESS : PLUMB_EIO,
                               "%s: %s", path, why);
    }
    if (!S_ISREG(sb.st_mode))
        return plumb__sql_fail(errmsg, PLUMB_EIO,
                               "%s: not a SQLite file but a %s", path,
                               S_ISDIR(sb.st_mode) ? "directory"
                                                   : "special file");
    if (access(resolved, R_OK) != 0)
        return plumb__sql_fail(errmsg, PLUMB_EACCESS,
                               "%s: permission denied", path);

    db = calloc(1, sizeof *db);
    if (!db)
        return plumb__sql_fail(errmsg, PLUMB_ENOMEM, "out of memory");
    db->base.ops = &sqlite_ops;
    db->base.engine = PLUMB_SQL_SQLITE;
    err = make_temp_file(&db->path, errmsg);
    if (err)
        goto out;
    if (sqlite3_open_v2(db->path, &db->db, SQLITE_OPEN_READWRITE, NULL) !=
        SQLITE_OK) {
        err = plumb__sql_fail(errmsg, PLUMB_EIO,
                              "cannot open the scratch file %s: %s", db->path,
                              db->db ? sqlite3_errmsg(db->db)
                                     : "out of memory");
        goto out;
    }
    sqlite3_busy_timeout(db->db, SQLITE_BUSY_TIMEOUT_MS);
    /* A replayed ATTACH would let the statements after it write another
     * of the user's files. */
    sqlite3_limit(db->db, SQLITE_LIMIT_ATTACHED, 0);
    err = copy_database(db->db, resolved, errmsg);
out:
    if (err) {
        sqlite_close(&db->base);
        return err;
    }
    *out = &db->base;
    return 0;
}

/* ---- statements --------------------------------------------------------- */

/* The error of the statement just run, naming it. */
static int fail_sql(sqlite_db_t *db, const char *sql, char **errmsg)
{
    char snippet[PLUMB__SQL_SNIPPET];
    int rc = sqlite3_errcode(db->db);
    return plumb__sql_fail(errmsg, rc == SQLITE_NOMEM ? PLUMB_ENOMEM
                                                      : PLUMB_EIO,
                           "%s: %s", plumb__sql_snippet(sql, snippet),
                           sqlite3_errmsg(db->db));
}

static int sqlite_exec(plumb_sql_db_t *base, const char *sql, char **errmsg)
{
    sqlite_db_t *db = (sqlite_db_t *)base;
    if (sqlite3_exec(db->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return fail_sql(db, sql, errmsg);
    return 0;
}

/* The index of the parameter called name: as given when it carries its
 * prefix, else ":name", "@name", then "$name". 0 when there is none. */
static int parameter_index(sqlite3_stmt *stmt, const char *name)
{
    if (name[0] == ':' || name[0] == '@' || name[0] == '$') {
        int i = sqlite3_bind_parameter_index(stmt, name);
        if (i)
            return i;
    }
    size_t n = strlen(name);
    char small[128], *full = n + 2 <= sizeof small ? small : malloc(n + 2);
    if (!full)
        return 0;
    int index = 0;
    for (const char *prefix = ":@$"; *prefix && !index; prefix++) {
        full[0] = *prefix;
        memcpy(full + 1, name, n + 1);
        index = sqlite3_bind_parameter_index(stmt, full);
    }
    if (full != small)
        free(full);
    return index;
}

static int bind_params(sqlite_db_t *db, sqlite3_stmt *stmt, const char *sql,
                       const plumb_sql_value_t *params, size_t n_params,
                       char **errmsg)
{
    char snippet[PLUMB__SQL_SNIPPET];
    int positional = 0, count = sqlite3_bind_parameter_count(stmt);
    for (size_t i = 0; i < n_params; i++) {
        const plumb_sql_value_t *v = &params[i];
        int index;
        if (v->name) {
            index = parameter_index(stmt, v->name);
            if (!index)
                return plumb__sql_fail(errmsg, PLUMB_EIO,
                                       "%s: no parameter named %s",
                                       plumb__sql_snippet(sql, snippet),
                                       v->name);
        } else {
            index = ++positional;
            if (index > count)
                return plumb__sql_fail(
                    errmsg, PLUMB_EIO,
                    "%s: takes %d parameter%s, given more",
                    plumb__sql_snippet(sql, snippet), count,
                    count == 1 ? "" : "s");
        }
        int rc = SQLITE_OK;
        switch (v->type) {
        case PLUMB_SQL_NULL:
            rc = sqlite3_bind_null(stmt, index);
            break;
        case PLUMB_SQL_INTEGER:
            rc = sqlite3_bind_int64(stmt, index, v->integer);
            break;
        case PLUMB_SQL_REAL:
            rc = sqlite3_bind_double(stmt, index, v->real);
            break;
        case PLUMB_SQL_TEXT:
            /* A NULL pointer would bind NULL, not the empty string. */
            rc = sqlite3_bind_text64(stmt, index, v->len ? v->bytes : "",
                                     v->len, SQLITE_STATIC, SQLITE_UTF8);
            break;
        case PLUMB_SQL_BLOB:
            rc = sqlite3_bind_blob64(stmt, index, v->len ? v->bytes : "",
                                     v->len, SQLITE_STATIC);
            break;
        }
        if (rc != SQLITE_OK)
            return fail_sql(db, sql, errmsg);
    }
    return 0;
}

/* Prepares sql (one statement) with params bound. */
static int prepare_bound(sqlite_db_t *db, const char *sql,
                         const plumb_sql_value_t *params, size_t n_params,
                         sqlite3_stmt **stmt, char **errmsg)
{
    char snippet[PLUMB__SQL_SNIPPET];
    const char *tail = NULL;
    *stmt = NULL;
    if (sqlite3_prepare_v2(db->db, sql, -1, stmt, &tail) != SQLITE_OK)
        return fail_sql(db, sql, errmsg);
    if (!*stmt)
        return plumb__sql_fail(errmsg, PLUMB_EIO, "%s: no statement",
                               plumb__sql_snippet(sql, snippet));
    if (plumb__sql_has_more(tail))
        return plumb__sql_fail(errmsg, PLUMB_EIO,
                               "%s: more than one statement",
                               plumb__sql_snippet(sql, snippet));
    return bind_params(db, *stmt, sql, params, n_params, errmsg);
}

static uint64_t row_hash(sqlite3_stmt *stmt, int columns)
{
    plumb__sql_row_hash_t h;
    plumb__sql_row_begin(&h);
    for (int c = 0; c < columns; c++) {
        switch (sqlite3_column_type(stmt, c)) {
        case SQLITE_INTEGER:
            plumb__sql_row_add_int(&h, sqlite3_column_int64(stmt, c));
            break;
        case SQLITE_FLOAT:
            plumb__sql_row_add_real(&h, sqlite3_column_double(stmt, c));
            break;
        case SQLITE_TEXT: {
            const unsigned char *text = sqlite3_column_text(stmt, c);
            plumb__sql_row_add(&h, PLUMB_SQL_TEXT, text,
                               (size_t)sqlite3_column_bytes(stmt, c));
            break;
        }
        case SQLITE_BLOB: {
            const void *blob = sqlite3_column_blob(stmt, c);
            plumb__sql_row_add(&h, PLUMB_SQL_BLOB, blob,
                               (size_t)sqlite3_column_bytes(stmt, c));
            break;
        }
        default:
            plumb__sql_row_add(&h, PLUMB_SQL_NULL, NULL, 0);
            break;
        }
    }
    return plumb__sql_row_end(&h);
}

static int sqlite_run(plumb_sql_db_t *base, const char *sql,
                      const plumb_sql_value_t *params, size_t n_params,
                      plumb_sql_result_t *res, char **errmsg)
{
    sqlite_db_t *db = (sqlite_db_t *)base;
    sqlite3_stmt *stmt = NULL;
    int64_t rows = 0;
    uint64_t digest = 0;
    int rc;

    int64_t start = plumb_clock_now_ns();
    int err = prepare_bound(db, sql, params, n_params, &stmt, errmsg);
    if (err)
        goto out;
    int columns = sqlite3_column_count(stmt);
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        digest += row_hash(stmt, columns);
        rows++;
    }
    if (rc != SQLITE_DONE) {
        err = fail_sql(db, sql, errmsg);
        goto out;
    }
    if (columns == 0)
        rows = sqlite3_changes(db->db);
    res->wall_ns = plumb_clock_now_ns() - start;
    res->rows = rows;
    res->digest = digest;
out:
    sqlite3_finalize(stmt);
    return err;
}

static int sqlite_explain(plumb_sql_db_t *base, const char *sql,
                          const plumb_sql_value_t *params, size_t n_params,
                          plumb_sql_plan_t *plan, char **errmsg)
{
    sqlite_db_t *db = (sqlite_db_t *)base;
    sqlite3_stmt *stmt = NULL;
    size_t start = plan->n_steps;
    int rc;
    char *explain = with_suffix("EXPLAIN QUERY PLAN ", sql);
    if (!explain)
        return plumb__sql_fail(errmsg, PLUMB_ENOMEM, "out of memory");
    int err = prepare_bound(db, explain, params, n_params, &stmt, errmsg);
    if (err)
        goto out;
    /* id, parent, notused, detail since 3.24; selectid, order, from,
     * detail before. */
    if (sqlite3_column_count(stmt) < 4) {
        char snippet[PLUMB__SQL_SNIPPET];
        err = plumb__sql_fail(errmsg, PLUMB_EPARSE,
                              "%s: EXPLAIN QUERY PLAN gave %d columns",
                              plumb__sql_snippet(sql, snippet),
                              sqlite3_column_count(stmt));
        goto out;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const unsigned char *detail = sqlite3_column_text(stmt, 3);
        err = plumb_sql_plan_add_sqlite(plan,
                                        detail ? (const char *)detail : "");
        if (err) {
            plumb__sql_fail(errmsg, err, "out of memory");
            goto out;
        }
    }
    if (rc != SQLITE_DONE)
        err = fail_sql(db, explain, errmsg);
out:
    if (err)
        plumb__sql_plan_truncate(plan, start);
    sqlite3_finalize(stmt);
    free(explain);
    return err;
}

/* One integer from sql with an optional text parameter; SQLite's code. */
static int query_int(sqlite_db_t *db, const char *sql, const char *param,
                     int64_t *value, int *found)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db->db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK && param)
        rc = sqlite3_bind_text(stmt, 1, param, -1, SQLITE_STATIC);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (found)
            *found = rc == SQLITE_ROW &&
                     sqlite3_column_type(stmt, 0) != SQLITE_NULL;
        if (rc == SQLITE_ROW)
            *value = sqlite3_column_int64(stmt, 0);
        rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK
                                                   : sqlite3_errcode(db->db);
    }
    sqlite3_finalize(stmt);
    return rc;
}

static int index_exists(sqlite_db_t *db, const char *name, char **errmsg)
{
    int64_t one = 0;
    int found = 0;
    if (query_int(db,
                  "SELECT 1 FROM sqlite_master WHERE type = 'index' AND "
                  "name = ?1 COLLATE NOCASE",
                  name, &one, &found) != SQLITE_OK)
        return plumb__sql_fail(errmsg, PLUMB_EIO, "cannot look up index %s: %s",
                               name, sqlite3_errmsg(db->db));
    if (!found)
        return plumb__sql_fail(errmsg, PLUMB_ENOTFOUND, "no index named %s",
                               name);
    return 0;
}

int plumb__sql_sqlite_index_bytes_by_drop(plumb_sql_db_t *base,
                                          const char *name, int64_t *bytes,
                                          char **errmsg)
{
    assert(base->engine == PLUMB_SQL_SQLITE);
    sqlite_db_t *db = (sqlite_db_t *)base;
    int64_t pages_before = 0, free_before = 0, pages_after = 0,
            free_after = 0, page_size = 0;
    int err = index_exists(db, name, errmsg);
    if (err)
        return err;
    char *quoted = plumb__sql_quote_ident(name);
    char *drop = quoted ? with_suffix("DROP INDEX ", quoted) : NULL;
    free(quoted);
    if (!drop)
        return plumb__sql_fail(errmsg, PLUMB_ENOMEM, "out of memory");
    if (sqlite3_exec(db->db, "SAVEPOINT plumb_measure", NULL, NULL, NULL) !=
        SQLITE_OK) {
        err = fail_sql(db, "SAVEPOINT plumb_measure", errmsg);
        goto out;
    }
    /* Dropped pages go to the free list; with auto_vacuum they may leave
     * the file instead: count both. */
    if (query_int(db, "PRAGMA page_count", NULL, &pages_before, NULL) ||
        query_int(db, "PRAGMA freelist_count", NULL, &free_before, NULL) ||
        sqlite3_exec(db->db, drop, NULL, NULL, NULL) != SQLITE_OK ||
        query_int(db, "PRAGMA page_count", NULL, &pages_after, NULL) ||
        query_int(db, "PRAGMA freelist_count", NULL, &free_after, NULL) ||
        query_int(db, "PRAGMA page_size", NULL, &page_size, NULL))
        err = fail_sql(db, drop, errmsg);
    sqlite3_exec(db->db,
                 "ROLLBACK TO plumb_measure; RELEASE plumb_measure", NULL,
                 NULL, NULL);
    if (!err)
        *bytes = ((free_after - free_before) + (pages_before - pages_after)) *
                 page_size;
out:
    free(drop);
    return err;
}

static int sqlite_index_bytes(plumb_sql_db_t *base, const char *name,
                              int64_t *bytes, char **errmsg)
{
    sqlite_db_t *db = (sqlite_db_t *)base;
    sqlite3_stmt *stmt = NULL;
    int err = index_exists(db, name, errmsg);
    if (err)
        return err;
    /* Without SQLITE_ENABLE_DBSTAT_VTAB there is no dbstat table. */
    if (sqlite3_prepare_v2(db->db,
                           "SELECT sum(pgsize) FROM dbstat WHERE name = "
                           "(SELECT name FROM sqlite_master WHERE type = "
                           "'index' AND name = ?1 COLLATE NOCASE)",
                           -1, &stmt, NULL) != SQLITE_OK)
        return plumb__sql_sqlite_index_bytes_by_drop(base, name, bytes,
                                                     errmsg);
    sqlite3_bind_text(stmt, 1, name, -1, SQLITE_STATIC);
    int rc = sqlite3_step(stmt);
    if (rc == SQLITE_ROW)
        *bytes = sqlite3_column_int64(stmt, 0);
    else
        err = fail_sql(db, "SELECT sum(pgsize) FROM dbstat", errmsg);
    sqlite3_finalize(stmt);
    return err;
}

static const plumb__sql_db_ops_t sqlite_ops = {
    sqlite_close, sqlite_exec, sqlite_run, sqlite_explain, sqlite_index_bytes,
};
