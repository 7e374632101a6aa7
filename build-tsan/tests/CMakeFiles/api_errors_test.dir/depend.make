# Empty dependencies file for api_errors_test.
# This may be replaced when dependencies are built.
