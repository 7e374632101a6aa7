/* drove — a program whose task function reads a global its constructor
 * set up: on every scheme the result must be the same (process workers run
 * the program's constructors before the worker role).
 *
 * Usage: ctor_prog WHERE     prints "ctor_prog: 101" and exits 0.
 * With DVT_GUARD set, it pretends to be a worker child that reached main
 * (DROVE_WORKER_FD set): dv_connect must refuse, naming the variable.
 */
#define _POSIX_C_SOURCE 200809L
#include <drove.h>
#include <stdio.h>
#include <stdlib.h>

static int g_base;

__attribute__((constructor)) static void
s_init(void)
{
    g_base = 100;
}

DV_FUNCTION(add_base)
{
    return dv_return(call, dv_i64(g_base + dv_value_i64(dv_arg_at(call, 0))));
}

int
main(int argc, char **argv)
{
    if (getenv("DVT_GUARD")) {
        setenv("DROVE_WORKER_FD", "3", 1);
    }
    dv_client *c = dv_connect(argc > 1 ? argv[1] : NULL);
    if (c == NULL) {
        fprintf(stderr, "ctor_prog: %s\n", dv_last_error());
        return 1;
    }
    dv_future *f = DV_SUBMIT(c, "add_base", dv_i64(1));
    const dv_value *v = dv_result(f, 30);
    if (v == NULL) {
        fprintf(stderr, "ctor_prog: %s\n", dv_future_error(f));
        return 1;
    }
    printf("ctor_prog: %lld\n", (long long)dv_value_i64(v));
    dv_release(f);
    dv_close(c);
    return 0;
}
