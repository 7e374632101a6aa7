# Empty compiler generated dependencies file for pset_test.
# This may be replaced when dependencies are built.
