# Empty dependencies file for inc_functions.
# This may be replaced when dependencies are built.
