/* drove — unit: dvi_elf, the DV_FUNCTIONs a library defines, read from
 * its bytes without loading it.
 *
 * A client uploading a library learns from this which code its calls of
 * each name then mean, and which are impure: a function missed would run
 * stale or foreign code, an impure one read as pure would merge calls.
 * This test program is itself a position-independent ELF with exported
 * DV_FUNCTIONs, so it reads its own file. The bytes are untrusted: every
 * prefix of the file, and the file with bytes flipped, must be read
 * without a crash (ASan checks the reads).
 */
#include <stdlib.h>
#include <string.h>

#include "common/elfsyms.h"
#include "common/file.h"
#include "dvt_unit.h"
#include "dvtest.h"

DV_FUNCTION(elf_probe)
{
    return dv_return(call, dv_i64(1));
}

DV_FUNCTION_IMPURE(elf_probe_impure)
{
    return dv_return(call, dv_i64(2));
}

static const dvi_elf_fn *
s_find(const dvi_elf_fn *fns, int n, const char *name)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(fns[i].name, name) == 0) {
            return &fns[i];
        }
    }
    return NULL;
}

static void
test_reads_this_program(void **state)
{
    char *bytes;
    size_t len;
    DVT_PASS(dvi_read_file("/proc/self/exe", &bytes, &len));
    dvi_elf_fn *fns;
    int n = dvi_elf_functions(bytes, len, &fns);
    DVT_GE_I64(n, 2);
    const dvi_elf_fn *p = s_find(fns, n, "elf_probe");
    const dvi_elf_fn *q = s_find(fns, n, "elf_probe_impure");
    DVT_TRUE(p != NULL && q != NULL);
    DVT_EQ_I64(p->flags, 0);
    DVT_EQ_I64(q->flags, DV_FN_IMPURE);
    dvi_elf_fns_free(fns, n);
    free(bytes);
}

static void
test_refuses_what_is_not_a_library(void **state)
{
    dvi_elf_fn *fns;
    const char text[] = "#!/bin/sh\necho not a library\n";
    DVT_FAILS_WITH(DV_EINVAL, dvi_elf_functions(text, sizeof(text), &fns));
    DVT_CONTAINS(dv_last_error(), "not an ELF file");
    DVT_FAILS_WITH(DV_EINVAL, dvi_elf_functions("\x7f" "ELF", 4, &fns));
    DVT_TRUE(fns == NULL);
}

static void
test_damaged_files_read_safely(void **state)
{
    char *bytes;
    size_t len;
    DVT_PASS(dvi_read_file("/proc/self/exe", &bytes, &len));
    /* Every prefix, in steps: the section headers sit at the end. */
    for (size_t cut = 0; cut < len; cut += 1 + cut / 64) {
        char *copy = malloc(cut ? cut : 1);
        memcpy(copy, bytes, cut);
        dvi_elf_fn *fns;
        int n = dvi_elf_functions(copy, cut, &fns);
        if (n >= 0) {
            dvi_elf_fns_free(fns, n);
        }
        free(copy);
    }
    /* Bytes flipped here and there. */
    uint64_t rng = 7;
    char *copy = malloc(len);
    for (int round = 0; round < 2000; round++) {
        memcpy(copy, bytes, len);
        for (int k = 0; k < 8; k++) {
            copy[dvt_rand(&rng) % len] = (char)dvt_rand(&rng);
        }
        dvi_elf_fn *fns;
        int n = dvi_elf_functions(copy, len, &fns);
        if (n >= 0) {
            dvi_elf_fns_free(fns, n);
        }
    }
    free(copy);
    free(bytes);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reads_this_program),
        cmocka_unit_test(test_refuses_what_is_not_a_library),
        cmocka_unit_test(test_damaged_files_read_safely),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
