file(REMOVE_RECURSE
  "CMakeFiles/pset_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/pset_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/pset_test.dir/pset_test.c.o"
  "CMakeFiles/pset_test.dir/pset_test.c.o.d"
  "pset_test"
  "pset_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/pset_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
