/* mem_output.c: what plumb mem, plumb show and plumb compare do with a
 * memory profile: keep it in the store, write it in the format asked (the
 * summary, JSON, or one of its aggregates as a flame graph), and set two
 * side by side. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

int cli_mem_save(plumb_store_t *st, const char *store_path,
                 const plumb_mem_t *m, int argc, char **argv,
                 int64_t *run_id)
{
    plumb_env_t env;
    char *invocation = cli_join_words("plumb", argc, argv);
    int err = invocation ? 0 : PLUMB_ENOMEM;
    if (!err)
        err = plumb_env_collect(&env);
    if (!err)
        err = plumb_store_save_mem(st, m, &env, invocation, run_id);
    if (err)
        cli_error("cannot store the memory profile in %s: %s; nothing was "
                  "stored",
                  plumb_store_default_path(store_path),
                  *plumb_store_errmsg(st) ? plumb_store_errmsg(st)
                                          : plumb_strerror(err));
    free(invocation);
    return err;
}

int cli_mem_stacks_ok(const char *which)
{
    if (!strcmp(which, "peak") || !strcmp(which, "allocated") ||
        !strcmp(which, "end"))
        return 1;
    cli_error("--stacks takes peak (bytes alive at the peak), allocated "
              "(bytes allocated) or end (bytes still alive at the end) (got "
              "'%s')", which);
    return 0;
}

int cli_print_mem(const plumb_mem_t *m, const char *format,
                  const char *stacks, const char *color, unsigned top,
                  const char *path)
{
    int to_stdout = !path || !strcmp(path, "-");
    const plumb_stack_t *st = m->peak;
    const char *title = "bytes alive at the peak";
    if (stacks && !strcmp(stacks, "allocated")) {
        st = m->allocated;
        title = "bytes allocated";
    } else if (stacks && !strcmp(stacks, "end")) {
        st = m->end;
        title = "bytes alive at the end";
    }
    char *text = NULL;
    int err;
    if (format && !strcmp(format, "collapsed"))
        err = plumb_stack_collapsed(st, &text);
    else if (format && !strcmp(format, "json"))
        err = plumb_report_mem_json(m, &text);
    else if (format && !strcmp(format, "speedscope"))
        err = plumb_stack_speedscope_unit(st, title, "bytes", &text);
    else {
        plumb_report_opts_t ro = {
            to_stdout && cli_color_wanted(color, stdout), 0, 0};
        err = plumb_report_mem(m, &ro, top, &text);
    }
    if (err) {
        cli_error("cannot render the memory profile: %s",
                  plumb_strerror(err));
        return CLI_FAILED;
    }
    int rc = cli_emit_text(path, text);
    free(text);
    return rc;
}

int cli_print_mem_diff(const plumb_mem_t *a, const plumb_mem_t *b,
                       const char *color, unsigned top)
{
    char *text = NULL;
    plumb_report_opts_t ro = {cli_color_wanted(color, stdout), 0, 0};
    int err = plumb_report_mem_diff(a, b, &ro, top, &text);
    if (err) {
        cli_error("cannot compare the memory profiles: %s",
                  plumb_strerror(err));
        return CLI_FAILED;
    }
    fputs(text, stdout);
    free(text);
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAILED;
}
