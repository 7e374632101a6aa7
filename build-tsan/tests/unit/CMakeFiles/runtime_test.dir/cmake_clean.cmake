file(REMOVE_RECURSE
  "CMakeFiles/runtime_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/runtime_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/runtime_test.dir/runtime_test.c.o"
  "CMakeFiles/runtime_test.dir/runtime_test.c.o.d"
  "runtime_test"
  "runtime_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/runtime_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
