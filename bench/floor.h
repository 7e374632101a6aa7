/* The floors that drove's figures are read against, measured in the same
 * run as drove, in alternation with it: what the machine does with no
 * drove in the way at that very moment.
 *
 *   a peer process    an echo and a sink on 127.0.0.1 (TCP, TCP_NODELAY)
 *                     or on a Unix socket, in a process of its own: a
 *                     round trip of a 64-byte message, and n bytes sent
 *                     into a buffer of the peer in memory already (the
 *                     wire's speed: on this VM a fresh buffer's page
 *                     faults cost more than the wire)
 *   a relay           a peer process that passes each ping on to another
 *                     peer over TCP and its echo back: three processes
 *                     and four messages a round trip, as many as a
 *                     client, a scheduler and a worker need
 *   a hand-off        a round trip between two threads of this process
 *                     through a mutex and two condition variables
 *   a memcpy          n bytes copied into a buffer in memory already
 *
 * Not part of libdrove; used by bench_drove. */
#ifndef BENCH_FLOOR_H
#define BENCH_FLOOR_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

/* A peer process and this side's connection to it. */
typedef struct fl_peer {
    pid_t pid; /* the peer process (bu_spawn), or 0 */
    int fd;    /* the connection, or -1 */
    int port;  /* the TCP port it listened on, 0 for Unix */
} fl_peer;

/* The peer process's main: how is "tcp" (listens on 127.0.0.1, port 0),
 * "unix:PATH", or "relay:PORT" (listens as tcp, and relays pings to the
 * peer on 127.0.0.1:PORT; no bulk sends); it prints its port (0 for
 * Unix) on stdout, serves one connection until it closes, and returns
 * the exit status. */
int fl_peer_main(const char *how);

/* Starts a peer by running exe (this program, which must call
 * fl_peer_main for `--floor-peer HOW`) and waits until it listens (its
 * port in p->port), without connecting: the one connection it serves
 * is for another peer, a relay. Returns 0, or -1 with a reason on
 * stderr (p is then stopped). */
int fl_peer_spawn(fl_peer *p, const char *exe, const char *how);

/* fl_peer_spawn, then connects to the peer. 0, or -1 (p stopped). */
int fl_peer_start(fl_peer *p, const char *exe, const char *how);

/* Closes the connection and waits for the peer to exit. Accepts a peer
 * that never started. */
void fl_peer_stop(fl_peer *p);

/* One round trip of a 64-byte message; its time in microseconds, or -1. */
double fl_peer_ping(fl_peer *p);

/* Sends n bytes from buf, which the peer receives into a buffer it keeps
 * (faulted in by the first send), and waits for its acknowledgement;
 * seconds, or -1. */
double fl_peer_bulk(fl_peer *p, const char *buf, size_t n);

/* Two threads of this process passing a token back and forth. */
typedef struct fl_handoff {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t to_peer;   /* signalled when sent changes */
    pthread_cond_t to_caller; /* signalled when echoed changes */
    long sent;                /* the token sent, or -1: stop */
    long echoed;              /* the last token the peer sent back */
    int started;
} fl_handoff;

/* Starts the peer thread. 0, or -1. */
int fl_handoff_start(fl_handoff *h);

/* One round trip to the peer thread; microseconds. */
double fl_handoff_ping(fl_handoff *h);

/* Stops and joins the peer thread. Accepts one never started. */
void fl_handoff_stop(fl_handoff *h);

/* Copies n bytes of src into a buffer kept from one call to the next,
 * faulted in before the clock starts; seconds, or -1 out of memory. */
double fl_memcpy(const char *src, size_t n);

#endif /* BENCH_FLOOR_H */
