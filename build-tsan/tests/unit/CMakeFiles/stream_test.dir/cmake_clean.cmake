file(REMOVE_RECURSE
  "CMakeFiles/stream_test.dir/__/support/dvtest.c.o"
  "CMakeFiles/stream_test.dir/__/support/dvtest.c.o.d"
  "CMakeFiles/stream_test.dir/stream_test.c.o"
  "CMakeFiles/stream_test.dir/stream_test.c.o.d"
  "stream_test"
  "stream_test.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/stream_test.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
