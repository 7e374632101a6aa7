# Empty dependencies file for elfsyms_test.
# This may be replaced when dependencies are built.
