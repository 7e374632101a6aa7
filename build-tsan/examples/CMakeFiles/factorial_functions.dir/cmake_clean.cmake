file(REMOVE_RECURSE
  "CMakeFiles/factorial_functions.dir/factorial.c.o"
  "CMakeFiles/factorial_functions.dir/factorial.c.o.d"
  "libfactorial_functions.pdb"
  "libfactorial_functions.so"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/factorial_functions.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
