file(REMOVE_RECURSE
  "CMakeFiles/fuzz_replay_elf.dir/__/__/fuzz/fuzz_elf.c.o"
  "CMakeFiles/fuzz_replay_elf.dir/__/__/fuzz/fuzz_elf.c.o.d"
  "CMakeFiles/fuzz_replay_elf.dir/__/__/fuzz/replay.c.o"
  "CMakeFiles/fuzz_replay_elf.dir/__/__/fuzz/replay.c.o.d"
  "fuzz_replay_elf"
  "fuzz_replay_elf.pdb"
)

# Per-language clean rules from dependency scanning.
foreach(lang C)
  include(CMakeFiles/fuzz_replay_elf.dir/cmake_clean_${lang}.cmake OPTIONAL)
endforeach()
