file(REMOVE_RECURSE
  "CMakeFiles/tree_reduce.dir/share.c.o"
  "CMakeFiles/tree_reduce.dir/share.c.o.d"
  "CMakeFiles/tree_reduce.dir/tree_reduce.c.o"
  "CMakeFiles/tree_reduce.dir/tree_reduce.c.o.d"
  "tree_reduce"
  "tree_reduce.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/tree_reduce.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
