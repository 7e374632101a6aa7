# Empty dependencies file for mpcheck_test.
# This may be replaced when dependencies are built.
