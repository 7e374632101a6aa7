file(REMOVE_RECURSE
  "CMakeFiles/map_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/map_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/map_test.dir/map_test.c.o"
  "CMakeFiles/map_test.dir/map_test.c.o.d"
  "map_test"
  "map_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/map_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
