file(REMOVE_RECURSE
  "CMakeFiles/core_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/core_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/core_test.dir/core_test.c.o"
  "CMakeFiles/core_test.dir/core_test.c.o.d"
  "core_test"
  "core_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/core_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
