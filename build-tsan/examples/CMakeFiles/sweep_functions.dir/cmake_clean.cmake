file(REMOVE_RECURSE
  "CMakeFiles/sweep_functions.dir/sweep.c.o"
  "CMakeFiles/sweep_functions.dir/sweep.c.o.d"
  "libsweep_functions.pdb"
  "libsweep_functions.so"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/sweep_functions.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
