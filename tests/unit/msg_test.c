/* drove — unit: the message table and dvi_msg_each, the checked decode of
 * a frame's payload.
 *
 * A frame payload is a msgpack array of messages, each an array [type,
 * fields...]. Scheduler, workers and clients dispatch everything they
 * receive through dvi_msg_each, so it must hand over every message of a
 * good batch in order, and refuse (with DV_EPROTO and a reason, never a
 * crash or a callback with too few fields) frames that are not batches,
 * messages that are not arrays, unknown types and short messages. The
 * field readers must refuse fields of the wrong type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "dvt_unit.h"
#include "dvtest.h"
#include "proto/callkey.h"
#include "proto/msg.h"

#define MAXSEEN 64

typedef struct s_seen {
    int n;
    int type[MAXSEEN];
    uint32_t nfields[MAXSEEN];
    char first[MAXSEEN][32]; /* first field, when it is a string */
    int fail_at;             /* message index whose callback fails, or -1 */
} s_seen;

static int
s_record(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_seen *s = ctx;
    if (s->n == s->fail_at) {
        s->n++;
        return dvi_seterr(DV_ENOTFOUND, "callback refused message");
    }
    if (s->n < MAXSEEN) {
        s->type[s->n] = type;
        s->nfields[s->n] = n;
        s->first[s->n][0] = '\0';
        if (n > 0) {
            dvi_msg_str(&f[0], s->first[s->n], sizeof(s->first[0]));
        }
    }
    s->n++;
    return 0;
}

static int
s_each(const dvt_enc *e, s_seen *s)
{
    memset(s, 0, sizeof(*s));
    s->fail_at = -1;
    return dvi_msg_each(e->sb.data, e->sb.size, s_record, s);
}

static void
test_names(void **state)
{
    DVT_EQ_STR(dvi_msg_name(DVI_MSG_HELLO), "HELLO");
    DVT_EQ_STR(dvi_msg_name(DVI_MSG_SUBMIT), "SUBMIT");
    DVT_EQ_STR(dvi_msg_name(DVI_MSG_BYE), "BYE");
    DVT_EQ_STR(dvi_msg_name(0), "?");
    DVT_EQ_STR(dvi_msg_name(-1), "?");
    DVT_EQ_STR(dvi_msg_name(DVI_MSG_MAX), "?");
    DVT_EQ_STR(dvi_msg_name(1000), "?");
    /* Every number below DVI_MSG_MAX is a message: the table has no gaps,
     * so a new message is not silently unknown. */
    for (int t = 1; t < DVI_MSG_MAX; t++) {
        DVT_NE_STR(dvi_msg_name(t), "?");
    }
}

static void
test_valid_batch_in_order(void **state)
{
    dvt_enc e;
    dvt_enc_init(&e);
    msgpack_pack_array(&e.pk, 4);
    msgpack_pack_array(&e.pk, 2); /* RELEASE key */
    msgpack_pack_int(&e.pk, DVI_MSG_RELEASE);
    dvi_pack_str(&e.pk, "k1");
    msgpack_pack_array(&e.pk, 2); /* CANCEL key */
    msgpack_pack_int(&e.pk, DVI_MSG_CANCEL);
    dvi_pack_str(&e.pk, "k2");
    msgpack_pack_array(&e.pk, 2); /* WORKERS [ids] */
    msgpack_pack_int(&e.pk, DVI_MSG_WORKERS);
    msgpack_pack_array(&e.pk, 2);
    dvi_pack_str(&e.pk, "w0");
    dvi_pack_str(&e.pk, "w1");
    msgpack_pack_array(&e.pk, 4); /* more fields than needed is fine */
    msgpack_pack_int(&e.pk, DVI_MSG_FREE);
    dvi_pack_str(&e.pk, "k3");
    msgpack_pack_nil(&e.pk);
    msgpack_pack_true(&e.pk);

    s_seen s;
    DVT_PASS(s_each(&e, &s));
    DVT_EQ_I64(s.n, 4);
    DVT_EQ_I64(s.type[0], DVI_MSG_RELEASE);
    DVT_EQ_STR(s.first[0], "k1");
    DVT_EQ_I64(s.nfields[0], 1);
    DVT_EQ_I64(s.type[1], DVI_MSG_CANCEL);
    DVT_EQ_STR(s.first[1], "k2");
    DVT_EQ_I64(s.type[2], DVI_MSG_WORKERS);
    DVT_EQ_I64(s.type[3], DVI_MSG_FREE);
    DVT_EQ_I64(s.nfields[3], 3);
    DVT_EQ_STR(s.first[3], "k3");
    dvt_enc_fini(&e);
}

static void
test_many_messages(void **state)
{
    /* 10,000 messages in one frame (array32) arrive in order. */
    dvt_enc e;
    dvt_enc_init(&e);
    msgpack_pack_array(&e.pk, 10000);
    for (int i = 0; i < 10000; i++) {
        msgpack_pack_array(&e.pk, 3);
        msgpack_pack_int(&e.pk, DVI_MSG_STORED);
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        dvi_pack_str(&e.pk, key);
        msgpack_pack_uint64(&e.pk, (uint64_t)i);
    }
    s_seen s;
    DVT_PASS(s_each(&e, &s));
    DVT_EQ_I64(s.n, 10000);
    for (int i = 0; i < MAXSEEN; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        DVT_EQ_STR(s.first[i], key);
    }
    dvt_enc_fini(&e);
}

static void
test_empty_batch(void **state)
{
    s_seen s;
    dvt_enc e;
    dvt_enc_init(&e);
    msgpack_pack_array(&e.pk, 0);
    DVT_PASS(s_each(&e, &s));
    DVT_EQ_I64(s.n, 0);
    dvt_enc_fini(&e);
}

static void
test_every_minimum_is_enforced(void **state)
{
    /* For each type: min fields pass; one fewer is DV_EPROTO whose reason
     * names the message, and the callback never runs for it. */
    for (int t = 1; t < DVI_MSG_MAX; t++) {
        for (int less = 0; less <= 1; less++) {
            if (less && dvi_msg_min_fields(t) == 0) {
                continue;
            }
            uint32_t nf = dvi_msg_min_fields(t) - (uint32_t)less;
            dvt_enc e;
            dvt_enc_init(&e);
            msgpack_pack_array(&e.pk, 1);
            msgpack_pack_array(&e.pk, nf + 1);
            msgpack_pack_int(&e.pk, t);
            for (uint32_t i = 0; i < nf; i++) {
                msgpack_pack_nil(&e.pk);
            }
            s_seen s;
            int rc = s_each(&e, &s);
            if (less) {
                DVT_FAILS_WITH(DV_EPROTO, rc);
                DVT_CONTAINS(dv_last_error(), dvi_msg_name(t));
                DVT_EQ_I64(s.n, 0);
            } else {
                DVT_PASS(rc);
                DVT_EQ_I64(s.n, 1);
                DVT_EQ_I64(s.nfields[0], nf);
            }
            dvt_enc_fini(&e);
        }
    }
}

static void
test_submit_with_too_few_fields(void **state)
{
    dvt_enc e;
    dvt_enc_init(&e);
    msgpack_pack_array(&e.pk, 1);
    msgpack_pack_array(&e.pk, 2);
    msgpack_pack_int(&e.pk, DVI_MSG_SUBMIT);
    dvi_pack_str(&e.pk, "key");
    s_seen s;
    DVT_FAILS_WITH(DV_EPROTO, s_each(&e, &s));
    DVT_CONTAINS(dv_last_error(), "SUBMIT with 1 fields, needs 9");
    DVT_EQ_I64(s.n, 0);
    dvt_enc_fini(&e);
}

typedef struct s_bad {
    const char *what;
    const char *bytes;
    size_t len;
    const char *reason;
} s_bad;

#define BAD(what, lit, reason)             \
    {                                      \
        what, lit, sizeof(lit) - 1, reason \
    }

static const s_bad s_bad_frames[] = {
    BAD("empty payload", "", "0 bytes"),
    BAD("an integer, not a batch", "\x05", "not a batch"),
    BAD("a map, not a batch", "\x81\x01\x02", "not a batch"),
    BAD("a string, not a batch",
        "\xa3"
        "abc",
        "not a batch"),
    BAD("a message that is not an array", "\x91\x04", "message 0"),
    BAD("an empty message", "\x91\x90", "message 0"),
    BAD("type 0", "\x91\x92\x00\xa1k", "message 0"),
    BAD("unknown type 99", "\x91\x92\x63\xa1k", "message 0"),
    BAD("type DVI_MSG_MAX", "\x91\x92\x25\xa1k", "message 0"),
    BAD("negative type", "\x91\x92\xff\xa1k", "message 0"),
    BAD("huge type", "\x91\x92\xcf\x00\x00\x00\x01\x00\x00\x00\x04\xa1k",
        "message 0"),
    BAD("type as a string", "\x91\x92\xa1\x04\xa1k", "message 0"),
    BAD("type as a float", "\x91\x92\xcb\x40\x10\0\0\0\0\0\0\xa1k",
        "message 0"),
    BAD("second message bad", "\x92\x92\x04\xa1k\x04", "message 1"),
    BAD("batch claiming 2^32-1 messages",
        "\xdd\xff\xff\xff\xff\x92\x04\xa1k\x00", "10 bytes"),
    BAD("message claiming 65535 fields", "\x91\xdc\xff\xff\x04\xa1k",
        "7 bytes"),
    BAD("truncated field", "\x91\x92\x04\xa5k", "5 bytes"),
    BAD("trailing bytes", "\x90\x00", "trailing"),
};

/* The frame "type DVI_MSG_MAX" above spells the number out. */
_Static_assert(DVI_MSG_MAX == 0x25, "update the frame of type DVI_MSG_MAX");

static void
test_malformed_frames(void **state)
{
    for (size_t i = 0; i < sizeof(s_bad_frames) / sizeof(s_bad_frames[0]);
         i++) {
        const s_bad *b = &s_bad_frames[i];
        char *buf = malloc(b->len ? b->len : 1);
        assert_non_null(buf);
        memcpy(buf, b->bytes, b->len);
        s_seen s = {.fail_at = -1};
        int rc = dvi_msg_each(buf, b->len, s_record, &s);
        free(buf);
        if (rc != DV_EPROTO) {
            DVT_FAIL("%s: returned %d, want DV_EPROTO", b->what, rc);
        }
        if (strstr(dv_last_error(), b->reason) == NULL) {
            DVT_FAIL("%s: reason \"%s\" lacks \"%s\"", b->what, dv_last_error(),
                     b->reason);
        }
        /* Only the good message before a bad one may have been seen. */
        DVT_LT_I64(s.n, 2);
    }
}

static void
test_callback_error_stops(void **state)
{
    dvt_enc e;
    dvt_enc_init(&e);
    msgpack_pack_array(&e.pk, 3);
    for (int i = 0; i < 3; i++) {
        msgpack_pack_array(&e.pk, 2);
        msgpack_pack_int(&e.pk, DVI_MSG_GET);
        dvi_pack_str(&e.pk, "k");
    }
    s_seen s;
    memset(&s, 0, sizeof(s));
    s.fail_at = 1;
    DVT_FAILS_WITH(DV_ENOTFOUND,
                   dvi_msg_each(e.sb.data, e.sb.size, s_record, &s));
    DVT_EQ_I64(s.n, 2); /* the third message was not delivered */
    dvt_enc_fini(&e);
}

/* ---- Field readers ------------------------------------------------------ */

/* Decodes one packed object from e into u. */
static const msgpack_object *
s_obj(const dvt_enc *e, msgpack_unpacked *u)
{
    size_t off = 0;
    msgpack_unpacked_init(u);
    assert_int_equal(msgpack_unpack_next(u, e->sb.data, e->sb.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    return &u->data;
}

static void
test_field_readers(void **state)
{
    dvt_enc e;
    dvt_enc_init(&e);
    msgpack_pack_array(&e.pk, 8);
    msgpack_pack_uint64(&e.pk, UINT64_MAX); /* 0 */
    msgpack_pack_int64(&e.pk, -5);          /* 1 */
    msgpack_pack_int64(&e.pk, INT64_MAX);   /* 2 */
    dvi_pack_str(&e.pk, "hello");           /* 3 */
    dvi_pack_bin(&e.pk, "\0\1\2", 3);       /* 4 */
    dvi_pack_str(&e.pk, NULL);              /* 5: nil */
    dvi_pack_strn(&e.pk, "a\0b", 3);        /* 6: embedded NUL */
    msgpack_pack_double(&e.pk, 1.0);        /* 7 */
    msgpack_unpacked u;
    const msgpack_object *a = s_obj(&e, &u);
    const msgpack_object *f = a->via.array.ptr;
    uint64_t u64;
    int64_t i64;
    const char *p;
    size_t n;
    char buf[8];

    DVT_PASS(dvi_msg_u64(&f[0], &u64));
    DVT_TRUE(u64 == UINT64_MAX);
    DVT_FAILS_WITH(DV_EPROTO, dvi_msg_u64(&f[1], &u64)); /* negative */
    DVT_EQ_I64(u64, 0);
    DVT_FAILS_WITH(DV_EPROTO, dvi_msg_u64(&f[3], &u64));
    DVT_FAILS_WITH(DV_EPROTO, dvi_msg_u64(&f[7], &u64));

    DVT_PASS(dvi_msg_i64(&f[1], &i64));
    DVT_EQ_I64(i64, -5);
    DVT_PASS(dvi_msg_i64(&f[2], &i64));
    DVT_EQ_I64(i64, INT64_MAX);
    DVT_FAILS_WITH(DV_EPROTO, dvi_msg_i64(&f[0], &i64)); /* > INT64_MAX */
    DVT_FAILS_WITH(DV_EPROTO, dvi_msg_i64(&f[5], &i64));

    DVT_PASS(dvi_msg_bytes(&f[3], &p, &n));
    DVT_EQ_I64(n, 5);
    DVT_TRUE(memcmp(p, "hello", 5) == 0);
    DVT_PASS(dvi_msg_bytes(&f[4], &p, &n));
    DVT_EQ_I64(n, 3);
    DVT_TRUE(memcmp(p, "\0\1\2", 3) == 0);
    DVT_FAILS_WITH(DV_EPROTO, dvi_msg_bytes(&f[5], &p, &n));
    DVT_TRUE(p == NULL);
    DVT_FAILS_WITH(DV_EPROTO, dvi_msg_bytes(&f[0], &p, &n));

    DVT_PASS(dvi_msg_opt_bytes(&f[5], &p, &n));
    DVT_TRUE(p == NULL);
    DVT_EQ_I64(n, 0);
    DVT_PASS(dvi_msg_opt_bytes(&f[3], &p, &n));
    DVT_EQ_I64(n, 5);
    DVT_FAILS_WITH(DV_EPROTO, dvi_msg_opt_bytes(&f[1], &p, &n));

    DVT_PASS(dvi_msg_str(&f[3], buf, sizeof(buf)));
    DVT_EQ_STR(buf, "hello");
    /* Exactly size - 1 bytes fit; size bytes do not. */
    DVT_PASS(dvi_msg_str(&f[3], buf, 6));
    DVT_FAILS_WITH(DV_EPROTO, dvi_msg_str(&f[3], buf, 5));
    DVT_CONTAINS(dv_last_error(), "5 bytes");
    /* An embedded NUL would truncate an id silently: refused. */
    DVT_FAILS_WITH(DV_EPROTO, dvi_msg_str(&f[6], buf, sizeof(buf)));
    DVT_FAILS_WITH(DV_EPROTO, dvi_msg_str(&f[5], buf, sizeof(buf)));
    DVT_FAILS_WITH(DV_EPROTO, dvi_msg_str(&f[0], buf, sizeof(buf)));

    msgpack_unpacked_destroy(&u);
    dvt_enc_fini(&e);
}

/* Reads the single message of the frame in o (flattened) with fn. */
static int
s_read_back(dvi_outbox *o, dvi_msg_fn fn, void *ctx)
{
    dvi_outbox_frame fr;
    DVT_PASS(dvi_outbox_take(o, &fr));
    dvi_outbox_frame_flatten(&fr);
    int rc = dvi_msg_each(fr.buf + 4, fr.len - 4, fn, ctx);
    dvi_outbox_frame_fini(&fr);
    return rc;
}

/* Checks the SUBMIT test_typed_round_trip packs (fields borrow the
 * frame, which is freed after the callback). */
static int
s_read_submit(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    dvi_msg_submit out;
    DVT_EQ_I64(type, DVI_MSG_SUBMIT);
    DVT_PASS(dvi_msg_submit_read(f, n, &out));
    DVT_EQ_STR(out.key, "inc-1");
    DVT_EQ_STR(out.fn, "inc");
    DVT_EQ_I64(out.args.n, 2);
    DVT_EQ_I64(out.flags, 3);
    DVT_EQ_I64(out.priority, -5);
    DVT_EQ_I64(out.retries, 2);
    DVT_TRUE(out.worker.p == NULL); /* nil */
    DVT_EQ_I64(out.deps->size, 2);
    (*(int *)ctx)++;
    return 0;
}

static int
s_read_data(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    dvi_msg_data *m = ctx;
    DVT_EQ_I64(type, DVI_MSG_DATA);
    int rc = dvi_msg_data_read(f, n, m);
    /* The bytes borrow the frame, which goes: check them here. */
    for (size_t i = 0; rc == 0 && i < m->value.n; i++) {
        if (m->value.p[i] != (char)(i * 7)) {
            DVT_FAIL("DATA byte %zu differs", i);
        }
    }
    return rc;
}

/* What a packer writes, the reader gives back: every kind of field. */
static void
test_typed_round_trip(void **state)
{
    dvi_outbox o;
    dvi_outbox_init(&o, NULL, NULL);
    dvi_msg_submit in = {
        .key = "inc-1", .fn = "inc", .flags = 3, .priority = -5, .retries = 2};
    in.args = (dvi_bytes){"\x91\x01", 2, NULL};
    in.worker = dvi_bytes_of(NULL);
    msgpack_packer *pk = dvi_msg_submit_pack(&o, &in);
    msgpack_pack_array(pk, 2);
    dvi_pack_str(pk, "d1");
    dvi_pack_str(pk, "d2");
    int seen = 0;
    DVT_PASS(s_read_back(&o, s_read_submit, &seen));
    DVT_EQ_I64(seen, 1);
    /* A large BIN given as a blob is spliced, and reads back whole. */
    dvi_blob *b = dvi_blob_new(DVI_INLINE_MAX + 100, 0);
    for (size_t i = 0; i < b->len; i++) {
        b->data[i] = (char)(i * 7);
    }
    dvi_msg_data d = {.key = "big"};
    d.value = (dvi_bytes){NULL, b->len, b};
    dvi_msg_data_pack(&o, &d);
    DVT_EQ_I64(o.nsegs, 1);
    dvi_msg_data back;
    DVT_PASS(s_read_back(&o, s_read_data, &back));
    DVT_EQ_I64(back.value.n, DVI_INLINE_MAX + 100); /* the length only */
    dvi_blob_rele(b);
    dvi_outbox_fini(&o);
}

/* A reader refuses a field of the wrong kind and names it. */
static void
test_typed_reader_names_the_field(void **state)
{
    dvt_enc e;
    const char *bad_keys[] = {"", "a\0b", NULL};
    for (int k = 0; k < 3; k++) {
        dvt_enc_init(&e);
        msgpack_pack_array(&e.pk, 1);
        msgpack_pack_array(&e.pk, 2);
        msgpack_pack_int(&e.pk, DVI_MSG_FREE);
        if (k == 2) {
            char big[300];
            memset(big, 'k', sizeof(big));
            dvi_pack_strn(&e.pk, big, sizeof(big)); /* over DVI_MAX_KEY */
        } else {
            dvi_pack_strn(&e.pk, bad_keys[k], k == 1 ? 3 : 0);
        }
        dvi_msg_free m;
        s_seen s;
        DVT_PASS(s_each(&e, &s));
        msgpack_unpacked u;
        msgpack_unpacked_init(&u);
        size_t off = 0;
        msgpack_unpack_next(&u, e.sb.data, e.sb.size, &off);
        const msgpack_object *msg = &u.data.via.array.ptr[0];
        DVT_FAILS_WITH(DV_EPROTO,
                       dvi_msg_free_read(msg->via.array.ptr + 1, 1, &m));
        DVT_CONTAINS(dv_last_error(), "malformed FREE: field 'key'");
        msgpack_unpacked_destroy(&u);
        dvt_enc_fini(&e);
    }
}

/* Reads a COMPUTE back: ctx gets its timeout_ms, and n its field count. */
typedef struct s_tail {
    uint64_t timeout_ms;
    uint32_t n;
    uint32_t ninputs;
} s_tail;

static int
s_read_compute(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_tail *t = ctx;
    dvi_msg_compute m;
    DVT_EQ_I64(type, DVI_MSG_COMPUTE);
    DVT_PASS(dvi_msg_compute_read(f, n, &m));
    DVT_EQ_STR(m.key, "k");
    t->timeout_ms = m.timeout_ms;
    t->n = n;
    t->ninputs = m.inputs->size;
    return 0;
}

/* An appended field (COMPUTE's timeout_ms) travels after the array when
 * it is not 0, and is left out when it is: the message is then exactly
 * what a peer from before the field sends, and reads as 0. */
static void
test_appended_field(void **state)
{
    for (uint64_t want = 0; want <= 1500; want += 1500) {
        dvi_outbox o;
        dvi_outbox_init(&o, NULL, NULL);
        dvi_msg_compute m = {.key = "k", .fn = "f", .timeout_ms = want};
        m.code = dvi_bytes_of("");
        m.args = (dvi_bytes){"\x90", 1, NULL};
        msgpack_packer *pk = dvi_msg_compute_pack(&o, &m);
        msgpack_pack_array(pk, 1);
        dvi_pack_str(pk, "in");
        dvi_msg_compute_pack_tail(&o, &m);
        s_tail t = {0};
        DVT_PASS(s_read_back(&o, s_read_compute, &t));
        DVT_EQ_I64(t.timeout_ms, want);
        DVT_EQ_I64(t.ninputs, 1);
        DVT_EQ_I64(t.n, dvi_msg_min_fields(DVI_MSG_COMPUTE) + (want ? 1 : 0));
        dvi_outbox_fini(&o);
    }
    DVT_EQ_I64(dvi_msg_min_fields(DVI_MSG_COMPUTE), 7);
    DVT_EQ_I64(dvi_msg_min_fields(DVI_MSG_SUBMIT), 9);
}

/* Reads a SUBMIT back: its resources, timeout and field count. */
typedef struct s_stail {
    char resources[64]; /* "(nil)" for nil */
    uint64_t timeout_ms;
    uint32_t n;
} s_stail;

static int
s_read_submit_tail(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_stail *t = ctx;
    dvi_msg_submit m;
    DVT_EQ_I64(type, DVI_MSG_SUBMIT);
    int rc = dvi_msg_submit_read(f, n, &m);
    if (rc == 0) {
        snprintf(t->resources, sizeof(t->resources), "%.*s",
                 m.resources.p ? (int)m.resources.n : 5,
                 m.resources.p ? m.resources.p : "(nil)");
        t->timeout_ms = m.timeout_ms;
    }
    t->n = n;
    return rc;
}

/* An appended string (SUBMIT's resources) travels when it is not empty,
 * with the appended fields before it, and reads as nil when absent. */
static void
test_appended_string(void **state)
{
    static const struct {
        const char *res;
        uint64_t timeout_ms;
        const char *want;
        uint32_t extra;
    } cases[] = {
        {NULL, 0, "(nil)", 0},
        {"", 7, "(nil)", 1},
        {"GPU=1", 0, "GPU=1", 2}, /* timeout_ms 0 goes, before it */
        {"GPU=1", 9, "GPU=1", 2},
    };
    for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        dvi_outbox o;
        dvi_outbox_init(&o, NULL, NULL);
        dvi_msg_submit m = {.key = "k", .fn = "f"};
        m.args = (dvi_bytes){"\x90", 1, NULL};
        m.timeout_ms = cases[k].timeout_ms;
        m.resources = dvi_bytes_of(cases[k].res);
        msgpack_pack_array(dvi_msg_submit_pack(&o, &m), 0);
        dvi_msg_submit_pack_tail(&o, &m);
        s_stail t;
        memset(&t, 0, sizeof(t));
        DVT_PASS(s_read_back(&o, s_read_submit_tail, &t));
        DVT_EQ_STR(t.resources, cases[k].want);
        DVT_EQ_I64(t.timeout_ms, cases[k].timeout_ms);
        DVT_EQ_I64(t.n, dvi_msg_min_fields(DVI_MSG_SUBMIT) + cases[k].extra);
        dvi_outbox_fini(&o);
    }
    /* Bytes (bin) where the string goes are malformed. */
    dvt_enc e;
    dvt_enc_init(&e);
    msgpack_pack_array(&e.pk, 11);
    dvi_pack_str(&e.pk, "k");
    dvi_pack_str(&e.pk, "f");
    dvi_pack_str(&e.pk, "");
    dvi_pack_bin(&e.pk, "\x90", 1);
    for (int i = 0; i < 3; i++) {
        msgpack_pack_int(&e.pk, 0);
    }
    msgpack_pack_nil(&e.pk);
    msgpack_pack_array(&e.pk, 0);
    msgpack_pack_int(&e.pk, 0);
    dvi_pack_bin(&e.pk, "GPU=1", 5);
    msgpack_unpacked u;
    msgpack_unpacked_init(&u);
    size_t off = 0;
    msgpack_unpack_next(&u, e.sb.data, e.sb.size, &off);
    dvi_msg_submit m;
    DVT_FAILS_WITH(DV_EPROTO,
                   dvi_msg_submit_read(u.data.via.array.ptr, 11, &m));
    DVT_CONTAINS(dv_last_error(), "malformed SUBMIT: field 'resources'");
    msgpack_unpacked_destroy(&u);
    dvt_enc_fini(&e);
}

/* docs/protocol.md lists every message with its number and its fields in
 * the order the table in msg.h gives them: the document stays true. */
static void
test_protocol_doc_matches_table(void **state)
{
#define S_NAME_(kind, name) #name,
    static const char *const fields[DVI_MSG_MAX][16] = {
#define S_ROW_(NAME, num, lname) [num] = {DVI_MSG_FIELDS_##lname(S_NAME_) NULL},
        DVI_MSG_MAP(S_ROW_)
#undef S_ROW_
    };
#undef S_NAME_
    /* Every field is required but the appended ones (AU64). */
#define S_REQ_(kind, name) +DVI_MSG_REQUIRED_##kind
    static const int required[DVI_MSG_MAX] = {
#define S_ROW_(NAME, num, lname) [num] = 0 DVI_MSG_FIELDS_##lname(S_REQ_),
        DVI_MSG_MAP(S_ROW_)
#undef S_ROW_
    };
#undef S_REQ_
    char *doc = dvt_read_file(DV_SOURCE_DIR "/docs/protocol.md");
    DVT_TRUE(doc != NULL);
    for (int t = 1; t < DVI_MSG_MAX; t++) {
        char head[64], want[512] = "";
        snprintf(head, sizeof(head), "\n| %d | %s | ", t, dvi_msg_name(t));
        const char *row = strstr(doc, head);
        if (row == NULL) {
            DVT_FAIL("docs/protocol.md has no row '%s'", head + 1);
        }
        const char *cols = strchr(row + strlen(head), '|'); /* direction */
        DVT_TRUE(cols != NULL);
        const char *end = strchr(cols + 1, '|');
        DVT_TRUE(end != NULL);
        for (int k = 0; fields[t][k]; k++) {
            snprintf(want + strlen(want), sizeof(want) - strlen(want), " `%s`",
                     fields[t][k]);
        }
        strcat(want, " ");
        char got[512];
        snprintf(got, sizeof(got), "%.*s", (int)(end - cols - 1), cols + 1);
        DVT_EQ_STR(got, want);
        DVT_EQ_I64(dvi_msg_min_fields(t), required[t]);
    }
    free(doc);
}

/* The packers' writer keeps every byte of writes of every length, short
 * (copied inline) and long, across the buffer's growth. */
static void
test_sbuffer_write_keeps_every_byte(void **state)
{
    (void)state;
    char src[64], want[64 * 64];
    size_t nwant = 0;
    msgpack_sbuffer sb;
    msgpack_sbuffer_init(&sb);
    for (size_t i = 0; i < sizeof(src); i++) {
        src[i] = (char)(i * 7 + 1);
    }
    for (int round = 0; round < 2; round++) {
        for (size_t len = 0; len < 40; len++) {
            DVT_EQ_I64(dvi_sbuffer_write(&sb, src + len % 8, len), 0);
            memcpy(want + nwant, src + len % 8, len);
            nwant += len;
        }
    }
    DVT_EQ_I64(sb.size, nwant);
    DVT_TRUE(memcmp(sb.data, want, nwant) == 0);
    msgpack_sbuffer_destroy(&sb);
}

/* The key of fn's call with args and deps, as a client derives it. */
static void
s_call_key(char *out, size_t size, const char *fn, const char *code,
           const unsigned char *args, size_t n, const char *const *deps,
           int ndeps)
{
    dvi_callkey k;
    unsigned char h[DVI_CALLKEY_BYTES];
    dvi_callkey_begin(&k, fn, strlen(fn), code, strlen(code), DVI_CALLKEY_CALL,
                      args, n);
    for (int i = 0; i < ndeps; i++) {
        dvi_callkey_dep(&k, deps[i], strlen(deps[i]));
    }
    dvi_callkey_end(&k, h);
    dvi_callkey_format(out, size, fn, strlen(fn), h);
}

/* Keys derived from content never change: a scheduler's state file keeps
 * them, and a client of another version must derive the same. These were
 * derived by the hashing of drove 0.1 (six updates a call). */
static void
test_call_keys_are_stable(void **state)
{
    unsigned char args[600];
    for (int i = 0; i < 600; i++) {
        args[i] = (unsigned char)(i * 7);
    }
    const char *deps[] = {"inc-00112233445566778899aabbccddeeff",
                          "scatter-ffeeddccbbaa99887766554433221100", "x"};
    char key[128];
    s_call_key(key, sizeof(key), "inc", "", args, 3, NULL, 0);
    DVT_EQ_STR(key, "inc-0ef5e5cd4e848d48c8da8d7ac4781715");
    /* Arguments longer than the hash's buffer, then dependencies. */
    s_call_key(key, sizeof(key), "metg_task",
               "U0123456789abcdef0123456789abcdef", args, sizeof(args), deps,
               3);
    DVT_EQ_STR(key, "metg_task-e685f0cd6b3b63f0aa37282545931c6c");
    dvi_callkey_scatter(key, sizeof(key), "value", 5);
    DVT_EQ_STR(key, "scatter-98054a7e594470b754d7d5b7ee3f7b97");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_call_keys_are_stable),
        cmocka_unit_test(test_protocol_doc_matches_table),
        cmocka_unit_test(test_typed_round_trip),
        cmocka_unit_test(test_appended_field),
        cmocka_unit_test(test_appended_string),
        cmocka_unit_test(test_typed_reader_names_the_field),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_valid_batch_in_order),
        cmocka_unit_test(test_many_messages),
        cmocka_unit_test(test_empty_batch),
        cmocka_unit_test(test_every_minimum_is_enforced),
        cmocka_unit_test(test_submit_with_too_few_fields),
        cmocka_unit_test(test_malformed_frames),
        cmocka_unit_test(test_callback_error_stops),
        cmocka_unit_test(test_field_readers),
        cmocka_unit_test(test_sbuffer_write_keeps_every_byte),
    };
    return cmocka_run_group_tests_name("msg", tests, NULL, NULL);
}
