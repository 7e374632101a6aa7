file(REMOVE_RECURSE
  "CMakeFiles/api_futures_test.dir/integration/api_futures_test.c.o"
  "CMakeFiles/api_futures_test.dir/integration/api_futures_test.c.o.d"
  "CMakeFiles/api_futures_test.dir/support/dvtest.c.o"
  "CMakeFiles/api_futures_test.dir/support/dvtest.c.o.d"
  "api_futures_test"
  "api_futures_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/api_futures_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
