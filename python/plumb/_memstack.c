/* _memstack.c: the calling thread's Python stack, read where it lies, for
 * the memory recorder's allocator hooks. A hook runs in the middle of an
 * allocation, so it may not call into Python, allocate, or make frame
 * objects (which would allocate, and on 3.11 could start a collection):
 * it reads the interpreter's own frames, as tracemalloc does, through the
 * internal headers of the very Python the extension is built for, so the
 * layout is the one compiled in. What it records per frame is the code
 * object and the offset of the instruction running; names and line numbers
 * are looked up later, once per distinct stack (plumb_py_mem_frame_line).
 */
#include "_core.h"

#if PY_VERSION_HEX >= 0x030B0000
#define Py_BUILD_CORE 1
#include "internal/pycore_frame.h"
#undef Py_BUILD_CORE
#else
#include <frameobject.h>
#endif

#if PY_VERSION_HEX >= 0x030D0000
#define CURRENT_FRAME(ts) ((ts)->current_frame)
#elif PY_VERSION_HEX >= 0x030B0000
#define CURRENT_FRAME(ts) ((ts)->cframe ? (ts)->cframe->current_frame : NULL)
#endif

#if PY_VERSION_HEX >= 0x030D0000
#define THREAD_STATE() PyThreadState_GetUnchecked()
#else
#define THREAD_STATE() _PyThreadState_UncheckedGet()
#endif

#if PY_VERSION_HEX >= 0x030B0000
/* The code object of frame f, or NULL for a frame that runs none (a C
 * entry frame) or is not set up yet. */
static PyCodeObject *frame_code(_PyInterpreterFrame *f)
{
#if PY_VERSION_HEX >= 0x030C0000
    if (f->owner == FRAME_OWNED_BY_CSTACK)
        return NULL;
#endif
    if (_PyFrame_IsIncomplete(f))
        return NULL;
#if PY_VERSION_HEX >= 0x030D0000
    PyObject *exe = f->f_executable;
    return exe && PyCode_Check(exe) ? (PyCodeObject *)exe : NULL;
#else
    return f->f_code;
#endif
}
#endif

size_t plumb_py_mem_stack(plumb_py_mem_frame_t *out, size_t max,
                          int *truncated)
{
    size_t n = 0;
    *truncated = 0;
    PyThreadState *ts = THREAD_STATE();
    if (!ts)
        return 0;
#if PY_VERSION_HEX >= 0x030B0000
    for (_PyInterpreterFrame *f = CURRENT_FRAME(ts); f; f = f->previous) {
        PyCodeObject *code = frame_code(f);
        if (!code)
            continue;
        if (n == max) {
            *truncated = 1;
            break;
        }
        out[n].code = code;
        out[n].offset = _PyInterpreterFrame_LASTI(f) *
                        (int)sizeof(_Py_CODEUNIT);
        n++;
    }
#else
    for (PyFrameObject *f = ts->frame; f; f = f->f_back) {
        if (n == max) {
            *truncated = 1;
            break;
        }
        out[n].code = f->f_code;
        out[n].offset = f->f_lasti < 0 ? 0 : f->f_lasti * 2;
        n++;
    }
#endif
    return n;
}

int plumb_py_mem_frame_line(const plumb_py_mem_frame_t *f)
{
    int line = PyCode_Addr2Line(f->code, f->offset);
    return line < 0 ? 0 : line;
}

PyObject *plumb_py_mem_frame_name(const plumb_py_mem_frame_t *f)
{
#if PY_VERSION_HEX >= 0x030B0000
    return f->code->co_qualname;
#else
    return f->code->co_name;
#endif
}
