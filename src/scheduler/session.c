/* dvi_session: what clients and workers may send, read into core events.
 * Every field is checked by its message's reader first; a message a peer
 * of that role may not send drops the peer. */
#include "session.h"

#include "sched.h"

#include "common/err.h"
#include "drove.h"

/* Reads message `lname` into m and calls core event fn with it. */
#define S_EVENT(lname, fn, who)                     \
    do {                                            \
        dvi_msg_##lname m;                          \
        if (dvi_msg_##lname##_read(f, n, &m) < 0) { \
            return DV_EPROTO;                       \
        }                                           \
        fn(p->core, (who), &m);                     \
        return 0;                                   \
    } while (0)

static int
s_client_msg(dvi_session *p, int type, const msgpack_object *f, uint32_t n)
{
    dvi_sclient *cl = p->client;
    switch (type) {
    case DVI_MSG_SUBMIT: {
        dvi_msg_submit m;
        if (dvi_msg_submit_read(f, n, &m) < 0) {
            return DV_EPROTO;
        }
        return dvi_core_submit(p->core, cl, &m);
    }
    case DVI_MSG_RELEASE: {
        dvi_msg_release m;
        if (dvi_msg_release_read(f, n, &m) < 0) {
            return DV_EPROTO;
        }
        dvi_core_release(p->core, cl, m.key);
        return 0;
    }
    case DVI_MSG_CANCEL: {
        dvi_msg_cancel m;
        if (dvi_msg_cancel_read(f, n, &m) < 0) {
            return DV_EPROTO;
        }
        dvi_core_cancel(p->core, cl, m.key);
        return 0;
    }
    case DVI_MSG_SCATTER: S_EVENT(scatter, dvi_core_scatter, cl);
    case DVI_MSG_UPLOAD: S_EVENT(upload, dvi_core_upload, cl);
    case DVI_MSG_PUBLISH: S_EVENT(publish, dvi_core_publish, cl);
    case DVI_MSG_LOOKUP: S_EVENT(lookup, dvi_core_lookup, cl);
    case DVI_MSG_UNPUBLISH: S_EVENT(unpublish, dvi_core_unpublish, cl);
    case DVI_MSG_LOST: S_EVENT(lost, dvi_core_client_lost, cl);
    case DVI_MSG_CONTROL: {
        dvi_msg_control m;
        if (dvi_msg_control_read(f, n, &m) < 0) {
            return DV_EPROTO;
        }
        dvi_sched_control(p->sched, cl, &m);
        return 0;
    }
    default: return 1;
    }
}

static int
s_worker_msg(dvi_session *p, int type, const msgpack_object *f, uint32_t n)
{
    dvi_sworker *w = p->worker;
    switch (type) {
    case DVI_MSG_SUBMIT: { /* a running task's child */
        dvi_msg_submit m;
        if (dvi_msg_submit_read(f, n, &m) < 0) {
            return DV_EPROTO;
        }
        return dvi_core_child_submit(p->core, w, &m);
    }
    case DVI_MSG_DONE: S_EVENT(done, dvi_core_done, w);
    case DVI_MSG_STORED: S_EVENT(stored, dvi_core_stored, w);
    case DVI_MSG_FAILED: S_EVENT(failed, dvi_core_failed, w);
    case DVI_MSG_UPLOADED: S_EVENT(uploaded, dvi_core_uploaded, w);
    case DVI_MSG_RETIRING: S_EVENT(retiring, dvi_core_retiring, w);
    case DVI_MSG_LEAVING: S_EVENT(leaving, dvi_core_leaving, w);
    case DVI_MSG_INFO: S_EVENT(info, dvi_core_info, w);
    case DVI_MSG_LOST: S_EVENT(lost, dvi_core_worker_lost, w);
    case DVI_MSG_MEMORY: S_EVENT(memory, dvi_core_worker_memory, w);
    case DVI_MSG_SECEDE: S_EVENT(secede, dvi_core_secede, w);
    default: return 1;
    }
}

int
dvi_session_msg(dvi_session *p, int type, const msgpack_object *f, uint32_t n)
{
    int rc = 1;
    if (type == DVI_MSG_PING) {
        return dvi_beat_answer(p->conn, f, n);
    }
    if (type == DVI_MSG_PONG) {
        dvi_msg_pong m; /* it arrived: that is all a PONG says */
        return dvi_msg_pong_read(f, n, &m);
    }
    if (p->client) {
        rc = s_client_msg(p, type, f, n);
    } else if (p->worker) {
        rc = s_worker_msg(p, type, f, n);
    }
    if (rc <= 0) {
        return rc;
    }
    return dvi_seterr(DV_EPROTO, "unexpected %s from %s", dvi_msg_name(type),
                      dvi_conn_peer(p->conn));
}
