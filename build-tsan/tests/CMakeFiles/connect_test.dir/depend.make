# Empty dependencies file for connect_test.
# This may be replaced when dependencies are built.
