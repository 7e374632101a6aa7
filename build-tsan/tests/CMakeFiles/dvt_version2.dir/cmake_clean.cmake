file(REMOVE_RECURSE
  "CMakeFiles/dvt_version2.dir/libs/versioned.c.o"
  "CMakeFiles/dvt_version2.dir/libs/versioned.c.o.d"
  "libdvt_version2.pdb"
  "libdvt_version2.so"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dvt_version2.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
