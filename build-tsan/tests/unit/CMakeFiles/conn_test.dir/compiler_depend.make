# Empty compiler generated dependencies file for conn_test.
# This may be replaced when dependencies are built.
