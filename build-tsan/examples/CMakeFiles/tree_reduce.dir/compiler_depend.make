# Empty compiler generated dependencies file for tree_reduce.
# This may be replaced when dependencies are built.
