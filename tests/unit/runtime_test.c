/* drove — unit: dvi_runtime, the loop skeleton every role runs on.
 *
 * What the roles rely on: a job's work runs on the job thread, never on
 * the loop, and its done callback comes back on the loop thread, in the
 * order the jobs were queued; an outstanding job keeps the loop alive
 * until its done callback has run, and teardown finishes every job; stop
 * signals are counted, so a role can stop at once on the second; hooks
 * run before each sleep, in order; and teardown closes every handle a role
 * left open, so that uv_loop_close succeeds (returns 0). No test relies on
 * timing: timers only bound how long a test may wait.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "common/runtime.h"
#include "dvtest.h"

#define NJOBS 64

typedef struct s_jobs {
    dvi_runtime *rt;
    uv_thread_t loop_thread;
    int worked[NJOBS]; /* order in which work ran */
    int nworked;
    int finished[NJOBS]; /* order in which done ran */
    int nfinished;
    int work_on_loop;   /* work calls made on the loop thread */
    int done_off_loop;  /* done calls made elsewhere */
    int requeue;        /* the done of job 0 queues job NJOBS - 1 */
    int ctx_ids[NJOBS]; /* each job's ctx points to its id */
} s_jobs;

static s_jobs *s_current;

static void
s_work(void *ctx)
{
    int id = *(int *)ctx;
    uv_thread_t self = uv_thread_self();
    /* Only the job thread writes these while jobs run; the loop reads
     * them after the done callbacks, which the runtime orders after. */
    if (uv_thread_equal(&self, &s_current->loop_thread)) {
        s_current->work_on_loop++;
    }
    s_current->worked[s_current->nworked++] = id;
}

static void
s_done(void *ctx)
{
    int id = *(int *)ctx;
    uv_thread_t self = uv_thread_self();
    if (!uv_thread_equal(&self, &s_current->loop_thread)) {
        s_current->done_off_loop++;
    }
    s_current->finished[s_current->nfinished++] = id;
    if (id == 0 && s_current->requeue) {
        DVT_PASS(dvi_runtime_queue_job(s_current->rt, s_work, s_done,
                                       &s_current->ctx_ids[NJOBS - 1]));
    }
}

static void
s_jobs_init(s_jobs *j, int requeue)
{
    memset(j, 0, sizeof(*j));
    j->rt = DVT_NOTNULL(dvi_runtime_new());
    j->loop_thread = uv_thread_self();
    j->requeue = requeue;
    for (int i = 0; i < NJOBS; i++) {
        j->ctx_ids[i] = i;
    }
    s_current = j;
}

static void
test_jobs_run_off_the_loop_and_finish_on_it_in_order(void **state)
{
    s_jobs j;
    s_jobs_init(&j, 0);
    for (int i = 0; i < NJOBS; i++) {
        DVT_PASS(dvi_runtime_queue_job(j.rt, s_work, s_done, &j.ctx_ids[i]));
    }
    DVT_EQ_I64(dvi_runtime_jobs_outstanding(j.rt), NJOBS);
    /* Nothing but the jobs keeps the loop alive: it returns once every
     * done callback has run. */
    dvi_runtime_run(j.rt);
    DVT_EQ_I64(dvi_runtime_jobs_outstanding(j.rt), 0);
    DVT_EQ_I64(j.nworked, NJOBS);
    DVT_EQ_I64(j.nfinished, NJOBS);
    for (int i = 0; i < NJOBS; i++) {
        DVT_EQ_I64(j.worked[i], i);
        DVT_EQ_I64(j.finished[i], i);
    }
    DVT_EQ_I64(j.work_on_loop, 0);
    DVT_EQ_I64(j.done_off_loop, 0);
    DVT_EQ_I64(dvi_runtime_teardown(j.rt), 0);
    dvi_runtime_destroy(&j.rt);
    DVT_TRUE(j.rt == NULL);
}

static void
test_wait_and_teardown_finish_every_job(void **state)
{
    s_jobs j;
    s_jobs_init(&j, 1);
    for (int i = 0; i < NJOBS - 1; i++) {
        DVT_PASS(dvi_runtime_queue_job(j.rt, s_work, s_done, &j.ctx_ids[i]));
    }
    /* Without running the loop: done callbacks run here, the job the
     * first one queues included, still in order. */
    dvi_runtime_wait_jobs(j.rt);
    DVT_EQ_I64(j.nfinished, NJOBS);
    DVT_EQ_I64(j.finished[0], 0);
    DVT_EQ_I64(j.finished[NJOBS - 1], NJOBS - 1);
    DVT_EQ_I64(j.done_off_loop, 0);

    /* Jobs still queued at teardown are finished by it. */
    j.nworked = j.nfinished = 0;
    j.requeue = 0;
    for (int i = 0; i < 8; i++) {
        DVT_PASS(dvi_runtime_queue_job(j.rt, s_work, NULL, &j.ctx_ids[i]));
    }
    DVT_PASS(dvi_runtime_queue_job(j.rt, s_work, s_done, &j.ctx_ids[8]));
    DVT_EQ_I64(dvi_runtime_teardown(j.rt), 0);
    DVT_EQ_I64(j.nworked, 9);
    DVT_EQ_I64(j.nfinished, 1);
    DVT_EQ_I64(j.finished[0], 8);
    dvi_runtime_destroy(&j.rt);
}

typedef struct s_sig {
    dvi_runtime *rt;
    uv_timer_t deadline;
    int signums[4];
    int counts[4];
    int n;
} s_sig;

static void
s_on_signal(void *ctx, int signum, int count)
{
    s_sig *s = ctx;
    if (s->n < 4) {
        s->signums[s->n] = signum;
        s->counts[s->n] = count;
        s->n++;
    }
    if (count >= 2) {
        /* The second stop signal: stop at once. */
        uv_timer_stop(&s->deadline);
        dvi_runtime_stop(s->rt);
    }
}

static void
s_deadline_cb(uv_timer_t *t)
{
    s_sig *s = t->data;
    DVT_FAIL("the signals were not delivered in time (%d seen)", s->n);
    dvi_runtime_stop(s->rt);
}

static void
test_signals_are_counted(void **state)
{
    s_sig s;
    memset(&s, 0, sizeof(s));
    s.rt = DVT_NOTNULL(dvi_runtime_new());
    DVT_PASS(dvi_runtime_catch_signals(s.rt, s_on_signal, &s));
    /* The timer only bounds the wait; it also keeps the loop alive, since
     * watching signals does not. */
    uv_timer_init(dvi_runtime_loop(s.rt), &s.deadline);
    s.deadline.data = &s;
    uv_timer_start(&s.deadline, s_deadline_cb, 30000, 0);
    raise(SIGTERM);
    raise(SIGINT);
    dvi_runtime_run(s.rt);
    DVT_EQ_I64(s.n, 2);
    DVT_EQ_I64(s.signums[0], SIGTERM);
    DVT_EQ_I64(s.counts[0], 1);
    DVT_EQ_I64(s.signums[1], SIGINT);
    DVT_EQ_I64(s.counts[1], 2);
    DVT_EQ_I64(dvi_runtime_signal_count(s.rt), 2);
    /* The timer is left open: teardown closes it. */
    DVT_EQ_I64(dvi_runtime_teardown(s.rt), 0);
    /* Afterwards the signals have their default effect again. */
    struct sigaction sa;
    sigaction(SIGINT, NULL, &sa);
    DVT_TRUE(sa.sa_handler == SIG_DFL);
    sigaction(SIGTERM, NULL, &sa);
    DVT_TRUE(sa.sa_handler == SIG_DFL);
    dvi_runtime_destroy(&s.rt);
}

typedef struct s_hooks {
    dvi_runtime *rt;
    uv_idle_t idle;
    int turns;     /* idle callbacks */
    char log[256]; /* "ab" per pass while both hooks are on */
    size_t len;
    int b_calls;
} s_hooks;

static void
s_hook_a(void *ctx)
{
    s_hooks *h = ctx;
    if (h->len + 1 < sizeof(h->log)) {
        h->log[h->len++] = 'a';
    }
}

static void
s_hook_b(void *ctx)
{
    s_hooks *h = ctx;
    if (h->len + 1 < sizeof(h->log)) {
        h->log[h->len++] = 'b';
    }
    /* Removes itself from inside a pass, on its third call. */
    if (++h->b_calls == 3) {
        dvi_runtime_remove_hook(h->rt, s_hook_b, h);
    }
}

static void
s_idle_cb(uv_idle_t *i)
{
    s_hooks *h = i->data;
    if (++h->turns == 6) {
        uv_idle_stop(i);
    }
}

static void
test_hooks_run_before_each_sleep_in_order(void **state)
{
    s_hooks h;
    memset(&h, 0, sizeof(h));
    h.rt = DVT_NOTNULL(dvi_runtime_new());
    dvi_runtime_add_hook(h.rt, s_hook_a, &h);
    dvi_runtime_add_hook(h.rt, s_hook_b, &h);
    /* Hooks alone do not keep the loop alive: the idle handle does, for
     * six turns. */
    uv_idle_init(dvi_runtime_loop(h.rt), &h.idle);
    h.idle.data = &h;
    uv_idle_start(&h.idle, s_idle_cb);
    dvi_runtime_run(h.rt);
    h.log[h.len] = '\0';
    DVT_EQ_I64(h.b_calls, 3);
    /* Every pass ran a before b until b left; then a alone. */
    DVT_TRUE(strncmp(h.log, "ababab", 6) == 0);
    DVT_TRUE(h.len >= 6 + 3);
    DVT_TRUE(strspn(h.log + 6, "a") == h.len - 6);
    dvi_runtime_remove_hook(h.rt, s_hook_a, &h);
    DVT_EQ_I64(dvi_runtime_teardown(h.rt), 0);
    dvi_runtime_destroy(&h.rt);
}

static int s_closed;

static void
s_hook_noop(void *ctx)
{
}

static int s_fired;

static void
s_soon_cb(uv_timer_t *t)
{
    s_fired++;
}

static void
s_never_cb(uv_timer_t *t)
{
    DVT_FAIL("a timer left open fired during teardown");
}

static void
s_closed_cb(uv_handle_t *h)
{
    s_closed++;
}

static void
test_teardown_closes_every_handle(void **state)
{
    dvi_runtime *rt = DVT_NOTNULL(dvi_runtime_new());
    uv_loop_t *loop = dvi_runtime_loop(rt);
    /* What a careless role might leave behind: a timer that does not keep
     * the loop alive, an idle handle, a bound TCP socket, a pipe, a
     * signal watcher, a handle whose close callback has not run yet, and
     * a timer that is about to fire (the teardown lets it). */
    uv_timer_t timer, closing, soon;
    uv_idle_t idle;
    uv_tcp_t tcp;
    uv_pipe_t pipe;
    uv_timer_init(loop, &timer);
    uv_timer_start(&timer, s_never_cb, 3600 * 1000, 0);
    uv_unref((uv_handle_t *)&timer);
    uv_timer_init(loop, &soon);
    uv_timer_start(&soon, s_soon_cb, 0, 0);
    uv_idle_init(loop, &idle);
    uv_tcp_init(loop, &tcp);
    struct sockaddr_in a;
    uv_ip4_addr("127.0.0.1", 0, &a);
    DVT_EQ_I64(uv_tcp_bind(&tcp, (const struct sockaddr *)&a, 0), 0);
    uv_pipe_init(loop, &pipe, 0);
    uv_timer_init(loop, &closing);
    s_closed = s_fired = 0;
    uv_close((uv_handle_t *)&closing, s_closed_cb);
    dvi_runtime_add_hook(rt, s_hook_noop, NULL);
    DVT_PASS(dvi_runtime_catch_signals(rt, NULL, NULL));
    DVT_EQ_I64(dvi_runtime_teardown(rt), 0);
    DVT_EQ_I64(s_closed, 1);
    DVT_EQ_I64(s_fired, 1);
    dvi_runtime_destroy(&rt);

    /* destroy alone tears down, and accepts NULL. */
    rt = DVT_NOTNULL(dvi_runtime_new());
    uv_timer_init(dvi_runtime_loop(rt), &timer);
    dvi_runtime_destroy(&rt);
    dvi_runtime_destroy(&rt);
}

static void
test_runtime_of_its_loop(void **state)
{
    /* A role given only the loop finds its runtime (the job thread). */
    dvi_runtime *a = DVT_NOTNULL(dvi_runtime_new());
    dvi_runtime *b = DVT_NOTNULL(dvi_runtime_new());
    DVT_TRUE(dvi_runtime_of(dvi_runtime_loop(a)) == a);
    DVT_TRUE(dvi_runtime_of(dvi_runtime_loop(b)) == b);
    dvi_runtime_destroy(&a);
    dvi_runtime_destroy(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jobs_run_off_the_loop_and_finish_on_it_in_order),
        cmocka_unit_test(test_wait_and_teardown_finish_every_job),
        cmocka_unit_test(test_signals_are_counted),
        cmocka_unit_test(test_hooks_run_before_each_sleep_in_order),
        cmocka_unit_test(test_teardown_closes_every_handle),
        cmocka_unit_test(test_runtime_of_its_loop),
    };
    return cmocka_run_group_tests_name("runtime", tests, NULL, NULL);
}
