# Empty dependencies file for factorial.
# This may be replaced when dependencies are built.
