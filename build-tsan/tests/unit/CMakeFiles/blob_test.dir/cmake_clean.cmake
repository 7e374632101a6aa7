file(REMOVE_RECURSE
  "CMakeFiles/blob_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/blob_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/blob_test.dir/blob_test.c.o"
  "CMakeFiles/blob_test.dir/blob_test.c.o.d"
  "blob_test"
  "blob_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/blob_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
