# Empty dependencies file for retries_test.
# This may be replaced when dependencies are built.
