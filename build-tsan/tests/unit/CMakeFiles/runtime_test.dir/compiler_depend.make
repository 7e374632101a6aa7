# Empty compiler generated dependencies file for runtime_test.
# This may be replaced when dependencies are built.
