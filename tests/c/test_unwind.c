/* test_unwind.c: the unwinder against real interpreters. Each test starts
 * one CPython present on this machine on a script whose stack is known by
 * construction, reads it from outside and checks function names, files,
 * line numbers, threads and truncation. Versions that are not installed
 * are skipped. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <glob.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests.h"

#include "sampler/offsets.h"
#include "sampler/python.h"
#include "sampler/target.h"
#include "sampler/unwind.h"

#define MAX_THREADS 8

/* Each line that a test checks ends in a marker comment; the test finds
 * the line numbers by the markers, so the script can be edited freely. */
static const char script_text[] =
    "import sys, threading, time\n"
    "\n"
    "class Spinner:\n"
    "    def spin(self): return sum(range(50))  # SPIN\n"
    "\n"
    "def sleeper():\n"
    "    while True: time.sleep(0.05)  # SLEEPER\n"
    "\n"
    "def inner():\n"
    "    while True: Spinner().spin()  # INNER\n"
    "\n"
    "def middle():\n"
    "    inner()  # MIDDLE\n"
    "\n"
    "def outer():\n"
    "    middle()  # OUTER\n"
    "\n"
    "def deep(n):\n"
    "    if n == 0: inner()\n"
    "    deep(n - 1)  # DEEP\n"
    "\n"
    "def churn():\n"
    "    # Makes and drops code objects, so addresses get reused.\n"
    "    i = 0\n"
    "    while True:\n"
    "        i += 1\n"
    "        n = 100 + i % 50\n"
    "        src = ('\\n' * (n - 1) + 'def f_%d():\\n' % n\n"
    "               + '    x = 1\\n' * (n % 7)\n"
    "               + '    for j in range(2000): pass\\n')\n"
    "        ns = {}\n"
    "        exec(compile(src, 'churn.py', 'exec'), ns)\n"
    "        ns['f_%d' % n]()  # CHURN\n"
    "\n"
    "def r(n):\n"
    "    if n: return r(n - 1)\n"
    "    return sum(range(200))\n"
    "\n"
    "def work():\n"
    "    for i in range(200): r(i % 40)\n"
    "\n"
    "def stress():\n"
    "    # Threads come and go and stacks change under the reader.\n"
    "    while True:\n"
    "        ts = [threading.Thread(target=work) for _ in range(4)]\n"
    "        for t in ts: t.start()\n"
    "        for t in ts: t.join()\n"
    "\n"
    "class Init:\n"
    "    def __init__(self, seconds):\n"
    "        end = time.time() + seconds\n"
    "        while time.time() < end: pass\n"
    "\n"
    "def init_loop():\n"
    "    # Warm up so that 3.13 specialises the call into a shim frame.\n"
    "    for i in range(100): Init(0)  # WARMUP\n"
    "    while True: Init(0.05)  # INIT\n"
    "\n"
    "threading.Thread(target=sleeper, name='sleepy', daemon=True).start()\n"
    "if sys.argv[1:] == ['deep']:\n"
    "    sys.setrecursionlimit(10000)\n"
    "    deep(3000)\n"
    "elif sys.argv[1:] == ['churn']:\n"
    "    churn()\n"
    "elif sys.argv[1:] == ['init']:\n"
    "    init_loop()\n"
    "elif sys.argv[1:] == ['stress']:\n"
    "    stress()\n"
    "else:\n"
    "    outer()  # MODULE\n";

/* The child of the test that is running, killed by the teardown, and
 * its stdin and stdout when a test talks to it. */
static pid_t child = -1;
static int to_child = -1;
static FILE *from_child;
static char script_dir[64];
static char script_path[128];

static int marker_line(const char *marker)
{
    int line = 1;
    const char *p = script_text;
    size_t len = strlen(marker);
    for (; *p; p++) {
        if (*p == '\n')
            line++;
        else if (*p == '#' && strncmp(p + 2, marker, len) == 0 &&
                 (p[2 + len] == '\n' || p[2 + len] == '\0'))
            return line;
    }
    fail_msg("no marker %s", marker);
    return 0;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static int teardown(void **state)
{
    (void)state;
    if (child > 0) {
        kill(child, SIGKILL);
        waitpid(child, NULL, 0);
        child = -1;
    }
    if (to_child >= 0) {
        close(to_child);
        to_child = -1;
    }
    if (from_child != NULL) {
        fclose(from_child);
        from_child = NULL;
    }
    if (script_path[0] != '\0') {
        unlink(script_path);
        script_path[0] = '\0';
    }
    if (script_dir[0] != '\0') {
        rmdir(script_dir);
        script_dir[0] = '\0';
    }
    return 0;
}

/* The first interpreter matching pattern, or 0 when none is installed. */
static int find_python(const char *pattern, char *out, size_t size)
{
    glob_t g;
    int found = 0;
    if (glob(pattern, 0, NULL, &g) == 0 && g.gl_pathc > 0 &&
        access(g.gl_pathv[0], X_OK) == 0) {
        snprintf(out, size, "%s", g.gl_pathv[0]);
        found = 1;
    }
    globfree(&g);
    return found;
}

/* Writes text to a new temporary script and starts python on it with
 * argument mode. With `piped`, the child's stdin and stdout are pipes to
 * to_child and from_child; otherwise both are /dev/null. */
static void start_text(const char *python, const char *text,
                       const char *mode, int piped)
{
    int in_pipe[2] = {-1, -1}, out_pipe[2] = {-1, -1};
    strcpy(script_dir, "/tmp/plumb-unwind-XXXXXX");
    assert_non_null(mkdtemp(script_dir));
    snprintf(script_path, sizeof script_path, "%s/target.py", script_dir);
    FILE *f = fopen(script_path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
    if (piped) {
        assert_int_equal(pipe(in_pipe), 0);
        assert_int_equal(pipe(out_pipe), 0);
    }
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* Dies with the runner even if a sanitizer aborts it. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int null = open("/dev/null", O_RDWR);
        dup2(piped ? in_pipe[0] : null, 0);
        dup2(piped ? out_pipe[1] : null, 1);
        execl(python, python, "-S", script_path, mode, (char *)NULL);
        _exit(127);
    }
    if (piped) {
        close(in_pipe[0]);
        close(out_pipe[1]);
        to_child = in_pipe[1];
        from_child = fdopen(out_pipe[0], "r");
        assert_non_null(from_child);
    }
}

static void start_script(const char *python, const char *mode)
{
    start_text(python, script_text, mode, 0);
}

/* Opens the child and waits until its interpreter can be found. */
static void attach(plumb__target_t **t, plumb__python_t *py)
{
    char why[256];
    assert_int_equal(plumb__target_open(child, t, why, sizeof why), 0);
    for (int i = 0; i < 500; i++) {
        if (plumb__python_find(*t, py, why, sizeof why) == 0)
            return;
        sleep_ms(10);
    }
    fail_msg("python_find never succeeded: %s", why);
}

/* Index of the frame named fn in st, or -1. */
static int frame_index(const plumb__thread_stack_t *st, const char *fn)
{
    for (size_t i = 0; i < st->n_frames; i++)
        if (strcmp(st->frames[i].function, fn) == 0)
            return (int)i;
    return -1;
}

static void assert_frame(const plumb_frame_t *f, const char *fn, int line)
{
    assert_string_equal(f->function, fn);
    assert_string_equal(f->file, script_path);
    assert_int_equal(f->line, line);
}

/* Samples the child until `done` says a sample showed what it waits for;
 * fails after about ten seconds. Torn samples (PLUMB_EIO) are retried. */
typedef int (*sample_check_t)(const plumb__python_t *py,
                              const plumb__thread_stack_t *stacks, size_t n,
                              void *arg);

static void sample_until(plumb__unwinder_t *u, const plumb__python_t *py,
                         sample_check_t done, void *arg)
{
    plumb__thread_stack_t *stacks = calloc(MAX_THREADS, sizeof *stacks);
    assert_non_null(stacks);
    int good = 0;
    for (int i = 0; i < 2000; i++) {
        size_t n = 0;
        int rc = plumb__unwind(u, stacks, MAX_THREADS, &n);
        if (rc == PLUMB_EIO) {
            sleep_ms(5);
            continue;
        }
        assert_int_equal(rc, 0);
        if (done(py, stacks, n, arg)) {
            good = 1;
            break;
        }
        sleep_ms(5);
    }
    free(stacks);
    assert_true(good);
}

/* ---- the nesting script ---------------------------------------------- */

typedef struct {
    int warmup;          /* samples skipped while frames are being set up */
    int samples_checked; /* samples that showed the whole main stack */
    int saw_method;      /* Spinner.spin seen above inner */
    int main_held_gil;   /* the spinning main thread seen holding the GIL */
} nesting_t;

static int check_nesting(const plumb__python_t *py,
                         const plumb__thread_stack_t *stacks, size_t n,
                         void *arg)
{
    nesting_t *state = arg;
    const plumb__thread_stack_t *main_stack = NULL, *sleeper = NULL;
    for (size_t i = 0; i < n; i++) {
        if (frame_index(&stacks[i], "<module>") >= 0)
            main_stack = &stacks[i];
        if (stacks[i].n_frames > 0 &&
            strcmp(stacks[i].frames[0].function, "sleeper") == 0)
            sleeper = &stacks[i];
    }
    if (main_stack == NULL || frame_index(main_stack, "inner") < 0 ||
        sleeper == NULL)
        return 0; /* still starting up */
    if (state->warmup++ < 20)
        return 0; /* a frame just pushed is at its def line */

    int k = frame_index(main_stack, "inner");
    assert_true((size_t)k + 3 < main_stack->n_frames);
    assert_frame(&main_stack->frames[k], "inner", marker_line("INNER"));
    assert_frame(&main_stack->frames[k + 1], "middle", marker_line("MIDDLE"));
    assert_frame(&main_stack->frames[k + 2], "outer", marker_line("OUTER"));
    assert_frame(&main_stack->frames[k + 3], "<module>",
                 marker_line("MODULE"));
    assert_int_equal(main_stack->n_frames, (size_t)k + 4);
    assert_int_equal(main_stack->truncated, 0);
    assert_true(main_stack->thread_id != 0);
    if (k == 1) {
        const char *method = py->minor >= 11 ? "Spinner.spin" : "spin";
        assert_frame(&main_stack->frames[0], method, marker_line("SPIN"));
        state->saw_method = 1;
    } else {
        assert_int_equal(k, 0);
    }

    assert_frame(&sleeper->frames[0], "sleeper", marker_line("SLEEPER"));
    assert_true(sleeper->thread_id != main_stack->thread_id);
    if (py->minor >= 11) {
        assert_true(main_stack->native_id == child);
        assert_true(sleeper->native_id > 0 && sleeper->native_id != child);
    }
    /* Exactly one thread can hold the GIL; the sleeper rarely does. */
    int holders = 0;
    for (size_t i = 0; i < n; i++) {
        assert_true(stacks[i].holds_gil >= -1 && stacks[i].holds_gil <= 1);
        holders += stacks[i].holds_gil == 1;
    }
    assert_true(holders <= 1);
    assert_true(sleeper->holds_gil != -1 && main_stack->holds_gil != -1);
    state->main_held_gil |= main_stack->holds_gil == 1;

    state->samples_checked++;
    return state->samples_checked >= 5 && state->saw_method &&
           state->main_held_gil;
}

static void run_nesting(const char *pattern, int minor)
{
    char python[512];
    if (!find_python(pattern, python, sizeof python))
        skip();
    start_script(python, "nest");
    plumb__target_t *t = NULL;
    plumb__python_t py;
    plumb__unwinder_t *u = NULL;
    char why[256];
    attach(&t, &py);
    assert_int_equal(py.major, 3);
    assert_int_equal(py.minor, minor);
    assert_int_equal(plumb__unwinder_new(t, &py, &u, why, sizeof why), 0);
    nesting_t state = {0, 0, 0, 0};
    sample_until(u, &py, check_nesting, &state);
    plumb__unwinder_free(u);
    plumb__target_close(t);
}

static void nesting_3_8(void **s) { (void)s; run_nesting("/root/.pyenv/versions/3.8.*/bin/python3", 8); }
static void nesting_3_9(void **s) { (void)s; run_nesting("/root/.pyenv/versions/3.9.*/bin/python3", 9); }
static void nesting_3_10(void **s) { (void)s; run_nesting("/root/.pyenv/versions/3.10.*/bin/python3", 10); }
static void nesting_3_11(void **s) { (void)s; run_nesting("/root/.pyenv/versions/3.11.*/bin/python3", 11); }
static void nesting_debian_3_11(void **s) { (void)s; run_nesting("/usr/bin/python3", 11); }
static void nesting_3_12(void **s) { (void)s; run_nesting("/root/.pyenv/versions/3.12.*/bin/python3", 12); }
static void nesting_3_13(void **s) { (void)s; run_nesting("/root/.pyenv/versions/3.13.*/bin/python3", 13); }

/* ---- line numbers against CPython's own ------------------------------ */

/* The target stops at many places (far line jumps, a line with hundreds of
 * instructions, lines that go backwards, handlers, comprehensions,
 * generators, lambdas, methods), prints where its caller is by CPython's
 * own f_lineno, and blocks reading stdin while it is sampled. */
static const char lines_script[] =
    "import sys\n"
    "\n"
    "def wait():\n"
    "    # Says where its caller is, by CPython's own reckoning, then blocks.\n"
    "    f = sys._getframe(1)\n"
    "    sys.stdout.write('%s %d %s\\n' % (f.f_code.co_name, f.f_lineno,\n"
    "                                     f.f_code.co_filename))\n"
    "    sys.stdout.flush()\n"
    "    sys.stdin.readline()\n"
    "\n"
    "gap = '\\n' * 300\n"
    "wide = '    x = [' + 'a, ' * 300 + ']\\n'\n"
    "src = ('def far():\\n'\n"
    "       '    a = 1\\n' + gap +\n"
    "       '    wait()\\n' + gap + gap +\n"
    "       '    wait()\\n'\n"
    "       '\\n'\n"
    "       'def wide_line():\\n'\n"
    "       '    a = 1\\n' + wide + wide +\n"
    "       '    wait()\\n'\n"
    "       '\\n'\n"
    "       'def backwards():\\n'\n"
    "       '    total = sum([\\n'\n"
    "       '        1,\\n'\n"
    "       '        wait() or 2,\\n'\n"
    "       '    ])\\n'\n"
    "       '    for i in range(2):\\n'\n"
    "       '        wait()\\n'\n"
    "       '    while total < 5:\\n'\n"
    "       '        total += 1\\n'\n"
    "       '        wait()\\n'\n"
    "       '\\n'\n"
    "       'def handlers():\\n'\n"
    "       '    try:\\n'\n"
    "       '        raise ValueError\\n'\n"
    "       '    except ValueError:\\n'\n"
    "       '        wait()\\n'\n"
    "       '    finally:\\n'\n"
    "       '        wait()\\n'\n"
    "       '    with open(__file__) as fh:\\n'\n"
    "       '        wait()\\n'\n"
    "       '\\n'\n"
    "       'def comprehension():\\n'\n"
    "       '    return [wait() for _ in range(1)]\\n'\n"
    "       '\\n'\n"
    "       'def generator():\\n'\n"
    "       '    yield wait()\\n'\n"
    "       '\\n'\n"
    "       'class Holder:\\n'\n"
    "       '    def method(self):\\n'\n"
    "       '        wait()\\n'\n"
    "       '\\n'\n"
    "       'def main():\\n'\n"
    "       '    far()\\n'\n"
    "       '    wide_line()\\n'\n"
    "       '    backwards()\\n'\n"
    "       '    handlers()\\n'\n"
    "       '    comprehension()\\n'\n"
    "       '    list(generator())\\n'\n"
    "       '    (lambda: wait())()\\n'\n"
    "       '    Holder().method()\\n'\n"
    "       '    wait()\\n')\n"
    "ns = {'wait': wait, '__file__': __file__}\n"
    "exec(compile(src, 'lines.py', 'exec'), ns)\n"
    "ns['main']()\n"
    "sys.stdout.write('done\\n')\n"
    "sys.stdout.flush()\n";

static void read_from_child(char *buf, size_t size)
{
    struct pollfd pfd = {fileno(from_child), POLLIN, 0};
    assert_int_equal(poll(&pfd, 1, 20000), 1);
    assert_non_null(fgets(buf, (int)size, from_child));
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void run_lines(const char *pattern)
{
    char python[512];
    if (!find_python(pattern, python, sizeof python))
        skip();
    start_text(python, lines_script, "lines", 1);
    plumb__target_t *t = NULL;
    plumb__python_t py;
    plumb__unwinder_t *u = NULL;
    char why[256];
    attach(&t, &py);
    assert_int_equal(plumb__unwinder_new(t, &py, &u, why, sizeof why), 0);
    plumb__thread_stack_t *stacks = calloc(MAX_THREADS, sizeof *stacks);
    assert_non_null(stacks);
    int checked = 0;
    for (;;) {
        char said[512], name[128], file[256];
        int line;
        read_from_child(said, sizeof said);
        if (strcmp(said, "done\n") == 0)
            break;
        assert_int_equal(sscanf(said, "%127s %d %255s", name, &line, file),
                         3);
        size_t n = 0;
        int rc = PLUMB_EIO;
        for (int i = 0; i < 100 && rc == PLUMB_EIO; i++)
            rc = plumb__unwind(u, stacks, MAX_THREADS, &n);
        assert_int_equal(rc, 0);
        assert_int_equal(n, 1);
        assert_true(stacks[0].n_frames >= 2);
        assert_string_equal(stacks[0].frames[0].function, "wait");
        assert_string_equal(stacks[0].frames[0].file, script_path);
        const plumb_frame_t *caller = &stacks[0].frames[1];
        if (!ends_with(caller->function, name))
            fail_msg("%s is not %s", caller->function, name);
        assert_string_equal(caller->file, file);
        assert_int_equal(caller->line, line);
        if (checked == 0) {
            /* The program is blocked, its stack still: after the first
             * samples, each costs one read of the target (view.h). */
            for (int i = 0; i < 2; i++)
                assert_int_equal(plumb__unwind(u, stacks, MAX_THREADS, &n),
                                 0);
            uint64_t before = plumb__unwinder_reads(u);
            for (int i = 0; i < 20; i++)
                assert_int_equal(plumb__unwind(u, stacks, MAX_THREADS, &n),
                                 0);
            assert_int_equal(plumb__unwinder_reads(u) - before, 20);
            assert_int_equal(stacks[0].frames[1].line, line);
        }
        checked++;
        assert_int_equal(write(to_child, "\n", 1), 1);
    }
    assert_int_equal(checked, 16);
    free(stacks);
    plumb__unwinder_free(u);
    plumb__target_close(t);
}

static void lines_3_8(void **s) { (void)s; run_lines("/root/.pyenv/versions/3.8.*/bin/python3"); }
static void lines_3_9(void **s) { (void)s; run_lines("/root/.pyenv/versions/3.9.*/bin/python3"); }
static void lines_3_10(void **s) { (void)s; run_lines("/root/.pyenv/versions/3.10.*/bin/python3"); }
static void lines_3_11(void **s) { (void)s; run_lines("/root/.pyenv/versions/3.11.*/bin/python3"); }
static void lines_debian_3_11(void **s) { (void)s; run_lines("/usr/bin/python3"); }
static void lines_3_12(void **s) { (void)s; run_lines("/root/.pyenv/versions/3.12.*/bin/python3"); }
static void lines_3_13(void **s) { (void)s; run_lines("/root/.pyenv/versions/3.13.*/bin/python3"); }

/* ---- deep recursion --------------------------------------------------- */

static int check_deep(const plumb__python_t *py,
                      const plumb__thread_stack_t *stacks, size_t n,
                      void *arg)
{
    (void)py;
    (void)arg;
    for (size_t i = 0; i < n; i++) {
        const plumb__thread_stack_t *st = &stacks[i];
        int k = frame_index(st, "inner");
        if (k < 0 || frame_index(st, "deep") < 0)
            continue;
        if (!st->truncated)
            return 0; /* still recursing down */
        assert_int_equal(st->n_frames, PLUMB_MAX_FRAMES);
        assert_int_equal(frame_index(st, "<module>"), -1);
        /* Every frame outside inner is deep, at the recursive call, except
         * the innermost deep, which calls inner. */
        for (size_t j = (size_t)k + 2; j < st->n_frames; j++)
            assert_frame(&st->frames[j], "deep", marker_line("DEEP"));
        return 1;
    }
    return 0;
}

static void run_deep(const char *pattern)
{
    char python[512];
    if (!find_python(pattern, python, sizeof python))
        skip();
    start_script(python, "deep");
    plumb__target_t *t = NULL;
    plumb__python_t py;
    plumb__unwinder_t *u = NULL;
    char why[256];
    attach(&t, &py);
    assert_int_equal(plumb__unwinder_new(t, &py, &u, why, sizeof why), 0);
    sample_until(u, &py, check_deep, NULL);
    plumb__unwinder_free(u);
    plumb__target_close(t);
}

static void deep_3_8(void **s) { (void)s; run_deep("/root/.pyenv/versions/3.8.*/bin/python3"); }
static void deep_3_10(void **s) { (void)s; run_deep("/root/.pyenv/versions/3.10.*/bin/python3"); }
static void deep_3_11(void **s) { (void)s; run_deep("/root/.pyenv/versions/3.11.*/bin/python3"); }
static void deep_3_12(void **s) { (void)s; run_deep("/root/.pyenv/versions/3.12.*/bin/python3"); }
static void deep_3_13(void **s) { (void)s; run_deep("/root/.pyenv/versions/3.13.*/bin/python3"); }

/* ---- code objects freed and their addresses reused -------------------- */

typedef struct {
    int seen; /* samples with a generated function in them */
} churn_t;

/* f_N is compiled at line N of churn.py, N % 7 lines of `x = 1` then its
 * loop follow, so each sample's line must lie in [N, N + 1 + N % 7]. The
 * code objects come and go fast, so addresses are reused under the cache:
 * every frame must still pair a generated name with its own file and a
 * line of its own body, and the walk must neither fail nor crash. */
static int check_churn(const plumb__python_t *py,
                       const plumb__thread_stack_t *stacks, size_t n,
                       void *arg)
{
    (void)py;
    churn_t *state = arg;
    for (size_t i = 0; i < n; i++) {
        const plumb__thread_stack_t *st = &stacks[i];
        for (size_t j = 0; j < st->n_frames; j++) {
            int fn_line;
            if (sscanf(st->frames[j].function, "f_%d", &fn_line) != 1)
                continue;
            assert_string_equal(st->frames[j].file, "churn.py");
            assert_in_range(st->frames[j].line, fn_line,
                            fn_line + 1 + fn_line % 7);
            state->seen++;
        }
    }
    return state->seen >= 200;
}

static void run_churn(const char *pattern)
{
    char python[512];
    if (!find_python(pattern, python, sizeof python))
        skip();
    start_script(python, "churn");
    plumb__target_t *t = NULL;
    plumb__python_t py;
    plumb__unwinder_t *u = NULL;
    char why[256];
    attach(&t, &py);
    assert_int_equal(plumb__unwinder_new(t, &py, &u, why, sizeof why), 0);
    churn_t state = {0};
    sample_until(u, &py, check_churn, &state);
    plumb__unwinder_free(u);
    plumb__target_close(t);
}

static void churn_3_9(void **s) { (void)s; run_churn("/root/.pyenv/versions/3.9.*/bin/python3"); }
static void churn_3_11(void **s) { (void)s; run_churn("/root/.pyenv/versions/3.11.*/bin/python3"); }
static void churn_3_13(void **s) { (void)s; run_churn("/root/.pyenv/versions/3.13.*/bin/python3"); }

/* ---- frames CPython does not show ------------------------------------ */

/* 3.13 runs a specialised __init__ call through a shim frame (code named
 * "__init__" in a file "__init__") that never starts; 3.12 enters the
 * interpreter through a trampoline frame. Neither is the user's code. */
static int check_init(const plumb__python_t *py,
                      const plumb__thread_stack_t *stacks, size_t n,
                      void *arg)
{
    int *seen = arg;
    for (size_t i = 0; i < n; i++) {
        int k = frame_index(&stacks[i], "Init.__init__");
        if (k < 0 || (size_t)k + 1 >= stacks[i].n_frames)
            continue;
        const plumb_frame_t *caller = &stacks[i].frames[k + 1];
        assert_string_equal(caller->function, "init_loop");
        if (caller->line != marker_line("WARMUP"))
            assert_int_equal(caller->line, marker_line("INIT"));
        for (size_t j = 0; j < stacks[i].n_frames; j++)
            assert_string_not_equal(stacks[i].frames[j].file, "__init__");
        (*seen)++;
    }
    (void)py;
    return *seen >= 20;
}

static void run_init(const char *pattern)
{
    char python[512];
    if (!find_python(pattern, python, sizeof python))
        skip();
    start_script(python, "init");
    plumb__target_t *t = NULL;
    plumb__python_t py;
    plumb__unwinder_t *u = NULL;
    char why[256];
    attach(&t, &py);
    assert_int_equal(plumb__unwinder_new(t, &py, &u, why, sizeof why), 0);
    int seen = 0;
    sample_until(u, &py, check_init, &seen);
    plumb__unwinder_free(u);
    plumb__target_close(t);
}

static void init_shim_3_11(void **s) { (void)s; run_init("/root/.pyenv/versions/3.11.*/bin/python3"); }
static void init_shim_3_12(void **s) { (void)s; run_init("/root/.pyenv/versions/3.12.*/bin/python3"); }
static void init_shim_3_13(void **s) { (void)s; run_init("/root/.pyenv/versions/3.13.*/bin/python3"); }

/* ---- stacks that change while they are read -------------------------- */

static int check_recursing(const plumb__python_t *py,
                           const plumb__thread_stack_t *stacks, size_t n,
                           void *arg)
{
    (void)py;
    (void)arg;
    for (size_t i = 0; i < n; i++)
        if (frame_index(&stacks[i], "r") >= 0)
            return 1;
    return 0;
}

/* Samples a target whose threads start and end and whose stacks grow and
 * shrink all the time: every sample is whole or refused with PLUMB_EIO,
 * and a whole one holds only real frames: the script's functions at lines
 * of the script, or frames of other Python files (threading.py, frozen
 * importlib while starting up). Under ASan this is also
 * the check that torn reads are bounded. */
static void run_stress(const char *pattern)
{
    char python[512];
    if (!find_python(pattern, python, sizeof python))
        skip();
    start_script(python, "stress");
    plumb__target_t *t = NULL;
    plumb__python_t py;
    plumb__unwinder_t *u = NULL;
    char why[256];
    attach(&t, &py);
    assert_int_equal(plumb__unwinder_new(t, &py, &u, why, sizeof why), 0);
    sample_until(u, &py, check_recursing, NULL);
    plumb__thread_stack_t *stacks = calloc(MAX_THREADS, sizeof *stacks);
    assert_non_null(stacks);
    static const char *const ours[] = {"r",        "work",    "stress",
                                       "<module>", "sleeper", "Spinner",
                                       "Init"};
    int last_line = marker_line("MODULE");
    int whole = 0, torn = 0, deepest = 0;
    for (int i = 0; i < 3000; i++) {
        size_t n = 0;
        int rc = plumb__unwind(u, stacks, MAX_THREADS, &n);
        if (rc == PLUMB_EIO) {
            torn++;
            continue;
        }
        assert_int_equal(rc, 0);
        whole++;
        for (size_t k = 0; k < n; k++) {
            const plumb__thread_stack_t *st = &stacks[k];
            assert_true(st->n_frames <= PLUMB_MAX_FRAMES);
            if ((int)st->n_frames > deepest)
                deepest = (int)st->n_frames;
            for (size_t j = 0; j < st->n_frames; j++) {
                const plumb_frame_t *f = &st->frames[j];
                assert_non_null(f->function);
                assert_non_null(f->file);
                if (strcmp(f->file, script_path) != 0) {
                    if (!ends_with(f->file, ".py") &&
                        strncmp(f->file, "<frozen ", 8) != 0)
                        fail_msg("frame %s in %s", f->function, f->file);
                    continue;
                }
                int known = ends_with(f->function, "<listcomp>");
                for (size_t m = 0; m < sizeof ours / sizeof ours[0]; m++)
                    known |= strcmp(f->function, ours[m]) == 0;
                if (!known)
                    fail_msg("invented function %s", f->function);
                assert_in_range(f->line, 1, last_line);
            }
        }
    }
    /* Most samples are whole, and they saw the recursion. */
    assert_true(whole > torn);
    assert_true(deepest > 20);
    free(stacks);
    plumb__unwinder_free(u);
    plumb__target_close(t);
}

static void stress_3_8(void **s) { (void)s; run_stress("/root/.pyenv/versions/3.8.*/bin/python3"); }
static void stress_3_10(void **s) { (void)s; run_stress("/root/.pyenv/versions/3.10.*/bin/python3"); }
static void stress_3_11(void **s) { (void)s; run_stress("/root/.pyenv/versions/3.11.*/bin/python3"); }
static void stress_debian_3_11(void **s) { (void)s; run_stress("/usr/bin/python3"); }
static void stress_3_12(void **s) { (void)s; run_stress("/root/.pyenv/versions/3.12.*/bin/python3"); }
static void stress_3_13(void **s) { (void)s; run_stress("/root/.pyenv/versions/3.13.*/bin/python3"); }

/* ---- 3.13's _Py_DebugOffsets agree with the headers ------------------- */

static void debug_offsets_match_headers(void **s)
{
    (void)s;
    char python[512];
    if (!find_python("/root/.pyenv/versions/3.13.*/bin/python3", python,
                     sizeof python))
        skip();
    start_script(python, "nest");
    plumb__target_t *t = NULL;
    plumb__python_t py;
    attach(&t, &py);
    const plumb__offsets_t *headers = plumb__offsets_find(3, 13);
    assert_non_null(headers);
    assert_true(headers->has_debug_offsets);
    unsigned char debug[1024];
    size_t size = plumb__offsets_debug_size();
    assert_true(size <= sizeof debug);
    assert_int_equal(plumb__target_read(t, py.runtime_addr, debug, size), 0);
    plumb__offsets_t from_target = *headers;
    assert_int_equal(plumb__offsets_apply_debug(&from_target, debug, size),
                     0);
    assert_memory_equal(&from_target, headers, sizeof *headers);
    /* A wrong cookie is refused. */
    debug[0] = 'X';
    assert_int_equal(plumb__offsets_apply_debug(&from_target, debug, size),
                     PLUMB_EPARSE);
    plumb__target_close(t);
}

/* ---- tables and errors ------------------------------------------------ */

static void unsupported_version_names_supported_ones(void **s)
{
    (void)s;
    plumb__target_t *t = NULL;
    char why[256];
    assert_int_equal(plumb__target_open(getpid(), &t, why, sizeof why), 0);
    plumb__python_t py;
    memset(&py, 0, sizeof py);
    py.major = 3;
    py.minor = 99;
    plumb__unwinder_t *u = (plumb__unwinder_t *)&py;
    assert_int_equal(plumb__unwinder_new(t, &py, &u, why, sizeof why),
                     PLUMB_EUNSUPPORTED);
    assert_null(u);
    assert_non_null(strstr(why, "3.99"));
    assert_non_null(strstr(why, plumb__unwind_supported()));
    assert_string_equal(plumb__unwind_supported(),
                        "3.8, 3.9, 3.10, 3.11, 3.12, 3.13");
    plumb__target_close(t);
    plumb__unwinder_free(NULL);
}

static void every_supported_version_has_a_table(void **s)
{
    (void)s;
    for (int minor = 8; minor <= 13; minor++) {
        const plumb__offsets_t *o = plumb__offsets_find(3, minor);
        assert_non_null(o);
        assert_int_equal(o->minor, minor);
        assert_true(o->runtime_interpreters_head > 0);
        assert_true(o->code_filename > 0 && o->code_name > 0);
    }
    assert_null(plumb__offsets_find(3, 7));
    assert_null(plumb__offsets_find(3, 14));
    /* 3.12 dropped PyASCIIObject's wstr: 8 bytes smaller. */
    assert_int_equal(plumb__offsets_find(3, 11)->unicode_ascii_size, 48);
    assert_int_equal(plumb__offsets_find(3, 12)->unicode_ascii_size, 40);
}

#define WITH_CHILD(test) cmocka_unit_test_teardown(test, teardown)

int test_unwind_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_supported_version_has_a_table),
        cmocka_unit_test(unsupported_version_names_supported_ones),
        WITH_CHILD(nesting_3_8),
        WITH_CHILD(nesting_3_9),
        WITH_CHILD(nesting_3_10),
        WITH_CHILD(nesting_3_11),
        WITH_CHILD(nesting_debian_3_11),
        WITH_CHILD(nesting_3_12),
        WITH_CHILD(nesting_3_13),
        WITH_CHILD(lines_3_8),
        WITH_CHILD(lines_3_9),
        WITH_CHILD(lines_3_10),
        WITH_CHILD(lines_3_11),
        WITH_CHILD(lines_debian_3_11),
        WITH_CHILD(lines_3_12),
        WITH_CHILD(lines_3_13),
        WITH_CHILD(deep_3_8),
        WITH_CHILD(deep_3_10),
        WITH_CHILD(deep_3_11),
        WITH_CHILD(deep_3_12),
        WITH_CHILD(deep_3_13),
        WITH_CHILD(churn_3_9),
        WITH_CHILD(churn_3_11),
        WITH_CHILD(churn_3_13),
        WITH_CHILD(init_shim_3_11),
        WITH_CHILD(init_shim_3_12),
        WITH_CHILD(init_shim_3_13),
        WITH_CHILD(stress_3_8),
        WITH_CHILD(stress_3_10),
        WITH_CHILD(stress_3_11),
        WITH_CHILD(stress_debian_3_11),
        WITH_CHILD(stress_3_12),
        WITH_CHILD(stress_3_13),
        WITH_CHILD(debug_offsets_match_headers),
    };
    return cmocka_run_group_tests_name("unwind", tests, NULL, NULL);
}
