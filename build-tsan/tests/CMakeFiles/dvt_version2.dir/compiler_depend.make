# Empty compiler generated dependencies file for dvt_version2.
# This may be replaced when dependencies are built.
