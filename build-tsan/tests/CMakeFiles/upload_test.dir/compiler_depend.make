# Empty compiler generated dependencies file for upload_test.
# This may be replaced when dependencies are built.
