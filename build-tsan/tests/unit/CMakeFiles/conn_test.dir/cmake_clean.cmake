file(REMOVE_RECURSE
  "CMakeFiles/conn_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/conn_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/conn_test.dir/conn_test.c.o"
  "CMakeFiles/conn_test.dir/conn_test.c.o.d"
  "conn_test"
  "conn_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/conn_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
