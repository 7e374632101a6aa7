# Empty dependencies file for store_test.
# This may be replaced when dependencies are built.
