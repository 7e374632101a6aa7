# Empty compiler generated dependencies file for blob_test.
# This may be replaced when dependencies are built.
