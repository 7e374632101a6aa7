/* drove — fuzz: a frame's payload through dvi_msg_each and the field
 * readers, as the scheduler and workers read what peers send.
 *
 * For any payload, dvi_msg_each returns 0 or a negative code without
 * crashing, and calls back only with known types and at least the
 * minimum number of fields for the type. The callback reads every field
 * with every reader, as handlers do, and stops the batch at the first
 * BYE to exercise the early return. Every message also goes through its
 * typed reader (codec.c).
 */
#include <stdint.h>
#include <stdlib.h>

#include "drove.h"
#include "proto/msg.h"

static int
s_on_msg(void *ctx, int type, const msgpack_object *f, uint32_t n)
{
    if (type <= 0 || type >= DVI_MSG_MAX || n < dvi_msg_min_fields(type) ||
        dvi_msg_name(type)[0] == '?') {
        abort();
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t u;
        int64_t s;
        const char *p;
        size_t len;
        char small[16];
        dvi_msg_u64(&f[i], &u);
        dvi_msg_i64(&f[i], &s);
        if (dvi_msg_bytes(&f[i], &p, &len) == 0 && len > 0) {
            /* The borrowed bytes lie inside the frame: touch both ends. */
            volatile char first = p[0], last = p[len - 1];
            (void)first;
            (void)last;
        }
        dvi_msg_opt_bytes(&f[i], &p, &len);
        dvi_msg_str(&f[i], small, sizeof(small));
    }
    /* And the typed reader every role uses for this type. */
    switch (type) {
#define S_CASE_(NAME, num, lname)                \
    case DVI_MSG_##NAME: {                       \
        dvi_msg_##lname m;                       \
        (void)dvi_msg_##lname##_read(f, n, &m); \
        break;                                   \
    }
        DVI_MSG_MAP(S_CASE_)
#undef S_CASE_
    default: abort();
    }
    (*(int *)ctx)++;
    return type == DVI_MSG_BYE ? DV_ECLOSED : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int calls = 0;
    int rc = dvi_msg_each((const char *)data, size, s_on_msg, &calls);
    if (rc > 0 || (rc < 0 && rc != DV_EPROTO && rc != DV_ECLOSED)) {
        abort();
    }
    return 0;
}
