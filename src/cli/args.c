/* args.c: what every subcommand needs to read its arguments and talk to the
 * user: number parsing, error lines, interrupt handling, the store. */
#define _GNU_SOURCE
#include "cli/cli.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

volatile sig_atomic_t cli_interrupted;

static void on_interrupt(int sig)
{
    (void)sig;
    cli_interrupted = 1;
}

void cli_catch_interrupts(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_interrupt;
    sigemptyset(&sa.sa_mask);
    /* no SA_RESTART: a wait in progress returns EINTR and sees the flag */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

/* Both flush stdout first: where stdout and stderr go to one pipe or file
 * (2>&1 in CI logs), a note stays after the report lines written before
 * it instead of overtaking them from stdout's buffer. */
void cli_error(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    va_start(ap, fmt);
    fputs("plumb: error: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

void cli_note(const char *fmt, ...)
{
    va_list ap;
    fflush(stdout);
    va_start(ap, fmt);
    fputs("plumb: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

int cli_color_wanted(const char *mode, FILE *stream)
{
    if (mode && strcmp(mode, "always") == 0)
        return 1;
    if (mode && strcmp(mode, "never") == 0)
        return 0;
    const char *no_color = getenv("NO_COLOR");
    if (no_color && *no_color)
        return 0;
    return isatty(fileno(stream));
}

int cli_parse_u64(const char *text, uint64_t *out)
{
    char *end;
    if (!text || !*text || *text == '-')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int cli_parse_uint(const char *text, unsigned *out)
{
    uint64_t v;
    if (cli_parse_u64(text, &v) || v > UINT32_MAX)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int cli_parse_top(const char *text, unsigned *top)
{
    if (cli_parse_uint(text, top) == 0 && *top > 0)
        return 0;
    cli_error("--top takes a number of rows (got '%s')", text);
    return -1;
}

int cli_color_ok(const char *when)
{
    if (!strcmp(when, "auto") || !strcmp(when, "always") ||
        !strcmp(when, "never"))
        return 1;
    cli_error("--color takes auto, always or never (got '%s')", when);
    return 0;
}

int cli_parse_double(const char *text, double *out)
{
    char *end;
    if (!text || !*text)
        return -1;
    errno = 0;
    double v = strtod(text, &end);
    if (errno || *end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int cli_parse_bytes(const char *text, uint64_t *out)
{
    static const struct {
        const char *suffix;
        uint64_t scale;
    } units[] = {
        {"", 1},         {"b", 1},          {"k", 1u << 10},
        {"kb", 1u << 10}, {"kib", 1u << 10}, {"m", 1u << 20},
        {"mb", 1u << 20}, {"mib", 1u << 20}, {"g", 1u << 30},
        {"gb", 1u << 30}, {"gib", 1u << 30},
    };
    char *end;
    if (!text || !*text || *text == '-' || *text == '+')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 10);
    if (errno || end == text)
        return -1;
    for (size_t i = 0; i < sizeof units / sizeof *units; i++) {
        if (strcasecmp(end, units[i].suffix) != 0)
            continue;
        if (v > UINT64_MAX / units[i].scale)
            return -1;
        *out = v * units[i].scale;
        return 0;
    }
    return -1;
}

int cli_parse_percent(const char *text, double *out)
{
    char buf[64];
    size_t len = strlen(text);
    if (len == 0 || len >= sizeof buf)
        return -1;
    memcpy(buf, text, len + 1);
    if (buf[len - 1] == '%')
        buf[len - 1] = '\0';
    double v;
    if (cli_parse_double(buf, &v) || v < 0 || v >= 100)
        return -1;
    *out = v / 100;
    return 0;
}

plumb_store_t *cli_open_store(const char *path)
{
    plumb_store_t *st = NULL;
    const char *where = plumb_store_default_path(path);
    int err = plumb_store_open(where, &st);
    if (err) {
        cli_error("cannot open the store %s: %s", where,
                  st ? plumb_store_errmsg(st) : plumb_strerror(err));
        plumb_store_close(st);
        return NULL;
    }
    return st;
}
