#include <string.h>

#include "tests.h"

static void strerror_names_every_code(void **state)
{
    (void)state;
    assert_string_equal(plumb_strerror(PLUMB_ENOENT), "command not found");
    assert_string_equal(plumb_errname(PLUMB_ETIMEDOUT), "TIMEDOUT");
    assert_string_equal(plumb_strerror(0), "success");
    assert_string_equal(plumb_strerror(-9999), "unknown error");
}

static void metric_keys_round_trip(void **state)
{
    (void)state;
    for (int m = 0; m < PLUMB_METRIC_COUNT; m++)
        assert_int_equal(plumb_metric_find(plumb_metric_key(m)), m);
    assert_int_equal(plumb_metric_find("nonsense"), -1);
    assert_int_equal(plumb_metric_unit(PLUMB_METRIC_MAX_RSS),
                     PLUMB_UNIT_BYTES);
}

static void sample_init_marks_unavailable(void **state)
{
    (void)state;
    plumb_sample_t s;
    plumb_sample_init(&s);
    assert_int_equal(s.metric[PLUMB_METRIC_INSTRUCTIONS], PLUMB_UNAVAILABLE);
    assert_true(plumb_sample_ok(&s));
    s.exit_code = 3;
    assert_false(plumb_sample_ok(&s));
}

int test_error_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(strerror_names_every_code),
        cmocka_unit_test(metric_keys_round_trip),
        cmocka_unit_test(sample_init_marks_unavailable),
    };
    return cmocka_run_group_tests_name("error", tests, NULL, NULL);
}
