# Empty dependencies file for sweep.
# This may be replaced when dependencies are built.
