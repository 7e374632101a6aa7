# Empty dependencies file for transfer_test.
# This may be replaced when dependencies are built.
