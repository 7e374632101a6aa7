// drove — a C++ program written from drove.h alone: DV_FUNCTIONs reading
// a global std::string (a static initialiser), DV_SUBMIT, and a task that
// continues as its child (DV_CALL_SUBMIT's lambda form), on every scheme. Built
// with g++ by linking_test.sh: as a program, and with -DCXX_FUNCTIONS_ONLY as a
// library to upload to daemons.
//
// Usage: cxx_prog WHERE [LIBRARY.so]    prints "cxx_prog: 9 12 24", exits 0.
#include <drove.h>

#include <cstdio>
#include <string>

static const std::string g_prefix = "drove"; // constructed before main

DV_FUNCTION(cxx_len)
{
    std::string s = g_prefix + dv_value_str(dv_arg_at(call, 0), nullptr);
    return dv_return(call, dv_i64(static_cast<int64_t>(s.size())));
}

DV_FUNCTION(cxx_add)
{
    return dv_return(call, dv_i64(dv_value_i64(dv_arg_at(call, 0)) +
                                  dv_value_i64(dv_arg_at(call, 1))));
}

// twice(x) = add(x, x), computed by a child it continues as.
DV_FUNCTION(cxx_twice)
{
    const dv_value *x = dv_arg_at(call, 0);
    dv_future *k =
        DV_CALL_SUBMIT(call, "cxx_add", dv_value_arg(x), dv_value_arg(x));
    return k ? dv_return(call, dv_fut(k))
             : dv_fail(call, "cxx_twice: %s", dv_last_error());
}

#ifndef CXX_FUNCTIONS_ONLY
int
main(int argc, char **argv)
{
    dv_client *c = dv_connect(argc > 1 && argv[1][0] ? argv[1] : nullptr);
    if (c == nullptr) {
        std::fprintf(stderr, "cxx_prog: %s\n", dv_last_error());
        return 1;
    }
    if (argc > 2 && dv_upload_library(c, argv[2]) < 0) {
        std::fprintf(stderr, "cxx_prog: upload: %s\n", dv_last_error());
        return 1;
    }
    dv_future *len = DV_SUBMIT(c, "cxx_len", dv_str("four"));
    dv_future *sum = DV_SUBMIT(c, "cxx_add", dv_fut(len), dv_i64(3));
    dv_future *two = DV_SUBMIT(c, "cxx_twice", dv_fut(sum));
    const dv_value *a = dv_result(len, 30), *b = dv_result(sum, 30);
    const dv_value *d = dv_result(two, 30);
    const char *argv_echo[] = {"echo", "cxx", nullptr};
    dv_cmd *cmd = dv_cmd_new(argv_echo);
    dv_future *echo = dv_cmd_submit(c, cmd, nullptr);
    dv_cmd_free(cmd);
    size_t echoed = 0;
    if (dv_cmd_stdout(dv_result(echo, 30), &echoed) == nullptr) {
        std::fprintf(stderr, "cxx_prog: %s\n", dv_future_error(echo));
        return 1;
    }
    if (a == nullptr || b == nullptr || d == nullptr) {
        std::fprintf(stderr, "cxx_prog: %s\n",
                     dv_future_error(!a   ? len
                                     : !b ? sum
                                          : two));
        return 1;
    }
    std::printf("cxx_prog: %lld %lld %lld %zu\n",
                static_cast<long long>(dv_value_i64(a)),
                static_cast<long long>(dv_value_i64(b)),
                static_cast<long long>(dv_value_i64(d)), echoed);
    dv_release(echo);
    dv_release(len);
    dv_release(sum);
    dv_release(two);
    dv_close(c);
    return 0;
}
#endif
