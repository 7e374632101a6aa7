file(REMOVE_RECURSE
  "CMakeFiles/cleanup_test.dir/integration/cleanup_test.c.o"
  "CMakeFiles/cleanup_test.dir/integration/cleanup_test.c.o.d"
  "CMakeFiles/cleanup_test.dir/support/dvtest.c.o"
  "CMakeFiles/cleanup_test.dir/support/dvtest.c.o.d"
  "cleanup_test"
  "cleanup_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/cleanup_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
