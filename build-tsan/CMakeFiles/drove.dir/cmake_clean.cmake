file(REMOVE_RECURSE
  "libdrove.pdb"
  "libdrove.so"
  "libdrove.so.0"
  "libdrove.so.0.1.0"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/drove.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
