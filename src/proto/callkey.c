/* Keys derived from content (callkey.h). */
#include <stdio.h>
#include <string.h>

#include "callkey.h"

static const unsigned char s_zero = 0;

/* A hash in lowercase hex. Not sodium_bin2hex: a key is public, so its
 * constant time buys nothing, and it cost 400 instructions a submission
 * (an eighth of dv_submit's own work). */
static void
s_hex(char out[DVI_CALLKEY_HEX + 1], const unsigned char h[DVI_CALLKEY_BYTES])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < DVI_CALLKEY_BYTES; i++) {
        out[2 * i] = digits[h[i] >> 4];
        out[2 * i + 1] = digits[h[i] & 15];
    }
    out[DVI_CALLKEY_HEX] = '\0';
}

/* Adds n bytes to the hash: through buf, in one update with those
 * before and after them while they fit. */
static void
s_add(dvi_callkey *k, const void *p, size_t n)
{
    if (k->n + n > sizeof(k->buf)) {
        crypto_generichash_update(&k->st, k->buf, k->n);
        k->n = 0;
        if (n > sizeof(k->buf)) {
            crypto_generichash_update(&k->st, p, n);
            return;
        }
    }
    if (n > 0) { /* p may be NULL then (no arguments) */
        memcpy(k->buf + k->n, p, n);
        k->n += n;
    }
}

static void
s_add_str(dvi_callkey *k, const char *s, size_t n)
{
    s_add(k, s, n);
    s_add(k, &s_zero, 1);
}

void
dvi_callkey_begin(dvi_callkey *k, const char *fn, size_t fnlen,
                  const char *code, size_t codelen, int kind, const void *args,
                  size_t argslen)
{
    const unsigned char k8 = (unsigned char)kind;
    crypto_generichash_init(&k->st, NULL, 0, DVI_CALLKEY_BYTES);
    k->n = 0;
    s_add_str(k, fn, fnlen);
    s_add_str(k, code ? code : "", code ? codelen : 0);
    s_add(k, &k8, 1);
    s_add(k, args, argslen);
}

void
dvi_callkey_dep(dvi_callkey *k, const char *key, size_t keylen)
{
    s_add_str(k, key, keylen);
}

void
dvi_callkey_end(dvi_callkey *k, unsigned char h[DVI_CALLKEY_BYTES])
{
    crypto_generichash_update(&k->st, k->buf, k->n);
    crypto_generichash_final(&k->st, h, DVI_CALLKEY_BYTES);
}

void
dvi_callkey_format(char *out, size_t size, const char *prefix, size_t prefixlen,
                   const unsigned char h[DVI_CALLKEY_BYTES])
{
    char hex[DVI_CALLKEY_HEX + 1];
    s_hex(hex, h);
    if (prefixlen + 1 + sizeof(hex) > size ||
        memchr(prefix, '\0', prefixlen) != NULL) {
        snprintf(out, size, "%.*s-%s", (int)prefixlen, prefix, hex);
        return;
    }
    /* Once a submission: without snprintf's parsing. */
    memcpy(out, prefix, prefixlen);
    out[prefixlen] = '-';
    memcpy(out + prefixlen + 1, hex, sizeof(hex));
}

int
dvi_callkey_derived_form(const char *key, size_t keylen)
{
    if (keylen < DVI_CALLKEY_HEX + 1 ||
        key[keylen - DVI_CALLKEY_HEX - 1] != '-') {
        return 0;
    }
    /* Without a branch a character: digits and letters come at random,
     * and the mispredicted branches cost 2% of a tiny task's CPU. */
    unsigned ok = 1;
    for (size_t i = keylen - DVI_CALLKEY_HEX; i < keylen; i++) {
        unsigned char ch = (unsigned char)key[i];
        ok &= ((unsigned)(ch - '0') < 10u) | ((unsigned)(ch - 'a') < 6u);
    }
    return (int)ok;
}

int
dvi_callkey_is(const char *key, const char *fn,
               const unsigned char h[DVI_CALLKEY_BYTES])
{
    size_t fnlen = strlen(fn);
    char hex[DVI_CALLKEY_HEX + 1];
    if (strlen(key) != fnlen + 1 + DVI_CALLKEY_HEX ||
        memcmp(key, fn, fnlen) != 0 || key[fnlen] != '-') {
        return 0;
    }
    s_hex(hex, h);
    return memcmp(key + fnlen + 1, hex, DVI_CALLKEY_HEX) == 0;
}

/* The key of a value put on workers, named so and hashed as kind. */
static void
s_value_key(char *out, size_t size, const char *name, int kind,
            const void *value, size_t n)
{
    dvi_callkey k;
    unsigned char h[DVI_CALLKEY_BYTES];
    dvi_callkey_begin(&k, name, strlen(name), "", 0, kind, value, n);
    dvi_callkey_end(&k, h);
    dvi_callkey_format(out, size, name, strlen(name), h);
}

void
dvi_callkey_scatter(char *out, size_t size, const void *value, size_t n)
{
    s_value_key(out, size, "scatter", DVI_CALLKEY_SCATTER, value, n);
}

void
dvi_callkey_broadcast(char *out, size_t size, const void *value, size_t n)
{
    s_value_key(out, size, "broadcast", DVI_CALLKEY_BROADCAST, value, n);
}

void
dvi_callkey_library(char *out, size_t size, const void *bytes, size_t n)
{
    unsigned char h[DVI_CALLKEY_BYTES];
    char hex[DVI_CALLKEY_HEX + 1];
    crypto_generichash(h, sizeof(h), bytes, n, NULL, 0);
    s_hex(hex, h);
    snprintf(out, size, "U%s", hex);
}
