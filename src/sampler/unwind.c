/* unwind.c: reads every Python thread's stack out of a target: walks
 * interpreters, their thread states and each thread's frame chain, and
 * decodes each code object's name, file and line table (the three line
 * table formats CPython has had since 3.8). Where fields are comes from the
 * version's table in offsets.c; this file has no version branches.
 *
 * Not responsible for finding the interpreter (python.c), reading memory
 * (target.c), pacing samples or aggregating them (the sampler).
 *
 * The target keeps running while it is read, so every value read is
 * suspect: loops are bounded, lengths are capped, and any read that fails
 * fails the whole sample with PLUMB_EIO rather than inventing a frame. */
#include "sampler/unwind.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sampler/offsets.h"
#include "sampler/view.h"

/* Bounds that a sane interpreter never reaches; beyond them the chain we
 * are following is torn (or cyclic) and the sample is discarded. */
#define MAX_INTERPRETERS 256
#define MAX_THREADS 65536
#define MAX_SKIPPED_FRAMES (PLUMB_MAX_FRAMES + 64)
#define MAX_STRING_CHARS 1024         /* longer names are cut */
#define MAX_LINETABLE_BYTES (1 << 24) /* 16 MiB */
#define MAX_CODE_UNITS (INT64_C(1) << 30)
#define MAX_BLOCK 512                 /* largest struct prefix read at once */
#define CODE_CACHE_MAX (1u << 16)     /* entries before the cache is reset */
#define MAX_RAW_FRAMES (PLUMB_MAX_FRAMES + MAX_SKIPPED_FRAMES)
#define VIEW_BLOCKS 128               /* blocks one sample holds at once */
/* Bytes a block. Smaller blocks read fewer of the target's cache lines
 * (view.h), but 64 made a 10,000-frame stack cost a system call per frame
 * or two; 256 holds two or three frames. */
#define VIEW_BLOCK 256

/* A frame as read from the chain, before its code object is decoded. */
typedef struct {
    uint64_t code;
    int64_t addrq; /* byte offset of the instruction in the bytecode */
    int owner;     /* the frame's owner byte, or -1 */
} raw_frame_t;

/* Bytecode from where the previous range ends up to `end` (bytes) is on
 * `line` (0: no line). */
typedef struct {
    int64_t end;
    int line;
} line_range_t;

/* The bytes [lo, hi) of a struct that a read takes: the fields it needs
 * and what lies between them. Not the struct's head unless a field is
 * there: each line read costs the target (view.h), and an object's head
 * holds its reference count, which the target writes at every call. */
typedef struct {
    size_t lo, hi;
} part_t;

/* What a code object told us, keyed by its address. The fields read from
 * its header are kept to check, on each hit, that the address still holds
 * the same code object (the target may free one and reuse the address). */
typedef struct {
    uint64_t addr; /* 0: empty slot */
    uint64_t checked_in; /* the sample that last checked it again */
    uint64_t name_addr, file_addr, table_addr;
    int firstlineno;
    int64_t bytecode_bytes; /* -1 when the version does not say */
    int64_t first_traceable_bytes; /* -1 when the version does not say */
    const char *function, *file; /* interned: live until unwinder_free */
    line_range_t *ranges; /* its line table, decoded (line_of) */
    size_t n_ranges;
} code_entry_t;

struct plumb__unwinder {
    plumb__target_t *target;
    plumb__view_t *view; /* the hot reads of a sample go through it */
    raw_frame_t *raw;    /* MAX_RAW_FRAMES: the chain being walked */
    uint64_t runtime_addr;
    plumb__offsets_t off;
    part_t tstate_part, frame_part;
    part_t code_part;  /* what decoding a code object reads */
    part_t check_part; /* what checking a known one again reads */
    uint64_t code_type; /* address of PyCode_Type once seen, else 0 */
    uint64_t sample;    /* counts calls of plumb__unwind, from 1 */

    code_entry_t *codes;
    size_t codes_cap, codes_len; /* cap is a power of two */

    char **strings; /* interned strings, open addressing */
    size_t strings_cap, strings_len;

    char text[MAX_STRING_CHARS * 4 + 1]; /* a string being decoded */
};

/* ---- small helpers ---------------------------------------------------- */

static uint64_t load_ptr(const unsigned char *block, int64_t at)
{
    uint64_t v;
    memcpy(&v, block + at, sizeof v);
    return v;
}

static int64_t load_i64(const unsigned char *block, int64_t at)
{
    int64_t v;
    memcpy(&v, block + at, sizeof v);
    return v;
}

static int load_int(const unsigned char *block, int64_t at)
{
    int v;
    memcpy(&v, block + at, sizeof v);
    return v;
}

static uint32_t load_u32(const unsigned char *block, int64_t at)
{
    uint32_t v;
    memcpy(&v, block + at, sizeof v);
    return v;
}

/* Adds the field of `width` bytes at `at` (none when at < 0) to p. */
static void widen(part_t *p, int64_t at, size_t width)
{
    if (at < 0)
        return;
    if (p->hi == 0 || (size_t)at < p->lo)
        p->lo = (size_t)at;
    if ((size_t)at + width > p->hi)
        p->hi = (size_t)at + width;
}

/* Reads part of the struct at addr into the same offsets of block. */
static int read_part(plumb__unwinder_t *u, uint64_t addr, unsigned char *block,
                     part_t part)
{
    return plumb__view_read(u->view, addr + part.lo, block + part.lo,
                            part.hi - part.lo);
}

static uint64_t hash_u64(uint64_t x)
{
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return x;
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = UINT64_C(1469598103934665603);
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * UINT64_C(1099511628211);
    return h;
}

/* A pointer as the current sample sees it. */
static int read_ptr(plumb__unwinder_t *u, uint64_t addr, uint64_t *out)
{
    return plumb__view_read(u->view, addr, out, sizeof *out);
}

/* ---- interned strings ------------------------------------------------- */

static int strings_grow(plumb__unwinder_t *u)
{
    size_t cap = u->strings_cap ? u->strings_cap * 2 : 256;
    char **fresh = calloc(cap, sizeof *fresh);
    if (fresh == NULL)
        return PLUMB_ENOMEM;
    for (size_t i = 0; i < u->strings_cap; i++) {
        char *s = u->strings[i];
        if (s == NULL)
            continue;
        size_t j = hash_str(s) & (cap - 1);
        while (fresh[j] != NULL)
            j = (j + 1) & (cap - 1);
        fresh[j] = s;
    }
    free(u->strings);
    u->strings = fresh;
    u->strings_cap = cap;
    return 0;
}

/* The pool's copy of s; strings are never freed before the unwinder, so
 * frames handed out earlier stay valid when a cache entry is replaced. */
static int intern(plumb__unwinder_t *u, const char *s, const char **out)
{
    int rc;
    if (2 * (u->strings_len + 1) > u->strings_cap &&
        (rc = strings_grow(u)) != 0)
        return rc;
    size_t j = hash_str(s) & (u->strings_cap - 1);
    while (u->strings[j] != NULL) {
        if (strcmp(u->strings[j], s) == 0) {
            *out = u->strings[j];
            return 0;
        }
        j = (j + 1) & (u->strings_cap - 1);
    }
    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    if (copy == NULL)
        return PLUMB_ENOMEM;
    memcpy(copy, s, len + 1);
    u->strings[j] = copy;
    u->strings_len++;
    *out = copy;
    return 0;
}

/* ---- reading Python objects ------------------------------------------- */

static size_t put_utf8(char *dst, uint32_t c)
{
    if ((c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
        c = '?'; /* lone surrogates and garbage are not UTF-8 */
    if (c < 0x80) {
        dst[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        dst[0] = (char)(0xc0 | (c >> 6));
        dst[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        dst[0] = (char)(0xe0 | (c >> 12));
        dst[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        dst[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    dst[0] = (char)(0xf0 | (c >> 18));
    dst[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    dst[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    dst[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/* Reads the str object at addr as UTF-8 into out (MAX_STRING_CHARS * 4 + 1
 * bytes), cut at MAX_STRING_CHARS characters. */
static int read_unicode(plumb__unwinder_t *u, uint64_t addr, char *out)
{
    const plumb__offsets_t *o = &u->off;
    unsigned char head[MAX_BLOCK];
    int rc;
    if (addr == 0)
        return PLUMB_EIO;
    rc = plumb__target_read(u->target, addr, head,
                            (size_t)o->unicode_compact_size);
    if (rc != 0)
        return rc;
    int64_t length = load_i64(head, o->unicode_length);
    uint32_t state = load_u32(head, o->unicode_state);
    unsigned kind = (state >> o->unicode_kind_shift) & 7;
    int compact = (state >> o->unicode_compact_shift) & 1;
    int ascii = (state >> o->unicode_ascii_shift) & 1;
    if (length < 0 || length > (INT64_C(1) << 30) ||
        (kind != 1 && kind != 2 && kind != 4))
        return PLUMB_EIO;
    if (!compact) {
        /* Legacy strings never name code objects; say so rather than
         * follow a pointer we have no layout for. */
        strcpy(out, "?");
        return 0;
    }
    size_t chars = length > MAX_STRING_CHARS ? MAX_STRING_CHARS
                                             : (size_t)length;
    uint64_t data = addr + (uint64_t)(ascii ? o->unicode_ascii_size
                                            : o->unicode_compact_size);
    unsigned char raw[MAX_STRING_CHARS * 4];
    if (chars > 0 &&
        (rc = plumb__target_read(u->target, data, raw, chars * kind)) != 0)
        return rc;
    size_t w = 0;
    for (size_t i = 0; i < chars; i++) {
        uint32_t c;
        if (kind == 1) {
            c = raw[i];
        } else if (kind == 2) {
            uint16_t c16;
            memcpy(&c16, raw + 2 * i, 2);
            c = c16;
        } else {
            memcpy(&c, raw + 4 * i, 4);
        }
        if (c == 0)
            c = '?';
        w += put_utf8(out + w, c);
    }
    out[w] = '\0';
    return 0;
}

/* Reads the bytes object at addr into a new buffer the caller frees. */
static int read_bytes(plumb__unwinder_t *u, uint64_t addr,
                      unsigned char **out, size_t *len)
{
    const plumb__offsets_t *o = &u->off;
    unsigned char head[MAX_BLOCK];
    int rc;
    *out = NULL;
    *len = 0;
    if (addr == 0)
        return PLUMB_EIO;
    rc = plumb__target_read(u->target, addr, head, (size_t)o->bytes_data);
    if (rc != 0)
        return rc;
    int64_t size = load_i64(head, o->bytes_size);
    if (size < 0 || size > MAX_LINETABLE_BYTES)
        return PLUMB_EIO;
    unsigned char *buf = malloc(size > 0 ? (size_t)size : 1);
    if (buf == NULL)
        return PLUMB_ENOMEM;
    if (size > 0 && (rc = plumb__target_read(u->target, addr + o->bytes_data,
                                             buf, (size_t)size)) != 0) {
        free(buf);
        return rc;
    }
    *out = buf;
    *len = (size_t)size;
    return 0;
}

/* ---- line tables ------------------------------------------------------ */

/* Each line table is decoded once, when its code object is first met, into
 * ranges of bytecode that share a line; a sample then finds its line by a
 * binary search instead of walking the table. */

/* Appends [start, end) at `line` to c's ranges (start is where the last
 * range ended), merged with the last one when the line is the same. */
static int add_range(code_entry_t *c, size_t *cap, int64_t end, int64_t line)
{
    if (line <= 0 || line > INT32_MAX)
        line = 0;
    if (c->n_ranges > 0 && c->ranges[c->n_ranges - 1].line == (int)line) {
        c->ranges[c->n_ranges - 1].end = end;
        return 0;
    }
    if (c->n_ranges == *cap) {
        size_t grown = *cap ? *cap * 2 : 16;
        line_range_t *fresh = realloc(c->ranges, grown * sizeof *fresh);
        if (fresh == NULL)
            return PLUMB_ENOMEM;
        c->ranges = fresh;
        *cap = grown;
    }
    c->ranges[c->n_ranges].end = end;
    c->ranges[c->n_ranges].line = (int)line;
    c->n_ranges++;
    return 0;
}

/* co_lnotab (3.8, 3.9): (bytecode delta, signed line delta) byte pairs;
 * the line changes where the bytecode offset reaches each pair's sum. */
static int decode_lnotab(code_entry_t *c, const unsigned char *t, size_t len)
{
    size_t cap = 0;
    int64_t line = c->firstlineno, addr = 0;
    int rc;
    for (size_t i = 0; i + 1 < len; i += 2) {
        if (t[i] != 0 && (rc = add_range(c, &cap, addr + t[i], line)) != 0)
            return rc;
        addr += t[i];
        line += (signed char)t[i + 1];
    }
    return add_range(c, &cap, INT64_MAX, line);
}

/* co_linetable (3.10, PEP 626): (bytecode delta, signed line delta) pairs
 * where a line delta of -128 marks a range without a line. */
static int decode_linetable(code_entry_t *c, const unsigned char *t,
                            size_t len)
{
    size_t cap = 0;
    int64_t computed = c->firstlineno, end = 0;
    int rc;
    for (size_t i = 0; i + 1 < len; i += 2) {
        signed char ldelta = (signed char)t[i + 1];
        end += t[i];
        if (ldelta != -128)
            computed += ldelta;
        if (t[i] != 0 &&
            (rc = add_range(c, &cap, end, ldelta == -128 ? 0 : computed)) != 0)
            return rc;
    }
    return 0;
}

/* An unsigned varint of the location table: 6 bits a byte, bit 6 says
 * another byte follows. *i moves past it; -1 when it runs off the end. */
static int read_varint(const unsigned char *t, size_t len, size_t *i,
                       uint32_t *out)
{
    uint32_t value = 0;
    unsigned shift = 0;
    for (;;) {
        if (*i >= len || shift > 30)
            return -1;
        unsigned char b = t[(*i)++];
        value |= (uint32_t)(b & 63) << shift;
        shift += 6;
        if (!(b & 64))
            break;
    }
    *out = value;
    return 0;
}

/* Location table (3.11+, PEP 657): entries that start with a byte with bit
 * 7 set holding a 4-bit kind and the entry's length in code units - 1. A
 * table that stops making sense (torn, or foreign) ends the ranges there:
 * the rest of the bytecode has no line. */
static int decode_locations(code_entry_t *c, const unsigned char *t,
                            size_t len)
{
    size_t cap = 0, i = 0;
    int64_t computed = c->firstlineno, end = 0;
    int rc;
    while (i < len) {
        unsigned char first = t[i];
        if (!(first & 128))
            return 0;
        int code = (first >> 3) & 15;
        end += ((first & 7) + 1) * 2;
        int64_t delta = 0;
        if (code == 14 || code == 13) { /* long form, no-column form */
            size_t j = i + 1;
            uint32_t v;
            if (read_varint(t, len, &j, &v) != 0)
                return 0;
            delta = (v & 1) ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
        } else if (code >= 10 && code <= 12) { /* one-line forms */
            delta = code - 10;
        }
        computed += delta;
        if ((rc = add_range(c, &cap, end, code == 15 ? 0 : computed)) != 0)
            return rc;
        do
            i++;
        while (i < len && !(t[i] & 128));
    }
    return 0;
}

static int decode_lines(const plumb__offsets_t *o, code_entry_t *c,
                        const unsigned char *t, size_t len)
{
    switch (o->line_format) {
    case PLUMB__LINES_LNOTAB:
        return decode_lnotab(c, t, len);
    case PLUMB__LINES_LINETABLE:
        return decode_linetable(c, t, len);
    default:
        return decode_locations(c, t, len);
    }
}

/* The line of byte offset addrq; 0 when the table has none. */
static int line_of(const code_entry_t *c, int64_t addrq)
{
    if (addrq < 0)
        return c->firstlineno;
    size_t lo = 0, hi = c->n_ranges; /* the first range ending past addrq */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (c->ranges[mid].end <= addrq)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < c->n_ranges ? c->ranges[lo].line : 0;
}

/* ---- the code object cache ------------------------------------------- */

static void codes_clear(plumb__unwinder_t *u)
{
    for (size_t i = 0; i < u->codes_cap; i++)
        free(u->codes[i].ranges);
    memset(u->codes, 0, u->codes_cap * sizeof *u->codes);
    u->codes_len = 0;
}

static int codes_grow(plumb__unwinder_t *u)
{
    size_t cap = u->codes_cap ? u->codes_cap * 2 : 1024;
    code_entry_t *fresh = calloc(cap, sizeof *fresh);
    if (fresh == NULL)
        return PLUMB_ENOMEM;
    for (size_t i = 0; i < u->codes_cap; i++) {
        if (u->codes[i].addr == 0)
            continue;
        size_t j = hash_u64(u->codes[i].addr) & (cap - 1);
        while (fresh[j].addr != 0)
            j = (j + 1) & (cap - 1);
        fresh[j] = u->codes[i];
    }
    free(u->codes);
    u->codes = fresh;
    u->codes_cap = cap;
    return 0;
}

/* The cache slot of the code object at addr: its entry, or the empty slot
 * where it would go. */
static code_entry_t *code_slot(plumb__unwinder_t *u, uint64_t addr)
{
    size_t j = hash_u64(addr) & (u->codes_cap - 1);
    while (u->codes[j].addr != 0 && u->codes[j].addr != addr)
        j = (j + 1) & (u->codes_cap - 1);
    return &u->codes[j];
}

/* Checks that the object at `type` is PyCode_Type (by its tp_name, once;
 * then by address), so a torn frame pointing elsewhere is caught. */
static int check_code_type(plumb__unwinder_t *u, uint64_t type)
{
    if (u->code_type != 0)
        return type == u->code_type ? 0 : PLUMB_EIO;
    uint64_t name_addr;
    char name[16];
    int rc;
    if (type == 0)
        return PLUMB_EIO;
    if ((rc = plumb__target_read(u->target, type + (uint64_t)u->off.type_name,
                                 &name_addr, sizeof name_addr)) != 0 ||
        (rc = plumb__target_read_string(u->target, name_addr, name,
                                        sizeof name)) != 0)
        return rc;
    if (strcmp(name, "code") != 0)
        return PLUMB_EIO;
    u->code_type = type;
    return 0;
}

/* 1 when two reads of a code object's header agree on every field the
 * cache keeps (the reference count, also in it, changes all the time). */
static int same_code(const plumb__offsets_t *o, const unsigned char *a,
                     const unsigned char *b)
{
    const int64_t ptrs[] = {o->object_type, o->code_name, o->code_filename,
                            o->code_linetable, o->code_units};
    for (size_t i = 0; i < sizeof ptrs / sizeof *ptrs; i++)
        if (ptrs[i] >= 0 && load_ptr(a, ptrs[i]) != load_ptr(b, ptrs[i]))
            return 0;
    const int64_t ints[] = {o->code_firstlineno, o->code_first_traceable};
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
        if (ints[i] >= 0 && load_int(a, ints[i]) != load_int(b, ints[i]))
            return 0;
    return 1;
}

/* Bytes of bytecode before the first traceable instruction of the code
 * object whose header is at head, -1 when the version does not say. */
static int64_t first_traceable_of(const plumb__offsets_t *o,
                                  const unsigned char *head)
{
    return o->code_first_traceable >= 0
               ? (int64_t)load_int(head, o->code_first_traceable) * 2
               : -1;
}

/* The cache entry for the code object at addr, decoding it on a miss or
 * when the address now holds another code object. */
static int code_lookup(plumb__unwinder_t *u, uint64_t addr,
                       const code_entry_t **out)
{
    const plumb__offsets_t *o = &u->off;
    unsigned char head[MAX_BLOCK];
    int rc;
    if (addr == 0)
        return PLUMB_EIO;
    if (2 * (u->codes_len + 1) > u->codes_cap) {
        if (u->codes_cap >= CODE_CACHE_MAX)
            codes_clear(u); /* a program that keeps making code objects */
        else if ((rc = codes_grow(u)) != 0)
            return rc;
    }
    code_entry_t *e = code_slot(u, addr);
    /* A code object on the stack is alive for the whole sample (its frames
     * hold it): one check per sample is enough, which keeps deep
     * recursion cheap. */
    if (e->addr == addr && e->checked_in == u->sample) {
        *out = e;
        return 0;
    }

    /* Known: the fields that make what is reported of it are compared
     * (the header's type and size were checked when it was decoded); the
     * same name, file and line table at the same address decode alike. */
    if (e->addr == addr) {
        if ((rc = read_part(u, addr, head, u->check_part)) != 0)
            return rc;
        if (e->name_addr == load_ptr(head, o->code_name) &&
            e->file_addr == load_ptr(head, o->code_filename) &&
            e->table_addr == load_ptr(head, o->code_linetable) &&
            e->firstlineno == load_int(head, o->code_firstlineno) &&
            e->first_traceable_bytes == first_traceable_of(o, head)) {
            e->checked_in = u->sample;
            *out = e;
            return 0;
        }
    }

    if ((rc = read_part(u, addr, head, u->code_part)) != 0)
        return rc;
    uint64_t type = load_ptr(head, o->object_type);
    uint64_t name_addr = load_ptr(head, o->code_name);
    uint64_t file_addr = load_ptr(head, o->code_filename);
    uint64_t table_addr = load_ptr(head, o->code_linetable);
    int firstlineno = load_int(head, o->code_firstlineno);
    int64_t bytecode_bytes = -1;
    if (o->code_units >= 0) {
        int64_t units = load_i64(head, o->code_units);
        if (units < 0 || units > MAX_CODE_UNITS)
            return PLUMB_EIO; /* not a code object: a torn frame */
        bytecode_bytes = units * 2;
    }
    int64_t first_traceable_bytes = first_traceable_of(o, head);
    if ((rc = check_code_type(u, type)) != 0)
        return rc;
    const char *function, *file;
    if ((rc = read_unicode(u, name_addr, u->text)) != 0 ||
        (rc = intern(u, u->text, &function)) != 0 ||
        (rc = read_unicode(u, file_addr, u->text)) != 0 ||
        (rc = intern(u, u->text, &file)) != 0)
        return rc;
    unsigned char *table;
    size_t table_len;
    if ((rc = read_bytes(u, table_addr, &table, &table_len)) != 0)
        return rc;
    code_entry_t fresh = {.firstlineno = firstlineno};
    rc = decode_lines(o, &fresh, table, table_len);
    free(table);
    /* The header came from the sample's view and the strings and table
     * were read after it: had the object been freed in between, its
     * name's or table's memory may hold another object's by now. Read the
     * header again: unchanged, the decoding belongs to it. */
    unsigned char again[MAX_BLOCK];
    if (rc == 0 &&
        (rc = plumb__target_read(u->target, addr + u->code_part.lo,
                                 again + u->code_part.lo,
                                 u->code_part.hi - u->code_part.lo)) == 0 &&
        !same_code(o, head, again))
        rc = PLUMB_EIO;
    if (rc != 0) {
        free(fresh.ranges);
        return rc;
    }
    if (e->addr == 0)
        u->codes_len++;
    free(e->ranges);
    e->addr = addr;
    e->checked_in = u->sample;
    e->name_addr = name_addr;
    e->file_addr = file_addr;
    e->table_addr = table_addr;
    e->firstlineno = firstlineno;
    e->bytecode_bytes = bytecode_bytes;
    e->first_traceable_bytes = first_traceable_bytes;
    e->function = function;
    e->file = file;
    e->ranges = fresh.ranges;
    e->n_ranges = fresh.n_ranges;
    *out = e;
    return 0;
}

/* ---- walking ---------------------------------------------------------- */

/* Follows the frame chain from the innermost frame at `frame` into u->raw
 * (skipping the C-stack entry frames), at most MAX_RAW_FRAMES; *more is 1
 * when the chain goes on beyond them. */
static int read_chain(plumb__unwinder_t *u, uint64_t frame, size_t *n_raw,
                      int *more)
{
    const plumb__offsets_t *o = &u->off;
    unsigned char block[MAX_BLOCK];
    size_t visited = 0;
    int rc;
    *n_raw = 0;
    *more = 0;
    while (frame != 0) {
        if (visited++ == MAX_RAW_FRAMES) {
            *more = 1;
            return 0;
        }
        if ((rc = read_part(u, frame, block, u->frame_part)) != 0)
            return rc;
        uint64_t previous = load_ptr(block, o->frame_previous);
        if (previous == frame)
            return PLUMB_EIO;
        int owner = o->frame_owner >= 0
                        ? (int)(signed char)block[o->frame_owner]
                        : -1;
        if (o->frame_owner >= 0 && owner == o->frame_owner_cstack) {
            frame = previous;
            continue;
        }
        raw_frame_t *r = &u->raw[(*n_raw)++];
        r->code = load_ptr(block, o->frame_code);
        r->owner = owner;
        if (o->frame_instr_kind == PLUMB__INSTR_POINTER)
            r->addrq = (int64_t)(load_ptr(block, o->frame_instr) -
                                 (r->code + (uint64_t)o->code_bytecode));
        else if (o->frame_instr_kind == PLUMB__INSTR_LASTI_UNITS)
            r->addrq = (int64_t)load_int(block, o->frame_instr) * 2;
        else
            r->addrq = load_int(block, o->frame_instr);
        frame = previous;
    }
    return 0;
}

/* Fetches in one read the parts of the chain's code objects that this
 * sample has not checked yet: what checks a known one, all of a new one
 * (a second read, only while new code runs). */
static int prefetch_codes(plumb__unwinder_t *u, size_t n_raw)
{
    uint64_t known[32], fresh[32];
    size_t n_known = 0, n_fresh = 0;
    for (size_t i = 0; i < n_raw && n_known < 32 && n_fresh < 32; i++) {
        uint64_t code = u->raw[i].code;
        if (code == 0 || (i > 0 && code == u->raw[i - 1].code))
            continue;
        const code_entry_t *e = code_slot(u, code);
        if (e->addr != code)
            fresh[n_fresh++] = code + u->code_part.lo;
        else if (e->checked_in != u->sample)
            known[n_known++] = code + u->check_part.lo;
    }
    int rc = plumb__view_prefetch(u->view, known, n_known,
                                  u->check_part.hi - u->check_part.lo);
    if (rc == 0 && n_fresh > 0)
        rc = plumb__view_prefetch(u->view, fresh, n_fresh,
                                  u->code_part.hi - u->code_part.lo);
    return rc;
}

/* Fills st's frames from the innermost frame at `frame`. */
static int walk_frames(plumb__unwinder_t *u, uint64_t frame,
                       plumb__thread_stack_t *st)
{
    const plumb__offsets_t *o = &u->off;
    size_t n_raw;
    int more, rc;
    if ((rc = read_chain(u, frame, &n_raw, &more)) != 0 ||
        (rc = prefetch_codes(u, n_raw)) != 0)
        return rc;
    for (size_t i = 0; i < n_raw; i++) {
        const raw_frame_t *r = &u->raw[i];
        const code_entry_t *c;
        if ((rc = code_lookup(u, r->code, &c)) != 0)
            return rc;
        /* Before the first instruction a frame is at -1 or -2 (one code
         * unit before the start); anything else out of the bytecode means
         * the frame was read while being reused for another call. */
        if (r->addrq < -2 ||
            (c->bytecode_bytes >= 0 && r->addrq >= c->bytecode_bytes))
            return PLUMB_EIO;
        /* Not started yet, or a shim that never starts: CPython itself
         * leaves such frames out of tracebacks. */
        if (c->first_traceable_bytes >= 0 &&
            r->addrq < c->first_traceable_bytes && o->frame_owner >= 0 &&
            r->owner != o->frame_owner_generator)
            continue;
        if (st->n_frames == PLUMB_MAX_FRAMES) {
            st->truncated = 1;
            return 0;
        }
        plumb_frame_t *f = &st->frames[st->n_frames++];
        f->function = c->function;
        f->file = c->file;
        f->line = line_of(c, r->addrq);
    }
    if (more) {
        if (st->n_frames < PLUMB_MAX_FRAMES)
            return PLUMB_EIO; /* a cycle of skipped frames */
        st->truncated = 1;
    }
    return 0;
}

/* The GIL's holder in the interpreter at interp: *known 0 when the version
 * or the state cannot say. */
static int read_gil(plumb__unwinder_t *u, uint64_t interp, uint64_t *holder,
                    int *known)
{
    const plumb__offsets_t *o = &u->off;
    uint64_t gil = 0;
    int rc;
    *known = 0;
    *holder = 0;
    if (o->runtime_gil >= 0)
        gil = u->runtime_addr + (uint64_t)o->runtime_gil;
    else if (o->interp_gil_pointer >= 0 &&
             (rc = read_ptr(u, interp + (uint64_t)o->interp_gil_pointer,
                            &gil)) != 0)
        return rc;
    if (gil == 0 || o->gil_locked < 0 || o->gil_last_holder < 0)
        return 0;
    int locked;
    uint64_t last;
    if ((rc = plumb__view_read(u->view, gil + (uint64_t)o->gil_locked,
                               &locked, sizeof locked)) != 0 ||
        (rc = read_ptr(u, gil + (uint64_t)o->gil_last_holder, &last)) != 0)
        return rc;
    *holder = locked ? last : 0;
    *known = 1;
    return 0;
}

int plumb__unwind(plumb__unwinder_t *u, plumb__thread_stack_t *stacks,
                  size_t max, size_t *n)
{
    if (u == NULL || n == NULL || (stacks == NULL && max > 0))
        return PLUMB_EINVAL;
    const plumb__offsets_t *o = &u->off;
    unsigned char block[MAX_BLOCK];
    size_t threads_seen = 0;
    uint64_t interp;
    int rc;
    *n = 0;
    u->sample++;
    if ((rc = plumb__view_renew(u->view)) != 0)
        return rc;
    rc = read_ptr(u, u->runtime_addr + (uint64_t)o->runtime_interpreters_head,
                  &interp);
    for (int ni = 0; rc == 0 && interp != 0; ni++) {
        if (ni == MAX_INTERPRETERS) {
            rc = PLUMB_EIO;
            break;
        }
        uint64_t tstate, next_interp, holder;
        int gil_known;
        if ((rc = read_ptr(u, interp + (uint64_t)o->interp_threads_head,
                           &tstate)) != 0 ||
            (rc = read_ptr(u, interp + (uint64_t)o->interp_next,
                           &next_interp)) != 0 ||
            (rc = read_gil(u, interp, &holder, &gil_known)) != 0)
            break;
        while (tstate != 0 && *n < max) {
            if (++threads_seen > MAX_THREADS) {
                rc = PLUMB_EIO;
                goto out;
            }
            if ((rc = read_part(u, tstate, block, u->tstate_part)) != 0)
                goto out;
            plumb__thread_stack_t *st = &stacks[*n];
            st->thread_id = load_ptr(block, o->tstate_thread_id);
            st->native_id = o->tstate_native_thread_id >= 0
                                ? (int)load_ptr(block,
                                                o->tstate_native_thread_id)
                                : -1;
            st->holds_gil = gil_known ? holder == tstate : -1;
            st->n_frames = 0;
            st->truncated = 0;
            uint64_t frame = load_ptr(block, o->tstate_frame);
            if (o->cframe_current_frame >= 0 && frame != 0 &&
                (rc = read_ptr(u, frame + (uint64_t)o->cframe_current_frame,
                               &frame)) != 0)
                goto out;
            if ((rc = walk_frames(u, frame, st)) != 0)
                goto out;
            (*n)++;
            uint64_t next = load_ptr(block, o->tstate_next);
            if (next == tstate) {
                rc = PLUMB_EIO;
                goto out;
            }
            tstate = next;
        }
        if (interp == next_interp) {
            rc = PLUMB_EIO;
            break;
        }
        interp = next_interp;
    }
out:
    if (rc != 0)
        *n = 0;
    return rc;
}

/* ---- lifetime --------------------------------------------------------- */

int plumb__unwinder_new(plumb__target_t *t, const plumb__python_t *py,
                        plumb__unwinder_t **out, char *why, size_t why_size)
{
    plumb__unwinder_t *u = NULL;
    int rc = 0;
    if (why != NULL && why_size > 0)
        why[0] = '\0';
    if (t == NULL || py == NULL || out == NULL)
        return PLUMB_EINVAL;
    *out = NULL;
    const plumb__offsets_t *table = plumb__offsets_find(py->major, py->minor);
    if (table == NULL) {
        if (why != NULL && why_size > 0)
            snprintf(why, why_size,
                     "Python %d.%d is not supported (supported: %s)",
                     py->major, py->minor, plumb__unwind_supported());
        return PLUMB_EUNSUPPORTED;
    }
    u = calloc(1, sizeof *u);
    if (u == NULL)
        return PLUMB_ENOMEM;
    u->target = t;
    u->runtime_addr = py->runtime_addr;
    u->off = *table;

    if (u->off.has_debug_offsets) {
        unsigned char debug[1024];
        size_t size = plumb__offsets_debug_size();
        if (size > sizeof debug) {
            rc = PLUMB_EINVAL;
            goto out;
        }
        if ((rc = plumb__target_read(t, py->runtime_addr, debug, size)) != 0)
            goto out;
        rc = plumb__offsets_apply_debug(&u->off, debug, size);
        if (rc == PLUMB_EUNSUPPORTED) {
            if (why != NULL && why_size > 0)
                snprintf(why, why_size,
                         "free-threaded Python %d.%d is not supported",
                         py->major, py->minor);
            goto out;
        }
        /* No cookie: an unusual build; the header-derived table stands. */
        rc = 0;
    }

    const plumb__offsets_t *o = &u->off;
    widen(&u->tstate_part, o->tstate_next, 8);
    widen(&u->tstate_part, o->tstate_thread_id, 8);
    widen(&u->tstate_part, o->tstate_native_thread_id, 8);
    widen(&u->tstate_part, o->tstate_frame, 8);
    widen(&u->frame_part, o->frame_code, 8);
    widen(&u->frame_part, o->frame_previous, 8);
    widen(&u->frame_part, o->frame_instr, 8);
    widen(&u->frame_part, o->frame_owner, 1);
    widen(&u->check_part, o->code_name, 8);
    widen(&u->check_part, o->code_filename, 8);
    widen(&u->check_part, o->code_linetable, 8);
    widen(&u->check_part, o->code_firstlineno, 4);
    widen(&u->check_part, o->code_first_traceable, 4);
    u->code_part = u->check_part;
    widen(&u->code_part, o->object_type, 8);
    widen(&u->code_part, o->code_units, 8);
    if (u->tstate_part.hi > MAX_BLOCK || u->frame_part.hi > MAX_BLOCK ||
        u->code_part.hi > MAX_BLOCK ||
        o->unicode_compact_size > MAX_BLOCK || o->bytes_data > MAX_BLOCK) {
        rc = PLUMB_EUNSUPPORTED;
        if (why != NULL && why_size > 0)
            snprintf(why, why_size, "Python %d.%d has an unexpected layout",
                     py->major, py->minor);
        goto out;
    }
    if ((rc = codes_grow(u)) != 0 || (rc = strings_grow(u)) != 0 ||
        (rc = plumb__view_new(t, VIEW_BLOCKS, VIEW_BLOCK, &u->view)) != 0)
        goto out;
    if (!(u->raw = malloc(MAX_RAW_FRAMES * sizeof *u->raw))) {
        rc = PLUMB_ENOMEM;
        goto out;
    }
    *out = u;
    u = NULL;
out:
    plumb__unwinder_free(u);
    return rc;
}

void plumb__unwinder_free(plumb__unwinder_t *u)
{
    if (u == NULL)
        return;
    if (u->codes != NULL)
        codes_clear(u);
    free(u->codes);
    for (size_t i = 0; i < u->strings_cap; i++)
        free(u->strings[i]);
    free(u->strings);
    plumb__view_free(u->view);
    free(u->raw);
    free(u);
}

uint64_t plumb__unwinder_reads(const plumb__unwinder_t *u)
{
    return plumb__view_reads(u->view);
}

const char *plumb__unwind_supported(void)
{
    return plumb__offsets_supported();
}
