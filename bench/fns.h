/* The task functions the benchmarks call, from bench/fns.c (and
 * bench_metg's metg_task, from bench/metg_fns.c).
 *
 * They are built as libbench_fns.so: the tcp benchmarks upload it to the
 * daemons with dv_upload_library(), and the benchmark programs link it, so
 * that the embedded clusters find the same functions in the program. */
#ifndef BENCH_FNS_H
#define BENCH_FNS_H

/* The number of functions in the library. Calling it makes the program
 * depend on a symbol of the library, so that a linker with --as-needed
 * keeps it (its functions register when it is loaded). */
int bench_fns_count(void);

/* The library's path, to upload: CMake defines it. */
#ifndef DV_BENCH_FNS_SO
#define DV_BENCH_FNS_SO "libbench_fns.so"
#endif

#endif /* BENCH_FNS_H */
