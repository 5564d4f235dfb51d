/* test_profile.c: a profile taken on a thread of its own
 * (plumb_profile_start/stop): errors come before any sampling, the thread
 * changes nothing of its caller's, it stops promptly, it is gone after the
 * stop, and a fork's copy of it can be stopped without waiting for a
 * thread that is not there. The target is /usr/bin/python3 spinning in a
 * known function; the tests are skipped where it is absent. */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests.h"

#define PYTHON "/usr/bin/python3"

static pid_t child = -1;

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int64_t now_ms(void)
{
    return plumb_clock_now_ns() / 1000000;
}

/* Threads of the calling process. */
static int count_threads(void)
{
    DIR *d = opendir("/proc/self/task");
    int n = 0;
    struct dirent *e;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n;
}

/* The id of the calling process's thread named `name`, or -1. */
static int thread_named(const char *name)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int found = -1;
    assert_non_null(d);
    while (found < 0 && (e = readdir(d)) != NULL) {
        char path[300], comm[64] = "";
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/proc/self/task/%s/comm", e->d_name);
        FILE *f = fopen(path, "r");
        if (f && fgets(comm, sizeof comm, f)) {
            comm[strcspn(comm, "\n")] = '\0';
            if (strcmp(comm, name) == 0)
                found = atoi(e->d_name);
        }
        if (f)
            fclose(f);
    }
    closedir(d);
    return found;
}

/* Starts python spinning in spin() and waits until it runs Python. */
static int start_python(void **state)
{
    (void)state;
    if (access(PYTHON, X_OK) != 0)
        return 0;
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        dup2(null, 1);
        execl(PYTHON, PYTHON, "-S", "-c",
              "def spin():\n"
              "    while True: sum(range(100))\n"
              "spin()\n",
              (char *)NULL);
        _exit(127);
    }
    /* until the interpreter is up: a start that fails says not-found */
    for (int i = 0; i < 200; i++) {
        plumb_profiler_t *pr = NULL;
        char why[512];
        if (plumb_profile_start(child, NULL, &pr, why, sizeof why) == 0) {
            assert_int_equal(plumb_profile_stop(pr, NULL, why, sizeof why),
                             0);
            return 0;
        }
        sleep_ms(10);
    }
    return -1;
}

static int stop_python(void **state)
{
    (void)state;
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
    }
    child = -1;
    return 0;
}

static void need_python(void)
{
    if (child <= 0)
        skip();
}

/* 1 when the collapsed stacks hold a stack ending in spin. */
static int saw_spin(const plumb_profile_t *p)
{
    char *text = NULL;
    assert_int_equal(plumb_stack_collapsed(p->stacks, &text), 0);
    int seen = strstr(text, ";spin (") != NULL;
    free(text);
    return seen;
}

/* A process that is not CPython fails at the start, at once (the caller
 * itself is not waited for), with a sentence, and leaves no thread. */
static void start_on_self_not_python(void **state)
{
    (void)state;
    plumb_profiler_t *pr = (plumb_profiler_t *)&pr;
    char why[512] = "x";
    int before = count_threads();
    int64_t t0 = now_ms();
    int err = plumb_profile_start(getpid(), NULL, &pr, why, sizeof why);
    assert_int_equal(err, PLUMB_ENOTFOUND);
    assert_null(pr);
    assert_true(strlen(why) > 10);
    assert_true(now_ms() - t0 < 1000);
    assert_int_equal(count_threads(), before);
}

static void start_rejects_bad_arguments(void **state)
{
    (void)state;
    plumb_profile_opts_t o;
    plumb_profiler_t *pr = NULL;
    char why[64];
    plumb_profile_opts_init(&o);
    o.rate_hz = 0;
    assert_int_equal(plumb_profile_start(getpid(), &o, &pr, why, sizeof why),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_profile_start(0, NULL, &pr, why, sizeof why),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_profile_start(getpid(), NULL, NULL, why, 0),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_profile_stop(NULL, NULL, why, sizeof why),
                     PLUMB_EINVAL);
}

/* While it samples, one more thread runs, named plumb-sampler, with the
 * caller's policy; the caller's timer slack is its own still.
 * After the stop the thread is gone and the profile holds spin. */
static void samples_on_its_own_thread(void **state)
{
    (void)state;
    need_python();
    plumb_profiler_t *pr = NULL;
    plumb_profile_t *p = NULL;
    char why[512];
    int before = count_threads();
    int policy = sched_getscheduler(0);
    int slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
    assert_int_equal(plumb_profile_start(child, NULL, &pr, why, sizeof why),
                     0);
    sleep_ms(300);
    assert_int_equal(count_threads(), before + 1);
    int sampler = thread_named("plumb-sampler");
    assert_true(sampler > 0);
    assert_int_equal(sched_getscheduler(sampler), policy);
    assert_int_equal(sched_getscheduler(0), policy);
    assert_int_equal(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0), slack);
    assert_int_equal(plumb_profile_stop(pr, &p, why, sizeof why), 0);
    assert_int_equal(count_threads(), before);
    assert_non_null(p);
    assert_int_equal(p->pid, child);
    assert_true(p->samples > 100);
    assert_true(p->duration_ns > 250000000);
    assert_true(p->achieved_hz > 0);
    assert_true(saw_spin(p));
    plumb_profile_free(p);
}

/* A stop comes without a signal: at 1 Hz it still takes milliseconds, not
 * the rest of a one-second sleep. */
static void stops_promptly_at_a_low_rate(void **state)
{
    (void)state;
    need_python();
    plumb_profile_opts_t o;
    plumb_profiler_t *pr = NULL;
    plumb_profile_t *p = NULL;
    char why[512];
    plumb_profile_opts_init(&o);
    o.rate_hz = 1;
    assert_int_equal(plumb_profile_start(child, &o, &pr, why, sizeof why), 0);
    sleep_ms(50);
    int64_t t0 = now_ms();
    assert_int_equal(plumb_profile_stop(pr, &p, why, sizeof why), 0);
    assert_true(now_ms() - t0 < 200);
    assert_true(p->samples >= 1);
    plumb_profile_free(p);
}

/* In a fork the sampling thread does not exist: the stop says so at once
 * instead of waiting for it, and the parent's stop is not disturbed. */
static void stop_in_a_fork_does_not_wait(void **state)
{
    (void)state;
    need_python();
    plumb_profiler_t *pr = NULL;
    plumb_profile_t *p = NULL;
    char why[512];
    assert_int_equal(plumb_profile_start(child, NULL, &pr, why, sizeof why),
                     0);
    pid_t fork_pid = fork();
    assert_true(fork_pid >= 0);
    if (fork_pid == 0) {
        plumb_profile_t *q = NULL;
        char fork_why[512] = "";
        int err = plumb_profile_stop(pr, &q, fork_why, sizeof fork_why);
        _exit(err == PLUMB_EINVAL && q == NULL &&
                      strstr(fork_why, "is a fork of it")
                  ? 0
                  : 1);
    }
    int status = -1;
    for (int i = 0; i < 300 && waitpid(fork_pid, &status, WNOHANG) == 0; i++)
        sleep_ms(10);
    if (!WIFEXITED(status)) {
        kill(fork_pid, SIGKILL);
        waitpid(fork_pid, &status, 0);
        fail_msg("the stop in the fork hung");
    }
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(plumb_profile_stop(pr, &p, why, sizeof why), 0);
    assert_true(p->samples > 0);
    plumb_profile_free(p);
}

/* The sampling ends by itself when the duration passes; the stop then
 * only collects it. */
static void duration_ends_it(void **state)
{
    (void)state;
    need_python();
    plumb_profile_opts_t o;
    plumb_profiler_t *pr = NULL;
    plumb_profile_t *p = NULL;
    char why[512];
    int before = count_threads();
    plumb_profile_opts_init(&o);
    o.duration_s = 0.1;
    assert_int_equal(plumb_profile_start(child, &o, &pr, why, sizeof why), 0);
    sleep_ms(400);
    assert_int_equal(plumb_profile_stop(pr, &p, why, sizeof why), 0);
    assert_true(p->duration_ns >= 100000000 && p->duration_ns < 300000000);
    assert_int_equal(count_threads(), before);
    plumb_profile_free(p);
}

static plumb_profile_t *take(double seconds, uint64_t only_thread_id)
{
    plumb_profile_opts_t o;
    plumb_profile_t *p = NULL;
    char why[512];
    plumb_profile_opts_init(&o);
    o.mode = PLUMB_PROFILE_WALL;
    o.rate_hz = 1000;
    o.duration_s = seconds;
    o.only_thread_id = only_thread_id;
    assert_int_equal(plumb_profile_attach(child, &o, &p, why, sizeof why), 0);
    return p;
}

/* A copy merged with a second profile holds the sum of both: stacks,
 * ticks, duration, the one thread's count. */
static void merge_and_copy_add_up(void **state)
{
    (void)state;
    need_python();
    plumb_profile_t *a = take(0.1, 0), *b = take(0.1, 0), *sum = NULL;
    assert_int_equal(plumb_profile_copy(a, &sum), 0);
    assert_int_equal(sum->samples, a->samples);
    assert_int_equal(plumb_stack_total(sum->stacks),
                     plumb_stack_total(a->stacks));
    assert_int_equal(plumb_profile_merge(sum, b), 0);
    assert_int_equal(sum->samples, a->samples + b->samples);
    assert_int_equal(sum->dropped, a->dropped + b->dropped);
    assert_int_equal(sum->thread_samples, a->thread_samples + b->thread_samples);
    assert_int_equal(plumb_stack_total(sum->stacks),
                     plumb_stack_total(a->stacks) + plumb_stack_total(b->stacks));
    assert_true(sum->duration_ns == a->duration_ns + b->duration_ns);
    assert_int_equal(sum->n_threads, 1);
    assert_int_equal(sum->threads_seen, 1);
    assert_int_equal(sum->threads[0].stacks,
                     a->threads[0].stacks + b->threads[0].stacks);
    assert_string_equal(sum->python, a->python);
    assert_true(sum->achieved_hz > 0);
    assert_true(saw_spin(sum));
    assert_int_equal(plumb_profile_merge(sum, sum), PLUMB_EINVAL);
    assert_int_equal(plumb_profile_merge(NULL, a), PLUMB_EINVAL);
    assert_int_equal(plumb_profile_copy(NULL, &sum), PLUMB_EINVAL);
    plumb_profile_free(a);
    plumb_profile_free(b);
    plumb_profile_free(sum);
}

/* only_thread_id keeps every other thread out: an id no thread has
 * records nothing, though the process is read at every tick. */
static void only_one_thread_is_recorded(void **state)
{
    (void)state;
    need_python();
    plumb_profile_t *p = take(0.1, 1);
    assert_true(p->samples > 10);
    assert_int_equal(p->thread_samples, 0);
    assert_int_equal(plumb_stack_total(p->stacks), 0);
    plumb_profile_free(p);
}

int test_profile_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(start_on_self_not_python),
        cmocka_unit_test(start_rejects_bad_arguments),
        cmocka_unit_test(samples_on_its_own_thread),
        cmocka_unit_test(stops_promptly_at_a_low_rate),
        cmocka_unit_test(stop_in_a_fork_does_not_wait),
        cmocka_unit_test(duration_ends_it),
        cmocka_unit_test(merge_and_copy_add_up),
        cmocka_unit_test(only_one_thread_is_recorded),
    };
    return cmocka_run_group_tests_name("profile", tests, start_python,
                                       stop_python);
}
