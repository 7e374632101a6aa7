/* dvi_hugepage: large buffers 2 MiB-aligned and advised with
 * madvise(MADV_HUGEPAGE) (see hugepage.h). */
#include "hugepage.h"

#include <stdlib.h>
#include <sys/mman.h>

#define S_HUGE ((size_t)2 << 20)

void *
dvi_hugepage_alloc(size_t n)
{
#ifdef MADV_HUGEPAGE
    void *p = NULL;
    if (n < DVI_HUGEPAGE_MIN) {
        return malloc(n);
    }
    if (posix_memalign(&p, S_HUGE, n) != 0) {
        return NULL;
    }
    size_t whole = n & ~(S_HUGE - 1); /* in whole huge pages */
    size_t past = whole < n ? S_HUGE - (n - whole) : 0;
    size_t len = past > 0 && past <= n / 8 ? whole + S_HUGE : whole;
    /* Advice: a kernel without huge pages refuses it, which is fine. */
    (void)madvise(p, len, MADV_HUGEPAGE);
    return p;
#else
    return malloc(n);
#endif
}
