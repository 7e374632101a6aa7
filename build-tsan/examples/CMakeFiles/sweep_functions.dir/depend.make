# Empty dependencies file for sweep_functions.
# This may be replaced when dependencies are built.
