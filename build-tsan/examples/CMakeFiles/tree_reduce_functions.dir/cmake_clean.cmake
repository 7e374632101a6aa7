file(REMOVE_RECURSE
  "CMakeFiles/tree_reduce_functions.dir/tree_reduce.c.o"
  "CMakeFiles/tree_reduce_functions.dir/tree_reduce.c.o.d"
  "libtree_reduce_functions.pdb"
  "libtree_reduce_functions.so"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/tree_reduce_functions.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
