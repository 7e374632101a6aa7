# Empty dependencies file for drove.
# This may be replaced when dependencies are built.
