/* profile_store.c: what `plumb profile` needs to keep a profile in the
 * store: the store opened before sampling (so that a bad path fails at
 * once, not after a long session), and the profile saved as a run. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <stdlib.h>
#include <string.h>

char *cli_join_words(const char *first, int argc, char *const *argv)
{
    size_t len = (first ? strlen(first) : 0) + 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 3;
    char *text = malloc(len);
    if (!text)
        return NULL;
    size_t at = (size_t)snprintf(text, len, "%s", first ? first : "");
    for (int i = 0; i < argc; i++)
        at += (size_t)snprintf(text + at, len - at,
                               strchr(argv[i], ' ') ? "%s'%s'" : "%s%s",
                               at ? " " : "", argv[i]);
    return text;
}

int cli_profile_save(plumb_store_t *st, const char *store_path,
                     const plumb_profile_t *p, int argc, char **argv,
                     int cmd_argc, char **cmd_argv, int64_t *run_id)
{
    plumb_env_t env;
    char *invocation = cli_join_words("plumb", argc, argv);
    char *command = cmd_argc > 0 ? cli_join_words(NULL, cmd_argc, cmd_argv)
                                 : NULL;
    int err = (!invocation || (cmd_argc > 0 && !command)) ? PLUMB_ENOMEM : 0;
    if (!err)
        err = plumb_env_collect(&env);
    if (!err)
        err = plumb_store_save_profile(st, p, &env, command, invocation,
                                       run_id);
    if (err)
        cli_error("cannot store the profile in %s: %s; nothing was stored",
                  plumb_store_default_path(store_path),
                  *plumb_store_errmsg(st) ? plumb_store_errmsg(st)
                                          : plumb_strerror(err));
    free(invocation);
    free(command);
    return err;
}

void cli_note_stored(int64_t run_id, const char *store_path)
{
    cli_note("stored as run %lld in %s", (long long)run_id,
             plumb_store_default_path(store_path));
}

int cli_profile_format_ok(const char *format)
{
    if (!strcmp(format, "text") || !strcmp(format, "json") ||
        !strcmp(format, "collapsed") || !strcmp(format, "speedscope"))
        return 1;
    cli_error("--format takes text, json, collapsed or speedscope (got "
              "'%s')", format);
    return 0;
}

int cli_print_profile(const plumb_profile_t *p, const char *format,
                      const char *color, unsigned top, const char *path)
{
    int to_stdout = !path || !strcmp(path, "-");
    char *text = NULL;
    int err;
    if (format && !strcmp(format, "collapsed"))
        err = plumb_stack_collapsed(p->stacks, &text);
    else if (format && !strcmp(format, "json"))
        err = plumb_report_profile_json(p, &text);
    else if (format && !strcmp(format, "speedscope"))
        err = plumb_stack_speedscope(p->stacks, p->python, &text);
    else {
        plumb_report_opts_t ro = {
            to_stdout && cli_color_wanted(color, stdout), 0, 0};
        err = plumb_report_profile(p, &ro, top, &text);
    }
    if (err) {
        cli_error("cannot render the profile: %s", plumb_strerror(err));
        return CLI_FAILED;
    }
    int rc = cli_emit_text(path, text);
    free(text);
    return rc;
}

int cli_print_profile_diff(const plumb_profile_t *a, const plumb_profile_t *b,
                           const char *color, unsigned top)
{
    char *text = NULL;
    plumb_report_opts_t ro = {cli_color_wanted(color, stdout), 0, 0};
    int err = plumb_report_profile_diff(a, b, &ro, top, &text);
    if (err) {
        cli_error("cannot compare the profiles: %s", plumb_strerror(err));
        return CLI_FAILED;
    }
    fputs(text, stdout);
    free(text);
    return fflush(stdout) == 0 ? CLI_OK : CLI_FAILED;
}
