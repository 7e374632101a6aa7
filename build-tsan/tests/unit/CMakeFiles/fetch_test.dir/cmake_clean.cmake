file(REMOVE_RECURSE
  "CMakeFiles/fetch_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/fetch_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/fetch_test.dir/fetch_test.c.o"
  "CMakeFiles/fetch_test.dir/fetch_test.c.o.d"
  "fetch_test"
  "fetch_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/fetch_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
