/* report_fixture.h: what the report tests (test_report.c, test_golden.c)
 * share: a session with an analysis built by hand, field by field, so that
 * a renderer is tested without plumb_analysis_new. Each test file builds
 * its own; this header holds the allocation and the release, which mirror
 * each other so that the tests do not depend on plumb_analysis_free. */
#ifndef PLUMB_TESTS_REPORT_FIXTURE_H
#define PLUMB_TESTS_REPORT_FIXTURE_H

#include <stdlib.h>
#include <string.h>

#include "tests.h"

typedef struct {
    plumb_session_t *s;
    plumb_analysis_t *a; /* runs, pairs, fits, crossovers and warnings
                            from calloc, warning texts from fixture_copy */
} fixture_t;

/* A copy of s for a warning; fails the test when out of memory. */
static inline char *fixture_copy(const char *s)
{
    char *c = strdup(s);
    assert_non_null(c);
    return c;
}

static inline void fixture_free_analysis(plumb_analysis_t *a)
{
    if (!a)
        return;
    free(a->runs);
    free(a->pairs);
    free(a->fits);
    free(a->crossovers);
    for (size_t i = 0; i < a->n_warnings; i++)
        free(a->warnings[i]);
    free(a->warnings);
    free(a);
}

/* A cmocka teardown for a fixture_t in *state. */
static inline int fixture_teardown(void **state)
{
    fixture_t *f = *state;
    fixture_free_analysis(f->a);
    plumb_session_free(f->s);
    free(f);
    return 0;
}

#endif
