# Empty compiler generated dependencies file for taskheap_test.
# This may be replaced when dependencies are built.
