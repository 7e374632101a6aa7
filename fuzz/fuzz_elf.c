/* drove — fuzz: dvi_elf_functions, the reading of a library file's
 * DV_FUNCTION descriptors (a client reads the file it uploads).
 *
 * For any bytes it returns a count or DV_EINVAL without reading outside
 * them (ASan), and every name it returns is a non-empty string.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/elfsyms.h"
#include "drove.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* A copy the size of the input exactly, so ASan sees any overread. */
    char *copy = malloc(size ? size : 1);
    if (size) {
        memcpy(copy, data, size);
    }
    dvi_elf_fn *fns;
    int n = dvi_elf_functions(copy, size, &fns);
    if (n < 0 && n != DV_EINVAL) {
        abort();
    }
    for (int i = 0; i < n; i++) {
        if (fns[i].name == NULL || fns[i].name[0] == '\0') {
            abort();
        }
    }
    if (n >= 0) {
        dvi_elf_fns_free(fns, n);
    }
    free(copy);
    return 0;
}
