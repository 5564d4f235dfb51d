/* fuzz_sql_trace.c: libFuzzer target for src/sql_trace.c, the reader of
 * the trace another process (the tracer in the program) writes, and the
 * splitter of a user's script: any bytes must be read as a trace or
 * refused with PLUMB_EPARSE and a sentence, and split into statements or
 * refused with PLUMB_EINVAL, without a crash, a leak or undefined
 * behaviour. A trace read must hold what the reader promises: each
 * statement on a known connection, its counts consistent. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plumb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    plumb_sql_trace_t *t = NULL;
    char why[256];
    int err = plumb_sql_trace_from_json(text, &t, why, sizeof why);
    assert(err == 0 || err == PLUMB_EPARSE || err == PLUMB_ENOMEM);
    assert((err == 0) == (t != NULL));
    assert(err != PLUMB_EPARSE || why[0]);
    for (size_t i = 0; t && i < t->n_statements; i++) {
        const plumb_sql_statement_t *s = &t->statements[i];
        int known = 0;
        for (size_t c = 0; c < t->n_connections; c++)
            known |= t->connections[c].id == s->conn;
        assert(known && s->sql && s->calls >= 1 && s->errors <= s->calls);
        assert(s->min_ns <= s->max_ns && s->max_ns <= s->total_ns);
    }
    plumb_sql_trace_free(t);
    t = NULL;
    err = plumb_sql_trace_from_script(text, "fuzz.sql", "fuzz.db", &t);
    assert(err == 0 || err == PLUMB_EINVAL || err == PLUMB_ENOMEM);
    for (size_t i = 0; t && i < t->n_statements; i++)
        assert(t->statements[i].sql[0] && t->statements[i].line >= 1);
    plumb_sql_trace_free(t);
    free(text);
    return 0;
}
