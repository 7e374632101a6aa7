file(REMOVE_RECURSE
  "CMakeFiles/msg_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/msg_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/msg_test.dir/msg_test.c.o"
  "CMakeFiles/msg_test.dir/msg_test.c.o.d"
  "msg_test"
  "msg_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/msg_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
