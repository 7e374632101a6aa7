# Empty dependencies file for fuzz_replay_msg.
# This may be replaced when dependencies are built.
