/* drove — a library built in versions for upload_test: each build
 * (-DDVT_VERSION=N, and -DDVT_EXTRA for a library with another function)
 * defines `version`, returning N, so that a test can tell which code ran.
 * Nothing links these libraries: they are only uploaded. */
#include "drove.h"

#ifndef DVT_VERSION
#define DVT_VERSION 1
#endif

#ifdef DVT_EXTRA
DV_FUNCTION(extra)
{
    return dv_return(call, dv_i64(42));
}
#else
DV_FUNCTION(version)
{
    return dv_return(call, dv_i64(DVT_VERSION));
}

DV_FUNCTION_IMPURE(version_impure)
{
    return dv_return(call, dv_i64(DVT_VERSION));
}
#endif
