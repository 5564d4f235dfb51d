/* test_sql_trace.c: reading the tracer's trace (and refusing what is not
 * one), splitting a script into statements, hiding passwords, and the
 * findings an analysis draws from a trace alone (no database: explain off),
 * with the JSON report they give. The index trials on real databases are
 * tested end to end in tests/cli/test_sql.py. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "tests.h"

/* A trace of an N+1 loop (12 calls from line 21, 12 parameter sets), one
 * statement pasted with 3 values from line 30, and a slow one. */
static const char trace_json[] =
    "{\"plumb_sql_trace\": 1, \"pid\": 42, \"python\": \"3.11.2\","
    " \"argv\": [\"app.py\", \"--db\", \"host=h password=hunter2\"],"
    " \"wall_ns\": 1000000000, \"keep_params\": false,"
    " \"connections\": [{\"id\": 1, \"driver\": \"sqlite3\","
    "  \"target\": \":memory:\", \"file\": \"/app.py\", \"line\": 3}],"
    " \"statements\": ["
    "  {\"conn\": 1, \"sql\": \"SELECT name FROM author WHERE id = ?\","
    "   \"file\": \"/app.py\", \"line\": 21, \"func\": \"titles\","
    "   \"many\": false, \"calls\": 12, \"errors\": 0, \"total_ns\": 120000,"
    "   \"min_ns\": 9000, \"max_ns\": 11000, \"rows\": 12,"
    "   \"distinct_params\": 12, \"samples\": [{\"params\": [1]},"
    "   {\"params\": [null, 2.5, \"x\", true, {\"hex\": \"00ff\"}]},"
    "   {\"named\": {\"id\": 3}}]},"
    "  {\"conn\": 1, \"sql\": \"SELECT * FROM t WHERE a = 'x'\","
    "   \"file\": \"/app.py\", \"line\": 30, \"func\": \"f\", \"calls\": 1,"
    "   \"total_ns\": 1000, \"min_ns\": 1000, \"max_ns\": 1000},"
    "  {\"conn\": 1, \"sql\": \"SELECT * FROM t WHERE a = 'y'\","
    "   \"file\": \"/app.py\", \"line\": 30, \"func\": \"f\", \"calls\": 1,"
    "   \"total_ns\": 1000, \"min_ns\": 1000, \"max_ns\": 1000},"
    "  {\"conn\": 1, \"sql\": \"select *   from t where a = 'z' -- c\","
    "   \"file\": \"/app.py\", \"line\": 30, \"func\": \"f\", \"calls\": 1,"
    "   \"total_ns\": 1000, \"min_ns\": 1000, \"max_ns\": 1000},"
    "  {\"conn\": 1, \"sql\": \"SELECT slow()\", \"file\": \"/app.py\","
    "   \"line\": 40, \"func\": \"g\", \"calls\": 2, \"total_ns\": 50000000,"
    "   \"min_ns\": 20000000, \"max_ns\": 30000000}]}";

static plumb_sql_trace_t *read_trace(const char *text)
{
    plumb_sql_trace_t *t = NULL;
    char why[256];
    assert_int_equal(plumb_sql_trace_from_json(text, &t, why, sizeof why), 0);
    assert_non_null(t);
    return t;
}

static void reads_a_trace(void **state)
{
    (void)state;
    plumb_sql_trace_t *t = read_trace(trace_json);
    assert_int_equal(t->pid, 42);
    assert_string_equal(t->command, "app.py --db host=h password=hunter2");
    assert_int_equal(t->timed, 1);
    assert_int_equal(t->n_connections, 1);
    assert_string_equal(t->connections[0].target, ":memory:");
    assert_int_equal(t->n_statements, 5);
    const plumb_sql_statement_t *s = &t->statements[0];
    assert_int_equal(s->calls, 12);
    assert_int_equal(s->distinct_params, 12);
    assert_int_equal(s->n_samples, 3);
    assert_int_equal(s->samples[0].params[0].type, PLUMB_SQL_INTEGER);
    assert_int_equal(s->samples[0].params[0].integer, 1);
    const plumb_sql_value_t *v = s->samples[1].params;
    assert_int_equal(s->samples[1].n_params, 5);
    assert_int_equal(v[0].type, PLUMB_SQL_NULL);
    assert_int_equal(v[1].type, PLUMB_SQL_REAL);
    assert_true(v[1].real == 2.5);
    assert_int_equal(v[2].type, PLUMB_SQL_TEXT);
    assert_memory_equal(v[2].bytes, "x", 1);
    assert_int_equal(v[3].type, PLUMB_SQL_INTEGER);
    assert_int_equal(v[3].integer, 1);
    assert_int_equal(v[4].type, PLUMB_SQL_BLOB);
    assert_int_equal(v[4].len, 2);
    assert_memory_equal(v[4].bytes, "\x00\xff", 2);
    assert_string_equal(s->samples[2].params[0].name, "id");
    assert_int_equal(s->samples[2].params[0].integer, 3);
    plumb_sql_trace_free(t);
}

static void refuses_what_is_not_a_trace(void **state)
{
    (void)state;
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"", "not JSON"},
        {"[]", "no \"plumb_sql_trace\""},
        {"{\"plumb_sql_trace\": 2}", "version 2"},
        {"{\"plumb_sql_trace\": 1}", "no \"connections\""},
        {"{\"plumb_sql_trace\": 1, \"connections\": [{\"id\": 1}],"
         " \"statements\": []}",
         "\"driver\""},
        {"{\"plumb_sql_trace\": 1, \"connections\": [], \"statements\": "
         "[{\"conn\": 1, \"sql\": \"x\", \"calls\": 1, \"total_ns\": 1,"
         " \"min_ns\": 1, \"max_ns\": 1}]}",
         "connection 1 is not"},
        {"{\"plumb_sql_trace\": 1, \"connections\": [{\"id\": 1, \"driver\":"
         " \"d\", \"target\": \"t\"}], \"statements\": [{\"conn\": 1, \"sql\":"
         " \"x\", \"calls\": 1, \"total_ns\": 1, \"min_ns\": 5, \"max_ns\":"
         " 1}]}",
         "disagree"},
        {"{\"plumb_sql_trace\": 1, \"connections\": [{\"id\": 1, \"driver\":"
         " \"d\", \"target\": \"t\"}], \"statements\": [{\"conn\": 1, \"sql\":"
         " \"x\", \"calls\": 1, \"total_ns\": 1, \"min_ns\": 1, \"max_ns\":"
         " 1, \"samples\": [{\"params\": [{\"hex\": \"0g\"}]}]}]}",
         "hexadecimal"},
        {"{\"plumb_sql_trace\": 1, \"connections\": [{\"id\": 1, \"driver\":"
         " \"d\", \"target\": \"t\"}, {\"id\": 1, \"driver\": \"d\", "
         "\"target\": \"t\"}], \"statements\": []}",
         "appears twice"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        plumb_sql_trace_t *t = (plumb_sql_trace_t *)1;
        char why[256];
        assert_int_equal(plumb_sql_trace_from_json(bad[i].text, &t, why,
                                                   sizeof why),
                         PLUMB_EPARSE);
        assert_null(t);
        if (!strstr(why, bad[i].why))
            fail_msg("%s: '%s' does not say '%s'", bad[i].text, why,
                     bad[i].why);
    }
}

static void splits_a_script(void **state)
{
    (void)state;
    plumb_sql_trace_t *t = NULL;
    const char *script =
        "-- the report page\n"
        "SELECT 'a;b' FROM t;\n"
        "/* two\n lines */ SELECT \"x;y\" FROM u; ;\n"
        "\n"
        "SELECT $$c;d$$, $tag$e;$tag$ FROM v -- trailing; comment\n"
        ";   -- only a comment\n";
    assert_int_equal(plumb_sql_trace_from_script(script, "q.sql", "db.sqlite",
                                                 &t),
                     0);
    assert_int_equal(t->timed, 0);
    assert_int_equal(t->n_statements, 3);
    /* a statement starts after the comments before it */
    assert_string_equal(t->statements[0].sql, "SELECT 'a;b' FROM t");
    assert_string_equal(t->statements[2].sql, "SELECT $$c;d$$, $tag$e;$tag$ "
                                              "FROM v -- trailing; comment");
    assert_int_equal(t->statements[0].line, 2);
    assert_int_equal(t->statements[1].line, 4);
    assert_int_equal(t->statements[2].line, 6);
    assert_string_equal(t->statements[2].file, "q.sql");
    assert_string_equal(t->connections[0].target, "db.sqlite");
    plumb_sql_trace_free(t);
    assert_int_equal(plumb_sql_trace_from_script(" ; -- x\n;", "q.sql", "db",
                                                 &t),
                     PLUMB_EINVAL);
    assert_null(t);
}

static void hides_passwords(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"postgresql://bob:s3cret@db:5432/shop",
         "postgresql://bob:***@db:5432/shop"},
        {"postgres://db/shop", "postgres://db/shop"},
        {"host=db password=s3cret user=bob", "host=db password=*** user=bob"},
        {"password='a \\' b' user=x password=y", "password=*** user=x "
                                                 "password=***"},
        {"app.py 'host=h password=pw'", "app.py 'host=h password=***'"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        char *r = plumb_sql_redact(cases[i][0]);
        assert_non_null(r);
        assert_string_equal(r, cases[i][1]);
        free(r);
    }
}

static const plumb_sql_finding_t *finding(const plumb_sql_analysis_t *a,
                                          plumb_sql_finding_kind_t k)
{
    for (size_t i = 0; i < a->n_findings; i++)
        if (a->findings[i].kind == k)
            return &a->findings[i];
    return NULL;
}

static void finds_without_a_database(void **state)
{
    (void)state;
    plumb_sql_trace_t *t = read_trace(trace_json);
    plumb_sql_analysis_opts_t o;
    plumb_sql_analysis_opts_init(&o);
    o.explain = 0;
    plumb_sql_analysis_t *a = NULL;
    assert_int_equal(plumb_sql_analyze(t, &o, &a), 0);
    assert_int_equal(a->queries, 17);
    assert_int_equal(a->query_ns, 120000 + 3000 + 50000000);
    /* the three pasted texts are one statement */
    assert_int_equal(a->n_groups, 3);
    assert_int_equal(a->groups[0].total_ns, 50000000); /* by total time */
    const plumb_sql_finding_t *n1 =
        finding(a, PLUMB_SQL_FINDING_N_PLUS_ONE);
    assert_non_null(n1);
    assert_int_equal(n1->line, 21);
    assert_int_equal(n1->calls, 12);
    assert_int_equal(n1->distinct, 12);
    assert_non_null(strstr(n1->detail, "(?, ?, ...)"));
    const plumb_sql_finding_t *lit = finding(a, PLUMB_SQL_FINDING_LITERALS);
    assert_non_null(lit);
    assert_int_equal(lit->distinct, 3);
    assert_int_equal(lit->line, 30);
    assert_int_equal(a->groups[lit->group].n_texts, 3);
    const plumb_sql_finding_t *slow = finding(a, PLUMB_SQL_FINDING_SLOW);
    assert_non_null(slow);
    assert_int_equal(slow->line, 40);
    assert_int_equal(slow->cost_ns, 50000000);
    assert_false(plumb_sql_analysis_has(a, PLUMB_SQL_FINDING_SCAN));
    /* the most costly first */
    assert_ptr_equal(&a->findings[0], slow);
    assert_int_equal(a->n_advice, 0);

    char *json = NULL, *text = NULL;
    assert_int_equal(plumb_report_sql_json(t, a, &json), 0);
    json_error_t error;
    json_t *doc = json_loads(json, 0, &error);
    assert_non_null(doc);
    assert_string_equal(json_string_value(json_object_get(doc, "kind")),
                        "sql");
    assert_int_equal(json_array_size(json_object_get(doc, "findings")), 3);
    assert_null(strstr(json, "hunter2"));
    assert_null(strstr(json, "'x'")); /* values stay out */
    assert_int_equal(plumb_report_sql(t, a, NULL, 10, &text), 0);
    assert_non_null(strstr(text, "N+1 queries"));
    assert_non_null(strstr(text, "app.py:21 in titles"));
    assert_null(strstr(text, "hunter2"));
    json_decref(doc);
    free(json);
    free(text);
    plumb_sql_analysis_free(a);

    /* a higher bar: no N+1, and nothing slow */
    o.n_plus_one_calls = 13;
    o.slow_ms = 1000;
    assert_int_equal(plumb_sql_analyze(t, &o, &a), 0);
    assert_false(plumb_sql_analysis_has(a, PLUMB_SQL_FINDING_N_PLUS_ONE));
    assert_false(plumb_sql_analysis_has(a, PLUMB_SQL_FINDING_SLOW));
    assert_true(plumb_sql_analysis_has(a, PLUMB_SQL_FINDING_LITERALS));
    plumb_sql_analysis_free(a);
    plumb_sql_trace_free(t);
}

static void names_the_kinds(void **state)
{
    (void)state;
    assert_string_equal(plumb_sql_finding_key(PLUMB_SQL_FINDING_N_PLUS_ONE),
                        "n+1");
    assert_int_equal(plumb_sql_finding_find("scan"), PLUMB_SQL_FINDING_SCAN);
    assert_int_equal(plumb_sql_finding_find("scans"), -1);
    assert_int_equal(plumb_sql_finding_find(NULL), -1);
}

int test_sql_trace_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_a_trace),
        cmocka_unit_test(refuses_what_is_not_a_trace),
        cmocka_unit_test(splits_a_script),
        cmocka_unit_test(hides_passwords),
        cmocka_unit_test(finds_without_a_database),
        cmocka_unit_test(names_the_kinds),
    };
    return cmocka_run_group_tests_name("sql_trace", tests, NULL, NULL);
}
