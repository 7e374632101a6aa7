# Empty compiler generated dependencies file for fuzz_replay_value.
# This may be replaced when dependencies are built.
