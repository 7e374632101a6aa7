# Empty compiler generated dependencies file for msg_test.
# This may be replaced when dependencies are built.
