/* sql.c: the terminal report of plumb sql: what was traced, the findings
 * by the time they cost, the indexes tried with their proof, and the
 * costliest statements. Statements are shown as fingerprints, so values
 * (which may be private data) never appear. It renders an analysis; it
 * decides nothing. */
#include "report/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BOLD(o) ((o)->color ? "\033[1m" : "")
#define DIM(o) ((o)->color ? "\033[2m" : "")
#define YELLOW(o) ((o)->color ? "\033[33m" : "")
#define GREEN(o) ((o)->color ? "\033[32m" : "")
#define RESET(o) ((o)->color ? "\033[0m" : "")

/* Statements longer than this are cut in tables (whole in findings). */
#define TABLE_SQL_CHARS 60

static void ns_text(int64_t ns, char *out, size_t size)
{
    plumb__format_value((double)ns, PLUMB_UNIT_NS, out, size);
}

/* "app.py:21 in titles_of", the file's last component only. */
static void site_text(const char *file, int64_t line, const char *func,
                      char *out, size_t size)
{
    const char *base = file && *file ? strrchr(file, '/') : NULL;
    base = base ? base + 1 : file && *file ? file : "?";
    if (func && *func)
        snprintf(out, size, "%s:%lld in %s", base, (long long)line, func);
    else
        snprintf(out, size, "%s:%lld", base, (long long)line);
}

/* A statement cut to n characters with "..." (UTF-8 safe: cuts before a
 * continuation byte). */
static void cut(const char *text, size_t n, char *out, size_t size)
{
    size_t len = strlen(text);
    if (len <= n) {
        snprintf(out, size, "%s", text);
        return;
    }
    while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
        n--;
    snprintf(out, size, "%.*s...", (int)n, text);
}

static void header(plumb__buf_t *b, const plumb_sql_trace_t *t,
                   const plumb_sql_analysis_t *a,
                   const plumb_report_opts_t *o)
{
    char total[32], wall[32];
    ns_text(a->query_ns, total, sizeof total);
    plumb__buf_printf(b, "%splumb sql%s", BOLD(o), RESET(o));
    char *command = t->command ? plumb_sql_redact(t->command) : NULL;
    if (command && *command)
        plumb__buf_printf(b, ": %s", command);
    else if (t->command && !command)
        b->failed = 1;
    free(command);
    plumb__buf_puts(b, "\n");
    if (t->timed) {
        plumb__buf_printf(b, "  %llu quer%s took %s",
                          (unsigned long long)a->queries,
                          a->queries == 1 ? "y" : "ies", total);
        if (t->wall_ns > 0) {
            ns_text(t->wall_ns, wall, sizeof wall);
            plumb__buf_printf(b, " of the %s traced (%.0f%%)", wall,
                              100.0 * (double)a->query_ns /
                                  (double)t->wall_ns);
        }
    } else {
        plumb__buf_printf(b, "  %zu statement%s of a script, run on a "
                             "scratch copy: %s in all",
                          t->n_statements, t->n_statements == 1 ? "" : "s",
                          total);
    }
    plumb__buf_printf(b, "; %zu distinct statement%s on %zu connection%s\n",
                      a->n_groups, a->n_groups == 1 ? "" : "s",
                      t->n_connections, t->n_connections == 1 ? "" : "s");
}

/* What the finding asks of the user, after its statement. */
static void finding_body(plumb__buf_t *b, const plumb_sql_finding_t *f,
                         const plumb_sql_group_t *g,
                         const plumb_report_opts_t *o)
{
    char mean[32];
    plumb__buf_printf(b, "     %s\n", g->fingerprint.text);
    switch (f->kind) {
    case PLUMB_SQL_FINDING_SLOW:
        ns_text(g->calls ? g->total_ns / (int64_t)g->calls : 0, mean,
                sizeof mean);
        plumb__buf_printf(b, "     %s%s per call over %llu call%s%s\n",
                          DIM(o), mean, (unsigned long long)g->calls,
                          g->calls == 1 ? "" : "s", RESET(o));
        break;
    case PLUMB_SQL_FINDING_N_PLUS_ONE:
        plumb__buf_printf(b, "     %s%llu calls from this line with %llu "
                             "different parameter sets: one query per item "
                             "of a loop.%s\n",
                          DIM(o), (unsigned long long)f->calls,
                          (unsigned long long)f->distinct, RESET(o));
        if (f->detail)
            plumb__buf_printf(b, "     fetch them at once: %s%s%s\n",
                              GREEN(o), f->detail, RESET(o));
        else
            plumb__buf_puts(b, "     fetch them at once, with a JOIN or "
                               "one query over every value\n");
        break;
    case PLUMB_SQL_FINDING_LITERALS:
        plumb__buf_printf(b, "     %s%llu versions of this statement differ "
                             "only in the values written into them: pass "
                             "the values as parameters "
                             "(cursor.execute(sql, params)), which is safe "
                             "from SQL injection and lets the database "
                             "reuse its plan%s\n",
                          DIM(o), (unsigned long long)f->distinct, RESET(o));
        break;
    case PLUMB_SQL_FINDING_SCAN:
    case PLUMB_SQL_FINDING_SORT:
        plumb__buf_printf(b, "     %splan: %s%s\n", DIM(o),
                          f->detail ? f->detail : "?", RESET(o));
        break;
    default:
        break;
    }
}

static void findings(plumb__buf_t *b, const plumb_sql_analysis_t *a,
                     const plumb_report_opts_t *o)
{
    if (!a->n_findings) {
        plumb__buf_printf(b, "\n%sNo findings%s: no slow statement, N+1 "
                             "loop, pasted value, full scan or temporary "
                             "sort.\n",
                          BOLD(o), RESET(o));
        return;
    }
    plumb__buf_printf(b, "\n%sFindings%s, by the time they cost\n", BOLD(o),
                      RESET(o));
    for (size_t i = 0; i < a->n_findings; i++) {
        const plumb_sql_finding_t *f = &a->findings[i];
        const plumb_sql_group_t *g = &a->groups[f->group];
        char cost[32], where[512];
        ns_text(f->cost_ns, cost, sizeof cost);
        site_text(f->file, f->line, f->func, where, sizeof where);
        plumb__buf_printf(b, "  %2zu. %s%-27s%s %9s  %6llu call%s  %s\n",
                          i + 1, YELLOW(o),
                          plumb_sql_finding_label(f->kind), RESET(o), cost,
                          (unsigned long long)f->calls,
                          f->calls == 1 ? " " : "s", where);
        finding_body(b, f, g, o);
    }
}

/* "12.3x faster [10.1x, 14.0x]" or "no faster [0.97x, 1.04x]". */
static void speed_text(const plumb_comparison_t *c, const char *what,
                       char *out, size_t size)
{
    if (!isfinite(c->ratio)) {
        snprintf(out, size, "no ratio (a median is 0)");
        return;
    }
    const char *words = c->verdict == PLUMB_VERDICT_LOWER    ? "faster"
                        : c->verdict == PLUMB_VERDICT_HIGHER ? "slower"
                                                             : "no change";
    if (c->verdict == PLUMB_VERDICT_HIGHER)
        snprintf(out, size, "%.2fx %s [%.2fx, %.2fx]%s", 1 / c->ratio, words,
                 1 / c->ci_high, 1 / c->ci_low, what);
    else if (c->verdict == PLUMB_VERDICT_LOWER)
        snprintf(out, size, "%.3gx %s [%.3gx, %.3gx]%s", c->ratio, words,
                 c->ci_low, c->ci_high, what);
    else
        snprintf(out, size, "%s (%.2fx [%.2fx, %.2fx])%s", words, c->ratio,
                 c->ci_low, c->ci_high, what);
}

static void advice(plumb__buf_t *b, const plumb_sql_trace_t *t,
                   const plumb_sql_analysis_t *a,
                   const plumb_report_opts_t *o)
{
    if (!a->n_advice)
        return;
    plumb__buf_printf(b, "\n%sIndexes tried%s on a scratch copy of each "
                         "database (yours was not changed)\n",
                      BOLD(o), RESET(o));
    for (size_t i = 0; i < a->n_advice; i++) {
        const plumb_sql_advice_t *x = &a->advice[i];
        const plumb_sql_trial_t *r = &x->trial;
        plumb__buf_printf(b, "  %s%s;%s%s\n", x->advised ? GREEN(o) : "",
                          x->index.create_sql, RESET(o),
                          x->advised ? "   <- advised" : "");
        plumb__buf_printf(b, "     %sfor: %s%s\n", DIM(o),
                          a->groups[x->group].fingerprint.text, RESET(o));
        if (!x->tried) {
            plumb__buf_printf(b, "     could not be tried: %s\n",
                              x->error ? x->error : "?");
            continue;
        }
        char before[32], after[32], speed[128], size[32];
        ns_text((int64_t)r->before_round_ns, before, sizeof before);
        ns_text((int64_t)r->after_round_ns, after, sizeof after);
        speed_text(&r->reads, "", speed, sizeof speed);
        plumb__buf_printf(b, "     reads: %s -> %s a round, %s; %s\n", before,
                          after, speed,
                          r->same_results ? "same results"
                                          : "DIFFERENT RESULTS");
        if (r->plan_before && r->plan_after)
            plumb__buf_printf(b, "     plan: %s -> %s\n", r->plan_before,
                              r->plan_after);
        plumb__format_value((double)r->index_bytes, PLUMB_UNIT_BYTES, size,
                            sizeof size);
        if (r->has_writes) {
            speed_text(&r->writes, "", speed, sizeof speed);
            plumb__buf_printf(b, "     size: %s; the traced writes to %s: "
                                 "%s\n",
                              size, x->index.table, speed);
        } else {
            plumb__buf_printf(b, "     size: %s; no traced writes to %s to "
                                 "weigh\n",
                              size, x->index.table);
        }
    }
    (void)t;
}

static void statements(plumb__buf_t *b, const plumb_sql_analysis_t *a,
                       const plumb_report_opts_t *o, size_t top)
{
    size_t n = a->n_groups < top || !top ? a->n_groups : top;
    if (!n)
        return;
    plumb__buf_printf(b, "\n%sStatements%s, by total time%s\n", BOLD(o),
                      RESET(o), n < a->n_groups ? " (the costliest)" : "");
    plumb__buf_printf(b, "  %9s %8s %9s %9s  %s\n", "total", "calls", "mean",
                      "rows", "statement");
    for (size_t i = 0; i < n; i++) {
        const plumb_sql_group_t *g = &a->groups[i];
        char total[32], mean[32], text[TABLE_SQL_CHARS * 4 + 8], where[512];
        ns_text(g->total_ns, total, sizeof total);
        ns_text(g->calls ? g->total_ns / (int64_t)g->calls : 0, mean,
                sizeof mean);
        cut(g->fingerprint.text, TABLE_SQL_CHARS, text, sizeof text);
        site_text(g->file, g->line, NULL, where, sizeof where);
        plumb__buf_printf(b, "  %9s %8llu %9s %9lld  %s  %s%s%s\n", total,
                          (unsigned long long)g->calls, mean,
                          (long long)g->rows, text, DIM(o), where, RESET(o));
    }
    if (n < a->n_groups)
        plumb__buf_printf(b, "  %s... %zu more (--top)%s\n", DIM(o),
                          a->n_groups - n, RESET(o));
}

int plumb_report_sql(const plumb_sql_trace_t *t,
                     const plumb_sql_analysis_t *a,
                     const plumb_report_opts_t *opts, size_t top, char **out)
{
    plumb_report_opts_t plain = {0, 0, 0};
    plumb__buf_t b = {NULL, 0, 0, 0};
    if (!t || !a || !out)
        return PLUMB_EINVAL;
    const plumb_report_opts_t *o = opts ? opts : &plain;
    header(&b, t, a, o);
    findings(&b, a, o);
    advice(&b, t, a, o);
    statements(&b, a, o, top);
    if (a->n_notes) {
        plumb__buf_printf(&b, "\n%sNotes%s\n", BOLD(o), RESET(o));
        for (size_t i = 0; i < a->n_notes; i++)
            plumb__buf_printf(&b, "  - %s\n", a->notes[i]);
    }
    return plumb__buf_finish(&b, out);
}
