/* elf.c: reading an ELF64 file's symbol tables and first loadable segment,
 * so the sampler can find _PyRuntime in an executable or libpython. It owns
 * mapping the file and every bounds check on it; it does not know about
 * processes or where the file is loaded (python.c turns link-time values
 * into addresses with the load bias).
 *
 * The file is outside input (and may be replaced while we read it), so no
 * offset, count or index in it is trusted: each is checked against the
 * size before use, and structures are copied out with memcpy, since a
 * corrupt file may put them at unaligned offsets.
 */
#define _GNU_SOURCE
#include "plumb.h"

#include "sampler/elf.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

struct plumb__elf {
    const unsigned char *data;
    size_t size;
    int mapped;       /* 1: data is our mmap of the file, unmapped at close */
    Elf64_Ehdr header;
    uint64_t section_count; /* e_shnum, or section 0's sh_size when extended */
};

/* 1 when [offset, offset + count * entry_size) lies within the file. */
static int in_file(const plumb__elf_t *e, uint64_t offset, uint64_t count,
                   uint64_t entry_size)
{
    if (offset > e->size)
        return 0;
    if (count == 0)
        return 1;
    if (entry_size == 0)
        return 0;
    return count <= (e->size - offset) / entry_size;
}

/* Copies section header i into *sh: 0, or -1 when it is outside the file. */
static int section_header(const plumb__elf_t *e, uint64_t i, Elf64_Shdr *sh)
{
    const Elf64_Ehdr *h = &e->header;
    if (i >= e->section_count || h->e_shentsize < sizeof(Elf64_Shdr))
        return -1;
    if (!in_file(e, h->e_shoff, i + 1, h->e_shentsize))
        return -1;
    memcpy(sh, e->data + h->e_shoff + i * h->e_shentsize, sizeof *sh);
    return 0;
}

static int check_header(plumb__elf_t *e)
{
    Elf64_Ehdr *h = &e->header;
    if (e->size < EI_NIDENT || memcmp(e->data, ELFMAG, SELFMAG) != 0)
        return PLUMB_EPARSE;
    if (e->data[EI_CLASS] != ELFCLASS64 || e->data[EI_DATA] != ELFDATA2LSB)
        return PLUMB_EUNSUPPORTED;
    if (e->size < sizeof *h)
        return PLUMB_EPARSE;
    memcpy(h, e->data, sizeof *h);
    e->section_count = h->e_shnum;
    if (h->e_shnum == 0 && h->e_shoff != 0) {
        /* Extended numbering: the count is in section 0's sh_size. */
        Elf64_Shdr first;
        e->section_count = 1;
        if (section_header(e, 0, &first) != 0)
            return PLUMB_EPARSE;
        e->section_count = first.sh_size;
    }
    return 0;
}

int plumb__elf_open_memory(const void *data, size_t size, plumb__elf_t **out)
{
    if (!out || (!data && size > 0))
        return PLUMB_EINVAL;
    *out = NULL;
    plumb__elf_t *e = calloc(1, sizeof *e);
    if (!e)
        return PLUMB_ENOMEM;
    e->data = data;
    e->size = size;
    int err = check_header(e);
    if (err != 0) {
        plumb__elf_close(e);
        return err;
    }
    *out = e;
    return 0;
}

int plumb__elf_open(const char *path, plumb__elf_t **out)
{
    int fd = -1, err = 0;
    void *map = MAP_FAILED;
    size_t size = 0;
    struct stat st;

    if (!path || !out)
        return PLUMB_EINVAL;
    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err = errno == ENOENT || errno == ENOTDIR ? PLUMB_ENOTFOUND
              : errno == EACCES || errno == EPERM ? PLUMB_EACCESS
                                                  : PLUMB_EIO;
        goto out;
    }
    if (fstat(fd, &st) != 0) {
        err = PLUMB_EIO;
        goto out;
    }
    if (!S_ISREG(st.st_mode) || st.st_size < EI_NIDENT) {
        err = PLUMB_EPARSE;
        goto out;
    }
    size = (size_t)st.st_size;
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        err = errno == ENOMEM ? PLUMB_ENOMEM : PLUMB_EIO;
        goto out;
    }
    err = plumb__elf_open_memory(map, size, out);
    if (err == 0) {
        (*out)->mapped = 1;
        map = MAP_FAILED; /* the elf owns it now */
    }

out:
    if (map != MAP_FAILED)
        munmap(map, size);
    if (fd >= 0)
        close(fd);
    return err;
}

void plumb__elf_close(plumb__elf_t *e)
{
    if (!e)
        return;
    if (e->mapped)
        munmap((void *)e->data, e->size);
    free(e);
}

/* Looks name up in one symbol table section (SHT_DYNSYM or SHT_SYMTAB). */
static int find_in_table(const plumb__elf_t *e, const Elf64_Shdr *table,
                         const char *name, uint64_t *value, uint64_t *size)
{
    Elf64_Shdr strings;
    if (table->sh_entsize < sizeof(Elf64_Sym))
        return PLUMB_ENOTFOUND;
    if (section_header(e, table->sh_link, &strings) != 0 ||
        strings.sh_type != SHT_STRTAB ||
        !in_file(e, strings.sh_offset, strings.sh_size, 1))
        return PLUMB_ENOTFOUND;
    uint64_t count = table->sh_size / table->sh_entsize;
    if (!in_file(e, table->sh_offset, count, table->sh_entsize))
        return PLUMB_ENOTFOUND;
    const char *names = (const char *)e->data + strings.sh_offset;
    size_t name_len = strlen(name);

    for (uint64_t i = 0; i < count; i++) {
        Elf64_Sym sym;
        memcpy(&sym, e->data + table->sh_offset + i * table->sh_entsize,
               sizeof sym);
        if (sym.st_shndx == SHN_UNDEF || sym.st_name == 0)
            continue;
        /* The name and its NUL must lie within the string table. */
        if (sym.st_name >= strings.sh_size ||
            strings.sh_size - sym.st_name < name_len + 1)
            continue;
        if (memcmp(names + sym.st_name, name, name_len + 1) != 0)
            continue;
        *value = sym.st_value;
        if (size)
            *size = sym.st_size;
        return 0;
    }
    return PLUMB_ENOTFOUND;
}

int plumb__elf_symbol(const plumb__elf_t *e, const char *name,
                      uint64_t *value, uint64_t *size)
{
    static const uint32_t order[] = {SHT_DYNSYM, SHT_SYMTAB};
    if (!e || !name || !value)
        return PLUMB_EINVAL;
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++) {
        for (uint64_t i = 0; i < e->section_count; i++) {
            Elf64_Shdr sh;
            if (section_header(e, i, &sh) != 0)
                break;
            if (sh.sh_type != order[k])
                continue;
            if (find_in_table(e, &sh, name, value, size) == 0)
                return 0;
        }
    }
    return PLUMB_ENOTFOUND;
}

int plumb__elf_first_load(const plumb__elf_t *e, uint64_t *vaddr,
                          uint64_t *offset)
{
    if (!e || !vaddr || !offset)
        return PLUMB_EINVAL;
    const Elf64_Ehdr *h = &e->header;
    if (h->e_phentsize < sizeof(Elf64_Phdr) ||
        !in_file(e, h->e_phoff, h->e_phnum, h->e_phentsize))
        return PLUMB_ENOTFOUND;
    for (uint64_t i = 0; i < h->e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, e->data + h->e_phoff + i * h->e_phentsize, sizeof ph);
        if (ph.p_type != PT_LOAD)
            continue;
        *vaddr = ph.p_vaddr;
        *offset = ph.p_offset;
        return 0;
    }
    return PLUMB_ENOTFOUND;
}
