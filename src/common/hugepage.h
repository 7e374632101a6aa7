/* dvi_hugepage: large buffers backed by huge pages.
 *
 * A fresh buffer costs one page fault for each page the first time it is
 * written. In 4 KiB pages a 256 MiB result is 65,536 faults, and in a
 * virtual machine each fault is a trip through the hypervisor: filling
 * fresh memory then runs an order of magnitude slower than copying into
 * memory already mapped (measured on a 2-core VM: 100-250 MiB/s against
 * 2-9 GiB/s), and a transfer goes at the speed of its receiver's faults.
 * Advised to use transparent huge pages, the same buffer takes 128 faults
 * of 2 MiB; an 8 MB array is written in a quarter of the time.
 *
 * Only buffers of DVI_HUGEPAGE_MIN bytes or more are advised; they are
 * written whole (a result, a frame being read), so huge pages waste
 * nothing there. They start on a 2 MiB boundary: at a random offset, the
 * 4 KiB pages at both ends of an 8 MB buffer would be a quarter of it and
 * most of its faults. The huge page the buffer ends in is advised too when
 * the bytes it adds past the end are at most an eighth of the buffer.
 * glibc maps the largest buffers on their own; others lie in a heap,
 * whose range keeps the advice after the buffer is freed: memory reused
 * there may come back in huge pages, never more than the buffer once held
 * and that eighth. glibc's own glibc.malloc.hugetlb=1 tunable advises
 * whole heaps the same way. It changes something only where the system
 * leaves huge pages to madvise(2) (transparent_hugepage "madvise"), and
 * costs a system call otherwise.
 */
#ifndef DVI_HUGEPAGE_H
#define DVI_HUGEPAGE_H

#include <stddef.h>

#define DVI_HUGEPAGE_MIN ((size_t)4 << 20)

/* Memory for a buffer of n bytes that is about to be written whole:
 * malloc'ed, and for n >= DVI_HUGEPAGE_MIN starting on a 2 MiB boundary
 * and advised onto huge pages. Caller owns; free with free(). NULL when
 * out of memory. Thread-safe. */
void *dvi_hugepage_alloc(size_t n);

#endif
