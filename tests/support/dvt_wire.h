/* drove — test support: a peer that speaks the wire format by hand, and a
 * relay that records what crosses it.
 *
 * A dvt_peer connects to a daemon's port in plain TCP, or over TLS with a
 * profile's role certificate, and sends frames built here (docs/protocol.md)
 * without any of the library's checks: what a stranger holding those
 * files, or none, can do. A dvt_relay forwards TCP connections to a port
 * and keeps every byte, each direction apart: a wire tap.
 *
 * Integration tests only (link OpenSSL and msgpack-c). Cmocka asserts fail
 * the running test, from the test's main thread; the relay's own thread
 * never asserts.
 */
#ifndef DVT_WIRE_H
#define DVT_WIRE_H

#include <stdbool.h>
#include <stddef.h>

/* Message types and HELLO roles of docs/protocol.md. */
#define DVT_PROTOCOL_VERSION 5
#define DVT_MSG_HELLO 1
#define DVT_MSG_WELCOME 2
#define DVT_MSG_SUBMIT 3
#define DVT_MSG_FINISHED 7
#define DVT_MSG_COMPUTE 9
#define DVT_MSG_DONE 10
#define DVT_MSG_FAILED 11
#define DVT_MSG_GET 13
#define DVT_MSG_DATA 14
#define DVT_MSG_UPLOAD 16
#define DVT_MSG_UPLOADED 17
#define DVT_ROLE_CLIENT 1
#define DVT_ROLE_WORKER 2
#define DVT_ROLE_PEER 3
#define DVT_BLAME_TASK 1 /* FAILED: the call ran and failed */

/* ---- TCP on 127.0.0.1 --------------------------------------------------- */

/* The port of "tcp://HOST:PORT". */
int dvt_port_of(const char *addr);

/* Connects to 127.0.0.1:port; fails the test if it cannot. */
int dvt_tcp_connect(int port);

/* A port that was free a moment ago (for a worker's --listen). */
int dvt_free_port(void);

/* ---- A hand-made peer --------------------------------------------------- */

typedef struct dvt_peer dvt_peer;

/* Connects to 127.0.0.1:port: in plain TCP when home is NULL, else over
 * TLS 1.3 with the certificate and key of role ("client", "worker") in
 * home's profile "default". The server's certificate is not checked (a
 * stranger does not care). A handshake the server breaks off leaves the
 * peer closed, not the test failed. Caller owns; dvt_peer_close(). */
dvt_peer *dvt_peer_open(int port, const char *home, const char *role);
void dvt_peer_close(dvt_peer **pp);

/* Writes all of buf; a peer closed meanwhile is noted, not failed. */
void dvt_peer_write(dvt_peer *p, const void *buf, size_t n);

/* Reads until the other side closes: 0, or DV_ETIMEDOUT if it keeps the
 * connection open for timeout_s. */
int dvt_peer_wait_closed(dvt_peer *p, double timeout_s);

/* Reads frames until one holds a message of type want: 1, or 0 if the
 * other side closed first, -1 if timeout_s passed. */
int dvt_peer_wait_msg(dvt_peer *p, int want, double timeout_s);

/* As dvt_peer_wait_msg, and copies the first field of that message (its
 * key) into key, of size bytes. */
int dvt_peer_wait_key(dvt_peer *p, int want, char *key, size_t size,
                      double timeout_s);

/* Sends one message, n bytes already encoded as msgpack ([type, field...]),
 * in a frame of its own. */
void dvt_peer_send_msg(dvt_peer *p, const void *msg, size_t n);

/* HELLO [1, version, role, id, threads, addr (NULL: nil)], in a frame. */
void dvt_peer_send_hello(dvt_peer *p, int role, const char *id, int threads,
                         const char *addr);

/* DONE [10, key, n, value, 0]: a worker made key's result, value. */
void dvt_peer_send_done(dvt_peer *p, const char *key, const void *value,
                        size_t n);

/* FAILED [11, key, blame, text]: a worker's task did not make a result. */
void dvt_peer_send_failed(dvt_peer *p, const char *key, int blame,
                          const char *text);

/* GET [13, key]: a peer asks a worker for a result. */
void dvt_peer_send_get(dvt_peer *p, const char *key);

/* UPLOAD [16, hash, name, bytes]: a library for every worker. */
void dvt_peer_send_upload(dvt_peer *p, const char *hash, const char *name,
                          const void *bytes, size_t n);

/* SUBMIT [3, key, fn, code, args, 0, 0, 0, nil, []]: a pure call of fn
 * with no dependencies; args is the encoded argument list (a msgpack
 * array) of n bytes. */
void dvt_peer_send_submit(dvt_peer *p, const char *key, const char *fn,
                          const char *code, const void *args, size_t n);

/* ---- A recording relay -------------------------------------------------- */

typedef struct dvt_relay dvt_relay;

/* Listens on 127.0.0.1 (dvt_relay_port) and forwards each connection, up
 * to four at once, to 127.0.0.1:target from a thread of its own. Caller
 * owns; dvt_relay_destroy(). */
dvt_relay *dvt_relay_start(int target);
int dvt_relay_port(const dvt_relay *r);

/* Stops forwarding (closing what is open); what was seen stays. */
void dvt_relay_stop(dvt_relay *r);
void dvt_relay_destroy(dvt_relay **rp);

/* Bytes seen going to the target (dir 0) or coming back (dir 1). */
size_t dvt_relay_seen(const dvt_relay *r, int dir);
/* Whether the bytes of dir contain s. */
bool dvt_relay_saw(const dvt_relay *r, int dir, const char *s);

#endif /* DVT_WIRE_H */
