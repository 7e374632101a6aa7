# Empty compiler generated dependencies file for dvt_extra.
# This may be replaced when dependencies are built.
