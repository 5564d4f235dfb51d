/* mem.c: `plumb mem`: starts a Python program with plumb's recorder inside
 * it (through PYTHONPATH and a sitecustomize, docs of the interface in
 * python/plumb/_memboot/), waits for it, reads the memory profile the
 * recorder left and reports it. The recording itself happens in the
 * program (python/plumb/_mem.c); this file only sets up its environment,
 * passes signals on and tells the user what came of it. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char usage[] =
    "usage: plumb mem [options] -- python3 SCRIPT [ARGS...]\n"
    "\n"
    "Runs a Python program with plumb's recorder inside it and shows where\n"
    "its memory went: the peak of its heap (estimated from allocations\n"
    "sampled by bytes) and of its RSS, the lines and functions holding\n"
    "memory at the peak, those allocating most, those still holding memory\n"
    "at the end (likely leaks), and a timeline.\n"
    "\n"
    "  -b, --sample-bytes N   one sample per N bytes allocated on average\n"
    "                         (16k; 64k, 1M... accepted): smaller is more\n"
    "                         precise and costs more\n"
    "      --native           also record malloc & co. from C extensions\n"
    "                         (NumPy...), through a preloaded library\n"
    "  -f, --format FORMAT    text (a summary, the default), json (the\n"
    "                         whole profile, versioned: docs/json.md),\n"
    "                         collapsed (FlameGraph, inferno) or speedscope\n"
    "      --stacks WHICH     the stacks collapsed and speedscope write:\n"
    "                         peak (bytes alive at the peak, the default),\n"
    "                         allocated, or end (alive at the end)\n"
    "  -o, --output FILE      write there instead of stdout\n"
    "      --top N            rows in each summary table (10)\n"
    "      --store PATH       the store (default $PLUMB_STORE or\n"
    "                         .plumb/plumb.db); plumb show ID prints it again\n"
    "      --no-store         do not store this profile\n"
    "      --color WHEN       auto, always or never (NO_COLOR is "
    "respected)\n"
    "\n"
    "The program must be a CPython started as usual: plumb finds it through\n"
    "PYTHONPATH, which python -I, -E and -S ignore. Ctrl-C reaches the\n"
    "program; plumb then reports what it recorded.\n"
    "\n"
    "Exit status: 0 when the profile was taken, whatever the program's own\n"
    "exit (a program that died is reported from its last snapshot, taken\n"
    "about once a second); 1 when it could not be recorded, or the profile\n"
    "written or stored; 2 for wrong arguments.\n";

enum {
    OPT_TOP = OPT_FIRST_LOCAL,
    OPT_NO_STORE,
    OPT_NATIVE,
    OPT_STACKS,
};

/* The environment variables of the recorder's interface. */
#define ENV_OUT "PLUMB_MEM_OUT"
#define ENV_MEAN "PLUMB_MEM_MEAN_BYTES"
#define ENV_NATIVE "PLUMB_MEM_NATIVE"

/* What one recording needs and leaves. */
typedef struct {
    char dir[PATH_MAX];      /* private temporary directory */
    char out[PATH_MAX + 16]; /* the recorder's JSON */
    char error[PATH_MAX + 16]; /* its sentence when it could not start */
    char **envp;             /* the program's environment */
    size_t n_env;
} launch_t;

/* The directory of the running plumb executable, into dir. */
static int exe_dir(char *dir, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", dir, size - 1);
    if (n <= 0)
        return -1;
    dir[n] = '\0';
    char *slash = strrchr(dir, '/');
    if (!slash)
        return -1;
    *slash = '\0';
    return 0;
}

static int is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The directory holding the plumb Python package, into pkg; says what is
 * wrong when there is none. */
static int find_package(char *pkg, size_t size)
{
    const char *env = getenv("PLUMB_PYTHON_DIR");
    char dir[PATH_MAX], boot[PATH_MAX + 128];
    if (env && *env)
        snprintf(pkg, size, "%s", env);
    else if (exe_dir(dir, sizeof dir) == 0)
        snprintf(pkg, size, "%s/../python", dir);
    else
        snprintf(pkg, size, "python");
    snprintf(boot, sizeof boot, "%s/plumb/_memboot/sitecustomize.py", pkg);
    if (is_file(boot))
        return 0;
    if (env && *env)
        cli_error("plumb's Python package is not in %s (PLUMB_PYTHON_DIR): "
                  "it has no plumb/_memboot/sitecustomize.py; set "
                  "PLUMB_PYTHON_DIR to the directory that holds the plumb "
                  "package (python/ in plumb's source tree)", pkg);
    else
        cli_error("plumb's Python package, which plumb mem runs inside the "
                  "program, is not in %s; set PLUMB_PYTHON_DIR to the "
                  "directory that holds the plumb package (python/ in "
                  "plumb's source tree)", pkg);
    return -1;
}

/* The native shim, into lib; says what is wrong when there is none. */
static int find_native(char *lib, size_t size)
{
    const char *env = getenv("PLUMB_NATIVE_LIB");
    char dir[PATH_MAX];
    if (env && *env) {
        snprintf(lib, size, "%s", env);
        if (is_file(lib))
            return 0;
        cli_error("--native: the native allocation library %s "
                  "(PLUMB_NATIVE_LIB) does not exist; set PLUMB_NATIVE_LIB "
                  "to plumb's libplumb-native.so, or leave --native out", lib);
        return -1;
    }
    if (exe_dir(dir, sizeof dir) == 0) {
        snprintf(lib, size, "%s/libplumb-native.so", dir);
        if (is_file(lib))
            return 0;
    } else {
        snprintf(lib, size, "libplumb-native.so");
    }
    cli_error("--native: the native allocation library %s is not there; "
              "build it (make, in plumb's source tree) or set "
              "PLUMB_NATIVE_LIB to its path, or leave --native out", lib);
    return -1;
}

/* "NAME=value" in a new string; NULL when out of memory. */
static char *env_entry(const char *name, const char *value)
{
    char *e = NULL;
    return asprintf(&e, "%s=%s", name, value) < 0 ? NULL : e;
}

/* Appends entry (owned) to l->envp; -1 when out of memory. */
static int env_push(launch_t *l, char *entry)
{
    if (!entry)
        return -1;
    l->envp[l->n_env++] = entry;
    return 0;
}

static int is_var(const char *entry, const char *name)
{
    size_t n = strlen(name);
    return strncmp(entry, name, n) == 0 && entry[n] == '=';
}

/* The program's environment: plumb's own, the recorder's variables set
 * (those inherited dropped), PYTHONPATH and, with --native, LD_PRELOAD
 * prefixed. -1 when out of memory. */
static int make_env(launch_t *l, const char *pkg, uint64_t mean_bytes,
                    const char *native_lib)
{
    size_t n = 0;
    while (environ[n])
        n++;
    if (!(l->envp = calloc(n + 8, sizeof *l->envp)))
        return -1;
    const char *pythonpath = getenv("PYTHONPATH");
    const char *preload = getenv("LD_PRELOAD");
    for (size_t i = 0; i < n; i++) {
        const char *e = environ[i];
        if (is_var(e, "PYTHONPATH") || is_var(e, ENV_OUT) ||
            is_var(e, ENV_MEAN) || is_var(e, ENV_NATIVE) ||
            (native_lib && is_var(e, "LD_PRELOAD")))
            continue;
        if (env_push(l, strdup(e)))
            return -1;
    }
    char mean[32], *path = NULL;
    snprintf(mean, sizeof mean, "%llu", (unsigned long long)mean_bytes);
    if (asprintf(&path, "%s/plumb/_memboot:%s%s%s", pkg, pkg,
                 pythonpath && *pythonpath ? ":" : "",
                 pythonpath ? pythonpath : "") < 0)
        return -1;
    if (env_push(l, env_entry("PYTHONPATH", path))) {
        free(path);
        return -1;
    }
    free(path);
    if (env_push(l, env_entry(ENV_OUT, l->out)) ||
        env_push(l, env_entry(ENV_MEAN, mean)))
        return -1;
    if (native_lib) {
        char *libs = NULL;
        if (asprintf(&libs, "%s%s%s", native_lib,
                     preload && *preload ? ":" : "",
                     preload ? preload : "") < 0)
            return -1;
        int bad = env_push(l, env_entry("LD_PRELOAD", libs));
        free(libs);
        if (bad || env_push(l, env_entry(ENV_NATIVE, "1")))
            return -1;
    }
    return 0;
}

/* Removes the private directory and what the recorder left in it. */
static void launch_close(launch_t *l)
{
    if (l->envp) {
        for (size_t i = 0; i < l->n_env; i++)
            free(l->envp[i]);
        free(l->envp);
    }
    if (!*l->dir)
        return;
    DIR *d = opendir(l->dir);
    if (d) {
        struct dirent *e;
        char path[PATH_MAX + 256];
        while ((e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            snprintf(path, sizeof path, "%s/%s", l->dir, e->d_name);
            unlink(path);
        }
        closedir(d);
    }
    rmdir(l->dir);
}

static int make_dir(launch_t *l)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(l->dir, sizeof l->dir, "%s/plumb-mem-XXXXXX",
             tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(l->dir)) {
        cli_error("cannot create a temporary directory in %s for the "
                  "recorder's output: %s; set TMPDIR to a writable "
                  "directory", tmp && *tmp ? tmp : "/tmp", strerror(errno));
        l->dir[0] = '\0';
        return -1;
    }
    snprintf(l->out, sizeof l->out, "%s/mem.json", l->dir);
    snprintf(l->error, sizeof l->error, "%s/mem.json.error", l->dir);
    return 0;
}

/* Starts argv with the environment of l, its signals as plumb's were,
 * and waits for it, passing on SIGINT, SIGTERM and SIGHUP sent to plumb
 * alone (the terminal's Ctrl-C reaches the program by itself). The raw
 * wait status in *status. */
static int run(launch_t *l, char *const *argv, int *status,
               int64_t *elapsed_ns)
{
    sigset_t wanted, old;
    posix_spawnattr_t attr;
    pid_t child;
    sigemptyset(&wanted);
    sigaddset(&wanted, SIGINT);
    sigaddset(&wanted, SIGTERM);
    sigaddset(&wanted, SIGHUP);
    sigaddset(&wanted, SIGCHLD); /* blocked, it is queued: wakes the wait */
    /* ignored, SIGCHLD would reap the child before plumb learns its end */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &dfl, NULL);
    sigprocmask(SIG_BLOCK, &wanted, &old);
    posix_spawnattr_init(&attr);
    posix_spawnattr_setsigmask(&attr, &old);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    int64_t start = plumb_clock_now_ns();
    int rc = posix_spawnp(&child, argv[0], NULL, &attr, argv, l->envp);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        if (rc == ENOENT)
            cli_error("command not found: '%s'; check its name, or give its "
                      "path", argv[0]);
        else
            cli_error("cannot start '%s': %s; check that it is an "
                      "executable program", argv[0], strerror(rc));
        return -1;
    }
    for (;;) {
        pid_t got = waitpid(child, status, WNOHANG);
        if (got == child)
            break;
        if (got < 0 && errno != EINTR) {
            cli_error("cannot wait for the program: %s", strerror(errno));
            sigprocmask(SIG_SETMASK, &old, NULL);
            return -1;
        }
        siginfo_t info;
        struct timespec at_most = {1, 0};
        int sig = sigtimedwait(&wanted, &info, &at_most);
        if (sig > 0 && sig != SIGCHLD && info.si_code != SI_KERNEL)
            kill(child, sig);
    }
    *elapsed_ns = plumb_clock_now_ns() - start;
    /* a Ctrl-C meant for the program that came as it ended must not stop
     * plumb before it reports */
    struct timespec none = {0, 0};
    siginfo_t info;
    while (sigtimedwait(&wanted, &info, &none) > 0)
        ;
    sigprocmask(SIG_SETMASK, &old, NULL);
    return 0;
}

/* The whole of a small file in a new string, or NULL (errno set). */
static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0;
    char *data = malloc(cap);
    while (data) {
        n += fread(data + n, 1, cap - n - 1, f);
        if (n < cap - 1)
            break;
        char *grown = realloc(data, cap *= 2);
        if (!grown)
            free(data);
        data = grown;
    }
    int bad = ferror(f);
    fclose(f);
    if (!data || bad) {
        free(data);
        errno = bad ? EIO : ENOMEM;
        return NULL;
    }
    data[n] = '\0';
    return data;
}

/* "killed by signal 9 (Killed)" or "exited with status 3". */
static void how_it_ended(int status, char *out, size_t size)
{
    if (WIFSIGNALED(status))
        snprintf(out, size, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
}

/* The profile the recorder left, or NULL after saying why there is none. */
static plumb_mem_t *read_profile(const launch_t *l, const char *program,
                                 int status, int64_t elapsed_ns)
{
    char ended[128], why[512];
    how_it_ended(status, ended, sizeof ended);
    char *sentence = slurp(l->error);
    if (sentence) {
        size_t len = strlen(sentence);
        while (len && (sentence[len - 1] == '\n' || sentence[len - 1] == ' '))
            sentence[--len] = '\0';
        cli_error("%s", *sentence ? sentence
                                  : "plumb's recorder could not start in "
                                    "the program, and did not say why");
        cli_note("the program ran unrecorded and %s; nothing was stored",
                 ended);
        free(sentence);
        return NULL;
    }
    char *text = slurp(l->out);
    if (!text && errno == ENOENT) {
        if (WIFSIGNALED(status))
            cli_error("'%s' %s after %.1f s, before plumb's recorder wrote "
                      "its first snapshot (it writes one about every "
                      "second): nothing was recorded; a program that is not "
                      "Python, or a Python started with -I, -E or -S, never "
                      "writes one", program, ended, (double)elapsed_ns / 1e9);
        else
            cli_error("'%s' %s without writing a memory profile: it is not "
                      "a Python program, or its Python was started with -I, "
                      "-E or -S (which skip the PYTHONPATH plumb's recorder "
                      "comes in by); run the script with python3 itself, "
                      "e.g. plumb mem -- python3 script.py", program, ended);
        return NULL;
    }
    if (!text) {
        cli_error("cannot read the memory profile the program wrote (%s): "
                  "%s", l->out, strerror(errno));
        return NULL;
    }
    plumb_mem_t *m = NULL;
    int err = plumb_mem_from_json(text, &m, why, sizeof why);
    free(text);
    if (err) {
        cli_error("the memory profile the program wrote is damaged: %s; "
                  "nothing was stored (run it again; if it happens again, "
                  "it is a bug in plumb)",
                  *why ? why : plumb_strerror(err));
        return NULL;
    }
    return m;
}

int cli_mem(int argc, char **argv)
{
    static const struct option options[] = {
        {"sample-bytes", required_argument, NULL, 'b'},
        {"native", no_argument, NULL, OPT_NATIVE},
        {"format", required_argument, NULL, 'f'},
        {"stacks", required_argument, NULL, OPT_STACKS},
        {"output", required_argument, NULL, 'o'},
        {"top", required_argument, NULL, OPT_TOP},
        {"store", required_argument, NULL, OPT_STORE},
        {"no-store", no_argument, NULL, OPT_NO_STORE},
        {"color", required_argument, NULL, OPT_COLOR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *format = "text", *output = NULL, *color = "auto";
    const char *store_path = NULL, *stacks = "peak";
    int no_store = 0, native = 0, opt;
    unsigned top = 10;
    uint64_t mean_bytes = PLUMB_MEM_DEFAULT_MEAN_BYTES;
    while ((opt = getopt_long(argc, argv, "+b:f:o:h", options, NULL)) != -1) {
        switch (opt) {
        case 'b':
            if (cli_parse_bytes(optarg, &mean_bytes) || mean_bytes == 0 ||
                mean_bytes > (UINT64_C(1) << 30)) {
                cli_error("--sample-bytes takes a size from 1 byte to 1G, "
                          "such as 16k or 1M (got '%s')", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_NATIVE:
            native = 1;
            break;
        case 'f':
            if (!cli_profile_format_ok(optarg))
                return CLI_USAGE;
            format = optarg;
            break;
        case OPT_STACKS:
            if (!cli_mem_stacks_ok(optarg))
                return CLI_USAGE;
            stacks = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case OPT_TOP:
            if (cli_parse_uint(optarg, &top) || top == 0) {
                cli_error("--top takes a number of rows (got '%s')", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_COLOR:
            if (strcmp(optarg, "auto") && strcmp(optarg, "always") &&
                strcmp(optarg, "never")) {
                cli_error("--color takes auto, always or never (got '%s')",
                          optarg);
                return CLI_USAGE;
            }
            color = optarg;
            break;
        case OPT_STORE:
            store_path = optarg;
            break;
        case OPT_NO_STORE:
            no_store = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return CLI_OK;
        default:
            fputs(usage, stderr);
            return CLI_USAGE;
        }
    }
    if (optind >= argc) {
        cli_error("nothing to run; e.g. plumb mem -- python3 app.py");
        return CLI_USAGE;
    }
    char pkg[PATH_MAX + 64], native_lib[PATH_MAX + 64];
    if (find_package(pkg, sizeof pkg) ||
        (native && find_native(native_lib, sizeof native_lib)))
        return CLI_FAILED;
    /* Opened before the program runs: a bad store path fails now, not
     * after a long run whose profile would then be lost. */
    plumb_store_t *st = NULL;
    if (!no_store && !(st = cli_open_store(store_path)))
        return CLI_FAILED;
    launch_t l;
    memset(&l, 0, sizeof l);
    plumb_mem_t *m = NULL;
    char *command = NULL;
    int rc = CLI_FAILED, status = 0;
    int64_t elapsed_ns = 0;
    if (make_dir(&l))
        goto out;
    if (make_env(&l, pkg, mean_bytes, native ? native_lib : NULL)) {
        cli_error("out of memory");
        goto out;
    }
    if (run(&l, argv + optind, &status, &elapsed_ns))
        goto out;
    if (!(m = read_profile(&l, argv[optind], status, elapsed_ns)))
        goto out;
    /* named as the store names it, so that a stored profile reads back
     * the same */
    if (!(command = cli_join_words(NULL, argc - optind, argv + optind))) {
        cli_error("out of memory");
        goto out;
    }
    snprintf(m->command, sizeof m->command, "%s", command);
    m->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    m->exit_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    int stored = !st || cli_mem_save(st, store_path, m, argc, argv) == 0;
    rc = cli_print_mem(m, format, stacks, color, top, output);
    if (rc == CLI_OK && output)
        cli_note("memory profile (%llu samples) written to %s",
                 (unsigned long long)m->samples, output);
    if (rc == CLI_OK && !stored)
        rc = CLI_FAILED;
out:
    free(command);
    plumb_mem_free(m);
    launch_close(&l);
    plumb_store_close(st);
    return rc;
}
