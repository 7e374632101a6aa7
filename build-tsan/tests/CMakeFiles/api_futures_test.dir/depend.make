# Empty dependencies file for api_futures_test.
# This may be replaced when dependencies are built.
