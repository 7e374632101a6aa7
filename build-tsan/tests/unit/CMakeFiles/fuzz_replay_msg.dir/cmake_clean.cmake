file(REMOVE_RECURSE
  "CMakeFiles/fuzz_replay_msg.dir/__/__/fuzz/fuzz_msg.c.o"
  "CMakeFiles/fuzz_replay_msg.dir/__/__/fuzz/fuzz_msg.c.o.d"
  "CMakeFiles/fuzz_replay_msg.dir/__/__/fuzz/replay.c.o"
  "CMakeFiles/fuzz_replay_msg.dir/__/__/fuzz/replay.c.o.d"
  "fuzz_replay_msg"
  "fuzz_replay_msg.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/fuzz_replay_msg.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
