file(REMOVE_RECURSE
  "CMakeFiles/store_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/store_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/store_test.dir/store_test.c.o"
  "CMakeFiles/store_test.dir/store_test.c.o.d"
  "store_test"
  "store_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/store_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
