file(REMOVE_RECURSE
  "CMakeFiles/retries_test.dir/integration/retries_test.c.o"
  "CMakeFiles/retries_test.dir/integration/retries_test.c.o.d"
  "CMakeFiles/retries_test.dir/support/dvtest.c.o"
  "CMakeFiles/retries_test.dir/support/dvtest.c.o.d"
  "retries_test"
  "retries_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/retries_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
