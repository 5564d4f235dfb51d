/* fuzz_mem_json.c: libFuzzer target for plumb_mem_from_json, the reader of
 * the memory profile a recorder inside another process wrote: any bytes
 * must either read into a profile or be refused with PLUMB_EPARSE (or
 * PLUMB_ENOMEM) and a sentence, without a crash, a leak or undefined
 * behaviour; a profile read must write a document that reads back and
 * writes the same again, and must render as a summary. */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "plumb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    plumb_mem_t *m = NULL, *again = NULL;
    char why[256] = "";
    int err = plumb_mem_from_json(text, &m, why, sizeof why);
    if (err) {
        assert(err == PLUMB_EPARSE || err == PLUMB_ENOMEM);
        assert(!m && why[0]);
        free(text);
        return 0;
    }
    assert(m && !why[0]);
    char *first = NULL, *second = NULL, *summary = NULL;
    if (plumb_report_mem_json(m, &first) == 0) {
        assert(plumb_mem_from_json(first, &again, why, sizeof why) == 0);
        assert(plumb_report_mem_json(again, &second) == 0);
        assert(strcmp(first, second) == 0);
    }
    plumb_report_opts_t opts = {1, 0, 0};
    assert(plumb_report_mem(m, &opts, 5, &summary) == 0);
    plumb_mem_add_point(m, INT64_MAX / 2, 1, 1);
    free(summary);
    free(first);
    free(second);
    plumb_mem_free(again);
    plumb_mem_free(m);
    free(text);
    return 0;
}
