# Empty dependencies file for dvt_version1.
# This may be replaced when dependencies are built.
