/* drove — unit: dvi_resources, the specs of what workers declare and
 * tasks need ("GPU=1,MEM=8e9").
 *
 * A spec comes from a user (dv_opts.resources, `drove worker
 * --resources`) and, on the scheduler, from the network: every malformed
 * one must be refused with a reason that says what is wrong, never read as
 * something else (a "GPU" with no amount taken as GPU=0 would run a task
 * anywhere; a garbage amount as 0 would too).
 */
#include <string.h>

#include "common/resources.h"
#include "dvt_unit.h"
#include "dvtest.h"

static void
s_parse_ok(const char *spec, dvi_resources *r)
{
    DVT_PASS(dvi_resources_parse(spec, strlen(spec), r));
}

static void
test_good_specs(void **state)
{
    dvi_resources r;
    s_parse_ok("GPU=1", &r);
    DVT_EQ_I64(r.n, 1);
    DVT_EQ_STR(r.v[0].name, "GPU");
    DVT_EQ_F64(r.v[0].amount, 1.0, 0);
    s_parse_ok(" GPU = 2 , MEM=8e9,_x.y-z=0.5", &r);
    DVT_EQ_I64(r.n, 3);
    DVT_EQ_I64(dvi_resources_find(&r, "GPU"), 0);
    DVT_EQ_F64(r.v[0].amount, 2.0, 0);
    DVT_EQ_I64(dvi_resources_find(&r, "MEM"), 1);
    DVT_EQ_F64(r.v[1].amount, 8e9, 0);
    DVT_EQ_I64(dvi_resources_find(&r, "_x.y-z"), 2);
    DVT_EQ_I64(dvi_resources_find(&r, "CPU"), -1);
    s_parse_ok("", &r);
    DVT_EQ_I64(r.n, 0);
    s_parse_ok("  ", &r);
    DVT_EQ_I64(r.n, 0);
    DVT_PASS(dvi_resources_parse(NULL, 0, &r));
    DVT_EQ_I64(r.n, 0);
    /* Only len bytes count. */
    DVT_PASS(dvi_resources_parse("GPU=1,junk", 5, &r));
    DVT_EQ_I64(r.n, 1);
}

static void
test_bad_specs(void **state)
{
    static const struct {
        const char *spec;
        const char *why;
    } bad[] = {
        {"GPU", "'GPU' has no amount"},
        {"GPU=x", "the amount of GPU is 'x', not a positive number"},
        {"GPU=", "the amount of GPU is '', not a positive number"},
        {"GPU=0", "not a positive number"},
        {"GPU=-1", "not a positive number"},
        {"GPU=nan", "not a positive number"},
        {"GPU=inf", "not a positive number"},
        {"GPU=1x", "not a positive number"},
        {"=1", "a name of 0 bytes"},
        {"1GPU=1", "'1GPU' is not a name"},
        {"G PU=1", "'G PU' is not a name"},
        {"GPU=1,", "an empty item"},
        {",GPU=1", "an empty item"},
        {"GPU=1,,MEM=2", "an empty item"},
        {"GPU=1,GPU=2", "GPU is named twice"},
        {"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456=1", "a name of 33 bytes"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        dvi_resources r;
        DVT_FAILS_WITH(DV_EINVAL, dvi_resources_parse(bad[i].spec,
                                                      strlen(bad[i].spec), &r));
        DVT_CONTAINS(dv_last_error(), bad[i].why);
        DVT_CONTAINS(dv_last_error(), "NAME=AMOUNT");
        DVT_EQ_I64(r.n, 0);
    }
}

static void
test_limits(void **state)
{
    char spec[2048] = "";
    for (int i = 0; i < DVI_RESOURCES_MAX; i++) {
        snprintf(spec + strlen(spec), sizeof(spec) - strlen(spec), "%sR%d=1",
                 i ? "," : "", i);
    }
    dvi_resources r;
    s_parse_ok(spec, &r);
    DVT_EQ_I64(r.n, DVI_RESOURCES_MAX);
    strcat(spec, ",ONE_MORE=1");
    DVT_FAILS_WITH(DV_EINVAL, dvi_resources_parse(spec, strlen(spec), &r));
    DVT_CONTAINS(dv_last_error(), "more than 16 resources");
    memset(spec, ' ', sizeof(spec));
    DVT_FAILS_WITH(DV_EINVAL, dvi_resources_parse(spec, sizeof(spec), &r));
    DVT_CONTAINS(dv_last_error(), "a spec of 2048 bytes");
    DVT_FAILS_WITH(DV_EINVAL, dvi_resources_parse("GPU=1\0", 6, &r));
    DVT_CONTAINS(dv_last_error(), "zero byte");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_specs),
        cmocka_unit_test(test_bad_specs),
        cmocka_unit_test(test_limits),
    };
    return cmocka_run_group_tests_name("resources", tests, NULL, NULL);
}
