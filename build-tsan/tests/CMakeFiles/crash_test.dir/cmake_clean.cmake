file(REMOVE_RECURSE
  "CMakeFiles/crash_test.dir/integration/crash_test.c.o"
  "CMakeFiles/crash_test.dir/integration/crash_test.c.o.d"
  "CMakeFiles/crash_test.dir/support/dvtest.c.o"
  "CMakeFiles/crash_test.dir/support/dvtest.c.o.d"
  "crash_test"
  "crash_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/crash_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
