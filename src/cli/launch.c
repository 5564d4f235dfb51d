/* launch.c: starting a Python program with one of plumb's boot directories
 * in front of its PYTHONPATH (python/plumb/_memboot for plumb mem,
 * _sqlboot for plumb sql), in a private temporary directory where the
 * program leaves its result, passing signals on while waiting for it, and
 * reading back what it left. What the boot does inside the program, and
 * what its result means, belongs to the subcommand. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <dirent.h>
#include <errno.h>
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

int cli_exe_dir(char *dir, size_t size)
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

int cli_is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

int cli_launch_package(const char *boot, const char *subcommand, char *pkg,
                       size_t size)
{
    const char *env = getenv("PLUMB_PYTHON_DIR");
    char dir[PATH_MAX], path[PATH_MAX + 128];
    if (env && *env)
        snprintf(pkg, size, "%s", env);
    else if (cli_exe_dir(dir, sizeof dir) == 0)
        snprintf(pkg, size, "%s/../python", dir);
    else
        snprintf(pkg, size, "python");
    snprintf(path, sizeof path, "%s/plumb/%s/sitecustomize.py", pkg, boot);
    if (cli_is_file(path))
        return 0;
    if (env && *env)
        cli_error("plumb's Python package is not in %s (PLUMB_PYTHON_DIR): "
                  "it has no plumb/%s/sitecustomize.py; set "
                  "PLUMB_PYTHON_DIR to the directory that holds the plumb "
                  "package (python/ in plumb's source tree)", pkg, boot);
    else
        cli_error("plumb's Python package, which %s runs inside the "
                  "program, is not in %s; set PLUMB_PYTHON_DIR to the "
                  "directory that holds the plumb package (python/ in "
                  "plumb's source tree)", subcommand, pkg);
    return -1;
}

int cli_launch_dir(cli_launch_t *l, const char *name)
{
    const char *tmp = getenv("TMPDIR");
    memset(l, 0, sizeof *l);
    snprintf(l->dir, sizeof l->dir, "%s/plumb-%s-XXXXXX",
             tmp && *tmp ? tmp : "/tmp", name);
    if (!mkdtemp(l->dir)) {
        cli_error("cannot create a temporary directory in %s for the "
                  "program's results: %s; set TMPDIR to a writable "
                  "directory", tmp && *tmp ? tmp : "/tmp", strerror(errno));
        l->dir[0] = '\0';
        return -1;
    }
    snprintf(l->out, sizeof l->out, "%s/%s.json", l->dir, name);
    snprintf(l->error, sizeof l->error, "%s/%s.json.error", l->dir, name);
    return 0;
}

/* Appends entry (owned) to l->envp; -1 when out of memory. */
static int env_push(cli_launch_t *l, char *entry)
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

/* Whether entry sets one of the variables of vars ("NAME=value" or
 * "NAME"). */
static int is_one_of(const char *entry, const char *const *vars)
{
    for (size_t i = 0; vars && vars[i]; i++) {
        const char *eq = strchr(vars[i], '=');
        size_t n = eq ? (size_t)(eq - vars[i]) : strlen(vars[i]);
        if (strncmp(entry, vars[i], n) == 0 && entry[n] == '=')
            return 1;
    }
    return 0;
}

int cli_launch_env(cli_launch_t *l, const char *pkg, const char *boot,
                   const char *const *vars, const char *const *drop,
                   const char *preload)
{
    size_t n = 0, n_vars = 0;
    while (environ[n])
        n++;
    while (vars[n_vars])
        n_vars++;
    if (!(l->envp = calloc(n + n_vars + 4, sizeof *l->envp)))
        return -1;
    const char *pythonpath = getenv("PYTHONPATH");
    const char *old_preload = getenv("LD_PRELOAD");
    for (size_t i = 0; i < n; i++) {
        const char *e = environ[i];
        if (is_var(e, "PYTHONPATH") || is_one_of(e, vars) ||
            is_one_of(e, drop) ||
            (preload && is_var(e, "LD_PRELOAD")))
            continue;
        if (env_push(l, strdup(e)))
            return -1;
    }
    char *entry = NULL;
    if (asprintf(&entry, "PYTHONPATH=%s/plumb/%s:%s%s%s", pkg, boot, pkg,
                 pythonpath && *pythonpath ? ":" : "",
                 pythonpath ? pythonpath : "") < 0 ||
        env_push(l, entry))
        return -1;
    for (size_t i = 0; i < n_vars; i++)
        if (env_push(l, strdup(vars[i])))
            return -1;
    if (preload &&
        (asprintf(&entry, "LD_PRELOAD=%s%s%s", preload,
                  old_preload && *old_preload ? ":" : "",
                  old_preload ? old_preload : "") < 0 ||
         env_push(l, entry)))
        return -1;
    return 0;
}

void cli_launch_close(cli_launch_t *l)
{
    if (l->envp) {
        for (size_t i = 0; i < l->n_env; i++)
            free(l->envp[i]);
        free(l->envp);
        l->envp = NULL;
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
    l->dir[0] = '\0';
}

int cli_launch_run(cli_launch_t *l, char *const *argv, int *status,
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

char *cli_slurp(const char *path)
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

char *cli_launch_failure(const cli_launch_t *l)
{
    char *sentence = cli_slurp(l->error);
    if (!sentence)
        return NULL;
    size_t len = strlen(sentence);
    while (len && (sentence[len - 1] == '\n' || sentence[len - 1] == ' '))
        sentence[--len] = '\0';
    return sentence;
}

void cli_how_it_ended(int status, char *out, size_t size)
{
    if (WIFSIGNALED(status))
        snprintf(out, size, "was killed by signal %d (%s)", WTERMSIG(status),
                 strsignal(WTERMSIG(status)));
    else
        snprintf(out, size, "exited with status %d", WEXITSTATUS(status));
}
