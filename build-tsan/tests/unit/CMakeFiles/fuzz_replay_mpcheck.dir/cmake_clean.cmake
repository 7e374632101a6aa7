file(REMOVE_RECURSE
  "CMakeFiles/fuzz_replay_mpcheck.dir/__/__/fuzz/fuzz_mpcheck.c.o"
  "CMakeFiles/fuzz_replay_mpcheck.dir/__/__/fuzz/fuzz_mpcheck.c.o.d"
  "CMakeFiles/fuzz_replay_mpcheck.dir/__/__/fuzz/replay.c.o"
  "CMakeFiles/fuzz_replay_mpcheck.dir/__/__/fuzz/replay.c.o.d"
  "fuzz_replay_mpcheck"
  "fuzz_replay_mpcheck.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/fuzz_replay_mpcheck.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
