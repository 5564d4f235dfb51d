/* json_value.c: the values plumb's own JSON documents (a session's,
 * json.c, a profile's, profile_json.c, and a memory profile's,
 * mem_json.c) are made of, so that they follow one set of conventions
 * (docs/json.md): null for what does not exist, U+FFFD for bytes that are
 * not UTF-8, and one way to check that every allocation along the way
 * succeeded; and the list of stacks both kinds of profile end with. The
 * shape of each document is its renderer's. */
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

static json_t *frame_json(const plumb_frame_t *f)
{
    json_t *o = json_object();
    if (!o)
        return NULL;
    int failed = 0;
    failed |= plumb__json_put(o, "function", plumb__json_text(f->function));
    failed |= plumb__json_put(o, "file", plumb__json_known_text(f->file));
    failed |= plumb__json_put(o, "line", f->line > 0 ? json_integer(f->line)
                                                     : json_null());
    return plumb__json_finish(o, failed);
}

typedef struct {
    json_t *stacks;
    const char *count_key;
} stacks_arg_t;

/* plumb_stack_each's visitor: appends one stack to the list. */
static int add_stack(const plumb_stack_path_t *path, void *arg)
{
    const stacks_arg_t *a = arg;
    json_t *o = json_object(), *frames = json_array();
    int failed = !o || !frames;
    for (size_t i = 0; i < path->n_frames && !failed; i++)
        failed |= plumb__json_push(frames, frame_json(&path->frames[i]));
    if (failed) {
        json_decref(frames);
        json_decref(o);
        return PLUMB_ENOMEM;
    }
    failed |= plumb__json_put(o, "thread", plumb__json_text(path->thread));
    failed |= plumb__json_put(o, "frames", frames);
    failed |= plumb__json_put(o, a->count_key, plumb__json_count(path->count));
    failed |= plumb__json_put(o, "truncated", json_boolean(path->truncated));
    if (plumb__json_push(a->stacks, plumb__json_finish(o, failed)) < 0)
        return PLUMB_ENOMEM;
    return 0;
}

json_t *plumb__json_stacks(const plumb_stack_t *st, const char *count_key)
{
    stacks_arg_t a = {json_array(), count_key};
    if (!a.stacks)
        return NULL;
    int err = plumb_stack_each(st, add_stack, &a);
    return plumb__json_finish(a.stacks, err != 0);
}
