# Empty dependencies file for factorial_functions.
# This may be replaced when dependencies are built.
