file(REMOVE_RECURSE
  "libdrove.a"
)
