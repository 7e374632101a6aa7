file(REMOVE_RECURSE
  "CMakeFiles/upload_test.dir/integration/upload_test.c.o"
  "CMakeFiles/upload_test.dir/integration/upload_test.c.o.d"
  "CMakeFiles/upload_test.dir/support/dvtest.c.o"
  "CMakeFiles/upload_test.dir/support/dvtest.c.o.d"
  "upload_test"
  "upload_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/upload_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
