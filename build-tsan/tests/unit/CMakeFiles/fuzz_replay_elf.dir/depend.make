# Empty dependencies file for fuzz_replay_elf.
# This may be replaced when dependencies are built.
