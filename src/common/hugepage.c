/* dvi_hugepage: madvise(MADV_HUGEPAGE) on large buffers (see hugepage.h). */
#include "hugepage.h"

#include <stdint.h>
#include <sys/mman.h>

#define S_HUGE ((uintptr_t)2 << 20)

void
dvi_hugepage_advise(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    if (n < DVI_HUGEPAGE_MIN) {
        return;
    }
    uintptr_t from = ((uintptr_t)p + S_HUGE - 1) & ~(S_HUGE - 1);
    uintptr_t to = ((uintptr_t)p + n) & ~(S_HUGE - 1);
    if (to > from) {
        /* Advice: a kernel without huge pages refuses it, which is fine. */
        (void)madvise((void *)from, to - from, MADV_HUGEPAGE);
    }
#else
    (void)p;
    (void)n;
#endif
}
