/* test_sql.c: the text of SQL statements (src/sql.c). Fingerprints are
 * pinned byte for byte on tricky SQL (quotes inside strings and names,
 * comments where they should not be, casts, every placeholder style, every
 * number form), statements of one shape must share text and id and
 * statements of different shapes must not; the id is checked against an
 * FNV-1a written here. Accesses, index candidates and batched forms are
 * written out as text and compared with what was worked out by hand. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql.h"
#include "tests.h"

/* ---- helpers ------------------------------------------------------------ */

static char *fingerprint_text(const char *sql)
{
    plumb_sql_fingerprint_t fp;
    assert_int_equal(plumb_sql_fingerprint(sql, &fp), 0);
    assert_non_null(fp.text);
    return fp.text;
}

static void assert_fp(const char *sql, const char *expected)
{
    char *text = fingerprint_text(sql);
    if (strcmp(text, expected) != 0)
        print_error("sql:      %s\nexpected: %s\ngot:      %s\n", sql, expected,
                    text);
    assert_string_equal(text, expected);
    free(text);
}

static void assert_counts(const char *sql, unsigned literals,
                          unsigned placeholders)
{
    plumb_sql_fingerprint_t fp;
    assert_int_equal(plumb_sql_fingerprint(sql, &fp), 0);
    assert_int_equal(fp.n_literals, literals);
    assert_int_equal(fp.n_placeholders, placeholders);
    plumb_sql_fingerprint_close(&fp);
}

static void assert_same_shape(const char *a, const char *b)
{
    plumb_sql_fingerprint_t fa, fb;
    assert_int_equal(plumb_sql_fingerprint(a, &fa), 0);
    assert_int_equal(plumb_sql_fingerprint(b, &fb), 0);
    if (strcmp(fa.text, fb.text) != 0)
        print_error("%s\n  -> %s\n%s\n  -> %s\n", a, fa.text, b, fb.text);
    assert_string_equal(fa.text, fb.text);
    assert_true(fa.id == fb.id);
    plumb_sql_fingerprint_close(&fa);
    plumb_sql_fingerprint_close(&fb);
}

static void assert_other_shape(const char *a, const char *b)
{
    plumb_sql_fingerprint_t fa, fb;
    assert_int_equal(plumb_sql_fingerprint(a, &fa), 0);
    assert_int_equal(plumb_sql_fingerprint(b, &fb), 0);
    if (strcmp(fa.text, fb.text) == 0)
        print_error("same shape: %s\n        and %s\n", a, b);
    assert_string_not_equal(fa.text, fb.text);
    assert_true(fa.id != fb.id);
    plumb_sql_fingerprint_close(&fa);
    plumb_sql_fingerprint_close(&fb);
}

static plumb_sql_kind_t kind_of(const char *sql)
{
    plumb_sql_fingerprint_t fp;
    assert_int_equal(plumb_sql_fingerprint(sql, &fp), 0);
    plumb_sql_kind_t kind = fp.kind;
    plumb_sql_fingerprint_close(&fp);
    return kind;
}

static void append(char *buf, size_t size, const char *s)
{
    size_t len = strlen(buf);
    assert_true(len + strlen(s) < size);
    memcpy(buf + len, s, strlen(s) + 1);
}

static void append_list(char *buf, size_t size, const char *label, char **v,
                        size_t n)
{
    append(buf, size, label);
    append(buf, size, "(");
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            append(buf, size, ",");
        append(buf, size, v[i]);
    }
    append(buf, size, ")");
}

/* "table eq(a,b) range(c) order(d); table2 ..." or "" when none. */
static void accesses_text(const char *sql, char *buf, size_t size)
{
    plumb_sql_access_t *a = NULL;
    size_t n = 99;
    buf[0] = '\0';
    assert_int_equal(plumb_sql_accesses(sql, &a, &n), 0);
    assert_true(n == 0 || a != NULL);
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            append(buf, size, "; ");
        append(buf, size, a[i].table);
        append_list(buf, size, " eq", a[i].eq, a[i].n_eq);
        append_list(buf, size, " range", a[i].range, a[i].n_range);
        append_list(buf, size, " order", a[i].order, a[i].n_order);
    }
    plumb_sql_accesses_free(a, n);
}

static void assert_accesses(const char *sql, const char *expected)
{
    char buf[2048];
    accesses_text(sql, buf, sizeof buf);
    if (strcmp(buf, expected) != 0)
        print_error("sql:      %s\nexpected: %s\ngot:      %s\n", sql, expected,
                    buf);
    assert_string_equal(buf, expected);
}

/* The candidates' CREATE INDEX statements, one per line. */
static void candidates_text(const plumb_sql_access_t *a, size_t n_access,
                            char *buf, size_t size)
{
    plumb_sql_index_t *ix = NULL;
    size_t n = 99;
    buf[0] = '\0';
    assert_int_equal(plumb_sql_index_candidates(a, n_access, &ix, &n), 0);
    assert_true(n == 0 || ix != NULL);
    for (size_t i = 0; i < n; i++) {
        append(buf, size, ix[i].create_sql);
        append(buf, size, "\n");
    }
    plumb_sql_index_free(ix, n);
}

static void assert_candidates(const char *sql, const char *expected)
{
    plumb_sql_access_t *a = NULL;
    size_t n = 0;
    char buf[4096];
    assert_int_equal(plumb_sql_accesses(sql, &a, &n), 0);
    candidates_text(a, n, buf, sizeof buf);
    if (strcmp(buf, expected) != 0)
        print_error("sql:      %s\nexpected:\n%sgot:\n%s", sql, expected, buf);
    assert_string_equal(buf, expected);
    plumb_sql_accesses_free(a, n);
}

static void assert_batched(const char *sql, const char *expected)
{
    char *out = NULL;
    int err = plumb_sql_batched(sql, &out);
    if (err || strcmp(out, expected) != 0)
        print_error("sql:      %s\nexpected: %s\ngot:      %s\n", sql, expected,
                    err ? plumb_errname(err) : out);
    assert_int_equal(err, 0);
    assert_string_equal(out, expected);
    free(out);
}

static void assert_not_batched(const char *sql)
{
    char *out = (char *)"untouched";
    int err = plumb_sql_batched(sql, &out);
    if (err != PLUMB_ENOTFOUND)
        print_error("sql: %s\ngot: %s\n", sql, err ? plumb_errname(err) : out);
    assert_int_equal(err, PLUMB_ENOTFOUND);
    assert_null(out);
}

/* ---- fingerprints: folding ---------------------------------------------- */

static void fingerprint_folds_space_case_and_comments(void **state)
{
    (void)state;
    const char *expected = "select a, b from t where a = ? and b > ?";
    assert_fp("SELECT a, b FROM t WHERE a = 1 AND b > 2", expected);
    assert_fp("select a,b from t where a=1 and b>2", expected);
    assert_fp("  SeLeCt\ta ,\n b\r\nFROM   T\fWHERE a= 1\vAND b >2  ",
              expected);
    assert_fp("SELECT /* the columns */ a, -- first\n b FROM t WHERE a = 1 AND "
              "b > 2 -- end",
              expected);
    assert_fp(
        "SELECT/**/a,/**/b/**/FROM/**/t/**/WHERE/**/a/**/=/**/1/**/AND b>2",
        expected);
    assert_fp("SELECT a, b FROM t WHERE a = 1 AND b > 2;", expected);
    assert_fp("SELECT a, b FROM t WHERE a = 1 AND b > 2 ; ;", expected);
}

static void fingerprint_spacing_rule(void **state)
{
    (void)state;
    /* none after "(", before ")" and ",", around "." and "::"; calls and
     * t(a, b) keep "(" on their name, keywords do not */
    assert_fp("SELECT count( * ), max ( t . x ) FROM t",
              "select count(*), max(t.x) from t");
    assert_fp("SELECT x :: int FROM t", "select x::int from t");
    assert_fp("INSERT INTO t ( a , b ) VALUES ( 1 , 2 )",
              "insert into t(a, b) values (?, ?)");
    assert_fp("SELECT 1 WHERE EXISTS(SELECT 1) AND x IN(1)",
              "select ? where exists (select ?) and x in (?)");
    assert_fp("SELECT \"f\" (x) FROM t", "select \"f\"(x) from t");
    assert_fp("SELECT a||b, a->>'k', a @> b, a<>b, a!=b FROM t",
              "select a || b, a ->> ?, a @> b, a <> b, a != b from t");
}

static void fingerprint_strings_hide_what_they_hold(void **state)
{
    (void)state;
    assert_fp("SELECT * FROM t WHERE a = 'it''s' AND b = 'x'",
              "select * from t where a = ? and b = ?");
    assert_fp("SELECT * FROM t WHERE a = '-- not a comment' AND b = 1",
              "select * from t where a = ? and b = ?");
    assert_fp("SELECT * FROM t WHERE a = '/* nor this */' AND b = 1",
              "select * from t where a = ? and b = ?");
    assert_fp(
        "SELECT * FROM t WHERE a = 'a \"quoted\" ? :name $1 %s' AND b = ''",
        "select * from t where a = ? and b = ?");
    assert_fp("SELECT '''' , ''''''", "select ?, ?");
    assert_counts("SELECT * FROM t WHERE a = 'it''s' AND b = '-- x' AND c = ''",
                  3, 0);
    /* E'..' ends at a quote that no backslash escapes */
    assert_fp("SELECT E'it\\'s', e'a\\\\' FROM t WHERE x = E'\\'' AND y = 1",
              "select ?, ? from t where x = ? and y = ?");
    assert_counts(
        "SELECT E'it\\'s', e'a\\\\' FROM t WHERE x = E'\\'' AND y = 1", 4, 0);
    /* plain strings know no backslash: 'a\' is a whole string */
    assert_fp("SELECT 'a\\' FROM t", "select ? from t");
    /* blobs, bit strings, national strings */
    assert_fp("SELECT X'00ff', x'AB', B'0101', N'ünï' FROM t",
              "select ?, ?, ?, ? from t");
    assert_counts("SELECT X'00ff', x'AB', B'0101', N'ünï' FROM t", 4, 0);
    /* a word that merely ends in e, x or n is not a prefix */
    assert_fp("SELECT type'x' FROM t", "select type ? from t");
}

static void fingerprint_dollar_quotes(void **state)
{
    (void)state;
    assert_fp(
        "SELECT $$it's -- here$$, $tag$ a $$ b ' c $tag$, $a$x$b$y$a$ FROM t",
        "select ?, ?, ? from t");
    assert_counts(
        "SELECT $$it's -- here$$, $tag$ a $$ b ' c $tag$, $a$x$b$y$a$ FROM t",
        3, 0);
    /* $1 and $name are placeholders, next to a dollar quote */
    assert_fp("SELECT * FROM t WHERE a = $1 AND b = $$x$$ AND c = $name",
              "select * from t where a = ? and b = ? and c = ?");
    assert_counts("SELECT * FROM t WHERE a = $1 AND b = $$x$$ AND c = $name", 1,
                  2);
    assert_fp("SELECT $$ unterminated", "select ?");
    assert_fp("SELECT $t$ $T$ unterminated, tags are case-sensitive",
              "select ?");
}

static void fingerprint_quoted_identifiers_kept(void **state)
{
    (void)state;
    assert_fp("SELECT \"Order Id\", \"a\"\"b\", `x y`, `a``b`, [my col], "
              "[a]]b] FROM \"My Table\"",
              "select \"Order Id\", \"a\"\"b\", `x y`, `a``b`, [my col], "
              "[a]]b] from \"My Table\"");
    /* quoted names are never lower-cased, unquoted ones always */
    assert_fp("SELECT \"MixedCase\", MixedCase FROM T",
              "select \"MixedCase\", mixedcase from t");
    assert_other_shape("SELECT \"A\" FROM t", "SELECT a FROM t");
    /* a quoted name is no keyword and no value */
    assert_fp("SELECT \"select\", \"1\" FROM \"from\"",
              "select \"select\", \"1\" from \"from\"");
    assert_counts("SELECT \"select\", \"1\" FROM \"from\"", 0, 0);
    /* -- and ' inside quoted names */
    assert_fp("SELECT \"a -- b\", \"it's\" FROM t WHERE x = 1",
              "select \"a -- b\", \"it's\" from t where x = ?");
    /* [ quotes a name where a name starts, else it is a subscript */
    assert_fp("SELECT arr[1], [col], t.[c], f(x)[2] FROM [t] WHERE [x y] = 1",
              "select arr[?], [col], t.[c], f(x)[?] from [t] where [x y] = ?");
}

static void fingerprint_comments_in_odd_places(void **state)
{
    (void)state;
    assert_fp("SELECT a--comment without newline", "select a");
    assert_fp("SELECT a/*unterminated", "select a");
    assert_fp("SELECT a FROM t WHERE b = -/* sign */1",
              "select a from t where b = ?");
    assert_fp("SELECT a FROM t WHERE b = 1--1\n AND c = 2",
              "select a from t where b = ? and c = ?");
    assert_fp("/* leading */ -- line\n SELECT a FROM t", "select a from t");
    assert_fp("SELECT a/* /* not nested */ FROM t", "select a from t");
    assert_fp("SELECT 1-/**/-1", "select ? - ?");
    assert_fp("SELECT a FROM t WHERE x = '/*' AND y = '*/'",
              "select a from t where x = ? and y = ?");
    assert_fp("SELECT a /* 'quote */ FROM t", "select a from t");
}

static void fingerprint_numbers(void **state)
{
    (void)state;
    assert_fp("SELECT 1, 1.5, .5, 1., 1e10, 1.5E-3, 2e+7, 0x1F, 0XAB FROM t",
              "select ?, ?, ?, ?, ?, ?, ?, ?, ? from t");
    assert_counts(
        "SELECT 1, 1.5, .5, 1., 1e10, 1.5E-3, 2e+7, 0x1F, 0XAB FROM t", 9, 0);
    /* a sign after an operator, a keyword, "(" or "," is the number's */
    assert_fp(
        "SELECT -1, (-2), f(+3), x*-4 FROM t WHERE a = -5 AND b IN (-6, 7) "
        "LIMIT -1",
        "select ?, (?), f(?), x * ? from t where a = ? and b in (?) limit ?");
    assert_same_shape("SELECT * FROM t WHERE a = -1",
                      "SELECT * FROM t WHERE a = 1");
    assert_same_shape("SELECT * FROM t WHERE a = - 1.5e3",
                      "SELECT * FROM t WHERE a = 2");
    /* after a name, a value or ")" it is an operator */
    assert_fp("SELECT a -1, a - 1, a-1, (a)-1, 2-1, x.y -1 FROM t",
              "select a - ?, a - ?, a - ?, (a) - ?, ? - ?, x.y - ? from t");
    assert_other_shape("SELECT a - 1 FROM t", "SELECT a FROM t");
    /* after NULL, TRUE, FALSE and END too: they are values */
    assert_fp("SELECT NULL -1, TRUE + 1, CASE WHEN a THEN 1 END -1 FROM t",
              "select null - ?, true + ?, case when a then ? end - ? from t");
    /* 0x without digits is 0 then a name; 1e without digits is 1 then e */
    assert_fp("SELECT 0x, 1e FROM t", "select ? x, ? e from t");
    /* digits inside names stay names */
    assert_fp("SELECT t1.c2, _3 FROM t1", "select t1.c2, _3 from t1");
    assert_counts("SELECT t1.c2, _3 FROM t1", 0, 0);
}

static void fingerprint_true_false_null_are_keywords(void **state)
{
    (void)state;
    assert_fp("SELECT * FROM t WHERE a = TRUE AND b = False AND c IS NULL",
              "select * from t where a = true and b = false and c is null");
    assert_counts("SELECT * FROM t WHERE a = TRUE AND b = False AND c IS NULL",
                  0, 0);
    assert_other_shape("SELECT * FROM t WHERE a = TRUE",
                       "SELECT * FROM t WHERE a = 1");
    assert_other_shape("SELECT * FROM t WHERE a IS NULL",
                       "SELECT * FROM t WHERE a = ?");
}

static void fingerprint_placeholders(void **state)
{
    (void)state;
    const char *sql =
        "SELECT * FROM t WHERE a = ? AND b = ?12 AND c = :name AND d = @v "
        "AND e = $u AND f = $1 AND g = %s AND h = %(key)s AND i = :1";
    assert_fp(
        sql,
        "select * from t where a = ? and b = ? and c = ? and d = ? and e = ? "
        "and f = ? and g = ? and h = ? and i = ?");
    assert_counts(sql, 0, 9);
    /* every paramstyle of one statement is one shape */
    assert_same_shape("SELECT * FROM t WHERE id = ?",
                      "SELECT * FROM t WHERE id = :id");
    assert_same_shape("SELECT * FROM t WHERE id = %s",
                      "SELECT * FROM t WHERE id = %(id)s");
    assert_same_shape("SELECT * FROM t WHERE id = $1",
                      "SELECT * FROM t WHERE id = 42");
    /* %% is pyformat's %: an operator, not a placeholder */
    assert_fp("SELECT a %% 2, b % 3 FROM t WHERE c = %s",
              "select a %% ?, b % ? from t where c = ?");
    assert_counts("SELECT a %% 2, b % 3 FROM t WHERE c = %s", 2, 1);
    /* a % that does not start a placeholder */
    assert_fp("SELECT a %(b) FROM t", "select a % (b) from t");
    assert_fp("SELECT a %sx FROM t", "select a % sx from t");
    /* @> is an operator, @x a placeholder */
    assert_fp("SELECT * FROM t WHERE a @> @x", "select * from t where a @> ?");
}

static void fingerprint_casts_are_not_placeholders(void **state)
{
    (void)state;
    assert_fp(
        "SELECT x::int, '1'::bigint, a::date = :d, b::text::varchar FROM t",
        "select x::int, ?::bigint, a::date = ?, b::text::varchar from t");
    assert_counts(
        "SELECT x::int, '1'::bigint, a::date = :d, b::text::varchar FROM t", 1,
        1);
    assert_fp("SELECT CAST(x AS int), CAST(? AS DOUBLE PRECISION) FROM t",
              "select cast(x as int), cast(? as double precision) from t");
    assert_other_shape("SELECT x::int FROM t", "SELECT x FROM t");
    assert_other_shape("SELECT x::int FROM t", "SELECT x::text FROM t");
    /* nested arrays are no names, and fold their values */
    assert_fp("SELECT ARRAY[[1, 2], [3, 4]], a[[x] ], a[1][2] FROM t",
              "select array[[?, ?], [?, ?]], a[[x]], a[?][?] from t");
    /* in a subscript, : is PostgreSQL's slice, not a placeholder */
    assert_fp("SELECT a[1:2], b[:3] FROM t WHERE c = :4",
              "select a[? : ?], b[: ?] from t where c = ?");
    assert_counts("SELECT a[1:2], b[:3] FROM t WHERE c = :4", 3, 1);
}

static void fingerprint_in_lists_fold(void **state)
{
    (void)state;
    const char *expected = "select * from t where id in (?)";
    assert_fp("SELECT * FROM t WHERE id IN (1)", expected);
    assert_fp("SELECT * FROM t WHERE id IN (1, 2)", expected);
    assert_fp("SELECT * FROM t WHERE id IN (1,2,3)", expected);
    assert_fp("SELECT * FROM t WHERE id IN (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
              expected);
    assert_fp("SELECT * FROM t WHERE id IN ('a', -2, ?, :x, 0x1, $1, %s)",
              expected);
    assert_fp("SELECT * FROM t WHERE id in(  1 ,2  )", expected);
    assert_counts("SELECT * FROM t WHERE id IN (1, 2, ?)", 2, 1);
    assert_fp("SELECT * FROM t WHERE id NOT IN (1, 2) AND x IN (SELECT y FROM "
              "u WHERE z IN (3, 4))",
              "select * from t where id not in (?) and x in (select y from u "
              "where z in (?))");
    /* a list of names, or of expressions, is not folded */
    assert_fp("SELECT * FROM t WHERE id IN (a, b)",
              "select * from t where id in (a, b)");
    assert_fp("SELECT * FROM t WHERE id IN (1 + 1, 2)",
              "select * from t where id in (? + ?, ?)");
    /* two lists in one statement each fold */
    assert_fp("SELECT * FROM t WHERE a IN (1, 2) OR b IN (3, 4, 5)",
              "select * from t where a in (?) or b in (?)");
    /* a list is not an equality: IN (?) stays apart from = ? */
    assert_other_shape("SELECT * FROM t WHERE id IN (1, 2)",
                       "SELECT * FROM t WHERE id = 1");
}

static void fingerprint_values_rows_fold(void **state)
{
    (void)state;
    const char *expected = "insert into t(a, b) values (?, ?)";
    assert_fp("INSERT INTO t (a, b) VALUES (1, 'x')", expected);
    assert_fp("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y')", expected);
    assert_fp("INSERT INTO t (a, b) VALUES (1, 'x'),(2,'y'),(3, 'z'), (?, ?), "
              "(:a, :b)",
              expected);
    assert_counts("INSERT INTO t (a, b) VALUES (1, 'x'), (2, 'y'), (?, ?)", 4,
                  2);
    /* rows of the same written shape fold, NULL and calls included */
    assert_fp(
        "INSERT INTO t VALUES (1, NULL, lower('A')), (2, NULL, lower('B'))",
        "insert into t values (?, null, lower(?))");
    /* rows of other shapes stay */
    assert_fp("INSERT INTO t VALUES (1, NULL), (2, 3)",
              "insert into t values (?, null), (?, ?)");
    assert_fp("INSERT INTO t VALUES (1, NULL), (2, 3), (4, 5)",
              "insert into t values (?, null), (?, ?)");
    assert_fp("INSERT INTO t VALUES (1, 2) ON CONFLICT (a) DO UPDATE SET b = 3",
              "insert into t values (?, ?) on conflict(a) do update set b = ?");
    /* a tuple list that is not after VALUES stays */
    assert_fp("SELECT * FROM t WHERE (a, b) = (1, 2) OR (a, b) = (3, 4)",
              "select * from t where (a, b) = (?, ?) or (a, b) = (?, ?)");
}

static void fingerprint_same_and_other_shapes(void **state)
{
    (void)state;
    assert_same_shape(
        "SELECT title FROM book WHERE author_id = 7",
        "select title\n  from book\n where author_id = 12345 -- by id");
    assert_same_shape("SELECT * FROM t WHERE name = 'O''Brien'",
                      "SELECT * FROM t WHERE name = $$O'Brien$$");
    assert_same_shape("UPDATE t SET a = 1, b = 'x' WHERE id = 3",
                      "update t set a = ?, b = ? where id = ?");
    assert_other_shape("SELECT title FROM book WHERE author_id = 7",
                       "SELECT title FROM book WHERE editor_id = 7");
    assert_other_shape("SELECT * FROM t WHERE a = 1",
                       "SELECT * FROM t WHERE a > 1");
    assert_other_shape("SELECT * FROM t WHERE a = 1",
                       "SELECT * FROM t WHERE a = 1 AND b = 2");
    assert_other_shape("SELECT * FROM t WHERE a = 1",
                       "SELECT * FROM u WHERE a = 1");
    assert_other_shape("SELECT a FROM t", "SELECT \"a\" FROM t");
    assert_other_shape("SELECT * FROM t ORDER BY a",
                       "SELECT * FROM t ORDER BY a DESC");
}

static void fingerprint_kind(void **state)
{
    (void)state;
    assert_int_equal(kind_of("SELECT 1"), PLUMB_SQL_SELECT);
    assert_int_equal(kind_of("  -- note\n /* x */ select 1"), PLUMB_SQL_SELECT);
    assert_int_equal(kind_of("(SELECT 1) UNION (SELECT 2)"), PLUMB_SQL_SELECT);
    assert_int_equal(kind_of("VALUES (1), (2)"), PLUMB_SQL_SELECT);
    assert_int_equal(kind_of("INSERT INTO t VALUES (1)"), PLUMB_SQL_INSERT);
    assert_int_equal(kind_of("REPLACE INTO t VALUES (1)"), PLUMB_SQL_INSERT);
    assert_int_equal(kind_of("update t set a = 1"), PLUMB_SQL_UPDATE);
    assert_int_equal(kind_of("DELETE FROM t"), PLUMB_SQL_DELETE);
    assert_int_equal(kind_of("CREATE TABLE t (a int)"), PLUMB_SQL_OTHER);
    assert_int_equal(kind_of("PRAGMA journal_mode"), PLUMB_SQL_OTHER);
    assert_int_equal(kind_of(""), PLUMB_SQL_OTHER);
    assert_int_equal(kind_of("'just a string'"), PLUMB_SQL_OTHER);
    /* WITH looks past the CTEs, whose bodies are in parentheses */
    assert_int_equal(kind_of("WITH x AS (SELECT 1) SELECT * FROM x"),
                     PLUMB_SQL_SELECT);
    assert_int_equal(kind_of("WITH x AS (SELECT id FROM t), y AS (SELECT 2) "
                             "DELETE FROM u WHERE id IN (SELECT id FROM x)"),
                     PLUMB_SQL_DELETE);
    assert_int_equal(
        kind_of(
            "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) "
            "INSERT INTO t SELECT n FROM r"),
        PLUMB_SQL_INSERT);
    assert_int_equal(
        kind_of(
            "with x as (update t set a = 1 returning *) update u set b = 2"),
        PLUMB_SQL_UPDATE);
    assert_int_equal(kind_of("WITH x AS (SELECT 1)"), PLUMB_SQL_OTHER);
    assert_string_equal(plumb_sql_kind_name(PLUMB_SQL_SELECT), "select");
    assert_string_equal(plumb_sql_kind_name(PLUMB_SQL_INSERT), "insert");
    assert_string_equal(plumb_sql_kind_name(PLUMB_SQL_UPDATE), "update");
    assert_string_equal(plumb_sql_kind_name(PLUMB_SQL_DELETE), "delete");
    assert_string_equal(plumb_sql_kind_name(PLUMB_SQL_OTHER), "other");
    assert_string_equal(plumb_sql_kind_name((plumb_sql_kind_t)99), "?");
}

/* FNV-1a, 64 bits, written again from its definition. */
static uint64_t reference_fnv1a(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3u;
    }
    return h;
}

static void fingerprint_id_is_fnv1a_of_text(void **state)
{
    (void)state;
    plumb_sql_fingerprint_t fp;
    assert_int_equal(plumb_sql_fingerprint("", &fp), 0);
    assert_string_equal(fp.text, "");
    assert_true(fp.id == 0xcbf29ce484222325u); /* the offset basis */
    plumb_sql_fingerprint_close(&fp);
    assert_int_equal(plumb_sql_fingerprint("a", &fp), 0);
    assert_true(fp.id == 0xaf63dc4c8601ec8cu); /* FNV-1a("a"), published */
    plumb_sql_fingerprint_close(&fp);
    const char *sqls[] = {"SELECT * FROM t WHERE a = 1",
                          "insert into \"T\" values (1)",
                          "UPDATE t SET x = 'é' WHERE y = 2"};
    for (size_t i = 0; i < sizeof sqls / sizeof *sqls; i++) {
        assert_int_equal(plumb_sql_fingerprint(sqls[i], &fp), 0);
        assert_true(fp.id == reference_fnv1a(fp.text));
        plumb_sql_fingerprint_close(&fp);
    }
}

static void fingerprint_unterminated_and_odd_bytes(void **state)
{
    (void)state;
    assert_fp("SELECT 'unterminated", "select ?");
    assert_fp("SELECT E'ends in a backslash\\", "select ?");
    assert_fp("SELECT \"unterminated", "select \"unterminated");
    assert_fp("SELECT `unterminated", "select `unterminated");
    assert_fp("SELECT [unterminated", "select [unterminated");
    assert_fp("SELECT x'0", "select ?");
    assert_fp("SELECT %(name", "select % (name");
    assert_fp("SELECT :", "select :");
    assert_fp("SELECT $", "select $");
    assert_fp("SELECT ?", "select ?");
    assert_fp(")))((( IN (", "))) (((in (");
    assert_fp("SELECT \x01\x7f \xff\xfe", "select \x01 \x7f \xff\xfe");
    assert_fp("   ", "");
    assert_fp(";", "");
    assert_fp("-- only a comment", "");
    plumb_sql_fingerprint_t fp;
    assert_int_equal(plumb_sql_fingerprint("SELECT 'x", &fp), 0);
    assert_int_equal(fp.n_literals, 1);
    plumb_sql_fingerprint_close(&fp);
}

/* The text is a fixed point: its tokens, written by the rule, read back as
 * the same tokens. Adjacent colons and a [name] before "]" were found by
 * the fuzzer to read back as other tokens when written together. */
static void fingerprint_of_a_fingerprint_is_itself(void **state)
{
    (void)state;
    const char *sqls[] = {
        "SELECT a:::b, c ::: d, x:: ::y, e : :: f, g::: :h",
        "S, ,arr[0:2], [col] ] c](tnoe], [col] ] c(tnoe:*) FR'00ff')*) > 1",
        "SELECT a[[x] ], [y] ]",
        "SELECT \"a\"\"b\", `c`, [d]]e], x.y, f(g), t.*, -1, - -1, 1 - -1, a/ "
        "*b, c- -d",
        "SELECT $$a$$, $t$b$t$, E'\\'', x'01', 0x1f, 1e5, .5, :n, @n, $n, $1, "
        "%s, %(n)s",
        "insert into t values (1, 2), (3, 4), (5, NULL), (6, NULL)",
        "SELECT * FROM t WHERE id IN (1, 2) AND x IN (SELECT y FROM u) ;; ",
        "SELECT \"unterminated ; -- ",
    };
    for (size_t i = 0; i < sizeof sqls / sizeof *sqls; i++) {
        char *once = fingerprint_text(sqls[i]);
        assert_fp(once, once);
        free(once);
    }
}

static void fingerprint_arguments(void **state)
{
    (void)state;
    plumb_sql_fingerprint_t fp;
    assert_int_equal(plumb_sql_fingerprint(NULL, &fp), PLUMB_EINVAL);
    assert_int_equal(plumb_sql_fingerprint("SELECT 1", NULL), PLUMB_EINVAL);
    plumb_sql_fingerprint_close(NULL);
    assert_int_equal(plumb_sql_fingerprint("SELECT 1", &fp), 0);
    plumb_sql_fingerprint_close(&fp);
    assert_null(fp.text);
    plumb_sql_fingerprint_close(&fp); /* twice is harmless */
}

/* A long statement: 10 000 rows and a 10 000-long IN list fold. */
static void fingerprint_long_lists(void **state)
{
    (void)state;
    size_t rows = 10000, size = rows * 16 + 64;
    char *sql = malloc(size);
    assert_non_null(sql);
    strcpy(sql, "INSERT INTO t VALUES ");
    size_t at = strlen(sql);
    for (size_t i = 0; i < rows; i++)
        at += (size_t)snprintf(sql + at, size - at, "%s(%zu, 'r')",
                               i ? ", " : "", i);
    assert_fp(sql, "insert into t values (?, ?)");
    assert_counts(sql, 20000, 0);
    strcpy(sql, "SELECT * FROM t WHERE id IN (");
    at = strlen(sql);
    for (size_t i = 0; i < rows; i++)
        at += (size_t)snprintf(sql + at, size - at, "%s%zu", i ? ", " : "", i);
    strcpy(sql + at, ")");
    assert_fp(sql, "select * from t where id in (?)");
    free(sql);
}

/* ---- accesses ----------------------------------------------------------- */

static void accesses_single_table(void **state)
{
    (void)state;
    assert_accesses("SELECT title FROM book WHERE author_id = ?",
                    "book eq(author_id) range() order()");
    assert_accesses("SELECT * FROM t WHERE a = 1 AND b > 2 AND c <= ? AND d = "
                    ":d ORDER BY e",
                    "t eq(a,d) range(b,c) order(e)");
    assert_accesses("SELECT * FROM t", "t eq() range() order()");
    assert_accesses("SELECT * FROM Book AS B WHERE B.Author_Id = 1 AND b.x = 2",
                    "book eq(author_id,x) range() order()");
    /* value = column reads as column = value, < as > */
    assert_accesses("SELECT * FROM t WHERE 1 = a AND ? < b",
                    "t eq(a) range(b) order()");
    /* a column both compared by equality and by range is an equality */
    assert_accesses("SELECT * FROM t WHERE a = 1 AND a > 0 AND b > 1 AND b < 5",
                    "t eq(a) range(b) order()");
    /* schema-qualified tables are named by their table */
    assert_accesses(
        "SELECT * FROM main.t WHERE main.t.a = 1 AND t.b = 2 AND c = 3",
        "t eq(a,b,c) range() order()");
}

static void accesses_operators(void **state)
{
    (void)state;
    assert_accesses(
        "SELECT * FROM t WHERE a IN (1, 2, 3) AND b IN (?) AND c IN %s",
        "t eq(a,b,c) range() order()");
    assert_accesses(
        "SELECT * FROM t WHERE a BETWEEN 1 AND 5 AND b NOT BETWEEN 1 AND 2",
        "t eq() range(a) order()");
    assert_accesses(
        "SELECT * FROM t WHERE a LIKE 'abc%' AND b LIKE '%abc' AND c LIKE ? "
        "AND d NOT LIKE 'x%' AND e ILIKE 'x%' AND f LIKE '_x' AND g GLOB 'ab*'",
        "t eq() range(a,g) order()");
    assert_accesses(
        "SELECT * FROM t WHERE a LIKE E'x%' AND b LIKE $$y%$$ AND c LIKE '''%'",
        "t eq() range(a,b,c) order()");
    assert_accesses(
        "SELECT * FROM t WHERE a IS NULL AND b IS NOT NULL AND c IS ? "
        "AND d IS NOT DISTINCT FROM ? AND e IS DISTINCT FROM ?",
        "t eq(a,c,d) range() order()");
    assert_accesses("SELECT * FROM t WHERE a <> 1 AND b != 2 AND c NOT IN (1, "
                    "2) AND NOT d = 3",
                    "t eq() range() order()");
    assert_accesses(
        "SELECT * FROM t WHERE a ISNULL AND b NOTNULL AND c NOT NULL",
        "t eq(a) range() order()");
    assert_accesses(
        "SELECT * FROM t WHERE a = ANY(%s) AND b = (SELECT max(x) FROM u)",
        "t eq(a,b) range() order(); u eq() range() order()");
    assert_accesses(
        "SELECT * FROM t WHERE a = ANY(ARRAY[1, 2]) AND b = ANY(ARRAY[c, 2]) "
        "AND d = ANY(ARRAY[]::int[]) AND e = ANY(ARRAY[[1], [2]])",
        "t eq(a,d,e) range() order()");
}

static void accesses_what_an_index_does_not_serve(void **state)
{
    (void)state;
    /* functions, arithmetic, casts and collations of the column */
    assert_accesses(
        "SELECT * FROM t WHERE lower(a) = ? AND b + 1 = 2 AND c::int = 3 "
        "AND CAST(d AS int) = 4 AND e COLLATE nocase = 'x' AND -f = 1",
        "t eq() range() order()");
    /* values may be any expression of values */
    assert_accesses(
        "SELECT * FROM t WHERE a = ? + 1 AND b = lower(?) AND c > now() - "
        "INTERVAL '1 day' AND d = CAST(? AS int) AND e = ?::int AND f = "
        "CASE WHEN ? THEN 1 ELSE 2 END AND g = DATE '2024-01-01'",
        "t eq(a,b,d,e,f,g) range(c) order()");
    /* PostgreSQL's types and time zones */
    assert_accesses("SELECT * FROM t WHERE a = ?::timestamp(3) with time zone "
                    "AND b > ?::character varying(20)::text[] AND c = ? AT "
                    "TIME ZONE 'UTC' AND d AT TIME ZONE 'UTC' = ?",
                    "t eq(a,c) range(b) order()");
    /* two columns of one table */
    assert_accesses("SELECT * FROM t WHERE a = b AND c < d",
                    "t eq() range() order()");
}

static void accesses_or_parentheses_not(void **state)
{
    (void)state;
    assert_accesses("SELECT * FROM t WHERE a = 1 OR a = 2",
                    "t eq(a) range() order()");
    assert_accesses("SELECT * FROM t WHERE a = 1 OR b = 2",
                    "t eq() range() order()");
    assert_accesses("SELECT * FROM t WHERE a = 1 OR a > 5",
                    "t eq() range(a) order()");
    assert_accesses("SELECT * FROM t WHERE c = 3 AND (a = 1 OR b = 2)",
                    "t eq(c) range() order()");
    assert_accesses(
        "SELECT * FROM t WHERE (a = 1 AND b = 2) OR (a = 3 AND c = 4)",
        "t eq(a) range() order()");
    /* AND binds tighter than OR */
    assert_accesses("SELECT * FROM t WHERE a = 1 OR a = 2 AND b = 3",
                    "t eq(a) range() order()");
    assert_accesses("SELECT * FROM t WHERE b = 3 AND a = 1 OR a = 2",
                    "t eq(a) range() order()");
    assert_accesses("SELECT * FROM t WHERE (((a = 1)) AND ((b > 2 OR b < 0)))",
                    "t eq(a) range(b) order()");
    assert_accesses("SELECT * FROM t WHERE NOT (a = 1 AND b = 2) AND c = 3",
                    "t eq(c) range() order()");
    assert_accesses("SELECT * FROM t WHERE NOT NOT a = 1",
                    "t eq() range() order()");
    assert_accesses(
        "SELECT * FROM t WHERE a = 1 OR (a = 2 AND (b = 1 OR a = 3))",
        "t eq(a) range() order()");
    assert_accesses("SELECT * FROM t WHERE EXISTS (SELECT 1 FROM u WHERE "
                    "u.t_id = t.id) OR a = 1",
                    "t eq() range() order(); u eq(t_id) range() order()");
}

static void accesses_joins(void **state)
{
    (void)state;
    assert_accesses(
        "SELECT b.title FROM book b JOIN author a ON a.id = b.author_id "
        "WHERE a.name = ? ORDER BY b.year DESC",
        "book eq(author_id) range() order(year); author eq(id,name) range() "
        "order()");
    assert_accesses("SELECT * FROM orders o LEFT OUTER JOIN items AS i ON "
                    "i.order_id = o.id "
                    "AND i.kind = 'x' INNER JOIN users u ON u.id = o.user_id "
                    "WHERE o.day > ?",
                    "orders eq(id,user_id) range(day) order(); items "
                    "eq(order_id,kind) range() "
                    "order(); users eq(id) range() order()");
    /* unqualified columns go nowhere when there are several tables */
    assert_accesses(
        "SELECT * FROM t1, t2 WHERE t1.a = t2.b AND c = 1 AND t2.d = 2",
        "t1 eq(a) range() order(); t2 eq(b,d) range() order()");
    /* a self-join: one access per table in FROM */
    assert_accesses(
        "SELECT * FROM emp e JOIN emp m ON e.manager_id = m.id WHERE e.dept = "
        "?",
        "emp eq(manager_id,dept) range() order(); emp eq(id) range() order()");
    assert_accesses(
        "SELECT * FROM a JOIN b USING (id, k) CROSS JOIN c NATURAL JOIN d",
        "a eq(id,k) range() order(); b eq(id,k) range() order(); "
        "c eq() range() order(); d eq() range() order()");
    assert_accesses("SELECT * FROM (a JOIN b ON a.x = b.y) JOIN c ON c.z = b.y",
                    "a eq(x) range() order(); b eq(y) range() order(); c eq(z) "
                    "range() order()");
    /* a column of an unknown qualifier is dropped */
    assert_accesses("SELECT * FROM t WHERE nope.a = 1 AND t.b = 2",
                    "t eq(b) range() order()");
    /* the table's own name qualifies when it has no alias */
    assert_accesses("SELECT * FROM t JOIN u ON t.a = u.b",
                    "t eq(a) range() order(); u eq(b) range() order()");
}

static void accesses_canonical_names(void **state)
{
    (void)state;
    assert_accesses(
        "SELECT * FROM \"Order Items\" oi WHERE oi.\"Customer Id\" = 1 AND "
        "\"a\"\"b\" = 2 AND [x y] = 3 AND `q``r` = 4 AND MiXed = 5 AND "
        "\"MiXed\" = 6",
        "Order Items eq(Customer Id,a\"b,x y,q`r,mixed,MiXed) range() order()");
    assert_accesses("SELECT * FROM [dbo].[My Table] AS [m] WHERE [m].[Id] = 1",
                    "My Table eq(Id) range() order()");
    assert_accesses("SELECT * FROM \"T\" WHERE \"T\".a = 1 AND t.b = 2",
                    "T eq(a) range() order()");
}

static void accesses_order_by(void **state)
{
    (void)state;
    assert_accesses(
        "SELECT * FROM t ORDER BY a DESC NULLS FIRST, b ASC, c NULLS LAST",
        "t eq() range() order(a,b,c)");
    /* the leading plain columns of one table */
    assert_accesses("SELECT * FROM t ORDER BY a, lower(b), c",
                    "t eq() range() order(a)");
    assert_accesses("SELECT * FROM t ORDER BY 1, a", "t eq() range() order()");
    assert_accesses("SELECT * FROM t ORDER BY a COLLATE nocase",
                    "t eq() range() order()");
    assert_accesses(
        "SELECT * FROM t JOIN u ON u.id = t.u_id ORDER BY t.a, u.b, t.c",
        "t eq(u_id) range() order(a); u eq(id) range() order()");
    /* a compound's ORDER BY names its result columns */
    assert_accesses("SELECT a FROM t WHERE x = 1 UNION ALL SELECT a FROM u "
                    "WHERE y = 2 ORDER BY a",
                    "t eq(x) range() order(); u eq(y) range() order()");
    assert_accesses(
        "SELECT a, count(*) FROM t WHERE b = ? GROUP BY a HAVING count(*) > 1 "
        "ORDER BY a LIMIT 10 OFFSET 5",
        "t eq(b) range() order(a)");
    assert_accesses(
        "SELECT * FROM t WHERE a = ? ORDER BY b FETCH FIRST 5 ROWS ONLY",
        "t eq(a) range() order(b)");
    assert_accesses(
        "SELECT * FROM t WHERE a = ? LIMIT ?, ? FOR UPDATE SKIP LOCKED",
        "t eq(a) range() order()");
}

static void accesses_subqueries(void **state)
{
    (void)state;
    assert_accesses(
        "SELECT * FROM book WHERE author_id IN (SELECT id FROM author WHERE "
        "name = ?)",
        "book eq(author_id) range() order(); author eq(name) range() order()");
    assert_accesses(
        "SELECT x.n FROM (SELECT n, k FROM t WHERE k > 1) AS x WHERE x.n = 3",
        "t eq() range(k) order()");
    /* the select list's subqueries see FROM */
    assert_accesses(
        "SELECT t.a, (SELECT count(*) FROM c WHERE c.t_id = t.id) AS n FROM t "
        "WHERE t.k > ?",
        "t eq() range(k) order(); c eq(t_id) range() order()");
    assert_accesses(
        "SELECT coalesce((SELECT max(v) FROM u WHERE u.k = 1), 0) FROM t",
        "t eq() range() order(); u eq(k) range() order()");
    /* CTE names are not tables; their bodies are read */
    assert_accesses(
        "WITH recent AS (SELECT * FROM posts WHERE created > ?) "
        "SELECT * FROM recent r JOIN users u ON u.id = r.user_id",
        "posts eq() range(created) order(); users eq(id) range() order()");
    assert_accesses("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 "
                    "FROM r WHERE n < 10) "
                    "SELECT * FROM r",
                    "");
    assert_accesses(
        "SELECT * FROM t WHERE a = (SELECT b FROM u WHERE u.c = t.d) AND e = 1",
        "t eq(a,e) range() order(); u eq(c) range() order()");
    assert_accesses(
        "SELECT * FROM t, LATERAL (SELECT * FROM u WHERE u.x = t.y) s",
        "t eq() range() order(); u eq(x) range() order()");
    assert_accesses("SELECT * FROM generate_series(1, 10) g WHERE g = 3", "");
}

static void accesses_update_delete_insert(void **state)
{
    (void)state;
    assert_accesses(
        "UPDATE t SET a = 1, b = b + 1, (c, d) = (1, 2) WHERE id = ?",
        "t eq(id) range() order()");
    assert_accesses(
        "UPDATE OR IGNORE t AS x SET a = 1 WHERE x.k = ? AND x.m > 2",
        "t eq(k) range(m) order()");
    assert_accesses(
        "UPDATE t SET a = u.v FROM u WHERE u.id = t.u_id RETURNING t.a",
        "t eq(u_id) range() order(); u eq(id) range() order()");
    assert_accesses(
        "UPDATE t SET a = (SELECT max(v) FROM u WHERE u.k = 1) WHERE b = 2",
        "t eq(b) range() order(); u eq(k) range() order()");
    assert_accesses("DELETE FROM sessions WHERE expires < ? AND user_id = ?",
                    "sessions eq(user_id) range(expires) order()");
    assert_accesses("DELETE FROM t USING u WHERE t.a = u.b AND u.c = 1",
                    "t eq(a) range() order(); u eq(b,c) range() order()");
    assert_accesses("DELETE FROM t", "t eq() range() order()");
    assert_accesses("INSERT INTO archive (id, name) SELECT id, name FROM users "
                    "WHERE created < ?",
                    "users eq() range(created) order()");
    assert_accesses(
        "INSERT INTO t SELECT * FROM s WHERE s.k = 1 ON CONFLICT DO NOTHING",
        "s eq(k) range() order()");
    /* INSERT ... VALUES reads no table */
    assert_accesses("INSERT INTO t (a, b) VALUES (1, 2), (3, 4) RETURNING id",
                    "");
    assert_accesses("INSERT INTO t DEFAULT VALUES", "");
    assert_accesses("REPLACE INTO t VALUES (1)", "");
}

static void accesses_unreadable_statements_give_none(void **state)
{
    (void)state;
    const char *unreadable[] = {
        "",
        "CREATE TABLE t (a int)",
        "PRAGMA table_info(t)",
        "SELECT * FROM t WHERE a = 1; SELECT * FROM u WHERE b = 2",
        "SELECT * FROM t WHERE a = 1 garbage here",
        "SELECT * FROM t WHERE (a = 1",
        "SELECT * FROM t WHERE a = 1)",
        "SELECT * FROM WHERE a = 1",
        "SELECT * FROM t WHERE",
        "SELECT * FROM t WHERE a NOT",
        "SELECT * FROM t LEFT a",
        "UPDATE t WHERE a = 1",
        "DELETE t WHERE a = 1",
        "SELECT * FROM t WHERE a IN (SELECT",
        "EXPLAIN SELECT * FROM t",
        "WITH x AS (SELECT 1)",
    };
    for (size_t i = 0; i < sizeof unreadable / sizeof *unreadable; i++) {
        char buf[256];
        accesses_text(unreadable[i], buf, sizeof buf);
        if (buf[0])
            print_error("read: %s\nas: %s\n", unreadable[i], buf);
        assert_string_equal(buf, "");
    }
}

static void accesses_deep_nesting_is_refused_not_a_crash(void **state)
{
    (void)state;
    size_t depth = 100000;
    char *sql = malloc(depth * 2 + 64);
    assert_non_null(sql);
    strcpy(sql, "SELECT * FROM t WHERE ");
    size_t at = strlen(sql);
    memset(sql + at, '(', depth);
    at += depth;
    at += (size_t)sprintf(sql + at, "a = 1");
    memset(sql + at, ')', depth);
    sql[at + depth] = '\0';
    assert_accesses(sql, "");
    /* nesting within the limit is read */
    strcpy(sql, "SELECT * FROM t WHERE ");
    at = strlen(sql);
    memset(sql + at, '(', 30);
    at += 30 + (size_t)sprintf(sql + at + 30, "a = 1");
    memset(sql + at, ')', 30);
    sql[at + 30] = '\0';
    assert_accesses(sql, "t eq(a) range() order()");
    /* and a long run of NOT or of signs */
    strcpy(sql, "SELECT * FROM t WHERE ");
    at = strlen(sql);
    for (size_t i = 0; i < 20000; i++)
        at += (size_t)sprintf(sql + at, "- ");
    strcpy(sql + at, "a = 1");
    assert_accesses(sql, "");
    free(sql);
}

static void accesses_arguments(void **state)
{
    (void)state;
    plumb_sql_access_t *a = NULL;
    size_t n = 0;
    assert_int_equal(plumb_sql_accesses(NULL, &a, &n), PLUMB_EINVAL);
    assert_int_equal(plumb_sql_accesses("SELECT 1", NULL, &n), PLUMB_EINVAL);
    assert_int_equal(plumb_sql_accesses("SELECT 1", &a, NULL), PLUMB_EINVAL);
    n = 5;
    a = (plumb_sql_access_t *)&n;
    assert_int_equal(plumb_sql_accesses("SELECT 1", &a, &n), 0);
    assert_null(a);
    assert_int_equal(n, 0);
    plumb_sql_accesses_free(NULL, 3);
}

/* ---- index candidates --------------------------------------------------- */

static void candidates_equality_range_order(void **state)
{
    (void)state;
    assert_candidates(
        "SELECT * FROM t WHERE a = ? AND b = ? AND c > ? AND d < ? ORDER BY e, "
        "f",
        "CREATE INDEX \"plumb_t_a_b\" ON \"t\" (\"a\", \"b\")\n"
        "CREATE INDEX \"plumb_t_a_b_c\" ON \"t\" (\"a\", \"b\", \"c\")\n"
        "CREATE INDEX \"plumb_t_a_b_d\" ON \"t\" (\"a\", \"b\", \"d\")\n"
        "CREATE INDEX \"plumb_t_a_b_e_f\" ON \"t\" (\"a\", \"b\", \"e\", "
        "\"f\")\n");
    /* no equality: each range alone, the ORDER BY alone */
    assert_candidates("SELECT * FROM t WHERE c > ? ORDER BY e",
                      "CREATE INDEX \"plumb_t_c\" ON \"t\" (\"c\")\n"
                      "CREATE INDEX \"plumb_t_e\" ON \"t\" (\"e\")\n");
    /* ORDER BY a column fixed by equality adds nothing */
    assert_candidates("SELECT * FROM t WHERE a = ? ORDER BY a",
                      "CREATE INDEX \"plumb_t_a\" ON \"t\" (\"a\")\n");
    assert_candidates("SELECT * FROM t WHERE a = ? ORDER BY a, b",
                      "CREATE INDEX \"plumb_t_a\" ON \"t\" (\"a\")\n"
                      "CREATE INDEX \"plumb_t_a_b\" ON \"t\" (\"a\", \"b\")\n");
    /* nothing to index */
    assert_candidates("SELECT * FROM t", "");
    assert_candidates("SELECT * FROM t WHERE lower(a) = ?", "");
    assert_candidates("CREATE TABLE t (a int)", "");
    /* one per table, in the order of the accesses */
    assert_candidates(
        "SELECT b.title FROM book b JOIN author a ON a.id = b.author_id "
        "WHERE a.name = ? ORDER BY b.year",
        "CREATE INDEX \"plumb_book_author_id\" ON \"book\" (\"author_id\")\n"
        "CREATE INDEX \"plumb_book_author_id_year\" ON \"book\" "
        "(\"author_id\", \"year\")\n"
        "CREATE INDEX \"plumb_author_id_name\" ON \"author\" (\"id\", "
        "\"name\")\n");
}

static void candidates_without_duplicates(void **state)
{
    (void)state;
    /* the same index from two accesses (a self-join) is proposed once */
    assert_candidates("SELECT * FROM t x JOIN t y ON x.a = y.a",
                      "CREATE INDEX \"plumb_t_a\" ON \"t\" (\"a\")\n");
    /* built by hand: repeated columns, a range that is an equality, an
     * ORDER BY equal to the range candidate */
    char *eq[] = {(char *)"a", (char *)"a"};
    char *range[] = {(char *)"a", (char *)"b", (char *)"b"};
    char *order[] = {(char *)"b"};
    plumb_sql_access_t a[] = {
        {(char *)"t", eq, 2, range, 3, order, 1},
        {(char *)"t", eq, 1, NULL, 0, NULL, 0},
        {NULL, eq, 1, NULL, 0, NULL, 0}, /* no table: nothing */
    };
    char buf[1024];
    candidates_text(a, 3, buf, sizeof buf);
    assert_string_equal(
        buf, "CREATE INDEX \"plumb_t_a\" ON \"t\" (\"a\")\n"
             "CREATE INDEX \"plumb_t_a_b\" ON \"t\" (\"a\", \"b\")\n");
}

static int reduced(const char *name)
{
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '_'))
            return 0;
    return 1;
}

static void candidates_names_and_quoting(void **state)
{
    (void)state;
    assert_candidates(
        "SELECT * FROM \"Order Items\" WHERE \"Customer Id\" = 1 AND "
        "\"a\"\"b\" > 2",
        "CREATE INDEX \"plumb_order_items_customer_id\" ON \"Order Items\" "
        "(\"Customer Id\")\n"
        "CREATE INDEX \"plumb_order_items_customer_id_a_b\" ON \"Order Items\" "
        "(\"Customer Id\", \"a\"\"b\")\n");
    /* names that reduce alike get a hash to tell them apart */
    char *upper[] = {(char *)"A"}, *lower[] = {(char *)"a"};
    plumb_sql_access_t a[] = {{(char *)"t", upper, 1, NULL, 0, NULL, 0},
                              {(char *)"t", lower, 1, NULL, 0, NULL, 0}};
    plumb_sql_index_t *ix = NULL;
    size_t n = 0;
    assert_int_equal(plumb_sql_index_candidates(a, 2, &ix, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(ix[0].name, "plumb_t_a");
    assert_string_equal(ix[0].create_sql,
                        "CREATE INDEX \"plumb_t_a\" ON \"t\" (\"A\")");
    assert_true(strncmp(ix[1].name, "plumb_t_a_", 10) == 0);
    assert_int_equal(strlen(ix[1].name), 18);
    assert_true(reduced(ix[1].name));
    assert_string_equal(ix[1].table, "t");
    assert_int_equal(ix[1].n_columns, 1);
    assert_string_equal(ix[1].columns[0], "a");
    plumb_sql_index_free(ix, n);
    /* non-ASCII bytes become one underscore each run */
    assert_candidates(
        "SELECT * FROM café WHERE \"prix €\" = 1",
        "CREATE INDEX \"plumb_caf_prix\" ON \"café\" (\"prix €\")\n");
}

static void candidates_long_names_truncated_with_hash(void **state)
{
    (void)state;
    char *cols1[] = {(char *)"a_rather_long_column_name",
                     (char *)"another_long_column_name", (char *)"third_one"};
    char *cols2[] = {(char *)"a_rather_long_column_name",
                     (char *)"another_long_column_name", (char *)"third_two"};
    plumb_sql_access_t a[] = {
        {(char *)"customer_orders", cols1, 3, NULL, 0, NULL, 0},
        {(char *)"customer_orders", cols2, 3, NULL, 0, NULL, 0}};
    plumb_sql_index_t *ix = NULL, *again = NULL;
    size_t n = 0, n_again = 0;
    assert_int_equal(plumb_sql_index_candidates(a, 2, &ix, &n), 0);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        assert_true(strlen(ix[i].name) <= 63);
        assert_true(reduced(ix[i].name));
        assert_true(
            strncmp(ix[i].name,
                    "plumb_customer_orders_a_rather_long_column_name_anoth",
                    53) == 0);
    }
    assert_string_not_equal(ix[0].name, ix[1].name);
    /* the same input gives the same names */
    assert_int_equal(plumb_sql_index_candidates(a, 2, &again, &n_again), 0);
    assert_int_equal(n_again, 2);
    assert_string_equal(ix[0].name, again[0].name);
    assert_string_equal(ix[1].name, again[1].name);
    /* a name of exactly 63 bytes is kept whole */
    char col63[64];
    memset(col63, 'x', 63 - strlen("plumb_t_"));
    col63[63 - strlen("plumb_t_")] = '\0';
    char *cols3[] = {col63};
    plumb_sql_access_t b = {(char *)"t", cols3, 1, NULL, 0, NULL, 0};
    plumb_sql_index_t *whole = NULL;
    size_t n_whole = 0;
    assert_int_equal(plumb_sql_index_candidates(&b, 1, &whole, &n_whole), 0);
    assert_int_equal(strlen(whole[0].name), 63);
    assert_string_equal(whole[0].name + 8, col63);
    plumb_sql_index_free(whole, n_whole);
    plumb_sql_index_free(ix, n);
    plumb_sql_index_free(again, n_again);
}

static void candidates_arguments(void **state)
{
    (void)state;
    plumb_sql_index_t *ix = NULL;
    size_t n = 7;
    assert_int_equal(plumb_sql_index_candidates(NULL, 1, &ix, &n),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_sql_index_candidates(NULL, 0, NULL, &n),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_sql_index_candidates(NULL, 0, &ix, NULL),
                     PLUMB_EINVAL);
    assert_int_equal(plumb_sql_index_candidates(NULL, 0, &ix, &n), 0);
    assert_null(ix);
    assert_int_equal(n, 0);
    plumb_sql_index_free(NULL, 4);
}

/* ---- batched forms ------------------------------------------------------ */

static void batched_turns_the_equality_into_a_list(void **state)
{
    (void)state;
    assert_batched("SELECT title FROM book WHERE author_id = ?",
                   "select title from book where author_id IN (?, ?, ...)");
    assert_batched("SELECT title FROM book WHERE author_id = %s",
                   "select title from book where author_id IN (?, ?, ...)");
    assert_batched(
        "select * from book b where b.author_id = 12 order by b.year limit 3",
        "select * from book b where b.author_id IN (?, ?, ...) order by b.year "
        "limit ?");
    assert_batched("SELECT * FROM t WHERE :id = \"Id\" AND x > 1",
                   "select * from t where \"Id\" IN (?, ?, ...) and x > ?");
    assert_batched("SELECT * FROM t WHERE k == ?",
                   "select * from t where k IN (?, ?, ...)");
    assert_batched(
        "SELECT * FROM a JOIN b ON a.id = b.a_id WHERE b.k = ?",
        "select * from a join b on a.id = b.a_id where b.k IN (?, ?, ...)");
    assert_batched("SELECT * FROM t WHERE (k = ?)",
                   "select * from t where (k IN (?, ?, ...))");
    assert_batched("SELECT * FROM t WHERE k = ? AND x IN (1, 2)",
                   "select * from t where k IN (?, ?, ...) and x in (?)");
    /* the assignments of SET are not equalities */
    assert_batched("UPDATE t SET a = ?, b = 2 WHERE id = ?",
                   "update t set a = ?, b = ? where id IN (?, ?, ...)");
    assert_batched("DELETE FROM t WHERE id = ?",
                   "delete from t where id IN (?, ?, ...)");
}

static void batched_needs_exactly_one_equality(void **state)
{
    (void)state;
    assert_not_batched("SELECT * FROM t");
    assert_not_batched("SELECT * FROM t WHERE a = ? AND b = ?");
    assert_not_batched("SELECT * FROM t WHERE a > ?");
    assert_not_batched("SELECT * FROM t WHERE a IN (?)");
    assert_not_batched("SELECT * FROM t WHERE lower(a) = ?"); /* not a column */
    assert_not_batched(
        "SELECT * FROM t WHERE a = ? + 1"); /* not a lone value */
    assert_not_batched("SELECT * FROM t WHERE a + 1 = ?");
    assert_not_batched("SELECT * FROM t WHERE a = b");
    assert_not_batched("SELECT * FROM t WHERE ? = ?");
    assert_not_batched("INSERT INTO t VALUES (?, ?)");
    assert_not_batched("UPDATE t SET a = ?");
    assert_not_batched("");
    assert_int_equal(plumb_sql_batched(NULL, (char *[]){NULL}), PLUMB_EINVAL);
    assert_int_equal(plumb_sql_batched("SELECT 1", NULL), PLUMB_EINVAL);
}

/* ---- out of memory ------------------------------------------------------ */

static const char *const oom_sqls[] = {
    "SELECT b.title FROM book b JOIN author a ON a.id = b.author_id "
    "WHERE a.name = ? AND b.year > 1 AND b.x LIKE 'a%' ORDER BY b.year",
    "WITH x AS (SELECT * FROM t WHERE k IN (1, 2)) SELECT (SELECT max(v) "
    "FROM u WHERE u.k = x.k), * FROM x, \"A Table Name Long Enough To Need "
    "A Hash\" l WHERE l.\"a column\" = 1 OR l.\"a column\" = 2 ORDER BY "
    "l.\"another column with a long name\"",
    "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, NULL)",
    "UPDATE t SET a = ? WHERE id = ?",
};

/* Fails the 1st, 2nd, ... allocation of each reader until one runs
 * through: each must report PLUMB_ENOMEM and hand back nothing (the
 * sanitizers and valgrind see that it leaks nothing), and one that
 * succeeds must not have had an allocation fail under it. */
static void out_of_memory_every_allocation(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof oom_sqls / sizeof *oom_sqls; i++) {
        const char *sql = oom_sqls[i];
        for (unsigned long nth = 1;; nth++) {
            plumb_sql_fingerprint_t fp;
            plumb__sql_fail_alloc(nth);
            int err = plumb_sql_fingerprint(sql, &fp);
            unsigned long left = plumb__sql_fail_alloc(0);
            if (err == 0) {
                assert_true(left > 0);
                plumb_sql_fingerprint_close(&fp);
                break;
            }
            assert_int_equal(err, PLUMB_ENOMEM);
            assert_null(fp.text);
        }
        plumb_sql_access_t *a = NULL;
        size_t n = 0;
        for (unsigned long nth = 1;; nth++) {
            plumb__sql_fail_alloc(nth);
            int err = plumb_sql_accesses(sql, &a, &n);
            unsigned long left = plumb__sql_fail_alloc(0);
            if (err == 0) {
                assert_true(left > 0);
                break;
            }
            assert_int_equal(err, PLUMB_ENOMEM);
            assert_null(a);
            assert_int_equal(n, 0);
        }
        for (unsigned long nth = 1;; nth++) {
            plumb_sql_index_t *ix = NULL;
            size_t n_ix = 0;
            plumb__sql_fail_alloc(nth);
            int err = plumb_sql_index_candidates(a, n, &ix, &n_ix);
            unsigned long left = plumb__sql_fail_alloc(0);
            if (err == 0) {
                assert_true(left > 0);
                plumb_sql_index_free(ix, n_ix);
                break;
            }
            assert_int_equal(err, PLUMB_ENOMEM);
            assert_null(ix);
            assert_int_equal(n_ix, 0);
        }
        plumb_sql_accesses_free(a, n);
        for (unsigned long nth = 1;; nth++) {
            char *out = NULL;
            plumb__sql_fail_alloc(nth);
            int err = plumb_sql_batched(sql, &out);
            unsigned long left = plumb__sql_fail_alloc(0);
            if (err != PLUMB_ENOMEM) {
                assert_true(left > 0);
                assert_true(err == 0 || err == PLUMB_ENOTFOUND);
                free(out);
                break;
            }
            assert_null(out);
        }
    }
}

int test_sql_run(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fingerprint_folds_space_case_and_comments),
        cmocka_unit_test(fingerprint_spacing_rule),
        cmocka_unit_test(fingerprint_strings_hide_what_they_hold),
        cmocka_unit_test(fingerprint_dollar_quotes),
        cmocka_unit_test(fingerprint_quoted_identifiers_kept),
        cmocka_unit_test(fingerprint_comments_in_odd_places),
        cmocka_unit_test(fingerprint_numbers),
        cmocka_unit_test(fingerprint_true_false_null_are_keywords),
        cmocka_unit_test(fingerprint_placeholders),
        cmocka_unit_test(fingerprint_casts_are_not_placeholders),
        cmocka_unit_test(fingerprint_in_lists_fold),
        cmocka_unit_test(fingerprint_values_rows_fold),
        cmocka_unit_test(fingerprint_same_and_other_shapes),
        cmocka_unit_test(fingerprint_kind),
        cmocka_unit_test(fingerprint_id_is_fnv1a_of_text),
        cmocka_unit_test(fingerprint_unterminated_and_odd_bytes),
        cmocka_unit_test(fingerprint_of_a_fingerprint_is_itself),
        cmocka_unit_test(fingerprint_arguments),
        cmocka_unit_test(fingerprint_long_lists),
        cmocka_unit_test(accesses_single_table),
        cmocka_unit_test(accesses_operators),
        cmocka_unit_test(accesses_what_an_index_does_not_serve),
        cmocka_unit_test(accesses_or_parentheses_not),
        cmocka_unit_test(accesses_joins),
        cmocka_unit_test(accesses_canonical_names),
        cmocka_unit_test(accesses_order_by),
        cmocka_unit_test(accesses_subqueries),
        cmocka_unit_test(accesses_update_delete_insert),
        cmocka_unit_test(accesses_unreadable_statements_give_none),
        cmocka_unit_test(accesses_deep_nesting_is_refused_not_a_crash),
        cmocka_unit_test(accesses_arguments),
        cmocka_unit_test(candidates_equality_range_order),
        cmocka_unit_test(candidates_without_duplicates),
        cmocka_unit_test(candidates_names_and_quoting),
        cmocka_unit_test(candidates_long_names_truncated_with_hash),
        cmocka_unit_test(candidates_arguments),
        cmocka_unit_test(batched_turns_the_equality_into_a_list),
        cmocka_unit_test(batched_needs_exactly_one_equality),
        cmocka_unit_test(out_of_memory_every_allocation),
    };
    return cmocka_run_group_tests_name("sql", tests, NULL, NULL);
}
