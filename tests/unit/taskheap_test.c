/* drove — unit: dvi_taskheap (the scheduler's ready queue), dvi_taskvec
 * and the task record.
 *
 * The heap decides which ready task runs next: highest priority first,
 * then submission order. A wrong order is visible to users as priorities
 * being ignored or old tasks starving; a heap_index that goes stale after
 * a removal (a cancel, a lost worker) corrupts the queue later. These
 * tests pop thousands of tasks against a sorted reference, remove tasks
 * from the middle and check the heap property and every heap_index after
 * each removal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dvt_unit.h"
#include "dvtest.h"
#include "scheduler/task.h"

static uint64_t s_rng = 0x9e3779b97f4a7c15ull;

static dvi_task *
s_task(int32_t priority, uint64_t seq)
{
    char key[32];
    int n = snprintf(key, sizeof(key), "t-%llu", (unsigned long long)seq);
    dvi_task *t = dvi_task_new(key, (size_t)n, NULL, 0, 0);
    t->priority = priority;
    t->seq = seq;
    return t;
}

static int
s_before(const dvi_task *a, const dvi_task *b)
{
    if (a->priority != b->priority) {
        return a->priority > b->priority;
    }
    return a->seq < b->seq;
}

static int
s_cmp(const void *pa, const void *pb)
{
    const dvi_task *a = *(dvi_task *const *)pa;
    const dvi_task *b = *(dvi_task *const *)pb;
    return s_before(a, b) ? -1 : s_before(b, a) ? 1 : 0;
}

/* The heap property (4 children a node), every entry's key is its task's,
 * and every member knows its own index; the run is in order, its first
 * member is no hole, and it counts its members. */
static void
s_check_heap(const dvi_taskheap *h)
{
    for (uint32_t i = 0; i < h->n; i++) {
        const dvi_task *t = h->v[i].t;
        if (t->heap_index != i) {
            DVT_FAIL("task at %u says heap_index %u", i, t->heap_index);
        }
        if (h->v[i].priority != t->priority || h->v[i].seq != t->seq) {
            DVT_FAIL("entry %u keeps a key that is not its task's", i);
        }
        if (i > 0 && s_before(t, h->v[(i - 1) / 4].t)) {
            DVT_FAIL("task at %u (prio %d seq %llu) beats its parent", i,
                     t->priority, (unsigned long long)t->seq);
        }
    }
    uint32_t span = (h->rend - h->rfirst) & 0x3fffffffu, live = 0;
    const dvi_task *prev = NULL;
    for (uint32_t k = 0; k < span; k++) {
        uint32_t id = (h->rfirst + k) & 0x3fffffffu;
        const dvi_task *t = h->run[id & (h->rcap - 1)].t;
        if (t == NULL) {
            if (k == 0) {
                DVT_FAIL("the run starts with a hole");
            }
            continue;
        }
        live++;
        if (prev != NULL && s_before(t, prev)) {
            DVT_FAIL("the run's member %u goes before the one ahead", k);
        }
        if (t->heap_index == DVI_NO_INDEX || t->heap_index < h->n) {
            DVT_FAIL("the run's member %u says heap_index %u", k,
                     t->heap_index);
        }
        prev = t;
    }
    DVT_EQ_I64(live, h->nrun);
}

static void
test_empty(void **state)
{
    dvi_taskheap h;
    dvi_taskheap_init(&h);
    DVT_TRUE(dvi_taskheap_pop(&h) == NULL);
    dvi_task *t = s_task(0, 1);
    dvi_taskheap_remove(&h, t); /* not in the heap: nothing happens */
    DVT_EQ_I64(dvi_taskheap_len(&h), 0);
    dvi_task_free(t);
    dvi_taskheap_fini(&h);
}

static void
test_priority_then_fifo(void **state)
{
    /* Pushed out of order: priorities 0, 5, -3, 5, 0, 5; ties go to the
     * earlier submission. */
    const int32_t prio[6] = {0, 5, -3, 5, 0, 5};
    const uint64_t want[6] = {2, 4, 6, 1, 5, 3}; /* seqs, in pop order */
    dvi_task *ts[6];
    dvi_taskheap h;
    dvi_taskheap_init(&h);
    /* Push in an order unrelated to seq, so FIFO is not an accident. */
    const int order[6] = {5, 0, 3, 2, 4, 1};
    for (int i = 0; i < 6; i++) {
        ts[i] = s_task(prio[i], (uint64_t)i + 1);
    }
    for (int i = 0; i < 6; i++) {
        dvi_taskheap_push(&h, ts[order[i]]);
        DVT_NE_I64(ts[order[i]]->heap_index, DVI_NO_INDEX);
    }
    s_check_heap(&h);
    for (int i = 0; i < 6; i++) {
        dvi_task *t = dvi_taskheap_pop(&h);
        DVT_TRUE(t != NULL);
        DVT_EQ_I64(t->seq, want[i]);
        DVT_EQ_I64(t->heap_index, DVI_NO_INDEX);
        s_check_heap(&h);
    }
    DVT_TRUE(dvi_taskheap_pop(&h) == NULL);
    for (int i = 0; i < 6; i++) {
        dvi_task_free(ts[i]);
    }
    dvi_taskheap_fini(&h);
}

/* Which of two queues' first tasks goes first, as the scheduler asks of
 * a worker's block of roots against the ready queue. */
static void
test_before_compares_first_tasks(void **state)
{
    dvi_taskheap a, b;
    dvi_taskheap_init(&a);
    dvi_taskheap_init(&b);
    dvi_task *old = s_task(0, 1), *young = s_task(0, 2), *urgent = s_task(5, 3);
    DVT_TRUE(!dvi_taskheap_before(&a, &b)); /* both empty */
    dvi_taskheap_push(&a, young);
    DVT_TRUE(dvi_taskheap_before(&a, &b)); /* only b empty */
    DVT_TRUE(!dvi_taskheap_before(&b, &a));
    dvi_taskheap_push(&b, old);
    DVT_TRUE(dvi_taskheap_before(&b, &a)); /* same priority: older first */
    DVT_TRUE(!dvi_taskheap_before(&a, &b));
    dvi_taskheap_push(&a, urgent);
    DVT_TRUE(dvi_taskheap_before(&a, &b)); /* higher priority first */
    dvi_taskheap_fini(&a);
    dvi_taskheap_fini(&b);
    dvi_task_free(old);
    dvi_task_free(young);
    dvi_task_free(urgent);
}

static void
test_random_against_sorted(void **state)
{
    enum { N = 5000 };
    dvi_task **ts = calloc(N, sizeof(*ts));
    dvi_task **ref = calloc(N, sizeof(*ref));
    assert_non_null(ts);
    assert_non_null(ref);
    dvi_taskheap h;
    dvi_taskheap_init(&h);
    for (int i = 0; i < N; i++) {
        /* Few distinct priorities, so most comparisons are FIFO ties;
         * include the extremes. */
        int32_t p = (int32_t)(dvt_rand(&s_rng) % 7) - 3;
        if (i == 17) {
            p = INT32_MAX;
        } else if (i == 18) {
            p = INT32_MIN;
        }
        ts[i] = s_task(p, (uint64_t)i);
        ref[i] = ts[i];
    }
    /* Push in a shuffled order. */
    for (int i = N - 1; i > 0; i--) {
        int j = (int)(dvt_rand(&s_rng) % (uint64_t)(i + 1));
        dvi_task *x = ts[i];
        ts[i] = ts[j];
        ts[j] = x;
    }
    for (int i = 0; i < N; i++) {
        dvi_taskheap_push(&h, ts[i]);
    }
    s_check_heap(&h);
    qsort(ref, N, sizeof(*ref), s_cmp);
    for (int i = 0; i < N; i++) {
        dvi_task *t = dvi_taskheap_pop(&h);
        if (t != ref[i]) {
            DVT_FAIL("pop %d: got prio %d seq %llu, want prio %d seq %llu", i,
                     t ? t->priority : 0, t ? (unsigned long long)t->seq : 0ull,
                     ref[i]->priority, (unsigned long long)ref[i]->seq);
        }
    }
    DVT_EQ_I64(dvi_taskheap_len(&h), 0);
    for (int i = 0; i < N; i++) {
        dvi_task_free(ts[i]);
    }
    free(ts);
    free(ref);
    dvi_taskheap_fini(&h);
}

static void
test_remove_from_middle(void **state)
{
    enum { N = 2000 };
    dvi_task **ts = calloc(N, sizeof(*ts));
    dvi_task **ref = calloc(N, sizeof(*ref));
    char *removed = calloc(N, 1);
    assert_non_null(ts);
    assert_non_null(ref);
    assert_non_null(removed);
    dvi_taskheap h;
    dvi_taskheap_init(&h);
    for (int i = 0; i < N; i++) {
        ts[i] = s_task((int32_t)(dvt_rand(&s_rng) % 100), (uint64_t)i);
        dvi_taskheap_push(&h, ts[i]);
    }
    /* Remove a third of the tasks, chosen at random (the root, leaves and
     * inner nodes alike), checking the whole heap after each removal. */
    int nremoved = 0;
    for (int k = 0; k < N / 3; k++) {
        int i = (int)(dvt_rand(&s_rng) % N);
        if (removed[i]) {
            continue;
        }
        dvi_taskheap_remove(&h, ts[i]);
        removed[i] = 1;
        nremoved++;
        DVT_EQ_I64(ts[i]->heap_index, DVI_NO_INDEX);
        DVT_EQ_I64(dvi_taskheap_len(&h), N - nremoved);
        if (k % 16 == 0) {
            s_check_heap(&h);
        }
    }
    s_check_heap(&h);
    /* Removing again, or removing a task never pushed, changes nothing. */
    for (int i = 0; i < N; i++) {
        if (removed[i]) {
            dvi_taskheap_remove(&h, ts[i]);
            break;
        }
    }
    dvi_task *stranger = s_task(50, 999999);
    dvi_taskheap_remove(&h, stranger);
    DVT_EQ_I64(dvi_taskheap_len(&h), N - nremoved);
    s_check_heap(&h);
    dvi_task_free(stranger);

    /* What is left pops in exactly the reference order. */
    int nref = 0;
    for (int i = 0; i < N; i++) {
        if (!removed[i]) {
            ref[nref++] = ts[i];
        }
    }
    qsort(ref, (size_t)nref, sizeof(*ref), s_cmp);
    for (int i = 0; i < nref; i++) {
        dvi_task *t = dvi_taskheap_pop(&h);
        DVT_TRUE(t == ref[i]);
    }
    DVT_TRUE(dvi_taskheap_pop(&h) == NULL);
    for (int i = 0; i < N; i++) {
        dvi_task_free(ts[i]);
    }
    free(ts);
    free(ref);
    free(removed);
    dvi_taskheap_fini(&h);
}

/* Tasks of one priority in submission order, the usual case, queue in
 * the run: no heap. Removals leave holes; the ring grows past them,
 * numbering members again, and each still knows its place. A task that
 * goes before the run's last (a higher priority, an older task queued
 * again) takes the heap, and the queue still pops in order. */
static void
test_run_in_order_with_holes(void **state)
{
    enum { N = 6000, FIRST = 3000 };
    dvi_task **ts = calloc(N + 2, sizeof(*ts));
    dvi_task **ref = calloc(N + 2, sizeof(*ref));
    char *removed = calloc(N + 2, 1);
    assert_non_null(ts);
    assert_non_null(ref);
    assert_non_null(removed);
    dvi_taskheap h;
    dvi_taskheap_init(&h);
    for (int i = 0; i < FIRST; i++) {
        ts[i] = s_task(0, (uint64_t)i + 10);
        dvi_taskheap_push(&h, ts[i]);
    }
    DVT_EQ_I64(h.n, 0);
    DVT_EQ_I64(h.nrun, FIRST);
    for (int i = 1; i < 1000; i += 3) { /* holes, behind the first */
        dvi_taskheap_remove(&h, ts[i]);
        removed[i] = 1;
        DVT_EQ_I64(ts[i]->heap_index, DVI_NO_INDEX);
    }
    s_check_heap(&h);
    for (int i = FIRST; i < N; i++) { /* the ring grows past the holes */
        ts[i] = s_task(0, (uint64_t)i + 10);
        dvi_taskheap_push(&h, ts[i]);
    }
    s_check_heap(&h);
    DVT_EQ_I64(h.n, 0);
    for (int i = 2; i < 2000; i += 7) { /* numbered again: found still */
        if (!removed[i]) {
            dvi_taskheap_remove(&h, ts[i]);
            removed[i] = 1;
            DVT_EQ_I64(ts[i]->heap_index, DVI_NO_INDEX);
        }
    }
    s_check_heap(&h);
    ts[N] = s_task(1, (uint64_t)N + 10); /* urgent: the heap */
    ts[N + 1] = s_task(0, 5);            /* older: the heap */
    dvi_taskheap_push(&h, ts[N]);
    dvi_taskheap_push(&h, ts[N + 1]);
    DVT_EQ_I64(h.n, 2);
    s_check_heap(&h);
    int nref = 0;
    for (int i = 0; i < N + 2; i++) {
        if (!removed[i]) {
            ref[nref++] = ts[i];
        }
    }
    DVT_EQ_I64(dvi_taskheap_len(&h), nref);
    qsort(ref, (size_t)nref, sizeof(*ref), s_cmp);
    for (int i = 0; i < nref; i++) {
        if (dvi_taskheap_pop(&h) != ref[i]) {
            DVT_FAIL("pop %d is not the reference's", i);
        }
        if (i % 500 == 0) {
            s_check_heap(&h);
        }
    }
    DVT_TRUE(dvi_taskheap_pop(&h) == NULL);
    DVT_TRUE(h.rcap <= DVI_TASKVEC_KEEP); /* the burst's ring went */
    for (int i = 0; i < N + 2; i++) {
        dvi_task_free(ts[i]);
    }
    free(ts);
    free(ref);
    free(removed);
    dvi_taskheap_fini(&h);
}

static void
test_remove_last_and_root(void **state)
{
    dvi_taskheap h;
    dvi_taskheap_init(&h);
    dvi_task *a = s_task(3, 1), *b = s_task(2, 2), *c = s_task(1, 3);
    dvi_taskheap_push(&h, a);
    dvi_taskheap_push(&h, b);
    dvi_taskheap_push(&h, c);
    dvi_taskheap_remove(&h, c); /* the last slot */
    s_check_heap(&h);
    dvi_taskheap_remove(&h, a); /* the root */
    s_check_heap(&h);
    DVT_TRUE(dvi_taskheap_pop(&h) == b);
    DVT_TRUE(dvi_taskheap_pop(&h) == NULL);
    /* A popped task can be pushed again (a rescheduled task). */
    dvi_taskheap_push(&h, a);
    dvi_taskheap_push(&h, c);
    DVT_TRUE(dvi_taskheap_pop(&h) == a);
    DVT_TRUE(dvi_taskheap_pop(&h) == c);
    dvi_task_free(a);
    dvi_task_free(b);
    dvi_task_free(c);
    dvi_taskheap_fini(&h);
}

static void
test_taskvec(void **state)
{
    dvi_taskvec v;
    dvi_taskvec_init(&v);
    dvi_task *ts[10];
    for (int i = 0; i < 10; i++) {
        ts[i] = s_task(0, (uint64_t)i);
        dvi_taskvec_push(&v, ts[i]);
    }
    DVT_EQ_I64(v.n, 10);
    DVT_GE_I64(v.cap, 10);
    dvi_taskvec_remove(&v, ts[3]);
    dvi_taskvec_remove(&v, ts[3]); /* absent: nothing happens */
    DVT_EQ_I64(v.n, 9);
    for (uint32_t i = 0; i < v.n; i++) {
        DVT_TRUE(v.v[i] != ts[3]);
    }
    /* Shift keeps the order of what remains. */
    dvi_taskvec_fini(&v);
    for (int i = 0; i < 10; i++) {
        dvi_taskvec_push(&v, ts[i]);
    }
    dvi_taskvec_shift(&v, 4);
    DVT_EQ_I64(v.n, 6);
    for (uint32_t i = 0; i < v.n; i++) {
        DVT_TRUE(v.v[i] == ts[i + 4]);
    }
    dvi_taskvec_shift(&v, 0);
    DVT_EQ_I64(v.n, 6);
    dvi_taskvec_shift(&v, 6);
    DVT_EQ_I64(v.n, 0);
    dvi_taskvec_fini(&v);
    DVT_TRUE(v.v == NULL);
    for (int i = 0; i < 10; i++) {
        dvi_task_free(ts[i]);
    }
}

static void
test_emptied_arrays_shrink(void **state)
{
    /* A heap that held many tasks halves as they leave, and still pops in
     * order; a worklist reset after a burst gives its array back. */
    enum { N = 20000 };
    dvi_task **ts = calloc(N, sizeof(*ts));
    assert_non_null(ts);
    dvi_taskheap h;
    dvi_taskheap_init(&h);
    for (int i = 0; i < N; i++) {
        ts[i] = s_task((int32_t)(dvt_rand(&s_rng) % 10), (uint64_t)i);
        dvi_taskheap_push(&h, ts[i]);
    }
    DVT_GE_I64(h.cap + h.rcap, N);
    for (int i = 0; i < N; i += 2) {
        dvi_taskheap_remove(&h, ts[i]);
    }
    s_check_heap(&h);
    dvi_task *prev = NULL;
    while (dvi_taskheap_len(&h) > 100) {
        dvi_task *t = dvi_taskheap_pop(&h);
        DVT_TRUE(prev == NULL || !s_before(t, prev));
        prev = t;
    }
    s_check_heap(&h);
    DVT_TRUE(h.cap <= DVI_TASKVEC_KEEP && h.rcap <= DVI_TASKVEC_KEEP);
    dvi_taskheap_fini(&h);

    dvi_taskvec v;
    dvi_taskvec_init(&v);
    for (int i = 0; i < 10; i++) {
        dvi_taskvec_push(&v, ts[i]);
    }
    dvi_task **small = v.v;
    dvi_taskvec_reset(&v); /* small: kept */
    DVT_TRUE(v.n == 0 && v.v == small);
    for (int i = 0; i < N; i++) {
        dvi_taskvec_push(&v, ts[i]);
    }
    dvi_taskvec_reset(&v); /* large: given back */
    DVT_TRUE(v.n == 0 && v.v == NULL && v.cap == 0);
    for (int i = 0; i < N; i++) {
        dvi_task_free(ts[i]);
    }
    free(ts);
}

static void
test_task_record(void **state)
{
    const char args[] = "\x93\x01\x02\x03";
    dvi_task *t = dvi_task_new("inc-abc", 7, args, sizeof(args) - 1, 3);
    DVT_EQ_STR(t->key, "inc-abc");
    DVT_EQ_I64(t->keylen, 7);
    DVT_EQ_I64(t->args_len, 4);
    DVT_TRUE(memcmp(dvi_task_args(t), args, 4) == 0);
    DVT_EQ_I64(t->state, 0); /* no state until the core gives it one */
    DVT_EQ_I64(t->heap_index, DVI_NO_INDEX);
    /* Three inputs take an array; each slot is writable. */
    dvi_task **deps = dvi_task_deps(t);
    dvi_task *one = s_task(0, 1);
    for (int i = 0; i < 3; i++) {
        DVT_TRUE(deps[i] == NULL);
        deps[i] = one;
    }
    /* One input lives inline. */
    dvi_task *u = dvi_task_new("k", 1, NULL, 0, 1);
    dvi_task_deps(u)[0] = one;
    DVT_TRUE(u->deps.one == one);

    /* Holders: added once each, removed by identity; the inline slot
     * turns into an array at the second. */
    /* Workers are opaque here: only their addresses matter. */
    static char wbuf[6][64];
    dvi_sworker *w[6];
    for (int i = 0; i < 6; i++) {
        w[i] = (dvi_sworker *)wbuf[i];
    }
    dvi_task_add_holder(u, w[0]);
    dvi_task_add_holder(u, w[0]);
    DVT_EQ_I64(u->nwho, 1);
    for (int i = 1; i < 6; i++) {
        dvi_task_add_holder(u, w[i]);
    }
    DVT_EQ_I64(u->nwho, 6);
    DVT_EQ_I64(dvi_task_remove_holder(u, w[2]), 1);
    DVT_EQ_I64(dvi_task_remove_holder(u, w[2]), 0);
    DVT_EQ_I64(u->nwho, 5);
    int seen = 0;
    for (uint32_t i = 0; i < u->nwho; i++) {
        dvi_sworker *h = dvi_task_holder(u, i);
        DVT_TRUE(h != w[2]);
        seen += h == w[5];
    }
    DVT_EQ_I64(seen, 1);

    dvi_task *single = s_task(0, 2);
    dvi_task_add_holder(single, w[0]);
    DVT_EQ_I64(dvi_task_remove_holder(single, w[1]), 0);
    DVT_EQ_I64(dvi_task_remove_holder(single, w[0]), 1);
    DVT_EQ_I64(single->nwho, 0);

    dvi_task_free(t);
    dvi_task_free(u);
    dvi_task_free(one);
    dvi_task_free(single);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_priority_then_fifo),
        cmocka_unit_test(test_before_compares_first_tasks),
        cmocka_unit_test(test_random_against_sorted),
        cmocka_unit_test(test_remove_from_middle),
        cmocka_unit_test(test_run_in_order_with_holes),
        cmocka_unit_test(test_remove_last_and_root),
        cmocka_unit_test(test_emptied_arrays_shrink),
        cmocka_unit_test(test_taskvec),
        cmocka_unit_test(test_task_record),
    };
    return cmocka_run_group_tests_name("taskheap", tests, NULL, NULL);
}
