/* stack.c: aggregated stacks. It owns the trie of samples (one subtree per
 * thread label, outermost frame first), the interned copies of every string
 * it is given, and the views of it: collapsed stacks (FlameGraph,
 * inferno), the top functions or lines, every distinct stack one by one
 * (for plumb's own JSON) and speedscope's JSON. It does not
 * read stacks out of a process (the sampler does), keep them (the store
 * does) or decide how a view is shown (the clients do).
 *
 * Adding a stack already seen is O(depth) and allocates nothing: each string
 * is found through a small cache of the caller's string addresses (a hit is
 * one string comparison) or else the intern table (one hash of its bytes),
 * and each step down the trie is one probe of the edge table, keyed by
 * (parent, function, file, line) with interned pointers, so that key
 * comparison is pointer comparison.
 * Nodes live in one array and are only ever appended, so a parent's index is
 * always below its children's: the views use that to sum subtrees in one
 * backward pass, without recursion (a stack may be thousands deep).
 *
 * A stack is used by one thread at a time; the views only read it.
 */
#include "stack.h"
#include "utf8.h"

#include <assert.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE_NONE UINT32_MAX
#define NODE_ROOT 0u
/* Node indices are uint32_t and NODE_NONE is reserved. */
#define NODE_MAX (UINT32_MAX - 1u)
#define TABLE_MIN_SLOTS 64u
/* Size of the cache of recent string addresses: the sampler hands over the
 * same few hundred names (its own cached copies) sample after sample. */
#define STACK_RECENT_SLOTS 1024u

static const char truncated_name[] = "[truncated]";
static const char unknown_function[] = "[unknown]";
static const char unnamed_thread[] = "[unnamed thread]";

/* One node of the trie. Under the root, a thread: `function` is its label
 * and `file` NULL. Below, a frame. */
typedef struct {
    const char *function; /* interned */
    const char *file;     /* interned; NULL for a thread */
    int line;
    uint32_t parent, first_child, next_sibling;
    uint64_t self; /* samples whose innermost frame is this node */
} stack_node_t;

/* An interned string, with its hash so that growing the table rehashes
 * nothing. */
typedef struct {
    uint64_t hash;
    size_t len;
    char *str;
} intern_slot_t;

struct plumb_stack {
    stack_node_t *nodes;
    uint32_t n_nodes, cap_nodes;
    /* Open addressing, linear probing: node index + 1, 0 for empty. */
    uint32_t *edges;
    size_t cap_edges; /* a power of two */
    intern_slot_t *strings;
    size_t n_strings, cap_strings, string_bytes;
    const char *truncated; /* interned "[truncated]" and "" */
    const char *empty;
    uint64_t total;
    /* Caller's string address -> interned copy, direct-mapped. A hit is
     * trusted only when the copy still equals the caller's string, so a
     * caller that reuses a buffer for another name gets a miss, never a
     * wrong name. */
    struct {
        uintptr_t given; /* an address only: never read through */
        const char *interned;
    } recent[STACK_RECENT_SLOTS];
};

/* ---- allocation --------------------------------------------------------- */

/* Tests make the nth allocation from now fail (plumb__stack_fail_alloc) to
 * walk every out-of-memory path; 0, the default, fails none. Only tests set
 * it, and only while no other thread uses a stack. */
static unsigned long alloc_countdown;

unsigned long plumb__stack_fail_alloc(unsigned long nth)
{
    unsigned long left = alloc_countdown;
    alloc_countdown = nth;
    return left;
}

static int alloc_fails(void)
{
    return alloc_countdown && --alloc_countdown == 0;
}

static void *stack_malloc(size_t size)
{
    return alloc_fails() ? NULL : malloc(size);
}

static void *stack_calloc(size_t n, size_t size)
{
    return alloc_fails() ? NULL : calloc(n, size);
}

static void *stack_realloc(void *p, size_t size)
{
    return alloc_fails() ? NULL : realloc(p, size);
}

/* ---- hashing ------------------------------------------------------------ */

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* Eight bytes at a time: a string missing from the lookup cache is hashed
 * on every sample, so a byte-at-a-time hash would be the cost of adding a
 * stack. The last word overlaps the one before rather than being copied
 * byte by byte into a buffer (which stalls the load that follows). */
static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = UINT64_C(0x9e3779b97f4a7c15) ^ len;
    uint64_t k;
    if (len < 8) {
        k = 0;
        for (size_t i = 0; i < len; i++)
            k = (k << 8) | (unsigned char)s[i];
        return mix64(h ^ k);
    }
    for (size_t i = 0; i + 8 < len; i += 8) {
        memcpy(&k, s + i, 8);
        h = (h ^ k) * UINT64_C(0xff51afd7ed558ccd);
        h ^= h >> 32;
    }
    memcpy(&k, s + len - 8, 8);
    return mix64(h ^ k);
}

/* The four products are independent, so they overlap; one mix at the end
 * spreads them over the low bits that pick a slot. */
static uint64_t hash_key(uintptr_t a, uintptr_t b, uintptr_t c, int64_t d)
{
    uint64_t h = (uint64_t)a * UINT64_C(0x9e3779b97f4a7c15) ^
                 (uint64_t)b * UINT64_C(0xc2b2ae3d27d4eb4f) ^
                 (uint64_t)c * UINT64_C(0x165667b19e3779f9) ^
                 (uint64_t)d * UINT64_C(0xd6e8feb86659fd93);
    return mix64(h);
}

/* ---- interned strings --------------------------------------------------- */

static int strings_grow(plumb_stack_t *st)
{
    size_t cap = st->cap_strings ? st->cap_strings * 2 : TABLE_MIN_SLOTS;
    intern_slot_t *slots = stack_calloc(cap, sizeof *slots);
    if (!slots)
        return PLUMB_ENOMEM;
    for (size_t i = 0; i < st->cap_strings; i++) {
        if (!st->strings[i].str)
            continue;
        size_t j = st->strings[i].hash & (cap - 1);
        while (slots[j].str)
            j = (j + 1) & (cap - 1);
        slots[j] = st->strings[i];
    }
    free(st->strings);
    st->strings = slots;
    st->cap_strings = cap;
    return 0;
}

/* The stack's one copy of s, made on first sight. */
static int intern_lookup(plumb_stack_t *st, const char *s, const char **out)
{
    assert(st->cap_strings && !(st->cap_strings & (st->cap_strings - 1)));
    size_t len = strlen(s);
    uint64_t h = hash_bytes(s, len);
    size_t mask = st->cap_strings - 1;
    size_t i = h & mask;
    for (; st->strings[i].str; i = (i + 1) & mask) {
        if (st->strings[i].hash == h && st->strings[i].len == len &&
            memcmp(st->strings[i].str, s, len) == 0) {
            *out = st->strings[i].str;
            return 0;
        }
    }
    /* Not seen: grow first (at most 3/4 full), then probe again. */
    if ((st->n_strings + 1) * 4 > st->cap_strings * 3) {
        if (strings_grow(st) < 0)
            return PLUMB_ENOMEM;
        mask = st->cap_strings - 1;
        for (i = h & mask; st->strings[i].str; i = (i + 1) & mask)
            ;
    }
    char *copy = stack_malloc(len + 1);
    if (!copy)
        return PLUMB_ENOMEM;
    memcpy(copy, s, len + 1);
    st->strings[i].hash = h;
    st->strings[i].len = len;
    st->strings[i].str = copy;
    st->n_strings++;
    st->string_bytes += len + 1;
    *out = copy;
    return 0;
}

/* intern_lookup behind the cache of recent addresses: a hit costs a string
 * comparison instead of a hash and a probe. */
static int intern(plumb_stack_t *st, const char *s, const char **out)
{
    uintptr_t given = (uintptr_t)s;
    uint64_t h = (uint64_t)given * UINT64_C(0x9e3779b97f4a7c15);
    size_t slot = (size_t)(h >> 54) & (STACK_RECENT_SLOTS - 1);
    if (st->recent[slot].given == given &&
        strcmp(st->recent[slot].interned, s) == 0) {
        *out = st->recent[slot].interned;
        return 0;
    }
    int err = intern_lookup(st, s, out);
    if (err < 0)
        return err;
    st->recent[slot].given = given;
    st->recent[slot].interned = *out;
    return 0;
}

/* ---- the trie ----------------------------------------------------------- */

static uint64_t node_hash(uint32_t parent, const char *function,
                          const char *file, int line)
{
    return hash_key(parent, (uintptr_t)function, (uintptr_t)file, line);
}

static int edges_grow(plumb_stack_t *st)
{
    size_t cap = st->cap_edges * 2;
    uint32_t *slots = stack_calloc(cap, sizeof *slots);
    if (!slots)
        return PLUMB_ENOMEM;
    for (uint32_t n = 1; n < st->n_nodes; n++) {
        const stack_node_t *node = &st->nodes[n];
        size_t j = node_hash(node->parent, node->function, node->file,
                             node->line) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = n + 1;
    }
    free(st->edges);
    st->edges = slots;
    st->cap_edges = cap;
    return 0;
}

/* The child of `parent` for (function, file, line), made when missing. */
static int child(plumb_stack_t *st, uint32_t parent, const char *function,
                 const char *file, int line, uint32_t *out)
{
    assert(parent < st->n_nodes);
    uint64_t h = node_hash(parent, function, file, line);
    size_t mask = st->cap_edges - 1;
    size_t i = h & mask;
    for (; st->edges[i]; i = (i + 1) & mask) {
        const stack_node_t *node = &st->nodes[st->edges[i] - 1];
        if (node->parent == parent && node->function == function &&
            node->file == file && node->line == line) {
            *out = st->edges[i] - 1;
            return 0;
        }
    }
    if (st->n_nodes >= NODE_MAX)
        return PLUMB_ENOMEM;
    if (st->n_nodes == st->cap_nodes) {
        uint32_t cap = st->cap_nodes <= NODE_MAX / 2 ? st->cap_nodes * 2
                                                     : NODE_MAX;
        stack_node_t *nodes =
            stack_realloc(st->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes)
            return PLUMB_ENOMEM;
        st->nodes = nodes;
        st->cap_nodes = cap;
    }
    if (((size_t)st->n_nodes + 1) * 4 > st->cap_edges * 3) {
        if (edges_grow(st) < 0)
            return PLUMB_ENOMEM;
        mask = st->cap_edges - 1;
        for (i = h & mask; st->edges[i]; i = (i + 1) & mask)
            ;
    }
    uint32_t n = st->n_nodes++;
    stack_node_t *node = &st->nodes[n];
    node->function = function;
    node->file = file;
    node->line = line;
    node->parent = parent;
    node->first_child = NODE_NONE;
    node->next_sibling = st->nodes[parent].first_child;
    node->self = 0;
    st->nodes[parent].first_child = n;
    st->edges[i] = n + 1;
    *out = n;
    return 0;
}

/* ---- new, free, add ----------------------------------------------------- */

int plumb_stack_new(plumb_stack_t **out)
{
    if (!out)
        return PLUMB_EINVAL;
    *out = NULL;
    plumb_stack_t *st = stack_calloc(1, sizeof *st);
    if (!st)
        return PLUMB_ENOMEM;
    st->cap_nodes = TABLE_MIN_SLOTS;
    st->cap_edges = TABLE_MIN_SLOTS;
    st->nodes = stack_malloc(st->cap_nodes * sizeof *st->nodes);
    st->edges = stack_calloc(st->cap_edges, sizeof *st->edges);
    if (!st->nodes || !st->edges || strings_grow(st) < 0 ||
        intern(st, truncated_name, &st->truncated) < 0 ||
        intern(st, "", &st->empty) < 0) {
        plumb_stack_free(st);
        return PLUMB_ENOMEM;
    }
    st->nodes[NODE_ROOT] = (stack_node_t){
        .function = st->empty,
        .parent = NODE_NONE,
        .first_child = NODE_NONE,
        .next_sibling = NODE_NONE,
    };
    st->n_nodes = 1;
    *out = st;
    return 0;
}

void plumb_stack_free(plumb_stack_t *st)
{
    if (!st)
        return;
    for (size_t i = 0; i < st->cap_strings; i++)
        free(st->strings[i].str);
    free(st->strings);
    free(st->edges);
    free(st->nodes);
    free(st);
}

int plumb_stack_add(plumb_stack_t *st, const char *thread,
                    const plumb_frame_t *frames, size_t n, int truncated,
                    uint64_t count)
{
    if (!st || !thread || (n && !frames))
        return PLUMB_EINVAL;
    if (count == 0)
        return 0;
    const char *label;
    uint32_t cur;
    int err = intern(st, thread, &label);
    if (err < 0)
        return err;
    if ((err = child(st, NODE_ROOT, label, NULL, 0, &cur)) < 0)
        return err;
    if (truncated &&
        (err = child(st, cur, st->truncated, st->empty, 0, &cur)) < 0)
        return err;
    /* Consecutive frames often share the caller's file (and sometimes
     * function) pointer: within one call those strings cannot change, so
     * the last lookup is reused. */
    const char *last_function = NULL, *last_file = NULL;
    const char *function = NULL, *file = NULL;
    for (size_t i = n; i-- > 0;) {
        const char *f = frames[i].function ? frames[i].function
                                           : unknown_function;
        const char *p = frames[i].file ? frames[i].file : "";
        if (f != last_function) {
            if ((err = intern(st, f, &function)) < 0)
                return err;
            last_function = f;
        }
        if (p != last_file) {
            if ((err = intern(st, p, &file)) < 0)
                return err;
            last_file = p;
        }
        if ((err = child(st, cur, function, file, frames[i].line, &cur)) < 0)
            return err;
    }
    st->nodes[cur].self += count;
    st->total += count;
    return 0;
}

uint64_t plumb_stack_total(const plumb_stack_t *st)
{
    return st ? st->total : 0;
}

void plumb__stack_stats(const plumb_stack_t *st, plumb__stack_stats_t *out)
{
    memset(out, 0, sizeof *out);
    if (!st)
        return;
    out->nodes = st->n_nodes;
    out->strings = st->n_strings;
    out->string_bytes = st->string_bytes;
    out->capacity_bytes = sizeof *st +
                          (size_t)st->cap_nodes * sizeof *st->nodes +
                          st->cap_edges * sizeof *st->edges +
                          st->cap_strings * sizeof *st->strings +
                          st->string_bytes;
}

/* ---- helpers of the views ----------------------------------------------- */

/* An array of one uint32_t per node, for the views; NULL when out of
 * memory. The caller frees it. */
static uint32_t *per_node(const plumb_stack_t *st)
{
    return stack_malloc((size_t)st->n_nodes * sizeof(uint32_t));
}

/* Samples in each node's subtree: parents precede children in the array, so
 * one backward pass sums them. The caller frees the array. */
static uint64_t *subtree_counts(const plumb_stack_t *st)
{
    uint64_t *sub = stack_malloc((size_t)st->n_nodes * sizeof *sub);
    if (!sub)
        return NULL;
    for (uint32_t n = 0; n < st->n_nodes; n++)
        sub[n] = st->nodes[n].self;
    for (uint32_t n = st->n_nodes; n-- > 1;)
        sub[st->nodes[n].parent] += sub[n];
    return sub;
}

/* A set of distinct (function, file, line) keys numbered in order of first
 * sight: the entries of `top` and the frames of speedscope. */
typedef struct {
    plumb_frame_t *keys;
    size_t n, cap;
    uint32_t *slots; /* key index + 1, 0 for empty */
    size_t cap_slots;
} key_set_t;

static void key_set_free(key_set_t *ks)
{
    free(ks->keys);
    free(ks->slots);
}

static int key_set_grow(key_set_t *ks)
{
    size_t cap = ks->cap_slots ? ks->cap_slots * 2 : TABLE_MIN_SLOTS;
    uint32_t *slots = stack_calloc(cap, sizeof *slots);
    if (!slots)
        return PLUMB_ENOMEM;
    for (size_t k = 0; k < ks->n; k++) {
        const plumb_frame_t *key = &ks->keys[k];
        size_t j = hash_key((uintptr_t)key->function, (uintptr_t)key->file,
                            0, key->line) & (cap - 1);
        while (slots[j])
            j = (j + 1) & (cap - 1);
        slots[j] = (uint32_t)k + 1;
    }
    free(ks->slots);
    ks->slots = slots;
    ks->cap_slots = cap;
    return 0;
}

/* The index of (function, file, line), added when new. Strings are interned,
 * so they are compared by address. */
static int key_set_index(key_set_t *ks, const char *function,
                         const char *file, int line, uint32_t *out)
{
    if ((ks->n + 1) * 4 > ks->cap_slots * 3 && key_set_grow(ks) < 0)
        return PLUMB_ENOMEM;
    size_t mask = ks->cap_slots - 1;
    size_t i = hash_key((uintptr_t)function, (uintptr_t)file, 0, line) & mask;
    for (; ks->slots[i]; i = (i + 1) & mask) {
        const plumb_frame_t *key = &ks->keys[ks->slots[i] - 1];
        if (key->function == function && key->file == file &&
            key->line == line) {
            *out = ks->slots[i] - 1;
            return 0;
        }
    }
    if (ks->n == ks->cap) {
        size_t cap = ks->cap ? ks->cap * 2 : TABLE_MIN_SLOTS;
        plumb_frame_t *keys = stack_realloc(ks->keys, cap * sizeof *keys);
        if (!keys)
            return PLUMB_ENOMEM;
        ks->keys = keys;
        ks->cap = cap;
    }
    ks->keys[ks->n] = (plumb_frame_t){function, file, line};
    ks->slots[i] = (uint32_t)ks->n + 1;
    *out = (uint32_t)ks->n++;
    return 0;
}

/* A growable string; `failed` latches the first allocation failure so that
 * writers append freely and check once. */
typedef struct {
    char *data;
    size_t len, cap;
    int failed;
} text_t;

static void text_append(text_t *t, const char *s, size_t len)
{
    if (t->failed)
        return;
    if (t->len + len + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 256;
        while (cap < t->len + len + 1)
            cap *= 2;
        char *data = stack_realloc(t->data, cap);
        if (!data) {
            t->failed = 1;
            return;
        }
        t->data = data;
        t->cap = cap;
    }
    memcpy(t->data + t->len, s, len);
    t->len += len;
    t->data[t->len] = '\0';
}

/* Appends s with the characters that would break a collapsed line replaced:
 * ';' separates frames, so it becomes ':'; a newline or carriage return
 * ends the line, so it becomes a space. An empty name becomes `if_empty`,
 * as an empty frame is not one. */
static void text_append_escaped(text_t *t, const char *s, const char *if_empty)
{
    if (!*s)
        s = if_empty;
    const char *run = s;
    for (; *s; s++) {
        char c = *s;
        if (c != ';' && c != '\n' && c != '\r')
            continue;
        text_append(t, run, (size_t)(s - run));
        text_append(t, c == ';' ? ":" : " ", 1);
        run = s + 1;
    }
    text_append(t, run, (size_t)(s - run));
}

/* A frame as collapsed stacks write it: "function (file:line)", or the
 * function alone when neither file nor line is known (the "[truncated]"
 * marker). */
static void text_append_frame(text_t *t, const stack_node_t *node)
{
    text_append_escaped(t, node->function, unknown_function);
    if (!*node->file && node->line == 0)
        return;
    char line[16];
    int len = snprintf(line, sizeof line, ":%d)", node->line);
    text_append(t, " (", 2);
    text_append_escaped(t, node->file, "");
    text_append(t, line, (size_t)len);
}

/* ---- collapsed stacks --------------------------------------------------- */

static int compare_lines(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int plumb_stack_collapsed(const plumb_stack_t *st, char **out)
{
    if (!out)
        return PLUMB_EINVAL;
    *out = NULL;
    if (!st)
        return PLUMB_EINVAL;
    int err = PLUMB_ENOMEM;
    text_t lines = {0}, result = {0};
    size_t *starts = NULL, n_lines = 0;
    const char **sorted = NULL;
    uint32_t *path = per_node(st);
    if (!path)
        goto out;
    for (uint32_t n = 1; n < st->n_nodes; n++)
        n_lines += st->nodes[n].self > 0;
    starts = stack_malloc((n_lines ? n_lines : 1) * sizeof *starts);
    sorted = stack_malloc((n_lines ? n_lines : 1) * sizeof *sorted);
    if (!starts || !sorted)
        goto out;

    /* Every line, NUL-terminated, into one buffer (which may move while it
     * grows, hence offsets); then sorted, bytewise, for a deterministic
     * output whatever the order the stacks came in. */
    size_t line = 0;
    for (uint32_t n = 1; n < st->n_nodes; n++) {
        if (st->nodes[n].self == 0)
            continue;
        size_t depth = 0;
        for (uint32_t p = n; p != NODE_ROOT; p = st->nodes[p].parent)
            path[depth++] = p;
        starts[line++] = lines.len;
        /* path[depth - 1] is the thread. */
        text_append_escaped(&lines, st->nodes[path[depth - 1]].function,
                            unnamed_thread);
        for (size_t d = depth - 1; d-- > 0;) {
            text_append(&lines, ";", 1);
            text_append_frame(&lines, &st->nodes[path[d]]);
        }
        char count[32];
        int len = snprintf(count, sizeof count, " %" PRIu64,
                           st->nodes[n].self);
        text_append(&lines, count, (size_t)len + 1); /* with the NUL */
    }
    assert(line == n_lines);
    if (lines.failed)
        goto out;
    for (size_t i = 0; i < n_lines; i++)
        sorted[i] = lines.data + starts[i];
    qsort(sorted, n_lines, sizeof *sorted, compare_lines);
    text_append(&result, "", 0);
    for (size_t i = 0; i < n_lines; i++) {
        text_append(&result, sorted[i], strlen(sorted[i]));
        text_append(&result, "\n", 1);
    }
    if (result.failed)
        goto out;
    *out = result.data;
    result.data = NULL;
    err = 0;
out:
    free(result.data);
    free(lines.data);
    free(sorted);
    free(starts);
    free(path);
    return err;
}

/* ---- top functions and lines -------------------------------------------- */

static int compare_entries(const void *a, const void *b)
{
    const plumb_stack_entry_t *x = a, *y = b;
    if (x->self != y->self)
        return x->self > y->self ? -1 : 1;
    if (x->total != y->total)
        return x->total > y->total ? -1 : 1;
    int c = strcmp(x->function, y->function);
    if (c)
        return c;
    if ((c = strcmp(x->file, y->file)))
        return c;
    return (x->line > y->line) - (x->line < y->line);
}

int plumb_stack_top(const plumb_stack_t *st, int by_line,
                    plumb_stack_entry_t **out, size_t *n)
{
    if (!out || !n)
        return PLUMB_EINVAL;
    *out = NULL;
    *n = 0;
    if (!st)
        return PLUMB_EINVAL;
    int err = PLUMB_ENOMEM;
    key_set_t keys = {0};
    plumb_stack_entry_t *entries = NULL;
    uint32_t *on_path = NULL;
    uint32_t *entry_of = per_node(st);
    uint64_t *sub = subtree_counts(st);
    if (!entry_of || !sub)
        goto out;

    /* Frames are the nodes two levels down or more: not the root, not a
     * thread. A subtree without samples (left by an add that ran out of
     * memory) lists nothing. */
    for (uint32_t v = 1; v < st->n_nodes; v++) {
        const stack_node_t *node = &st->nodes[v];
        entry_of[v] = NODE_NONE;
        if (node->parent != NODE_ROOT && sub[v] > 0 &&
            key_set_index(&keys, node->function, node->file,
                          by_line ? node->line : 0, &entry_of[v]) < 0)
            goto out;
    }
    if (keys.n == 0) {
        err = 0;
        goto out;
    }
    entries = stack_calloc(keys.n, sizeof *entries);
    on_path = stack_calloc(keys.n, sizeof *on_path);
    if (!entries || !on_path)
        goto out;
    for (size_t k = 0; k < keys.n; k++) {
        entries[k].function = keys.keys[k].function;
        entries[k].file = keys.keys[k].file;
        entries[k].line = keys.keys[k].line;
    }

    /* Depth-first without a stack (first child, next sibling, parent). An
     * entry's total takes a node's subtree only when no ancestor on the path
     * is the same entry, so a recursive function counts each sample once. */
    uint32_t v = st->nodes[NODE_ROOT].first_child;
    while (v != NODE_NONE) {
        uint32_t e = entry_of[v];
        if (e != NODE_NONE) {
            if (on_path[e]++ == 0)
                entries[e].total += sub[v];
            entries[e].self += st->nodes[v].self;
        }
        if (st->nodes[v].first_child != NODE_NONE) {
            v = st->nodes[v].first_child;
            continue;
        }
        /* Leave v and every ancestor that has no next sibling. */
        while (v != NODE_ROOT) {
            if (entry_of[v] != NODE_NONE)
                on_path[entry_of[v]]--;
            if (st->nodes[v].next_sibling != NODE_NONE) {
                v = st->nodes[v].next_sibling;
                break;
            }
            v = st->nodes[v].parent;
        }
        if (v == NODE_ROOT)
            break;
    }

    qsort(entries, keys.n, sizeof *entries, compare_entries);
    *out = entries;
    *n = keys.n;
    entries = NULL;
    err = 0;
out:
    free(entries);
    free(on_path);
    free(sub);
    free(entry_of);
    key_set_free(&keys);
    return err;
}

/* ---- every stack, one by one -------------------------------------------- */

/* A stack to visit: its innermost node and the nodes from its thread down,
 * outermost first, in the shared path buffer. */
typedef struct {
    const plumb_stack_t *st;
    uint32_t leaf;
    const uint32_t *path; /* path[0] is the thread */
    size_t depth;
} visit_t;

static int compare_nodes(const stack_node_t *a, const stack_node_t *b)
{
    int c = strcmp(a->function, b->function);
    if (c)
        return c;
    if (a->file != b->file) { /* threads have none */
        if (!a->file || !b->file)
            return a->file ? 1 : -1;
        if ((c = strcmp(a->file, b->file)))
            return c;
    }
    return (a->line > b->line) - (a->line < b->line);
}

/* By count, descending, then by the frames from the thread down: an order
 * that does not depend on the order the stacks were added in. */
static int compare_visits(const void *x, const void *y)
{
    const visit_t *a = x, *b = y;
    const stack_node_t *nodes = a->st->nodes;
    if (nodes[a->leaf].self != nodes[b->leaf].self)
        return nodes[a->leaf].self > nodes[b->leaf].self ? -1 : 1;
    for (size_t d = 0; d < a->depth && d < b->depth; d++) {
        int c = compare_nodes(&nodes[a->path[d]], &nodes[b->path[d]]);
        if (c)
            return c;
    }
    return (a->depth > b->depth) - (a->depth < b->depth);
}

int plumb_stack_merge(plumb_stack_t *dst, const plumb_stack_t *src)
{
    if (!dst || !src || dst == src)
        return PLUMB_EINVAL;
    /* src's node v becomes dst's node at[v]; a parent precedes its
     * children, so one forward pass maps every node. */
    uint32_t *at = per_node(src);
    if (!at)
        return PLUMB_ENOMEM;
    int err = 0;
    at[NODE_ROOT] = NODE_ROOT;
    for (uint32_t v = 1; v < src->n_nodes; v++) {
        const stack_node_t *n = &src->nodes[v];
        const char *function, *file = NULL;
        if ((err = intern(dst, n->function, &function)) < 0 ||
            (n->file && (err = intern(dst, n->file, &file)) < 0) ||
            (err = child(dst, at[n->parent], function, file, n->line,
                         &at[v])) < 0)
            goto out;
        dst->nodes[at[v]].self += n->self;
    }
    dst->total += src->total;
out:
    free(at);
    return err < 0 ? err : 0;
}

int plumb_stack_each(const plumb_stack_t *st, plumb_stack_visit_fn visit,
                     void *arg)
{
    if (!st || !visit)
        return PLUMB_EINVAL;
    int err = PLUMB_ENOMEM;
    size_t n_visits = 0, path_len = 0, max_depth = 0;
    visit_t *visits = NULL;
    uint32_t *paths = NULL;
    plumb_frame_t *frames = NULL;
    uint32_t *depth_of = per_node(st);
    if (!depth_of)
        goto out;
    /* Depths in one forward pass (a parent precedes its children), then
     * every stack's path into one buffer. */
    depth_of[NODE_ROOT] = 0;
    for (uint32_t v = 1; v < st->n_nodes; v++) {
        depth_of[v] = depth_of[st->nodes[v].parent] + 1;
        if (st->nodes[v].self > 0) {
            n_visits++;
            path_len += depth_of[v];
            if (depth_of[v] > max_depth)
                max_depth = depth_of[v];
        }
    }
    visits = stack_malloc((n_visits ? n_visits : 1) * sizeof *visits);
    paths = stack_malloc((path_len ? path_len : 1) * sizeof *paths);
    frames = stack_malloc((max_depth ? max_depth : 1) * sizeof *frames);
    if (!visits || !paths || !frames)
        goto out;
    size_t at = 0, i = 0;
    for (uint32_t v = 1; v < st->n_nodes; v++) {
        if (st->nodes[v].self == 0)
            continue;
        visit_t *vi = &visits[i++];
        vi->st = st;
        vi->leaf = v;
        vi->depth = depth_of[v];
        vi->path = paths + at;
        size_t d = depth_of[v];
        for (uint32_t p = v; p != NODE_ROOT; p = st->nodes[p].parent)
            paths[at + --d] = p;
        at += depth_of[v];
    }
    qsort(visits, n_visits, sizeof *visits, compare_visits);
    err = 0;
    for (i = 0; i < n_visits && !err; i++) {
        const visit_t *vi = &visits[i];
        const stack_node_t *thread = &st->nodes[vi->path[0]];
        size_t from = 1, n = 0;
        int truncated = 0;
        if (vi->depth > 1) {
            const stack_node_t *outer = &st->nodes[vi->path[1]];
            if (outer->function == st->truncated &&
                outer->file == st->empty && outer->line == 0) {
                truncated = 1;
                from = 2;
            }
        }
        for (size_t d = from; d < vi->depth; d++) {
            const stack_node_t *node = &st->nodes[vi->path[d]];
            frames[n++] = (plumb_frame_t){
                *node->function ? node->function : unknown_function,
                node->file, node->line};
        }
        plumb_stack_path_t path = {
            *thread->function ? thread->function : unnamed_thread,
            frames, n, truncated, st->nodes[vi->leaf].self};
        err = visit(&path, arg);
    }
out:
    free(frames);
    free(paths);
    free(visits);
    free(depth_of);
    return err;
}

/* ---- speedscope --------------------------------------------------------- */

#define SPEEDSCOPE_SCHEMA "https://www.speedscope.app/file-format-schema.json"

/* A JSON string of s; a byte that does not start well-formed UTF-8 becomes
 * U+FFFD, since file names need not be UTF-8 but JSON must be. NULL when out
 * of memory. */
static json_t *json_text(const char *s)
{
    json_t *v = json_string(s);
    if (v)
        return v;
    char *fixed = stack_malloc(3 * strlen(s) + 1);
    if (!fixed)
        return NULL;
    plumb__utf8_repair_into(s, fixed);
    v = json_string(fixed);
    free(fixed);
    return v;
}

/* obj[key] = value, taking value's reference; -1 when value is NULL. */
static int put(json_t *obj, const char *key, json_t *value)
{
    return value ? json_object_set_new(obj, key, value) : -1;
}

static int push(json_t *array, json_t *value)
{
    return value ? json_array_append_new(array, value) : -1;
}

static json_t *json_count(uint64_t v)
{
    return json_integer((json_int_t)v);
}

/* One profile per thread, in the order the threads were first seen; a
 * sample per distinct stack (in the order stacks were first seen), its
 * weight the number of samples. */
static json_t *speedscope_document(const plumb_stack_t *st, const char *name,
                                   const char *unit)
{
    json_t *doc = NULL, *frames = NULL, *profiles = NULL;
    json_t **samples = NULL, **weights = NULL;
    key_set_t keys = {0};
    uint64_t *sub = subtree_counts(st);
    uint32_t *frame_of = per_node(st);
    uint32_t *thread_of = per_node(st);
    uint32_t *path = per_node(st);
    size_t n_threads = 0;
    int ok = 0;
    if (!sub || !frame_of || !thread_of || !path)
        goto out;

    /* Profiles are numbered in node order; thread_of maps every frame to
     * its thread's profile. */
    for (uint32_t v = 1; v < st->n_nodes; v++) {
        const stack_node_t *node = &st->nodes[v];
        frame_of[v] = NODE_NONE;
        if (node->parent == NODE_ROOT) {
            thread_of[v] = sub[v] ? (uint32_t)n_threads++ : NODE_NONE;
        } else {
            thread_of[v] = thread_of[node->parent];
            if (sub[v] > 0 &&
                key_set_index(&keys, node->function, node->file, node->line,
                              &frame_of[v]) < 0)
                goto out;
        }
    }

    doc = json_object();
    frames = json_array();
    profiles = json_array();
    samples = stack_calloc(n_threads ? n_threads : 1, sizeof *samples);
    weights = stack_calloc(n_threads ? n_threads : 1, sizeof *weights);
    if (!doc || !frames || !profiles || !samples || !weights)
        goto out;
    for (size_t k = 0; k < keys.n; k++) {
        const plumb_frame_t *key = &keys.keys[k];
        const char *function = *key->function ? key->function
                                              : unknown_function;
        json_t *frame = json_object();
        if (push(frames, frame) < 0 ||
            put(frame, "name", json_text(function)) < 0 ||
            (*key->file && put(frame, "file", json_text(key->file)) < 0) ||
            (key->line > 0 && put(frame, "line", json_integer(key->line)) < 0))
            goto out;
    }
    for (uint32_t v = 1; v < st->n_nodes; v++) {
        const stack_node_t *node = &st->nodes[v];
        if (node->parent != NODE_ROOT || thread_of[v] == NODE_NONE)
            continue;
        const char *label = *node->function ? node->function : unnamed_thread;
        json_t *profile = json_object();
        uint32_t t = thread_of[v];
        if (push(profiles, profile) < 0 ||
            put(profile, "type", json_string("sampled")) < 0 ||
            put(profile, "name", json_text(label)) < 0 ||
            put(profile, "unit", json_string(unit)) < 0 ||
            put(profile, "startValue", json_integer(0)) < 0 ||
            put(profile, "endValue", json_count(sub[v])) < 0 ||
            put(profile, "samples", samples[t] = json_array()) < 0 ||
            put(profile, "weights", weights[t] = json_array()) < 0)
            goto out;
    }
    for (uint32_t v = 1; v < st->n_nodes; v++) {
        const stack_node_t *node = &st->nodes[v];
        if (node->self == 0)
            continue;
        size_t depth = 0;
        for (uint32_t p = v; st->nodes[p].parent != NODE_ROOT;
             p = st->nodes[p].parent)
            path[depth++] = frame_of[p];
        json_t *sample = json_array();
        uint32_t t = thread_of[v];
        assert(t < n_threads);
        if (push(samples[t], sample) < 0 ||
            push(weights[t], json_count(node->self)) < 0)
            goto out;
        while (depth-- > 0)
            if (push(sample, json_integer(path[depth])) < 0)
                goto out;
    }
    if (put(doc, "$schema", json_string(SPEEDSCOPE_SCHEMA)) < 0)
        goto out;
    json_t *shared = json_object();
    if (put(doc, "shared", shared) < 0)
        goto out;
    int e1 = put(shared, "frames", frames);
    int e2 = put(doc, "profiles", profiles);
    frames = profiles = NULL; /* owned by doc now, even on failure */
    if (e1 < 0 || e2 < 0 || (name && put(doc, "name", json_text(name)) < 0) ||
        put(doc, "exporter", json_string("plumb " PLUMB_VERSION)) < 0)
        goto out;
    ok = 1;
out:
    json_decref(frames);
    json_decref(profiles);
    if (!ok) {
        json_decref(doc);
        doc = NULL;
    }
    free(samples);
    free(weights);
    key_set_free(&keys);
    free(path);
    free(thread_of);
    free(frame_of);
    free(sub);
    return doc;
}

int plumb_stack_speedscope(const plumb_stack_t *st, const char *name,
                           char **out)
{
    return plumb_stack_speedscope_unit(st, name, "none", out);
}

int plumb_stack_speedscope_unit(const plumb_stack_t *st, const char *name,
                                const char *unit, char **out)
{
    static const char *const units[] = {"none",         "nanoseconds",
                                        "microseconds", "milliseconds",
                                        "seconds",      "bytes"};
    if (!out)
        return PLUMB_EINVAL;
    *out = NULL;
    int known = 0;
    for (size_t i = 0; unit && i < sizeof units / sizeof *units; i++)
        known |= strcmp(unit, units[i]) == 0;
    if (!st || !known)
        return PLUMB_EINVAL;
    json_t *doc = speedscope_document(st, name, unit);
    if (!doc)
        return PLUMB_ENOMEM;
    char *text = json_dumps(doc, JSON_COMPACT);
    json_decref(doc);
    if (!text)
        return PLUMB_ENOMEM;
    *out = text;
    return 0;
}

/* ---- reading collapsed stacks back -------------------------------------- */

/* Splits a collapsed frame "function (file:line)" in place: the last " ("
 * whose tail is "file:line)" ends the function; without one, the whole
 * text is the function, its file "" and its line 0 (how "[truncated]" and
 * frames of unknown place are written). */
static void parse_frame(char *text, plumb_frame_t *frame)
{
    frame->function = text;
    frame->file = "";
    frame->line = 0;
    size_t len = strlen(text);
    if (len < 5 || text[len - 1] != ')')
        return;
    /* ":-?digits)" at the end. */
    size_t i = len - 1;
    while (i > 0 && text[i - 1] >= '0' && text[i - 1] <= '9')
        i--;
    if (i == len - 1)
        return;
    if (i > 0 && text[i - 1] == '-')
        i--;
    if (i == 0 || text[i - 1] != ':')
        return;
    size_t colon = i - 1;
    for (size_t open = colon; open-- > 0;) {
        if (text[open] != ' ' || text[open + 1] != '(')
            continue;
        text[open] = '\0';
        text[colon] = '\0';
        text[len - 1] = '\0';
        frame->file = text + open + 2;
        frame->line = (int)strtol(text + colon + 1, NULL, 10);
        return;
    }
}

int plumb_stack_add_collapsed(plumb_stack_t *st, const char *line,
                              uint64_t count)
{
    if (!st || !line)
        return PLUMB_EINVAL;
    if (count == 0)
        return 0;
    int err = PLUMB_ENOMEM;
    size_t len = strlen(line), n = 0;
    for (const char *c = line; *c; c++)
        n += *c == ';';
    char *copy = stack_malloc(len + 1);
    plumb_frame_t *frames = stack_malloc((n ? n : 1) * sizeof *frames);
    if (!copy || !frames)
        goto out;
    memcpy(copy, line, len + 1);
    /* The thread, then frames outermost first; frames[0] is innermost. */
    char *cur = strchr(copy, ';');
    if (cur)
        *cur++ = '\0';
    for (size_t i = n; i-- > 0;) {
        char *next = strchr(cur, ';');
        if (next)
            *next++ = '\0';
        parse_frame(cur, &frames[i]);
        cur = next;
    }
    err = plumb_stack_add(st, copy, frames, n, 0, count);
out:
    free(frames);
    free(copy);
    return err;
}

/* ---- two profiles side by side ------------------------------------------ */

static int compare_by_name(const void *a, const void *b)
{
    const plumb_stack_entry_t *x = a, *y = b;
    int c = strcmp(x->function, y->function);
    return c ? c : strcmp(x->file, y->file);
}

static int compare_changes(const void *a, const void *b)
{
    const plumb_stack_change_t *x = a, *y = b;
    double dx = fabs(x->share_b - x->share_a);
    double dy = fabs(y->share_b - y->share_a);
    if (dx != dy)
        return dx > dy ? -1 : 1;
    int c = strcmp(x->function, y->function);
    return c ? c : strcmp(x->file, y->file);
}

int plumb_stack_diff(const plumb_stack_t *a, const plumb_stack_t *b,
                     plumb_stack_change_t **out, size_t *n)
{
    if (!out || !n)
        return PLUMB_EINVAL;
    *out = NULL;
    *n = 0;
    if (!a || !b)
        return PLUMB_EINVAL;
    plumb_stack_entry_t *ea = NULL, *eb = NULL;
    plumb_stack_change_t *changes = NULL;
    size_t na = 0, nb = 0, count = 0;
    int err = plumb_stack_top(a, 0, &ea, &na);
    if (!err)
        err = plumb_stack_top(b, 0, &eb, &nb);
    if (err)
        goto out;
    if (na + nb == 0)
        goto out;
    if (!(changes = stack_malloc((na + nb) * sizeof *changes))) {
        err = PLUMB_ENOMEM;
        goto out;
    }
    if (na)
        qsort(ea, na, sizeof *ea, compare_by_name);
    if (nb)
        qsort(eb, nb, sizeof *eb, compare_by_name);
    double total_a = (double)plumb_stack_total(a);
    double total_b = (double)plumb_stack_total(b);
    /* Merge the two name-sorted lists: a function missing on one side has
     * a share of 0 there. */
    for (size_t i = 0, j = 0; i < na || j < nb;) {
        int c = i == na   ? 1
                : j == nb ? -1
                          : compare_by_name(&ea[i], &eb[j]);
        plumb_stack_change_t *ch = &changes[count++];
        memset(ch, 0, sizeof *ch);
        if (c <= 0) {
            ch->function = ea[i].function;
            ch->file = ea[i].file;
            ch->total_a = ea[i++].total;
        }
        if (c >= 0) {
            ch->function = eb[j].function;
            ch->file = eb[j].file;
            ch->total_b = eb[j++].total;
        }
        ch->share_a = total_a > 0 ? (double)ch->total_a / total_a : 0;
        ch->share_b = total_b > 0 ? (double)ch->total_b / total_b : 0;
    }
    qsort(changes, count, sizeof *changes, compare_changes);
    *out = changes;
    *n = count;
    changes = NULL;
out:
    free(changes);
    free(ea);
    free(eb);
    return err;
}
