file(REMOVE_RECURSE
  "CMakeFiles/fault_test.dir/integration/fault_test.c.o"
  "CMakeFiles/fault_test.dir/integration/fault_test.c.o.d"
  "CMakeFiles/fault_test.dir/support/dvtest.c.o"
  "CMakeFiles/fault_test.dir/support/dvtest.c.o.d"
  "fault_test"
  "fault_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/fault_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
