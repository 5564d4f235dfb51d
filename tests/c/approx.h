/* approx.h: assertions on doubles for the C tests. cmocka's
 * assert_float_equal compares floats, too coarse for statistics. */
#ifndef PLUMB_TESTS_APPROX_H
#define PLUMB_TESTS_APPROX_H

#include <math.h>

#include "tests.h"

/* |actual - expected| <= tolerance; both printed in full when not. */
#define assert_near(actual, expected, tolerance)                              \
    assert_near_at((actual), (expected), (tolerance), __FILE__, __LINE__)

/* |actual - expected| <= tolerance * |expected|. */
#define assert_near_rel(actual, expected, tolerance)                          \
    assert_near_at((actual), (expected), (tolerance) * fabs(expected),        \
                   __FILE__, __LINE__)

static inline void assert_near_at(double actual, double expected,
                                  double tolerance, const char *file,
                                  int line)
{
    if (!(fabs(actual - expected) <= tolerance)) {
        print_error("%.17g is not within %g of %.17g\n", actual, tolerance,
                    expected);
        _fail(file, line);
    }
}

#endif
