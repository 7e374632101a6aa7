file(REMOVE_RECURSE
  "CMakeFiles/robustness_test.dir/integration/robustness_test.c.o"
  "CMakeFiles/robustness_test.dir/integration/robustness_test.c.o.d"
  "CMakeFiles/robustness_test.dir/support/dvtest.c.o"
  "CMakeFiles/robustness_test.dir/support/dvtest.c.o.d"
  "robustness_test"
  "robustness_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/robustness_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
