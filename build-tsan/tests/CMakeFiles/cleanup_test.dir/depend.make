# Empty dependencies file for cleanup_test.
# This may be replaced when dependencies are built.
