#!/bin/sh
# gen_offsets.sh: prints the offset table rows of src/sampler/offsets.c.
#
# For each CPython include directory given (default: every pyenv 3.8-3.13
# and Debian's /usr/include/python3.11), compiles a small C program against
# that version's own headers, internal ones included (Py_BUILD_CORE), and
# prints one plumb__offsets_t initialiser of offsetof()/sizeof() values.
# For 3.13+ it also prints where _Py_DebugOffsets keeps each value plumb
# reads from it. Usage: tools/gen_offsets.sh [INCLUDE_DIR...]
set -eu

CC=${CC:-cc}
if [ $# -eq 0 ]; then
    set -- /root/.pyenv/versions/3.8.*/include/python3.8 \
           /root/.pyenv/versions/3.9.*/include/python3.9 \
           /root/.pyenv/versions/3.10.*/include/python3.10 \
           /root/.pyenv/versions/3.11.*/include/python3.11 \
           /usr/include/python3.11 \
           /root/.pyenv/versions/3.12.*/include/python3.12 \
           /root/.pyenv/versions/3.13.*/include/python3.13
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cat >"$tmp/gen.c" <<'CEOF'
#define Py_BUILD_CORE 1
#include <Python.h>
#include <frameobject.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#if PY_MINOR_VERSION == 8
#include "internal/pycore_pystate.h"
#else
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#endif
#if PY_MINOR_VERSION >= 11
#include "internal/pycore_frame.h"
#endif

#define OFF(t, f) ((long)offsetof(t, f))

/* Bit position of a 1 written into one field of the unicode state. */
#define STATE_SHIFT(field)                                                  \
    do {                                                                    \
        PyASCIIObject o;                                                    \
        unsigned int w = 0;                                                 \
        memset(&o, 0, sizeof o);                                            \
        o.state.field = 1;                                                  \
        memcpy(&w, (char *)&o + offsetof(PyASCIIObject, state), sizeof w);  \
        int s = 0;                                                          \
        while (s < 32 && !(w & (1u << s)))                                  \
            s++;                                                            \
        printf("        .unicode_" #field "_shift = %d,\n", s);             \
    } while (0)

int main(void)
{
    printf("    /* %s */\n", PY_VERSION);
    printf("    {\n");
    printf("        .major = %d, .minor = %d,\n", PY_MAJOR_VERSION,
           PY_MINOR_VERSION);
    printf("        .runtime_interpreters_head = %ld,\n",
           OFF(_PyRuntimeState, interpreters.head));
#if PY_MINOR_VERSION <= 11
    printf("        .runtime_gil = %ld,\n", OFF(_PyRuntimeState, ceval.gil));
    printf("        .interp_gil_pointer = -1,\n");
#else
    printf("        .runtime_gil = -1,\n");
    printf("        .interp_gil_pointer = %ld,\n",
           OFF(PyInterpreterState, ceval.gil));
#endif
    printf("        .interp_next = %ld,\n", OFF(PyInterpreterState, next));
#if PY_MINOR_VERSION <= 10
    printf("        .interp_threads_head = %ld,\n",
           OFF(PyInterpreterState, tstate_head));
#else
    printf("        .interp_threads_head = %ld,\n",
           OFF(PyInterpreterState, threads.head));
#endif
    printf("        .gil_locked = %ld,\n",
           OFF(struct _gil_runtime_state, locked));
    printf("        .gil_last_holder = %ld,\n",
           OFF(struct _gil_runtime_state, last_holder));

    printf("        .tstate_next = %ld,\n", OFF(PyThreadState, next));
    printf("        .tstate_thread_id = %ld,\n", OFF(PyThreadState, thread_id));
#if PY_MINOR_VERSION <= 10
    printf("        .tstate_native_thread_id = -1,\n");
#else
    printf("        .tstate_native_thread_id = %ld,\n",
           OFF(PyThreadState, native_thread_id));
#endif
#if PY_MINOR_VERSION <= 10
    printf("        .tstate_frame = %ld,\n", OFF(PyThreadState, frame));
    printf("        .cframe_current_frame = -1,\n");
    printf("        .frame_code = %ld,\n", OFF(PyFrameObject, f_code));
    printf("        .frame_previous = %ld,\n", OFF(PyFrameObject, f_back));
    printf("        .frame_instr = %ld,\n", OFF(PyFrameObject, f_lasti));
    printf("        .frame_owner = -1,\n");
    printf("        .frame_owner_cstack = -1,\n");
    printf("        .frame_owner_generator = -1,\n");
#else
#if PY_MINOR_VERSION <= 12
    printf("        .tstate_frame = %ld,\n", OFF(PyThreadState, cframe));
    printf("        .cframe_current_frame = %ld,\n",
           OFF(_PyCFrame, current_frame));
    printf("        .frame_code = %ld,\n", OFF(_PyInterpreterFrame, f_code));
    printf("        .frame_instr = %ld,\n",
           OFF(_PyInterpreterFrame, prev_instr));
#else
    printf("        .tstate_frame = %ld,\n", OFF(PyThreadState, current_frame));
    printf("        .cframe_current_frame = -1,\n");
    printf("        .frame_code = %ld,\n",
           OFF(_PyInterpreterFrame, f_executable));
    printf("        .frame_instr = %ld,\n",
           OFF(_PyInterpreterFrame, instr_ptr));
#endif
    printf("        .frame_previous = %ld,\n",
           OFF(_PyInterpreterFrame, previous));
    printf("        .frame_owner = %ld,\n", OFF(_PyInterpreterFrame, owner));
    printf("        .frame_owner_generator = %d,\n",
           (int)FRAME_OWNED_BY_GENERATOR);
#if PY_MINOR_VERSION == 11
    printf("        .frame_owner_cstack = -1,\n");
#else
    printf("        .frame_owner_cstack = %d,\n", (int)FRAME_OWNED_BY_CSTACK);
#endif
#endif
    printf("        .frame_instr_kind = %s,\n",
           PY_MINOR_VERSION <= 9    ? "PLUMB__INSTR_LASTI_BYTES"
           : PY_MINOR_VERSION == 10 ? "PLUMB__INSTR_LASTI_UNITS"
                                    : "PLUMB__INSTR_POINTER");

#if PY_MINOR_VERSION <= 10
    printf("        .code_name = %ld,\n", OFF(PyCodeObject, co_name));
    printf("        .code_bytecode = -1,\n");
    printf("        .code_units = -1,\n");
    printf("        .code_first_traceable = -1,\n");
#else
    printf("        .code_name = %ld,\n", OFF(PyCodeObject, co_qualname));
    printf("        .code_bytecode = %ld,\n",
           OFF(PyCodeObject, co_code_adaptive));
    printf("        .code_units = %ld,\n", OFF(PyVarObject, ob_size));
    printf("        .code_first_traceable = %ld,\n",
           OFF(PyCodeObject, _co_firsttraceable));
#endif
    printf("        .code_filename = %ld,\n", OFF(PyCodeObject, co_filename));
    printf("        .code_firstlineno = %ld,\n",
           OFF(PyCodeObject, co_firstlineno));
#if PY_MINOR_VERSION <= 9
    printf("        .code_linetable = %ld,\n", OFF(PyCodeObject, co_lnotab));
    printf("        .line_format = PLUMB__LINES_LNOTAB,\n");
#elif PY_MINOR_VERSION == 10
    printf("        .code_linetable = %ld,\n",
           OFF(PyCodeObject, co_linetable));
    printf("        .line_format = PLUMB__LINES_LINETABLE,\n");
#else
    printf("        .code_linetable = %ld,\n",
           OFF(PyCodeObject, co_linetable));
    printf("        .line_format = PLUMB__LINES_LOCATIONS,\n");
#endif

    printf("        .object_type = %ld,\n", OFF(PyObject, ob_type));
    printf("        .type_name = %ld,\n", OFF(PyTypeObject, tp_name));
    printf("        .unicode_length = %ld,\n", OFF(PyASCIIObject, length));
    printf("        .unicode_state = %ld,\n", OFF(PyASCIIObject, state));
    printf("        .unicode_ascii_size = %ld,\n", (long)sizeof(PyASCIIObject));
    printf("        .unicode_compact_size = %ld,\n",
           (long)sizeof(PyCompactUnicodeObject));
    STATE_SHIFT(kind);
    STATE_SHIFT(compact);
    STATE_SHIFT(ascii);
    printf("        .bytes_size = %ld,\n", OFF(PyVarObject, ob_size));
    printf("        .bytes_data = %ld,\n", OFF(PyBytesObject, ob_sval));
    printf("        .has_debug_offsets = %d,\n", PY_MINOR_VERSION >= 13);
    printf("    },\n");

#if PY_MINOR_VERSION >= 13
#define DBG(field, ours)                                                    \
    printf("            {%ld, offsetof(plumb__offsets_t, " #ours ")},\n",   \
           OFF(_Py_DebugOffsets, field))
    printf("/* _Py_DebugOffsets of %s */\n", PY_VERSION);
    printf("static const plumb__debug_layout_t debug_layout_%d_%d = {\n",
           PY_MAJOR_VERSION, PY_MINOR_VERSION);
    printf("    .major = %d, .minor = %d,\n", PY_MAJOR_VERSION,
           PY_MINOR_VERSION);
    printf("    .size = %ld, .version = %ld, .free_threaded = %ld,\n",
           OFF(_Py_DebugOffsets, type_object.tp_name) + 8,
           OFF(_Py_DebugOffsets, version),
           OFF(_Py_DebugOffsets, free_threaded));
    printf("    .fields = {\n");
    DBG(runtime_state.interpreters_head, runtime_interpreters_head);
    DBG(interpreter_state.next, interp_next);
    DBG(interpreter_state.threads_head, interp_threads_head);
    DBG(interpreter_state.ceval_gil, interp_gil_pointer);
    DBG(thread_state.next, tstate_next);
    DBG(thread_state.current_frame, tstate_frame);
    DBG(thread_state.thread_id, tstate_thread_id);
    DBG(thread_state.native_thread_id, tstate_native_thread_id);
    DBG(interpreter_frame.previous, frame_previous);
    DBG(interpreter_frame.executable, frame_code);
    DBG(interpreter_frame.instr_ptr, frame_instr);
    DBG(interpreter_frame.owner, frame_owner);
    DBG(code_object.filename, code_filename);
    DBG(code_object.qualname, code_name);
    DBG(code_object.linetable, code_linetable);
    DBG(code_object.firstlineno, code_firstlineno);
    DBG(code_object.co_code_adaptive, code_bytecode);
    DBG(pyobject.ob_type, object_type);
    DBG(type_object.tp_name, type_name);
    printf("        },\n");
    printf("    .n_fields = 19,\n");
    printf("};\n");
#endif
    return 0;
}
CEOF

for inc in "$@"; do
    [ -f "$inc/Python.h" ] || { echo "gen_offsets: no Python.h in $inc" >&2; exit 1; }
    extra=""
    [ -d "$inc/internal/mimalloc" ] && extra="-I$inc/internal/mimalloc"
    $CC -std=gnu11 -w -I"$inc" $extra -o "$tmp/gen" "$tmp/gen.c"
    echo "    /* from $inc */"
    "$tmp/gen"
done
