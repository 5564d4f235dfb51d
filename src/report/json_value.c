/* json_value.c: the values both of plumb's own JSON documents (a session's,
 * json.c, and a profile's, profile_json.c) are made of, so that they follow
 * one set of conventions (docs/json.md): null for what does not exist,
 * U+FFFD for bytes that are not UTF-8, and one way to check that every
 * allocation along the way succeeded. The shape of each document is its
 * renderer's. */
#include "report/report.h"
#include "utf8.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

json_t *plumb__json_text(const char *s)
{
    if (!s)
        return json_null();
    if (plumb__utf8_valid(s))
        return json_string(s);
    /* commands, names and file names need not be UTF-8 */
    char *repaired = malloc(3 * strlen(s) + 1);
    if (!repaired)
        return NULL;
    plumb__utf8_repair_into(s, repaired);
    json_t *v = json_string(repaired);
    free(repaired);
    return v;
}

json_t *plumb__json_known_text(const char *s)
{
    return s && *s ? plumb__json_text(s) : json_null();
}

json_t *plumb__json_number(double v)
{
    return isfinite(v) ? json_real(v) : json_null();
}

json_t *plumb__json_count(uint64_t v)
{
    return json_integer((json_int_t)v);
}

int plumb__json_put(json_t *obj, const char *key, json_t *value)
{
    return value ? json_object_set_new(obj, key, value) : -1;
}

int plumb__json_push(json_t *array, json_t *value)
{
    return value ? json_array_append_new(array, value) : -1;
}

json_t *plumb__json_finish(json_t *value, int failed)
{
    if (failed) {
        json_decref(value);
        return NULL;
    }
    return value;
}

/* jansson hands the encoded text over in pieces; they go straight into the
 * report's buffer, without a second copy of the whole document. */
static int append_to_buf(const char *text, size_t size, void *data)
{
    plumb__buf_t *b = data;
    plumb__buf_append(b, text, size);
    return b->failed ? -1 : 0;
}

int plumb__json_dump(const json_t *doc, plumb__buf_t *b)
{
    if (json_dump_callback(doc, append_to_buf, b,
                           JSON_INDENT(2) | JSON_PRESERVE_ORDER) != 0)
        return PLUMB_ENOMEM;
    plumb__buf_puts(b, "\n");
    return b->failed ? PLUMB_ENOMEM : 0;
}
