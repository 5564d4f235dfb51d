/* python.c: finding the CPython interpreter inside a target: which mapped
 * ELF file holds it (libpython in a shared build, the executable in a
 * static one), where that file is loaded, the address of _PyRuntime and
 * the version. It does not read the runtime's contents (unwind.c and the
 * offset tables do) and it does not read memory itself (target.c does).
 *
 * Where the file is loaded: like austin and py-spy, from the mapping of
 * the file in /proc/PID/maps. The first PT_LOAD segment holds file offset
 * page_down(p_offset) (0 in every linker's output we know) at link-time
 * address page_down(p_vaddr); the mapping of that file offset starts at
 * bias + page_down(p_vaddr), so bias = start - page_down(p_vaddr). A PIE
 * or a shared library has p_vaddr 0 and bias = start; a non-PIE
 * executable (Debian's /usr/bin/python3.11) has p_vaddr 0x400000, mapped
 * at 0x400000, and bias 0.
 *
 * The file is opened as the target sees it (/proc/PID/root/PATH, for a
 * process in a container), else by its path, else, when it was deleted or
 * replaced since (a package upgrade), through /proc/PID/map_files.
 *
 * The version, in order: the Py_Version symbol (3.11+, PY_VERSION_HEX in
 * the target's memory); the static buffer Py_GetVersion() fills at start-up
 * ("3.10.13 (main, ...)", a .symtab symbol "version.0" in gcc builds);
 * the file name (python3.X, libpython3.X), which has no micro (-1).
 */
#define _GNU_SOURCE
#include "plumb.h"

#include "sampler/elf.h"
#include "sampler/python.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Enough for the executable and a few libpythons. */
#define MAX_CANDIDATES 8
/* Py_GetVersion's buffer is char version[250] in 3.8-3.10. */
#define GETVERSION_BUFFER_BYTES 250

/* One line of /proc/PID/maps that names a file. */
typedef struct {
    uint64_t start, end, offset;
    const char *path; /* into the maps text */
} mapping_t;

typedef struct {
    char *text;        /* the whole of /proc/PID/maps, lines cut at '\n' */
    mapping_t *entries;
    size_t n;
} maps_t;

/* ---- /proc/PID/maps ----------------------------------------------------- */

static void maps_free(maps_t *m)
{
    free(m->text);
    free(m->entries);
    memset(m, 0, sizeof *m);
}

/* Reads a whole /proc file: 0, or a negative errno. */
static int read_proc_file(const char *path, char **out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC), err = 0;
    char *text = NULL;
    size_t len = 0, cap = 0;
    *out = NULL;
    if (fd < 0)
        return -errno;
    for (;;) {
        if (cap - len < 4096) {
            size_t new_cap = cap ? cap * 2 : 65536;
            char *grown = realloc(text, new_cap);
            if (!grown) {
                err = -ENOMEM;
                goto out;
            }
            text = grown;
            cap = new_cap;
        }
        ssize_t n = read(fd, text + len, cap - len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            err = -errno;
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    text[len] = '\0';

out:
    close(fd);
    if (err != 0) {
        free(text);
        return err;
    }
    *out = text;
    return 0;
}

/* Parses "start-end perms offset dev inode   path" lines that name a file. */
static int maps_read(pid_t pid, maps_t *m)
{
    char path[64];
    memset(m, 0, sizeof *m);
    snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
    int err = read_proc_file(path, &m->text);
    if (err != 0)
        return err;
    size_t lines = 1;
    for (const char *p = m->text; *p; p++)
        lines += *p == '\n';
    m->entries = calloc(lines, sizeof *m->entries);
    if (!m->entries) {
        maps_free(m);
        return -ENOMEM;
    }
    for (char *line = m->text; line && *line;) {
        char *next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        unsigned long long start, end, offset, inode;
        char perms[8], dev[32];
        int path_at = 0;
        if (sscanf(line, "%llx-%llx %7s %llx %31s %llu %n", &start, &end,
                   perms, &offset, dev, &inode, &path_at) >= 6 &&
            path_at > 0 && line[path_at] == '/') {
            mapping_t *e = &m->entries[m->n++];
            e->start = start;
            e->end = end;
            e->offset = offset;
            e->path = line + path_at;
        }
        line = next;
    }
    return 0;
}

/* ---- candidates --------------------------------------------------------- */

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* libpython3.12.so.1.0, libpython3.8.so, libpython3.11d.so: a shared build. */
static int is_libpython(const char *path)
{
    const char *name = base_name(path);
    return strncmp(name, "libpython3.", 11) == 0 && strstr(name, ".so");
}

static int add_candidate(const char **candidates, size_t *n, const char *path)
{
    for (size_t i = 0; i < *n; i++)
        if (strcmp(candidates[i], path) == 0)
            return 0;
    if (*n == MAX_CANDIDATES)
        return 0;
    candidates[(*n)++] = path;
    return 1;
}

/* Opens path as the target sees it (through /proc/PID/root, for a target
 * in another mount namespace), else as plumb sees it, else through
 * /proc/PID/map_files: the one way to a file that was deleted or replaced
 * after the process mapped it ("path (deleted)" in maps, as after a
 * package upgrade), which needs CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE. */
static int open_target_elf(pid_t pid, const maps_t *m, const char *path,
                           plumb__elf_t **out)
{
    char alias[PATH_MAX + 64];
    int n = snprintf(alias, sizeof alias, "/proc/%ld/root%s", (long)pid,
                     path);
    if (n > 0 && (size_t)n < sizeof alias && plumb__elf_open(alias, out) == 0)
        return 0;
    int err = plumb__elf_open(path, out);
    if (err == 0)
        return 0;
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->entries[i].path, path) != 0)
            continue;
        snprintf(alias, sizeof alias, "/proc/%ld/map_files/%llx-%llx",
                 (long)pid, (unsigned long long)m->entries[i].start,
                 (unsigned long long)m->entries[i].end);
        return plumb__elf_open(alias, out) == 0 ? 0 : err;
    }
    return err;
}

/* The load bias of path (see the opening comment): 0, or PLUMB_ENOTFOUND
 * when the mapping of its first segment is not (yet) there. */
static int load_bias(const maps_t *m, const plumb__elf_t *elf,
                     const char *path, uint64_t *bias)
{
    uint64_t vaddr, offset;
    long page = sysconf(_SC_PAGESIZE);
    uint64_t page_mask = ~(uint64_t)((page > 0 ? page : 4096) - 1);
    int err = plumb__elf_first_load(elf, &vaddr, &offset);
    if (err != 0)
        return err;
    for (size_t i = 0; i < m->n; i++) {
        if (m->entries[i].offset != (offset & page_mask) ||
            strcmp(m->entries[i].path, path) != 0)
            continue;
        *bias = m->entries[i].start - (vaddr & page_mask);
        return 0;
    }
    return PLUMB_ENOTFOUND;
}

/* ---- version ------------------------------------------------------------ */

static int plausible(int major, int minor)
{
    return major == 3 && minor >= 0 && minor < 100;
}

/* What the version readers below return, besides 0 and PLUMB_ENOTFOUND
 * (no such symbol: try the next way), when the symbol is there but its
 * memory cannot be read or holds nothing yet: the target is between exec
 * and Py_Initialize, or the loader is still mapping libpython's segments.
 * The caller retries rather than settle for a version without its micro. */
#define NOT_READY 1

/* From PY_VERSION_HEX at Py_Version: 0x030c01f0 is 3.12.1 final. */
static int version_from_py_version(plumb__target_t *t,
                                   const plumb__elf_t *elf, uint64_t bias,
                                   plumb__python_t *out)
{
    uint64_t value;
    unsigned char bytes[4];
    if (plumb__elf_symbol(elf, "Py_Version", &value, NULL) != 0)
        return PLUMB_ENOTFOUND;
    if (plumb__target_read(t, value + bias, bytes, sizeof bytes) != 0)
        return NOT_READY;
    /* Py_Version is an unsigned long holding PY_VERSION_HEX; elf.c takes
     * only little-endian files, where its first 4 bytes are the value. */
    uint32_t hex = (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 |
                   (uint32_t)bytes[2] << 16 | (uint32_t)bytes[3] << 24;
    int major = (int)(hex >> 24 & 0xff), minor = (int)(hex >> 16 & 0xff);
    if (!plausible(major, minor))
        return NOT_READY;
    out->major = major;
    out->minor = minor;
    out->micro = (int)(hex >> 8 & 0xff);
    return 0;
}

/* From the text Py_GetVersion() keeps in a static buffer, which is empty
 * until the interpreter initialises itself. */
static int version_from_getversion(plumb__target_t *t,
                                   const plumb__elf_t *elf, uint64_t bias,
                                   plumb__python_t *out)
{
    uint64_t value, size;
    char text[64];
    int major, minor, micro;
    if (plumb__elf_symbol(elf, "version.0", &value, &size) != 0 ||
        size != GETVERSION_BUFFER_BYTES)
        return PLUMB_ENOTFOUND;
    if (plumb__target_read_string(t, value + bias, text, sizeof text) != 0 ||
        text[0] == '\0')
        return NOT_READY;
    if (sscanf(text, "%d.%d.%d", &major, &minor, &micro) != 3 ||
        !plausible(major, minor) || micro < 0)
        return PLUMB_ENOTFOUND;
    out->major = major;
    out->minor = minor;
    out->micro = micro;
    return 0;
}

/* From python3.X or libpython3.X in the file name; the micro is unknown. */
static int version_from_name(const char *path, plumb__python_t *out)
{
    const char *name = base_name(path);
    int minor;
    if (strncmp(name, "lib", 3) == 0)
        name += 3;
    if (strncmp(name, "python3.", 8) != 0 ||
        sscanf(name + 8, "%d", &minor) != 1 || !plausible(3, minor))
        return PLUMB_ENOTFOUND;
    out->major = 3;
    out->minor = minor;
    out->micro = -1;
    return 0;
}

/* ---- finding the interpreter -------------------------------------------- */

int plumb__python_find(plumb__target_t *t, plumb__python_t *out, char *why,
                       size_t why_size)
{
    maps_t maps = {0};
    plumb__elf_t *elf = NULL;
    const char *candidates[MAX_CANDIDATES];
    size_t n_candidates = 0;
    char exe[PATH_MAX], path[64], comm[64] = "?", scratch[1];
    int err = 0;

    if (!t || !out || (why_size > 0 && !why))
        return PLUMB_EINVAL;
    if (!why || why_size == 0) {
        why = scratch;
        why_size = sizeof scratch;
    }
    why[0] = '\0';
    memset(out, 0, sizeof *out);
    pid_t pid = plumb__target_pid(t);

    snprintf(path, sizeof path, "/proc/%ld/comm", (long)pid);
    char *comm_text = NULL;
    if (read_proc_file(path, &comm_text) == 0) {
        comm_text[strcspn(comm_text, "\n")] = '\0';
        snprintf(comm, sizeof comm, "%s", comm_text);
        free(comm_text);
    }

    int sys_err = maps_read(pid, &maps);
    if (sys_err != 0) {
        err = sys_err == -ENOMEM                          ? PLUMB_ENOMEM
              : sys_err == -EACCES || sys_err == -EPERM ? PLUMB_EACCESS
                                                          : PLUMB_ENOTFOUND;
        snprintf(why, why_size,
                 err == PLUMB_ENOTFOUND
                     ? "process %ld (%s) has exited"
                     : "could not read the mappings of process %ld (%s)",
                 (long)pid, comm);
        goto out;
    }

    /* libpython first: in a shared build the executable is a stub. */
    for (size_t i = 0; i < maps.n; i++)
        if (is_libpython(maps.entries[i].path))
            add_candidate(candidates, &n_candidates, maps.entries[i].path);
    snprintf(path, sizeof path, "/proc/%ld/exe", (long)pid);
    ssize_t exe_len = readlink(path, exe, sizeof exe - 1);
    if (exe_len > 0) {
        exe[exe_len] = '\0';
        for (size_t i = 0; i < maps.n; i++)
            if (strcmp(maps.entries[i].path, exe) == 0) {
                add_candidate(candidates, &n_candidates,
                              maps.entries[i].path);
                break;
            }
    }

    const char *unopened = NULL; /* a candidate we could not read */
    int open_err = 0;
    for (size_t c = 0; c < n_candidates; c++) {
        uint64_t runtime, bias;
        plumb__elf_close(elf);
        elf = NULL;
        int rc = open_target_elf(pid, &maps, candidates[c], &elf);
        if (rc != 0 && !unopened) {
            unopened = candidates[c];
            open_err = rc;
        }
        if (rc != 0 ||
            plumb__elf_symbol(elf, "_PyRuntime", &runtime, NULL) != 0 ||
            load_bias(&maps, elf, candidates[c], &bias) != 0)
            continue;
        out->runtime_addr = runtime + bias;
        snprintf(out->binary, sizeof out->binary, "%s", candidates[c]);
        uint64_t probe;
        rc = version_from_py_version(t, elf, bias, out);
        if (rc == PLUMB_ENOTFOUND)
            rc = version_from_getversion(t, elf, bias, out);
        if (rc == 0 && plumb__target_read(t, out->runtime_addr, &probe,
                                          sizeof probe) != 0)
            rc = NOT_READY; /* its segment is not mapped yet */
        if (rc == 0)
            goto out;
        if (rc == NOT_READY) {
            /* Caught while the loader maps libpython or before
             * Py_Initialize: the caller tries again. */
            snprintf(why, why_size,
                     "process %ld (%s) has not initialised its Python "
                     "runtime yet",
                     (long)pid, comm);
            err = PLUMB_ENOTFOUND;
            goto out;
        }
        if (version_from_name(candidates[c], out) == 0)
            goto out;
        snprintf(why, why_size,
                 "could not tell which CPython version process %ld (%s) "
                 "runs: %s has no Py_Version symbol and its name has no "
                 "version",
                 (long)pid, comm, candidates[c]);
        err = PLUMB_ENOTFOUND;
        goto out;
    }
    /* A python2.7 or a libpython3.6m is CPython all the same: say so. */
    const char *python_like = NULL;
    for (size_t c = 0; c < n_candidates && !python_like; c++)
        if (is_libpython(candidates[c]) ||
            strncmp(base_name(candidates[c]), "python", 6) == 0)
            python_like = candidates[c];
    if (unopened && strstr(unopened, " (deleted)"))
        snprintf(why, why_size,
                 "could not look for _PyRuntime in process %ld (%s): %s was "
                 "replaced after the process started (an upgrade?) and can "
                 "only be read as root with CAP_SYS_ADMIN, through "
                 "/proc/%ld/map_files",
                 (long)pid, comm, unopened, (long)pid);
    else if (unopened)
        snprintf(why, why_size,
                 "could not look for _PyRuntime in process %ld (%s): "
                 "cannot read %s: %s",
                 (long)pid, comm, unopened, plumb_strerror(open_err));
    else if (python_like)
        snprintf(why, why_size,
                 "process %ld (%s) is not a CPython interpreter plumb can "
                 "read: no _PyRuntime symbol in its executable or libraries "
                 "(%s has none: CPython before 3.7, or still starting)",
                 (long)pid, comm, python_like);
    else
        snprintf(why, why_size,
                 "process %ld (%s) is not a CPython interpreter: no "
                 "_PyRuntime symbol in its executable or libraries",
                 (long)pid, comm);
    err = PLUMB_ENOTFOUND;

out:
    if (err != 0)
        memset(out, 0, sizeof *out);
    plumb__elf_close(elf);
    maps_free(&maps);
    return err;
}
