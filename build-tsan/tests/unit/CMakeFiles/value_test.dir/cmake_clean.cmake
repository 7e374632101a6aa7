file(REMOVE_RECURSE
  "CMakeFiles/value_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/value_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/value_test.dir/value_test.c.o"
  "CMakeFiles/value_test.dir/value_test.c.o.d"
  "value_test"
  "value_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/value_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
