/* test_command.c: word splitting, quoting, the shell decision and {name}
 * substitution (src/command.c). */
#include <stdlib.h>
#include <string.h>

#include "tests.h"

/* Parses text and checks the argv against the NULL-terminated want. */
static void check_argv(const char *text, plumb_shell_mode_t mode,
                       const char *shell, int want_shell,
                       const char *const *want)
{
    plumb_command_t *cmd = NULL;
    assert_int_equal(plumb_command_new(text, mode, shell, &cmd), 0);
    assert_non_null(cmd);
    assert_int_equal(plumb_command_uses_shell(cmd), want_shell);
    char *const *argv = plumb_command_argv(cmd);
    size_t i = 0;
    for (; want[i]; i++) {
        assert_non_null(argv[i]);
        assert_string_equal(argv[i], want[i]);
    }
    assert_null(argv[i]);
    plumb_command_free(cmd);
}

static void check_error(const char *text, plumb_shell_mode_t mode,
                        const char *shell)
{
    plumb_command_t *cmd = (plumb_command_t *)&cmd; /* must be reset */
    assert_int_equal(plumb_command_new(text, mode, shell, &cmd),
                     PLUMB_EINVAL);
    assert_null(cmd);
}

static void splits_words_on_blanks(void **state)
{
    (void)state;
    check_argv("ls -l  /tmp", PLUMB_SHELL_AUTO, NULL, 0,
               (const char *[]){"ls", "-l", "/tmp", NULL});
    check_argv("  \tprog\targ  ", PLUMB_SHELL_NONE, NULL, 0,
               (const char *[]){"prog", "arg", NULL});
    check_argv("x", PLUMB_SHELL_AUTO, NULL, 0, (const char *[]){"x", NULL});
}

static void quotes_group_and_join_words(void **state)
{
    (void)state;
    check_argv("echo 'a b' \"c d\" e'f'\"g\"", PLUMB_SHELL_NONE, NULL, 0,
               (const char *[]){"echo", "a b", "c d", "efg", NULL});
    /* Empty quotes are an empty word, not nothing. */
    check_argv("prog '' \"\"", PLUMB_SHELL_NONE, NULL, 0,
               (const char *[]){"prog", "", "", NULL});
    /* Single quotes keep everything, backslashes included. */
    check_argv("prog 'a\\b \"c\" $x | y'", PLUMB_SHELL_NONE, NULL, 0,
               (const char *[]){"prog", "a\\b \"c\" $x | y", NULL});
    check_argv("prog \"it's\"", PLUMB_SHELL_NONE, NULL, 0,
               (const char *[]){"prog", "it's", NULL});
}

static void double_quotes_escape_only_four_characters(void **state)
{
    (void)state;
    check_argv("prog \"a\\\"b\\\\c\\$d\\`e\"", PLUMB_SHELL_NONE, NULL, 0,
               (const char *[]){"prog", "a\"b\\c$d`e", NULL});
    /* Any other backslash stays, as in sh: printf sees \n itself. */
    check_argv("printf \"%s\\n\" x", PLUMB_SHELL_NONE, NULL, 0,
               (const char *[]){"printf", "%s\\n", "x", NULL});
}

static void shell_syntax_goes_to_the_shell(void **state)
{
    (void)state;
    const char *texts[] = {
        "a | b",         "a & b",         "a; b",         "a < in",
        "a > out",       "(a)",           "echo $HOME",   "echo `date`",
        "ls *.c",        "ls ?",          "ls [ab]",      "echo ]",
        "ls ~",          "ls ~/x",        "echo a # c",   "a\nb",
        "echo a\\ b",    "FOO=1 env",     "_x=1",         "echo \"$HOME\"",
        "echo \"`id`\"", "prog \"a\\\nb\"", "echo a>b",     "#only",
    };
    for (size_t i = 0; i < sizeof texts / sizeof *texts; i++) {
        check_argv(texts[i], PLUMB_SHELL_AUTO, NULL, 1,
                   (const char *[]){"sh", "-c", texts[i], NULL});
        check_error(texts[i], PLUMB_SHELL_NONE, NULL);
    }
}

static void quoted_or_inner_syntax_needs_no_shell(void **state)
{
    (void)state;
    check_argv("echo 'a|b' \"c;d\" 'e>f'", PLUMB_SHELL_AUTO, NULL, 0,
               (const char *[]){"echo", "a|b", "c;d", "e>f", NULL});
    /* ~ and # count only where a word starts; = only in the first word,
     * and only after an unquoted name. */
    check_argv("echo a~b a#b", PLUMB_SHELL_AUTO, NULL, 0,
               (const char *[]){"echo", "a~b", "a#b", NULL});
    check_argv("env FOO=1 prog", PLUMB_SHELL_AUTO, NULL, 0,
               (const char *[]){"env", "FOO=1", "prog", NULL});
    check_argv("'FOO=1' x", PLUMB_SHELL_AUTO, NULL, 0,
               (const char *[]){"FOO=1", "x", NULL});
    check_argv("./x=1 y", PLUMB_SHELL_AUTO, NULL, 0,
               (const char *[]){"./x=1", "y", NULL});
    check_argv("prog \"\\$x\"", PLUMB_SHELL_AUTO, NULL, 0,
               (const char *[]){"prog", "$x", NULL});
}

static void always_mode_and_custom_shell(void **state)
{
    (void)state;
    check_argv("ls -l", PLUMB_SHELL_ALWAYS, NULL, 1,
               (const char *[]){"sh", "-c", "ls -l", NULL});
    check_argv("ls -l", PLUMB_SHELL_ALWAYS, "/bin/bash", 1,
               (const char *[]){"/bin/bash", "-c", "ls -l", NULL});
    check_argv("a | b", PLUMB_SHELL_AUTO, "bash", 1,
               (const char *[]){"bash", "-c", "a | b", NULL});
    /* Quotes the shell understands are not errors: \' is no quote, and a
     * comment may hold an apostrophe. */
    check_argv("echo \\'", PLUMB_SHELL_AUTO, NULL, 1,
               (const char *[]){"sh", "-c", "echo \\'", NULL});
    check_argv("echo hi # it's", PLUMB_SHELL_AUTO, NULL, 1,
               (const char *[]){"sh", "-c", "echo hi # it's", NULL});
}

static void rejects_empty_and_unbalanced(void **state)
{
    (void)state;
    const plumb_shell_mode_t modes[] = {PLUMB_SHELL_AUTO, PLUMB_SHELL_NONE,
                                        PLUMB_SHELL_ALWAYS};
    const char *texts[] = {"",          "   ",        "\t\n ",
                           "echo 'abc", "echo \"abc", "echo 'a' \"b",
                           "a | 'b",    "'"};
    for (size_t m = 0; m < 3; m++)
        for (size_t i = 0; i < sizeof texts / sizeof *texts; i++)
            check_error(texts[i], modes[m], NULL);
    check_error(NULL, PLUMB_SHELL_AUTO, NULL);
    check_error("ls", PLUMB_SHELL_AUTO, "");
    check_error("ls", (plumb_shell_mode_t)42, NULL);
    assert_int_equal(plumb_command_new("ls", PLUMB_SHELL_AUTO, NULL, NULL),
                     PLUMB_EINVAL);
}

static void accessors_accept_null(void **state)
{
    (void)state;
    assert_null(plumb_command_argv(NULL));
    assert_int_equal(plumb_command_uses_shell(NULL), 0);
    plumb_command_free(NULL);
}

static void check_substitute(const char *tmpl, const char *want)
{
    const char *names[] = {"n", "size", "empty", "n"};
    const char *values[] = {"10", "4k", "", "shadowed"};
    char *out = NULL;
    assert_int_equal(plumb_command_substitute(tmpl, 4, names, values, &out),
                     0);
    assert_string_equal(out, want);
    free(out);
}

static void substitute_replaces_known_names(void **state)
{
    (void)state;
    check_substitute("run -n {n} -s {size}", "run -n 10 -s 4k");
    check_substitute("{n}{n}{size}", "10104k");
    check_substitute("a{empty}b", "ab");
    check_substitute("no braces", "no braces");
    check_substitute("", "");
}

static void substitute_leaves_other_braces(void **state)
{
    (void)state;
    check_substitute("{x} {N} { n} {n }", "{x} {N} { n} {n }");
    check_substitute("{ } {} { }", "{ } {} { }");
    check_substitute("a{b", "a{b");
    check_substitute("a}b{", "a}b{");
    check_substitute("{{n}}", "{10}");
    check_substitute("{a{n}", "{a10");
    check_substitute("awk '{print $1}' {n}", "awk '{print $1}' 10");
}

static void substitute_checks_arguments(void **state)
{
    (void)state;
    const char *names[] = {"n"}, *values[] = {"1"}, *none[] = {NULL};
    char *out = (char *)"x";
    assert_int_equal(plumb_command_substitute("{n}", 0, NULL, NULL, &out),
                     0);
    assert_string_equal(out, "{n}");
    free(out);
    assert_int_equal(plumb_command_substitute(NULL, 1, names, values, &out),
                     PLUMB_EINVAL);
    assert_null(out);
    assert_int_equal(plumb_command_substitute("x", 1, NULL, values, &out),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_command_substitute("x", 1, names, none, &out),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_command_substitute("x", 1, names, values, NULL),
                     PLUMB_EINVAL);
}

int test_command_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits_words_on_blanks),
        cmocka_unit_test(quotes_group_and_join_words),
        cmocka_unit_test(double_quotes_escape_only_four_characters),
        cmocka_unit_test(shell_syntax_goes_to_the_shell),
        cmocka_unit_test(quoted_or_inner_syntax_needs_no_shell),
        cmocka_unit_test(always_mode_and_custom_shell),
        cmocka_unit_test(rejects_empty_and_unbalanced),
        cmocka_unit_test(accessors_accept_null),
        cmocka_unit_test(substitute_replaces_known_names),
        cmocka_unit_test(substitute_leaves_other_braces),
        cmocka_unit_test(substitute_checks_arguments),
    };
    return cmocka_run_group_tests_name("command", tests, NULL, NULL);
}
