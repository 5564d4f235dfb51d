/* sql.c: `plumb sql`: runs a Python program with plumb's SQL tracer inside
 * it (through PYTHONPATH and a sitecustomize, python/plumb/_sqlboot/),
 * reads the trace it leaves, analyses it and reports; `plumb sql analyze`
 * does the same for a file of statements. The tracing happens in the
 * program (python/plumb/_sqltrace.py), the analysis in the library
 * (sql_analysis.c); this file turns arguments into options and results into
 * text and an exit status. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] =
    "usage: plumb sql [options] -- python3 SCRIPT [ARGS...]\n"
    "       plumb sql analyze --db FILE|URL [options] QUERIES.sql\n"
    "\n"
    "Traces the queries a Python program sends through sqlite3 and\n"
    "psycopg2 (no change to the program) and reports what costs time, by\n"
    "the time it costs: slow statements, N+1 loops (with the one query that\n"
    "replaces them), values pasted into the SQL instead of passed as\n"
    "parameters, full table scans and temporary sorts in the plans. For the\n"
    "scans and sorts it tries indexes on a scratch copy of the database\n"
    "(SQLite) or inside a transaction it rolls back (PostgreSQL): it runs\n"
    "the traced statements with and without each, and reports the measured\n"
    "speed-up with its confidence interval, the plan change, whether the\n"
    "results are identical, the index's size and what it costs the traced\n"
    "writes. Your database is never changed.\n"
    "\n"
    "plumb sql analyze runs the statements of QUERIES.sql on a scratch copy\n"
    "of the database and reports on them the same way.\n"
    "\n"
    "  -f, --format FORMAT   text (the default) or json (docs/json.md)\n"
    "  -o, --output FILE     write there instead of stdout\n"
    "      --keep-params     put the statements' exact texts and parameters\n"
    "                        in the JSON report (otherwise only their\n"
    "                        fingerprints: values may be private)\n"
    "      --fail-on KINDS   exit with status 3 when there are findings of\n"
    "                        these kinds, comma-separated: slow, n+1,\n"
    "                        literals, scan, sort, or all\n"
    "      --slow-ms MS      the mean time per call from which a statement\n"
    "                        is slow (10)\n"
    "      --n-plus-one N    calls of one statement from one line, with\n"
    "                        different parameters, that make an N+1 (10)\n"
    "      --no-explain      do not ask the planner: no scan or sort\n"
    "                        findings, no indexes tried\n"
    "      --no-advice       do not try indexes\n"
    "      --rounds N        timed rounds on each side of an index trial (7)\n"
    "      --db FILE|URL     look at plans and try indexes on this database\n"
    "                        rather than each connection's own\n"
    "      --top N           statements in the table (10)\n"
    "      --color WHEN      auto, always or never (NO_COLOR is "
    "respected)\n"
    "\n"
    "The program must be a CPython started as usual: plumb comes in through\n"
    "PYTHONPATH, which python -I, -E and -S ignore. Connections opened\n"
    "before the program's first line (none, usually) are not traced.\n"
    "\n"
    "Exit status: 0 when the report was made, whatever the program's own\n"
    "exit; 3 when --fail-on found something; 1 when there is no trace or\n"
    "the report could not be written; 2 for wrong arguments.\n";

enum {
    OPT_TOP = OPT_FIRST_LOCAL,
    OPT_KEEP_PARAMS,
    OPT_FAIL_ON,
    OPT_SLOW_MS,
    OPT_N_PLUS_ONE,
    OPT_NO_EXPLAIN,
    OPT_NO_ADVICE,
    OPT_ROUNDS,
    OPT_DB,
};

/* The exit status of --fail-on's findings. */
#define CLI_FINDINGS 3

#define ENV_OUT "PLUMB_SQL_OUT"
#define ENV_KEEP "PLUMB_SQL_KEEP_PARAMS"

typedef struct {
    const char *format, *output, *color;
    int keep_params;
    unsigned top;
    unsigned fail_on; /* bit per plumb_sql_finding_kind_t */
    plumb_sql_analysis_opts_t analysis;
} options_t;

/* "n+1,scan" or "all" into bits; says what is wrong (-1). */
static int parse_fail_on(const char *text, unsigned *bits)
{
    char *copy = strdup(text), *save = NULL;
    if (!copy) {
        cli_error("out of memory");
        return -1;
    }
    *bits = 0;
    for (char *w = strtok_r(copy, ",", &save); w;
         w = strtok_r(NULL, ",", &save)) {
        int k = plumb_sql_finding_find(w);
        if (!strcmp(w, "all")) {
            *bits = (1u << PLUMB_SQL_N_FINDINGS) - 1;
        } else if (k < 0) {
            cli_error("--fail-on: '%s' is not a kind of finding; the kinds "
                      "are slow, n+1, literals, scan and sort (or all)", w);
            free(copy);
            return -1;
        } else {
            *bits |= 1u << k;
        }
    }
    free(copy);
    if (!*bits) {
        cli_error("--fail-on takes kinds of findings, e.g. --fail-on "
                  "n+1,scan");
        return -1;
    }
    return 0;
}

/* Parses the options both forms share; returns -1 to go on, else an exit
 * status. */
static int parse_options(int argc, char **argv, options_t *o, int analyze)
{
    static const struct option options[] = {
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"keep-params", no_argument, NULL, OPT_KEEP_PARAMS},
        {"fail-on", required_argument, NULL, OPT_FAIL_ON},
        {"slow-ms", required_argument, NULL, OPT_SLOW_MS},
        {"n-plus-one", required_argument, NULL, OPT_N_PLUS_ONE},
        {"no-explain", no_argument, NULL, OPT_NO_EXPLAIN},
        {"no-advice", no_argument, NULL, OPT_NO_ADVICE},
        {"rounds", required_argument, NULL, OPT_ROUNDS},
        {"db", required_argument, NULL, OPT_DB},
        {"top", required_argument, NULL, OPT_TOP},
        {"color", required_argument, NULL, OPT_COLOR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    int opt;
    unsigned n;
    double ms;
    /* "+": the options end at the program's name */
    while ((opt = getopt_long(argc, argv, analyze ? "f:o:h" : "+f:o:h",
                              options, NULL)) != -1) {
        switch (opt) {
        case 'f':
            if (strcmp(optarg, "text") && strcmp(optarg, "json")) {
                cli_error("--format takes text or json (got '%s')", optarg);
                return CLI_USAGE;
            }
            o->format = optarg;
            break;
        case 'o':
            o->output = optarg;
            break;
        case OPT_KEEP_PARAMS:
            o->keep_params = 1;
            break;
        case OPT_FAIL_ON:
            if (parse_fail_on(optarg, &o->fail_on))
                return CLI_USAGE;
            break;
        case OPT_SLOW_MS:
            if (cli_parse_double(optarg, &ms) || !(ms > 0)) {
                cli_error("--slow-ms takes a time in milliseconds above 0 "
                          "(got '%s')", optarg);
                return CLI_USAGE;
            }
            o->analysis.slow_ms = ms;
            break;
        case OPT_N_PLUS_ONE:
            if (cli_parse_uint(optarg, &n) || n < 2) {
                cli_error("--n-plus-one takes a number of calls, 2 or more "
                          "(got '%s')", optarg);
                return CLI_USAGE;
            }
            o->analysis.n_plus_one_calls = n;
            break;
        case OPT_NO_EXPLAIN:
            o->analysis.explain = 0;
            break;
        case OPT_NO_ADVICE:
            o->analysis.advise = 0;
            break;
        case OPT_ROUNDS:
            if (cli_parse_uint(optarg, &n) || n < 3 || n > 1000) {
                cli_error("--rounds takes a number from 3 to 1000 (got '%s')",
                          optarg);
                return CLI_USAGE;
            }
            o->analysis.trial.rounds = n;
            break;
        case OPT_DB:
            o->analysis.db = optarg;
            break;
        case OPT_TOP:
            if (cli_parse_top(optarg, &o->top))
                return CLI_USAGE;
            break;
        case OPT_COLOR:
            if (!cli_color_ok(optarg))
                return CLI_USAGE;
            o->color = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return CLI_OK;
        default:
            fputs(usage, stderr);
            return CLI_USAGE;
        }
    }
    return -1;
}

/* Analyses the trace, writes the report and decides the exit status. */
static int report(const plumb_sql_trace_t *t, const options_t *o)
{
    plumb_sql_analysis_t *a = NULL;
    char *text = NULL;
    int err = plumb_sql_analyze(t, &o->analysis, &a);
    if (err) {
        cli_error("cannot analyse the trace: %s", plumb_strerror(err));
        return CLI_FAILED;
    }
    int to_stdout = !o->output || !strcmp(o->output, "-");
    if (!strcmp(o->format, "json")) {
        err = plumb_report_sql_json(t, a, &text);
    } else {
        plumb_report_opts_t ro = {
            to_stdout && cli_color_wanted(o->color, stdout), 0, 0};
        err = plumb_report_sql(t, a, &ro, o->top, &text);
    }
    int rc = CLI_OK;
    if (err) {
        cli_error("cannot write the report: %s", plumb_strerror(err));
        rc = CLI_FAILED;
    } else if ((rc = cli_emit_text(o->output, text)) == CLI_OK &&
               !to_stdout) {
        cli_note("SQL report (%zu finding%s) written to %s", a->n_findings,
                 a->n_findings == 1 ? "" : "s", o->output);
    }
    if (rc == CLI_OK && o->fail_on) {
        char found[256] = "";
        for (int k = 0; k < PLUMB_SQL_N_FINDINGS; k++)
            if ((o->fail_on & (1u << k)) &&
                plumb_sql_analysis_has(a, (plumb_sql_finding_kind_t)k)) {
                size_t len = strlen(found);
                snprintf(found + len, sizeof found - len, "%s%s",
                         len ? ", " : "", plumb_sql_finding_key(k));
            }
        if (*found) {
            cli_error("--fail-on: the program has findings of kind %s",
                      found);
            rc = CLI_FINDINGS;
        }
    }
    free(text);
    plumb_sql_analysis_free(a);
    return rc;
}

/* The trace the tracer left, or NULL after saying why there is none. */
static plumb_sql_trace_t *read_trace(const cli_launch_t *l,
                                     const char *program, int status)
{
    char ended[128], why[512];
    cli_how_it_ended(status, ended, sizeof ended);
    char *sentence = cli_launch_failure(l);
    if (sentence) {
        cli_error("%s", *sentence ? sentence
                                  : "plumb's SQL tracer could not start in "
                                    "the program, and did not say why");
        cli_note("the program ran untraced and %s", ended);
        free(sentence);
        return NULL;
    }
    char *text = cli_slurp(l->out);
    if (!text && errno == ENOENT) {
        if (WIFSIGNALED(status))
            cli_error("'%s' %s before plumb's SQL tracer could write what "
                      "it saw (it writes when the program exits): nothing "
                      "to report",
                      program, ended);
        else
            cli_error("'%s' %s without writing a SQL trace: it is not a "
                      "Python program, it ended through os._exit, or its "
                      "Python was started with -I, -E or -S (which skip the "
                      "PYTHONPATH plumb's tracer comes in by); run the "
                      "script with python3 itself, e.g. plumb sql -- "
                      "python3 app.py",
                      program, ended);
        return NULL;
    }
    if (!text) {
        cli_error("cannot read the SQL trace the program wrote (%s): %s",
                  l->out, strerror(errno));
        return NULL;
    }
    plumb_sql_trace_t *t = NULL;
    int err = plumb_sql_trace_from_json(text, &t, why, sizeof why);
    free(text);
    if (err) {
        cli_error("the SQL trace the program wrote is damaged: %s (run it "
                  "again; if it happens again, it is a bug in plumb)",
                  *why ? why : plumb_strerror(err));
        return NULL;
    }
    if (WIFSIGNALED(status) || WEXITSTATUS(status) != 0)
        cli_note("the program %s; the report covers what it ran", ended);
    return t;
}

static int trace_program(int argc, char **argv, const options_t *o)
{
    char pkg[PATH_MAX + 64];
    if (cli_launch_package("_sqlboot", "plumb sql", pkg, sizeof pkg))
        return CLI_FAILED;
    cli_launch_t l;
    memset(&l, 0, sizeof l);
    plumb_sql_trace_t *t = NULL;
    char *command = NULL;
    int rc = CLI_FAILED, status = 0;
    int64_t elapsed_ns = 0;
    char out_var[sizeof l.out + 32];
    if (cli_launch_dir(&l, "sql"))
        goto out;
    snprintf(out_var, sizeof out_var, ENV_OUT "=%s", l.out);
    const char *vars[] = {out_var, o->keep_params ? ENV_KEEP "=1" : NULL,
                          NULL};
    const char *drop[] = {ENV_KEEP, NULL};
    if (cli_launch_env(&l, pkg, "_sqlboot", vars, drop, NULL)) {
        cli_error("out of memory");
        goto out;
    }
    if (cli_launch_run(&l, argv, &status, &elapsed_ns))
        goto out;
    if (!(t = read_trace(&l, argv[0], status)))
        goto out;
    if (!(command = cli_join_words(NULL, argc, argv))) {
        cli_error("out of memory");
        goto out;
    }
    free(t->command);
    t->command = command;
    command = NULL;
    rc = report(t, o);
out:
    free(command);
    plumb_sql_trace_free(t);
    cli_launch_close(&l);
    return rc;
}

static int analyze_script(const char *path, const options_t *o)
{
    if (!o->analysis.db) {
        cli_error("plumb sql analyze needs the database the statements run "
                  "on: --db FILE (SQLite) or --db postgresql://... ");
        return CLI_USAGE;
    }
    char *script = cli_slurp(path);
    if (!script) {
        cli_error("cannot read %s: %s", path, strerror(errno));
        return CLI_FAILED;
    }
    plumb_sql_trace_t *t = NULL;
    int err = plumb_sql_trace_from_script(script, path, o->analysis.db, &t);
    free(script);
    if (err == PLUMB_EINVAL) {
        cli_error("%s holds no SQL statement", path);
        return CLI_FAILED;
    }
    if (err) {
        cli_error("cannot read %s: %s", path, plumb_strerror(err));
        return CLI_FAILED;
    }
    /* a script is run on the database, which must be there */
    plumb_sql_db_t *db = NULL;
    char *errmsg = NULL;
    err = plumb_sql_db_open(o->analysis.db, &db, &errmsg);
    plumb_sql_db_close(db);
    if (err) {
        char *shown = plumb_sql_redact(o->analysis.db);
        char *why = errmsg ? plumb_sql_redact(errmsg) : NULL;
        cli_error("cannot open the database %s: %s", shown ? shown : "",
                  why ? why : plumb_strerror(err));
        free(shown);
        free(why);
        free(errmsg);
        plumb_sql_trace_free(t);
        return CLI_FAILED;
    }
    free(errmsg);
    t->keep_params = o->keep_params;
    free(t->command);
    if (!(t->command = cli_join_words("plumb sql analyze", 1,
                                      (char *const *)&path))) {
        plumb_sql_trace_free(t);
        cli_error("out of memory");
        return CLI_FAILED;
    }
    int rc = report(t, o);
    plumb_sql_trace_free(t);
    return rc;
}

int cli_sql(int argc, char **argv)
{
    options_t o = {"text", NULL, "auto", 0, 10, 0, {0}};
    plumb_sql_analysis_opts_init(&o.analysis);
    int analyze = argc > 1 && !strcmp(argv[1], "analyze");
    if (analyze) {
        argc--;
        argv++;
    }
    int rc = parse_options(argc, argv, &o, analyze);
    if (rc >= 0)
        return rc;
    if (analyze) {
        if (optind != argc - 1) {
            cli_error(optind >= argc ? "plumb sql analyze needs a file of "
                                       "SQL statements, e.g. plumb sql "
                                       "analyze --db app.db queries.sql"
                                     : "plumb sql analyze takes one file of "
                                       "statements");
            return CLI_USAGE;
        }
        return analyze_script(argv[optind], &o);
    }
    if (optind >= argc) {
        cli_error("nothing to run; e.g. plumb sql -- python3 app.py");
        return CLI_USAGE;
    }
    return trace_program(argc - optind, argv + optind, &o);
}
