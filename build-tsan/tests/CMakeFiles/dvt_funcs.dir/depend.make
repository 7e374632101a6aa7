# Empty dependencies file for dvt_funcs.
# This may be replaced when dependencies are built.
