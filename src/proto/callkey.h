/* Keys that prove themselves: how a pure call's key, a scattered value's
 * key and an uploaded library's hash are derived from their content.
 *
 * The client derives them to share equal work; the scheduler derives them
 * again from what it was sent, so no peer can claim a key (and with it
 * another's result) for other content. A key of the derived form
 * "PREFIX-" and 32 hex digits is valid only if it is the content's.
 */
#ifndef DVI_CALLKEY_H
#define DVI_CALLKEY_H

#include <stddef.h>

#include <sodium.h>

#define DVI_CALLKEY_BYTES 16
#define DVI_CALLKEY_HEX (2 * DVI_CALLKEY_BYTES)

/* What a hash is of: one call, a chunk of calls (a chunk of one call [a]
 * encodes as a call with the list a), a scattered value, a broadcast one. */
enum dvi_callkey_kind {
    DVI_CALLKEY_CALL = 'F',
    DVI_CALLKEY_CHUNK = 'C',
    DVI_CALLKEY_SCATTER = 'S',
    DVI_CALLKEY_BROADCAST = 'B'
};

/* The BLAKE2b-128 of a call: its function's name, the code it means,
 * its kind, its encoded arguments, and the keys of
 * the futures among them (which the arguments name only by position);
 * each string is followed by a zero byte. Begin, add each dependency key
 * in order, end. */
typedef struct dvi_callkey {
    crypto_generichash_state st;
    size_t n;               /* bytes in buf, not hashed yet */
    unsigned char buf[256]; /* a call's few short strings, hashed in one
                               update: each update costs a hundred
                               instructions of its own */
} dvi_callkey;

void dvi_callkey_begin(dvi_callkey *k, const char *fn, size_t fnlen,
                       const char *code, size_t codelen, int kind,
                       const void *args, size_t argslen);
void dvi_callkey_dep(dvi_callkey *k, const char *key, size_t keylen);
void dvi_callkey_end(dvi_callkey *k, unsigned char h[DVI_CALLKEY_BYTES]);

/* "PREFIX-" and h in hex into out (truncated to size). */
void dvi_callkey_format(char *out, size_t size, const char *prefix,
                        size_t prefixlen,
                        const unsigned char h[DVI_CALLKEY_BYTES]);

/* Whether key (keylen bytes) has the derived form: some prefix, '-', and
 * 32 lowercase hex digits. */
int dvi_callkey_derived_form(const char *key, size_t keylen);
/* Whether key is the key derived from a call of fn whose hash is h
 * ("fn-" and h in hex). */
int dvi_callkey_is(const char *key, const char *fn,
                   const unsigned char h[DVI_CALLKEY_BYTES]);

/* The key of a scattered value: "scatter-" and the hash of kind scatter
 * named "scatter", with no code and the value as its arguments (no call
 * can have it). */
void dvi_callkey_scatter(char *out, size_t size, const void *value, size_t n);
/* The key of a broadcast value: "broadcast-" and the hash of kind
 * broadcast named "broadcast", as a scattered value's. */
void dvi_callkey_broadcast(char *out, size_t size, const void *value, size_t n);

/* An uploaded library's hash: "U" and the BLAKE2b-128 of its bytes in hex,
 * into out (at least 34 bytes). */
void dvi_callkey_library(char *out, size_t size, const void *bytes, size_t n);

#endif
