/* test_early.c: the shim's static buffer, which serves what dlsym allocates
 * before the real functions are known. glibc 2.34 and later never need it
 * (their dlsym does not allocate when the symbol exists), so this test
 * includes the shim's source, which makes this program the interposer
 * itself, and plays the resolving thread: it hides the real functions and
 * sets the flag that resolve() sets. Run without LD_PRELOAD.
 */
#include "../../src/native/shim.c"

#include <setjmp.h>

#include <cmocka.h>

/* Volatile, so that the compiler does not see the overflow (and warn). */
static volatile size_t count_overflowing = SIZE_MAX / 2;

/* The real functions that the resolving thread does not know yet. */
static malloc_fn_t saved_malloc;
static calloc_fn_t saved_calloc;
static realloc_fn_t saved_realloc;

static void hide_real_functions(int hide_malloc)
{
    resolve();
    saved_malloc = LOAD(real_malloc);
    saved_calloc = LOAD(real_calloc);
    saved_realloc = LOAD(real_realloc);
    if (hide_malloc)
        STORE(real_malloc, NULL);
    STORE(real_calloc, NULL);
    STORE(real_realloc, NULL);
    resolving = 1;
}

/* cmocka allocates when an assertion fails: no assertion in between. */
static void restore_real_functions(void)
{
    resolving = 0;
    STORE(real_malloc, saved_malloc);
    STORE(real_calloc, saved_calloc);
    STORE(real_realloc, saved_realloc);
}

static void early_blocks_serve_the_resolving_thread(void **state)
{
    (void)state;
    size_t used = LOAD(early_used);
    hide_real_functions(1);
    char *m = malloc(10);
    unsigned char *c = calloc(4, 25);
    if (m)
        memcpy(m, "abcdefghij", 10);
    char *grown = realloc(m, 40); /* a copy, in the buffer too */
    void *too_big = malloc(EARLY_BYTES);
    int err = errno;
    void *overflowing = calloc(count_overflowing, 4);
    restore_real_functions();

    assert_true(is_early(m));
    assert_true(is_early(c));
    assert_true(is_early(grown));
    assert_ptr_not_equal(grown, m);
    assert_memory_equal(grown, "abcdefghij", 10);
    for (int i = 0; i < 100; i++)
        assert_int_equal(c[i], 0);
    assert_int_equal((uintptr_t)m % EARLY_ALIGN, 0);
    assert_int_equal((uintptr_t)c % EARLY_ALIGN, 0);
    assert_int_equal(early_size(c), 100);
    assert_null(too_big);
    assert_int_equal(err, ENOMEM);
    assert_null(overflowing);
    /* a header and the size rounded up to 16, for each block served */
    assert_int_equal(LOAD(early_used), used + (16 + 16) + (16 + 112) + (16 + 48));

    /* Later: the real free never sees them (glibc would abort), and
     * realloc moves them to real blocks. */
    free(m);
    free(c);
    char *moved = realloc(grown, 1000);
    assert_non_null(moved);
    assert_false(is_early(moved));
    assert_memory_equal(moved, "abcdefghij", 10);
    assert_int_equal(malloc_usable_size(moved) >= 1000, 1);
    free(moved);
}

/* realloc of a real block by the resolving thread, before the real realloc
 * is known (malloc and free are): a copy, and the old block freed. */
static void realloc_before_the_real_one_copies(void **state)
{
    (void)state;
    char *p = malloc(100);
    assert_non_null(p);
    memset(p, 'x', 100);
    hide_real_functions(0);
    char *q = realloc(p, 5000);
    restore_real_functions();
    assert_non_null(q);
    assert_false(is_early(q));
    for (int i = 0; i < 100; i++)
        assert_int_equal(q[i], 'x');
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(early_blocks_serve_the_resolving_thread),
        cmocka_unit_test(realloc_before_the_real_one_copies),
    };
    return cmocka_run_group_tests_name("native-early", tests, NULL, NULL);
}
