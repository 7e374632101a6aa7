file(REMOVE_RECURSE
  "libdrove.a"
  "libdrove.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/drove_static.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
