file(REMOVE_RECURSE
  "CMakeFiles/fuzz_replay_value.dir/__/__/fuzz/fuzz_value.c.o"
  "CMakeFiles/fuzz_replay_value.dir/__/__/fuzz/fuzz_value.c.o.d"
  "CMakeFiles/fuzz_replay_value.dir/__/__/fuzz/replay.c.o"
  "CMakeFiles/fuzz_replay_value.dir/__/__/fuzz/replay.c.o.d"
  "fuzz_replay_value"
  "fuzz_replay_value.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/fuzz_replay_value.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
