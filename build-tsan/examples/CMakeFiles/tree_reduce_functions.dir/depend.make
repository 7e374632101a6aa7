# Empty dependencies file for tree_reduce_functions.
# This may be replaced when dependencies are built.
