file(REMOVE_RECURSE
  "CMakeFiles/transfer_test.dir/integration/transfer_test.c.o"
  "CMakeFiles/transfer_test.dir/integration/transfer_test.c.o.d"
  "CMakeFiles/transfer_test.dir/support/dvtest.c.o"
  "CMakeFiles/transfer_test.dir/support/dvtest.c.o.d"
  "transfer_test"
  "transfer_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/transfer_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
