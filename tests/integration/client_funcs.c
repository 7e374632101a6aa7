/* drove — the functions of client_prog, an outside user's program.
 *
 * Compiled into client_prog for the embedded clusters, and into
 * libclientfuncs.so for uploading to daemons. Uses only drove.h.
 */
#include <stdint.h>

#include <drove.h>

/* cp_square(n) = n * n */
DV_FUNCTION(cp_square)
{
    const dv_value *v = dv_arg_at(call, 0);
    if (dv_value_type(v) != DV_I64) {
        return dv_fail(call, "cp_square: want an integer");
    }
    int64_t n = dv_value_i64(v);
    return dv_return(call, dv_i64(n * n));
}

/* cp_sum([a, b, ...]) = a + b + ... */
DV_FUNCTION(cp_sum)
{
    const dv_value *l = dv_arg_at(call, 0);
    if (dv_value_type(l) != DV_LIST) {
        return dv_fail(call, "cp_sum: want a list");
    }
    int64_t sum = 0;
    for (size_t i = 0; i < dv_value_len(l); i++) {
        sum += dv_value_i64(dv_value_at(l, i));
    }
    return dv_return(call, dv_i64(sum));
}

/* cp_fail(n) fails, naming n. */
DV_FUNCTION(cp_fail)
{
    return dv_fail(call, "cp: bad input %lld",
                   (long long)dv_value_i64(dv_arg_at(call, 0)));
}
