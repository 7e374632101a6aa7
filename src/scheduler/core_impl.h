/* The scheduler core's private state, shared by its files:
 *
 *   graph.c    wants, the one transition function, completion, errors,
 *              releasing and forgetting, computing lineage again
 *   place.c    which worker runs what, and COMPUTE
 *   core.c     peers joining and leaving, and the events of core.h
 *   publish.c  published names
 *   library.c  uploaded libraries
 *   durable*.c what --state saves (durable.h), through the hooks below
 *   memory.c   workers pausing and resuming under their memory limits
 *   leave.c    a leaving worker's results moved to the workers that stay
 *   control.c  workers' INFO; the status and retiring that clients ask for
 *   resources.c what workers declared and tasks need; who may run what
 *   broadcast.c values on every worker, present and future
 *
 * Nothing here is visible outside src/scheduler.
 */
#ifndef DVI_CORE_IMPL_H
#define DVI_CORE_IMPL_H

#include "common/blob.h"
#include "common/map.h"
#include "common/pset.h"
#include "common/resources.h"
#include "core.h"
#include "task.h"
#include "taskvec.h"
#include "trace.h"

#define DVI_KILLED_AFTER 3 /* worker deaths before "killed worker" */

typedef struct dvi_resreq dvi_resreq;

/* A function's name, interned, with the number of its tasks in each
 * state (what a dashboard shows per function). Calls that need resources
 * have a record of their own per spec: what a task needs costs the task
 * nothing. */
struct dvi_fnrec {
    char *name;
    char *code;      /* which code the name means (funcs.h), "" for any */
    char *id;        /* its key in the core's map: "code/name", or
                        "spec|code/name" in the map of those with needs */
    dvi_resreq *res; /* what its calls need to run, or NULL */
    uint64_t states[DVI_TASK_NSTATES];
    uint64_t submitted, finished, erred; /* since the scheduler started */
};

struct dvi_sworker {
    char id[128];
    char addr[128]; /* where peers fetch its results */
    char host[256]; /* its host name, as it said (INFO), or "" */
    int64_t pid;    /* its process id there (INFO), or 0 */
    int nthreads;
    int in_process;         /* a thread worker of the scheduler's process: the
                               derived keys of its children are trusted, as an
                               in-process client's are */
    uint64_t ndone;         /* tasks it finished (DONE) */
    uint64_t memory_bytes;  /* its memory (MEMORY), 0 until it said */
    int retiring;           /* said RETIRING: nothing new goes there, and its
                               leaving is no task's fault */
    int stealing;           /* asked to STEAL, and has not answered anything
                               since: not asked again */
    int paused;             /* said MEMORY paused: over its memory limit's
                               pause fraction, it takes no new tasks */
    uint32_t nprocessing;   /* COMPUTEs sent without a DONE or FAILED back */
    uint32_t nseceded;      /* of those, calls waiting for their children
                               with their threads lent (SECEDE) */
    uint64_t score;         /* scratch: input bytes it holds, for placement */
    dvi_taskheap pinned;    /* ready tasks that may run only here */
    dvi_taskheap block;     /* ready roots it is to take (roots.c) */
    dvi_pset pins;          /* every live task pinned here */
    dvi_pset running;       /* tasks processing here (where == this) */
    int ahead_stalled;      /* a task was not sent ahead here for want of
                               room: looked for again when room frees */
    uint64_t nheld;         /* results it holds (no index of them: see */
    uint64_t bytes_held;    /* dvi_core_collect_held), their bytes */
    int leaving;            /* said LEAVING: its results are moving away */
    dvi_pset moving;        /* while leaving: held only here, and not yet
                               stored by the worker they move to */
    dvi_resources declared; /* its resources (INFO) */
    double used[DVI_RESOURCES_MAX]; /* of each, held by tasks sent there */
    dvi_outbox *out;
};

typedef struct dvi_relay dvi_relay;

/* The resources some tasks need (one spec), interned as function names
 * are: its ready tasks wait in their own queue (resources.c). */
struct dvi_resreq {
    char *spec; /* the text, as submitted: its key in the map */
    dvi_resources need;
    dvi_taskheap queued; /* its ready tasks that are not pinned */
};

struct dvi_sclient {
    uint64_t id;
    char name[32];    /* "client-N" */
    dvi_task *parent; /* a running task whose children want through this
                         (children.c): out is its worker's while it runs
                         there, else NULL; NULL for a client */
    char *parent_key; /* the parent's key, its key in the core's map */
    int ended;        /* the parent no longer runs: its children are to be
                         released (queued on the core's `ended`) */
    dvi_relay *relay; /* results go to it through this, or NULL */
    dvi_outbox *out;
    int in_process; /* a client in the scheduler's process: its derived
                       keys were hashed by this program's own dv_submit,
                       which refuses a given key of that form that is not */
    dvi_pset wants; /* a parent's children; a client's wants are found by
                       a walk when it leaves (dvi_core_unwant_all) */
};

/* Clients past the first that want a task (rare): key -> this. */
typedef struct dvi_wanters {
    char *key;
    size_t n;
    dvi_sclient *v[];
} dvi_wanters;

typedef struct dvi_lib dvi_lib;
typedef struct dvi_durable dvi_durable;

/* A published name: it wants its task, as a client's future does. Only
 * its publisher, who proves it with a secret, may replace or remove it. */
typedef struct dvi_pub {
    char *name;
    dvi_task *task;
    unsigned char owner[16]; /* the hash of the publisher's secret */
} dvi_pub;

struct dvi_core {
    dvi_map tasks;         /* key -> dvi_task */
    dvi_map fns;           /* "code/name" -> dvi_fnrec */
    dvi_map fnres;         /* "spec|code/name" -> dvi_fnrec (with needs) */
    dvi_fnrec *fn_last;    /* in fns: the last one submitted, looked at
                              first (calls come in runs of one function) */
    dvi_map extra;         /* key -> dvi_wanters */
    dvi_map published;     /* name -> dvi_pub */
    dvi_taskheap ready;    /* queued tasks, by priority then age */
    dvi_taskvec settle;    /* tasks whose wants or waiters dropped */
    dvi_taskvec forgotten; /* freed at the end of the turn: walks over the
                              graph may still hold pointers to them */
    dvi_sworker **workers;
    size_t nworkers;
    size_t nleaving; /* workers whose results are moving away */
    dvi_sclient **clients;
    size_t nclients;
    size_t rr;              /* round-robin start for tasks without inputs */
    dvi_sworker *last_root; /* where the last task without inputs went */
    dvi_lib **libs;
    size_t nlibs;
    dvi_map resreqs; /* spec -> dvi_resreq */
    dvi_map bcasts;  /* key -> dvi_bcast: broadcasts on every worker */
    dvi_map parents; /* key -> dvi_sclient: running tasks' children */
    dvi_pset ended;  /* dvi_sclients of parents no longer running */
    uint64_t next_client;
    uint64_t seq;
    double avg_task_us;      /* moving average of run times, for queue depth */
    double avg_result_bytes; /* moving average of results' sizes */
    double queue_min;        /* tasks queued a thread, at least (place.c) */
    dvi_core_stats stats;
    dvi_durable *durable; /* --state: what is saved (durable.h), or NULL */
    int fusion;           /* fuse chains on workers (place.c); $DROVE_FUSION=0
                             turns it off, to compare */
    dvi_trace *trace;     /* the recent past, while a dashboard is on */
};

/* ---- graph.c ------------------------------------------------------------ */

/* The one place a task changes state. Keeps the per-state counters, the
 * ready queues, the workers' indices and the inputs' waiter counts right,
 * and frees results on workers when it leaves memory. */
void dvi_core_set_state(dvi_core *c, dvi_task *t, int state);
/* Live: not yet completed (it needs its inputs). */
int dvi_task_is_live(const dvi_task *t);
/* Waiting on an input: waiting, or sent ahead and not started. */
int dvi_task_is_waiting(const dvi_task *t);
/* Whether any client wants it (its result goes to them). */
int dvi_task_client_wanted(const dvi_task *t);

/* w holds t's result: 1 if it was not a holder yet (its counts follow). */
int dvi_core_hold(dvi_task *t, dvi_sworker *w);
/* w no longer holds t's result: 1 if it was a holder. */
int dvi_core_unhold(dvi_task *t, dvi_sworker *w);
/* Every task whose result w holds, by a walk over all tasks: a worker
 * keeps no index of its results, which would cost two set operations a
 * task to save time only when a worker leaves. */
void dvi_core_collect_held(dvi_core *c, const dvi_sworker *w, dvi_taskvec *out);
/* Whether cl wants t. */
int dvi_core_wants(const dvi_core *c, const dvi_task *t, const dvi_sclient *cl);
/* cl wants t (one want per client). */
void dvi_core_want(dvi_core *c, dvi_task *t, dvi_sclient *cl);
/* Drops cl's want of t; returns 1 if it had one. */
int dvi_core_unwant(dvi_core *c, dvi_task *t, dvi_sclient *cl);
/* Drops every want of cl (it left). A walk over all tasks: a client keeps
 * no index of its wants, which would cost two set operations a task to
 * save time only when a client leaves. */
void dvi_core_unwant_all(dvi_core *c, dvi_sclient *cl);
/* A want or a waiter of t went: release or forget it at settle time. */
void dvi_core_check(dvi_core *c, dvi_task *t);
/* Releases and forgets what is no longer needed (see check). */
void dvi_core_settle(dvi_core *c);

/* The task is ready: queued, or forgotten if nothing needs it. */
void dvi_core_make_ready(dvi_core *c, dvi_task *t);
/* t, sent ahead and back from its worker (given back, refused, the worker
 * lost) with an input not done yet, never started: it waits for its inputs
 * again. Returns 1 if so, else 0 (t unchanged). */
int dvi_core_wait_again(dvi_core *c, dvi_task *t);
/* t's result is on w: memory, clients told, dependents freed to run. */
void dvi_core_complete(dvi_core *c, dvi_task *t, dvi_sworker *w,
                       uint64_t nbytes, dvi_bytes value);
/* t's result went in memory to its one dependent on w (fusion), and is
 * held nowhere: dependents freed to run, t kept as their lineage. */
void dvi_core_complete_fused(dvi_core *c, dvi_task *t);
/* Errs t and every task waiting on it (state ERRED or CANCELLED) with
 * text, telling the clients that want them. */
void dvi_core_fail(dvi_core *c, dvi_task *t, int state, const char *text);
/* cl cancels t: its want of t and of the waiting dependents it wants
 * drop (it is told those are cancelled), and what no client, name or
 * needed dependent still needs is cancelled. Other clients' work runs on. */
void dvi_core_cancel_for(dvi_core *c, dvi_task *t, dvi_sclient *cl);
/* t's result is no longer held anywhere (why: how it went): computed
 * again from its lineage if anything needs it, else kept as lineage or
 * forgotten. Scattered data has no lineage: it errs. */
void dvi_core_result_lost(dvi_core *c, dvi_task *t, const char *why);
/* Whether every input of t (queued, or back from a worker) is in memory;
 * if not, t waits again for those that are not, which are computed again
 * from their lineage when released. */
int dvi_core_inputs_held(dvi_core *c, dvi_task *t);
/* Puts a released task (and whatever of its lineage is not in memory)
 * back to be computed. */
void dvi_core_recompute(dvi_core *c, dvi_task *t);

void dvi_core_tell_finished(dvi_task *t, dvi_sclient *cl, dvi_bytes value);
void dvi_core_tell_erred(dvi_task *t, dvi_sclient *cl);
void dvi_core_send_free(dvi_sworker *w, const char *key);

/* ---- place.c ------------------------------------------------------------ */

/* Sends t to w (processing there). */
void dvi_core_assign(dvi_core *c, dvi_task *t, dvi_sworker *w);
/* The worker with room that holds most of t's input bytes, or NULL. */
dvi_sworker *dvi_core_pick(dvi_core *c, dvi_task *t);
/* If all of t's unfinished inputs run on one worker with room, sends it
 * there at once; returns 1 if it did. */
int dvi_core_send_ahead(dvi_core *c, dvi_task *t);
/* Places ready tasks on workers with room; when nothing is ready and a
 * worker idles, asks the busiest to give back tasks it has not started. */
void dvi_core_schedule(dvi_core *c);
/* A task given back on STEAL by w: to an idle worker if there is one. */
void dvi_core_place_stolen(dvi_core *c, dvi_task *t, dvi_sworker *w);
dvi_sworker *dvi_core_worker_find(const dvi_core *c, const char *id);
/* A worker taking new work, in turn (for scatters when none is free), or
 * NULL if there is none. */
dvi_sworker *dvi_core_any_worker(dvi_core *c);

/* ---- leave.c ------------------------------------------------------------ */

/* A worker stored key, or failed to (STORED, FAILED): a leaving worker
 * waits for it no longer if the result is held elsewhere now. */
void dvi_core_moved(dvi_core *c, const char *key);
/* w no longer holds t (released, or reported lost there). */
void dvi_core_holder_gone(dvi_core *c, dvi_sworker *w, dvi_task *t);
/* w, which was leaving, left: forgets its moves. */
void dvi_core_leave_fini(dvi_core *c, dvi_sworker *w);

/* ---- events.c ----------------------------------------------------------- */

/* Tells cl its submission under key was refused (why), touching no task. */
void dvi_core_refuse(dvi_sclient *cl, const char *key, const char *why);
/* The task of the value SCATTER m puts on workers, wanted by cl, if it
 * must be put there (new, or lost since); NULL when it is held or being
 * stored already (cl wants it too, told at once if held), or when m's
 * key is not the value's (cl is told it is refused). */
dvi_task *dvi_core_put_task(dvi_core *c, dvi_sclient *cl,
                            const dvi_msg_scatter *m);
/* A new task record under key, in the graph, in no state yet. */
dvi_task *dvi_core_task_new(dvi_core *c, const char *key, const char *fn,
                            dvi_bytes code, dvi_bytes args, size_t ndeps);

/* ---- publish.c, library.c ----------------------------------------------- */

void dvi_core_publish_fini(dvi_core *c);
/* t completed on w, with value if DONE carried it: --state may save it. */
void dvi_core_saved_done(dvi_core *c, dvi_task *t, dvi_sworker *w,
                         dvi_bytes value);
/* --state: name, read back from the file, names t again. */
void dvi_core_restore_name(dvi_core *c, const char *name, dvi_task *t,
                           const unsigned char owner[16]);
/* --state: the request req of the client with that id, whose change is
 * on disk now (status 0) or could not be written (text says why). */
void dvi_core_publish_saved(dvi_core *c, uint64_t client, uint64_t req,
                            int status, const char *text);
/* --state: a library read back from the file (bytes held), as if
 * uploaded by a client gone since. */
void dvi_core_lib_restore(dvi_core *c, const char *hash, const char *name,
                          dvi_blob *bytes);
/* The bytes of the library of that hash, and its file name, or NULL.
 * Borrowed; valid while the core lives. */
const dvi_blob *dvi_core_lib_get(const dvi_core *c, const char *hash,
                                 const char **name);
/* A new worker gets every library; a lost one is no longer awaited. */
void dvi_core_libs_joined(dvi_core *c, dvi_sworker *w);
void dvi_core_libs_left(dvi_core *c, dvi_sworker *w);
void dvi_core_libs_client_left(dvi_core *c, dvi_sclient *cl);
void dvi_core_libs_fini(dvi_core *c);

/* ---- resources.c -------------------------------------------------------- */

/* The interned needs of spec (parsed: what it says, at least one).
 * Borrowed; valid while the core lives. */
dvi_resreq *dvi_core_res_intern(dvi_core *c, const char *spec,
                                const dvi_resources *parsed);
void dvi_core_res_fini(dvi_core *c);
/* Free slots of the free workers (place.c). */
size_t dvi_core_free_slots(const dvi_core *c);
/* Splits the roots heading the ready queue into one block per worker when
 * they are more than the workers' free slots (roots.c). */
void dvi_core_roots_split(dvi_core *c);
/* The root w takes next: the first of its block unless the ready queue's
 * first goes before it; with steal, when it has nothing of its own and
 * nothing is ready, the first of the longest other block; or NULL. */
dvi_task *dvi_core_roots_next(dvi_core *c, dvi_sworker *w, int steal);
/* w's block goes back to the ready queue (it stops or left). */
void dvi_core_roots_return(dvi_core *c, dvi_sworker *w);
/* The queue a ready t waits in: its worker's if pinned, its spec's if it
 * needs resources, else the core's. */
dvi_taskheap *dvi_core_queue_of(dvi_core *c, dvi_task *t);
/* Whether w declared what t needs, and has it free now. */
int dvi_core_res_fits(const dvi_sworker *w, const dvi_task *t);
/* t runs on w from now (its resources held there), or no longer. */
void dvi_core_run_add(dvi_sworker *w, dvi_task *t);
void dvi_core_run_del(dvi_sworker *w, dvi_task *t);
/* INFO: the resources w declares (a bad spec is logged and ignored). */
void dvi_core_res_declare(dvi_sworker *w, dvi_bytes spec);

/* ---- children.c --------------------------------------------------------- */

/* t (DVI_TASKF_PARENT) changed state: its children hear from the worker
 * it runs on now, and are released once it no longer runs. */
void dvi_core_parent_state(dvi_core *c, dvi_task *t);
/* Releases the children of the parents that ended (at settle time). */
void dvi_core_release_children(dvi_core *c);
void dvi_core_children_fini(dvi_core *c);
/* t, processing on w, returned the future of its child key (DONE's
 * forward): it waits for that child and takes its result. */
void dvi_core_forward(dvi_core *c, dvi_sworker *w, dvi_task *t,
                      const char *key);

/* ---- events.c, more ---------------------------------------------------- */

/* t's calls need no resources from now (a continuation). */
void dvi_core_task_plain(dvi_core *c, dvi_task *t);

/* ---- broadcast.c -------------------------------------------------------- */

/* t, new or lost, is m's value (SCATTER with DVI_SCATTER_BROADCAST):
 * it goes to every worker. */
void dvi_core_broadcast(dvi_core *c, dvi_task *t, const dvi_msg_scatter *m);
/* Whether t is a broadcast value (held, or being sent, everywhere). */
int dvi_core_is_broadcast(const dvi_core *c, const dvi_task *t);
/* A new worker gets every broadcast value; a lost one is no longer
 * awaited; w stored key (it may be a broadcast's). */
void dvi_core_bcasts_joined(dvi_core *c, dvi_sworker *w);
void dvi_core_bcasts_left(dvi_core *c, dvi_sworker *w);
void dvi_core_bcast_stored(dvi_core *c, dvi_sworker *w, const char *key);
/* t lost the worker it waited on, or its last holder: if t is a
 * broadcast that a worker is still receiving, that worker takes over
 * (returns 1). Returns 0 otherwise: t is lost. */
int dvi_core_bcast_lost(dvi_core *c, dvi_task *t);
/* t left memory (released, erred, forgotten): if it was a broadcast, the
 * scheduler's copy goes, and joining workers no longer get it. */
void dvi_core_bcast_drop(dvi_core *c, dvi_task *t);
void dvi_core_bcasts_fini(dvi_core *c);

#endif
