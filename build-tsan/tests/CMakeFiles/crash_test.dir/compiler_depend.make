# Empty compiler generated dependencies file for crash_test.
# This may be replaced when dependencies are built.
