# Empty compiler generated dependencies file for drove.
# This may be replaced when dependencies are built.
