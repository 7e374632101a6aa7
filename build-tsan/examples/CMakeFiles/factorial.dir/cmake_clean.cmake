file(REMOVE_RECURSE
  "CMakeFiles/factorial.dir/factorial.c.o"
  "CMakeFiles/factorial.dir/factorial.c.o.d"
  "CMakeFiles/factorial.dir/share.c.o"
  "CMakeFiles/factorial.dir/share.c.o.d"
  "factorial"
  "factorial.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/factorial.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
