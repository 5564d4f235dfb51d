/* fuzz_elf.c: libFuzzer target for the ELF reader (src/sampler/elf.c),
 * which parses files named by another process's mappings: any bytes must
 * be refused (PLUMB_EPARSE, PLUMB_EUNSUPPORTED) or answer every lookup
 * with a value or PLUMB_ENOTFOUND, without reading outside the buffer, a
 * crash, a leak or undefined behaviour. libFuzzer hands us a heap copy of
 * exactly `size` bytes, so ASan sees any read past the end.
 *
 * Build (the lead wires it into `make fuzz`):
 *   clang -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -Iinclude -Isrc \
 *       -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
 *       -o build/fuzz/fuzz_elf tests/fuzz/fuzz_elf.c src/sampler/elf.c
 *   build/fuzz/fuzz_elf -max_total_time=15 corpus_dir tests/fuzz/corpus/elf
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>

#include "plumb.h"
#include "sampler/elf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const names[] = {"_PyRuntime", "Py_Version",
                                        "version.0", ""};
    plumb__elf_t *elf = NULL;
    int err = plumb__elf_open_memory(data, size, &elf);
    if (err != 0) {
        assert(err == PLUMB_EPARSE || err == PLUMB_EUNSUPPORTED);
        assert(elf == NULL);
        return 0;
    }
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        uint64_t value = 0, sym_size = 0;
        err = plumb__elf_symbol(elf, names[i], &value, &sym_size);
        assert(err == 0 || err == PLUMB_ENOTFOUND);
    }
    uint64_t vaddr = 0, offset = 0;
    err = plumb__elf_first_load(elf, &vaddr, &offset);
    assert(err == 0 || err == PLUMB_ENOTFOUND);
    plumb__elf_close(elf);
    return 0;
}
