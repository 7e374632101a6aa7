# Empty compiler generated dependencies file for drove_static.
# This may be replaced when dependencies are built.
