/* main.c: the one runner of the C unit tests. Each group is a cmocka group
 * in tests/c/test_<name>.c; `runner NAME` runs only the group NAME, and is
 * the only way to run a TEST_GROUP_NAMED group. */
#include <stdio.h>
#include <string.h>

#include "tests.h"

int main(int argc, char **argv)
{
    int failed = 0, groups = 0;
    const char *only = argc > 1 ? argv[1] : NULL;
#define TEST_GROUP(name)                                                      \
    if (!only || strcmp(only, #name) == 0) {                                  \
        failed += test_##name##_run();                                        \
        groups++;                                                             \
    }
#define TEST_GROUP_NAMED(name)                                                \
    if (only && strcmp(only, #name) == 0) {                                   \
        failed += test_##name##_run();                                        \
        groups++;                                                             \
    }
#include "test_list.h"
#undef TEST_GROUP_NAMED
#undef TEST_GROUP
    if (groups == 0) {
        fprintf(stderr, "no test group named '%s'\n", only);
        return 2;
    }
    return failed ? 1 : 0;
}
