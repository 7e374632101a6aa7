# Empty compiler generated dependencies file for value_test.
# This may be replaced when dependencies are built.
