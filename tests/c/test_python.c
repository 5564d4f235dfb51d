/* test_python.c: finding the interpreter in a running CPython
 * (src/sampler/python.c, src/sampler/elf.c). Every interpreter present on
 * the machine is started (pyenv's 3.8-3.13, shared builds, and Debian's
 * /usr/bin/python3, a static non-PIE build); each must report the version
 * the interpreter itself prints and a _PyRuntime address that reads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests.h"

#include "sampler/elf.h"
#include "sampler/python.h"
#include "sampler/target.h"

#define FIND_TIMEOUT_MS 2000

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Starts argv with stdin, stdout and stderr on /dev/null. */
static pid_t start(char *const argv[])
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) {
            dup2(null, 0);
            dup2(null, 1);
            dup2(null, 2);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    return pid;
}

static void stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* What the interpreter says its version is. */
static void version_of(const char *python, int *major, int *minor,
                       int *micro)
{
    char command[4200];
    snprintf(command, sizeof command,
             "%s -c 'import sys; print(\"%%d %%d %%d\" %% "
             "tuple(sys.version_info[:3]))'",
             python);
    FILE *p = popen(command, "r");
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%d %d %d", major, minor, micro), 3);
    assert_int_equal(pclose(p), 0);
}

/* Runs python_find on pid until it succeeds or FIND_TIMEOUT_MS pass (the
 * child may still be exec-ing or loading libpython). */
static int find_with_retry(pid_t pid, plumb__python_t *py, char *why,
                           size_t why_size)
{
    int err = PLUMB_ENOTFOUND;
    for (int waited = 0; waited <= FIND_TIMEOUT_MS; waited += 20) {
        plumb__target_t *t = NULL;
        err = plumb__target_open(pid, &t, why, why_size);
        if (err == 0)
            err = plumb__python_find(t, py, why, why_size);
        plumb__target_close(t);
        if (err == 0)
            return 0;
        sleep_ms(20);
    }
    return err;
}

static void check_interpreter(const char *python)
{
    int major, minor, micro;
    version_of(python, &major, &minor, &micro);

    char *argv[] = {(char *)python, "-c", "import time; time.sleep(30)",
                    NULL};
    pid_t pid = start(argv);
    plumb__python_t *py = calloc(1, sizeof *py);
    char why[512] = "";
    assert_non_null(py);
    int err = find_with_retry(pid, py, why, sizeof why);
    if (err != 0)
        print_error("%s: %s (%s)\n", python, plumb_errname(err), why);
    assert_int_equal(err, 0);
    if (py->major != major || py->minor != minor || py->micro != micro)
        print_error("%s is %d.%d.%d, found %d.%d.%d in %s\n", python, major,
                    minor, micro, py->major, py->minor, py->micro,
                    py->binary);
    assert_int_equal(py->major, major);
    assert_int_equal(py->minor, minor);
    assert_int_equal(py->micro, micro);
    assert_non_null(strstr(py->binary, "python3."));
    assert_true(py->runtime_addr != 0);

    plumb__target_t *t = NULL;
    unsigned char head[8];
    assert_int_equal(plumb__target_open(pid, &t, NULL, 0), 0);
    assert_int_equal(
        plumb__target_read(t, py->runtime_addr, head, sizeof head), 0);
    /* 3.13 starts _PyRuntime with _Py_DebugOffsets, cookie "xdebugpy". */
    if (minor >= 13)
        assert_memory_equal(head, "xdebugpy", 8);
    plumb__target_close(t);
    stop(pid);
    free(py);
}

static void finds_every_installed_interpreter(void **state)
{
    (void)state;
    size_t checked = 0;
    for (int minor = 8; minor <= 13; minor++) {
        char pattern[128];
        glob_t found;
        snprintf(pattern, sizeof pattern,
                 "/root/.pyenv/versions/3.%d.*/bin/python3", minor);
        if (glob(pattern, 0, NULL, &found) != 0)
            continue;
        for (size_t i = 0; i < found.gl_pathc; i++, checked++)
            check_interpreter(found.gl_pathv[i]);
        globfree(&found);
    }
    if (access("/usr/bin/python3", X_OK) == 0) {
        check_interpreter("/usr/bin/python3");
        checked++;
    }
    if (checked == 0)
        skip();
}

static void sleep_is_not_python(void **state)
{
    (void)state;
    char *argv[] = {"/bin/sleep", "30", NULL};
    pid_t pid = start(argv);
    char exe_link[64], exe[4096], why[512], expected[256];
    snprintf(exe_link, sizeof exe_link, "/proc/%ld/exe", (long)pid);
    /* Wait for the exec: before it the child is a copy of this runner. */
    for (int waited = 0; waited < FIND_TIMEOUT_MS; waited += 10) {
        ssize_t n = readlink(exe_link, exe, sizeof exe - 1);
        if (n > 0) {
            exe[n] = '\0';
            if (strstr(exe, "sleep"))
                break;
        }
        sleep_ms(10);
    }
    plumb__target_t *t = NULL;
    plumb__python_t py;
    assert_int_equal(plumb__target_open(pid, &t, why, sizeof why), 0);
    assert_int_equal(plumb__python_find(t, &py, why, sizeof why),
                     PLUMB_ENOTFOUND);
    snprintf(expected, sizeof expected,
             "process %ld (sleep) is not a CPython interpreter: no "
             "_PyRuntime symbol in its executable or libraries",
             (long)pid);
    assert_string_equal(why, expected);
    assert_true(py.runtime_addr == 0);
    plumb__target_close(t);
    stop(pid);
}

/* Copies the file at from to a new file at to, executable. */
static void copy_file(const char *from, const char *to)
{
    char buf[65536];
    int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT, 0755);
    assert_true(in >= 0 && out >= 0);
    for (ssize_t n; (n = read(in, buf, sizeof buf)) > 0;)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    assert_int_equal(close(out), 0);
}

/* After a package upgrade, the running interpreter's file is gone: maps
 * says "/usr/bin/python3.11 (deleted)", and it is read all the same. */
static void finds_a_deleted_interpreter(void **state)
{
    (void)state;
    const char *python = "/usr/bin/python3.11";
    char dir[] = "/tmp/plumb-python-XXXXXX", copy[64];
    if (access(python, X_OK) != 0)
        skip();
    int major, minor, micro;
    version_of(python, &major, &minor, &micro);
    assert_non_null(mkdtemp(dir));
    snprintf(copy, sizeof copy, "%s/python3.11", dir);
    copy_file(python, copy);
    char *argv[] = {copy, "-c", "import time; time.sleep(30)", NULL};
    pid_t pid = start(argv);
    plumb__python_t *py = calloc(1, sizeof *py);
    char why[512] = "";
    assert_non_null(py);
    assert_int_equal(find_with_retry(pid, py, why, sizeof why), 0);
    assert_int_equal(unlink(copy), 0);
    assert_int_equal(rmdir(dir), 0);
    memset(py, 0, sizeof *py);
    int err = find_with_retry(pid, py, why, sizeof why);
    if (err != 0)
        print_error("%s: %s\n", plumb_errname(err), why);
    assert_int_equal(err, 0);
    assert_non_null(strstr(py->binary, "python3.11 (deleted)"));
    assert_int_equal(py->minor, minor);
    assert_int_equal(py->micro, micro);
    stop(pid);
    free(py);
}

/* CPython before 3.7 has no _PyRuntime: the sentence names the file. */
static void old_cpython_is_named(void **state)
{
    (void)state;
    glob_t found;
    if (glob("/root/.pyenv/versions/3.6.*/bin/python3", 0, NULL, &found) !=
        0)
        skip();
    char *argv[] = {found.gl_pathv[0], "-c", "import time; time.sleep(30)",
                    NULL};
    pid_t pid = start(argv);
    plumb__python_t py;
    char why[1024] = "";
    /* Until libpython3.6m is mapped the child is another program. */
    for (int waited = 0; waited <= FIND_TIMEOUT_MS; waited += 20) {
        plumb__target_t *t = NULL;
        int err = plumb__target_open(pid, &t, why, sizeof why);
        if (err == 0)
            err = plumb__python_find(t, &py, why, sizeof why);
        plumb__target_close(t);
        assert_int_equal(err, PLUMB_ENOTFOUND);
        if (strstr(why, "libpython3.6m.so"))
            break;
        sleep_ms(20);
    }
    assert_non_null(strstr(why, "is not a CPython interpreter plumb can "
                                "read: no _PyRuntime symbol"));
    assert_non_null(strstr(why, "libpython3.6m.so"));
    assert_non_null(strstr(why, "CPython before 3.7"));
    stop(pid);
    globfree(&found);
}

/* The ELF reader on files whose symbols readelf shows: Debian's python3
 * defines _PyRuntime in .dynsym; a non-PIE executable loads at 0x400000. */
static void elf_reads_symbols_and_load_address(void **state)
{
    (void)state;
    plumb__elf_t *elf = NULL;
    uint64_t value = 0, size = 0, vaddr = 1, offset = 1;
    assert_int_equal(plumb__elf_open("/nonexistent/python", &elf),
                     PLUMB_ENOTFOUND);
    assert_int_equal(plumb__elf_open("/etc/hostname", &elf), PLUMB_EPARSE);
    assert_null(elf);

    assert_int_equal(plumb__elf_open("/bin/sleep", &elf), 0);
    assert_int_equal(plumb__elf_symbol(elf, "_PyRuntime", &value, NULL),
                     PLUMB_ENOTFOUND);
    assert_int_equal(plumb__elf_first_load(elf, &vaddr, &offset), 0);
    assert_true(offset == 0);
    plumb__elf_close(elf);
    elf = NULL;

    if (access("/usr/bin/python3.11", R_OK) != 0)
        skip();
    assert_int_equal(plumb__elf_open("/usr/bin/python3.11", &elf), 0);
    assert_int_equal(plumb__elf_symbol(elf, "_PyRuntime", &value, &size), 0);
    assert_true(value != 0 && size > 0);
    assert_int_equal(plumb__elf_symbol(elf, "Py_Version", &value, &size), 0);
    assert_true(size == 8); /* const unsigned long */
    assert_int_equal(plumb__elf_first_load(elf, &vaddr, &offset), 0);
    assert_true(vaddr == 0x400000 && offset == 0);
    plumb__elf_close(elf);
}

/* Garbage and truncated headers are refused, not read past. */
static void elf_refuses_corrupt_files(void **state)
{
    (void)state;
    plumb__elf_t *elf = NULL;
    unsigned char bytes[128] = {0x7f, 'E', 'L', 'F', 2, 1, 1};
    uint64_t value, vaddr, offset;
    assert_int_equal(plumb__elf_open_memory(bytes, 10, &elf), PLUMB_EPARSE);
    assert_int_equal(plumb__elf_open_memory("MZ", 2, &elf), PLUMB_EPARSE);
    bytes[4] = 1; /* ELFCLASS32 */
    assert_int_equal(plumb__elf_open_memory(bytes, sizeof bytes, &elf),
                     PLUMB_EUNSUPPORTED);
    bytes[4] = 2;
    /* Headers claiming tables far past the end. */
    memset(bytes + 32, 0xff, 8);  /* e_phoff */
    memset(bytes + 40, 0xff, 8);  /* e_shoff */
    bytes[54] = 56;               /* e_phentsize */
    bytes[56] = 3;                /* e_phnum */
    bytes[58] = 64;               /* e_shentsize */
    bytes[60] = 9;                /* e_shnum */
    assert_int_equal(plumb__elf_open_memory(bytes, sizeof bytes, &elf), 0);
    assert_int_equal(plumb__elf_symbol(elf, "_PyRuntime", &value, NULL),
                     PLUMB_ENOTFOUND);
    assert_int_equal(plumb__elf_first_load(elf, &vaddr, &offset),
                     PLUMB_ENOTFOUND);
    plumb__elf_close(elf);
}

int test_python_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(finds_every_installed_interpreter),
        cmocka_unit_test(sleep_is_not_python),
        cmocka_unit_test(old_cpython_is_named),
        cmocka_unit_test(finds_a_deleted_interpreter),
        cmocka_unit_test(elf_reads_symbols_and_load_address),
        cmocka_unit_test(elf_refuses_corrupt_files),
    };
    return cmocka_run_group_tests_name("python", tests, NULL, NULL);
}
