/* dvi_runtime: a role's loop, before-sleep hooks, stop signals, background
 * job thread and teardown. */
#include "runtime.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

typedef struct s_hook {
    dvi_runtime_hook_fn fn; /* NULL once removed during a pass */
    void *ctx;
} s_hook;

typedef struct s_job {
    struct s_job *next;
    dvi_runtime_job_fn work;
    dvi_runtime_job_fn done; /* may be NULL */
    void *ctx;
} s_job;

struct dvi_runtime {
    uv_loop_t loop;

    uv_prepare_t prepare; /* runs the hooks before the loop polls */
    s_hook *hooks;
    size_t nhooks, caphooks;
    int in_hooks; /* a pass is running: removals only clear fn */

    uv_signal_t sigint, sigterm;
    int catching; /* the signal handles are open */
    int nsignals; /* stop signals so far */
    dvi_runtime_signal_fn on_signal;
    void *signal_ctx;

    uv_async_t jobs_async; /* job thread -> loop: done callbacks to run */
    uv_thread_t thread;
    int thread_on;
    size_t outstanding; /* loop thread: jobs whose done has not run */
    uv_mutex_t lock;
    uv_cond_t wake; /* loop -> job thread: a job, or quit */
    uv_cond_t idle; /* job thread -> loop: the queue ran dry */
    /* Guarded by lock: */
    s_job *todo, **todo_tail; /* waiting for the thread, in order */
    s_job *done, **done_tail; /* worked, waiting for the loop, in order */
    int busy;                 /* the thread is running a job's work */
    int quit;                 /* the thread ends once todo is empty */

    int torn_down;
};

/* ---- Hooks -------------------------------------------------------------- */

static void
s_prepare_cb(uv_prepare_t *p)
{
    dvi_runtime *rt = p->data;
    /* Hooks added during the pass wait for the next turn; removed ones
     * only lose their fn, and the array is compacted afterwards, so that
     * indexes stay valid while hooks run. */
    size_t n = rt->nhooks;
    rt->in_hooks = 1;
    for (size_t i = 0; i < n; i++) {
        if (rt->hooks[i].fn) {
            rt->hooks[i].fn(rt->hooks[i].ctx);
        }
    }
    rt->in_hooks = 0;
    size_t k = 0;
    for (size_t i = 0; i < rt->nhooks; i++) {
        if (rt->hooks[i].fn) {
            rt->hooks[k++] = rt->hooks[i];
        }
    }
    rt->nhooks = k;
    if (k == 0) {
        uv_prepare_stop(p);
    }
}

void
dvi_runtime_add_hook(dvi_runtime *rt, dvi_runtime_hook_fn fn, void *ctx)
{
    dvi_assert(fn != NULL && !rt->torn_down);
    if (rt->nhooks == rt->caphooks) {
        rt->caphooks = rt->caphooks ? rt->caphooks * 2 : 4;
        rt->hooks = dvi_realloc(rt->hooks, rt->caphooks * sizeof(*rt->hooks));
    }
    rt->hooks[rt->nhooks].fn = fn;
    rt->hooks[rt->nhooks].ctx = ctx;
    rt->nhooks++;
    uv_prepare_start(&rt->prepare, s_prepare_cb);
}

void
dvi_runtime_remove_hook(dvi_runtime *rt, dvi_runtime_hook_fn fn, void *ctx)
{
    for (size_t i = 0; i < rt->nhooks; i++) {
        if (rt->hooks[i].fn == fn && rt->hooks[i].ctx == ctx) {
            if (rt->in_hooks) {
                rt->hooks[i].fn = NULL;
            } else {
                /* The others keep their order. */
                memmove(&rt->hooks[i], &rt->hooks[i + 1],
                        (rt->nhooks - i - 1) * sizeof(*rt->hooks));
                rt->nhooks--;
            }
            break;
        }
    }
    if (rt->nhooks == 0 && !rt->in_hooks && !rt->torn_down) {
        uv_prepare_stop(&rt->prepare);
    }
}

/* ---- Signals ------------------------------------------------------------ */

static void
s_signal_cb(uv_signal_t *h, int signum)
{
    dvi_runtime *rt = h->data;
    rt->nsignals++;
    if (rt->on_signal) {
        rt->on_signal(rt->signal_ctx, signum, rt->nsignals);
    }
}

int
dvi_runtime_catch_signals(dvi_runtime *rt, dvi_runtime_signal_fn fn, void *ctx)
{
    dvi_assert(!rt->catching && !rt->torn_down);
    rt->on_signal = fn;
    rt->signal_ctx = ctx;
    uv_signal_init(&rt->loop, &rt->sigint);
    uv_signal_init(&rt->loop, &rt->sigterm);
    rt->sigint.data = rt->sigterm.data = rt;
    /* Watching signals is no reason to keep the loop running. */
    uv_unref((uv_handle_t *)&rt->sigint);
    uv_unref((uv_handle_t *)&rt->sigterm);
    rt->catching = 1;
    int rc = uv_signal_start(&rt->sigint, s_signal_cb, SIGINT);
    if (rc == 0) {
        rc = uv_signal_start(&rt->sigterm, s_signal_cb, SIGTERM);
    }
    if (rc < 0) {
        return dvi_seterr_uv(rc, "catching SIGINT and SIGTERM");
    }
    return 0;
}

int
dvi_runtime_signal_count(const dvi_runtime *rt)
{
    return rt->nsignals;
}

/* ---- Jobs --------------------------------------------------------------- */

static void
s_job_thread(void *arg)
{
    dvi_runtime *rt = arg;
    uv_mutex_lock(&rt->lock);
    for (;;) {
        while (rt->todo == NULL && !rt->quit) {
            uv_cond_wait(&rt->wake, &rt->lock);
        }
        s_job *job = rt->todo;
        if (job == NULL) {
            break; /* quit, and nothing left to do */
        }
        rt->todo = job->next;
        if (rt->todo == NULL) {
            rt->todo_tail = &rt->todo;
        }
        rt->busy = 1;
        uv_mutex_unlock(&rt->lock);
        job->work(job->ctx);
        uv_mutex_lock(&rt->lock);
        rt->busy = 0;
        job->next = NULL;
        *rt->done_tail = job;
        rt->done_tail = &job->next;
        /* uv_async_send coalesces: a run of quick jobs costs the loop one
         * wake-up. */
        uv_async_send(&rt->jobs_async);
        if (rt->todo == NULL) {
            uv_cond_broadcast(&rt->idle);
        }
    }
    uv_mutex_unlock(&rt->lock);
}

/* Takes the worked jobs, in order. Called with the lock held. */
static s_job *
s_take_done_locked(dvi_runtime *rt)
{
    s_job *list = rt->done;
    rt->done = NULL;
    rt->done_tail = &rt->done;
    return list;
}

static void
s_run_done(dvi_runtime *rt, s_job *list)
{
    while (list) {
        s_job *job = list;
        list = job->next;
        /* Counted down first: a done callback may queue another job. */
        if (--rt->outstanding == 0) {
            uv_unref((uv_handle_t *)&rt->jobs_async);
        }
        if (job->done) {
            job->done(job->ctx);
        }
        free(job);
    }
}

static void
s_jobs_async_cb(uv_async_t *a)
{
    dvi_runtime *rt = a->data;
    uv_mutex_lock(&rt->lock);
    s_job *list = s_take_done_locked(rt);
    uv_mutex_unlock(&rt->lock);
    s_run_done(rt, list);
}

int
dvi_runtime_queue_job(dvi_runtime *rt, dvi_runtime_job_fn work,
                      dvi_runtime_job_fn done, void *ctx)
{
    dvi_assert(work != NULL && !rt->torn_down);
    if (!rt->thread_on) {
        int rc = uv_thread_create(&rt->thread, s_job_thread, rt);
        if (rc < 0) {
            return dvi_seterr_uv(rc, "starting the job thread");
        }
        rt->thread_on = 1;
    }
    s_job *job = dvi_calloc(1, sizeof(*job));
    job->work = work;
    job->done = done;
    job->ctx = ctx;
    uv_mutex_lock(&rt->lock);
    *rt->todo_tail = job;
    rt->todo_tail = &job->next;
    uv_cond_signal(&rt->wake);
    uv_mutex_unlock(&rt->lock);
    /* Outstanding jobs keep the loop alive until their done has run. */
    if (rt->outstanding++ == 0) {
        uv_ref((uv_handle_t *)&rt->jobs_async);
    }
    return 0;
}

void
dvi_runtime_wait_jobs(dvi_runtime *rt)
{
    while (rt->outstanding > 0) {
        uv_mutex_lock(&rt->lock);
        while (rt->todo != NULL || rt->busy) {
            uv_cond_wait(&rt->idle, &rt->lock);
        }
        s_job *list = s_take_done_locked(rt);
        uv_mutex_unlock(&rt->lock);
        s_run_done(rt, list);
    }
}

size_t
dvi_runtime_jobs_outstanding(const dvi_runtime *rt)
{
    return rt->outstanding;
}

/* ---- Life cycle --------------------------------------------------------- */

dvi_runtime *
dvi_runtime_new(void)
{
    dvi_runtime *rt = dvi_calloc(1, sizeof(*rt));
    int rc = uv_loop_init(&rt->loop);
    if (rc < 0) {
        free(rt);
        dvi_seterr_uv(rc, "making an event loop");
        return NULL;
    }
    rt->loop.data = rt; /* for dvi_runtime_of */
    uv_prepare_init(&rt->loop, &rt->prepare);
    rt->prepare.data = rt;
    uv_unref((uv_handle_t *)&rt->prepare);
    uv_async_init(&rt->loop, &rt->jobs_async, s_jobs_async_cb);
    rt->jobs_async.data = rt;
    uv_unref((uv_handle_t *)&rt->jobs_async);
    uv_mutex_init(&rt->lock);
    uv_cond_init(&rt->wake);
    uv_cond_init(&rt->idle);
    rt->todo_tail = &rt->todo;
    rt->done_tail = &rt->done;
    return rt;
}

uv_loop_t *
dvi_runtime_loop(dvi_runtime *rt)
{
    return &rt->loop;
}

dvi_runtime *
dvi_runtime_of(uv_loop_t *loop)
{
    return loop->data;
}

void
dvi_runtime_run(dvi_runtime *rt)
{
    uv_run(&rt->loop, UV_RUN_DEFAULT);
}

void
dvi_runtime_stop(dvi_runtime *rt)
{
    uv_stop(&rt->loop);
}

static void
s_close(uv_handle_t *h)
{
    if (!uv_is_closing(h)) {
        uv_close(h, NULL);
    }
}

static void
s_close_walk(uv_handle_t *h, void *arg)
{
    s_close(h);
}

int
dvi_runtime_teardown(dvi_runtime *rt)
{
    dvi_assert(!rt->torn_down);
    /* Hooks and signals belong to the running role, which is gone: stop
     * them first. With the signal handles closed, a further SIGINT or
     * SIGTERM has its default effect and ends a process stuck below. */
    rt->nhooks = 0;
    uv_prepare_stop(&rt->prepare);
    if (rt->catching) {
        s_close((uv_handle_t *)&rt->sigint);
        s_close((uv_handle_t *)&rt->sigterm);
    }
    /* Let the roles' closing handles finish: connections write their last
     * frames and close, child processes exit, and done callbacks of
     * outstanding jobs run on the loop. */
    uv_run(&rt->loop, UV_RUN_DEFAULT);
    dvi_runtime_wait_jobs(rt);
    rt->torn_down = 1;
    if (rt->thread_on) {
        uv_mutex_lock(&rt->lock);
        rt->quit = 1;
        uv_cond_signal(&rt->wake);
        uv_mutex_unlock(&rt->lock);
        uv_thread_join(&rt->thread);
        rt->thread_on = 0;
    }
    s_close((uv_handle_t *)&rt->prepare);
    s_close((uv_handle_t *)&rt->jobs_async);
    /* Whatever a role left open is closed now, so the loop can be. */
    uv_walk(&rt->loop, s_close_walk, NULL);
    uv_run(&rt->loop, UV_RUN_DEFAULT);
    return uv_loop_close(&rt->loop);
}

void
dvi_runtime_destroy(dvi_runtime **rtp)
{
    dvi_runtime *rt = *rtp;
    if (rt == NULL) {
        return;
    }
    *rtp = NULL;
    if (!rt->torn_down) {
        dvi_runtime_teardown(rt);
    }
    uv_mutex_destroy(&rt->lock);
    uv_cond_destroy(&rt->wake);
    uv_cond_destroy(&rt->idle);
    free(rt->hooks);
    free(rt);
}
