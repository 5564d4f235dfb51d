/* report.c: plumb_report_render, which picks the renderer for a format. */
#include "report/report.h"

int plumb_report_render(const plumb_session_t *s, const plumb_analysis_t *a,
                        plumb_format_t format, const plumb_report_opts_t *opts,
                        char **out)
{
    static const plumb_report_opts_t defaults = {0, 0, 0};
    plumb__buf_t b = {0};
    int err;
    if (!s || !a || !out)
        return PLUMB_EINVAL;
    if (!opts)
        opts = &defaults;
    switch (format) {
    case PLUMB_FORMAT_TEXT:
        err = plumb__report_text(s, a, opts, &b);
        break;
    case PLUMB_FORMAT_MARKDOWN:
        err = plumb__report_markdown(s, a, opts, &b);
        break;
    case PLUMB_FORMAT_JSON:
        err = plumb__report_json(s, a, opts, &b);
        break;
    case PLUMB_FORMAT_CSV:
        err = plumb__report_csv(s, a, opts, &b);
        break;
    default:
        err = PLUMB_EINVAL;
    }
    if (err) {
        b.failed = 1;
        plumb__buf_finish(&b, out);
        return err;
    }
    return plumb__buf_finish(&b, out);
}
