/* elf.h: the symbols and load address of an ELF64 file on disk, for finding
 * the interpreter in a target (python.c). Internal to libplumb.
 *
 * Ownership: an elf made by plumb__elf_open owns its mapping of the file
 * and is released by plumb__elf_close (NULL is a no-op); one made by
 * plumb__elf_open_memory borrows the caller's bytes, which must outlive it.
 * Every offset in the file is bounds-checked: a truncated or corrupt file
 * gives PLUMB_EPARSE or PLUMB_ENOTFOUND, never a read outside it. */
#ifndef PLUMB_SAMPLER_ELF_H
#define PLUMB_SAMPLER_ELF_H

#include <stddef.h>
#include <stdint.h>

typedef struct plumb__elf plumb__elf_t;

/* Maps the file at path read-only. PLUMB_ENOTFOUND when it does not exist,
 * PLUMB_EACCESS when it may not be read, PLUMB_EIO for other failures,
 * PLUMB_EPARSE when it is not an ELF file, PLUMB_EUNSUPPORTED when it is
 * not a little-endian ELF64 one. The caller closes *out. */
int plumb__elf_open(const char *path, plumb__elf_t **out);
/* The same over size bytes at data (borrowed, not copied). */
int plumb__elf_open_memory(const void *data, size_t size, plumb__elf_t **out);
void plumb__elf_close(plumb__elf_t *e);

/* The value (st_value: the link-time address) of the defined symbol name,
 * looked up in .dynsym, then in .symtab (which stripped files lack). *size
 * receives st_size when size is not NULL. PLUMB_ENOTFOUND when neither
 * table defines it. */
int plumb__elf_symbol(const plumb__elf_t *e, const char *name,
                      uint64_t *value, uint64_t *size);

/* p_vaddr and p_offset of the first PT_LOAD segment (in program header
 * order, which the ELF specification makes ascending by address). A file
 * mapped with load bias B has that segment's first page, holding file
 * offset page_down(p_offset), at B + page_down(p_vaddr): so
 * B = (start of the mapping of that file offset) - page_down(p_vaddr).
 * PLUMB_ENOTFOUND when the file has no PT_LOAD. */
int plumb__elf_first_load(const plumb__elf_t *e, uint64_t *vaddr,
                          uint64_t *offset);

#endif
