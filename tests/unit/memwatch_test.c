/* drove — unit: the sizes a worker's memory limit is read from.
 *
 * `--memory-limit` takes bytes with a unit (K, M, G, T are powers of
 * 1024, as the kernel's and docker's; KB, MB... of 1000), a fraction of
 * the machine's memory, or none; anything else, and a limit too small for
 * a worker to run at all, is refused with a reason that quotes it. The
 * machine's memory (or a cgroup's limit) and this process's RSS are read
 * from the system and must be plausible.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dvtest.h"
#include "worker/memwatch.h"

#define MIB ((uint64_t)1 << 20)
#define GIB ((uint64_t)1 << 30)

static void
s_parses(const char *text, uint64_t total, uint64_t want)
{
    uint64_t got = 1;
    if (dvi_memory_parse(text, total, &got) < 0) {
        DVT_FAIL("'%s' refused: %s", text, dv_last_error());
    }
    if (got != want) {
        DVT_FAIL("'%s' is %llu bytes, want %llu", text, (unsigned long long)got,
                 (unsigned long long)want);
    }
}

static void
s_refused(const char *text, const char *why)
{
    uint64_t got = 0;
    DVT_FAILS_WITH(DV_EINVAL, dvi_memory_parse(text, 8 * GIB, &got));
    DVT_CONTAINS(dv_last_error(), text);
    DVT_CONTAINS(dv_last_error(), why);
}

static void
test_parse(void **state)
{
    uint64_t total = 8 * GIB;
    s_parses("512M", total, 512 * MIB);
    s_parses("512m", total, 512 * MIB);
    s_parses("2G", total, 2 * GIB);
    s_parses("2GiB", total, 2 * GIB);
    s_parses("1.5G", total, 3 * GIB / 2);
    s_parses("2GB", total, 2000000000);
    s_parses("1T", total, 1024 * GIB);
    s_parses("65536K", total, 64 * MIB);
    s_parses("67108864", total, 64 * MIB);
    s_parses("0.5", total, 4 * GIB);
    s_parses("1.0", total, 8 * GIB);
    s_parses(".25", total, 2 * GIB);
    s_parses("none", total, 0);
    s_parses("0", total, 0);
    s_refused("lots", "want bytes");
    s_refused("-1G", "want bytes");
    s_refused("2X", "unknown unit 'X'");
    s_refused("2Gb2", "unknown unit");
    s_refused("1.5", "at most 1.0");
    s_refused("4096", "at least 16 MiB");
    s_refused("0.001", "at least 16 MiB");
    s_refused("inf", "want bytes");
    s_refused("nan", "want bytes");
}

static void
test_system_sizes(void **state)
{
    uint64_t total = dvi_memory_total();
    uint64_t rss = dvi_memory_rss();
    DVT_GE_I64(total, 64 * MIB);
    DVT_GE_I64(rss, 1 * MIB);
    DVT_LT_I64(rss, total);
    /* Touching 32 MiB more shows in RSS. */
    char *p = mmap(NULL, 32 * MIB, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    DVT_TRUE(p != MAP_FAILED);
    memset(p, 1, 32 * MIB);
    DVT_GE_I64(dvi_memory_rss(), rss + 30 * MIB);
    munmap(p, 32 * MIB);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_system_sizes),
    };
    return cmocka_run_group_tests_name("memwatch", tests, NULL, NULL);
}
