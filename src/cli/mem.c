/* mem.c: `plumb mem`: starts a Python program with plumb's recorder inside
 * it (through PYTHONPATH and a sitecustomize, docs of the interface in
 * python/plumb/_memboot/), waits for it, reads the memory profile the
 * recorder left and reports it. The recording itself happens in the
 * program (python/plumb/_mem.c); this file only chooses its environment
 * (launch.c starts it and passes signals on) and tells the user what came
 * of it. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static const char usage[] =
    "usage: plumb mem [options] -- python3 SCRIPT [ARGS...]\n"
    "\n"
    "Runs a Python program with plumb's recorder inside it and shows where\n"
    "its memory went: the peak of its heap (estimated from allocations\n"
    "sampled by bytes) and of its RSS, the lines and functions holding\n"
    "memory at the peak, those allocating most, those still holding memory\n"
    "at the end (likely leaks), and a timeline.\n"
    "\n"
    "  -b, --sample-bytes N   one sample per N bytes allocated on average\n"
    "                         (16k; 64k, 1M... accepted): smaller is more\n"
    "                         precise and costs more\n"
    "      --native           also record malloc & co. from C extensions\n"
    "                         (NumPy...), through a preloaded library\n"
    "  -f, --format FORMAT    text (a summary, the default), json (the\n"
    "                         whole profile, versioned: docs/json.md),\n"
    "                         collapsed (FlameGraph, inferno) or speedscope\n"
    "      --stacks WHICH     the stacks collapsed and speedscope write:\n"
    "                         peak (bytes alive at the peak, the default),\n"
    "                         allocated, or end (alive at the end)\n"
    "  -o, --output FILE      write there instead of stdout\n"
    "      --top N            rows in each summary table (10)\n"
    "      --store PATH       the store (default $PLUMB_STORE or\n"
    "                         .plumb/plumb.db); plumb show ID prints it again\n"
    "      --no-store         do not store this profile\n"
    "      --color WHEN       auto, always or never (NO_COLOR is "
    "respected)\n"
    "\n"
    "The program must be a CPython started as usual: plumb finds it through\n"
    "PYTHONPATH, which python -I, -E and -S ignore. Ctrl-C reaches the\n"
    "program; plumb then reports what it recorded.\n"
    "\n"
    "Exit status: 0 when the profile was taken, whatever the program's own\n"
    "exit (a program that died is reported from its last snapshot, taken\n"
    "about once a second); 1 when it could not be recorded, or the profile\n"
    "written or stored; 2 for wrong arguments.\n";

enum {
    OPT_TOP = OPT_FIRST_LOCAL,
    OPT_NO_STORE,
    OPT_NATIVE,
    OPT_STACKS,
};

/* The environment variables of the recorder's interface. */
#define ENV_OUT "PLUMB_MEM_OUT"
#define ENV_MEAN "PLUMB_MEM_MEAN_BYTES"
#define ENV_NATIVE "PLUMB_MEM_NATIVE"

/* The native shim, into lib; says what is wrong when there is none. */
static int find_native(char *lib, size_t size)
{
    const char *env = getenv("PLUMB_NATIVE_LIB");
    char dir[PATH_MAX];
    if (env && *env) {
        snprintf(lib, size, "%s", env);
        if (cli_is_file(lib))
            return 0;
        cli_error("--native: the native allocation library %s "
                  "(PLUMB_NATIVE_LIB) does not exist; set PLUMB_NATIVE_LIB "
                  "to plumb's libplumb-native.so, or leave --native out", lib);
        return -1;
    }
    if (cli_exe_dir(dir, sizeof dir) == 0) {
        snprintf(lib, size, "%s/libplumb-native.so", dir);
        if (cli_is_file(lib))
            return 0;
    } else {
        snprintf(lib, size, "libplumb-native.so");
    }
    cli_error("--native: the native allocation library %s is not there; "
              "build it (make, in plumb's source tree) or set "
              "PLUMB_NATIVE_LIB to its path, or leave --native out", lib);
    return -1;
}

/* The profile the recorder left, or NULL after saying why there is none. */
static plumb_mem_t *read_profile(const cli_launch_t *l, const char *program,
                                 int status, int64_t elapsed_ns)
{
    char ended[128], why[512];
    cli_how_it_ended(status, ended, sizeof ended);
    char *sentence = cli_launch_failure(l);
    if (sentence) {
        cli_error("%s", *sentence ? sentence
                                  : "plumb's recorder could not start in "
                                    "the program, and did not say why");
        cli_note("the program ran unrecorded and %s; nothing was stored",
                 ended);
        free(sentence);
        return NULL;
    }
    char *text = cli_slurp(l->out);
    if (!text && errno == ENOENT) {
        if (WIFSIGNALED(status))
            cli_error("'%s' %s after %.1f s, before plumb's recorder wrote "
                      "its first snapshot (it writes one about every "
                      "second): nothing was recorded; a program that is not "
                      "Python, or a Python started with -I, -E or -S, never "
                      "writes one", program, ended, (double)elapsed_ns / 1e9);
        else
            cli_error("'%s' %s without writing a memory profile: it is not "
                      "a Python program, or its Python was started with -I, "
                      "-E or -S (which skip the PYTHONPATH plumb's recorder "
                      "comes in by); run the script with python3 itself, "
                      "e.g. plumb mem -- python3 script.py", program, ended);
        return NULL;
    }
    if (!text) {
        cli_error("cannot read the memory profile the program wrote (%s): "
                  "%s", l->out, strerror(errno));
        return NULL;
    }
    plumb_mem_t *m = NULL;
    int err = plumb_mem_from_json(text, &m, why, sizeof why);
    free(text);
    if (err) {
        cli_error("the memory profile the program wrote is damaged: %s; "
                  "nothing was stored (run it again; if it happens again, "
                  "it is a bug in plumb)",
                  *why ? why : plumb_strerror(err));
        return NULL;
    }
    return m;
}

int cli_mem(int argc, char **argv)
{
    static const struct option options[] = {
        {"sample-bytes", required_argument, NULL, 'b'},
        {"native", no_argument, NULL, OPT_NATIVE},
        {"format", required_argument, NULL, 'f'},
        {"stacks", required_argument, NULL, OPT_STACKS},
        {"output", required_argument, NULL, 'o'},
        {"top", required_argument, NULL, OPT_TOP},
        {"store", required_argument, NULL, OPT_STORE},
        {"no-store", no_argument, NULL, OPT_NO_STORE},
        {"color", required_argument, NULL, OPT_COLOR},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0}};
    const char *format = "text", *output = NULL, *color = "auto";
    const char *store_path = NULL, *stacks = "peak";
    int no_store = 0, native = 0, opt;
    unsigned top = 10;
    uint64_t mean_bytes = PLUMB_MEM_DEFAULT_MEAN_BYTES;
    while ((opt = getopt_long(argc, argv, "+b:f:o:h", options, NULL)) != -1) {
        switch (opt) {
        case 'b':
            if (cli_parse_bytes(optarg, &mean_bytes) || mean_bytes == 0 ||
                mean_bytes > (UINT64_C(1) << 30)) {
                cli_error("--sample-bytes takes a size from 1 byte to 1G, "
                          "such as 16k or 1M (got '%s')", optarg);
                return CLI_USAGE;
            }
            break;
        case OPT_NATIVE:
            native = 1;
            break;
        case 'f':
            if (!cli_profile_format_ok(optarg))
                return CLI_USAGE;
            format = optarg;
            break;
        case OPT_STACKS:
            if (!cli_mem_stacks_ok(optarg))
                return CLI_USAGE;
            stacks = optarg;
            break;
        case 'o':
            output = optarg;
            break;
        case OPT_TOP:
            if (cli_parse_top(optarg, &top))
                return CLI_USAGE;
            break;
        case OPT_COLOR:
            if (!cli_color_ok(optarg))
                return CLI_USAGE;
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
    if (optind >= argc) {
        cli_error("nothing to run; e.g. plumb mem -- python3 app.py");
        return CLI_USAGE;
    }
    char pkg[PATH_MAX + 64], native_lib[PATH_MAX + 64];
    if (cli_launch_package("_memboot", "plumb mem", pkg, sizeof pkg) ||
        (native && find_native(native_lib, sizeof native_lib)))
        return CLI_FAILED;
    /* Opened before the program runs: a bad store path fails now, not
     * after a long run whose profile would then be lost. */
    plumb_store_t *st = NULL;
    if (!no_store && !(st = cli_open_store(store_path)))
        return CLI_FAILED;
    cli_launch_t l;
    memset(&l, 0, sizeof l);
    plumb_mem_t *m = NULL;
    char *command = NULL;
    int rc = CLI_FAILED, status = 0;
    int64_t elapsed_ns = 0;
    char mean[64];
    snprintf(mean, sizeof mean, ENV_MEAN "=%llu",
             (unsigned long long)mean_bytes);
    char out_var[sizeof l.out + 32];
    if (cli_launch_dir(&l, "mem"))
        goto out;
    snprintf(out_var, sizeof out_var, ENV_OUT "=%s", l.out);
    const char *vars[] = {out_var, mean, native ? ENV_NATIVE "=1" : NULL,
                          NULL};
    const char *drop[] = {ENV_NATIVE, NULL};
    if (cli_launch_env(&l, pkg, "_memboot", vars, drop,
                       native ? native_lib : NULL)) {
        cli_error("out of memory");
        goto out;
    }
    if (cli_launch_run(&l, argv + optind, &status, &elapsed_ns))
        goto out;
    if (!(m = read_profile(&l, argv[optind], status, elapsed_ns)))
        goto out;
    /* named as the store names it, so that a stored profile reads back
     * the same */
    if (!(command = cli_join_words(NULL, argc - optind, argv + optind))) {
        cli_error("out of memory");
        goto out;
    }
    snprintf(m->command, sizeof m->command, "%s", command);
    m->exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    m->exit_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
    int64_t run_id = 0;
    int stored = !st || cli_mem_save(st, store_path, m, argc, argv,
                                     &run_id) == 0;
    /* stored first, said last: see plumb profile */
    rc = cli_print_mem(m, format, stacks, color, top, output);
    if (rc == CLI_OK && output)
        cli_note("memory profile (%llu samples) written to %s",
                 (unsigned long long)m->samples, output);
    if (st && stored)
        cli_note_stored(run_id, store_path);
    if (rc == CLI_OK && !stored)
        rc = CLI_FAILED;
out:
    free(command);
    plumb_mem_free(m);
    cli_launch_close(&l);
    plumb_store_close(st);
    return rc;
}
