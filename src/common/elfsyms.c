/* dvi_elf: DV_FUNCTION descriptors read from a library's dynamic symbol
 * table, every offset checked against the file before it is read. */
#include "elfsyms.h"

#include <elf.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drove.h"
#include "err.h"

#define S_PREFIX "dv__fn_"
#define S_MAX_FNS 65536

typedef struct s_elf {
    const char *p;
    size_t n;
    const Elf64_Shdr *sh; /* section headers, checked to lie in the file */
    size_t nsh;
} s_elf;

/* Whether [off, off + len) lies inside the file. */
static int
s_inside(const s_elf *e, uint64_t off, uint64_t len)
{
    return off <= e->n && len <= e->n - off;
}

static int
s_open(s_elf *e, const char *p, size_t n)
{
    memset(e, 0, sizeof(*e));
    e->p = p;
    e->n = n;
    if (n < sizeof(Elf64_Ehdr) || memcmp(p, ELFMAG, SELFMAG) != 0) {
        return dvi_seterr(DV_EINVAL, "not an ELF file");
    }
    Elf64_Ehdr h;
    memcpy(&h, p, sizeof(h));
    if (h.e_ident[EI_CLASS] != ELFCLASS64 ||
        h.e_ident[EI_DATA] != ELFDATA2LSB || h.e_type != ET_DYN ||
        h.e_shentsize != sizeof(Elf64_Shdr) ||
        !s_inside(e, h.e_shoff, (uint64_t)h.e_shnum * sizeof(Elf64_Shdr)) ||
        h.e_shoff % 8 != 0) {
        return dvi_seterr(DV_EINVAL, "not a 64-bit little-endian shared "
                                     "library, or a damaged one");
    }
    e->sh = (const Elf64_Shdr *)(p + h.e_shoff);
    e->nsh = h.e_shnum;
    return 0;
}

/* The flags of the descriptor at virtual address addr: the dv_function's
 * third member, after two pointers, a constant in the file. */
static unsigned
s_flags_at(const s_elf *e, uint64_t addr)
{
    const uint64_t at = 2 * sizeof(uint64_t);
    for (size_t i = 0; i < e->nsh; i++) {
        const Elf64_Shdr *s = &e->sh[i];
        if (s->sh_type != SHT_PROGBITS || addr < s->sh_addr ||
            addr - s->sh_addr > s->sh_size ||
            s->sh_size - (addr - s->sh_addr) < at + sizeof(unsigned)) {
            continue;
        }
        uint64_t off = s->sh_offset + (addr - s->sh_addr) + at;
        unsigned flags = 0;
        if (s_inside(e, off, sizeof(flags))) {
            memcpy(&flags, e->p + off, sizeof(flags));
        }
        return flags;
    }
    return 0;
}

/* Collects the descriptors of the symbol table in section i. */
static int
s_scan(const s_elf *e, const Elf64_Shdr *sym, dvi_elf_fn **out, int *count)
{
    if (sym->sh_link >= e->nsh || sym->sh_entsize != sizeof(Elf64_Sym) ||
        !s_inside(e, sym->sh_offset, sym->sh_size) || sym->sh_offset % 8) {
        return dvi_seterr(DV_EINVAL, "damaged symbol table");
    }
    const Elf64_Shdr *str = &e->sh[sym->sh_link];
    if (!s_inside(e, str->sh_offset, str->sh_size)) {
        return dvi_seterr(DV_EINVAL, "damaged string table");
    }
    const char *strs = e->p + str->sh_offset;
    size_t nsyms = sym->sh_size / sizeof(Elf64_Sym);
    for (size_t k = 0; k < nsyms && *count < S_MAX_FNS; k++) {
        Elf64_Sym s;
        memcpy(&s, e->p + sym->sh_offset + k * sizeof(s), sizeof(s));
        if (ELF64_ST_TYPE(s.st_info) != STT_OBJECT || s.st_shndx == SHN_UNDEF ||
            s.st_name >= str->sh_size) {
            continue;
        }
        const char *name = strs + s.st_name;
        size_t max = str->sh_size - s.st_name;
        size_t len = strnlen(name, max);
        if (len == max || len <= strlen(S_PREFIX) ||
            strncmp(name, S_PREFIX, strlen(S_PREFIX)) != 0) {
            continue;
        }
        *out = dvi_realloc(*out, (size_t)(*count + 1) * sizeof(**out));
        (*out)[*count].name = dvi_strdup(name + strlen(S_PREFIX));
        (*out)[*count].flags = s_flags_at(e, s.st_value);
        (*count)++;
    }
    return 0;
}

int
dvi_elf_functions(const char *bytes, size_t n, dvi_elf_fn **out)
{
    s_elf e;
    *out = NULL;
    int rc = s_open(&e, bytes, n);
    int count = 0;
    for (size_t i = 0; rc == 0 && i < e.nsh; i++) {
        if (e.sh[i].sh_type == SHT_DYNSYM) {
            rc = s_scan(&e, &e.sh[i], out, &count);
        }
    }
    if (rc < 0) {
        dvi_elf_fns_free(*out, count);
        *out = NULL;
        return rc;
    }
    return count;
}

void
dvi_elf_fns_free(dvi_elf_fn *fns, int n)
{
    for (int i = 0; i < n; i++) {
        free(fns[i].name);
    }
    free(fns);
}
