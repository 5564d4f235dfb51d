/* offsets.h: where CPython keeps what the unwinder reads, one table per
 * minor version (offsets.c, generated from each version's own headers by
 * tools/gen_offsets.sh). Every version difference the unwinder knows about
 * is a number or a format tag here; the unwinder has no version branches.
 * Not responsible for reading memory or decoding anything (unwind.c).
 * Internal to libplumb; the tables are static data, nothing to free. */
#ifndef PLUMB_SAMPLER_OFFSETS_H
#define PLUMB_SAMPLER_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

/* How a frame says which instruction it is at. */
typedef enum {
    PLUMB__INSTR_LASTI_BYTES, /* int f_lasti, a byte offset (3.8, 3.9) */
    PLUMB__INSTR_LASTI_UNITS, /* int f_lasti, in 2-byte code units (3.10) */
    PLUMB__INSTR_POINTER      /* pointer into the code object's bytecode:
                                 prev_instr (3.11, 3.12), instr_ptr (3.13) */
} plumb__instr_kind_t;

/* How a code object maps bytecode offsets to line numbers. */
typedef enum {
    PLUMB__LINES_LNOTAB,    /* co_lnotab (3.8, 3.9) */
    PLUMB__LINES_LINETABLE, /* co_linetable, PEP 626 pairs (3.10) */
    PLUMB__LINES_LOCATIONS  /* co_linetable, PEP 657 locations (3.11+) */
} plumb__line_format_t;

/* Byte offsets, -1 where the version has no such field. */
typedef struct {
    int major, minor;

    /* _PyRuntimeState */
    int64_t runtime_interpreters_head;
    int64_t runtime_gil;          /* struct _gil_runtime_state inside it */
    /* PyInterpreterState */
    int64_t interp_next;
    int64_t interp_threads_head;
    int64_t interp_gil_pointer;   /* pointer to the GIL state (3.12+) */
    /* struct _gil_runtime_state */
    int64_t gil_locked;           /* int */
    int64_t gil_last_holder;      /* PyThreadState * */

    /* PyThreadState */
    int64_t tstate_next;
    int64_t tstate_thread_id;        /* unsigned long */
    int64_t tstate_native_thread_id; /* unsigned long */
    /* The innermost frame is read at tstate_frame; when cframe_current_frame
     * is not -1, tstate_frame holds a _PyCFrame * and the frame is at that
     * offset inside it (3.11, 3.12). */
    int64_t tstate_frame;
    int64_t cframe_current_frame;

    /* PyFrameObject (3.8-3.10) or _PyInterpreterFrame (3.11+) */
    int64_t frame_code;
    int64_t frame_previous;
    int64_t frame_instr;
    int frame_instr_kind;         /* plumb__instr_kind_t */
    int64_t frame_owner;          /* char */
    int frame_owner_cstack;       /* owner value of C-stack shim frames */
    int frame_owner_generator;    /* owner value of generator frames */

    /* PyCodeObject */
    int64_t code_name;            /* co_qualname where there is one */
    int64_t code_filename;
    int64_t code_firstlineno;     /* int */
    int64_t code_linetable;       /* bytes object */
    int line_format;              /* plumb__line_format_t */
    int64_t code_bytecode;        /* co_code_adaptive (3.11+) */
    int64_t code_units;           /* Py_ssize_t ob_size: the bytecode's
                                     length in 2-byte units (3.11+) */
    /* int _co_firsttraceable (3.11+): a frame not owned by a generator
     * whose instruction is before this unit has not started (CPython's
     * _PyFrame_IsIncomplete); shims such as 3.13's __init__ cleanup and
     * 3.12's entry trampoline never start. */
    int64_t code_first_traceable;

    /* PyObject, PyTypeObject */
    int64_t object_type;
    int64_t type_name;            /* const char *tp_name */

    /* PyASCIIObject / PyCompactUnicodeObject */
    int64_t unicode_length;
    int64_t unicode_state;        /* the 32-bit state bit field */
    int64_t unicode_ascii_size;   /* ASCII data follows this many bytes */
    int64_t unicode_compact_size; /* other compact data follows this */
    int unicode_kind_shift;       /* kind is 3 bits: 1, 2 or 4 bytes/char */
    int unicode_compact_shift;
    int unicode_ascii_shift;

    /* PyBytesObject */
    int64_t bytes_size;
    int64_t bytes_data;

    /* 1 when _PyRuntime starts with _Py_DebugOffsets (cookie "xdebugpy"),
     * whose values replace the ones above that it also carries. */
    int has_debug_offsets;
} plumb__offsets_t;

/* The table for major.minor, or NULL when there is none. */
const plumb__offsets_t *plumb__offsets_find(int major, int minor);

/* "3.8, 3.9, ...": the versions with tables; static. */
const char *plumb__offsets_supported(void);

/* The size of the _Py_DebugOffsets prefix plumb__offsets_apply_debug reads. */
size_t plumb__offsets_debug_size(void);

/* Overwrites the fields of *table that _Py_DebugOffsets also carries with
 * the values in debug[0..len), the bytes at the start of the target's
 * _PyRuntime. PLUMB_EPARSE when the cookie is wrong, a value is out of
 * range or the block is shorter than plumb__offsets_debug_size(). */
int plumb__offsets_apply_debug(plumb__offsets_t *table, const void *debug,
                               size_t len);

#endif
