file(REMOVE_RECURSE
  "CMakeFiles/taskheap_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/taskheap_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/taskheap_test.dir/taskheap_test.c.o"
  "CMakeFiles/taskheap_test.dir/taskheap_test.c.o.d"
  "taskheap_test"
  "taskheap_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/taskheap_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
