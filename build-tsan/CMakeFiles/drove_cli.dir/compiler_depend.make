# Empty compiler generated dependencies file for drove_cli.
# This may be replaced when dependencies are built.
