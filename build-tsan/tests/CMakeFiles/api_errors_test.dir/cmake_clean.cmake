file(REMOVE_RECURSE
  "CMakeFiles/api_errors_test.dir/integration/api_errors_test.c.o"
  "CMakeFiles/api_errors_test.dir/integration/api_errors_test.c.o.d"
  "CMakeFiles/api_errors_test.dir/support/dvtest.c.o"
  "CMakeFiles/api_errors_test.dir/support/dvtest.c.o.d"
  "api_errors_test"
  "api_errors_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/api_errors_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
