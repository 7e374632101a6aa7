# Empty dependencies file for fault_test.
# This may be replaced when dependencies are built.
