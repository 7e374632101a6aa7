file(REMOVE_RECURSE
  "CMakeFiles/connect_test.dir/integration/connect_test.c.o"
  "CMakeFiles/connect_test.dir/integration/connect_test.c.o.d"
  "CMakeFiles/connect_test.dir/support/dvtest.c.o"
  "CMakeFiles/connect_test.dir/support/dvtest.c.o.d"
  "connect_test"
  "connect_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/connect_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
