# CMake generated Testfile for 
# Source directory: /work/main/examples
# Build directory: /work/main/build-tsan/examples
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test(example_inc_default "/work/main/build-tsan/examples/inc")
set_tests_properties(example_inc_default PROPERTIES  ENVIRONMENT_MODIFICATION "DROVE_SCHEDULER=unset:" FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;49;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_inc_threads "/work/main/build-tsan/examples/inc" "local:threads=2")
set_tests_properties(example_inc_threads PROPERTIES  ENVIRONMENT_MODIFICATION "DROVE_SCHEDULER=unset:" FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;46;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_inc_processes "/work/main/build-tsan/examples/inc" "local:processes=2")
set_tests_properties(example_inc_processes PROPERTIES  ENVIRONMENT_MODIFICATION "DROVE_SCHEDULER=unset:" FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;46;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_tree_reduce_default "/work/main/build-tsan/examples/tree_reduce")
set_tests_properties(example_tree_reduce_default PROPERTIES  ENVIRONMENT_MODIFICATION "DROVE_SCHEDULER=unset:" FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;49;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_tree_reduce_threads "/work/main/build-tsan/examples/tree_reduce" "local:threads=2")
set_tests_properties(example_tree_reduce_threads PROPERTIES  ENVIRONMENT_MODIFICATION "DROVE_SCHEDULER=unset:" FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;46;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_tree_reduce_processes "/work/main/build-tsan/examples/tree_reduce" "local:processes=2")
set_tests_properties(example_tree_reduce_processes PROPERTIES  ENVIRONMENT_MODIFICATION "DROVE_SCHEDULER=unset:" FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;46;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_factorial_default "/work/main/build-tsan/examples/factorial")
set_tests_properties(example_factorial_default PROPERTIES  ENVIRONMENT_MODIFICATION "DROVE_SCHEDULER=unset:" FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;49;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_factorial_threads "/work/main/build-tsan/examples/factorial" "local:threads=2")
set_tests_properties(example_factorial_threads PROPERTIES  ENVIRONMENT_MODIFICATION "DROVE_SCHEDULER=unset:" FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;46;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_factorial_processes "/work/main/build-tsan/examples/factorial" "local:processes=2")
set_tests_properties(example_factorial_processes PROPERTIES  ENVIRONMENT_MODIFICATION "DROVE_SCHEDULER=unset:" FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;46;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_sweep_default "/work/main/build-tsan/examples/sweep")
set_tests_properties(example_sweep_default PROPERTIES  ENVIRONMENT_MODIFICATION "DROVE_SCHEDULER=unset:" FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;49;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_sweep_threads "/work/main/build-tsan/examples/sweep" "local:threads=2")
set_tests_properties(example_sweep_threads PROPERTIES  ENVIRONMENT_MODIFICATION "DROVE_SCHEDULER=unset:" FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;46;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_sweep_processes "/work/main/build-tsan/examples/sweep" "local:processes=2")
set_tests_properties(example_sweep_processes PROPERTIES  ENVIRONMENT_MODIFICATION "DROVE_SCHEDULER=unset:" FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;46;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_inc_daemons "sh" "-c" "drove=\$1
shift
dir=\$(mktemp -d) || exit 1
\"\$drove\" scheduler --address tcp://127.0.0.1:0 >\"\$dir/address\" \\
    2>\"\$dir/scheduler.log\" &
scheduler=\$!
i=0
while [ ! -s \"\$dir/address\" ] && [ \$i -lt 100 ]
do
    sleep 0.1
    i=\$((i + 1))
done
address=\$(head -n 1 \"\$dir/address\")
\"\$drove\" worker --scheduler \"\$address\" --threads 2 2>\"\$dir/worker.log\" &
worker=\$!
timeout 100 \"\$@\" \"\$address\"
rc=\$?
kill \$worker \$scheduler 2>/dev/null
wait
if [ \$rc -ne 0 ]
then
    echo \"--- scheduler log\" && cat \"\$dir/scheduler.log\"
    echo \"--- worker log\" && cat \"\$dir/worker.log\"
fi
rm -rf \"\$dir\"
exit \$rc
" "sh" "/work/main/build-tsan/drove" "/work/main/build-tsan/examples/inc")
set_tests_properties(example_inc_daemons PROPERTIES  FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;100;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_tree_reduce_daemons "sh" "-c" "drove=\$1
shift
dir=\$(mktemp -d) || exit 1
\"\$drove\" scheduler --address tcp://127.0.0.1:0 >\"\$dir/address\" \\
    2>\"\$dir/scheduler.log\" &
scheduler=\$!
i=0
while [ ! -s \"\$dir/address\" ] && [ \$i -lt 100 ]
do
    sleep 0.1
    i=\$((i + 1))
done
address=\$(head -n 1 \"\$dir/address\")
\"\$drove\" worker --scheduler \"\$address\" --threads 2 2>\"\$dir/worker.log\" &
worker=\$!
timeout 100 \"\$@\" \"\$address\"
rc=\$?
kill \$worker \$scheduler 2>/dev/null
wait
if [ \$rc -ne 0 ]
then
    echo \"--- scheduler log\" && cat \"\$dir/scheduler.log\"
    echo \"--- worker log\" && cat \"\$dir/worker.log\"
fi
rm -rf \"\$dir\"
exit \$rc
" "sh" "/work/main/build-tsan/drove" "/work/main/build-tsan/examples/tree_reduce")
set_tests_properties(example_tree_reduce_daemons PROPERTIES  FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;100;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_factorial_daemons "sh" "-c" "drove=\$1
shift
dir=\$(mktemp -d) || exit 1
\"\$drove\" scheduler --address tcp://127.0.0.1:0 >\"\$dir/address\" \\
    2>\"\$dir/scheduler.log\" &
scheduler=\$!
i=0
while [ ! -s \"\$dir/address\" ] && [ \$i -lt 100 ]
do
    sleep 0.1
    i=\$((i + 1))
done
address=\$(head -n 1 \"\$dir/address\")
\"\$drove\" worker --scheduler \"\$address\" --threads 2 2>\"\$dir/worker.log\" &
worker=\$!
timeout 100 \"\$@\" \"\$address\"
rc=\$?
kill \$worker \$scheduler 2>/dev/null
wait
if [ \$rc -ne 0 ]
then
    echo \"--- scheduler log\" && cat \"\$dir/scheduler.log\"
    echo \"--- worker log\" && cat \"\$dir/worker.log\"
fi
rm -rf \"\$dir\"
exit \$rc
" "sh" "/work/main/build-tsan/drove" "/work/main/build-tsan/examples/factorial")
set_tests_properties(example_factorial_daemons PROPERTIES  FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;100;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_sweep_daemons "sh" "-c" "drove=\$1
shift
dir=\$(mktemp -d) || exit 1
\"\$drove\" scheduler --address tcp://127.0.0.1:0 >\"\$dir/address\" \\
    2>\"\$dir/scheduler.log\" &
scheduler=\$!
i=0
while [ ! -s \"\$dir/address\" ] && [ \$i -lt 100 ]
do
    sleep 0.1
    i=\$((i + 1))
done
address=\$(head -n 1 \"\$dir/address\")
\"\$drove\" worker --scheduler \"\$address\" --threads 2 2>\"\$dir/worker.log\" &
worker=\$!
timeout 100 \"\$@\" \"\$address\"
rc=\$?
kill \$worker \$scheduler 2>/dev/null
wait
if [ \$rc -ne 0 ]
then
    echo \"--- scheduler log\" && cat \"\$dir/scheduler.log\"
    echo \"--- worker log\" && cat \"\$dir/worker.log\"
fi
rm -rf \"\$dir\"
exit \$rc
" "sh" "/work/main/build-tsan/drove" "/work/main/build-tsan/examples/sweep")
set_tests_properties(example_sweep_daemons PROPERTIES  FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;100;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_factorial_extra_ns "/work/main/build-tsan/examples/factorial" "local:processes=2" "0" "1" "100" "1000")
set_tests_properties(example_factorial_extra_ns PROPERTIES  FAIL_REGULAR_EXPRESSION "FAILED;runtime error;Sanitizer" LABELS "example" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;110;add_test;/work/main/examples/CMakeLists.txt;0;")
add_test(example_factorial_bad_n "/work/main/build-tsan/examples/factorial" "local:threads=1" "-5")
set_tests_properties(example_factorial_bad_n PROPERTIES  LABELS "example" PASS_REGULAR_EXPRESSION "'-5' is not an integer between 0 and" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/examples/CMakeLists.txt;117;add_test;/work/main/examples/CMakeLists.txt;0;")
