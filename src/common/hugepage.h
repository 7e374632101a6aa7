/* dvi_hugepage: large buffers backed by huge pages, and kept for reuse.
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
 *
 * Even in huge pages, fresh memory is zeroed by the kernel, and a mapped
 * buffer that glibc unmaps on free costs every thread of the process a
 * TLB shootdown. A daemon tunes malloc to reuse its heap instead
 * (dvi_trim_tune_process); a user's program, where `local:threads` runs,
 * is not ours to tune. So there, large buffers given back with
 * dvi_hugepage_free are kept, up to DVI_HUGEPAGE_KEEP bytes in all as
 * asked for, and the next allocation of about the same size takes one. A
 * tree of 8 MB arrays on `local:threads=2` took 35-190 ms when every
 * result was fresh memory, 22-30 ms reusing it. A tuned daemon's heap
 * reuses buffers up to its mmap threshold (32 MiB) itself: it keeps only
 * larger ones here, which glibc would map afresh each time. Fresh memory
 * is dearest in a virtual machine whose host backs a huge page only when
 * the guest first writes it: 256 MiB took 250-520 ms there, 22 ms reused
 * (150 ms in 4 KiB pages), and a 256 MiB transfer between two daemons
 * anything from 48 to 890 ms. Received frames are kept too (blob.c).
 *
 * The trimmer (trim.h) frees what has been kept unused for
 * DVI_HUGEPAGE_IDLE_MS, and everything when a worker is short of memory.
 */
#ifndef DVI_HUGEPAGE_H
#define DVI_HUGEPAGE_H

#include <stddef.h>
#include <stdint.h>

#define DVI_HUGEPAGE_MIN ((size_t)4 << 20)
/* Room for one 256 MiB buffer and what rounds it up. */
#define DVI_HUGEPAGE_KEEP ((size_t)512 << 20)
/* A buffer kept this long unused is given back (dvi_hugepage_trim_idle):
 * long enough to be there for the next result of a repeated job. */
#define DVI_HUGEPAGE_IDLE_MS 5000

/* Memory for a buffer of n bytes that is about to be written whole:
 * malloc'ed, and for n >= DVI_HUGEPAGE_MIN a buffer kept for reuse of
 * between n and n + n / 4 bytes, or a fresh one starting on a 2 MiB
 * boundary and advised onto huge pages. Caller owns; free with free() or
 * dvi_hugepage_free. NULL when out of memory. Thread-safe. */
void *dvi_hugepage_alloc(size_t n);
/* Gives back p, allocated by dvi_hugepage_alloc(n): one of
 * DVI_HUGEPAGE_MIN bytes or more is kept for reuse while what is kept
 * stays within the keep limit, others are freed. Accepts NULL.
 * Thread-safe. */
void dvi_hugepage_free(void *p, size_t n);
/* Frees every buffer kept; returns their bytes. Thread-safe. */
size_t dvi_hugepage_trim(void);
/* Frees the buffers kept unused for idle_ms or longer; returns their
 * bytes. Thread-safe. */
size_t dvi_hugepage_trim_idle(uint64_t idle_ms);
/* Milliseconds until the next buffer kept will have been unused for
 * idle_ms (at least 1), or 0 if none is kept. Thread-safe. */
uint64_t dvi_hugepage_idle_in(uint64_t idle_ms);
/* Keeps only buffers of at least bytes from now on (DVI_HUGEPAGE_MIN
 * until raised; never lowers it): a tuned daemon's heap reuses smaller
 * ones itself. Thread-safe. */
void dvi_hugepage_keep_from(size_t bytes);
/* Bytes kept for reuse now. Thread-safe. */
size_t dvi_hugepage_kept(void);
/* Keeps at most bytes for reuse from now on (DVI_HUGEPAGE_KEEP until
 * limited; 0 keeps none), freeing what is kept beyond them; never raises
 * the limit. Thread-safe. */
void dvi_hugepage_limit_keep(size_t bytes);

#endif
