file(REMOVE_RECURSE
  "CMakeFiles/api_map_test.dir/integration/api_map_test.c.o"
  "CMakeFiles/api_map_test.dir/integration/api_map_test.c.o.d"
  "CMakeFiles/api_map_test.dir/support/dvtest.c.o"
  "CMakeFiles/api_map_test.dir/support/dvtest.c.o.d"
  "api_map_test"
  "api_map_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/api_map_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
