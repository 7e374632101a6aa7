# Empty dependencies file for robustness_test.
# This may be replaced when dependencies are built.
