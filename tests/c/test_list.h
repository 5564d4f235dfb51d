/* Every C test group, one line each: TEST_GROUP(name) runs
 * test_<name>_run() from tests/c/test_<name>.c. */
TEST_GROUP(error)
TEST_GROUP(report)
TEST_GROUP(store)
TEST_GROUP(rng)
TEST_GROUP(stats)
TEST_GROUP(command)
TEST_GROUP(proc)
TEST_GROUP(env)
TEST_GROUP(compare)
TEST_GROUP(complexity)
