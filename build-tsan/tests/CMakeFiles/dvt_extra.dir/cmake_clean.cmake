file(REMOVE_RECURSE
  "CMakeFiles/dvt_extra.dir/libs/versioned.c.o"
  "CMakeFiles/dvt_extra.dir/libs/versioned.c.o.d"
  "libdvt_extra.pdb"
  "libdvt_extra.so"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dvt_extra.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
