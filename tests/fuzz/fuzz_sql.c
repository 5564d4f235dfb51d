/* fuzz_sql.c: libFuzzer target for src/sql.c, the reader of SQL text that
 * comes from the traced program: any bytes must fingerprint, read into
 * accesses (or none), give index candidates and a batched form or
 * PLUMB_ENOTFOUND, without a crash, a leak or undefined behaviour. Beyond
 * that it checks what must hold for every input: the id is FNV-1a of the
 * text; fingerprinting a fingerprint changes nothing (so the text is a
 * fixed point: its own tokens, spaced by the rule); no access names a
 * column twice in a list or as both equality and range; candidates are
 * distinct, named in at most 63 bytes of [a-z0-9_]; and the batched form
 * of the fingerprint is the batched form of the statement. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plumb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint64_t fnv1a(const char *s)
{
    uint64_t h = UINT64_C(14695981039346656037);
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

static void check_names(char **v, size_t n, char **other, size_t n_other)
{
    for (size_t i = 0; i < n; i++) {
        assert(v[i]);
        for (size_t j = 0; j < i; j++)
            assert(strcmp(v[i], v[j]) != 0);
        for (size_t j = 0; j < n_other; j++)
            assert(strcmp(v[i], other[j]) != 0);
    }
}

static void check_candidates(const plumb_sql_index_t *ix, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        assert(ix[i].table && ix[i].n_columns > 0 && ix[i].name &&
               ix[i].create_sql);
        assert(strlen(ix[i].name) <= 63);
        for (const char *c = ix[i].name; *c; c++)
            assert((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
                   *c == '_');
        assert(strncmp(ix[i].create_sql, "CREATE INDEX \"", 14) == 0);
        for (size_t j = 0; j < i; j++) {
            int same = strcmp(ix[i].table, ix[j].table) == 0 &&
                       ix[i].n_columns == ix[j].n_columns;
            for (size_t k = 0; same && k < ix[i].n_columns; k++)
                same = strcmp(ix[i].columns[k], ix[j].columns[k]) == 0;
            assert(!same);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *sql = malloc(size + 1);
    if (!sql)
        return 0;
    memcpy(sql, data, size);
    sql[size] = '\0';

    plumb_sql_fingerprint_t fp, again;
    int err = plumb_sql_fingerprint(sql, &fp);
    assert(err == 0 || err == PLUMB_ENOMEM);
    if (err == 0) {
        assert(fp.text && fp.id == fnv1a(fp.text));
        assert(fp.kind <= PLUMB_SQL_DELETE);
        assert(strcmp(plumb_sql_kind_name(fp.kind), "?") != 0);
        if (plumb_sql_fingerprint(fp.text, &again) == 0) {
            assert(strcmp(again.text, fp.text) == 0);
            assert(again.id == fp.id && again.kind == fp.kind);
            assert(again.n_literals == 0);
            plumb_sql_fingerprint_close(&again);
        }
    }

    plumb_sql_access_t *a = NULL;
    size_t n = 0;
    err = plumb_sql_accesses(sql, &a, &n);
    assert(err == 0 || err == PLUMB_ENOMEM);
    assert((n == 0) == (a == NULL));
    for (size_t i = 0; i < n; i++) {
        assert(a[i].table);
        check_names(a[i].eq, a[i].n_eq, NULL, 0);
        check_names(a[i].range, a[i].n_range, a[i].eq, a[i].n_eq);
        check_names(a[i].order, a[i].n_order, NULL, 0);
    }
    plumb_sql_index_t *ix = NULL;
    size_t n_ix = 0;
    err = plumb_sql_index_candidates(a, n, &ix, &n_ix);
    assert(err == 0 || err == PLUMB_ENOMEM);
    check_candidates(ix, n_ix);
    plumb_sql_index_free(ix, n_ix);
    plumb_sql_accesses_free(a, n);

    char *batched = NULL, *batched_again = NULL;
    err = plumb_sql_batched(sql, &batched);
    assert(err == 0 || err == PLUMB_ENOTFOUND || err == PLUMB_ENOMEM);
    assert((err == 0) == (batched != NULL));
    if (batched) {
        assert(strstr(batched, "IN (?, ?, ...)"));
        if (fp.text) {
            err = plumb_sql_batched(fp.text, &batched_again);
            assert(err == 0 || err == PLUMB_ENOMEM);
            assert(!batched_again || strcmp(batched, batched_again) == 0);
        }
    } else if (fp.text) {
        assert(plumb_sql_batched(fp.text, &batched_again) != 0);
    }
    free(batched);
    free(batched_again);
    plumb_sql_fingerprint_close(&fp);
    free(sql);
    return 0;
}
