# Empty dependencies file for outbox_test.
# This may be replaced when dependencies are built.
