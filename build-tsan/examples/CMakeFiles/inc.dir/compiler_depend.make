# Empty compiler generated dependencies file for inc.
# This may be replaced when dependencies are built.
