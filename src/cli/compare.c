/* compare.c: `plumb compare ID ID`: two stored runs analysed again with the
 * same statistics as plumb bench, the first as the baseline; or two stored
 * profiles, function by function (plumb_report_profile_diff); or two
 * memory profiles, by the bytes at their peaks (plumb_report_mem_diff). */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <getopt.h>
#include <string.h>

static const char usage[] =
    "usage: plumb compare [options] BASELINE_RUN CANDIDATE_RUN\n"
    "\n"
    "Compares two stored runs (see plumb runs for ids) with the statistics\n"
    "of plumb bench: ratio of medians with a bootstrap CI, Mann-Whitney U\n"
    "p-value and a verdict on wall time, CPU time, max RSS and bytes "
    "written.\n"
    "Two stored profiles (plumb profile) are compared by function instead:\n"
    "each one's share of the samples in both, and the change in percentage\n"
    "points, the 20 biggest changes first; two stored memory profiles\n"
    "(plumb mem) by the bytes each function held at the peak, with the\n"
    "two peaks and their ratio.\n"
    "\n"
    "      --store PATH            the store (default $PLUMB_STORE or\n"
    "                              .plumb/plumb.db)\n" CLI_OUTPUT_OPTION_HELP;

int cli_parse_run_id(const char *text, int64_t *id);

static int load(plumb_store_t *st, int64_t id, const char *store_path,
                plumb_session_t **s)
{
    int err = plumb_store_load_run(st, id, s);
    if (err == PLUMB_ENOTFOUND)
        cli_error("no run %lld in %s; plumb runs lists the stored runs",
                  (long long)id, plumb_store_default_path(store_path));
    else if (err)
        cli_error("cannot read run %lld: %s", (long long)id,
                  plumb_store_errmsg(st));
    return err;
}

int cli_compare(int argc, char **argv)
{
    static const struct option options[] = {
        {"help", no_argument, NULL, 'h'}, CLI_OUTPUT_LONG_OPTIONS,
        {NULL, 0, NULL, 0}};
    cli_output_t out;
    const char *store_path = NULL;
    int opt, rc = CLI_FAILED;
    cli_output_init(&out);
    while ((opt = getopt_long(argc, argv, "vh", options, NULL)) != -1) {
        int shared = cli_output_option(&out, opt, optarg);
        if (shared < 0)
            return CLI_USAGE;
        if (shared > 0)
            continue;
        if (opt == OPT_STORE) {
            store_path = optarg;
        } else if (opt == 'h') {
            fputs(usage, stdout);
            return CLI_OK;
        } else {
            fputs(usage, stderr);
            return CLI_USAGE;
        }
    }
    int64_t ids[2];
    if (optind != argc - 2) {
        cli_error("plumb compare takes two run ids, the baseline first (see "
                  "plumb runs)");
        return CLI_USAGE;
    }
    if (cli_parse_run_id(argv[optind], &ids[0]) ||
        cli_parse_run_id(argv[optind + 1], &ids[1]))
        return CLI_USAGE;
    plumb_store_t *st = cli_open_store(store_path);
    if (!st)
        return CLI_FAILED;
    plumb_session_t *base = NULL, *cand = NULL;
    plumb_profile_t *prof[2] = {NULL, NULL};
    plumb_mem_t *mem[2] = {NULL, NULL};
    plumb_run_t *copy;
    for (int i = 0; i < 2; i++) {
        int err = plumb_store_load_mem(st, ids[i], &mem[i]);
        if (err && err != PLUMB_ENOTFOUND) {
            cli_error("cannot read run %lld: %s", (long long)ids[i],
                      plumb_store_errmsg(st));
            goto out;
        }
    }
    if (mem[0] && mem[1]) {
        rc = cli_print_mem_diff(mem[0], mem[1], out.color, 20);
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        int err = plumb_store_load_profile(st, ids[i], &prof[i]);
        if (err && err != PLUMB_ENOTFOUND) {
            cli_error("cannot read run %lld: %s", (long long)ids[i],
                      plumb_store_errmsg(st));
            goto out;
        }
    }
    if (prof[0] && prof[1]) {
        rc = cli_print_profile_diff(prof[0], prof[1], out.color, 20);
        goto out;
    }
    if (mem[0] || mem[1]) {
        /* One memory profile: the other is something else, or nothing. */
        int other = mem[0] ? 1 : 0;
        const char *what = prof[other] ? "a profile" : "a benchmark run";
        if (prof[other] || load(st, ids[other], store_path, &base) == 0)
            cli_error("run %lld is a memory profile and run %lld %s: plumb "
                      "compare takes two memory profiles, two profiles or "
                      "two benchmark runs",
                      (long long)ids[1 - other], (long long)ids[other], what);
        goto out;
    }
    if (prof[0] || prof[1]) {
        /* One profile: the other is a bench run, or no run at all. */
        int other = prof[0] ? 1 : 0;
        if (load(st, ids[other], store_path, &base) == 0)
            cli_error("run %lld is a profile and run %lld a benchmark run: "
                      "plumb compare takes two profiles or two benchmark "
                      "runs",
                      (long long)ids[1 - other], (long long)ids[other]);
        goto out;
    }
    if (load(st, ids[0], store_path, &base) ||
        load(st, ids[1], store_path, &cand))
        goto out;
    if (plumb_session_copy_run(base, &cand->runs[0], &copy) != 0) {
        cli_error("out of memory");
        goto out;
    }
    copy->baseline = 0;
    if (strcmp(base->env.host, cand->env.host) != 0 ||
        strcmp(base->env.cpu_model, cand->env.cpu_model) != 0)
        cli_note("the two runs were measured on different machines (%s, "
                 "%s): differences may come from the machines",
                 base->env.host, cand->env.host);
    rc = cli_output_session(base, &out);
out:
    plumb_mem_free(mem[0]);
    plumb_mem_free(mem[1]);
    plumb_profile_free(prof[0]);
    plumb_profile_free(prof[1]);
    plumb_session_free(base);
    plumb_session_free(cand);
    plumb_store_close(st);
    return rc;
}
