file(REMOVE_RECURSE
  "CMakeFiles/inc.dir/inc.c.o"
  "CMakeFiles/inc.dir/inc.c.o.d"
  "CMakeFiles/inc.dir/share.c.o"
  "CMakeFiles/inc.dir/share.c.o.d"
  "inc"
  "inc.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/inc.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
