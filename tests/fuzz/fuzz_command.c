/* fuzz_command.c: libFuzzer target for the command-line parser, the one
 * parser of outside input in plumb bench: any bytes must either parse into
 * a non-empty argv or be refused with PLUMB_EINVAL, without a crash, a leak
 * or undefined behaviour; substitution must keep text outside {name}. */
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
    static const plumb_shell_mode_t modes[] = {
        PLUMB_SHELL_AUTO, PLUMB_SHELL_NONE, PLUMB_SHELL_ALWAYS};
    for (size_t m = 0; m < 3; m++) {
        plumb_command_t *cmd = NULL;
        int err = plumb_command_new(text, modes[m], NULL, &cmd);
        if (err == 0) {
            char *const *argv = plumb_command_argv(cmd);
            assert(argv && argv[0]);
            if (modes[m] == PLUMB_SHELL_NONE)
                assert(!plumb_command_uses_shell(cmd));
        } else {
            assert(err == PLUMB_EINVAL);
        }
        plumb_command_free(cmd);
    }
    const char *names[] = {"n", "py"};
    const char *values[] = {"1000", "{n}"};
    char *out = NULL;
    if (plumb_command_substitute(text, 2, names, values, &out) == 0) {
        assert(out);
        if (!strchr(text, '{'))
            assert(strcmp(out, text) == 0);
    }
    free(out);
    free(text);
    return 0;
}
