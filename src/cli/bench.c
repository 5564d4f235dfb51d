/* bench.c: `plumb bench`: reads the options into plumb_bench_opts_t, runs
 * the library's benchmark with a progress bar, prints, exports and stores
 * the session, and turns failures into messages that say what to do. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: plumb bench [options] CMD [CMD...]\n"
    "\n"
    "Measures commands and compares each with the first (the baseline):\n"
    "wall, CPU, memory and I/O per run from the kernel's accounting, then a\n"
    "ratio of medians with a bootstrap CI, a Mann-Whitney U p-value and a\n"
    "verdict. Every invocation is stored (see plumb runs).\n"
    "\n"
    "  -n, --name NAME             label the next command (repeat, in order)\n"
    "      --baseline NAME         compare with this command (or value of\n"
    "                              --compare-param) instead of the first\n"
    "  -w, --warmup N              unmeasured runs per command first (1)\n"
    "  -m, --min-runs N            at least N runs per command (10)\n"
    "  -M, --max-runs N            at most N runs per command (no cap)\n"
    "  -r, --runs N                exactly N runs per command\n"
    "  -b, --budget SECONDS        measure each command for about this long "
    "(3)\n"
    "      --order ORDER           blocks (random order each round, the\n"
    "                              default), interleave (A B A B) or\n"
    "                              sequential (all A, then all B)\n"
    "  -P, --param NAME=V1,V2,...  substitute each value for {NAME}; numeric\n"
    "                              scans of 3+ values get a complexity fit\n"
    "      --compare-param NAME    compare the values of NAME with each "
    "other\n"
    "      --prepare CMD           run CMD before every run (not timed)\n"
    "      --setup CMD             run CMD before a command's first run\n"
    "      --cleanup CMD           run CMD after a command's last run\n"
    "  -t, --timeout SECONDS       kill a run (and its process group) after\n"
    "  -i, --ignore-failure        keep runs that fail instead of stopping\n"
    "  -S, --shell SHELL           run every command through SHELL -c, or\n"
    "                              'none' for never (default: only when a\n"
    "                              command uses shell syntax)\n"
    "      --show-output           let the commands' stdout through\n"
    "      --store PATH            the store (default $PLUMB_STORE or\n"
    "                              .plumb/plumb.db)\n"
    "      --no-store              do not store this invocation\n"
    "      --no-progress           no progress bar on stderr\n" CLI_OUTPUT_OPTION_HELP;

enum {
    OPT_BASELINE = OPT_FIRST_LOCAL,
    OPT_ORDER,
    OPT_COMPARE_PARAM,
    OPT_PREPARE,
    OPT_SETUP,
    OPT_CLEANUP,
    OPT_SHOW_OUTPUT,
    OPT_NO_STORE,
    OPT_NO_PROGRESS
};

static const struct option long_options[] = {
    {"name", required_argument, NULL, 'n'},
    {"baseline", required_argument, NULL, OPT_BASELINE},
    {"warmup", required_argument, NULL, 'w'},
    {"min-runs", required_argument, NULL, 'm'},
    {"max-runs", required_argument, NULL, 'M'},
    {"runs", required_argument, NULL, 'r'},
    {"budget", required_argument, NULL, 'b'},
    {"order", required_argument, NULL, OPT_ORDER},
    {"param", required_argument, NULL, 'P'},
    {"compare-param", required_argument, NULL, OPT_COMPARE_PARAM},
    {"prepare", required_argument, NULL, OPT_PREPARE},
    {"setup", required_argument, NULL, OPT_SETUP},
    {"cleanup", required_argument, NULL, OPT_CLEANUP},
    {"timeout", required_argument, NULL, 't'},
    {"ignore-failure", no_argument, NULL, 'i'},
    {"shell", required_argument, NULL, 'S'},
    {"show-output", no_argument, NULL, OPT_SHOW_OUTPUT},
    {"no-store", no_argument, NULL, OPT_NO_STORE},
    {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
    {"help", no_argument, NULL, 'h'},
    CLI_OUTPUT_LONG_OPTIONS,
    {NULL, 0, NULL, 0}};

/* A --param: its name and its comma-separated values, split in place. */
typedef struct {
    char *text;
    char *name;
    char **values;
    size_t n_values;
} param_arg_t;

static int split_param(const char *arg, param_arg_t *p)
{
    memset(p, 0, sizeof *p);
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        cli_error("--param takes NAME=V1,V2,... (got '%s'), e.g. --param "
                  "n=1000,10000,100000", arg);
        return -1;
    }
    if (!(p->text = strdup(arg)))
        return -1;
    p->name = p->text;
    p->text[eq - arg] = '\0';
    char *rest = p->text + (eq - arg) + 1;
    size_t commas = 1;
    for (char *c = rest; *c; c++)
        commas += *c == ',';
    if (!(p->values = calloc(commas, sizeof *p->values)))
        return -1;
    for (char *tok = strtok(rest, ","); tok; tok = strtok(NULL, ","))
        p->values[p->n_values++] = tok;
    if (p->n_values == 0) {
        cli_error("--param %s has no values", p->name);
        return -1;
    }
    return 0;
}

/* The progress bar: stderr only, and only on a terminal. */
static void show_progress(const plumb_progress_t *p, void *data)
{
    (void)data;
    char eta[32] = "";
    if (p->eta_ns >= 0)
        snprintf(eta, sizeof eta, "ETA %3.0fs", (double)p->eta_ns / 1e9);
    size_t width = 24, filled = 0;
    if (p->runs_total)
        filled = p->runs_done * width / p->runs_total;
    if (filled > width)
        filled = width;
    char bar[32];
    memset(bar, '#', filled);
    memset(bar + filled, '.', width - filled);
    bar[width] = '\0';
    fprintf(stderr, "\r\033[K[%s] %zu/%zu %s  %.40s", bar, p->runs_done,
            p->runs_total, eta, p->current ? p->current : "");
    fflush(stderr);
}

static const char *signal_name(int sig)
{
    const char *name = strsignal(sig);
    return name ? name : "unknown signal";
}

/* Which of its runs failed, in the user's words. */
static const char *phase_words(const char *phase)
{
    if (!phase)
        return "a run";
    if (!strcmp(phase, "warmup"))
        return "a warm-up run";
    if (!strcmp(phase, "run"))
        return "a measured run";
    if (!strcmp(phase, "prepare"))
        return "the --prepare command";
    if (!strcmp(phase, "setup"))
        return "the --setup command";
    if (!strcmp(phase, "cleanup"))
        return "the --cleanup command";
    return phase;
}

/* 1 when text parses only with a shell. */
static int needs_shell(const char *text)
{
    plumb_command_t *cmd = NULL;
    int shell = plumb_command_new(text, PLUMB_SHELL_AUTO, NULL, &cmd) == 0 &&
                plumb_command_uses_shell(cmd);
    plumb_command_free(cmd);
    return shell;
}

/* Tells the user what failed and what to do about it. */
static void explain_failure(const plumb_bench_failure_t *f,
                            const plumb_bench_opts_t *o)
{
    const char *cmd = f->command ? f->command : "";
    const char *when = phase_words(f->phase);
    switch (f->err) {
    case PLUMB_ENOENT:
        cli_error("command not found: '%s' (in '%s'); check the spelling "
                  "and PATH, or use --shell sh for a shell builtin or alias",
                  f->program ? f->program : cmd, cmd);
        break;
    case PLUMB_EEXEC:
        cli_error("cannot start '%s' (in '%s'): it is not an executable "
                  "file; check its permissions (chmod +x) or its #! line",
                  f->program ? f->program : cmd, cmd);
        break;
    case PLUMB_ETIMEDOUT:
        cli_error("'%s' timed out after %.3g s in %s and was killed with "
                  "its process group; raise --timeout, or pass "
                  "--ignore-failure to keep such runs",
                  cmd, (double)o->timeout_ns / 1e9, when);
        break;
    case PLUMB_EFAILED:
        if (f->term_signal)
            cli_error("'%s' was killed by signal %d (%s) in %s", cmd,
                      f->term_signal, signal_name(f->term_signal), when);
        else
            cli_error("'%s' exited with status %d in %s", cmd, f->exit_code,
                      when);
        if (f->stderr_tail[0]) {
            fprintf(stderr, "its stderr ended with:\n");
            char *copy = strdup(f->stderr_tail);
            for (char *line = copy ? strtok(copy, "\n") : NULL; line;
                 line = strtok(NULL, "\n"))
                fprintf(stderr, "  | %s\n", line);
            free(copy);
        }
        if (f->phase && (!strcmp(f->phase, "run") ||
                         !strcmp(f->phase, "warmup")))
            fprintf(stderr, "plumb: fix the command, or pass "
                            "--ignore-failure to measure failing runs "
                            "anyway\n");
        else
            fprintf(stderr, "plumb: %s must succeed for plumb to measure\n",
                    when);
        break;
    case PLUMB_EINVAL:
        if (f->stderr_tail[0])
            cli_error("%s: '%s'", f->stderr_tail, cmd);
        else if (o->shell_mode == PLUMB_SHELL_NONE && needs_shell(cmd))
            cli_error("'%s' uses shell syntax, but --shell none forbids a "
                      "shell; drop --shell none or write the command "
                      "without pipes, redirections or variables", cmd);
        else
            cli_error("cannot parse the command '%s': a quote is not "
                      "closed, or the command is empty", cmd);
        break;
    default:
        cli_error("'%s' in %s: %s", cmd, when, plumb_strerror(f->err));
    }
}

static int store_session(const char *path, plumb_session_t *s)
{
    plumb_store_t *st = cli_open_store(path);
    if (!st)
        return CLI_FAILED;
    int err = plumb_store_save(st, s);
    if (err) {
        cli_error("cannot store the results in %s: %s; nothing was stored",
                  plumb_store_default_path(path), plumb_store_errmsg(st));
        plumb_store_close(st);
        return CLI_FAILED;
    }
    plumb_store_close(st);
    cli_note("stored as session %lld (runs %lld-%lld) in %s%s",
             (long long)s->id, (long long)s->runs[0].id,
             (long long)s->runs[s->n_runs - 1].id,
             plumb_store_default_path(path), s->partial ? ", marked partial"
                                                        : "");
    return CLI_OK;
}

int cli_bench(int argc, char **argv)
{
    plumb_bench_opts_t opts;
    cli_output_t out;
    const char *store_path = NULL;
    const char *names[256];
    size_t n_names = 0, n_params = 0;
    param_arg_t params[16];
    int no_store = 0, progress = isatty(STDERR_FILENO), rc = CLI_USAGE;
    plumb_bench_t *bench = NULL;
    plumb_session_t *session = NULL;
    char *invocation = NULL;
    double seconds;
    int opt;

    plumb_bench_opts_init(&opts);
    cli_output_init(&out);
    memset(params, 0, sizeof params);
    while ((opt = getopt_long(argc, argv, "n:w:m:M:r:b:P:t:iS:vh",
                              long_options, NULL)) != -1) {
        int shared = cli_output_option(&out, opt, optarg);
        if (shared < 0)
            goto out;
        if (shared > 0) {
            if (opt == OPT_SEED)
                opts.seed = out.compare.seed;
            continue;
        }
        switch (opt) {
        case 'n':
            if (n_names == sizeof names / sizeof *names) {
                cli_error("too many --name options");
                goto out;
            }
            names[n_names++] = optarg;
            break;
        case OPT_BASELINE:
            opts.baseline = optarg;
            break;
        case 'w':
            if (cli_parse_uint(optarg, &opts.warmup)) {
                cli_error("--warmup takes a whole number (got '%s')", optarg);
                goto out;
            }
            break;
        case 'm':
        case 'M':
        case 'r': {
            unsigned v;
            if (cli_parse_uint(optarg, &v) || (opt != 'M' && v < 2) ||
                v == 0) {
                cli_error("-%c takes a whole number of runs, at least 2 "
                          "(got '%s')", opt, optarg);
                goto out;
            }
            *(opt == 'm' ? &opts.min_runs
                         : opt == 'M' ? &opts.max_runs : &opts.runs) = v;
            break;
        }
        case 'b':
            if (cli_parse_double(optarg, &opts.budget_s) ||
                opts.budget_s < 0) {
                cli_error("--budget takes seconds, such as 3 or 0.5 (got "
                          "'%s')", optarg);
                goto out;
            }
            break;
        case OPT_ORDER:
            if (!strcmp(optarg, "blocks"))
                opts.schedule = PLUMB_SCHEDULE_BLOCKS;
            else if (!strcmp(optarg, "interleave"))
                opts.schedule = PLUMB_SCHEDULE_INTERLEAVE;
            else if (!strcmp(optarg, "sequential"))
                opts.schedule = PLUMB_SCHEDULE_SEQUENTIAL;
            else {
                cli_error("--order takes blocks, interleave or sequential "
                          "(got '%s')", optarg);
                goto out;
            }
            break;
        case 'P':
            if (n_params == sizeof params / sizeof *params) {
                cli_error("too many --param options (at most %zu)",
                          sizeof params / sizeof *params);
                goto out;
            }
            if (split_param(optarg, &params[n_params++]))
                goto out;
            break;
        case OPT_COMPARE_PARAM:
            opts.compare_param = optarg;
            break;
        case OPT_PREPARE:
            opts.prepare = optarg;
            break;
        case OPT_SETUP:
            opts.setup = optarg;
            break;
        case OPT_CLEANUP:
            opts.cleanup = optarg;
            break;
        case 't':
            if (cli_parse_double(optarg, &seconds) || seconds <= 0) {
                cli_error("--timeout takes seconds, such as 10 or 0.5 (got "
                          "'%s')", optarg);
                goto out;
            }
            opts.timeout_ns = (int64_t)(seconds * 1e9);
            break;
        case 'i':
            opts.ignore_failure = 1;
            break;
        case 'S':
            if (!strcmp(optarg, "none"))
                opts.shell_mode = PLUMB_SHELL_NONE;
            else {
                opts.shell_mode = PLUMB_SHELL_ALWAYS;
                opts.shell = optarg;
            }
            break;
        case OPT_SHOW_OUTPUT:
            opts.show_output = 1;
            break;
        case OPT_STORE:
            store_path = optarg;
            break;
        case OPT_NO_STORE:
            no_store = 1;
            break;
        case OPT_NO_PROGRESS:
            progress = 0;
            break;
        case 'h':
            fputs(usage, stdout);
            rc = CLI_OK;
            goto out;
        default:
            fputs(usage, stderr);
            goto out;
        }
    }
    if (optind >= argc) {
        cli_error("no command to measure; e.g. plumb bench 'python3 "
                  "slow.py' 'python3 fast.py'");
        goto out;
    }
    if ((size_t)(argc - optind) < n_names) {
        cli_error("%zu --name options for %d commands", n_names,
                  argc - optind);
        goto out;
    }
    if (opts.min_runs && opts.max_runs && opts.max_runs < opts.min_runs) {
        cli_error("--max-runs %u is below --min-runs %u", opts.max_runs,
                  opts.min_runs);
        goto out;
    }
    /* record how plumb was invoked, for the history */
    invocation = cli_join_words("plumb", argc, argv);
    opts.invocation = invocation;
    opts.cancel = &cli_interrupted;
    if (progress) {
        opts.progress = show_progress;
    }
    out.compare.seed = opts.seed;

    /* open the store before measuring so a bad path fails at once */
    if (!no_store) {
        plumb_store_t *st = cli_open_store(store_path);
        if (!st) {
            rc = CLI_FAILED;
            goto out;
        }
        plumb_store_close(st);
    }
    int err = plumb_bench_new(&opts, &bench);
    for (int i = optind; !err && i < argc; i++) {
        size_t k = (size_t)(i - optind);
        err = plumb_bench_add_command(bench, k < n_names ? names[k] : NULL,
                                      argv[i]);
        if (err == PLUMB_EINVAL) {
            cli_error("command %zu is empty", k + 1);
            goto out;
        }
    }
    for (size_t i = 0; !err && i < n_params; i++) {
        err = plumb_bench_add_param(bench, params[i].name,
                                    params[i].n_values,
                                    (const char *const *)params[i].values);
        if (err == PLUMB_EINVAL) {
            cli_error("--param %s is given twice", params[i].name);
            goto out;
        }
    }
    if (err) {
        cli_error("%s", plumb_strerror(err));
        rc = CLI_FAILED;
        goto out;
    }
    cli_catch_interrupts();
    err = plumb_bench_run(bench, &session);
    if (progress)
        fputs("\r\033[K", stderr);
    if (err && err != PLUMB_ECANCELED) {
        explain_failure(plumb_bench_failure(bench), &opts);
        fprintf(stderr, "plumb: nothing was stored\n");
        rc = err == PLUMB_EINVAL ? CLI_USAGE : CLI_FAILED;
        goto out;
    }
    if (err == PLUMB_ECANCELED) {
        size_t measured = 0;
        for (size_t i = 0; i < session->n_runs; i++)
            measured += session->runs[i].n_samples;
        cli_note("interrupted: showing the %zu runs measured so far "
                 "(partial)", measured);
        if (measured == 0) {
            fprintf(stderr, "plumb: nothing was measured; nothing was "
                            "stored\n");
            rc = CLI_INTERRUPTED;
            goto out;
        }
    }
    rc = cli_output_session(session, &out);
    if (!no_store) {
        int stored = store_session(store_path, session);
        if (rc == CLI_OK)
            rc = stored;
    }
    if (session->partial)
        rc = CLI_INTERRUPTED;
out:
    plumb_session_free(session);
    plumb_bench_free(bench);
    free(invocation);
    for (size_t i = 0; i < n_params; i++) {
        free(params[i].text);
        free(params[i].values);
    }
    return rc;
}
