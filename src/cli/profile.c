/* profile.c: `plumb profile`: starts a program (or attaches to one) and
 * samples its Python stacks from outside, then prints where the time went
 * or writes a flame graph. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: plumb profile [options] -- CMD [ARGS...]\n"
    "       plumb profile [options] -p PID\n"
    "\n"
    "Samples a CPython program's stacks from outside the process, without\n"
    "stopping it or changing its code, and shows where the time goes.\n"
    "\n"
    "  -p, --pid PID          attach to a running process (Ctrl-C detaches)\n"
    "  -d, --duration S       stop sampling after S seconds\n"
    "  -c, --children         also sample the Python processes it starts\n"
    "                         (multiprocessing, shell wrappers), by pid\n"
    "  -r, --rate HZ          samples per second (2000)\n"
    "  -m, --mode MODE        cpu: only threads on a CPU (default); wall:\n"
    "                         every thread, so waiting and I/O show up\n"
    "  -f, --format FORMAT    text (a summary, the default), json (the\n"
    "                         header, functions, lines and stacks, versioned:\n"
    "                         docs/json.md), collapsed (FlameGraph, inferno)\n"
    "                         or speedscope\n"
    "  -o, --output FILE      write there instead of stdout\n"
    "      --top N            rows in each summary table (20)\n"
    "      --store PATH       the store (default $PLUMB_STORE or\n"
    "                         .plumb/plumb.db); plumb show ID prints it again\n"
    "      --no-store         do not store this profile\n"
    "      --color WHEN       auto, always or never (NO_COLOR is "
    "respected)\n"
    "\n"
    "Exit status: 0 when the profile was taken, whatever the program's own\n"
    "exit status or the signal that killed it (the summary says how it\n"
    "ended, and plumb show ID says it again); 1 when the program could not\n"
    "be profiled, or the profile written or stored; 2 for wrong arguments.\n";

enum { OPT_TOP = OPT_FIRST_LOCAL, OPT_NO_STORE };

static void explain(int err, const char *why)
{
    if (why && *why)
        cli_error("%s", why);
    else
        cli_error("%s", plumb_strerror(err));
}

int cli_profile(int argc, char **argv)
{
    static const struct option options[] = {
        {"pid", required_argument, NULL, 'p'},
        {"duration", required_argument, NULL, 'd'},
        {"children", no_argument, NULL, 'c'},
        {"rate", required_argument, NULL, 'r'},
        {"mode", required_argument, NULL, 'm'},
        {"format", required_argument, NULL, 'f'},
        {"output", required_argument, NULL, 'o'},
        {"top", required_argument, NULL, OPT_TOP},
        {"store", required_argument, NULL, OPT_STORE},
        {"no-store", no_argument, NULL, OPT_NO_STORE},
        {"color", required_argument, NULL, OPT_COLOR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    plumb_profile_opts_t opts;
    const char *format = "text", *output = NULL, *color = "auto";
    const char *store_path = NULL;
    int no_store = 0;
    unsigned pid = 0, top = 20;
    int opt;
    plumb_profile_opts_init(&opts);
    while ((opt = getopt_long(argc, argv, "+p:d:cr:m:f:o:h", options, NULL)) !=
           -1) {
        switch (opt) {
        case 'p':
            if (cli_parse_uint(optarg, &pid) || pid == 0) {
                cli_error("--pid takes a process id (got '%s')", optarg);
                return CLI_USAGE;
            }
            break;
        case 'd':
            if (cli_parse_double(optarg, &opts.duration_s) ||
                opts.duration_s <= 0) {
                cli_error("--duration takes seconds, such as 30 (got '%s')",
                          optarg);
                return CLI_USAGE;
            }
            break;
        case 'c':
            opts.children = 1;
            break;
        case 'r':
            if (cli_parse_double(optarg, &opts.rate_hz) ||
                opts.rate_hz <= 0 || opts.rate_hz > 1e6) {
                cli_error("--rate takes samples per second, 1 to 1000000 "
                          "(got '%s')", optarg);
                return CLI_USAGE;
            }
            break;
        case 'm':
            if (!strcmp(optarg, "cpu"))
                opts.mode = PLUMB_PROFILE_CPU;
            else if (!strcmp(optarg, "wall"))
                opts.mode = PLUMB_PROFILE_WALL;
            else {
                cli_error("--mode takes cpu or wall (got '%s')", optarg);
                return CLI_USAGE;
            }
            break;
        case 'f':
            if (!cli_profile_format_ok(optarg))
                return CLI_USAGE;
            format = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case OPT_TOP:
            if (cli_parse_top(optarg, &top))
                return CLI_USAGE;
            break;
        case OPT_COLOR:
            color = optarg;
            break;
        case OPT_STORE:
            store_path = optarg;
            break;
        case OPT_NO_STORE:
            no_store = 1;
            break;
        case 'h':
            fputs(usage, stdout);
            return CLI_OK;
        default:
            fputs(usage, stderr);
            return CLI_USAGE;
        }
    }
    if (pid && optind < argc) {
        cli_error("give either -p PID or a command after --, not both");
        return CLI_USAGE;
    }
    if (!pid && optind >= argc) {
        cli_error("nothing to profile; e.g. plumb profile -- python3 app.py, "
                  "or plumb profile -p PID");
        return CLI_USAGE;
    }
    /* Opened before sampling: a bad store path fails now, not after a long
     * session whose results would then be lost. */
    plumb_store_t *st = NULL;
    if (!no_store && !(st = cli_open_store(store_path)))
        return CLI_FAILED;
    cli_catch_interrupts();
    opts.cancel = &cli_interrupted;
    plumb_profile_t *p = NULL;
    char why[512] = "";
    int err = pid ? plumb_profile_attach((int)pid, &opts, &p, why, sizeof why)
                  : plumb_profile_launch(argv + optind, &opts, &p, why,
                                         sizeof why);
    if (err) {
        explain(err, why);
        plumb_store_close(st);
        return err == PLUMB_EINVAL ? CLI_USAGE : CLI_FAILED;
    }
    /* named as the store names it, so that a stored profile reads back
     * the same */
    char *command = pid ? NULL : cli_join_words(NULL, argc - optind,
                                                 argv + optind);
    if (command)
        snprintf(p->command, sizeof p->command, "%s", command);
    else
        snprintf(p->command, sizeof p->command, "pid %ld", (long)p->pid);
    free(command);
    int64_t run_id = 0;
    int stored = !st || cli_profile_save(st, store_path, p, argc, argv,
                                         pid ? 0 : argc - optind,
                                         argv + optind, &run_id) == 0;
    /* stored before the report is written, so that a reader that stops
     * early (| head) loses nothing; said after it, where it is seen */
    int rc = cli_print_profile(p, format, color, top, output);
    if (rc == CLI_OK && output)
        cli_note("%llu samples (%llu dropped) written to %s",
                 (unsigned long long)p->samples,
                 (unsigned long long)p->dropped, output);
    if (st && stored)
        cli_note_stored(run_id, store_path);
    plumb_store_close(st);
    plumb_profile_free(p);
    return rc == CLI_OK && !stored ? CLI_FAILED : rc;
}
