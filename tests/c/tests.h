/* tests.h: what every C test file includes: cmocka and the group list. */
#ifndef PLUMB_TESTS_H
#define PLUMB_TESTS_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "plumb.h"

#define TEST_GROUP(name) int test_##name##_run(void);
#define TEST_GROUP_NAMED(name) TEST_GROUP(name)
#include "test_list.h"
#undef TEST_GROUP_NAMED
#undef TEST_GROUP

#endif
