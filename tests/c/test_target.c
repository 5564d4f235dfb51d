/* test_target.c: reading a process's memory from outside
 * (src/linux/target.c). The target is mostly the test runner itself, whose
 * variables we know; the error cases use children that exit, drop their
 * privileges, or lose process_vm_readv to a seccomp filter.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests.h"

#include "sampler/target.h"

static volatile uint64_t known_value = UINT64_C(0x1122334455667788);
static const char known_text[] = "plumb reads this from outside";

/* A pid that no process has: a child that has exited and been reaped. */
static pid_t free_pid(void)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    return pid;
}

/* The architecture a seccomp filter checks; tests that need one skip
 * elsewhere. */
#if defined(__x86_64__)
#define FILTER_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define FILTER_ARCH AUDIT_ARCH_AARCH64
#else
#define FILTER_ARCH 0
#endif

/* The start of the first mapping in /proc/PID/maps (the executable's ELF
 * header), or 0. */
static uint64_t first_mapping(pid_t pid)
{
    char path[64];
    unsigned long long start = 0;
    snprintf(path, sizeof path, "/proc/%ld/maps", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (fscanf(f, "%llx-", &start) != 1)
        start = 0;
    fclose(f);
    return start;
}

/* Installs a filter that makes process_vm_readv fail with ENOSYS, as on a
 * kernel built without it: 0, or -1. */
static int lose_process_vm_readv(void)
{
    const unsigned arch = FILTER_ARCH;
    struct sock_filter filter[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, arch, 1, 0),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_process_vm_readv, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof filter / sizeof filter[0],
                              .filter = filter};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) != 0)
        return -1;
    if (syscall(SYS_process_vm_readv, getpid(), NULL, 0, NULL, 0, 0) != -1 ||
        errno != ENOSYS)
        return -1;
    return 0;
}

static void reads_own_variables(void **state)
{
    (void)state;
    plumb__target_t *t = NULL;
    char why[512];
    assert_int_equal(plumb__target_open(getpid(), &t, why, sizeof why), 0);
    assert_int_equal(plumb__target_pid(t), getpid());

    uint64_t value = 0;
    assert_int_equal(plumb__target_read(t, (uintptr_t)&known_value, &value,
                                        sizeof value),
                     0);
    assert_true(value == UINT64_C(0x1122334455667788));
    known_value = 42; /* a live read, not a copy of the file */
    assert_int_equal(plumb__target_read(t, (uintptr_t)&known_value, &value,
                                        sizeof value),
                     0);
    assert_true(value == 42);

    char text[64];
    assert_int_equal(plumb__target_read_string(t, (uintptr_t)known_text, text,
                                               sizeof text),
                     0);
    assert_string_equal(text, known_text);
    /* Too small a buffer: truncated, still terminated. */
    assert_int_equal(
        plumb__target_read_string(t, (uintptr_t)known_text, text, 6), 0);
    assert_string_equal(text, "plumb");
    assert_int_equal(plumb__target_read(t, 0, NULL, 0), 0);
    plumb__target_close(t);
    plumb__target_close(NULL);
}

static void unmapped_range_is_eio(void **state)
{
    (void)state;
    plumb__target_t *t = NULL;
    long page = sysconf(_SC_PAGESIZE);
    assert_int_equal(plumb__target_open(getpid(), &t, NULL, 0), 0);

    /* One readable page followed by an unmapped one. */
    char *pages = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_true(pages != MAP_FAILED);
    assert_int_equal(munmap(pages + page, (size_t)page), 0);
    char *tail = pages + page - 3;
    memcpy(tail, "ok", 3);

    char buf[64];
    uint64_t value;
    assert_int_equal(plumb__target_read(t, 0, &value, sizeof value),
                     PLUMB_EIO);
    assert_int_equal(plumb__target_read(t, (uintptr_t)(pages + page),
                                        &value, sizeof value),
                     PLUMB_EIO);
    /* Straddling the end of the mapping: the whole read fails. */
    assert_int_equal(plumb__target_read(t, (uintptr_t)tail, buf, 8),
                     PLUMB_EIO);
    assert_int_equal(plumb__target_read(t, UINT64_MAX - 3, buf, 8),
                     PLUMB_EIO);
    /* A string that ends before the unmapped page reads fine. */
    assert_int_equal(
        plumb__target_read_string(t, (uintptr_t)tail, buf, sizeof buf), 0);
    assert_string_equal(buf, "ok");
    /* One that runs into it does not. */
    memcpy(tail, "abc", 3);
    assert_int_equal(
        plumb__target_read_string(t, (uintptr_t)tail, buf, sizeof buf),
        PLUMB_EIO);
    assert_string_equal(buf, "");

    munmap(pages, (size_t)page);
    plumb__target_close(t);
}

static void missing_pid_is_notfound(void **state)
{
    (void)state;
    plumb__target_t *t = NULL;
    char why[256], expected[160];
    pid_t pid = free_pid();
    assert_int_equal(plumb__target_open(pid, &t, why, sizeof why),
                     PLUMB_ENOTFOUND);
    assert_null(t);
    snprintf(expected, sizeof expected,
             "no process with pid %ld: it has exited, or the id is wrong; "
             "list Python processes with `pgrep -a python`",
             (long)pid);
    assert_string_equal(why, expected);
    assert_int_equal(plumb__target_open(0, &t, why, sizeof why),
                     PLUMB_EINVAL);
}

static void exited_process_is_notfound(void **state)
{
    (void)state;
    plumb__target_t *t = NULL;
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        pause();
        _exit(0);
    }
    assert_int_equal(plumb__target_open(pid, &t, NULL, 0), 0);
    uint64_t value = 0;
    assert_int_equal(plumb__target_read(t, (uintptr_t)&known_value, &value,
                                        sizeof value),
                     0);
    kill(pid, SIGKILL);
    assert_int_equal(waitpid(pid, NULL, 0), pid);
    assert_int_equal(plumb__target_read(t, (uintptr_t)&known_value, &value,
                                        sizeof value),
                     PLUMB_ENOTFOUND);
    plumb__target_close(t);
}

/* Opened right after fork, while the child execs: /proc/PID/maps read at
 * that moment can be empty (it holds the dropped pre-exec address space),
 * which must not pass for "no process". */
static void opens_a_process_while_it_execs(void **state)
{
    (void)state;
    for (int i = 0; i < 100; i++) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            execl("/bin/sleep", "sleep", "10", (char *)NULL);
            _exit(127);
        }
        plumb__target_t *t = NULL;
        char why[512] = "";
        int err = plumb__target_open(pid, &t, why, sizeof why);
        if (err != 0)
            print_error("attempt %d: %s: %s\n", i, plumb_errname(err), why);
        plumb__target_close(t);
        kill(pid, SIGKILL);
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        assert_int_equal(err, 0);
    }
}

/* A child that is user nobody may not read root's test runner. */
static void other_user_is_eaccess(void **state)
{
    (void)state;
    if (geteuid() != 0)
        skip(); /* needs root to drop to another user */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t parent = getpid();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char why[1024] = "";
        plumb__target_t *t = NULL;
        close(fds[0]);
        if (setgid(65534) != 0 || setuid(65534) != 0)
            _exit(3);
        int err = plumb__target_open(parent, &t, why, sizeof why);
        plumb__target_close(t);
        if (write(fds[1], why, strlen(why) + 1) < 0)
            _exit(4);
        _exit(err == PLUMB_EACCESS ? 0 : 1);
    }
    close(fds[1]);
    char why[1024] = "";
    ssize_t n = read(fds[0], why, sizeof why - 1);
    close(fds[0]);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_true(n > 0);
    why[n] = '\0';
    assert_non_null(strstr(why, "permission denied reading the memory of "
                                "process"));
    assert_non_null(strstr(why, "same user as the process or as root"));
    assert_non_null(strstr(why, "CAP_SYS_PTRACE"));
}

/* Without process_vm_readv (a seccomp filter makes it ENOSYS, as on a
 * kernel built without it) reads go through /proc/PID/mem. */
static void falls_back_to_proc_mem(void **state)
{
    (void)state;
    if (FILTER_ARCH == 0)
        skip();
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        if (lose_process_vm_readv() != 0)
            _exit(10);
        plumb__target_t *t = NULL;
        uint64_t value = 0;
        char text[64];
        if (plumb__target_open(getpid(), &t, NULL, 0) != 0)
            _exit(12);
        if (plumb__target_read(t, (uintptr_t)&known_value, &value,
                               sizeof value) != 0 ||
            value != known_value)
            _exit(13);
        if (plumb__target_read_string(t, (uintptr_t)known_text, text,
                                      sizeof text) != 0 ||
            strcmp(text, known_text) != 0)
            _exit(14);
        if (plumb__target_read(t, 0, &value, sizeof value) != PLUMB_EIO)
            _exit(15);
        plumb__target_close(t);
        _exit(0);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

/* Through /proc/PID/mem, a target that execs is still read: the file
 * opened before the exec reads nothing after it, and is opened again. */
static void proc_mem_follows_an_exec(void **state)
{
    (void)state;
    if (FILTER_ARCH == 0)
        skip();
    pid_t reader = fork();
    assert_true(reader >= 0);
    if (reader == 0) {
        int go[2];
        if (lose_process_vm_readv() != 0 || pipe(go) != 0)
            _exit(10);
        pid_t target = fork();
        if (target < 0)
            _exit(11);
        if (target == 0) {
            char byte;
            close(go[1]);
            if (read(go[0], &byte, 1) != 1)
                _exit(1);
            execl("/bin/sleep", "sleep", "10", (char *)NULL);
            _exit(127);
        }
        close(go[0]);
        int code = 0;
        plumb__target_t *t = NULL;
        uint64_t value = 0;
        char elf_magic[4], exe[256] = "", link[64];
        if (plumb__target_open(target, &t, NULL, 0) != 0)
            code = 12;
        else if (plumb__target_read(t, (uintptr_t)&known_value, &value,
                                    sizeof value) != 0 ||
                 value != known_value)
            code = 13;
        if (code == 0 && write(go[1], "x", 1) != 1)
            code = 14;
        snprintf(link, sizeof link, "/proc/%ld/exe", (long)target);
        for (int waited = 0; code == 0 && !strstr(exe, "sleep"); waited++) {
            ssize_t n = readlink(link, exe, sizeof exe - 1);
            exe[n > 0 ? n : 0] = '\0';
            if (waited == 2000)
                code = 15;
            usleep(1000);
        }
        uint64_t header = code == 0 ? first_mapping(target) : 0;
        if (code == 0 && (header == 0 ||
                          plumb__target_read(t, header, elf_magic, 4) != 0 ||
                          memcmp(elf_magic, "\x7f" "ELF", 4) != 0))
            code = 16;
        plumb__target_close(t);
        kill(target, SIGKILL);
        waitpid(target, NULL, 0);
        _exit(code);
    }
    int status;
    assert_int_equal(waitpid(reader, &status, 0), reader);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int test_target_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_own_variables),
        cmocka_unit_test(unmapped_range_is_eio),
        cmocka_unit_test(missing_pid_is_notfound),
        cmocka_unit_test(exited_process_is_notfound),
        cmocka_unit_test(opens_a_process_while_it_execs),
        cmocka_unit_test(other_user_is_eaccess),
        cmocka_unit_test(falls_back_to_proc_mem),
        cmocka_unit_test(proc_mem_follows_an_exec),
    };
    return cmocka_run_group_tests_name("target", tests, NULL, NULL);
}
