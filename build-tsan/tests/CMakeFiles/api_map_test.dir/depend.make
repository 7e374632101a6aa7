# Empty dependencies file for api_map_test.
# This may be replaced when dependencies are built.
