# Empty dependencies file for fetch_test.
# This may be replaced when dependencies are built.
