/* test_env.c: the machine description and the git commit reader
 * (src/linux/env.c). The commit reader is checked on hand-built .git
 * layouts and, where git is installed, against `git rev-parse HEAD`. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "tests.h"

#define HASH_A "0123456789abcdef0123456789abcdef01234567"
#define HASH_B "89abcdef0123456789abcdef0123456789abcdef"
#define HASH_C "fedcba9876543210fedcba9876543210fedcba98"
#define HASH_256 "00112233445566778899aabbccddeeff" \
                 "00112233445566778899aabbccddeeff"

/* ---- helpers ------------------------------------------------------------ */

static char *join(const char *dir, const char *name)
{
    char *path = malloc(strlen(dir) + strlen(name) + 2);
    assert_non_null(path);
    sprintf(path, "%s/%s", dir, name);
    return path;
}

/* Creates dir/rel (with its parent directories) holding `text`. */
static void put_file(const char *dir, const char *rel, const char *text)
{
    char *path = join(dir, rel);
    for (char *slash = strchr(path + strlen(dir) + 1, '/'); slash;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    free(path);
}

static void make_dirs(const char *dir, const char *rel)
{
    put_file(dir, rel, ""); /* creates the parents */
    char *path = join(dir, rel);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(mkdir(path, 0755), 0);
    free(path);
}

static void remove_tree(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        assert_non_null(d);
        for (struct dirent *e; (e = readdir(d));) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char *child = join(path, e->d_name);
            remove_tree(child);
            free(child);
        }
        closedir(d);
        assert_int_equal(rmdir(path), 0);
    } else {
        assert_int_equal(unlink(path), 0);
    }
}

static int make_repo_dir(void **state)
{
    char *dir = strdup("/tmp/plumb-test-env-XXXXXX");
    assert_non_null(dir);
    assert_non_null(mkdtemp(dir));
    *state = dir;
    return 0;
}

static int remove_repo_dir(void **state)
{
    remove_tree(*state);
    free(*state);
    return 0;
}

static void check_commit(const char *dir, const char *want)
{
    char out[128] = "junk";
    assert_int_equal(plumb_env_git_commit(dir, out, sizeof out), 0);
    assert_string_equal(out, want);
}

static void check_no_commit(const char *dir)
{
    char out[128] = "junk";
    assert_int_equal(plumb_env_git_commit(dir, out, sizeof out),
                     PLUMB_ENOTFOUND);
    assert_string_equal(out, "");
}

/* ---- the machine ---------------------------------------------------------- */

static void collect_describes_this_machine(void **state)
{
    (void)state;
    plumb_env_t env;
    struct utsname uts;
    char host[256], kernel[600];

    int64_t before = plumb_clock_realtime_ns();
    assert_int_equal(plumb_env_collect(&env), 0);
    int64_t after = plumb_clock_realtime_ns();

    assert_int_equal(gethostname(host, sizeof host), 0);
    assert_string_equal(env.host, host);
    assert_int_equal(uname(&uts), 0);
    snprintf(kernel, sizeof kernel, "Linux %s %s", uts.release, uts.machine);
    assert_string_equal(env.kernel, kernel);
    assert_int_equal(env.cpus, (int)sysconf(_SC_NPROCESSORS_ONLN));
    assert_true(env.cpus >= 1);
    assert_true(env.load_avg1 >= 0);
    assert_true(env.created_ns >= before && env.created_ns <= after);
    assert_string_equal(env.plumb_version, PLUMB_VERSION);
    assert_true(strlen(env.governor) < sizeof env.governor);
    assert_int_equal(plumb_env_collect(NULL), PLUMB_EINVAL);
}

/* The same facts read a second way, by programs rather than by us. */
static void collect_agrees_with_the_shell(void **state)
{
    (void)state;
    plumb_env_t env;
    char model[256], governor[64];
    assert_int_equal(plumb_env_collect(&env), 0);

    char *const model_argv[] = {
        "/bin/sh", "-c",
        "sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo "
        "| head -n 1",
        NULL};
    assert_int_equal(plumb_proc_capture(model_argv, model, sizeof model), 0);
    assert_string_equal(env.cpu_model, model);

    char *const governor_argv[] = {
        "/bin/sh", "-c",
        "cat /sys/devices/system/cpu/cpu0/cpufreq/scaling_governor "
        "2>/dev/null || true",
        NULL};
    assert_int_equal(
        plumb_proc_capture(governor_argv, governor, sizeof governor), 0);
    assert_string_equal(env.governor, governor);
}

/* ---- git ------------------------------------------------------------------ */

static void detached_head_from_a_subdirectory(void **state)
{
    const char *dir = *state;
    put_file(dir, ".git/HEAD", HASH_A "\n");
    make_dirs(dir, "src/deep/er");
    char *sub = join(dir, "src/deep/er");
    check_commit(sub, HASH_A);
    check_commit(dir, HASH_A);
    free(sub);
}

static void branch_in_a_loose_ref(void **state)
{
    const char *dir = *state;
    put_file(dir, ".git/HEAD", "ref: refs/heads/main\n");
    put_file(dir, ".git/refs/heads/main", HASH_B "\n");
    put_file(dir, ".git/packed-refs",
             "# pack-refs with: peeled fully-peeled sorted\n" HASH_C
             " refs/heads/main\n");
    /* A loose ref is newer than its packed copy. */
    check_commit(dir, HASH_B);
}

static void branch_in_packed_refs(void **state)
{
    const char *dir = *state;
    put_file(dir, ".git/HEAD", "ref: refs/heads/feature/x\n");
    put_file(dir, ".git/packed-refs",
             "# pack-refs with: peeled fully-peeled sorted\n" HASH_A
             " refs/heads/feature/xy\n" HASH_B
             " refs/heads/feature/x\n" HASH_C " refs/tags/v1\n^" HASH_A
             "\n");
    check_commit(dir, HASH_B);
}

static void unborn_branch_has_no_commit(void **state)
{
    const char *dir = *state;
    put_file(dir, ".git/HEAD", "ref: refs/heads/main\n");
    make_dirs(dir, ".git/refs/heads");
    check_no_commit(dir);
}

static void linked_worktree_reads_the_common_dir(void **state)
{
    const char *dir = *state;
    put_file(dir, "repo/.git/HEAD", "ref: refs/heads/main\n");
    put_file(dir, "repo/.git/refs/heads/main", HASH_A "\n");
    put_file(dir, "repo/.git/refs/heads/topic", HASH_C "\n");
    put_file(dir, "repo/.git/worktrees/wt/HEAD", "ref: refs/heads/topic\n");
    put_file(dir, "repo/.git/worktrees/wt/commondir", "../..\n");
    put_file(dir, "wt/.git", "gitdir: ../repo/.git/worktrees/wt\n");
    make_dirs(dir, "wt/sub");
    char *wt = join(dir, "wt/sub"), *repo = join(dir, "repo");
    check_commit(wt, HASH_C);
    check_commit(repo, HASH_A);
    free(wt);
    free(repo);
}

static void sha256_and_buffer_size(void **state)
{
    const char *dir = *state;
    char out[41];
    put_file(dir, ".git/HEAD", HASH_256 "\n");
    check_commit(dir, HASH_256);
    assert_int_equal(plumb_env_git_commit(dir, out, sizeof out),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_env_git_commit(dir, NULL, 0), PLUMB_EINVAL);
}

static void garbage_head_is_not_a_commit(void **state)
{
    const char *dir = *state;
    put_file(dir, ".git/HEAD", "not a hash\n");
    check_no_commit(dir);
    put_file(dir, ".git/HEAD", "ref: ../../../etc/passwd\n");
    check_no_commit(dir);
}

static void outside_a_work_tree(void **state)
{
    const char *dir = *state; /* under /tmp, which no .git holds */
    check_no_commit(dir);
    char *missing = join(dir, "no/such/dir");
    check_no_commit(missing);
    free(missing);
}

/* Against git itself, loose and then packed, where git is installed. */
static void agrees_with_git_rev_parse(void **state)
{
    const char *dir = *state;
    char *git = NULL, want[128], out[256];
    if (plumb_proc_which("git", &git) != 0) {
        skip();
        return;
    }
    char *const init[] = {git, "init", "-q", (char *)dir, NULL};
    char *const commit[] = {git, "-C", (char *)dir, "-c", "user.name=plumb",
                            "-c", "user.email=plumb@example.com", "commit",
                            "-q", "--allow-empty", "-m", "test", NULL};
    char *const rev_parse[] = {git, "-C", (char *)dir, "rev-parse", "HEAD",
                               NULL};
    char *const pack[] = {git, "-C", (char *)dir, "pack-refs", "--all",
                          NULL};
    assert_int_equal(plumb_proc_capture(init, out, sizeof out), 0);
    check_no_commit(dir); /* unborn */
    assert_int_equal(plumb_proc_capture(commit, out, sizeof out), 0);
    assert_int_equal(plumb_proc_capture(rev_parse, want, sizeof want), 0);
    check_commit(dir, want);
    assert_int_equal(plumb_proc_capture(pack, out, sizeof out), 0);
    check_commit(dir, want);
    free(git);
}

int test_env_run(void)
{
#define GIT_TEST(name)                                                        \
    cmocka_unit_test_setup_teardown(name, make_repo_dir, remove_repo_dir)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(collect_describes_this_machine),
        cmocka_unit_test(collect_agrees_with_the_shell),
        GIT_TEST(detached_head_from_a_subdirectory),
        GIT_TEST(branch_in_a_loose_ref),
        GIT_TEST(branch_in_packed_refs),
        GIT_TEST(unborn_branch_has_no_commit),
        GIT_TEST(linked_worktree_reads_the_common_dir),
        GIT_TEST(sha256_and_buffer_size),
        GIT_TEST(garbage_head_is_not_a_commit),
        GIT_TEST(outside_a_work_tree),
        GIT_TEST(agrees_with_git_rev_parse),
    };
#undef GIT_TEST
    return cmocka_run_group_tests_name("env", tests, NULL, NULL);
}
