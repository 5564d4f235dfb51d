/* golden.h: comparing a rendered report with its file under tests/golden/
 * (test_golden.c, which explains how to regenerate them), for the other
 * test files that render a report of their own (test_mem.c). */
#ifndef PLUMB_TESTS_GOLDEN_H
#define PLUMB_TESTS_GOLDEN_H

/* Fails the test when `actual` differs from tests/golden/NAME (writing it
 * to build/golden-actual/NAME), or writes the file when
 * PLUMB_UPDATE_GOLDEN=1. */
void check_golden(const char *name, const char *actual);

#endif
