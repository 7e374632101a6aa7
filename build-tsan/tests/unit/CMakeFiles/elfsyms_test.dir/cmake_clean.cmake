file(REMOVE_RECURSE
  "CMakeFiles/elfsyms_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/elfsyms_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/elfsyms_test.dir/elfsyms_test.c.o"
  "CMakeFiles/elfsyms_test.dir/elfsyms_test.c.o.d"
  "elfsyms_test"
  "elfsyms_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/elfsyms_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
