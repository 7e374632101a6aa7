# Empty dependencies file for drove_obj.
# This may be replaced when dependencies are built.
