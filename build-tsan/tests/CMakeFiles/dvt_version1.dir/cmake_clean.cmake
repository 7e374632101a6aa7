file(REMOVE_RECURSE
  "CMakeFiles/dvt_version1.dir/libs/versioned.c.o"
  "CMakeFiles/dvt_version1.dir/libs/versioned.c.o.d"
  "libdvt_version1.pdb"
  "libdvt_version1.so"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/dvt_version1.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
