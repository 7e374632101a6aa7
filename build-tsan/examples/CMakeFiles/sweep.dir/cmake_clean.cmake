file(REMOVE_RECURSE
  "CMakeFiles/sweep.dir/share.c.o"
  "CMakeFiles/sweep.dir/share.c.o.d"
  "CMakeFiles/sweep.dir/sweep.c.o"
  "CMakeFiles/sweep.dir/sweep.c.o.d"
  "sweep"
  "sweep.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/sweep.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
