/* drove — unit: dvi_pset, the pointer sets the scheduler indexes its
 * workers' and clients' tasks with.
 *
 * A member that went missing after a deletion (a broken probe run) would
 * leave a task unreleased when its worker or client goes; a stale member
 * would be a use-after-free. Random adds and deletions are checked against
 * a plain array, with every member found and counted after each step.
 */
#include <stdlib.h>

#include "common/pset.h"
#include "dvt_unit.h"
#include "dvtest.h"

#define N (4 * DVI_PSET_KEEP_CAP)

static void
test_against_reference(void **state)
{
    static char objs[N][16]; /* distinct addresses */
    static int in[N];
    uint64_t rng = 42;
    dvi_pset s;
    dvi_pset_init(&s);
    size_t count = 0;
    for (int step = 0; step < 60000; step++) {
        int i = (int)(dvt_rand(&rng) % N);
        if (dvt_rand(&rng) % 3) {
            DVT_EQ_I64(dvi_pset_add(&s, objs[i]), !in[i]);
            count += !in[i];
            in[i] = 1;
        } else {
            DVT_EQ_I64(dvi_pset_del(&s, objs[i]), in[i]);
            count -= in[i];
            in[i] = 0;
        }
        DVT_EQ_I64(s.len, count);
        if (step % 5000 == 0) {
            size_t seen = 0;
            void *p;
            for (size_t k = 0; (p = dvi_pset_next(&s, &k));) {
                int idx = (int)(((char(*)[16])p) - objs);
                DVT_TRUE(idx >= 0 && idx < N && in[idx]);
                seen++;
            }
            DVT_EQ_I64(seen, count);
            for (int k = 0; k < N; k++) {
                DVT_EQ_I64(dvi_pset_has(&s, objs[k]), in[k]);
            }
        }
    }
    dvi_pset_fini(&s);
    DVT_EQ_I64(dvi_pset_has(&s, objs[0]), 0);
    DVT_EQ_I64(dvi_pset_del(&s, objs[0]), 0);
}

static void
test_shrinks_and_keeps_every_member(void **state)
{
    /* A set that held many members gives its slots back as they go, down
     * to DVI_PSET_KEEP_CAP, and every member left stays findable through
     * each shrinking; churn at a size just past a shrinking does not
     * resize it back. */
    static char objs[N][16];
    dvi_pset s;
    dvi_pset_init(&s);
    for (int i = 0; i < N; i++) {
        DVT_EQ_I64(dvi_pset_add(&s, objs[i]), 1);
    }
    DVT_GE_I64(s.cap, N * 4 / 3);
    int left = N;
    for (int step = 0; left > 50; step++) {
        int i = (step * 7919) % N;
        if (!dvi_pset_has(&s, objs[i])) {
            continue;
        }
        DVT_EQ_I64(dvi_pset_del(&s, objs[i]), 1);
        left--;
        if (left % 100 == 0) {
            int found = 0;
            for (int k = 0; k < N; k++) {
                found += dvi_pset_has(&s, objs[k]);
            }
            DVT_EQ_I64(found, left);
            DVT_EQ_I64(s.len, left);
        }
    }
    DVT_EQ_I64(s.cap, DVI_PSET_KEEP_CAP); /* shrunk, down to what it keeps */
    size_t cap = s.cap;
    void *any = NULL;
    for (int k = 0; any == NULL; k++) {
        any = dvi_pset_has(&s, objs[k]) ? objs[k] : NULL;
    }
    for (int i = 0; i < 1000; i++) {
        DVT_EQ_I64(dvi_pset_del(&s, any), 1);
        DVT_EQ_I64(dvi_pset_add(&s, any), 1);
        DVT_EQ_I64(s.cap, cap);
    }
    for (int k = 0; k < N; k++) {
        dvi_pset_del(&s, objs[k]);
    }
    DVT_EQ_I64(s.len, 0);
    DVT_EQ_I64(s.cap, DVI_PSET_KEEP_CAP);
    dvi_pset_fini(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_shrinks_and_keeps_every_member),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
