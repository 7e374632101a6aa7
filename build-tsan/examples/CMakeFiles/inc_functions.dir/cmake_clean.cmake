file(REMOVE_RECURSE
  "CMakeFiles/inc_functions.dir/inc.c.o"
  "CMakeFiles/inc_functions.dir/inc.c.o.d"
  "libinc_functions.pdb"
  "libinc_functions.so"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/inc_functions.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
