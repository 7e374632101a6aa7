/* dvi_session: one peer of the scheduler (a client or a worker, once its
 * HELLO said which), and the reading of the messages it sends into core
 * events. */
#ifndef DVI_SESSION_H
#define DVI_SESSION_H

#include <msgpack.h>
#include <stdint.h>

#include "core.h"
#include "proto/beat.h"
#include "proto/conn.h"

typedef struct dvi_sched dvi_sched;

typedef struct dvi_session {
    dvi_sched *sched;
    dvi_core *core;
    dvi_conn *conn;
    int role;            /* enum dvi_role; 0 until HELLO */
    dvi_sworker *worker; /* role worker: its record in the core */
    dvi_sclient *client; /* role client */
    dvi_beat *beat;      /* heartbeats, from HELLO on */
} dvi_session;

/* Reads one message from a peer past its HELLO and passes it to the core
 * (PING and PONG, from either role, stay here). Returns 0, or DV_EPROTO (reason
 * set) for a malformed or unexpected message: the peer is then dropped. */
int dvi_session_msg(dvi_session *p, int type, const msgpack_object *f,
                    uint32_t n);

#endif
