file(REMOVE_RECURSE
  "CMakeFiles/dvt_funcs.dir/libs/dvt_funcs.c.o"
  "CMakeFiles/dvt_funcs.dir/libs/dvt_funcs.c.o.d"
  "libdvt_funcs.pdb"
  "libdvt_funcs.so"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dvt_funcs.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
