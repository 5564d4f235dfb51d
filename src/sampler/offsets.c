/* offsets.c: the per-version offset tables of offsets.h and the reading of
 * CPython 3.13's _Py_DebugOffsets. Pure data and bounds checks; nothing here
 * reads a process.
 *
 * The rows below are the output of tools/gen_offsets.sh (run it, paste its
 * output), which compiles a small program against each version's installed
 * headers, internal ones included, and prints offsetof()/sizeof() values:
 * pyenv 3.8.18, 3.9.18, 3.10.13, 3.11.7, 3.12.1, 3.13.0 on x86_64 Linux.
 * Debian's /usr/include/python3.11 (3.11.2) gives a row identical to
 * 3.11.7's, so one 3.11 table serves both. The tables assume the
 * default build: a debug (Py_TRACE_REFS) or free-threaded build has
 * another object header. Within a minor version CPython has kept these
 * layouts in practice (austin and py-spy rely on it too); the unwind tests
 * check each installed micro version, and 3.13's _Py_DebugOffsets, when
 * present, overrides the numbers it carries. */
#include "sampler/offsets.h"

#include <string.h>

#include "plumb.h"

/* Where _Py_DebugOffsets keeps a value, and which field of ours it is. */
typedef struct {
    int64_t where;
    size_t ours; /* offsetof(plumb__offsets_t, ...), an int64_t field */
} plumb__debug_field_t;

typedef struct {
    int major, minor;
    int64_t size;          /* bytes of _Py_DebugOffsets plumb reads */
    int64_t version;       /* uint64_t PY_VERSION_HEX */
    int64_t free_threaded; /* uint64_t, nonzero for free-threaded builds */
    plumb__debug_field_t fields[24];
    size_t n_fields;
} plumb__debug_layout_t;

static const plumb__offsets_t tables[] = {
    /* from /root/.pyenv/versions/3.8.18/include/python3.8 */
    /* 3.8.18 */
    {
        .major = 3, .minor = 8,
        .runtime_interpreters_head = 32,
        .runtime_gil = 1152,
        .interp_gil_pointer = -1,
        .interp_next = 0,
        .interp_threads_head = 8,
        .gil_locked = 16,
        .gil_last_holder = 8,
        .tstate_next = 8,
        .tstate_thread_id = 176,
        .tstate_native_thread_id = -1,
        .tstate_frame = 24,
        .cframe_current_frame = -1,
        .frame_code = 32,
        .frame_previous = 24,
        .frame_instr = 104,
        .frame_owner = -1,
        .frame_owner_cstack = -1,
        .frame_owner_generator = -1,
        .frame_instr_kind = PLUMB__INSTR_LASTI_BYTES,
        .code_name = 112,
        .code_bytecode = -1,
        .code_units = -1,
        .code_first_traceable = -1,
        .code_filename = 104,
        .code_firstlineno = 40,
        .code_linetable = 120,
        .line_format = PLUMB__LINES_LNOTAB,
        .object_type = 8,
        .type_name = 24,
        .unicode_length = 16,
        .unicode_state = 32,
        .unicode_ascii_size = 48,
        .unicode_compact_size = 72,
        .unicode_kind_shift = 2,
        .unicode_compact_shift = 5,
        .unicode_ascii_shift = 6,
        .bytes_size = 16,
        .bytes_data = 32,
        .has_debug_offsets = 0,
    },
    /* from /root/.pyenv/versions/3.9.18/include/python3.9 */
    /* 3.9.18 */
    {
        .major = 3, .minor = 9,
        .runtime_interpreters_head = 32,
        .runtime_gil = 352,
        .interp_gil_pointer = -1,
        .interp_next = 0,
        .interp_threads_head = 8,
        .gil_locked = 16,
        .gil_last_holder = 8,
        .tstate_next = 8,
        .tstate_thread_id = 176,
        .tstate_native_thread_id = -1,
        .tstate_frame = 24,
        .cframe_current_frame = -1,
        .frame_code = 32,
        .frame_previous = 24,
        .frame_instr = 104,
        .frame_owner = -1,
        .frame_owner_cstack = -1,
        .frame_owner_generator = -1,
        .frame_instr_kind = PLUMB__INSTR_LASTI_BYTES,
        .code_name = 112,
        .code_bytecode = -1,
        .code_units = -1,
        .code_first_traceable = -1,
        .code_filename = 104,
        .code_firstlineno = 40,
        .code_linetable = 120,
        .line_format = PLUMB__LINES_LNOTAB,
        .object_type = 8,
        .type_name = 24,
        .unicode_length = 16,
        .unicode_state = 32,
        .unicode_ascii_size = 48,
        .unicode_compact_size = 72,
        .unicode_kind_shift = 2,
        .unicode_compact_shift = 5,
        .unicode_ascii_shift = 6,
        .bytes_size = 16,
        .bytes_data = 32,
        .has_debug_offsets = 0,
    },
    /* from /root/.pyenv/versions/3.10.13/include/python3.10 */
    /* 3.10.13 */
    {
        .major = 3, .minor = 10,
        .runtime_interpreters_head = 32,
        .runtime_gil = 352,
        .interp_gil_pointer = -1,
        .interp_next = 0,
        .interp_threads_head = 8,
        .gil_locked = 16,
        .gil_last_holder = 8,
        .tstate_next = 8,
        .tstate_thread_id = 176,
        .tstate_native_thread_id = -1,
        .tstate_frame = 24,
        .cframe_current_frame = -1,
        .frame_code = 32,
        .frame_previous = 24,
        .frame_instr = 96,
        .frame_owner = -1,
        .frame_owner_cstack = -1,
        .frame_owner_generator = -1,
        .frame_instr_kind = PLUMB__INSTR_LASTI_UNITS,
        .code_name = 112,
        .code_bytecode = -1,
        .code_units = -1,
        .code_first_traceable = -1,
        .code_filename = 104,
        .code_firstlineno = 40,
        .code_linetable = 120,
        .line_format = PLUMB__LINES_LINETABLE,
        .object_type = 8,
        .type_name = 24,
        .unicode_length = 16,
        .unicode_state = 32,
        .unicode_ascii_size = 48,
        .unicode_compact_size = 72,
        .unicode_kind_shift = 2,
        .unicode_compact_shift = 5,
        .unicode_ascii_shift = 6,
        .bytes_size = 16,
        .bytes_data = 32,
        .has_debug_offsets = 0,
    },
    /* from /root/.pyenv/versions/3.11.7/include/python3.11 */
    /* 3.11.7 */
    {
        .major = 3, .minor = 11,
        .runtime_interpreters_head = 40,
        .runtime_gil = 360,
        .interp_gil_pointer = -1,
        .interp_next = 0,
        .interp_threads_head = 16,
        .gil_locked = 16,
        .gil_last_holder = 8,
        .tstate_next = 8,
        .tstate_thread_id = 152,
        .tstate_native_thread_id = 160,
        .tstate_frame = 56,
        .cframe_current_frame = 8,
        .frame_code = 32,
        .frame_instr = 56,
        .frame_previous = 48,
        .frame_owner = 69,
        .frame_owner_generator = 1,
        .frame_owner_cstack = -1,
        .frame_instr_kind = PLUMB__INSTR_POINTER,
        .code_name = 128,
        .code_bytecode = 184,
        .code_units = 16,
        .code_first_traceable = 168,
        .code_filename = 112,
        .code_firstlineno = 72,
        .code_linetable = 136,
        .line_format = PLUMB__LINES_LOCATIONS,
        .object_type = 8,
        .type_name = 24,
        .unicode_length = 16,
        .unicode_state = 32,
        .unicode_ascii_size = 48,
        .unicode_compact_size = 72,
        .unicode_kind_shift = 2,
        .unicode_compact_shift = 5,
        .unicode_ascii_shift = 6,
        .bytes_size = 16,
        .bytes_data = 32,
        .has_debug_offsets = 0,
    },
    /* from /root/.pyenv/versions/3.12.1/include/python3.12 */
    /* 3.12.1 */
    {
        .major = 3, .minor = 12,
        .runtime_interpreters_head = 40,
        .runtime_gil = -1,
        .interp_gil_pointer = 384,
        .interp_next = 0,
        .interp_threads_head = 72,
        .gil_locked = 16,
        .gil_last_holder = 8,
        .tstate_next = 8,
        .tstate_thread_id = 136,
        .tstate_native_thread_id = 144,
        .tstate_frame = 56,
        .cframe_current_frame = 0,
        .frame_code = 0,
        .frame_instr = 56,
        .frame_previous = 8,
        .frame_owner = 70,
        .frame_owner_generator = 1,
        .frame_owner_cstack = 3,
        .frame_instr_kind = PLUMB__INSTR_POINTER,
        .code_name = 128,
        .code_bytecode = 192,
        .code_units = 16,
        .code_first_traceable = 176,
        .code_filename = 112,
        .code_firstlineno = 68,
        .code_linetable = 136,
        .line_format = PLUMB__LINES_LOCATIONS,
        .object_type = 8,
        .type_name = 24,
        .unicode_length = 16,
        .unicode_state = 32,
        .unicode_ascii_size = 40,
        .unicode_compact_size = 56,
        .unicode_kind_shift = 2,
        .unicode_compact_shift = 5,
        .unicode_ascii_shift = 6,
        .bytes_size = 16,
        .bytes_data = 32,
        .has_debug_offsets = 0,
    },
    /* from /root/.pyenv/versions/3.13.0/include/python3.13 */
    /* 3.13.0 */
    {
        .major = 3, .minor = 13,
        .runtime_interpreters_head = 632,
        .runtime_gil = -1,
        .interp_gil_pointer = 16,
        .interp_next = 7264,
        .interp_threads_head = 7344,
        .gil_locked = 16,
        .gil_last_holder = 8,
        .tstate_next = 8,
        .tstate_thread_id = 152,
        .tstate_native_thread_id = 160,
        .tstate_frame = 72,
        .cframe_current_frame = -1,
        .frame_code = 0,
        .frame_instr = 56,
        .frame_previous = 8,
        .frame_owner = 70,
        .frame_owner_generator = 1,
        .frame_owner_cstack = 3,
        .frame_instr_kind = PLUMB__INSTR_POINTER,
        .code_name = 128,
        .code_bytecode = 200,
        .code_units = 16,
        .code_first_traceable = 184,
        .code_filename = 112,
        .code_firstlineno = 68,
        .code_linetable = 136,
        .line_format = PLUMB__LINES_LOCATIONS,
        .object_type = 8,
        .type_name = 24,
        .unicode_length = 16,
        .unicode_state = 32,
        .unicode_ascii_size = 40,
        .unicode_compact_size = 56,
        .unicode_kind_shift = 2,
        .unicode_compact_shift = 5,
        .unicode_ascii_shift = 6,
        .bytes_size = 16,
        .bytes_data = 32,
        .has_debug_offsets = 1,
    },
};

/* _Py_DebugOffsets of 3.13.0 */
static const plumb__debug_layout_t debug_layout_3_13 = {
    .major = 3, .minor = 13,
    .size = 384, .version = 8, .free_threaded = 16,
    .fields = {
            {40, offsetof(plumb__offsets_t, runtime_interpreters_head)},
            {64, offsetof(plumb__offsets_t, interp_next)},
            {72, offsetof(plumb__offsets_t, interp_threads_head)},
            {112, offsetof(plumb__offsets_t, interp_gil_pointer)},
            {168, offsetof(plumb__offsets_t, tstate_next)},
            {184, offsetof(plumb__offsets_t, tstate_frame)},
            {192, offsetof(plumb__offsets_t, tstate_thread_id)},
            {200, offsetof(plumb__offsets_t, tstate_native_thread_id)},
            {232, offsetof(plumb__offsets_t, frame_previous)},
            {240, offsetof(plumb__offsets_t, frame_code)},
            {248, offsetof(plumb__offsets_t, frame_instr)},
            {264, offsetof(plumb__offsets_t, frame_owner)},
            {280, offsetof(plumb__offsets_t, code_filename)},
            {296, offsetof(plumb__offsets_t, code_name)},
            {304, offsetof(plumb__offsets_t, code_linetable)},
            {312, offsetof(plumb__offsets_t, code_firstlineno)},
            {344, offsetof(plumb__offsets_t, code_bytecode)},
            {360, offsetof(plumb__offsets_t, object_type)},
            {376, offsetof(plumb__offsets_t, type_name)},
        },
    .n_fields = 19,
};

static const char debug_cookie[8] = {'x', 'd', 'e', 'b', 'u', 'g', 'p', 'y'};

/* Largest offset we believe: the structures are a few kilobytes at most
 * (PyInterpreterState is the largest, ~100 KiB in 3.13). */
#define PLUMB__MAX_OFFSET (1 << 20)

const plumb__offsets_t *plumb__offsets_find(int major, int minor)
{
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (tables[i].major == major && tables[i].minor == minor)
            return &tables[i];
    return NULL;
}

const char *plumb__offsets_supported(void)
{
    return "3.8, 3.9, 3.10, 3.11, 3.12, 3.13";
}

size_t plumb__offsets_debug_size(void)
{
    return (size_t)debug_layout_3_13.size;
}

static uint64_t load_u64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

int plumb__offsets_apply_debug(plumb__offsets_t *table, const void *debug,
                               size_t len)
{
    const plumb__debug_layout_t *layout = &debug_layout_3_13;
    const unsigned char *bytes = debug;
    if (table == NULL || debug == NULL || len < (size_t)layout->size)
        return PLUMB_EINVAL;
    if (table->major != layout->major || table->minor != layout->minor)
        return PLUMB_EINVAL;
    if (memcmp(bytes, debug_cookie, sizeof debug_cookie) != 0)
        return PLUMB_EPARSE;
    /* PY_VERSION_HEX: 0xMMmmppRS */
    uint64_t version = load_u64(bytes + layout->version);
    if (((version >> 24) & 0xff) != (uint64_t)table->major ||
        ((version >> 16) & 0xff) != (uint64_t)table->minor)
        return PLUMB_EPARSE;
    /* A free-threaded build has another object header: no table fits. */
    if (load_u64(bytes + layout->free_threaded) != 0)
        return PLUMB_EUNSUPPORTED;
    plumb__offsets_t copy = *table;
    for (size_t i = 0; i < layout->n_fields; i++) {
        uint64_t v = load_u64(bytes + layout->fields[i].where);
        if (v >= PLUMB__MAX_OFFSET)
            return PLUMB_EPARSE;
        int64_t value = (int64_t)v;
        memcpy((char *)&copy + layout->fields[i].ours, &value, sizeof value);
    }
    *table = copy;
    return 0;
}
