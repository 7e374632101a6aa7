file(REMOVE_RECURSE
  "CMakeFiles/outbox_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/outbox_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/outbox_test.dir/outbox_test.c.o"
  "CMakeFiles/outbox_test.dir/outbox_test.c.o.d"
  "outbox_test"
  "outbox_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/outbox_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
