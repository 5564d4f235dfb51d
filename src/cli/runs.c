/* runs.c: `plumb runs`: the stored history, newest first. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <getopt.h>
#include <string.h>
#include <time.h>

static const char usage[] =
    "usage: plumb runs [--limit N] [--store PATH]\n"
    "\n"
    "Lists stored runs, newest first: one line per run (a command at fixed\n"
    "parameter values, or a Python callable timed by plumb.bench or the\n"
    "pytest fixture) with its session, date, run count and median wall\n"
    "time (per call for a Python callable; profiles and memory profiles:\n"
    "their sample count).\n"
    "Use plumb show ID or plumb compare ID ID on them.\n"
    "\n"
    "  -l, --limit N     the newest N runs (20; 0 for all)\n"
    "      --store PATH  the store (default $PLUMB_STORE or .plumb/plumb.db)\n";

int cli_runs(int argc, char **argv)
{
    static const struct option options[] = {
        {"limit", required_argument, NULL, 'l'},
        {"store", required_argument, NULL, OPT_STORE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    unsigned limit = 20;
    const char *store_path = NULL;
    int opt;
    while ((opt = getopt_long(argc, argv, "l:h", options, NULL)) != -1) {
        switch (opt) {
        case 'l':
            if (cli_parse_uint(optarg, &limit)) {
                cli_error("--limit takes a whole number (got '%s')", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_STORE:
            store_path = optarg;
            break;
        case 'h':
            fputs(usage, stdout);
            return CLI_OK;
        default:
            fputs(usage, stderr);
            return CLI_USAGE;
        }
    }
    if (optind < argc) {
        cli_error("unexpected argument '%s' (plumb runs --help)",
                  argv[optind]);
        return CLI_USAGE;
    }
    plumb_store_t *st = cli_open_store(store_path);
    if (!st)
        return CLI_FAILED;
    plumb_run_info_t *infos = NULL;
    size_t n = 0;
    int err = plumb_store_list(st, limit, &infos, &n);
    if (err) {
        cli_error("cannot read the store: %s", plumb_store_errmsg(st));
        plumb_store_close(st);
        return CLI_FAILED;
    }
    if (n == 0)
        printf("no stored runs in %s; measure with plumb bench\n",
               plumb_store_default_path(store_path));
    else
        printf("%6s %7s  %-19s %5s %12s  %s\n", "RUN", "SESSION", "DATE",
               "N", "MEDIAN", "NAME");
    for (size_t i = 0; i < n; i++) {
        time_t t = (time_t)(infos[i].created_ns / 1000000000);
        struct tm tm;
        char date[32] = "?";
        if (localtime_r(&t, &tm))
            strftime(date, sizeof date, "%Y-%m-%d %H:%M:%S", &tm);
        char median[32];
        double ns = infos[i].median_wall_ns;
        if (infos[i].profile)
            snprintf(median, sizeof median, "profile");
        else if (infos[i].mem)
            snprintf(median, sizeof median, "mem");
        else if (ns != ns)
            snprintf(median, sizeof median, "n/a");
        else if (ns >= 1e9)
            snprintf(median, sizeof median, "%.3f s", ns / 1e9);
        else if (ns >= 1e6)
            snprintf(median, sizeof median, "%.3f ms", ns / 1e6);
        else if (ns >= 1e3)
            snprintf(median, sizeof median, "%.1f us", ns / 1e3);
        else /* a Python callable's time per call (plumb.bench) */
            snprintf(median, sizeof median, "%.1f ns", ns);
        printf("%6lld %7lld  %-19s %5zu %12s  %s%s\n",
               (long long)infos[i].run_id, (long long)infos[i].session_id,
               date, infos[i].n_samples, median, infos[i].name,
               infos[i].partial ? "  (partial)" : "");
    }
    plumb_run_info_free(infos, n);
    plumb_store_close(st);
    return CLI_OK;
}
