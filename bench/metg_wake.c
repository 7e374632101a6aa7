/* The wake-up floor of bench_metg (see metg_wake.h): a libuv loop on its
 * own thread, woken by uv_async_send from another, timed from the send to
 * the async callback. One wake-up is in flight at a time, one every
 * 200 us at most, so that each finds the loop asleep in epoll_wait. */
#include "metg_wake.h"

#include "bench_util.h"
#include "metg_kernel.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <uv.h>

#define GAP_NS 200000    /* between wake-ups: the loop is asleep again */
#define DEADLINE_NS 30e9 /* the most a phase may take */
#define SPIN_ITER 64     /* kernel iterations between the sender's looks */
#define MAX_SPINNERS 256

typedef struct wake {
    uv_loop_t loop;
    uv_async_t async;
    _Atomic int64_t sent_ns; /* when the wake-up in flight was sent */
    atomic_int pending;      /* 1 while a wake-up is in flight */
    atomic_int stop;         /* the spinners end */
    atomic_int close;        /* the loop closes its handle and ends */
    double *lat;             /* us, written by the loop thread */
    atomic_int n;            /* in lat */
    int want;
} wake;

static void
s_on_async(uv_async_t *a)
{
    wake *w = a->data;
    int64_t t = bu_now_ns();
    if (atomic_load(&w->pending)) {
        int n = atomic_load(&w->n);
        if (n < w->want) {
            w->lat[n] = (double)(t - atomic_load(&w->sent_ns)) / 1e3;
            atomic_store(&w->n, n + 1);
        }
        atomic_store(&w->pending, 0); /* publishes lat[] to s_phase */
    }
    if (atomic_load(&w->close)) {
        uv_close((uv_handle_t *)a, NULL);
    }
}

static void
s_loop_thread(void *arg)
{
    wake *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
}

/* Sends a wake-up if none is in flight and GAP_NS passed since *last. */
static void
s_maybe_send(wake *w, int64_t *last)
{
    int64_t now = bu_now_ns();
    if (atomic_load(&w->pending) || now - *last < GAP_NS) {
        return;
    }
    *last = now;
    atomic_store(&w->sent_ns, now);
    atomic_store(&w->pending, 1);
    uv_async_send(&w->async);
}

/* A thread keeping one core busy with the kernel; the first one also
 * sends the wake-ups, between two short runs of it. */
typedef struct spinner {
    wake *w;
    int sender;
    uv_thread_t thread;
} spinner;

static void
s_spin(void *arg)
{
    spinner *s = arg;
    int64_t last = 0;
    volatile double sink = 0;
    for (uint64_t seed = 0; !atomic_load(&s->w->stop); seed++) {
        sink = sink + metg_kernel(SPIN_ITER, seed);
        if (s->sender) {
            s_maybe_send(s->w, &last);
        }
    }
}

/* Waits for want samples, sending them itself when nobody spins. The
 * median, or -1 past the deadline. */
static double
s_phase(wake *w, int sending)
{
    int64_t t0 = bu_now_ns(), last = 0;
    /* The sender naps between looks; a spinner sends instead, and then
     * this thread looks seldom, to leave it the cores. */
    struct timespec nap = {0, sending ? 20000 : 1000000};
    atomic_store(&w->n, 0);
    for (;;) {
        if (!atomic_load(&w->pending) && atomic_load(&w->n) >= w->want) {
            break;
        }
        if (bu_now_ns() - t0 > DEADLINE_NS) {
            return -1;
        }
        if (sending) {
            s_maybe_send(w, &last);
        }
        nanosleep(&nap, NULL);
    }
    return bu_median(w->lat, (size_t)atomic_load(&w->n));
}

int
metg_wake_floor(int cores, int samples, double *idle_us, double *busy_us)
{
    static wake w; /* its loop's handles must not move */
    static spinner sp[MAX_SPINNERS];
    uv_thread_t loop_thread;

    if (cores < 1 || cores > MAX_SPINNERS || samples < 1) {
        fprintf(stderr, "bench_metg: wake floor: bad cores or samples\n");
        return -1;
    }
    w = (wake){.want = samples};
    w.lat = calloc((size_t)samples, sizeof(*w.lat));
    if (w.lat == NULL || uv_loop_init(&w.loop) != 0) {
        fprintf(stderr, "bench_metg: wake floor: cannot start a loop\n");
        free(w.lat);
        return -1;
    }
    uv_async_init(&w.loop, &w.async, s_on_async);
    w.async.data = &w;
    uv_thread_create(&loop_thread, s_loop_thread, &w);
    *idle_us = s_phase(&w, 1);
    for (int i = 0; i < cores; i++) {
        sp[i] = (spinner){.w = &w, .sender = i == 0};
        uv_thread_create(&sp[i].thread, s_spin, &sp[i]);
    }
    *busy_us = s_phase(&w, 0);
    atomic_store(&w.stop, 1);
    for (int i = 0; i < cores; i++) {
        uv_thread_join(&sp[i].thread);
    }
    atomic_store(&w.close, 1);
    uv_async_send(&w.async);
    uv_thread_join(&loop_thread);
    uv_loop_close(&w.loop);
    free(w.lat);
    if (*idle_us < 0 || *busy_us < 0) {
        fprintf(stderr,
                "bench_metg: wake floor: the loop was not woken "
                "within %.0f s\n",
                DEADLINE_NS / 1e9);
        return -1;
    }
    return 0;
}
