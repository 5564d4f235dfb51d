/* main.c: the plumb tool's dispatch to its subcommands (cli_main) and the
 * binary's entry point. The Python extension links the tool without this
 * file's main() (PLUMB_NO_MAIN) and calls cli_main for `python -m plumb`. */
#include "cli/cli.h"

#include <string.h>

static const char usage[] =
    "usage: plumb COMMAND [options]\n"
    "\n"
    "Commands:\n"
    "  bench CMD [CMD...]   measure commands and compare them with the "
    "first\n"
    "  runs                 list stored runs\n"
    "  show ID              print one stored run\n"
    "  compare ID ID        compare two stored runs (baseline first)\n"
    "  profile -- CMD       where a Python program's time goes (sampling)\n"
    "  mem -- CMD           where a Python program's memory goes (peak,\n"
    "                       the lines holding it, leaks)\n"
    "  sql -- CMD           slow, N+1 and unindexed queries, and the\n"
    "                       indexes that fix them, proven by re-running\n"
    "\n"
    "Run 'plumb COMMAND --help' for a command's options.\n"
    "Results are stored in .plumb/plumb.db (or --store PATH, or "
    "$PLUMB_STORE).\n";

int cli_main(int argc, char **argv)
{
    if (argc < 2) {
        fputs(usage, stderr);
        return CLI_USAGE;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
        fputs(usage, stdout);
        return CLI_OK;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("plumb %s (JSON schema %d)\n", PLUMB_VERSION,
               PLUMB_JSON_SCHEMA_VERSION);
        return CLI_OK;
    }
    if (!strcmp(cmd, "bench"))
        return cli_bench(argc - 1, argv + 1);
    if (!strcmp(cmd, "runs"))
        return cli_runs(argc - 1, argv + 1);
    if (!strcmp(cmd, "show"))
        return cli_show(argc - 1, argv + 1);
    if (!strcmp(cmd, "compare"))
        return cli_compare(argc - 1, argv + 1);
    if (!strcmp(cmd, "profile"))
        return cli_profile(argc - 1, argv + 1);
    if (!strcmp(cmd, "mem"))
        return cli_mem(argc - 1, argv + 1);
    if (!strcmp(cmd, "sql"))
        return cli_sql(argc - 1, argv + 1);
    cli_error("unknown command '%s'; the commands are bench, runs, show, "
              "compare, profile, mem and sql (plumb --help)", cmd);
    return CLI_USAGE;
}

#ifndef PLUMB_NO_MAIN
int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
#endif
