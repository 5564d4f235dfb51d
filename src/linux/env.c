/* env.c: where a measurement was taken (Linux): host, kernel, CPU, load,
 * frequency governor, and the git commit of the code being measured. It
 * only reports; judging whether the machine was fit to measure on (a busy
 * load, a powersave governor) is analysis's job. Everything is read from
 * /proc, /sys and .git directly, never by running a program.
 */
#define _GNU_SOURCE
#include "plumb.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

/* Copies src into dst[size], truncating; always NUL-terminated. */
static void copy_string(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void trim_right(char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
}

/* The first line of a small file, without its newline, in buf[size]. 0, or
 * -1 when it cannot be read or is empty. */
static int read_line(const char *path, char *buf, size_t size)
{
    FILE *f = fopen(path, "re");
    int err = -1;
    if (!f)
        return -1;
    if (fgets(buf, (int)size, f)) {
        trim_right(buf);
        err = buf[0] ? 0 : -1;
    }
    fclose(f);
    return err;
}

/* The value of the first "model name : ..." line of /proc/cpuinfo. */
static void read_cpu_model(char *out, size_t size)
{
    char line[512];
    FILE *f = fopen("/proc/cpuinfo", "re");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) != 0)
            continue;
        char *value = strchr(line, ':');
        if (!value)
            continue;
        value++;
        while (*value == ' ' || *value == '\t')
            value++;
        trim_right(value);
        copy_string(out, size, value);
        break;
    }
    fclose(f);
}

int plumb_env_collect(plumb_env_t *env)
{
    struct utsname uts;
    char line[256];

    if (!env)
        return PLUMB_EINVAL;
    memset(env, 0, sizeof *env);
    env->load_avg1 = -1;
    env->created_ns = plumb_clock_realtime_ns();
    copy_string(env->plumb_version, sizeof env->plumb_version, PLUMB_VERSION);

    if (gethostname(env->host, sizeof env->host) != 0)
        env->host[0] = '\0';
    env->host[sizeof env->host - 1] = '\0'; /* truncation need not end it */
    if (uname(&uts) == 0)
        snprintf(env->kernel, sizeof env->kernel, "%s %s %s", uts.sysname,
                 uts.release, uts.machine);
    read_cpu_model(env->cpu_model, sizeof env->cpu_model);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    env->cpus = cpus > 0 && cpus < INT_MAX ? (int)cpus : 0;
    if (read_line("/proc/loadavg", line, sizeof line) == 0) {
        char *end;
        double load = strtod(line, &end);
        if (end != line && load >= 0)
            env->load_avg1 = load;
    }
    /* Absent on VMs and containers without cpufreq: unknown, not an error. */
    if (read_line("/sys/devices/system/cpu/cpu0/cpufreq/scaling_governor",
                  line, sizeof line) == 0)
        copy_string(env->governor, sizeof env->governor, line);
    return 0;
}

/* ---- git ----------------------------------------------------------------- */

/* The whole of a small file as a string the caller frees; NULL when it
 * cannot be read. */
static char *read_file(const char *path)
{
    FILE *f = fopen(path, "re");
    char *text = NULL;
    size_t len = 0, cap = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (len + 1 >= cap) {
            size_t new_cap = cap ? cap * 2 : 256;
            char *grown = realloc(text, new_cap);
            if (!grown) {
                free(text);
                text = NULL;
                goto out;
            }
            text = grown;
            cap = new_cap;
        }
        size_t n = fread(text + len, 1, cap - len - 1, f);
        len += n;
        if (n == 0)
            break;
    }
    text[len] = '\0';
    if (ferror(f)) {
        free(text);
        text = NULL;
    }
out:
    fclose(f);
    return text;
}

/* dir + "/" + name in a new string; NULL when out of memory. */
static char *join(const char *dir, const char *name)
{
    size_t a = strlen(dir), b = strlen(name);
    char *path = malloc(a + b + 2);
    if (!path)
        return NULL;
    memcpy(path, dir, a);
    path[a] = '/';
    memcpy(path + a + 1, name, b + 1);
    return path;
}

/* Length of the object id at the start of s: 40 hex digits (SHA-1) or 64
 * (SHA-256), followed by the end of the token; 0 otherwise. */
static size_t hash_length(const char *s)
{
    size_t n = 0;
    while (isxdigit((unsigned char)s[n]))
        n++;
    if (s[n] && !isspace((unsigned char)s[n]))
        return 0;
    return n == 40 || n == 64 ? n : 0;
}

/* Where a ref is stored. */
typedef struct {
    char *git_dir;    /* HEAD and, for a linked worktree, its own refs */
    char *common_dir; /* branches, packed-refs; git_dir outside worktrees */
} repo_t;

/* The target of "ref: refs/heads/x" in packed-refs, which holds lines of
 * "<hash> <refname>", comments (#) and peeled tags (^). */
static int find_packed_ref(const repo_t *repo, const char *ref, char *out,
                           size_t size)
{
    char *path = join(repo->common_dir, "packed-refs");
    char *text = path ? read_file(path) : NULL;
    int err = path ? PLUMB_ENOTFOUND : PLUMB_ENOMEM;
    size_t ref_len = strlen(ref);

    for (char *line = text; line && *line;) {
        char *end = strchr(line, '\n');
        if (end)
            *end = '\0';
        size_t n = hash_length(line);
        if (n && line[n] == ' ' && strncmp(line + n + 1, ref, ref_len) == 0 &&
            (line[n + 1 + ref_len] == '\0' ||
             isspace((unsigned char)line[n + 1 + ref_len]))) {
            if (n >= size) {
                err = PLUMB_EINVAL;
            } else {
                memcpy(out, line, n);
                out[n] = '\0';
                err = 0;
            }
            break;
        }
        if (!end)
            break;
        line = end + 1;
    }
    free(text);
    free(path);
    return err;
}

/* Resolves the content of HEAD or of a ref file: a hash, or "ref: <name>"
 * to follow (a few levels, as symbolic refs may chain). */
static int resolve(const repo_t *repo, const char *content, int depth,
                   char *out, size_t size)
{
    size_t n = hash_length(content);
    if (n) {
        if (n >= size)
            return PLUMB_EINVAL;
        memcpy(out, content, n);
        out[n] = '\0';
        return 0;
    }
    if (strncmp(content, "ref:", 4) != 0 || depth > 5)
        return PLUMB_ENOTFOUND;

    const char *name = content + 4;
    while (*name == ' ' || *name == '\t')
        name++;
    char *ref = strdup(name);
    int err = PLUMB_ENOTFOUND;
    if (!ref)
        return PLUMB_ENOMEM;
    trim_right(ref);
    /* Never leave the repository, whatever a ref says. */
    if (!*ref || ref[0] == '/' || strstr(ref, "..")) {
        free(ref);
        return PLUMB_ENOTFOUND;
    }
    /* A linked worktree keeps a few refs of its own (refs/bisect, ...);
     * branches are in the common directory, loose or packed. */
    const char *dirs[2] = {repo->git_dir, repo->common_dir};
    for (int i = 0; i < 2 && err == PLUMB_ENOTFOUND; i++) {
        if (i == 1 && strcmp(dirs[0], dirs[1]) == 0)
            break;
        char *path = join(dirs[i], ref);
        char *text = path ? read_file(path) : NULL;
        if (!path)
            err = PLUMB_ENOMEM;
        else if (text)
            err = resolve(repo, text, depth + 1, out, size);
        free(text);
        free(path);
    }
    if (err == PLUMB_ENOTFOUND)
        err = find_packed_ref(repo, ref, out, size);
    free(ref);
    return err;
}

/* Fills repo from the .git found at dot_git: a directory, or a file
 * "gitdir: <path>" (linked worktrees, submodules) whose path may be
 * relative to the directory holding the file. */
static int open_repo(const char *dir, const char *dot_git, int is_dir,
                     repo_t *repo)
{
    if (is_dir) {
        repo->git_dir = strdup(dot_git);
    } else {
        char *text = read_file(dot_git);
        if (!text)
            return PLUMB_ENOTFOUND;
        if (strncmp(text, "gitdir:", 7) != 0) {
            free(text);
            return PLUMB_ENOTFOUND;
        }
        char *target = text + 7;
        while (*target == ' ' || *target == '\t')
            target++;
        trim_right(target);
        repo->git_dir = target[0] == '/' ? strdup(target) : join(dir, target);
        free(text);
    }
    if (!repo->git_dir)
        return PLUMB_ENOMEM;

    /* A linked worktree names the repository's main .git in commondir. */
    char *path = join(repo->git_dir, "commondir");
    if (!path)
        return PLUMB_ENOMEM;
    char *common = read_file(path);
    free(path);
    if (common) {
        trim_right(common);
        repo->common_dir = common[0] == '/' ? strdup(common)
                                            : join(repo->git_dir, common);
        free(common);
    } else {
        repo->common_dir = strdup(repo->git_dir);
    }
    return repo->common_dir ? 0 : PLUMB_ENOMEM;
}

int plumb_env_git_commit(const char *dir, char *out, size_t size)
{
    repo_t repo = {0};
    char *here = NULL, *dot_git = NULL, *head_path = NULL, *head = NULL;
    int err = PLUMB_ENOTFOUND;

    if (!out || size == 0)
        return PLUMB_EINVAL;
    out[0] = '\0';
    if (!(here = realpath(dir ? dir : ".", NULL)))
        return errno == ENOMEM ? PLUMB_ENOMEM : PLUMB_ENOTFOUND;

    /* Walk up from dir to the first directory holding a .git. */
    for (;;) {
        struct stat st;
        free(dot_git);
        if (!(dot_git = join(strcmp(here, "/") == 0 ? "" : here, ".git"))) {
            err = PLUMB_ENOMEM;
            goto out;
        }
        if (stat(dot_git, &st) == 0 && (S_ISDIR(st.st_mode) ||
                                        S_ISREG(st.st_mode))) {
            err = open_repo(here, dot_git, S_ISDIR(st.st_mode), &repo);
            break;
        }
        char *slash = strrchr(here, '/');
        if (!slash || strcmp(here, "/") == 0)
            goto out; /* PLUMB_ENOTFOUND */
        if (slash == here)
            slash[1] = '\0'; /* "/x" -> "/" */
        else
            *slash = '\0';
    }
    if (err)
        goto out;

    if (!(head_path = join(repo.git_dir, "HEAD"))) {
        err = PLUMB_ENOMEM;
        goto out;
    }
    if (!(head = read_file(head_path))) {
        err = PLUMB_ENOTFOUND;
        goto out;
    }
    /* An unborn branch (no commit yet) resolves to nothing: ENOTFOUND. */
    err = resolve(&repo, head, 0, out, size);
out:
    if (err)
        out[0] = '\0';
    free(head);
    free(head_path);
    free(dot_git);
    free(here);
    free(repo.git_dir);
    free(repo.common_dir);
    return err;
}
