/* show.c: `plumb show ID`: one stored run, with the same report as when it
 * was measured. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: plumb show [options] RUN\n"
    "\n"
    "Prints a stored run (see plumb runs for ids): its statistics, its\n"
    "environment and, with --export-*, its samples. A stored profile is\n"
    "printed as plumb profile printed it, a stored memory profile as plumb\n"
    "mem did.\n"
    "\n"
    "  -f, --format FORMAT         profiles: text (the summary), json\n"
    "                              (docs/json.md), collapsed or speedscope\n"
    "      --stacks WHICH          memory profiles: the stacks collapsed and\n"
    "                              speedscope write: peak, allocated or end\n"
    "      --top N                 profiles: rows in each table (20; memory\n"
    "                              profiles 10)\n"
    "      --store PATH            the store (default $PLUMB_STORE or\n"
    "                              .plumb/plumb.db)\n" CLI_OUTPUT_OPTION_HELP;

/* Reads a run id; prints the error on failure. */
int cli_parse_run_id(const char *text, int64_t *id);

int cli_parse_run_id(const char *text, int64_t *id)
{
    uint64_t v;
    if (cli_parse_u64(text, &v) || v == 0 || v > INT64_MAX) {
        cli_error("'%s' is not a run id; ids are the numbers in the RUN "
                  "column of plumb runs", text);
        return -1;
    }
    *id = (int64_t)v;
    return 0;
}

static void print_environment(const plumb_session_t *s)
{
    const plumb_env_t *e = &s->env;
    printf("session %lld · %s · %s · %s (%d CPUs)\n", (long long)s->id,
           e->host, e->kernel, e->cpu_model, e->cpus);
    printf("plumb %s", e->plumb_version);
    if (s->git_commit)
        printf(" · commit %s", s->git_commit);
    if (s->invocation)
        printf(" · %s", s->invocation);
    printf("\n");
    printf("\n");
}

int cli_show(int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'},
        {"format", required_argument, NULL, 'f'},
        {"top", required_argument, NULL, OPT_FIRST_LOCAL},
        {"stacks", required_argument, NULL, OPT_FIRST_LOCAL + 1},
        CLI_OUTPUT_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    cli_output_t out;
    const char *store_path = NULL, *format = "text", *stacks = "peak";
    unsigned top = 0; /* 0: each kind's own default */
    int opt;
    cli_output_init(&out);
    while ((opt = getopt_long(argc, argv, "f:vh", options, NULL)) != -1) {
        int shared = cli_output_option(&out, opt, optarg);
        if (shared < 0)
            return CLI_USAGE;
        if (shared > 0)
            continue;
        if (opt == OPT_STORE) {
            store_path = optarg;
        } else if (opt == 'f') {
            if (!cli_profile_format_ok(optarg))
                return CLI_USAGE;
            format = optarg;
        } else if (opt == OPT_FIRST_LOCAL) {
            if (cli_parse_top(optarg, &top))
                return CLI_USAGE;
        } else if (opt == OPT_FIRST_LOCAL + 1) {
            if (!cli_mem_stacks_ok(optarg))
                return CLI_USAGE;
            stacks = optarg;
        } else if (opt == 'h') {
            fputs(usage, stdout);
            return CLI_OK;
        } else {
            fputs(usage, stderr);
            return CLI_USAGE;
        }
    }
    int64_t id;
    if (optind != argc - 1) {
        cli_error("plumb show takes one run id (see plumb runs)");
        return CLI_USAGE;
    }
    if (cli_parse_run_id(argv[optind], &id))
        return CLI_USAGE;
    plumb_store_t *st = cli_open_store(store_path);
    if (!st)
        return CLI_FAILED;
    plumb_mem_t *m = NULL;
    int err = plumb_store_load_mem(st, id, &m);
    if (!err) {
        plumb_store_close(st);
        int rc = cli_print_mem(m, format, stacks, out.color, top ? top : 10,
                               NULL);
        plumb_mem_free(m);
        return rc;
    }
    if (err != PLUMB_ENOTFOUND) {
        cli_error("cannot read run %lld: %s", (long long)id,
                  plumb_store_errmsg(st));
        plumb_store_close(st);
        return CLI_FAILED;
    }
    plumb_profile_t *p = NULL;
    err = plumb_store_load_profile(st, id, &p);
    if (!err) {
        plumb_store_close(st);
        int rc = cli_print_profile(p, format, out.color, top ? top : 20,
                                   NULL);
        plumb_profile_free(p);
        return rc;
    }
    if (err != PLUMB_ENOTFOUND) {
        cli_error("cannot read run %lld: %s", (long long)id,
                  plumb_store_errmsg(st));
        plumb_store_close(st);
        return CLI_FAILED;
    }
    plumb_session_t *s = NULL;
    err = plumb_store_load_run(st, id, &s);
    if (err == PLUMB_ENOTFOUND) {
        cli_error("no run %lld in %s; plumb runs lists the stored runs",
                  (long long)id, plumb_store_default_path(store_path));
        plumb_store_close(st);
        return CLI_FAILED;
    }
    if (err) {
        cli_error("cannot read run %lld: %s", (long long)id,
                  plumb_store_errmsg(st));
        plumb_store_close(st);
        return CLI_FAILED;
    }
    plumb_store_close(st);
    int to_stdout = (out.json && !strcmp(out.json, "-")) ||
                    (out.csv && !strcmp(out.csv, "-")) ||
                    (out.markdown && !strcmp(out.markdown, "-"));
    if (!to_stdout)
        print_environment(s);
    int rc = cli_output_session(s, &out);
    plumb_session_free(s);
    return rc;
}
