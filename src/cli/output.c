/* output.c: the options and the writing shared by the subcommands that
 * print an analysed session (bench, show, compare): the terminal report and
 * the JSON, Markdown and CSV exports. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void cli_output_init(cli_output_t *out)
{
    memset(out, 0, sizeof *out);
    out->color = "auto";
    plumb_compare_opts_init(&out->compare);
}

int cli_output_option(cli_output_t *out, int opt, const char *arg)
{
    switch (opt) {
    case OPT_ALPHA:
        if (cli_parse_double(arg, &out->compare.alpha) ||
            out->compare.alpha <= 0 || out->compare.alpha >= 1) {
            cli_error("--alpha takes a probability between 0 and 1, such as "
                      "0.05 (got '%s')", arg);
            return -1;
        }
        return 1;
    case OPT_MIN_EFFECT:
        if (cli_parse_percent(arg, &out->compare.min_effect)) {
            cli_error("--min-effect takes a percentage from 0 to 100, such "
                      "as 1 or 2.5%% (got '%s')", arg);
            return -1;
        }
        return 1;
    case OPT_SEED:
        if (cli_parse_u64(arg, &out->compare.seed)) {
            cli_error("--seed takes a whole number (got '%s')", arg);
            return -1;
        }
        return 1;
    case OPT_EXPORT_JSON:
        out->json = arg;
        return 1;
    case OPT_EXPORT_MARKDOWN:
        out->markdown = arg;
        return 1;
    case OPT_EXPORT_CSV:
        out->csv = arg;
        return 1;
    case OPT_COLOR:
        if (!cli_color_ok(arg))
            return -1;
        out->color = arg;
        return 1;
    case 'v':
        out->verbose = 1;
        return 1;
    }
    return 0;
}

int cli_write_text(const char *path, const char *text)
{
    if (strcmp(path, "-") == 0) {
        fputs(text, stdout);
        return fflush(stdout) == 0 ? 0 : -1;
    }
    /* A device or a pipe (-o /dev/null, a FIFO) is written in place: a
     * rename over it would replace it with a regular file, and a root
     * plumb would so turn /dev/null into a file for the whole machine. */
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        FILE *f = fopen(path, "we");
        if (!f)
            return -1;
        int ok = fputs(text, f) >= 0;
        return fclose(f) == 0 && ok ? 0 : -1;
    }
    size_t len = strlen(path) + 16;
    char *tmp = malloc(len);
    if (!tmp)
        return -1;
    snprintf(tmp, len, "%s.tmpXXXXXX", path);
    int fd = mkstemp(tmp);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    int ok = f && fputs(text, f) >= 0;
    if (f)
        ok = (fclose(f) == 0) && ok;
    else if (fd >= 0)
        close(fd);
    if (ok && rename(tmp, path) == 0) {
        free(tmp);
        return 0;
    }
    int saved = errno;
    if (fd >= 0)
        unlink(tmp);
    free(tmp);
    errno = saved;
    return -1;
}

int cli_emit_text(const char *path, const char *text)
{
    int to_stdout = !path || !strcmp(path, "-");
    if (cli_write_text(to_stdout ? "-" : path, text) == 0)
        return CLI_OK;
    if (to_stdout)
        cli_error("cannot write to stdout: %s", strerror(errno));
    else
        cli_error("cannot write %s: %s; check the directory exists and is "
                  "writable", path, strerror(errno));
    return CLI_FAILED;
}

static int export_one(const plumb_session_t *s, const plumb_analysis_t *a,
                      plumb_format_t format, const char *path,
                      const char *what, int verbose)
{
    plumb_report_opts_t ro = {0, verbose, 0};
    char *text = NULL;
    int err = plumb_report_render(s, a, format, &ro, &text);
    if (err) {
        cli_error("cannot render the %s export: %s", what,
                  plumb_strerror(err));
        return -1;
    }
    if (cli_write_text(path, text) != 0) {
        cli_error("cannot write the %s export to %s: %s; check the directory "
                  "exists and is writable", what, path, strerror(errno));
        free(text);
        return -1;
    }
    free(text);
    return 0;
}

int cli_output_session(const plumb_session_t *s, const cli_output_t *out)
{
    plumb_analysis_t *a = NULL;
    char *text = NULL;
    int err = plumb_analysis_new(s, &out->compare, &a);
    if (err) {
        cli_error("cannot analyse the results: %s", plumb_strerror(err));
        return CLI_FAILED;
    }
    /* a JSON or CSV export to stdout replaces the terminal report */
    int stdout_taken = (out->json && !strcmp(out->json, "-")) ||
                       (out->csv && !strcmp(out->csv, "-")) ||
                       (out->markdown && !strcmp(out->markdown, "-"));
    int rc = CLI_OK;
    if (!stdout_taken) {
        plumb_report_opts_t ro = {cli_color_wanted(out->color, stdout),
                                  out->verbose, 0};
        if ((err = plumb_report_render(s, a, PLUMB_FORMAT_TEXT, &ro,
                                       &text)) != 0) {
            cli_error("cannot render the report: %s", plumb_strerror(err));
            rc = CLI_FAILED;
        } else {
            fputs(text, stdout);
            fflush(stdout);
        }
    }
    if (out->json &&
        export_one(s, a, PLUMB_FORMAT_JSON, out->json, "JSON", out->verbose) != 0)
        rc = CLI_FAILED;
    if (out->markdown &&
        export_one(s, a, PLUMB_FORMAT_MARKDOWN, out->markdown, "Markdown",
                              out->verbose))
        rc = CLI_FAILED;
    if (out->csv && export_one(s, a, PLUMB_FORMAT_CSV, out->csv, "CSV", out->verbose))
        rc = CLI_FAILED;
    free(text);
    plumb_analysis_free(a);
    return rc;
}
