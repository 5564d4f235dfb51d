/* cli.h: what the subcommands of the plumb tool share. The CLI translates
 * arguments into library calls and results into text and exit codes; it
 * holds no measuring or statistical logic of its own. */
#ifndef PLUMB_CLI_H
#define PLUMB_CLI_H

#include <signal.h>
#include <stdio.h>

#include "plumb.h"

/* Exit codes. */
enum {
    CLI_OK = 0,
    CLI_FAILED = 1,      /* a measured command or the store failed */
    CLI_USAGE = 2,       /* the user's arguments are wrong */
    CLI_INTERRUPTED = 130
};

/* Set by SIGINT/SIGTERM once cli_catch_interrupts() ran. */
extern volatile sig_atomic_t cli_interrupted;
void cli_catch_interrupts(void);

/* "plumb: error: ..." on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void cli_note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Colour choice: "auto" (a TTY without NO_COLOR), "always", "never". */
int cli_color_wanted(const char *mode, FILE *stream);

/* Parses a whole non-negative number / a number; 0 on success. */
int cli_parse_uint(const char *text, unsigned *out);
int cli_parse_double(const char *text, double *out);
int cli_parse_u64(const char *text, uint64_t *out);
/* A size in bytes: "65536", "64k", "64KiB", "1M", "2g" (binary units,
 * any case); 0 on success. */
int cli_parse_bytes(const char *text, uint64_t *out);
/* --top's number of rows, above 0; says what is wrong (-1). */
int cli_parse_top(const char *text, unsigned *top);
/* 1 when --color's `when` is auto, always or never; else says so, 0. */
int cli_color_ok(const char *when);
/* "5%", "5" (percent) into a fraction 0.05. */
int cli_parse_percent(const char *text, double *out);

/* Opens the store at the path the user chose (or the default); prints the
 * error and returns NULL when it cannot. */
plumb_store_t *cli_open_store(const char *path);
/* Saves a profile in the open store as run *run_id, or prints why not.
 * argv: plumb's own words after "plumb"; cmd_argv: the profiled command
 * (none when attached). The caller says where it went (cli_note_stored)
 * once the report is out, so that the note ends the output. */
int cli_profile_save(plumb_store_t *st, const char *store_path,
                     const plumb_profile_t *p, int argc, char **argv,
                     int cmd_argc, char **cmd_argv, int64_t *run_id);
/* "plumb: stored as run N in PATH" on stderr. */
void cli_note_stored(int64_t run_id, const char *store_path);
/* 1 when `format` is one a profile can be written in (text, json,
 * collapsed, speedscope); otherwise says so and returns 0. */
int cli_profile_format_ok(const char *format);
/* Writes a profile to `path` (NULL or "-": stdout): the summary (format
 * NULL or "text", `top` rows, colour only on a terminal), "json"
 * (docs/json.md), "collapsed" or "speedscope". Returns a CLI exit code. */
int cli_print_profile(const plumb_profile_t *p, const char *format,
                      const char *color, unsigned top, const char *path);
/* The words joined by spaces, those holding a space quoted, after `first`
 * when it is not NULL; NULL when out of memory. The caller frees it. */
char *cli_join_words(const char *first, int argc, char *const *argv);
/* Writes text to path through a temporary file and a rename, so a reader
 * never sees half a file. "-" is stdout; a path that exists and is not a
 * regular file (/dev/null, a FIFO) is written in place, never replaced. */
int cli_write_text(const char *path, const char *text);
/* cli_write_text to path (NULL or "-": stdout), saying what went wrong
 * and what to check when it fails. CLI_OK or CLI_FAILED. */
int cli_emit_text(const char *path, const char *text);
/* Prints which functions gained or lost share from a to b. */
int cli_print_profile_diff(const plumb_profile_t *a, const plumb_profile_t *b,
                           const char *color, unsigned top);

/* Options shared by subcommands that analyse and export. */
typedef struct {
    const char *json, *markdown, *csv; /* export paths; "-" is stdout */
    const char *color;
    int verbose;
    plumb_compare_opts_t compare;
} cli_output_t;

void cli_output_init(cli_output_t *out);
/* Handles one of the shared output options; returns 1 if it was one, 0 if
 * not, -1 on a bad value (error printed). */
int cli_output_option(cli_output_t *out, int opt, const char *arg);
/* Analyses the session, prints the text report to stdout and writes the
 * exports. Returns a CLI exit code. */
int cli_output_session(const plumb_session_t *s, const cli_output_t *out);

#define CLI_OUTPUT_OPTION_HELP                                                \
    "      --alpha A               significance level (0.05)\n"           \
    "      --min-effect PCT        smallest change that counts, in % "    \
    "(1)\n"                                                               \
    "      --seed N                bootstrap and schedule seed\n"         \
    "      --export-json FILE      write JSON (docs/json.md); - for "     \
    "stdout\n"                                                            \
    "      --export-markdown FILE  write a Markdown summary\n"            \
    "      --export-csv FILE       write one CSV row per run\n"           \
    "      --color WHEN            auto, always or never (NO_COLOR is "   \
    "respected)\n"                                                        \
    "  -v, --verbose               every metric's statistics\n"

/* getopt_long codes of the shared options (beyond any char). */
enum {
    OPT_ALPHA = 1000,
    OPT_MIN_EFFECT,
    OPT_SEED,
    OPT_EXPORT_JSON,
    OPT_EXPORT_MARKDOWN,
    OPT_EXPORT_CSV,
    OPT_COLOR,
    OPT_STORE,
    OPT_FIRST_LOCAL /* subcommands number their own options from here */
};

#define CLI_OUTPUT_LONG_OPTIONS                                               \
    {"alpha", required_argument, NULL, OPT_ALPHA},                            \
        {"min-effect", required_argument, NULL, OPT_MIN_EFFECT},              \
        {"seed", required_argument, NULL, OPT_SEED},                          \
        {"export-json", required_argument, NULL, OPT_EXPORT_JSON},            \
        {"export-markdown", required_argument, NULL, OPT_EXPORT_MARKDOWN},    \
        {"export-csv", required_argument, NULL, OPT_EXPORT_CSV},              \
        {"color", required_argument, NULL, OPT_COLOR},                        \
        {"verbose", no_argument, NULL, 'v'},                                  \
        {"store", required_argument, NULL, OPT_STORE}

/* The whole tool: dispatches argv[1] to a subcommand and returns the exit
 * status. The plumb binary's main() and `python -m plumb` both call it. */
int cli_main(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_runs(int argc, char **argv);
int cli_show(int argc, char **argv);
int cli_compare(int argc, char **argv);
int cli_profile(int argc, char **argv);
int cli_mem(int argc, char **argv);
int cli_sql(int argc, char **argv);

/* ---- memory profiles (mem_output.c) ---- */

/* Saves a memory profile in the open store as run *run_id, or prints why
 * not. argv: plumb's own words after "plumb". As with cli_profile_save,
 * the caller notes where it went after the report. */
int cli_mem_save(plumb_store_t *st, const char *store_path,
                 const plumb_mem_t *m, int argc, char **argv,
                 int64_t *run_id);
/* 1 when `which` is one of peak, allocated and end; else says so, 0. */
int cli_mem_stacks_ok(const char *which);
/* Writes a memory profile to `path` (NULL or "-": stdout): the summary
 * (format NULL or "text", `top` rows, colour only on a terminal), "json"
 * (docs/json.md), or the aggregate `stacks` as "collapsed" or
 * "speedscope". Returns a CLI exit code. */
int cli_print_mem(const plumb_mem_t *m, const char *format,
                  const char *stacks, const char *color, unsigned top,
                  const char *path);
/* Prints the two profiles' peaks and which functions gained or lost bytes
 * at the peak from a to b. */
int cli_print_mem_diff(const plumb_mem_t *a, const plumb_mem_t *b,
                       const char *color, unsigned top);

/* ---- launching a Python program with a boot directory (launch.c) ----- */

/* One launch: a private temporary directory, the file the program leaves
 * its result in and the one it leaves a sentence in when it could not
 * start, and the program's environment. */
typedef struct {
    char dir[4096];
    char out[4096 + 16];
    char error[4096 + 16];
    char **envp;
    size_t n_env;
} cli_launch_t;

/* The directory of the running plumb executable, into dir; -1 if unknown. */
int cli_exe_dir(char *dir, size_t size);
int cli_is_file(const char *path);
/* The directory holding the plumb Python package (PLUMB_PYTHON_DIR, else
 * python/ beside the executable's directory) into pkg, checked to have
 * plumb/<boot>/sitecustomize.py; says what is wrong when not (-1). */
int cli_launch_package(const char *boot, const char *subcommand, char *pkg,
                       size_t size);
/* Makes l's private directory, plumb-<name>-XXXXXX under TMPDIR, with the
 * result file <name>.json in it; says what is wrong when it cannot (-1). */
int cli_launch_dir(cli_launch_t *l, const char *name);
/* The program's environment: plumb's own without PYTHONPATH, the
 * variables of vars ("NAME=value", up to the first NULL) and of drop ("NAME") left out, then PYTHONPATH
 * with pkg/plumb/<boot> and pkg in front, vars, and with preload,
 * LD_PRELOAD with it in front. -1 when out of memory. */
int cli_launch_env(cli_launch_t *l, const char *pkg, const char *boot,
                   const char *const *vars, const char *const *drop,
                   const char *preload);
/* Starts argv with l's environment and plumb's signal mask, and waits for
 * it, passing on SIGINT, SIGTERM and SIGHUP sent to plumb alone (the
 * terminal's Ctrl-C reaches the program by itself). The raw wait status in
 * *status. -1 (said) when it cannot be started. */
int cli_launch_run(cli_launch_t *l, char *const *argv, int *status,
                   int64_t *elapsed_ns);
/* Removes the environment, the private directory and what is in it. */
void cli_launch_close(cli_launch_t *l);
/* The sentence the boot left when it could not start (trailing blanks
 * cut), or NULL when there is none. The caller frees it. */
char *cli_launch_failure(const cli_launch_t *l);
/* The whole of a small file in a new string, or NULL (errno set). */
char *cli_slurp(const char *path);
/* "was killed by signal 9 (Killed)" or "exited with status 3". */
void cli_how_it_ended(int status, char *out, size_t size);

#endif
