file(REMOVE_RECURSE
  "CMakeFiles/mpcheck_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/mpcheck_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/mpcheck_test.dir/mpcheck_test.c.o"
  "CMakeFiles/mpcheck_test.dir/mpcheck_test.c.o.d"
  "mpcheck_test"
  "mpcheck_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/mpcheck_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
