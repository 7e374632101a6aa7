/* drove — unit: dvi_outbox, a peer's batch of messages taken as one frame.
 *
 * No loop and no socket: the outbox is what lets the scheduler core batch
 * messages without connections. What a user would notice: every message
 * added between two takes travels in one frame that a receiver accepts
 * (checked with dvi_msg_each, the receiver's own decoder), in order;
 * large byte strings spliced in by reference arrive intact and are not
 * copied until a transport asks for a flat frame; the owner is told when
 * a batch starts (to arm its flush) and when it has grown too large (to
 * flush at once); and every blob reference is given back.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "dvtest.h"
#include "proto/msg.h"
#include "proto/outbox.h"

/* The outbox's owner, as a connection would be. */
typedef struct s_owner {
    dvi_outbox o;
    int armed;              /* ARMED notifications */
    int full;               /* FULL notifications */
    int take_on_full;       /* take the batch when FULL comes */
    dvi_outbox_frame taken; /* what FULL took */
} s_owner;

/* What a receiver found in a frame. */
typedef struct s_seen {
    int msgs;
    uint64_t next_seq; /* the seq the next STORED must carry */
    int out_of_order;
    int data;            /* DATA messages */
    size_t data_len;     /* the last DATA's payload size */
    int data_ok;         /* its bytes matched the pattern */
    const char *data_at; /* where the last DATA's payload was read */
} s_seen;

static void
s_notify(void *ctx, int event)
{
    s_owner *w = ctx;
    if (event == DVI_OUTBOX_ARMED) {
        w->armed++;
    } else if (event == DVI_OUTBOX_FULL) {
        w->full++;
        if (w->take_on_full) {
            DVT_EQ_I64(dvi_outbox_take(&w->o, &w->taken), 0);
        }
    }
}

static int
s_on_msg(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    s_seen *s = ctx;
    s->msgs++;
    if (type == DVI_MSG_STORED) {
        uint64_t seq;
        if (dvi_msg_u64(&f[1], &seq) < 0 || seq != s->next_seq) {
            s->out_of_order++;
        }
        s->next_seq++;
    } else if (type == DVI_MSG_DATA) {
        const char *p;
        size_t len;
        s->data++;
        s->data_ok = dvi_msg_bytes(&f[1], &p, &len) == 0;
        s->data_len = s->data_ok ? len : 0;
        s->data_at = s->data_ok ? p : NULL;
        for (size_t i = 0; s->data_ok && i < len; i++) {
            s->data_ok = p[i] == (char)(i * 7);
        }
    }
    return 0;
}

static uint32_t
s_be32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return ((uint32_t)u[0] << 24) | ((uint32_t)u[1] << 16) |
           ((uint32_t)u[2] << 8) | u[3];
}

/* Reads a flat frame as a receiver would: the length must cover exactly
 * the rest, the batch must decode, and it must hold nmsgs messages. */
static s_seen
s_receive(const dvi_outbox_frame *f, uint64_t first_seq)
{
    s_seen s = {0};
    s.next_seq = first_seq;
    DVT_EQ_I64(f->nsegs, 0);
    DVT_GE_I64(f->len, DVI_OUTBOX_HEADER);
    DVT_EQ_I64(s_be32(f->buf), f->len - 4);
    DVT_EQ_I64((unsigned char)f->buf[4], 0xdd); /* array32 */
    DVT_EQ_I64(s_be32(f->buf + 5), f->nmsgs);
    DVT_PASS(dvi_msg_each(f->buf + 4, f->len - 4, s_on_msg, &s));
    DVT_EQ_I64(s.msgs, f->nmsgs);
    return s;
}

static void
s_stored(dvi_outbox *o, uint64_t seq)
{
    msgpack_packer *pk = dvi_outbox_msg(o, DVI_MSG_STORED, 2);
    dvi_pack_str(pk, "key");
    msgpack_pack_uint64(pk, seq);
}

/* A DATA message whose payload is b, spliced in by reference. */
static void
s_data(dvi_outbox *o, dvi_blob *b)
{
    msgpack_packer *pk = dvi_outbox_msg(o, DVI_MSG_DATA, 2);
    dvi_pack_str(pk, "big");
    msgpack_pack_bin(pk, b->len);
    dvi_outbox_put_blob(o, b);
}

static dvi_blob *
s_pattern_blob(size_t len)
{
    dvi_blob *b = dvi_blob_new(len, 0);
    for (size_t i = 0; i < len; i++) {
        b->data[i] = (char)(i * 7);
    }
    return b;
}

static int
s_refs(dvi_blob *b)
{
    return atomic_load(&b->refs);
}

/* ---- Tests -------------------------------------------------------------- */

static void
test_batches_messages_into_one_frame(void **state)
{
    s_owner w = {0};
    dvi_outbox_init(&w.o, s_notify, &w);
    dvi_outbox_frame f;
    DVT_EQ_I64(dvi_outbox_take(&w.o, &f), -1); /* nothing to send */
    DVT_EQ_I64(w.armed, 0);

    for (uint64_t i = 0; i < 100; i++) {
        s_stored(&w.o, i);
    }
    DVT_EQ_I64(w.armed, 1); /* once, for the first message */
    DVT_EQ_I64(dvi_outbox_count(&w.o), 100);
    DVT_EQ_I64(dvi_outbox_take(&w.o, &f), 0);
    DVT_EQ_I64(f.nmsgs, 100);
    s_seen s = s_receive(&f, 0);
    DVT_EQ_I64(s.out_of_order, 0);
    dvi_outbox_frame_fini(&f);

    /* Taking empties the outbox; the next message starts a new batch. */
    DVT_EQ_I64(dvi_outbox_count(&w.o), 0);
    DVT_EQ_I64(dvi_outbox_take(&w.o, &f), -1);
    s_stored(&w.o, 100);
    DVT_EQ_I64(w.armed, 2);
    DVT_EQ_I64(dvi_outbox_take(&w.o, &f), 0);
    s = s_receive(&f, 100);
    DVT_EQ_I64(s.msgs, 1);
    DVT_EQ_I64(s.out_of_order, 0);
    dvi_outbox_frame_fini(&f);
    DVT_EQ_I64(w.full, 0);
    dvi_outbox_fini(&w.o);
}

static void
test_works_without_an_owner(void **state)
{
    /* The scheduler core may batch with nobody to notify. */
    dvi_outbox o;
    dvi_outbox_init(&o, NULL, NULL);
    s_stored(&o, 0);
    s_stored(&o, 1);
    dvi_outbox_frame f;
    DVT_EQ_I64(dvi_outbox_take(&o, &f), 0);
    s_seen s = s_receive(&f, 0);
    DVT_EQ_I64(s.msgs, 2);
    DVT_EQ_I64(s.out_of_order, 0);
    dvi_outbox_frame_fini(&f);
    dvi_outbox_fini(&o);
}

static void
test_append_counts_each_message(void **state)
{
    s_owner w = {0};
    dvi_outbox_init(&w.o, s_notify, &w);
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    for (uint64_t i = 1; i <= 3; i++) {
        msgpack_pack_array(&pk, 3);
        msgpack_pack_int(&pk, DVI_MSG_STORED);
        dvi_pack_str(&pk, "k");
        msgpack_pack_uint64(&pk, i);
    }
    /* Appending no message changes nothing, not even the notification. */
    dvi_outbox_append(&w.o, sb.data, 0, 0);
    DVT_EQ_I64(w.armed, 0);
    DVT_EQ_I64(dvi_outbox_count(&w.o), 0);

    s_stored(&w.o, 0);
    dvi_outbox_append(&w.o, sb.data, sb.size, 3);
    s_stored(&w.o, 4);
    msgpack_sbuffer_destroy(&sb);
    DVT_EQ_I64(w.armed, 1);
    DVT_EQ_I64(dvi_outbox_count(&w.o), 5);
    dvi_outbox_frame f;
    DVT_EQ_I64(dvi_outbox_take(&w.o, &f), 0);
    s_seen s = s_receive(&f, 0);
    DVT_EQ_I64(s.msgs, 5);
    DVT_EQ_I64(s.out_of_order, 0);
    dvi_outbox_frame_fini(&f);
    dvi_outbox_fini(&w.o);
}

static void
test_spliced_blobs_travel_by_reference(void **state)
{
    s_owner w = {0};
    dvi_outbox_init(&w.o, s_notify, &w);
    size_t len = 300 * 1000;
    dvi_blob *a = s_pattern_blob(len);
    dvi_blob *b = s_pattern_blob(len / 3);

    s_stored(&w.o, 0);
    s_data(&w.o, a);
    s_stored(&w.o, 1);
    s_data(&w.o, b);
    s_stored(&w.o, 2);
    DVT_EQ_I64(s_refs(a), 2); /* the outbox holds them */
    dvi_outbox_frame f;
    DVT_EQ_I64(dvi_outbox_take(&w.o, &f), 0);

    /* Not copied: the frame points at the blobs' own memory, and its
     * length counts them. */
    DVT_EQ_I64(f.nsegs, 2);
    DVT_TRUE(f.segs[0].blob == a && f.segs[1].blob == b);
    DVT_EQ_I64(f.seg_bytes, len + len / 3);
    DVT_LT_I64(f.len, 200);
    DVT_EQ_I64(s_be32(f.buf), f.len + f.seg_bytes - 4);
    DVT_LT_I64(f.segs[0].at, f.segs[1].at);
    DVT_EQ_I64(s_refs(a), 2); /* now held by the frame */

    /* Flattened for a transport that needs one buffer: the bytes land in
     * their places and the references are given back. */
    dvi_outbox_frame_flatten(&f);
    DVT_EQ_I64(s_refs(a), 1);
    DVT_EQ_I64(s_refs(b), 1);
    DVT_EQ_I64(f.seg_bytes, 0);
    s_seen s = s_receive(&f, 0);
    DVT_EQ_I64(s.msgs, 5);
    DVT_EQ_I64(s.out_of_order, 0);
    DVT_EQ_I64(s.data, 2);
    DVT_EQ_I64(s.data_len, len / 3);
    DVT_TRUE(s.data_ok);
    dvi_outbox_frame_fini(&f);
    dvi_blob_rele(a);
    dvi_blob_rele(b);
    dvi_outbox_fini(&w.o);
}

static void
test_hollow_frames_carry_blobs_by_reference(void **state)
{
    /* For a reader in this process, each spliced blob (of every bin
     * header size) stands in the frame as a one-byte bin, and the reader
     * reads the blob's own bytes there: the frame is a valid batch, and
     * nothing was copied. */
    size_t sizes[] = {200, 60000, 300000};
    dvi_blob *b[3];
    dvi_outbox o;
    dvi_outbox_init(&o, NULL, NULL);
    s_stored(&o, 0);
    for (int i = 0; i < 3; i++) {
        b[i] = s_pattern_blob(sizes[i]);
        s_data(&o, b[i]);
        s_stored(&o, (uint64_t)i + 1);
    }
    dvi_outbox_frame f;
    DVT_EQ_I64(dvi_outbox_take(&o, &f), 0);
    DVT_PASS(dvi_outbox_frame_hollow(&f));
    DVT_EQ_I64(f.seg_bytes, 0);
    DVT_EQ_I64(f.nsegs, 3);
    DVT_EQ_I64(s_be32(f.buf), f.len - 4);
    DVT_LT_I64(f.len, 200);
    for (int i = 0; i < 3; i++) {
        DVT_TRUE(f.segs[i].blob == b[i]);
        DVT_EQ_I64((unsigned char)f.buf[f.segs[i].at - 2], 0xc4);
        DVT_EQ_I64(s_refs(b[i]), 2); /* still held by the frame */
    }
    /* The reader gets offsets in the payload, after the length. */
    for (int i = 0; i < 3; i++) {
        f.segs[i].at -= 4;
    }
    s_seen s = {0};
    DVT_PASS(dvi_msg_each_refs(f.buf + 4, f.len - 4, f.segs, f.nsegs, 1,
                               s_on_msg, &s));
    DVT_EQ_I64(s.msgs, 7);
    DVT_EQ_I64(s.out_of_order, 0);
    DVT_EQ_I64(s.data, 3);
    DVT_EQ_I64(s.data_len, sizes[2]);
    DVT_TRUE(s.data_ok);
    DVT_TRUE(s.data_at == b[2]->data);
    /* A reader that does not know reads one-byte bins, nothing more. */
    s = (s_seen){0};
    DVT_PASS(dvi_msg_each(f.buf + 4, f.len - 4, s_on_msg, &s));
    DVT_EQ_I64(s.data_len, 1);
    dvi_outbox_frame_fini(&f);
    for (int i = 0; i < 3; i++) {
        DVT_EQ_I64(s_refs(b[i]), 1);
        dvi_blob_rele(b[i]);
    }
    dvi_outbox_fini(&o);
}

static void
test_hollow_refuses_what_is_not_a_batch(void **state)
{
    /* A frame whose blob follows no bin header of its length (as a TLS
     * stream's ciphertext chunks are) is left as it was. */
    dvi_blob *b = s_pattern_blob(1000);
    dvi_outbox_frame f = {0};
    f.buf = malloc(1);
    f.buf[0] = 'x';
    f.len = 1;
    f.segs = malloc(sizeof(*f.segs));
    f.segs[0].at = 1;
    f.segs[0].blob = dvi_blob_hold(b);
    f.nsegs = 1;
    f.seg_bytes = b->len;
    DVT_EQ_I64(dvi_outbox_frame_hollow(&f), -1);
    DVT_EQ_I64(f.len, 1);
    DVT_EQ_I64(f.seg_bytes, 1000);
    DVT_EQ_I64(f.segs[0].at, 1);
    dvi_outbox_frame_fini(&f);
    DVT_EQ_I64(s_refs(b), 1);
    dvi_blob_rele(b);
}

static void
test_blobs_are_given_back(void **state)
{
    dvi_blob *b = s_pattern_blob(1000);
    s_owner w = {0};
    dvi_outbox_init(&w.o, s_notify, &w);

    /* A taken frame that is dropped releases its blobs. */
    s_data(&w.o, b);
    dvi_outbox_frame f;
    DVT_EQ_I64(dvi_outbox_take(&w.o, &f), 0);
    DVT_EQ_I64(s_refs(b), 2);
    dvi_outbox_frame_fini(&f);
    DVT_EQ_I64(s_refs(b), 1);

    /* So does an outbox finished with messages never taken. */
    s_data(&w.o, b);
    s_data(&w.o, b);
    DVT_EQ_I64(s_refs(b), 3);
    dvi_outbox_fini(&w.o);
    DVT_EQ_I64(s_refs(b), 1);

    /* Flattening a frame without blobs leaves it as it was. */
    dvi_outbox_init(&w.o, s_notify, &w);
    s_stored(&w.o, 0);
    DVT_EQ_I64(dvi_outbox_take(&w.o, &f), 0);
    size_t len = f.len;
    dvi_outbox_frame_flatten(&f);
    DVT_EQ_I64(f.len, len);
    DVT_EQ_I64(s_receive(&f, 0).msgs, 1);
    dvi_outbox_frame_fini(&f);
    dvi_outbox_fini(&w.o);
    dvi_blob_rele(b);
}

static void
test_full_batch_goes_before_the_next_message(void **state)
{
    /* A batch that reached DVI_OUTBOX_FLUSH_AT bytes (here by a spliced
     * blob) is announced before the next message goes in, so an owner
     * that takes it then sends it without the new message. */
    s_owner w = {0};
    w.take_on_full = 1;
    dvi_outbox_init(&w.o, s_notify, &w);
    dvi_blob *big = dvi_blob_new(DVI_OUTBOX_FLUSH_AT, 0);
    s_stored(&w.o, 0);
    s_data(&w.o, big);
    DVT_EQ_I64(w.full, 0); /* nothing is said until the next message */
    s_stored(&w.o, 1);
    DVT_EQ_I64(w.full, 1);
    DVT_EQ_I64(w.taken.nmsgs, 2);
    DVT_EQ_I64(w.taken.seg_bytes, DVI_OUTBOX_FLUSH_AT);
    DVT_EQ_I64(s_be32(w.taken.buf), w.taken.len + w.taken.seg_bytes - 4);
    /* The new message opened a new batch, announced as one. */
    DVT_EQ_I64(w.armed, 2);
    DVT_EQ_I64(dvi_outbox_count(&w.o), 1);
    dvi_outbox_frame f;
    DVT_EQ_I64(dvi_outbox_take(&w.o, &f), 0);
    s_seen s = s_receive(&f, 1);
    DVT_EQ_I64(s.msgs, 1);
    DVT_EQ_I64(s.out_of_order, 0);
    dvi_outbox_frame_fini(&f);
    dvi_outbox_frame_fini(&w.taken);

    /* An owner that does not take it lets the batch grow. */
    w.take_on_full = 0;
    s_data(&w.o, big);
    s_stored(&w.o, 2);
    s_stored(&w.o, 3);
    DVT_EQ_I64(w.full, 3);
    DVT_EQ_I64(dvi_outbox_count(&w.o), 3);
    DVT_EQ_I64(s_refs(big), 2);
    dvi_outbox_fini(&w.o);
    DVT_EQ_I64(s_refs(big), 1);
    dvi_blob_rele(big);
}

/* Moving a batch (a client's messages into its connection): into an empty
 * outbox the buffers change hands and the owner is armed; into a busy one
 * the messages and their spliced blobs follow what is there, in order. */
static void
test_move_between_outboxes(void **state)
{
    s_owner dst = {0};
    dvi_outbox src;
    dvi_outbox_init(&dst.o, s_notify, &dst);
    dvi_outbox_init(&src, NULL, NULL);
    dvi_blob *b = s_pattern_blob(100000);
    s_stored(&src, 0);
    s_data(&src, b);
    const char *bytes = src.sb.data;
    dvi_outbox_move(&dst.o, &src);
    DVT_EQ_I64(dvi_outbox_count(&src), 0);
    DVT_EQ_I64(dvi_outbox_count(&dst.o), 2);
    DVT_EQ_I64(dst.armed, 1);
    DVT_TRUE(dst.o.sb.data == bytes); /* no copy */
    s_stored(&src, 1);
    s_data(&src, b);
    s_stored(&src, 2);
    dvi_outbox_move(&dst.o, &src);
    DVT_EQ_I64(dvi_outbox_count(&dst.o), 5);
    DVT_EQ_I64(dst.armed, 1);
    dvi_outbox_frame f;
    DVT_PASS(dvi_outbox_take(&dst.o, &f));
    DVT_EQ_I64(f.nsegs, 2);
    dvi_outbox_frame_flatten(&f);
    s_seen seen = s_receive(&f, 0);
    DVT_EQ_I64(seen.out_of_order, 0);
    DVT_EQ_I64(seen.data, 2);
    DVT_TRUE(seen.data_ok);
    dvi_outbox_frame_fini(&f);
    /* The source is usable again. */
    s_stored(&src, 0);
    DVT_EQ_I64(dvi_outbox_count(&src), 1);
    DVT_EQ_I64(s_refs(b), 1);
    dvi_outbox_fini(&src);
    dvi_outbox_fini(&dst.o);
    dvi_blob_rele(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_batches_messages_into_one_frame),
        cmocka_unit_test(test_works_without_an_owner),
        cmocka_unit_test(test_append_counts_each_message),
        cmocka_unit_test(test_spliced_blobs_travel_by_reference),
        cmocka_unit_test(test_hollow_frames_carry_blobs_by_reference),
        cmocka_unit_test(test_hollow_refuses_what_is_not_a_batch),
        cmocka_unit_test(test_blobs_are_given_back),
        cmocka_unit_test(test_full_batch_goes_before_the_next_message),
        cmocka_unit_test(test_move_between_outboxes),
    };
    return cmocka_run_group_tests_name("outbox", tests, NULL, NULL);
}
