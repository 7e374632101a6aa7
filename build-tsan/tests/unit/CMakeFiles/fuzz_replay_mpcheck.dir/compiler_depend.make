# Empty compiler generated dependencies file for fuzz_replay_mpcheck.
# This may be replaced when dependencies are built.
